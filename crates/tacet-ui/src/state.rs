//! The view state: plain data the screens render, and the closed set of
//! [`UiCommand`]s they send back. Screens may write into form fields (a text
//! field needs a `&mut String`), but everything that matters — unlocking,
//! consent, transcribing, attesting, exporting — is a command that
//! [`crate::TacetUi`] handles in one place.
//!
//! Grounding flags are resolved here, in plain functions the screen, the
//! shortcuts and the tests share: a flagged sentence stops counting once it
//! is no longer, word for word, in the note to be attested (the rule the
//! application layer's `open_flags` applies when it attests), or once the
//! clinician ticks "Accept flag" and gives a reason.

use crate::backend::{GroundingView, InputDevice, LiveLevel, LiveSegment, ModelRow, ReportFormat};
use crate::backend::{RetentionRow, UserRow};
use crate::tokens::ThemeKind;
use tacet_core::ports::{AuditVerification, DeletionEntry, DeletionReceipt, SessionSummary};
use tacet_core::{Role, SessionId, Template, Transcript};

/// Which screen is showing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The first-run walk: no vault in the data folder yet.
    Setup,
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
    /// Open the in-window picker for a path field.
    Browse(crate::picker::PathField),
    /// First run: create the vault from the accounts form (validated first).
    CreateVault,
    /// First run: import every model in the folder typed in.
    ImportModelsFolder,
    /// First run: fill the consent texts in with the practice's name.
    LoadConsentTexts,
    /// First run: go to this step (only once the vault exists).
    SetupGoTo(SetupStep),
    /// First run: done; sign out, and let the clinician sign in.
    FinishSetup,
    Unlock,
    Lock,
    ToggleTheme,
    DismissMessage,
    RefreshSessions,
    /// Open this session (it has a transcript) to draft and review it.
    OpenSession(SessionId),
    /// Share the session chosen in the share form with the colleague named
    /// there, or (`true`) stop sharing it with them.
    ShareSession(bool),
    StartNewSession,
    /// The patient's answer to the consent script.
    Consent(bool),
    Transcribe,
    /// Start recording live from the device chosen in the picker.
    StartRecording,
    PauseRecording,
    /// Resume after a pause or a lost device (from the picker's device).
    ResumeRecording,
    StopRecording,
    /// Ask the backend for the input devices again.
    RefreshDevices,
    StartDraft,
    CancelDraft,
    /// Show the evidence of this sentence (an index into the grounding).
    SelectSentence(usize),
    AcceptSection(usize),
    EditSection(usize),
    FinishEdit(usize),
    NextAttention,
    PreviousAttention,
    Attest,
    CopyNote,
    CopySection(usize),
    /// Save the attested note to a new file in this format.
    SaveAs(tacet_core::ExportFormat),
    FinishSession,
    VerifyAudit,
    LoadCheckpoint,
    CopyCheckpoint,
    SaveCheckpoint,
    LoadDeletions,
    LoadModels,
    /// Ask for the installation report.
    ComplianceReport,
    /// Save the report on screen to the path in the admin's form.
    SaveReport(ReportFormat),
    /// Save a copy of the support log to the path in the admin's form.
    SaveSupportLog,
    /// Ask for the retention settings.
    LoadRetention,
    /// Save the retention settings in the admin's form (validated first).
    SaveRetention,
    /// Anchor the audit log in the folder the admin typed.
    SaveAnchor,
    /// Re-hash this installed model.
    VerifyModel(String),
    /// Import the model at the path in the admin's form.
    ImportModel,
    LoadUsers,
    /// Add the user in the new-user form (the admin's card or the
    /// clinician's "Add a colleague").
    AddUser,
    /// Remove this account (admins only).
    RemoveUser(String),
    /// Change the signed-in user's passphrase (the form, validated first).
    ChangePassphrase,
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
    /// Where the support log is written (shown to the admin; set by the
    /// program that owns the data folder; empty when unknown).
    pub support_log_dir: String,
    /// The folder notes are saved into (the desktop app's export folder,
    /// the one place besides its data folder it may write a file); empty
    /// when the program fences no writes.
    pub export_dir: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: ThemeKind::Dark,
            auto_lock_minutes: 5,
            clipboard_clear_s: 30,
            default_wav_path: String::new(),
            support_log_dir: String::new(),
            export_dir: String::new(),
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

/// The clinician's answer to one flagged sentence: keep it as written, and
/// why. Resolves every flag on that sentence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagAcceptance {
    pub accepted: bool,
    pub reason: String,
}

/// The shortest reason the application layer takes for accepting flags
/// (the core's rule, shown on the review screen).
pub use tacet_core::review::MIN_REASON_CHARS;

