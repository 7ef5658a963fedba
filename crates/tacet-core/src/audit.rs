//! Audit event types. An event names who did what to which object and the
//! hash of its content; it never carries patient text, so the log can be
//! kept for six years after the data it describes is destroyed. The field
//! types make that hard to get wrong: there is no free-text field, only an
//! action code, opaque ids, hashes and a small set of typed details.

use crate::ids::{Actor, SessionId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    VaultCreated,
    UserAdded,
    Unlock,
    UnlockFailed,
    ModelImported,
    ModelRemoved,
    ModelVerified,
    SessionCreated,
    ConsentRecorded,
    AudioImported,
    TranscriptCreated,
    DraftCreated,
    NoteViewed,
    NoteEdited,
    ReviewAttested,
    ExportRefused,
    NoteExported,
    SessionDestroyed,
    RetentionRun,
    KeyRotated,
    AuditVerified,
    AuditViewed,
    Checkpoint,
    SettingsChanged,
    DestroyScheduled,
    /// A live recording began (details: template id).
    RecordingStarted,
    /// A live recording was stopped cleanly (details: chunks sealed).
    RecordingStopped,
    /// An interrupted recording was recovered (details: chunks recovered,
    /// then chunk indexes missing).
    RecordingRecovered,
    /// A live recording was paused: nothing is sealed until it resumes
    /// (details: milliseconds of audio recorded before the gap).
    RecordingPaused,
    /// A paused live recording resumed (details: milliseconds of audio
    /// recorded before the gap, the same position as its pause).
    RecordingResumed,
    /// The clinician roster was authenticated for the first time (details:
    /// how many clinician rows were tagged).
    RosterSealed,
    /// A clinician row failed its roster check and was given no data key
    /// (object: the row's user; outcome denied).
    RosterRowRefused,
    /// A user changed their passphrase (a clinician's key pair is replaced
    /// with it; details: how many session keys were wrapped to the new one).
    PassphraseChanged,
    /// An admin removed an account (object: the user and role).
    UserRemoved,
    /// A vault was unlocked in a process whose network sandbox was not in
    /// force, because the operator set the override (object: the layers
    /// missing). Without the override such a process opens no vault.
    SandboxOverridden,
    /// A session's owner let a colleague (a covering clinician) open it
    /// (object: the colleague).
    CoverGranted,
    /// A session's owner took a colleague's cover back (object: the
    /// colleague).
    CoverRevoked,
    /// The sessions' records (state, times, receipt) were authenticated for
    /// the first time (details: how many rows were tagged).
    SessionRecordsSealed,
    /// A session's record failed its check: its state, times or receipt
    /// were changed outside Tacet (session; outcome denied).
    SessionRecordRefused,
    /// The audit chain's first key left the vault for the admin to keep
    /// outside it (a vault from before it was handed out at setup).
    AuditChainKeyHandedOut,
}

