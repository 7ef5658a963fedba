//! The Markdown the binary prints: one table row per note as it finishes,
//! then one summary row per model. Rows carry encounter ids and figures
//! only, never dialogue or note text.

use crate::run::pct;
use crate::{NoteResult, Summary};

/// Header of the per-note table.
pub fn note_table_header() -> String {
    "| encounter | dataset | ROUGE-1 | ROUGE-2 | ROUGE-Lsum | sections filled | s | flagged sentences | transcript left out | facts found | unsupported | roles right |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        .to_string()
}

/// One note's row (ROUGE ×100).
pub fn note_table_row(r: &NoteResult, template_sections: usize) -> String {
    let filled = (r.section_coverage * template_sections as f64).round() as usize;
    format!(
        "| {} | {} | {:.2} | {:.2} | {:.2} | {}/{} | {:.3} | {}/{} ({:.0}%) | {} | {}/{} | {} | {} |\n",
        r.encounter_id,
        r.dataset,
        100.0 * r.rouge.rouge1,
        100.0 * r.rouge.rouge2,
        100.0 * r.rouge.rouge_lsum,
        filled,
        template_sections,
        r.draft_seconds,
        r.grounding.flagged_sentences,
        r.grounding.sentences,
        pct(r.grounding.flagged_sentences, r.grounding.sentences),
        if r.omitted_transcript_chars == 0 {
            "none".to_string()
        } else {
            format!("{} chars", r.omitted_transcript_chars)
        },
        r.facts.found,
        r.facts.stated,
        r.facts.unsupported,
        match r.roles {
            Some((ok, n)) => format!("{ok}/{n}"),
            None => "-".into(),
        },
    )
}

/// A model's line in the summary table: its label and its summary, or the
/// reason it was not run.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelRow {
    Ran { model: String, summary: Summary },
    NotRun { model: String, why: String },
}

/// The summary table, one row per model.
pub fn summary_table(rows: &[ModelRow]) -> String {
    let mut out = String::from(
        "| model | notes | ROUGE-1 | ROUGE-2 | ROUGE-Lsum | section coverage | s/note | flagged sentences | flags/sentence | fact recall | unsupported facts | speaker roles |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        match row {
            ModelRow::Ran { model, summary: s } => out.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1}% | {:.3} | {}/{} ({:.1}%) | {:.2} | {}/{} ({:.1}%) | {} | {} |\n",
                model,
                s.notes,
                s.rouge1,
                s.rouge2,
                s.rouge_lsum,
                s.section_coverage_pct,
                s.seconds_per_note,
                s.grounding.flagged_sentences,
                s.grounding.sentences,
                s.flagged_sentence_pct(),
                s.flags_per_sentence(),
                s.facts.found,
                s.facts.stated,
                pct(s.facts.found, s.facts.stated),
                s.facts.unsupported,
                if s.roles.1 == 0 {
                    "-".to_string()
                } else {
                    format!("{}/{} ({:.1}%)", s.roles.0, s.roles.1, pct(s.roles.0, s.roles.1))
                },
            )),
            ModelRow::NotRun { model, why } => {
                out.push_str(&format!("| {model} | not run: {why} | | | | | | | | | | |\n"))
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GroundingCounts, RougeF1};

    #[test]
    fn rows_format_figures() {
        let r = NoteResult {
            dataset: "aci".into(),
            encounter_id: "D2N001".into(),
            rouge: RougeF1 {
                rouge1: 0.5,
                rouge2: 0.25,
                rouge_lsum: 0.125,
            },
            section_coverage: 0.5,
            draft_seconds: 12.34,
            grounding: GroundingCounts {
                sentences: 10,
                flagged_sentences: 4,
                flags: 5,
            },
            prompt_tokens: 1000,
            omitted_transcript_chars: 0,
            facts: crate::FactCounts::default(),
            roles: None,
        };
        assert_eq!(
            note_table_row(&r, 6),
            "| D2N001 | aci | 50.00 | 25.00 | 12.50 | 3/6 | 12.340 | 4/10 (40%) | none | 0/0 | 0 | - |\n"
        );
        let s = crate::summarize(&[r]);
        let t = summary_table(&[
            ModelRow::Ran {
                model: "m".into(),
                summary: s,
            },
            ModelRow::NotRun {
                model: "g".into(),
                why: "no tokenizer".into(),
            },
        ]);
        assert!(
            t.contains("| m | 1 | 50.00 | 25.00 | 12.50 | 50.0% | 12.340 | 4/10 (40.0%) | 0.50 | 0/0 (0.0%) | 0 | - |"),
            "{t}"
        );
        assert!(t.contains("| g | not run: no tokenizer |"));
    }
}
