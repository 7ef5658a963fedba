//! The application layer: one place where a session's way is decided, shared
//! by the CLI and the desktop app.
//!
//! Front ends call [`App`]'s typed methods, one per use case, and get back
//! what it produced (or an [`AppError`] in plain words). The layer speaks
//! only the core's ports —
//! [`SessionStore`], [`Transcriber`], [`Drafter`], [`Clock`] — so it never
//! names SQLite, whisper or candle, and every rule it enforces (consent
//! before recording, review before export, destruction after export) is
//! testable with fakes.

mod export;
pub mod read_ahead;
pub mod recording;
pub mod templates;

pub use export::{ExportFormat, ExportTo, Exported, KeptNote, NoteOutput};
pub use tacet_ground::{render_for_review, Flag, FlagKind, Grounding};
pub use templates::{TemplateLibrary, TemplateLibraryError};

use std::sync::atomic::AtomicBool;
use tacet_core::audit::Detail;
use tacet_core::ports::{
    AuditVerification, Clock, DeletionEntry, DraftProgress, Drafter, SessionStore, SessionSummary,
    StoreError, Transcriber,
};
use tacet_core::{
    AttestedNote, AuditAction, AuditEvent, Draft, GateError, Outcome as AuditOutcome, PatientRef,
    SessionId, Transcript,
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("transcription failed: {0}")]
    Transcription(String),
    #[error("drafting failed: {0}")]
    Drafting(String),
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    #[error("{0} flagged sentence(s) in the draft are not resolved: edit or remove them, or accept them with a reason")]
    UnresolvedFlags(usize),
    /// The note says nothing and the clinician did not confirm that it is
    /// meant to be empty.
    #[error("the note has no content: every section is empty or only says \"Not discussed.\" (or \"None.\"). Add what the visit covered; or, if the note is meant to be empty, confirm that explicitly: in the CLI with `tacet review <session> --attest --confirm-empty`, in the app by ticking \"{}\"", tacet_core::review::CONFIRM_EMPTY_STATEMENT)]
    EmptyNoteNotConfirmed,
    #[error("no {0} engine is loaded")]
    NoEngine(&'static str),
    #[error("the audio is empty: nothing to transcribe")]
    EmptyAudio,
    #[error("could not write the exported note: {0}")]
    ExportWrite(String),
    #[error("{0} already exists: choose a new file (an export never overwrites one)")]
    ExportExists(String),
    #[error(transparent)]
    Render(#[from] tacet_export::ExportError),
}

impl AppError {
    /// True when the error is the review gate saying no.
    pub fn is_review_required(&self) -> bool {
        matches!(
            self,
            AppError::Store(StoreError::Gate(GateError::NotAttested))
                | AppError::Store(StoreError::Gate(GateError::TextChanged))
        )
    }
}

/// A session started from recorded audio and its transcript.
pub struct Started {
    pub session: SessionId,
    pub transcript: Transcript,
}

/// A note read back: the attested text, or the draft rendered while it is
/// not attested yet.
pub struct Note {
    pub text: String,
    pub attested: bool,
}

/// The clinician's attestation of a note: `text` is the draft as shown or
/// their edit. Every grounding flag on a sentence still present in `text`
/// must be resolved: edited or removed (it is then absent from `text`), or
/// accepted with a reason in `accept_flags`. A note with no content
/// ([`tacet_core::review::is_empty_note`]) is attested only with
/// `confirm_empty`, and the confirmation is audited.
pub struct Attestation {
    pub text: String,
    pub accept_flags: Option<String>,
    pub confirm_empty: bool,
}

/// The engines a session needs; the store is passed per call because it is
/// unlocked per user.
pub struct Engines<'e> {
    pub transcriber: Option<&'e mut dyn Transcriber>,
    pub drafter: Option<&'e mut dyn Drafter>,
    pub clock: &'e dyn Clock,
    pub templates: &'e TemplateLibrary,
}

