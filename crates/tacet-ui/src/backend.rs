//! The seam between the window and the work. The UI never touches the vault,
//! an engine or a file: it sends a [`Request`] to a [`Backend`] and, once a
//! frame, drains the [`Event`]s that came back. The desktop binary
//! implements `Backend` with a worker thread that owns the vault and the
//! engines and calls the application layer (`tacet_app::execute`, the same
//! one the CLI uses); the tests implement it with [`crate::fake`].
//!
//! Requests and events are plain data so the channel between the two can be
//! bounded (`std::sync::mpsc::sync_channel`) and the window never waits on
//! work: a full queue is a [`BackendError::Busy`] the UI shows, not a block.

use std::fmt;
use tacet_core::ports::{AuditVerification, DeletionEntry, DeletionReceipt, SessionSummary};
use tacet_core::{Draft, Role, SessionId, Template, Transcript};

/// A passphrase on its way to the backend. Never printed; its bytes are
/// overwritten when it is dropped.
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    /// The passphrase itself, for the one place that derives a key from it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites a string's bytes before it is cleared (best effort: egui may
/// hold copies of what a text field showed).
pub fn wipe(s: &mut String) {
    // SAFETY-free: writing zero bytes keeps the string valid UTF-8.
    let zeros = "\0".repeat(s.len());
    s.replace_range(.., &zeros);
    s.clear();
}

/// Where an attested note goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportTarget {
    /// The UI copies the note (or a section) to the clipboard itself; the
    /// backend records the export and destroys the session.
    Clipboard,
    /// A new text file (never overwriting), readable by its owner only.
    TextFile(String),
}

/// What the UI asks of the backend. Closed: a new capability is a variant.
#[derive(Debug)]
pub enum Request {
    Unlock {
        user: String,
        passphrase: Secret,
    },
    Lock,
    ListSessions,
    /// The patient's answer to the consent script, to be audited.
    RecordConsent {
        template_id: String,
        given: bool,
    },
    /// Read a WAV file, start a session with it and transcribe it.
    TranscribeWav {
        template_id: String,
        patient_ref: String,
        wav_path: String,
    },
    Draft {
        session: SessionId,
    },
    /// Attest exactly `text`; `passphrase` is the clinician's, re-entered.
    /// `accept_flags` carries the clinician's reasons for keeping flagged
    /// sentences as written (joined); `None` when no flag was accepted.
    Attest {
        session: SessionId,
        text: String,
        passphrase: Secret,
        accept_flags: Option<String>,
    },
    Export {
        session: SessionId,
        target: ExportTarget,
    },
    VerifyAudit,
    Deletions,
    Checkpoint,
    Models,
}

/// An installed model as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRow {
    pub id: String,
    pub role: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub licence: String,
}

/// A transcript segment that supports a sentence of the draft.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceView {
    pub segment_id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Share (0..=1) of the sentence's content found in the segment's window.
    pub score: f32,
}

/// Why a sentence needs the clinician's attention. `detail` may quote the
/// note and the transcript: it is shown, never logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagView {
    /// A short label ("dose", "unsupported").
    pub label: String,
    pub detail: String,
    /// The transcript segment that shows the conflict, when there is one.
    pub evidence_segment: Option<u32>,
}

/// One sentence of the draft with its evidence and flags.
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceView {
    /// The heading of the section the sentence is in.
    pub section: String,
    pub index_in_section: usize,
    pub text: String,
    /// Best first.
    pub evidence: Vec<EvidenceView>,
    pub flags: Vec<FlagView>,
}

/// The draft's grounding as the review screen shows it: the UI's own copy
/// of the grounding crate's result, so this crate needs nothing but the
/// core.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroundingView {
    /// In note order.
    pub sentences: Vec<SentenceView>,
}

/// Which request an error belongs to, so the UI can put it in the right
/// place (and handle it once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Unlock,
    Sessions,
    Consent,
    Transcribe,
    Draft,
    Attest,
    Export,
    Admin,
}

/// What the backend reports. Errors are already in plain words and never
/// contain patient text.
#[derive(Debug)]
pub enum Event {
    Unlocked {
        user: String,
        role: Role,
        templates: Vec<Template>,
    },
    Locked,
    Sessions(Vec<SessionSummary>),
    ConsentRecorded {
        given: bool,
    },
    /// What the worker is doing now ("Loading the speech model…").
    Progress(String),
    Transcribed {
        session: SessionId,
        transcript: Transcript,
    },
    DraftSection(String),
    DraftToken(String),
    Drafted {
        draft: Draft,
    },
    /// The draft checked against the transcript (sent after `Drafted`).
    Grounding {
        session: SessionId,
        grounding: GroundingView,
    },
    DraftCancelled,
    Attested {
        note_sha256_hex: String,
    },
    Exported {
        receipt: DeletionReceipt,
        checkpoint: String,
    },
    Verification(AuditVerification),
    Deletions(Vec<DeletionEntry>),
    Checkpoint(String),
    Models(Vec<ModelRow>),
    Failed {
        op: Op,
        message: String,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum BackendError {
    /// The queue is full: the worker is still busy with earlier requests.
    Busy,
    /// The worker has stopped (it reported why before it did).
    Stopped,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Busy => {
                f.write_str("Tacet is still busy with the last request; try again in a moment.")
            }
            BackendError::Stopped => f.write_str("Tacet's worker has stopped; restart the app."),
        }
    }
}

/// The operations the screens need, answered asynchronously.
pub trait Backend {
    /// Queues a request; never blocks.
    fn send(&mut self, request: Request) -> Result<(), BackendError>;
    /// The next event, if one is waiting; never blocks.
    fn try_recv(&mut self) -> Option<Event>;
    /// Asks a running draft to stop (checked between tokens).
    fn cancel_draft(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn wipe_empties_the_string() {
        let mut s = String::from("passphrase");
        wipe(&mut s);
        assert!(s.is_empty());
    }
}
