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

use crate::backend::{GroundingView, ModelRow};
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

/// The clinician's answer to one flagged sentence: keep it as written, and
/// why. Resolves every flag on that sentence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagAcceptance {
    pub accepted: bool,
    pub reason: String,
}

/// The shortest reason the application layer takes for accepting flags.
pub const MIN_REASON_CHARS: usize = 3;

impl FlagAcceptance {
    /// Ticked, with a reason long enough to count.
    pub fn is_valid(&self) -> bool {
        self.accepted && self.reason.trim().chars().count() >= MIN_REASON_CHARS
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

    /// Flags still blocking attestation (counted the way the application
    /// layer counts them: every flag of an open sentence).
    pub fn open_flags(&self) -> usize {
        let Some(g) = &self.grounding else {
            return 0;
        };
        self.open_flag_sentences()
            .iter()
            .zip(&g.sentences)
            .filter(|(open, _)| **open)
            .map(|(_, s)| s.flags.len())
            .sum()
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
        !s.flags.is_empty() && squash(&self.note_text()).contains(&squash(&s.text))
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

/// Whitespace collapsed, so line breaks an edit moved do not matter.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