/// The one session API, shared by every front end: an unlocked store and
/// the engines, with a typed method for each use case. Every rule of a
/// session's way (consent before recording, review before export,
/// destruction after export, what is audited) is enforced here once.
pub struct App<'a, 'e> {
    store: &'a mut dyn SessionStore,
    engines: &'a mut Engines<'e>,
}

impl<'a, 'e> App<'a, 'e> {
    pub fn new(store: &'a mut dyn SessionStore, engines: &'a mut Engines<'e>) -> Self {
        App { store, engines }
    }

    /// Starts a session from recorded audio (16 kHz mono) and transcribes it.
    pub fn start_from_audio(
        &mut self,
        template_id: &str,
        patient: &PatientRef,
        samples_16k: &[f32],
    ) -> Result<Started, AppError> {
        if self.engines.templates.get(template_id).is_none() {
            return Err(AppError::UnknownTemplate(template_id.to_string()));
        }
        if samples_16k.is_empty() {
            return Err(AppError::EmptyAudio);
        }
        let session = self.store.create_session(template_id, patient)?;
        self.store.append_audio(session, samples_16k, true)?;
        let transcriber = self
            .engines
            .transcriber
            .as_deref_mut()
            .ok_or(AppError::NoEngine("transcription"))?;
        let transcript = transcriber
            .transcribe(samples_16k)
            .map_err(|e| AppError::Transcription(e.0))?;
        self.store.put_transcript(session, &transcript)?;
        Ok(Started {
            session,
            transcript,
        })
    }

