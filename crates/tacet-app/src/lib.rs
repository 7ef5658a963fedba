//! The application layer: one place where a session's way is decided, shared
//! by the CLI and the desktop app.
//!
//! Front ends send a closed [`Command`] and get back an [`Outcome`] (or an
//! [`AppError`] in plain words). The layer speaks only the core's ports —
//! [`SessionStore`], [`Transcriber`], [`Drafter`], [`Clock`] — so it never
//! names SQLite, whisper or candle, and every rule it enforces (consent
//! before recording, review before export, destruction after export) is
//! testable with fakes.

pub mod read_ahead;
pub mod recording;
pub mod templates;

pub use templates::{TemplateLibrary, TemplateLibraryError};

use std::sync::atomic::AtomicBool;
use tacet_core::audit::Detail;
use tacet_core::ports::{
    AuditVerification, Clock, DeletionEntry, DeletionReceipt, DraftProgress, Drafter, SessionStore,
    SessionSummary, StoreError, Transcriber,
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

/// Everything a front end can ask for. Closed: a new capability is a new
/// variant, handled here once for every front end.
pub enum Command<'a> {
    /// Start a session from recorded audio (16 kHz mono), transcribe it.
    NewSessionFromAudio {
        template_id: String,
        patient: PatientRef,
        samples_16k: Vec<f32>,
    },
    Draft {
        session: SessionId,
    },
    /// Read the session's transcript into the drafter ahead of its draft
    /// (while the clinician reads the transcript), so that the draft starts
    /// writing at once. `cancel` stops it between chunks of the prompt and
    /// what was read is kept; nothing is stored.
    Prewarm {
        session: SessionId,
    },
    ShowNote {
        session: SessionId,
    },
    /// The clinician attests `text` (the draft as shown, or their edit).
    /// Every grounding flag on a sentence still present in `text` must be
    /// resolved: edited or removed (it is then absent from `text`), or
    /// accepted with a reason in `accept_flags`. A note with no content
    /// ([`tacet_core::review::is_empty_note`]) is attested only with
    /// `confirm_empty`, and the confirmation is audited.
    Attest {
        session: SessionId,
        text: String,
        accept_flags: Option<String>,
        confirm_empty: bool,
    },
    /// The draft's grounding: evidence links and flags per sentence.
    Grounding {
        session: SessionId,
    },
    /// Export the attested note through `write`, then destroy the session.
    Export {
        session: SessionId,
        format: &'static str,
        write: &'a mut dyn FnMut(&str, &str) -> std::io::Result<()>,
    },
    ListSessions,
    /// The patient's answer to the consent script, audited before anything
    /// is recorded (outcome success for yes, denied for no). A session is
    /// created only with audio, so the event names the template, not a
    /// session.
    RecordConsent {
        template_id: String,
        given: bool,
    },
    VerifyAudit {
        external_checkpoints: Vec<String>,
    },
    Deletions,
    Checkpoint,
}

/// What a command produced.
pub enum Outcome {
    SessionStarted {
        session: SessionId,
        transcript: Transcript,
    },
    Drafted {
        draft: Draft,
    },
    Prewarmed,
    Note {
        text: String,
        attested: bool,
    },
    Attested {
        note_sha256_hex: String,
    },
    Grounding(tacet_ground::Grounding),
    Exported {
        checkpoint: String,
        receipt: DeletionReceipt,
    },
    Sessions(Vec<SessionSummary>),
    Verification(AuditVerification),
    Deletions(Vec<DeletionEntry>),
    Checkpoint(String),
    ConsentRecorded {
        given: bool,
        audit_seq: u64,
    },
}

/// The engines a session needs; the store is passed per command because it
/// is unlocked per user.
pub struct Engines<'e> {
    pub transcriber: Option<&'e mut dyn Transcriber>,
    pub drafter: Option<&'e mut dyn Drafter>,
    pub clock: &'e dyn Clock,
    pub templates: &'e TemplateLibrary,
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