impl FlagAcceptance {
    /// Ticked, with a reason long enough to count.
    pub fn is_valid(&self) -> bool {
        self.accepted && tacet_core::review::is_acceptance_reason(&self.reason)
    }
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
    /// What the model did not read of the transcript, in plain words
    /// ([`tacet_core::Provenance::coverage_notice`]); shown above the draft.
    pub coverage_notice: Option<String>,
    /// The draft checked against the transcript; `None` until it arrives.
    pub grounding: Option<GroundingView>,
    /// One per grounding sentence (only flagged ones are ever ticked).
    pub acceptances: Vec<FlagAcceptance>,
    /// The sentence whose evidence the transcript pane highlights.
    pub selected_sentence: Option<usize>,
    /// Scroll the transcript to the first highlighted segment once.
    pub scroll_to_evidence: bool,
    /// The section keyboard navigation points at.
    pub focused: Option<usize>,
    pub attest_checked: bool,
    /// The clinician confirms that a note with no content is meant to be
    /// empty ([`tacet_core::review::CONFIRM_EMPTY_STATEMENT`]); asked for,
    /// and sent, only while [`Work::is_empty_note`].
    pub confirm_empty: bool,
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

    /// The note as it would be attested now.
    pub fn note_text(&self) -> String {
        tacet_core::draft::render_sections(
            self.sections
                .iter()
                .map(|s| (s.heading.as_str(), s.text.trim())),
        )
    }

    /// A draft is on screen and the note as it would be attested now says
    /// nothing: every section empty or a placeholder ("Not discussed.").
    /// The application layer attests it only with an explicit confirmation.
    pub fn is_empty_note(&self) -> bool {
        !self.sections.is_empty() && tacet_core::review::is_empty_note(&self.note_text())
    }

    /// For each grounding sentence, whether its flags still count: flagged,
    /// still word for word in the note, and not accepted with a reason.
    pub fn open_flag_sentences(&self) -> Vec<bool> {
        let Some(g) = &self.grounding else {
            return Vec::new();
        };
        let note = squash(&self.note_text());
        g.sentences
            .iter()
            .enumerate()
            .map(|(i, s)| {
                !s.flags.is_empty()
                    && note.contains(&squash(&s.text))
                    && !self
                        .acceptances
                        .get(i)
                        .is_some_and(FlagAcceptance::is_valid)
            })
            .collect()
    }

    /// Flags still blocking attestation, counted by the core's rule, as
    /// the application layer counts them: every flag of a flagged sentence
    /// still in the note, unless the clinician accepted it with a reason.
    pub fn open_flags(&self) -> usize {
        let Some(g) = &self.grounding else {
            return 0;
        };
        let accepted = |i: usize| {
            self.acceptances
                .get(i)
                .is_some_and(FlagAcceptance::is_valid)
        };
        tacet_core::review::open_flag_count(
            &self.note_text(),
            g.sentences.iter().enumerate().map(|(i, s)| {
                let open = if accepted(i) { 0 } else { s.flags.len() };
                (s.text.as_str(), open)
            }),
        )
    }

    /// Whether a flagged sentence is still in the note (so it needs an
    /// answer), whatever its acceptance.
    pub fn flag_present(&self, sentence: usize) -> bool {
        let Some(s) = self
            .grounding
            .as_ref()
            .and_then(|g| g.sentences.get(sentence))
        else {
            return false;
        };
        !s.flags.is_empty() && tacet_core::review::still_in_note(&s.text, &self.note_text())
    }

    /// Sections that still need the clinician: not yet accepted or edited,
    /// or holding a flag that still counts.
    pub fn needs_attention(&self) -> Vec<bool> {
        let open = self.open_flag_sentences();
        let sentences = self
            .grounding
            .as_ref()
            .map(|g| g.sentences.as_slice())
            .unwrap_or_default();
        self.sections
            .iter()
            .map(|sec| {
                !sec.status.is_resolved()
                    || sentences
                        .iter()
                        .zip(&open)
                        .any(|(s, o)| *o && s.section == sec.heading)
            })
            .collect()
    }

