//! Scoring one draft: ROUGE F1 against the reference note, section
//! coverage, and how many of its sentences the grounding checks flag.

use rougers::{RougeScorer, RougeType, Tokenizer};
use tacet_core::{Draft, Template, Transcript};

use crate::EvalError;

/// ROUGE F1 scores of one draft, each in 0..=1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RougeF1 {
    pub rouge1: f64,
    pub rouge2: f64,
    pub rouge_lsum: f64,
}

/// ROUGE-1, ROUGE-2 and ROUGE-Lsum as rouge-score 0.1.2 computes them with
/// its defaults (no stemming; Lsum sentences are the text's non-empty lines).
#[derive(Clone, Debug)]
pub struct NoteScorer {
    scorer: RougeScorer,
}

impl NoteScorer {
    pub fn new() -> Result<Self, EvalError> {
        let scorer = RougeScorer::with_tokenizer(
            vec![RougeType::N(1), RougeType::N(2), RougeType::LSum],
            Tokenizer::new(false),
        )
        .map_err(|e| EvalError::Rouge(e.to_string()))?;
        Ok(Self { scorer })
    }

    /// F1 of `prediction` against `reference`.
    pub fn score(&self, reference: &str, prediction: &str) -> RougeF1 {
        let s = self.scorer.score(reference, prediction);
        let f = |t| s.get(t).map(|x| x.fmeasure).unwrap_or(0.0);
        RougeF1 {
            rouge1: f(RougeType::N(1)),
            rouge2: f(RougeType::N(2)),
            rouge_lsum: f(RougeType::LSum),
        }
    }
}

/// A section body that says nothing: empty, or the prompt's "Not
/// discussed." (with or without the full stop, any case), or the renderer's
/// "(nothing recorded)".
pub fn is_placeholder(text: &str) -> bool {
    let t = text.trim().trim_end_matches('.').trim().to_lowercase();
    t.is_empty() || t == "not discussed" || t == "(nothing recorded)"
}

/// The draft in ACI-Bench's note layout (heading line, blank line, body,
/// blank line between sections), leaving out sections that say nothing, as
/// the reference notes leave out what the visit did not cover.
pub fn note_text(draft: &Draft) -> String {
    let mut out = String::new();
    for s in draft.sections.iter().filter(|s| !is_placeholder(&s.text)) {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(s.heading.trim());
        out.push_str("\n\n");
        out.push_str(s.text.trim());
    }
    out
}

/// Share (0..=1) of the template's sections that the draft filled with
/// something other than a placeholder.
pub fn section_coverage(draft: &Draft, template: &Template) -> f64 {
    let total = template.sections.len();
    if total == 0 {
        return 0.0;
    }
    let filled = template
        .headings()
        .filter(|h| {
            draft
                .sections
                .iter()
                .any(|s| s.heading.trim() == h.trim() && !is_placeholder(&s.text))
        })
        .count();
    filled as f64 / total as f64
}

/// What the grounding checks found in one draft.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroundingCounts {
    /// Sentences checked (placeholders are skipped by the splitter).
    pub sentences: usize,
    /// Sentences with at least one flag.
    pub flagged_sentences: usize,
    /// Flags of every kind.
    pub flags: usize,
}

