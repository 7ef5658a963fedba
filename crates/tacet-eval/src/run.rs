//! Drafting and scoring one encounter, summing up a run, and where the
//! default data, model and template come from.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use tacet_core::ports::Drafter;
use tacet_core::{Draft, Template};

use crate::score::{grounding_counts, note_text, section_coverage, GroundingCounts};
use crate::{Encounter, EvalError, NoteScorer, RougeF1};

/// The default model's file name in the model cache.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// ACI-Bench's sections as a template, built into the binary so a run
/// cannot pick up an edited copy by accident.
const ACI_BENCH_TOML: &str = include_str!("../../../assets/templates/aci-bench.toml");

/// The `aci-bench` template (assets/templates/aci-bench.toml).
pub fn aci_bench_template() -> Result<Template, EvalError> {
    Ok(Template::from_toml(ACI_BENCH_TOML)?)
}

/// `$TACET_SHARED_DATA/aci-bench/valid.csv` when the variable is set,
/// else `../shared/data/aci-bench/valid.csv` beside the workspace root.
pub fn default_csv_path(workspace_root: &Path) -> PathBuf {
    match std::env::var_os("TACET_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir).join("aci-bench").join("valid.csv"),
        None => workspace_root.join("../shared/data/aci-bench/valid.csv"),
    }
}

/// The cached SmolLM2 model: `$TACET_CACHE/files/…` (else
/// `$HOME/.cache/tacet/files/…`). `None` when neither variable is set.
pub fn default_model_path() -> Option<PathBuf> {
    tacet_llm::cache_root().map(|root| root.join("files").join(SMOLLM2_FILE))
}

/// SHA-256 (hex) of a file, read in 1 MiB blocks.
pub fn file_sha256(path: &Path) -> Result<String, EvalError> {
    use sha2::Digest;
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The scores of one drafted encounter.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteResult {
    pub dataset: String,
    pub encounter_id: String,
    pub rouge: RougeF1,
    /// Share (0..=1) of the template's sections the draft filled.
    pub section_coverage: f64,
    /// Wall-clock seconds to draft the note (prompt and generation; the
    /// model load is not included).
    pub draft_seconds: f64,
    pub grounding: GroundingCounts,
    /// Prompt tokens the model read.
    pub prompt_tokens: u32,
    /// Transcript characters left out because they did not fit the context.
    pub omitted_transcript_chars: u64,
    /// Doses, vitals, allergies and orders: stated, found, unsupported.
    pub facts: crate::FactCounts,
    /// Turns whose speaker was inferred right, of those with a doctor or
    /// patient tag (`None` when roles were not inferred).
    pub roles: Option<(usize, usize)>,
}

/// Drafts `encounter` with `template` and scores the draft against the
/// reference note. Returns the draft too, for inspection.
pub fn evaluate_encounter(
    drafter: &mut dyn Drafter,
    encounter: &Encounter,
    template: &Template,
    scorer: &NoteScorer,
) -> Result<(Draft, NoteResult), EvalError> {
    let never = AtomicBool::new(false);
    let started = Instant::now();
    let draft = drafter
        .draft(&encounter.transcript, template, &mut |_| {}, &never)
        .map_err(|e| EvalError::Draft {
            encounter_id: encounter.encounter_id.clone(),
            problem: e.to_string(),
        })?;
    let draft_seconds = started.elapsed().as_secs_f64();
    let result = NoteResult {
        dataset: encounter.dataset.clone(),
        encounter_id: encounter.encounter_id.clone(),
        rouge: scorer.score(&encounter.reference_note, &note_text(&draft)),
        section_coverage: section_coverage(&draft, template),
        draft_seconds,
        grounding: grounding_counts(&draft, &encounter.transcript),
        prompt_tokens: draft.provenance.prompt_tokens,
        omitted_transcript_chars: draft.provenance.omitted_transcript_chars,
        facts: crate::fact_counts(
            &encounter.reference_note,
            &note_text(&draft),
            &encounter.transcript,
        ),
        roles: None,
    };
    Ok((draft, result))
}

/// A run summed up: means over notes, ROUGE and coverage ×100.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub notes: usize,
    pub rouge1: f64,
    pub rouge2: f64,
    pub rouge_lsum: f64,
    /// Mean section coverage, percent.
    pub section_coverage_pct: f64,
    pub seconds_per_note: f64,
    /// All drafts' sentences, flagged sentences and flags together.
    pub grounding: GroundingCounts,
    /// Notes whose transcript did not fit the context whole.
    pub notes_with_omissions: usize,
    pub facts: crate::FactCounts,
    /// Turns with the right speaker, of the turns scored.
    pub roles: (usize, usize),
}

impl Summary {
    /// Share (percent) of all draft sentences with at least one flag.
    pub fn flagged_sentence_pct(&self) -> f64 {
        pct(self.grounding.flagged_sentences, self.grounding.sentences)
    }

