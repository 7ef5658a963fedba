//! Counts the grounding flags on composed drafts by kind, and prints the
//! flagged sentences with each flag's detail (public data-set text; never
//! run on real notes): `cargo run -p tacet-eval --example flag_kinds -- CSV`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture
fn main() {
    let csv = std::env::args().nth(1).expect("CSV path");
    let encs = tacet_eval::read_encounters(std::path::Path::new(&csv)).expect("read");
    let template = tacet_eval::aci_bench_template().expect("template");
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &encs {
        let (t, _) = tacet_eval::untagged(&e.transcript);
        let d = tacet_facts::draft_note(&t, &template);
        let g = tacet_ground::ground(&d, &t);
        for s in g.sentences.iter().filter(|s| !s.flags.is_empty()) {
            for f in &s.flags {
                *kinds.entry(f.kind.label()).or_default() += 1;
                println!(
                    "{} [{}] {} :: {}",
                    e.encounter_id,
                    f.kind.label(),
                    s.text,
                    f.detail
                );
            }
        }
    }
    println!("{kinds:?}");
}
