//! One ACI-Bench encounter drafted by the real SmolLM2 model and scored.
//! Skips cleanly, with a line saying why, when the data or the model is
//! absent (a fresh clone has neither).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::Path;
use std::time::Instant;

use tacet_core::SamplingParams;
use tacet_eval::{
    aci_bench_template, default_csv_path, default_model_path, evaluate_encounter, file_sha256,
    read_encounters, NoteScorer,
};
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};

#[test]
fn drafts_and_scores_one_encounter_with_smollm2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let csv = default_csv_path(&root);
    if !csv.is_file() {
        tacet_tests::skip(&format!(
            "{} not found (set TACET_SHARED_DATA to the folder holding aci-bench/)",
            csv.display()
        ));
        return;
    }
    let Some(model) = default_model_path().filter(|p| p.is_file()) else {
        tacet_tests::skip("the cached SmolLM2 model is not there (run the model fetch script)");
        return;
    };
    let started = Instant::now();
    let encounters = read_encounters(&csv).unwrap();
    assert!(!encounters.is_empty());
    // The shortest dialogue keeps the test quick.
    let enc = encounters
        .iter()
        .min_by_key(|e| e.transcript.plain_text().len())
        .unwrap();
    let template = aci_bench_template().unwrap();
    let opts = LlmOptions {
        threads: 1,
        sampling: SamplingParams {
            max_tokens_per_section: 32,
            ..SamplingParams::default()
        },
        ..LlmOptions::default()
    };
    let info = ModelInfo {
        id: "smollm2-135m-instruct-q4_1".into(),
        sha256: file_sha256(&model).unwrap(),
    };
    let mut drafter = GgufDrafter::load(&model, info, opts).unwrap();
    let scorer = NoteScorer::new().unwrap();
    let (draft, r) = evaluate_encounter(&mut drafter, enc, &template, &scorer).unwrap();

    let headings: Vec<&str> = draft.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(headings, template.headings().collect::<Vec<_>>());
    assert_eq!(r.encounter_id, enc.encounter_id);
    for v in [r.rouge.rouge1, r.rouge.rouge2, r.rouge.rouge_lsum] {
        assert!((0.0..=1.0).contains(&v), "{r:?}");
    }
    // Even a 135M model shares words with the reference note.
    assert!(r.rouge.rouge1 > 0.0, "{r:?}");
    assert!((0.0..=1.0).contains(&r.section_coverage), "{r:?}");
    assert!(r.draft_seconds > 0.0);
    assert!(r.grounding.flagged_sentences <= r.grounding.sentences);
    assert_eq!(
        r.omitted_transcript_chars, 0,
        "the dialogue fits the context"
    );
    eprintln!(
        "one encounter: R1 {:.1} R2 {:.1} RLsum {:.1}, coverage {:.2}, draft {:.1} s, total {:.1} s",
        100.0 * r.rouge.rouge1,
        100.0 * r.rouge.rouge2,
        100.0 * r.rouge.rouge_lsum,
        r.section_coverage,
        r.draft_seconds,
        started.elapsed().as_secs_f64()
    );
}
