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
    fn renders_stable_headings() {
        let text = render_sections([("SUBJECTIVE", " Knee pain. "), ("PLAN", "")].into_iter());
        assert_eq!(
            text,
            "SUBJECTIVE:\nKnee pain.\n\nPLAN:\n(nothing recorded)\n"
        );
    }
}
