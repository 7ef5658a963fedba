//! The transcript: what was said, in segments with times and confidence.

use serde::{Deserialize, Serialize};

/// Which microphone (or channel) a segment came from, when that is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Speaker {
    /// Channel 0 of a two-channel recording (by convention the clinician).
    Channel0,
    /// Channel 1 of a two-channel recording (by convention the patient).
    Channel1,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Stable within one transcript: 0, 1, 2…
    pub id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: Option<Speaker>,
    pub text: String,
    /// Mean token probability in 0..=1 (1 when the engine gives none).
    pub confidence: f32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// BCP-47-ish language code the session was locked to ("en").
    pub language: String,
    pub segments: Vec<Segment>,
    /// SHA-256 (hex) of the ASR model that produced it.
    pub model_sha256: String,
}

impl Transcript {
    /// The whole transcript as plain text, one segment a line, with times.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            let secs = s.start_ms / 1000;
            out.push_str(&format!(
                "[{:02}:{:02}] {}\n",
                secs / 60,
                secs % 60,
                s.text.trim()
            ));
        }
        out
    }

    /// The words alone, for scoring and prompting.
    pub fn plain_text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn duration_ms(&self) -> u64 {
        self.segments.last().map(|s| s.end_ms).unwrap_or(0)
    }

    /// Canonical bytes for sealing and hashing.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