/// Runs one command. `progress` hears drafting tokens; `cancel` stops a draft.
pub fn execute(
    store: &mut dyn SessionStore,
    engines: &mut Engines<'_>,
    cmd: Command<'_>,
    progress: &mut dyn FnMut(DraftProgress<'_>),
    cancel: &AtomicBool,
) -> Result<Outcome, AppError> {
    match cmd {
        Command::NewSessionFromAudio {
            template_id,
            patient,
            samples_16k,
        } => {
            if engines.templates.get(&template_id).is_none() {
                return Err(AppError::UnknownTemplate(template_id));
            }
            if samples_16k.is_empty() {
                return Err(AppError::EmptyAudio);
            }
            let session = store.create_session(&template_id, &patient)?;
            store.append_audio(session, &samples_16k, true)?;
            let transcriber = engines
                .transcriber
                .as_deref_mut()
                .ok_or(AppError::NoEngine("transcription"))?;
            let transcript = transcriber
                .transcribe(&samples_16k)
                .map_err(|e| AppError::Transcription(e.0))?;
            store.put_transcript(session, &transcript)?;
            Ok(Outcome::SessionStarted {
                session,
                transcript,
            })
        }
        Command::Draft { session } => {
            let (template, transcript, drafter) = draft_inputs(store, engines, session)?;
            let draft = drafter
                .draft(&transcript, template, progress, cancel)
                .map_err(|e| AppError::Drafting(e.0))?;
            store.put_draft(session, &draft)?;
            Ok(Outcome::Drafted { draft })
        }
        Command::Prewarm { session } => {
            let (template, transcript, drafter) = draft_inputs(store, engines, session)?;
            drafter
                .prewarm(&transcript, template, cancel)
                .map_err(|e| AppError::Drafting(e.0))?;
            Ok(Outcome::Prewarmed)
        }
        Command::ShowNote { session } => {
            let (text, attested) = match store.attested(session) {
                Ok(n) => (n.text().to_string(), true),
                Err(StoreError::Gate(GateError::NotAttested)) => {
                    (store.draft(session)?.render_text(), false)
                }
                Err(e) => return Err(e.into()),
            };
            let actor = store.actor().clone();
            store.record(
                AuditEvent::new(AuditAction::NoteViewed, actor)
                    .session(session)
                    .content(text.as_bytes()),
            )?;
            Ok(Outcome::Note { text, attested })
        }
        Command::Attest {
            session,
            text,
            accept_flags,
            confirm_empty,
        } => {
            // There must be a draft to review: attestation is of a draft.
            let draft = store.draft(session)?;
            let transcript = store.transcript(session)?;
            let grounding = tacet_ground::ground(&draft, &transcript);
            let open = open_flags_after_edits(&grounding, &text, &draft, &transcript);
            let accepted = match (open, accept_flags.as_deref().map(str::trim)) {
                (0, _) => 0,
                (n, Some(reason)) if reason.chars().count() >= 3 => n,
                (n, _) => return Err(AppError::UnresolvedFlags(n)),
            };
            // A note that says nothing is never attested silently. (A blank
            // text is refused by the gate itself, confirmed or not.)
            let empty = !text.trim().is_empty() && tacet_core::review::is_empty_note(&text);
            if empty && !confirm_empty {
                return Err(AppError::EmptyNoteNotConfirmed);
            }
            let reviewer = store.actor().user.clone();
            let note = AttestedNote::attest(session, text, reviewer, engines.clock.now_unix_ms())
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
            Ok(Outcome::Attested {
                note_sha256_hex: hex_encode(&note.attestation().note_sha256),
            })
        }
        Command::Export {
            session,
            format,
            write,
        } => {
            let note = match store.attested(session) {
                Ok(n) => n,
                Err(e) => {
                    let actor = store.actor().clone();
                    store.record(
                        AuditEvent::new(AuditAction::ExportRefused, actor)
                            .session(session)
                            .outcome(AuditOutcome::Denied)
                            .detail(Detail::Format(format)),
                    )?;
                    return Err(e.into());
                }
            };
            // The checkpoint the note carries is the one that includes its
            // own export record: written after mark_exported.
            let checkpoint = store.mark_exported(&note, format)?;
            write(note.text(), &checkpoint).map_err(|e| AppError::ExportWrite(e.to_string()))?;
            let receipt = store.destroy(session, "exported")?;
            Ok(Outcome::Exported {
                checkpoint,
                receipt,
            })
        }
        Command::Grounding { session } => {
            let draft = store.draft(session)?;
            let transcript = store.transcript(session)?;
            Ok(Outcome::Grounding(tacet_ground::ground(
                &draft,
                &transcript,
            )))
        }
        Command::ListSessions => Ok(Outcome::Sessions(store.list_sessions()?)),
        Command::RecordConsent { template_id, given } => {
            if engines.templates.get(&template_id).is_none() {
                return Err(AppError::UnknownTemplate(template_id));
            }
            let actor = store.actor().clone();
            let outcome = if given {
                AuditOutcome::Success
            } else {
                AuditOutcome::Denied
            };
            let audit_seq = store.record(
                AuditEvent::new(AuditAction::ConsentRecorded, actor)
                    .outcome(outcome)
                    .detail(Detail::TemplateId(template_id)),
            )?;
            Ok(Outcome::ConsentRecorded { given, audit_seq })
        }
        Command::VerifyAudit {
            external_checkpoints,
        } => Ok(Outcome::Verification(
            store.verify_audit(&external_checkpoints)?,
        )),
        Command::Deletions => {
            let actor = store.actor().clone();
            let list = store.deletions()?;
            store.record(
                AuditEvent::new(AuditAction::AuditViewed, actor)
                    .detail(Detail::Count(list.len() as u64)),
            )?;
            Ok(Outcome::Deletions(list))
        }
        Command::Checkpoint => {
            let checkpoint = store.checkpoint()?;
            let actor = store.actor().clone();
            store.record(
                AuditEvent::new(AuditAction::AuditViewed, actor)
                    .object("audit:checkpoint")
                    .content(checkpoint.as_bytes()),
            )?;
            Ok(Outcome::Checkpoint(checkpoint))
        }
    }
}

/// Flags on sentences that are still, word for word, in `text` (for the
/// draft's own text, every flag). A sentence the clinician edited or
/// removed no longer is; [`open_flags_after_edits`] is what attestation
/// counts.
pub fn open_flags(g: &tacet_ground::Grounding, text: &str) -> usize {
    let attested = squash(text);
    g.sentences
        .iter()
        .filter(|s| !s.flags.is_empty() && attested.contains(&squash(&s.text)))
        .map(|s| s.flags.iter().filter(|f| f.resolution.is_none()).count())
        .sum()
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
    let visible: String = s
        .chars()
        .filter(|c| {
            !matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
        })
        .collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
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

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
