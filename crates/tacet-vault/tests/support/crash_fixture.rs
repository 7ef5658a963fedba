//! Deterministic session content shared by the crash worker
//! (`src/bin/vault_crash_worker.rs`) and the kill -9 test, so the test can
//! recompute every acknowledged write from the session id alone.

#![allow(dead_code)]

use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Segment, SessionId, Transcript};

pub const USER: &str = "drlee";
pub const PASS: &str = "clinician-passphrase";
pub const ADMIN: &str = "admin";
pub const ADMIN_PASS: &str = "admin-passphrase";
/// Samples per append (one sealed chunk each).
pub const APPEND_SAMPLES: usize = 1600;
pub const APPENDS: u64 = 3;

fn seed(id: SessionId) -> u32 {
    u32::from_le_bytes([id.0[0], id.0[1], id.0[2], id.0[3]])
}

pub fn audio(id: SessionId, append: u64) -> Vec<f32> {
    let s = seed(id).wrapping_add(append as u32 * 7919);
    (0..APPEND_SAMPLES)
        .map(|i| (((s as usize + i * 31) % 2003) as f32 / 2003.0) - 0.5)
        .collect()
}

pub const PATIENT: &str = "Patient Crashtest 1970-01-01";

pub fn transcript(id: SessionId) -> Transcript {
    Transcript {
        language: "en".into(),
        model_sha256: "00".repeat(32),
        segments: vec![Segment {
            id: 0,
            start_ms: 0,
            end_ms: 1000,
            speaker: None,
            text: format!("visit {id}"),
            confidence: 0.9,
            unsure: Vec::new(),
        }],
    }
}

pub fn draft(id: SessionId) -> Draft {
    Draft {
        sections: vec![DraftSection {
            heading: "SUBJECTIVE".into(),
            text: format!("note for {id}"),
        }],
        provenance: Provenance {
            model_sha256: "11".repeat(32),
            model_id: "m".into(),
            template_id: "soap".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 1,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        },
    }
}
