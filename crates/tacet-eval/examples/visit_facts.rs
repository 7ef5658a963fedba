//! Prints one encounter's utterances with their inferred roles and the
//! facts read from them (public data-set text; never run on real notes):
//! `cargo run -p tacet-eval --example visit_facts -- CSV ENCOUNTER_ID`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture
fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(csv), Some(id)) = (args.next(), args.next()) else {
        eprintln!("usage: visit_facts CSV ENCOUNTER_ID");
        std::process::exit(2);
    };
    let encs = tacet_eval::read_encounters(std::path::Path::new(&csv)).expect("read");
    let Some(e) = encs.iter().find(|e| e.encounter_id == id) else {
        eprintln!("no encounter {id}");
        std::process::exit(2);
    };
    let (t, _) = tacet_eval::untagged(&e.transcript);
    let v = tacet_facts::read_visit(&t, false);
    for u in &v.utterances {
        println!(
            "{:?}{} #{} {}",
            u.role,
            if u.question { "?" } else { "" },
            u.segment,
            u.text
        );
    }
    println!();
    for f in &v.facts {
        println!("{:?} {:?} {}", f.kind, f.segments, f.sentence);
    }
}