    /// Drafts the session's note and stores the draft. `progress` hears the
    /// drafter; `cancel` stops it.
    pub fn draft(
        &mut self,
        session: SessionId,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, AppError> {
        let (template, transcript, drafter) = draft_inputs(self.store, self.engines, session)?;
        let draft = drafter
            .draft(&transcript, template, progress, cancel)
            .map_err(|e| AppError::Drafting(e.0))?;
        self.store.put_draft(session, &draft)?;
        Ok(draft)
    }

    /// Reads the session's transcript into the drafter ahead of its draft
    /// (while the clinician reads the transcript), so that the draft starts
    /// writing at once. `cancel` stops it between chunks of the prompt and
    /// what was read is kept; nothing is stored.
    pub fn prewarm(&mut self, session: SessionId, cancel: &AtomicBool) -> Result<(), AppError> {
        let (template, transcript, drafter) = draft_inputs(self.store, self.engines, session)?;
        drafter
            .prewarm(&transcript, template, cancel)
            .map_err(|e| AppError::Drafting(e.0))
    }

    /// The note as it stands, audited as a view.
    pub fn show_note(&mut self, session: SessionId) -> Result<Note, AppError> {
        let (text, attested) = match self.store.attested(session) {
            Ok(n) => (n.text().to_string(), true),
            Err(StoreError::Gate(GateError::NotAttested)) => {
                (self.store.draft(session)?.render_text(), false)
            }
            Err(e) => return Err(e.into()),
        };
        let actor = self.store.actor().clone();
        self.store.record(
            AuditEvent::new(AuditAction::NoteViewed, actor)
                .session(session)
                .content(text.as_bytes()),
        )?;
        Ok(Note { text, attested })
    }

    /// Attests the note (see [`Attestation`]); returns the SHA-256 of the
    /// attested text in hex.
    pub fn attest(
        &mut self,
        session: SessionId,
        attestation: Attestation,
    ) -> Result<String, AppError> {
        let Attestation {
            text,
            accept_flags,
            confirm_empty,
        } = attestation;
        let store = &mut *self.store;
        // There must be a draft to review: attestation is of a draft.
        let draft = store.draft(session)?;
        let transcript = store.transcript(session)?;
        let grounding = tacet_ground::ground(&draft, &transcript);
        let open = open_flags_after_edits(&grounding, &text, &draft, &transcript);
        let accepted = match (open, accept_flags.as_deref().map(str::trim)) {
            (0, _) => 0,
            (n, Some(reason)) if tacet_core::review::is_acceptance_reason(reason) => n,
            (n, _) => return Err(AppError::UnresolvedFlags(n)),
        };
        // A note that says nothing is never attested silently. (A blank
        // text is refused by the gate itself, confirmed or not.)
        let empty = !text.trim().is_empty() && tacet_core::review::is_empty_note(&text);
        if empty && !confirm_empty {
            return Err(AppError::EmptyNoteNotConfirmed);
        }
        let reviewer = store.actor().user.clone();
        let note = AttestedNote::attest(session, text, reviewer, self.engines.clock.now_unix_ms())
            .map_err(StoreError::from)?;
        store.put_attested(&note)?;
        if accepted > 0 {
            // The count is audited; the reason stays with the clinician
            // (it may name the patient, so it is not logged).
            let actor = store.actor().clone();
            store.record(
                AuditEvent::new(AuditAction::ReviewAttested, actor)
                    .session(session)
                    .object("flags-accepted")
                    .content_hash(note.attestation().note_sha256)
                    .detail(Detail::Count(accepted as u64)),
            )?;
        }
        if empty {
            let actor = store.actor().clone();
            let sections = tacet_core::review::section_count(note.text()) as u64;
            store.record(AuditEvent::empty_note_confirmed(
                actor,
                session,
                note.attestation().note_sha256,
                sections,
            ))?;
        }
        Ok(hex::encode(note.attestation().note_sha256))
    }

    /// The draft's grounding: evidence links and flags per sentence.
    pub fn grounding(&mut self, session: SessionId) -> Result<tacet_ground::Grounding, AppError> {
        let draft = self.store.draft(session)?;
        let transcript = self.store.transcript(session)?;
        Ok(tacet_ground::ground(&draft, &transcript))
    }

    /// The sessions this account may open.
    pub fn list_sessions(&mut self) -> Result<Vec<SessionSummary>, AppError> {
        Ok(self.store.list_sessions()?)
    }

    /// The patient's answer to the consent script, audited before anything
    /// is recorded (outcome success for yes, denied for no). A session is
    /// created only with audio, so the event names the template, not a
    /// session. Returns the audit record's sequence number.
    pub fn record_consent(&mut self, template_id: &str, given: bool) -> Result<u64, AppError> {
        if self.engines.templates.get(template_id).is_none() {
            return Err(AppError::UnknownTemplate(template_id.to_string()));
        }
        let actor = self.store.actor().clone();
        let outcome = if given {
            AuditOutcome::Success
        } else {
            AuditOutcome::Denied
        };
        Ok(self.store.record(
            AuditEvent::new(AuditAction::ConsentRecorded, actor)
                .outcome(outcome)
                .detail(Detail::TemplateId(template_id.to_string())),
        )?)
    }

    /// Verifies the audit log, against checkpoints kept outside it too.
    pub fn verify_audit(
        &mut self,
        external_checkpoints: &[String],
    ) -> Result<AuditVerification, AppError> {
        Ok(self.store.verify_audit(external_checkpoints)?)
    }

    /// The deletion log, audited as a view.
    pub fn deletions(&mut self) -> Result<Vec<DeletionEntry>, AppError> {
        let actor = self.store.actor().clone();
        let list = self.store.deletions()?;
        self.store.record(
            AuditEvent::new(AuditAction::AuditViewed, actor)
                .detail(Detail::Count(list.len() as u64)),
        )?;
        Ok(list)
    }

    /// A signed checkpoint of the audit log, audited as a view.
    pub fn checkpoint(&mut self) -> Result<String, AppError> {
        let checkpoint = self.store.checkpoint()?;
        let actor = self.store.actor().clone();
        self.store.record(
            AuditEvent::new(AuditAction::AuditViewed, actor)
                .object("audit:checkpoint")
                .content(checkpoint.as_bytes()),
        )?;
        Ok(checkpoint)
    }
}

/// What a draft (or a read-ahead) of `session` works from: the session's
/// template, its transcript, and the drafter.
fn draft_inputs<'a>(
    store: &mut dyn SessionStore,
    engines: &'a mut Engines<'_>,
    session: SessionId,
) -> Result<(&'a tacet_core::Template, Transcript, &'a mut dyn Drafter), AppError> {
    let summary = store.session(session)?;
    let template = engines
        .templates
        .get(&summary.template_id)
        .ok_or_else(|| AppError::UnknownTemplate(summary.template_id.clone()))?;
    let transcript = store.transcript(session)?;
    let drafter = engines
        .drafter
        .as_deref_mut()
        .ok_or(AppError::NoEngine("drafting"))?;
    Ok((template, transcript, drafter))
}

