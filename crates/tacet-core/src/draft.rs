//! A draft note: the model's text per template section, with the provenance
//! that makes it reproducible. A draft is untrusted until a clinician
//! attests it (see [`crate::review`]).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// 0 means greedy decoding.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub seed: u64,
    pub max_tokens_per_section: u32,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: None,
            seed: 299792458,
            max_tokens_per_section: 96,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// SHA-256 (hex) of the GGUF file the draft came from.
    pub model_sha256: String,
    pub model_id: String,
    pub template_id: String,
    pub template_version: u32,
    pub sampling: SamplingParams,
    /// Tokens of transcript the model saw, and how many were left out
    /// because they did not fit its context (never silently).
    pub prompt_tokens: u32,
    pub omitted_transcript_chars: u64,
    /// Empty when the model read the whole transcript in one prompt. A
    /// session too long for that is drafted one section at a time, each
    /// from the segments most relevant to it; what each section saw and
    /// did not see is recorded here so the reviewer is told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub section_inputs: Vec<SectionInput>,
    /// Per sentence of a composed draft, in note order: whether it was
    /// composed from the visit's facts or rephrased by a model, and the
    /// transcript segments its facts rest on. Empty for a draft a model
    /// wrote alone (and for drafts written before composition existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentences: Vec<SentenceSource>,
}

/// How a sentence of a draft came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SentenceOrigin {
    /// Written by the composer from facts extracted from the transcript.
    Composed,
    /// A composed sentence rephrased by a language model that kept its
    /// facts and passed grounding.
    Rephrased,
}

/// Where one sentence of a composed draft came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentenceSource {
    /// The section heading the sentence stands under.
    pub section: String,
    /// The sentence as drafted.
    pub text: String,
    pub origin: SentenceOrigin,
    /// Ids of the transcript segments its facts were read from.
    pub segments: Vec<u32>,
}

/// What one section's prompt held when a long session was drafted section
/// by section (counts only: no patient text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionInput {
    pub heading: String,
    /// Transcript segments the section's prompt showed the model.
    pub segments_used: u32,
    /// Segments it left out, and their characters.
    pub segments_left_out: u32,
    pub chars_left_out: u64,
}

impl Provenance {
    /// Sections that were drafted without part of the transcript.
    pub fn sections_missing_transcript(&self) -> impl Iterator<Item = &SectionInput> {
        self.section_inputs
            .iter()
            .filter(|s| s.segments_left_out > 0)
    }

    /// What the reviewer must know about transcript the model did not read,
    /// in plain words (counts and headings only), or `None` when it read
    /// everything. The CLI prints it and the review screen shows it.
    pub fn coverage_notice(&self) -> Option<String> {
        let partial: Vec<String> = self
            .sections_missing_transcript()
            .map(|s| {
                format!(
                    "{} from {} of {} segments",
                    s.heading,
                    s.segments_used,
                    s.segments_used + s.segments_left_out
                )
            })
            .collect();
        if partial.is_empty() && self.omitted_transcript_chars == 0 {
            return None;
        }
        let mut out = String::new();
        if !partial.is_empty() {
            out.push_str(&format!(
                "The visit was too long for the model to read at once, so each section was drafted from the parts of the transcript most relevant to it: {}.",
                partial.join(", ")
            ));
        }
        if self.omitted_transcript_chars > 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!(
                "{} characters of transcript were not read for any section.",
                self.omitted_transcript_chars
            ));
        }
        out.push_str(" Check the transcript for anything the note is missing.");
        Some(out)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftSection {
    pub heading: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub sections: Vec<DraftSection>,
    pub provenance: Provenance,
}

impl Draft {
    /// The note as plain text with stable headings, the way EHR fields take
    /// it: `HEADING:` on its own line, the section's text below, a blank line
    /// between sections.
    pub fn render_text(&self) -> String {
        render_sections(
            self.sections
                .iter()
                .map(|s| (s.heading.as_str(), s.text.as_str())),
        )
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Renders sections in the canonical note layout.
pub fn render_sections<'a>(sections: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (heading, text) in sections {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(heading);
        out.push_str(":\n");
        let body = text.trim();
        out.push_str(if body.is_empty() {
            "(nothing recorded)"
        } else {
            body
        });
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coverage_notice_names_each_partial_section_and_nothing_else() {
        let mut p = Provenance {
            model_sha256: String::new(),
            model_id: "m".into(),
            template_id: "soap".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 10,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        };
        assert_eq!(p.coverage_notice(), None);
        p.section_inputs = vec![
            SectionInput {
                heading: "SUBJECTIVE".into(),
                segments_used: 40,
                segments_left_out: 372,
                chars_left_out: 20_000,
            },
            SectionInput {
                heading: "PLAN".into(),
                segments_used: 412,
                segments_left_out: 0,
                chars_left_out: 0,
            },
        ];
        p.omitted_transcript_chars = 1_234;
        let notice = p.coverage_notice().unwrap();
        assert!(
            notice.contains("SUBJECTIVE from 40 of 412 segments"),
            "{notice}"
        );
        assert!(!notice.contains("PLAN"), "{notice}");
        assert!(notice.contains("1234 characters"), "{notice}");
        // An old draft without the field still reads.
        let json = serde_json::to_string(&Provenance {
            section_inputs: Vec::new(),
            ..p.clone()
        })
        .unwrap();
        assert!(!json.contains("section_inputs"));
        let back: Provenance = serde_json::from_str(&json).unwrap();
        assert!(back.section_inputs.is_empty());
    }

    #[test]
    fn renders_stable_headings() {
        let text = render_sections([("SUBJECTIVE", " Knee pain. "), ("PLAN", "")].into_iter());
        assert_eq!(
            text,
            "SUBJECTIVE:\nKnee pain.\n\nPLAN:\n(nothing recorded)\n"
        );
    }
}