/// Grounds the draft in the transcript with `tacet_ground::ground` and
/// counts what it flagged.
pub fn grounding_counts(draft: &Draft, transcript: &Transcript) -> GroundingCounts {
    let g = tacet_ground::ground(draft, transcript);
    GroundingCounts {
        sentences: g.sentences.len(),
        flagged_sentences: g.flagged_sentence_count(),
        flags: g.sentences.iter().map(|s| s.flags.len()).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacet_core::{DraftSection, Provenance, SamplingParams, TemplateSection};

    fn draft(sections: &[(&str, &str)]) -> Draft {
        Draft {
            sections: sections
                .iter()
                .map(|(h, t)| DraftSection {
                    heading: h.to_string(),
                    text: t.to_string(),
                })
                .collect(),
            provenance: Provenance {
                model_sha256: String::new(),
                model_id: "test".into(),
                template_id: "aci-bench".into(),
                template_version: 1,
                sampling: SamplingParams::default(),
                prompt_tokens: 0,
                omitted_transcript_chars: 0,
                section_inputs: Vec::new(),
                sentences: Vec::new(),
            },
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn rouge_on_a_pair_checked_by_hand() {
        let s = NoteScorer::new().unwrap();
        // Tokens (lower-cased, punctuation dropped):
        //   ref  the cat sat on the mat    pred  the cat lay on the mat
        // Unigrams: 5 of 6 match both ways        -> F1 = 5/6.
        // Bigrams: the-cat, on-the, the-mat of 5  -> F1 = 3/5.
        // One line each, so Lsum is the LCS (the cat on the mat) -> 5/6.
        let r = s.score("The cat sat on the mat.", "the cat lay on the mat");
        assert!(close(r.rouge1, 5.0 / 6.0), "{r:?}");
        assert!(close(r.rouge2, 0.6), "{r:?}");
        assert!(close(r.rouge_lsum, 5.0 / 6.0), "{r:?}");
    }

    #[test]
    fn lsum_splits_sentences_on_newlines() {
        let s = NoteScorer::new().unwrap();
        // Same lines in the other order: each reference line has a full
        // LCS with one prediction line, so Lsum is 1 though the bigram
        // across the line break (sat-on vs mat-the) does not match.
        let r = s.score("the cat sat\non the mat", "on the mat\nthe cat sat");
        assert!(close(r.rouge_lsum, 1.0), "{r:?}");
        assert!(close(r.rouge1, 1.0), "{r:?}");
        assert!(close(r.rouge2, 0.8), "{r:?}");
        // No stemming: "sitting" does not match "sat" or "sits".
        let r = s.score("cats sit", "cat sits");
        assert!(close(r.rouge1, 0.0), "{r:?}");
    }

    #[test]
    fn note_text_uses_the_reference_layout_and_skips_placeholders() {
        let d = draft(&[
            ("CHIEF COMPLAINT", " Left knee pain. "),
            ("REVIEW OF SYSTEMS", "Not discussed."),
            ("RESULTS", ""),
            ("ASSESSMENT AND PLAN", "Ice.\nRest."),
        ]);
        assert_eq!(
            note_text(&d),
            "CHIEF COMPLAINT\n\nLeft knee pain.\n\nASSESSMENT AND PLAN\n\nIce.\nRest."
        );
        assert!(is_placeholder("not discussed"));
        assert!(is_placeholder(" (nothing recorded) "));
        assert!(!is_placeholder("Not discussed in detail; knee pain."));
    }

    #[test]
    fn coverage_counts_filled_template_sections() {
        let t = Template {
            id: "t".into(),
            version: 1,
            name: "t".into(),
            loinc: None,
            sections: ["A", "B", "C", "D"]
                .iter()
                .map(|h| TemplateSection {
                    heading: h.to_string(),
                    guidance: String::new(),
                    draws: Vec::new(),
                })
                .collect(),
        };
        let d = draft(&[("A", "Pain."), ("B", "Not discussed."), ("C", " ")]);
        assert!(close(section_coverage(&d, &t), 0.25));
    }

    #[test]
    fn grounding_counts_flag_an_invented_drug() {
        let t = crate::transcript_from_dialogue(
            "[doctor] how is the knee ?\n[patient] my left knee hurts when i walk .",
        );
        let d = draft(&[
            ("CHIEF COMPLAINT", "Left knee pain when walking."),
            ("ASSESSMENT AND PLAN", "Start warfarin 5 mg daily."),
        ]);
        let c = grounding_counts(&d, &t);
        assert_eq!(c.sentences, 2);
        assert_eq!(c.flagged_sentences, 1);
        assert!(c.flags >= 1);
    }
}