    /// The reasons for the accepted flags still in the note, joined for the
    /// attest request; `None` when no flag was accepted.
    pub fn accept_flags_reason(&self) -> Option<String> {
        let g = self.grounding.as_ref()?;
        let reasons: Vec<String> = g
            .sentences
            .iter()
            .enumerate()
            .filter(|(i, _)| self.flag_present(*i))
            .filter_map(|(i, s)| {
                let a = self.acceptances.get(i).filter(|a| a.is_valid())?;
                let labels: Vec<&str> = s.flags.iter().map(|f| f.label.as_str()).collect();
                Some(format!("{}: {}", labels.join(", "), a.reason.trim()))
            })
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// The transcript segments to highlight for the selected sentence: its
    /// evidence (best first), then the segments its flags point at.
    pub fn highlighted_segments(&self) -> Vec<u32> {
        let Some(s) = self
            .selected_sentence
            .and_then(|i| self.grounding.as_ref()?.sentences.get(i))
        else {
            return Vec::new();
        };
        let mut out: Vec<u32> = Vec::new();
        let ids = s
            .evidence
            .iter()
            .map(|e| e.segment_id)
            .chain(s.flags.iter().filter_map(|f| f.evidence_segment));
        for id in ids {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

/// Text as a reader sees it (invisible characters dropped, white space
/// collapsed): the gate's own comparison, so the screen and the gate agree
/// on which flagged sentences are still in the note.
pub fn squash(s: &str) -> String {
    tacet_core::review::visible_text(s)
}

/// The installation report as the backend produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplianceView {
    pub markdown: String,
    /// False when the audit log failed verification or could not be read.
    pub audit_verified: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminView {
    pub verification: Option<AuditVerification>,
    /// The audit chain key the admin kept at setup, typed to have every
    /// chain tag checked; cleared once sent.
    pub chain_key_input: String,
    pub checkpoint: Option<String>,
    pub deletions: Option<Vec<DeletionEntry>>,
    pub models: Option<Vec<ModelRow>>,
    pub report: Option<ComplianceView>,
    /// Where to save the report (a path to a new file).
    pub report_path: String,
    /// Where to save the signed checkpoint (a new file).
    pub checkpoint_path: String,
    /// What was last saved, for the confirmation.
    pub report_saved: Option<String>,
    /// Where to save a copy of the support log (a new file).
    pub support_log_path: String,
    /// The confirmation after a copy was saved.
    pub support_log_saved: Option<String>,
    /// Scroll the report into view once, when it arrives.
    pub scroll_to_report: bool,
    pub retention: Option<RetentionRow>,
    /// The retention form: days for unexported sessions, hours of grace.
    pub retention_days_input: String,
    pub grace_hours_input: String,
    /// The confirmation after a change.
    pub retention_saved: Option<String>,
    /// The anchor folder the admin types (outside the data folder).
    pub anchor_input: String,
    /// Where to import a model from (a file, directory or wheel).
    pub import_path: String,
    /// Quantise a whisper model imported from a CTranslate2 export to q8_0.
    pub import_q8_0: bool,
    /// What the last import did, in words.
    pub import_result: Option<String>,
    /// The last verification of each model: (id, ok, what was found).
    pub model_checks: Vec<(String, bool, String)>,
    pub users: Option<Vec<UserRow>>,
    /// The new-user form; the clinician's "Add a colleague" uses it too.
    pub new_user: NewUserForm,
    /// The confirmation after a user was added.
    pub user_added: Option<String>,
    /// The signed-in user's passphrase change: current, new, repeated.
    pub passwd: PasswdForm,
    /// The confirmation after a change or a removal.
    pub people_done: Option<String>,
}

/// Changing one's own passphrase. The fields are wiped once sent and on
/// lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasswdForm {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// A new user's name, role and passphrase (typed twice). The passphrase
/// fields are wiped once sent and on lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUserForm {
    pub name: String,
    pub role: Role,
    pub passphrase: String,
    pub confirm: String,
}

impl Default for NewUserForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            role: Role::Admin,
            passphrase: String::new(),
            confirm: String::new(),
        }
    }
}

pub use tacet_core::retention::{MAX_GRACE_HOURS, MIN_RETENTION_DAYS};

/// The retention form's values as (days, hours), or why they are refused:
/// the core's bounds (`tacet_core::retention`), which the vault enforces.
pub fn parse_retention(days: &str, hours: &str) -> Result<(f64, f64), String> {
    let d: f64 = days.trim().parse().map_err(|_| {
        "The retention period must be a number of days (for example 7 or 0.5).".to_string()
    })?;
    tacet_core::retention::check_retention_days(d).map_err(|p| sentence(&p.to_string()))?;
    let h: f64 = hours.trim().parse().map_err(|_| {
        "The grace period must be a number of hours (for example 0 or 24).".to_string()
    })?;
    tacet_core::retention::check_grace_hours(h).map_err(|p| sentence(&p.to_string()))?;
    Ok((d, h))
}

/// A rule's words as a sentence on the screen: capitalised, with a full
/// stop.
pub(crate) fn sentence(words: &str) -> String {
    let mut c = words.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// Where a live recording is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LivePhase {
    #[default]
    Idle,
    /// Asked to start; waiting for the device.
    Starting,
    Recording,
    Paused,
    /// The device disappeared: paused until a device is back.
    DeviceLost,
    /// Asked to stop; waiting for the transcript.
    Stopping,
}