impl AuditAction {
    pub const ALL: [AuditAction; 40] = [
        AuditAction::VaultCreated,
        AuditAction::UserAdded,
        AuditAction::Unlock,
        AuditAction::UnlockFailed,
        AuditAction::ModelImported,
        AuditAction::ModelRemoved,
        AuditAction::ModelVerified,
        AuditAction::SessionCreated,
        AuditAction::ConsentRecorded,
        AuditAction::AudioImported,
        AuditAction::TranscriptCreated,
        AuditAction::DraftCreated,
        AuditAction::NoteViewed,
        AuditAction::NoteEdited,
        AuditAction::ReviewAttested,
        AuditAction::ExportRefused,
        AuditAction::NoteExported,
        AuditAction::SessionDestroyed,
        AuditAction::RetentionRun,
        AuditAction::KeyRotated,
        AuditAction::AuditVerified,
        AuditAction::AuditViewed,
        AuditAction::Checkpoint,
        AuditAction::SettingsChanged,
        AuditAction::DestroyScheduled,
        AuditAction::RecordingStarted,
        AuditAction::RecordingStopped,
        AuditAction::RecordingRecovered,
        AuditAction::RecordingPaused,
        AuditAction::RecordingResumed,
        AuditAction::RosterSealed,
        AuditAction::RosterRowRefused,
        AuditAction::PassphraseChanged,
        AuditAction::UserRemoved,
        AuditAction::SandboxOverridden,
        AuditAction::CoverGranted,
        AuditAction::CoverRevoked,
        AuditAction::SessionRecordsSealed,
        AuditAction::SessionRecordRefused,
        AuditAction::AuditChainKeyHandedOut,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AuditAction::VaultCreated => "vault.created",
            AuditAction::UserAdded => "user.added",
            AuditAction::Unlock => "user.unlock",
            AuditAction::UnlockFailed => "user.unlock_failed",
            AuditAction::ModelImported => "model.imported",
            AuditAction::ModelRemoved => "model.removed",
            AuditAction::ModelVerified => "model.verified",
            AuditAction::SessionCreated => "session.created",
            AuditAction::ConsentRecorded => "session.consent",
            AuditAction::AudioImported => "session.audio_imported",
            AuditAction::TranscriptCreated => "session.transcript_created",
            AuditAction::DraftCreated => "session.draft_created",
            AuditAction::NoteViewed => "session.note_viewed",
            AuditAction::NoteEdited => "session.note_edited",
            AuditAction::ReviewAttested => "session.review_attested",
            AuditAction::ExportRefused => "session.export_refused",
            AuditAction::NoteExported => "session.exported",
            AuditAction::SessionDestroyed => "session.destroyed",
            AuditAction::RetentionRun => "retention.run",
            AuditAction::KeyRotated => "key.rotated",
            AuditAction::AuditVerified => "audit.verified",
            AuditAction::AuditViewed => "audit.viewed",
            AuditAction::Checkpoint => "audit.checkpoint",
            AuditAction::SettingsChanged => "settings.changed",
            AuditAction::DestroyScheduled => "session.destroy_scheduled",
            AuditAction::RecordingStarted => "session.recording_started",
            AuditAction::RecordingStopped => "session.recording_stopped",
            AuditAction::RecordingRecovered => "session.recording_recovered",
            AuditAction::RecordingPaused => "session.recording_paused",
            AuditAction::RecordingResumed => "session.recording_resumed",
            AuditAction::RosterSealed => "user.roster_sealed",
            AuditAction::RosterRowRefused => "user.roster_refused",
            AuditAction::PassphraseChanged => "user.passphrase_changed",
            AuditAction::UserRemoved => "user.removed",
            AuditAction::SandboxOverridden => "sandbox.overridden",
            AuditAction::CoverGranted => "session.cover_granted",
            AuditAction::CoverRevoked => "session.cover_revoked",
            AuditAction::SessionRecordsSealed => "session.records_sealed",
            AuditAction::SessionRecordRefused => "session.record_refused",
            AuditAction::AuditChainKeyHandedOut => "audit.chain_key_handed_out",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "denied" => Some(Outcome::Denied),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// A detail an event may carry. Only these kinds exist: ids, hashes, counts
/// and enumerated words. There is deliberately no variant for free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// SHA-256 of a model file involved (transcription, drafting).
    ModelSha256([u8; 32]),
    /// Key id of a session key or master key.
    KeyId([u8; 16]),
    /// SHA-256 of a ciphertext that was destroyed (deletion receipt).
    DestroyedCiphertext([u8; 32]),
    /// Why a deletion happened: "exported", "retention", "discarded".
    Trigger(&'static str),
    /// How many items an action touched.
    Count(u64),
    /// A template id (template ids are validated `[a-z0-9_-]+`).
    TemplateId(String),
    /// The export format ("text", "stdout").
    Format(&'static str),
    /// The generation a session's row reached in this record's transaction
    /// (each change Tacet makes to the row counts one); the newest such
    /// record of a session names the only row that verifies.
    SessionRecord(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub actor: Actor,
    pub outcome: Outcome,
    /// The session the event is about, if any.
    pub session: Option<SessionId>,
    /// Another opaque object id (a model id, a user name, a receipt id).
    pub object: Option<String>,
    /// SHA-256 of the object's content, where there is content.
    pub content_sha256: Option<[u8; 32]>,
    pub details: Vec<Detail>,
}

impl AuditEvent {
    pub fn new(action: AuditAction, actor: Actor) -> Self {
        Self {
            action,
            actor,
            outcome: Outcome::Success,
            session: None,
            object: None,
            content_sha256: None,
            details: Vec::new(),
        }
    }
    pub fn outcome(mut self, o: Outcome) -> Self {
        self.outcome = o;
        self
    }
    pub fn session(mut self, s: SessionId) -> Self {
        self.session = Some(s);
        self
    }
    pub fn object(mut self, o: impl Into<String>) -> Self {
        self.object = Some(o.into());
        self
    }
    pub fn content(mut self, bytes: &[u8]) -> Self {
        self.content_sha256 = Some(crate::sha256(bytes));
        self
    }
    pub fn content_hash(mut self, h: [u8; 32]) -> Self {
        self.content_sha256 = Some(h);
        self
    }
    pub fn detail(mut self, d: Detail) -> Self {
        self.details.push(d);
        self
    }
}

/// The object of the [`AuditAction::ReviewAttested`] event that records a
/// note attested although it has no content (see
/// [`crate::review::is_empty_note`]), after the clinician confirmed
/// explicitly that it is meant to be empty.
pub const EMPTY_NOTE_CONFIRMED: &str = "empty-note-confirmed";

impl AuditEvent {
    /// A clinician confirmed explicitly that the note they attest is meant
    /// to be empty: the note's hash and its number of sections, no text.
    pub fn empty_note_confirmed(
        actor: Actor,
        session: SessionId,
        note_sha256: [u8; 32],
        sections: u64,
    ) -> Self {
        AuditEvent::new(AuditAction::ReviewAttested, actor)
            .session(session)
            .object(EMPTY_NOTE_CONFIRMED)
            .content_hash(note_sha256)
            .detail(Detail::Count(sections))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert!(seen.insert(a.code()));
            assert_eq!(AuditAction::from_code(a.code()), Some(a));
        }
    }

    #[test]
    fn a_confirmed_empty_note_is_an_attestation_event_without_text() {
        let ev = AuditEvent::empty_note_confirmed(
            Actor::new("dr", crate::ids::Role::Clinician),
            SessionId([3; 16]),
            [7; 32],
            4,
        );
        assert_eq!(ev.action, AuditAction::ReviewAttested);
        assert_eq!(ev.outcome, Outcome::Success);
        assert_eq!(ev.object.as_deref(), Some(EMPTY_NOTE_CONFIRMED));
        assert_eq!(ev.content_sha256, Some([7; 32]));
        assert_eq!(ev.details, vec![Detail::Count(4)]);
    }
}