    /// Flags per draft sentence (a sentence may carry several).
    pub fn flags_per_sentence(&self) -> f64 {
        if self.grounding.sentences == 0 {
            0.0
        } else {
            self.grounding.flags as f64 / self.grounding.sentences as f64
        }
    }
}

pub(crate) fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Means over the notes (ROUGE as rouge-score reports them ×100).
pub fn summarize(results: &[NoteResult]) -> Summary {
    let n = results.len();
    if n == 0 {
        return Summary::default();
    }
    let mean = |f: &dyn Fn(&NoteResult) -> f64| results.iter().map(f).sum::<f64>() / n as f64;
    let mut grounding = GroundingCounts::default();
    let mut facts = crate::FactCounts::default();
    let mut roles = (0, 0);
    for r in results {
        facts.add(&r.facts);
        if let Some((ok, n)) = r.roles {
            roles.0 += ok;
            roles.1 += n;
        }
        grounding.sentences += r.grounding.sentences;
        grounding.flagged_sentences += r.grounding.flagged_sentences;
        grounding.flags += r.grounding.flags;
    }
    Summary {
        notes: n,
        rouge1: 100.0 * mean(&|r| r.rouge.rouge1),
        rouge2: 100.0 * mean(&|r| r.rouge.rouge2),
        rouge_lsum: 100.0 * mean(&|r| r.rouge.rouge_lsum),
        section_coverage_pct: 100.0 * mean(&|r| r.section_coverage),
        seconds_per_note: mean(&|r| r.draft_seconds),
        grounding,
        notes_with_omissions: results
            .iter()
            .filter(|r| r.omitted_transcript_chars > 0)
            .count(),
        facts,
        roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacet_core::ports::{DraftProgress, EngineError};
    use tacet_core::{DraftSection, Provenance, SamplingParams, Transcript};

    /// Echoes the reference layout back: a stand-in for the scoring glue
    /// only (the real engine runs in tests/smollm2_one_encounter.rs).
    struct Fixed(Vec<(&'static str, &'static str)>);

    impl Drafter for Fixed {
        fn draft(
            &mut self,
            _t: &Transcript,
            template: &Template,
            _p: &mut dyn FnMut(DraftProgress<'_>),
            _c: &AtomicBool,
        ) -> Result<Draft, EngineError> {
            Ok(Draft {
                sections: self
                    .0
                    .iter()
                    .map(|(h, t)| DraftSection {
                        heading: h.to_string(),
                        text: t.to_string(),
                    })
                    .collect(),
                provenance: Provenance {
                    model_sha256: String::new(),
                    model_id: "fixed".into(),
                    template_id: template.id.clone(),
                    template_version: template.version,
                    sampling: SamplingParams::default(),
                    prompt_tokens: 10,
                    omitted_transcript_chars: 0,
                    section_inputs: Vec::new(),
                    sentences: Vec::new(),
                },
            })
        }
    }

    #[test]
    fn builtin_template_is_aci_bench() {
        let t = aci_bench_template().unwrap();
        assert_eq!(t.id, "aci-bench");
        assert_eq!(t.sections.len(), 6);
    }

    #[test]
    fn scores_a_draft_against_its_reference() {
        let enc = Encounter {
            dataset: "aci".into(),
            encounter_id: "E1".into(),
            transcript: crate::transcript_from_dialogue(
                "[doctor] what brings you in ?\n[patient] my left knee hurts .",
            ),
            reference_note: "CHIEF COMPLAINT\n\nLeft knee pain.".into(),
        };
        let template = aci_bench_template().unwrap();
        let scorer = NoteScorer::new().unwrap();
        let mut d = Fixed(vec![
            ("CHIEF COMPLAINT", "Left knee pain."),
            ("REVIEW OF SYSTEMS", "Not discussed."),
        ]);
        let (_, r) = evaluate_encounter(&mut d, &enc, &template, &scorer).unwrap();
        assert_eq!(r.rouge.rouge1, 1.0);
        assert_eq!(r.rouge.rouge_lsum, 1.0);
        assert!((r.section_coverage - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!(r.grounding.sentences, 1);
        let s = summarize(&[r.clone(), r]);
        assert_eq!(s.notes, 2);
        assert!((s.rouge1 - 100.0).abs() < 1e-9);
        assert_eq!(s.grounding.sentences, 2);
        assert_eq!(summarize(&[]).notes, 0);
    }

    #[test]
    fn csv_default_is_beside_the_workspace() {
        if std::env::var_os("TACET_SHARED_DATA").is_none() {
            assert_eq!(
                default_csv_path(Path::new("/w/main")),
                PathBuf::from("/w/main/../shared/data/aci-bench/valid.csv")
            );
        }
    }

    #[test]
    fn fail_sha256_of_a_missing_file_names_it() {
        let err = file_sha256(Path::new("/nonexistent/model.gguf")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/model.gguf"));
    }
}