/// Flags on sentences that are still, word for word, in `text` (for the
/// draft's own text, every flag). A sentence the clinician edited or
/// removed no longer is; [`open_flags_after_edits`] is what attestation
/// counts.
pub fn open_flags(g: &tacet_ground::Grounding, text: &str) -> usize {
    tacet_core::review::open_flag_count(
        text,
        g.sentences.iter().map(|s| {
            let unresolved = s.flags.iter().filter(|f| f.resolution.is_none()).count();
            (s.text.as_str(), unresolved)
        }),
    )
}

/// The flags still open in the text being attested: a flagged sentence kept
/// (whatever invisible characters or spacing were put into it) keeps its
/// flags; a flagged sentence the clinician edited is grounded again as
/// edited, so a one-character change that leaves the wrong dose, side or
/// negation in place is still flagged, and a real correction clears it; a
/// flagged sentence removed has none.
pub fn open_flags_after_edits(
    g: &tacet_ground::Grounding,
    text: &str,
    draft: &tacet_core::Draft,
    transcript: &tacet_core::Transcript,
) -> usize {
    let attested = squash(text);
    let attested_sentences: Vec<String> = text
        .lines()
        .map(squash)
        .flat_map(|line| {
            line.split_inclusive(['.', '!', '?'])
                .map(|x| x.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|x| x.chars().any(char::is_alphanumeric))
        .collect();
    let mut open = 0;
    for s in &g.sentences {
        let unresolved = s.flags.iter().filter(|f| f.resolution.is_none()).count();
        if unresolved == 0 {
            continue;
        }
        let flagged = squash(&s.text);
        if attested.contains(&flagged) {
            open += unresolved;
            continue;
        }
        // An edit of it: a sentence sharing at least half its words.
        let Some(edited) = attested_sentences
            .iter()
            .filter(|a| word_overlap(a, &flagged) >= 0.5)
            .max_by(|a, b| word_overlap(a, &flagged).total_cmp(&word_overlap(b, &flagged)))
        else {
            continue;
        };
        let mut provenance = draft.provenance.clone();
        provenance.sentences.clear();
        provenance.section_inputs.clear();
        let one = tacet_core::Draft {
            sections: vec![tacet_core::DraftSection {
                heading: s.section.clone(),
                text: edited.clone(),
            }],
            provenance,
        };
        open += tacet_ground::ground(&one, transcript).unresolved_flag_count();
    }
    open
}

/// Whitespace squashed and invisible format characters (zero-width spaces
/// and joiners, direction marks, soft hyphens, the BOM) removed: what a
/// reader sees.
fn squash(s: &str) -> String {
    tacet_core::review::visible_text(s)
}

/// The share of `b`'s words (lower case, letters and digits) that `a` has.
fn word_overlap(a: &str, b: &str) -> f64 {
    let words = |s: &str| -> std::collections::BTreeSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (wa, wb) = (words(a), words(b));
    if wb.is_empty() {
        return 0.0;
    }
    wb.intersection(&wa).count() as f64 / wb.len() as f64
}
