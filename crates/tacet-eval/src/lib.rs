//! tacet-eval: the note-drafting evaluation harness (ACI-Bench format).
//!
//! Every encounter of a CSV shaped like ACI-Bench's (`dataset,
//! encounter_id, dialogue, note`) is drafted by a [`Drafter`] with the
//! `aci-bench` template, and each draft is scored against the reference note:
//! ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 with the `rougers` crate (a bit-exact
//! port of rouge-score 0.1.2, used here with its defaults: no stemming,
//! Lsum sentences are the lines of the text), section coverage, seconds per
//! note, and the share of draft sentences that `tacet-ground` flags.
//!
//! Design decisions, so the numbers mean what they say:
//! - The engine is real: the binary loads a GGUF model through
//!   `tacet_llm::GgufDrafter`, the same code path the app drafts with
//!   (section headers forced, bodies from the model). Nothing is mocked.
//! - Dialogue turns become transcript segments the way a two-microphone
//!   recording would give them (doctor on channel 0, patient on channel 1),
//!   with the speaker folded into the text ("Doctor: …") because the
//!   drafting prompt shows segment text only and a note needs to know who
//!   said what. Untagged lines continue the turn before them.
//! - The draft is scored in the reference notes' own layout (heading line,
//!   blank line, body) and sections the model left empty or marked
//!   "Not discussed." are left out, as ACI-Bench's notes leave out sections
//!   the visit did not cover. Coverage reports how many were left out.
//! - ROUGE is a surface-overlap figure: it rewards wording close to the
//!   reference, not correctness. The grounding flag rate is reported beside
//!   it as the honesty figure: the share of draft sentences that are
//!   unsupported by, or contradict, the transcript.
//!
//! The library never prints; `src/bin/tacet-eval.rs` is the front end.

mod data;
mod error;
mod facts;
mod report;
mod run;
mod score;

pub use data::{
    parse_encounters, read_encounters, role_accuracy, transcript_from_dialogue, untagged, Encounter,
};
pub use error::EvalError;
pub use facts::{fact_counts, fact_misses, FactCounts};
pub use report::{note_table_header, note_table_row, summary_table, ModelRow};
pub use run::{
    aci_bench_template, default_csv_path, default_model_path, evaluate_encounter, file_sha256,
    summarize, NoteResult, Summary, SMOLLM2_FILE,
};
pub use score::{
    grounding_counts, is_placeholder, note_text, section_coverage, GroundingCounts, NoteScorer,
    RougeF1,
};

#[doc(no_inline)]
pub use tacet_core::ports::Drafter;
