//! Lists the turns whose speaker the composer got wrong (public data-set
//! text; never run on real notes): `cargo run -p tacet-eval --example
//! roles_misses -- CSV [N]`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let csv = args.get(1).expect("CSV path");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let encs = tacet_eval::read_encounters(std::path::Path::new(csv)).expect("read");
    for e in encs.iter().take(n) {
        let (t, truth) = tacet_eval::untagged(&e.transcript);
        let v = tacet_facts::read_visit(&t, false);
        println!("== {}", e.encounter_id);
        for (seg, want) in t.segments.iter().zip(&truth) {
            let Some(doc) = want else { continue };
            for u in v.utterances.iter().filter(|u| u.segment == seg.id) {
                let is_doc = u.role == tacet_facts::Role::Clinician;
                let mark = if is_doc == *doc { "  " } else { "XX" };
                println!(
                    "{mark} {} #{} {}",
                    if *doc { "D" } else { "P" },
                    seg.id,
                    u.text.chars().take(110).collect::<String>()
                );
            }
        }
    }
}