/// The Record screen's live recording.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveView {
    pub devices: Vec<InputDevice>,
    /// Whether the device list has arrived.
    pub devices_loaded: bool,
    /// The device chosen last time (pre-selected in the picker).
    pub remembered: Option<String>,
    /// The picker's choice: a device id, or `None` for the default input.
    pub selected: Option<String>,
    pub phase: LivePhase,
    pub session: Option<SessionId>,
    /// The device recording now.
    pub device: Option<String>,
    /// Audio recorded so far (pauses not counted).
    pub elapsed_ms: u64,
    pub level: Option<LiveLevel>,
    /// Final text, in order.
    pub committed: Vec<LiveSegment>,
    /// Text the engine may still change.
    pub tentative: Vec<LiveSegment>,
    /// Why the device was lost, while it is.
    pub device_lost: Option<String>,
}

impl LiveView {
    /// A recording exists (starting, running, paused, lost or stopping).
    pub fn is_active(&self) -> bool {
        self.phase != LivePhase::Idle
    }
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
    pub live: LiveView,
    pub setup: SetupView,
    /// The spoken consent script as the vault's settings fill it in
    /// (asked for at a clinician's unlock); until it arrives the new
    /// session screen shows [`crate::CONSENT_SCRIPT`].
    pub consent_script: Option<String>,
    /// The "Share a session with a colleague" form.
    pub share: ShareForm,
}

/// Which session to share and with whom.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShareForm {
    pub session: Option<SessionId>,
    pub with: String,
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
            live: LiveView::default(),
            setup: SetupView::default(),
            consent_script: None,
            share: ShareForm::default(),
        }
    }
}

/// The first-run walk's steps, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SetupStep {
    #[default]
    Accounts,
    Models,
    Anchor,
    Consent,
    Done,
}

impl SetupStep {
    pub const ALL: [SetupStep; 5] = [
        SetupStep::Accounts,
        SetupStep::Models,
        SetupStep::Anchor,
        SetupStep::Consent,
        SetupStep::Done,
    ];
    pub fn title(self) -> &'static str {
        match self {
            SetupStep::Accounts => "Accounts",
            SetupStep::Models => "Models",
            SetupStep::Anchor => "Audit anchor",
            SetupStep::Consent => "Consent texts",
            SetupStep::Done => "Ready",
        }
    }
}

/// The first-run walk's forms and what the backend reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetupView {
    /// The data folder the vault is created in.
    pub data_dir: String,
    pub step: SetupStep,
    pub admin: String,
    pub admin_passphrase: String,
    pub admin_confirm: String,
    pub clinician: String,
    pub clinician_passphrase: String,
    pub clinician_confirm: String,
    /// The step running now: share done (0 to 1) and what runs.
    pub progress: Option<(f32, String)>,
    /// The audit log's verifier key, for the admin to keep elsewhere.
    pub verifier_key: Option<String>,
    /// The audit chain's first key (secret), shown once at the end of the
    /// walk for the admin to keep elsewhere; the vault does not keep it.
    pub chain_key: Option<String>,
    /// The folder (or removable disk) holding the model files.
    pub models_folder: String,
    /// What the last folder import did, file by file.
    pub imported: Vec<crate::backend::FolderImportRow>,
    /// The practice's name, for the consent texts.
    pub practice: String,
    /// The consent texts: the form's clause and the spoken script.
    pub consent: Option<(String, String)>,
}

pub use tacet_core::passphrase::{strength as passphrase_strength, Strength, MIN_STRENGTH};

/// Why the accounts form cannot create a vault yet, in plain words.
pub fn setup_accounts_problem(s: &SetupView) -> Option<String> {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    for (who, name, pass, confirm) in [
        (
            "admin",
            s.admin.trim(),
            &s.admin_passphrase,
            &s.admin_confirm,
        ),
        (
            "clinician",
            s.clinician.trim(),
            &s.clinician_passphrase,
            &s.clinician_confirm,
        ),
    ] {
        if !valid_name(name) {
            return Some(format!(
                "Enter the {who}'s user name: letters, digits, '.', '-' or '_', at most 64."
            ));
        }
        if pass.chars().count() < tacet_core::passphrase::MIN_CHARS {
            return Some(format!(
                "The {who}'s passphrase {}.",
                tacet_core::passphrase::PassphraseProblem::TooShort
            ));
        }
        if pass != confirm {
            return Some(format!("The {who}'s passphrase and its repetition differ."));
        }
        if let Err(p) = tacet_core::passphrase::check_new(pass, name) {
            return Some(format!("The {who}'s passphrase {p}."));
        }
    }
    if s.admin.trim() == s.clinician.trim() {
        return Some("The admin and the clinician need different user names.".into());
    }
    if s.admin_passphrase == s.clinician_passphrase {
        return Some("The admin and the clinician need different passphrases.".into());
    }
    None
}
