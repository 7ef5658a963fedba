//! Ports: the traits the application layer drives and the adapters
//! implement. They speak only core types, so the application layer never
//! names whisper, candle or SQLite.

use crate::draft::Draft;
use crate::template::Template;
use crate::transcript::Transcript;
use std::sync::atomic::AtomicBool;

/// An error an engine reports, already in words a person can act on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// Speech to text over 16 kHz mono samples in -1..=1.
pub trait Transcriber {
    fn transcribe(&mut self, samples_16k_mono: &[f32]) -> Result<Transcript, EngineError>;
}

/// What a drafter reports while it works.
pub enum DraftProgress<'a> {
    /// Starting a section.
    Section(&'a str),
    /// A piece of text, as the model writes it.
    Token(&'a str),
}

/// Transcript + template to a draft note. `cancel` is polled between tokens.
///
/// A draft leaves nothing of the transcript in the drafter's memory. Only
/// [`Drafter::prewarm`] keeps something there, until the next draft or
/// [`Drafter::forget`].
pub trait Drafter {
    fn draft(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, EngineError>;

    /// Reads ahead the prompt a draft of `transcript` with `template` would
    /// start with, so that the next draft (of this transcript, or of one
    /// that extends it) starts where this left off. Cancelling keeps what
    /// was read so far. Optional: the default does nothing.
    fn prewarm(
        &mut self,
        _transcript: &Transcript,
        _template: &Template,
        _cancel: &AtomicBool,
    ) -> Result<(), EngineError> {
        Ok(())
    }

    /// Overwrites and drops whatever a prewarm left in memory (the session
    /// was locked, closed or destroyed before its draft).
    fn forget(&mut self) {}
}

/// Wall-clock time; a port so tests can fix it.
pub trait Clock {
    fn now_unix_ms(&self) -> u64;
}

/// What the application layer knows of a stored session without opening
/// any patient data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: crate::SessionId,
    pub owner: crate::UserName,
    pub state: crate::SessionState,
    pub template_id: String,
    pub created_at_unix_ms: u64,
    /// Set once the session is destroyed.
    pub receipt_id: Option<String>,
}

/// A deletion receipt: what was destroyed, proven by hashes only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionReceipt {
    pub receipt_id: String,
    pub session: crate::SessionId,
    pub key_id_hex: String,
    pub destroyed_ciphertexts: u64,
    pub trigger: &'static str,
    pub actor: crate::UserName,
    pub at_unix_ms: u64,
    /// Sequence number of the audit record that holds the receipt.
    pub audit_seq: u64,
}

/// One line of the deletion log as an admin sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionEntry {
    pub audit_seq: u64,
    pub session_hex: String,
    pub actor: String,
    pub trigger: String,
    pub at_unix_ms: u64,
    pub destroyed_ciphertexts: u64,
    pub key_id_hex: String,
    pub receipt_id: String,
}

/// The outcome of verifying the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerification {
    pub records: u64,
    pub root_hex: String,
    pub checkpoints_checked: u64,
    pub problems: Vec<String>,
    /// Where anchored checkpoints came from, or why none did (one line).
    pub anchors: Option<String>,
    /// Whether every record's chain tag was checked, and with which key, or
    /// why not (one line).
    pub chain: Option<String>,
}

