//! For each encounter: the reference facts (doses, vitals, allergies,
//! orders) the composed draft misses and the draft facts the dialogue does
//! not state (public data-set words; never run on real notes):
//! `cargo run -p tacet-eval --example fact_misses -- CSV`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture
fn main() {
    let csv = std::env::args().nth(1).expect("CSV path");
    let encs = tacet_eval::read_encounters(std::path::Path::new(&csv)).expect("read");
    let template = tacet_eval::aci_bench_template().expect("template");
    for e in &encs {
        let (t, _) = tacet_eval::untagged(&e.transcript);
        let d = tacet_facts::draft_note(&t, &template);
        let (missed, unsupported) =
            tacet_eval::fact_misses(&e.reference_note, &tacet_eval::note_text(&d), &t);
        if !missed.is_empty() || !unsupported.is_empty() {
            println!(
                "{}: missed {missed:?} unsupported {unsupported:?}",
                e.encounter_id
            );
        }
    }
}
