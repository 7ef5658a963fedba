//! The view state: plain data the screens render, and the closed set of
//! [`UiCommand`]s they send back. Screens may write into form fields (a text
//! field needs a `&mut String`), but everything that matters — unlocking,
//! consent, transcribing, attesting, exporting — is a command that
//! [`crate::TacetUi`] handles in one place.

use crate::backend::ModelRow;
use crate::tokens::ThemeKind;
use tacet_core::ports::{AuditVerification, DeletionEntry, DeletionReceipt, SessionSummary};
use tacet_core::{Role, SessionId, Template, Transcript};

/// Which screen is showing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Unlock,
    Sessions,
    NewSession,
    Record,
    Draft,
    Review,
    Export,
    Admin,
}

/// Everything a screen can ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiCommand {
    Unlock,
    Lock,
    ToggleTheme,
    DismissMessage,
    RefreshSessions,
    StartNewSession,
    /// The patient's answer to the consent script.
    Consent(bool),
    Transcribe,
    StartDraft,
    CancelDraft,
    AcceptSection(usize),
    EditSection(usize),
    FinishEdit(usize),
    NextAttention,
    PreviousAttention,
    Attest,
    CopyNote,
    CopySection(usize),
    SaveText,
    FinishSession,
    VerifyAudit,
    LoadCheckpoint,
    CopyCheckpoint,
    LoadDeletions,
    LoadModels,
}

/// User-adjustable settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub theme: ThemeKind,
    /// Lock after this many minutes without input (0 turns it off).
    pub auto_lock_minutes: u32,
    /// Clear the clipboard this many seconds after a copy (0 keeps it).
    pub clipboard_clear_s: u32,
    /// The WAV path a new session starts with (the demo recording in the
    /// desktop app's `--demo` mode; empty otherwise).
    pub default_wav_path: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: ThemeKind::Dark,
            auto_lock_minutes: 5,
            clipboard_clear_s: 30,
            default_wav_path: String::new(),
        }
    }
}

/// Who is signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub user: String,
    pub role: Role,
}

/// A long-running step, with what to show while it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Busy {
    pub label: String,
    /// `ui.input().time` when it started, for an elapsed-time readout.
    pub started_s: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnlockForm {
    pub user: String,
    pub passphrase: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSessionForm {
    pub template_id: String,
    pub patient_ref: String,
    /// `None` until the patient answers.
    pub consent: Option<bool>,
    pub wav_path: String,
}

/// A draft section under review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionStatus {
    NeedsReview,
    Editing,
    Accepted,
    Edited,
}

impl SectionStatus {
    /// Accepted or edited: the clinician has dealt with it.
    pub fn is_resolved(self) -> bool {
        matches!(self, SectionStatus::Accepted | SectionStatus::Edited)
    }
    pub fn label(self) -> &'static str {
        match self {
            SectionStatus::NeedsReview => "needs review",
            SectionStatus::Editing => "editing",
            SectionStatus::Accepted => "accepted",
            SectionStatus::Edited => "edited",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionReview {
    pub heading: String,
    pub guidance: String,
    /// The model's text, kept to show what was changed.
    pub drafted: String,
    /// The text that will be attested.
    pub text: String,
    pub status: SectionStatus,
}

/// The attested note, held only until the session is finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedView {
    pub text: String,
    pub sections: Vec<(String, String)>,
    pub note_sha256_hex: String,
}

/// The session the clinician is working on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Work {
    pub session: Option<SessionId>,
    pub template_id: String,
    pub transcript: Option<Transcript>,
    /// Text as the model writes it (headers and tokens).
    pub live_draft: String,
    pub sections: Vec<SectionReview>,
    /// The section keyboard navigation points at.
    pub focused: Option<usize>,
    pub attest_checked: bool,
    pub attest_passphrase: String,
    /// Why the last attestation attempt was refused, in plain words.
    pub attest_refusal: Option<String>,
    pub attested: Option<AttestedView>,
    pub save_path: String,
    pub receipt: Option<DeletionReceipt>,
    pub checkpoint: Option<String>,
    /// What the clinician last copied or saved, for the confirmation.
    pub last_export: Option<String>,
}

impl Work {
    /// Sections still needing attention (neither accepted nor edited).
    pub fn unresolved(&self) -> usize {
        self.sections
            .iter()
            .filter(|s| !s.status.is_resolved())
            .count()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminView {
    pub verification: Option<AuditVerification>,
    pub checkpoint: Option<String>,
    pub deletions: Option<Vec<DeletionEntry>>,
    pub models: Option<Vec<ModelRow>>,
}

/// Everything the window shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewState {
    pub screen: Screen,
    pub signed_in: Option<SignedIn>,
    pub settings: Settings,
    pub busy: Option<Busy>,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub templates: Vec<Template>,
    pub sessions: Vec<SessionSummary>,
    pub unlock: UnlockForm,
    pub new_session: NewSessionForm,
    pub work: Work,
    pub admin: AdminView,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            screen: Screen::Unlock,
            signed_in: None,
            settings: Settings::default(),
            busy: None,
            error: None,
            notice: None,
            templates: Vec::new(),
            sessions: Vec::new(),
            unlock: UnlockForm::default(),
            new_session: NewSessionForm::default(),
            work: Work::default(),
            admin: AdminView::default(),
        }
    }
}