impl AuditVerification {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such session: {0}")]
    NoSuchSession(String),
    #[error("{0}")]
    Denied(String),
    #[error(transparent)]
    Lifecycle(#[from] crate::LifecycleError),
    #[error(transparent)]
    Gate(#[from] crate::GateError),
    #[error("stored data failed its integrity check: {0}")]
    Integrity(String),
    #[error("storage error: {0}")]
    Io(String),
}

/// The encrypted store, as the application layer sees it: every method
/// that changes something also records its audit event in the same
/// transaction. Implementations enforce roles (a clinician sees only their
/// own sessions; an admin opens no patient data).
pub trait SessionStore {
    fn actor(&self) -> &crate::Actor;
    fn create_session(
        &mut self,
        template_id: &str,
        patient: &crate::PatientRef,
    ) -> Result<crate::SessionId, StoreError>;
    fn session(&self, id: crate::SessionId) -> Result<SessionSummary, StoreError>;
    fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError>;
    fn patient_ref(&mut self, id: crate::SessionId) -> Result<crate::PatientRef, StoreError>;
    /// Appends 16 kHz mono audio as sealed chunks of at most one second;
    /// `last` marks the final chunk.
    fn append_audio(
        &mut self,
        id: crate::SessionId,
        samples_16k: &[f32],
        last: bool,
    ) -> Result<u64, StoreError>;
    fn audio(&mut self, id: crate::SessionId) -> Result<Vec<f32>, StoreError>;
    fn put_transcript(
        &mut self,
        id: crate::SessionId,
        t: &crate::Transcript,
    ) -> Result<(), StoreError>;
    fn transcript(&mut self, id: crate::SessionId) -> Result<crate::Transcript, StoreError>;
    fn put_draft(&mut self, id: crate::SessionId, d: &crate::Draft) -> Result<(), StoreError>;
    fn draft(&mut self, id: crate::SessionId) -> Result<crate::Draft, StoreError>;
    fn put_attested(&mut self, note: &crate::AttestedNote) -> Result<(), StoreError>;
    /// The attested note, or [`crate::GateError::NotAttested`].
    fn attested(&mut self, id: crate::SessionId) -> Result<crate::AttestedNote, StoreError>;
    /// Marks the note exported (the caller has written it out).
    fn mark_exported(
        &mut self,
        note: &crate::AttestedNote,
        format: &'static str,
    ) -> Result<String, StoreError>;
    fn destroy(
        &mut self,
        id: crate::SessionId,
        trigger: &'static str,
    ) -> Result<DeletionReceipt, StoreError>;
    /// Records an event that changes no stored data (a refused export, a
    /// model import, a view).
    fn record(&mut self, ev: crate::AuditEvent) -> Result<u64, StoreError>;
    fn verify_audit(
        &mut self,
        external_checkpoints: &[String],
    ) -> Result<AuditVerification, StoreError>;
    fn deletions(&mut self) -> Result<Vec<DeletionEntry>, StoreError>;
    /// The latest signed checkpoint (C2SP signed-note text), writing a new
    /// one if the log has grown since the last.
    fn checkpoint(&mut self) -> Result<String, StoreError>;
    /// Records `ev` (an admin's model import or removal) and, in the same
    /// transaction, adds the model with this SHA-256 to the list the engines
    /// may load (`approved`) or withdraws it. The list is authenticated
    /// under a key only an unlocked account holds, so an edit of the models
    /// folder's index approves nothing. Admins only.
    fn set_model_approval(
        &mut self,
        ev: crate::AuditEvent,
        sha256: [u8; 32],
        approved: bool,
    ) -> Result<u64, StoreError>;
    /// Whether an admin approved the model with this SHA-256 through Tacet.
    fn model_approved(&self, sha256: &[u8; 32]) -> Result<bool, StoreError>;
}

/// What a live transcriber reports after each push.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveUpdate {
    /// Segments that became final with this push (never change again).
    pub committed: Vec<crate::Segment>,
    /// The current tentative segments; they replace the previous ones.
    pub tentative: Vec<crate::Segment>,
}

/// Speech to text while the session records: audio arrives in pieces and
/// the work is done as it comes, so `finish` has little left to do.
pub trait LiveTranscriber {
    /// Takes the next 16 kHz mono samples (in -1..=1).
    fn push(&mut self, samples_16k: &[f32]) -> Result<LiveUpdate, EngineError>;
    /// The whole transcript, once, after the last push.
    fn finish(&mut self) -> Result<crate::Transcript, EngineError>;
}

/// The sealed audio of a recording that never stopped cleanly, as found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveredAudio {
    /// Every chunk that opened, in index order (16 kHz mono).
    pub samples_16k: Vec<f32>,
    /// Chunks found and opened.
    pub chunks_recovered: u64,
    /// Chunk indexes below the highest found that have no chunk: audio lost
    /// inside the recording (zero after an ordinary crash, which loses only
    /// the unsealed tail).
    pub chunks_missing: u64,
    /// Whether the final-flagged chunk was sealed (the crash came after
    /// stop, before the transcript was stored).
    pub had_final_chunk: bool,
}

/// A store that can find and reopen recordings a crash left behind.
pub trait RecoveryStore: SessionStore {
    /// The acting user's sessions that are still `recording` (or
    /// `interrupted`). Call at unlock, before starting a recording: the
    /// vault is locked to one process, so none of them is still live.
    fn interrupted_sessions(&self) -> Result<Vec<SessionSummary>, StoreError>;
    /// Moves the session `recording → interrupted → recording` (lifecycle),
    /// opens every sealed audio chunk, and audits `RecordingRecovered` with
    /// the counts, all in one transaction. Repeatable until a transcript is
    /// stored.
    fn recover_audio(&mut self, id: crate::SessionId) -> Result<RecoveredAudio, StoreError>;
}
