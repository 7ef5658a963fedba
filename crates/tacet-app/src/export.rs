//! Export: the attested note rendered in the chosen format and handed to
//! the chosen place, once, by the application layer. The front ends say
//! where ([`ExportTo`]) and in what ([`ExportFormat`]); the bytes reach the
//! disk or standard output through the [`NoteOutput`] port, which the
//! runtime implements (files created new, owner-only) and tests fake.

use std::path::Path;

use tacet_core::audit::Detail;
use tacet_core::ports::{DeletionReceipt, SessionStore};
use tacet_core::SessionId;
use tacet_core::{AttestedNote, AuditAction, AuditEvent, Outcome as AuditOutcome, PatientRef};
pub use tacet_export::Format as ExportFormat;
use tacet_export::{ExportError, ExportMeta};

use crate::{App, AppError, TemplateLibrary};

/// Where an exported note goes.
#[derive(Clone, Copy, Debug)]
pub enum ExportTo<'p> {
    /// Standard output: a text export is the attested note alone (the
    /// front end shows the checkpoint apart); PDF and FHIR as rendered.
    Stdout,
    /// The clipboard: the front end copies the attested text it shows
    /// (the note, or a section of it); nothing is rendered here.
    Clipboard,
    /// A new file, never overwriting one, readable by its owner only: the
    /// rendered note, which carries the audit checkpoint of its export.
    File(&'p Path),
}

impl ExportTo<'_> {
    /// The word the audit log records for this export.
    pub fn audit_name(self, format: ExportFormat) -> &'static str {
        match (self, format) {
            (ExportTo::Clipboard, _) => "clipboard",
            (ExportTo::Stdout, ExportFormat::Text) => "stdout",
            (_, f) => f.name(),
        }
    }
}

/// The port an export's bytes leave through. The runtime's implementation
/// writes files (new, 0600, synced) and standard output.
pub trait NoteOutput {
    /// Whether `path` exists already: an export never overwrites.
    fn exists(&self, path: &Path) -> bool;
    /// Creates `path` new, readable by its owner only, holding `bytes`.
    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()>;
    /// Writes `bytes` to standard output.
    fn stdout(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

/// An exported note kept in memory (never on disk) by a front end that
/// offers saving the same note again after its session was destroyed:
/// what the renderers need besides a checkpoint, and the receipt of the
/// destruction.
pub struct KeptNote {
    note: AttestedNote,
    template_id: String,
    patient: Option<PatientRef>,
    receipt: DeletionReceipt,
}

impl KeptNote {
    pub fn session(&self) -> SessionId {
        self.note.session()
    }
    /// The note exactly as attested.
    pub fn text(&self) -> &str {
        self.note.text()
    }
    /// The receipt of the session's destruction after its first export.
    pub fn receipt(&self) -> &DeletionReceipt {
        &self.receipt
    }
}

/// What an export left: the checkpoint the note carries (it includes the
/// export's own record), and the note with the receipt of the session's
/// destruction ([`KeptNote::receipt`]), for a front end that keeps it to
/// save again.
pub struct Exported {
    pub checkpoint: String,
    pub kept: KeptNote,
}

/// What the renderers need besides the checkpoint, read before anything
/// is recorded.
struct Prepared {
    note: AttestedNote,
    template_id: String,
    patient: Option<PatientRef>,
}

impl Prepared {
    fn render(
        &self,
        format: ExportFormat,
        checkpoint: &str,
        templates: &TemplateLibrary,
    ) -> Result<Vec<u8>, ExportError> {
        let meta = match templates.get(&self.template_id) {
            Some(t) => ExportMeta::new(t, checkpoint),
            None => ExportMeta::without_template(self.template_id.as_str(), checkpoint),
        };
        tacet_export::render(format, &self.note, &meta, self.patient.as_ref())
    }

    /// Refuses, before anything is recorded, a note the format cannot
    /// render (a FHIR DocumentReference without a patient to name as its
    /// subject). The place is checked apart ([`check_place`]).
    fn check_renders(
        &self,
        format: ExportFormat,
        to: ExportTo<'_>,
        templates: &TemplateLibrary,
    ) -> Result<(), AppError> {
        if matches!(to, ExportTo::Clipboard) {
            return Ok(());
        }
        self.render(format, "(checkpoint)", templates)?;
        Ok(())
    }

    /// Hands the rendered note to its place.
    fn deliver(
        &self,
        format: ExportFormat,
        to: ExportTo<'_>,
        checkpoint: &str,
        templates: &TemplateLibrary,
        out: &mut dyn NoteOutput,
    ) -> Result<(), AppError> {
        let written = match (to, format) {
            (ExportTo::Clipboard, _) => return Ok(()),
            (ExportTo::Stdout, ExportFormat::Text) => out.stdout(self.note.text().as_bytes()),
            (ExportTo::Stdout, f) => out.stdout(&self.render(f, checkpoint, templates)?),
            (ExportTo::File(path), f) => out
                .write_new(path, &self.render(f, checkpoint, templates)?)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        };
        written.map_err(|e| AppError::ExportWrite(e.to_string()))
    }
}

/// Refuses a file that exists: an export never overwrites one.
fn check_place(to: ExportTo<'_>, out: &dyn NoteOutput) -> Result<(), AppError> {
    match to {
        ExportTo::File(path) if out.exists(path) => {
            Err(AppError::ExportExists(path.display().to_string()))
        }
        _ => Ok(()),
    }
}

/// A patient reference that names someone (a blank one does not).
fn named(p: PatientRef) -> Option<PatientRef> {
    (!p.expose().trim().is_empty()).then_some(p)
}

impl App<'_, '_> {
    /// Exports the attested note of `session` in `format` to `to`, then
    /// destroys the session (or schedules it, in a grace period). Refused,
    /// and the refusal audited, without an attested, unchanged note;
    /// refused before anything is recorded when the place or the format
    /// cannot take the note. If the write fails the session stays, marked
    /// exported, and the export can be tried again.
    pub fn export(
        &mut self,
        session: SessionId,
        format: ExportFormat,
        to: ExportTo<'_>,
        out: &mut dyn NoteOutput,
    ) -> Result<Exported, AppError> {
        let audit_name = to.audit_name(format);
        check_place(to, out)?;
        let store: &mut dyn SessionStore = &mut *self.store;
        let note = match store.attested(session) {
            Ok(n) => n,
            Err(e) => {
                let actor = store.actor().clone();
                store.record(
                    AuditEvent::new(AuditAction::ExportRefused, actor)
                        .session(session)
                        .outcome(AuditOutcome::Denied)
                        .detail(Detail::Format(audit_name)),
                )?;
                return Err(e.into());
            }
        };
        let prepared = Prepared {
            note,
            template_id: store.session(session)?.template_id,
            patient: store.patient_ref(session).ok().and_then(named),
        };
        let templates = self.engines.templates;
        prepared.check_renders(format, to, templates)?;
        // The checkpoint the note carries is the one that includes its own
        // export record: written after mark_exported.
        let checkpoint = store.mark_exported(&prepared.note, audit_name)?;
        prepared.deliver(format, to, &checkpoint, templates, out)?;
        let receipt = store.destroy(session, "exported")?;
        Ok(Exported {
            checkpoint,
            kept: KeptNote {
                note: prepared.note,
                template_id: prepared.template_id,
                patient: prepared.patient,
                receipt,
            },
        })
    }

    /// Saves a note exported earlier again, from memory (its session may be
    /// destroyed): the export is audited as one more of the same note, and
    /// the note carries the checkpoint that includes that record.
    pub fn export_again(
        &mut self,
        kept: &KeptNote,
        format: ExportFormat,
        to: ExportTo<'_>,
        out: &mut dyn NoteOutput,
    ) -> Result<String, AppError> {
        let prepared = Prepared {
            note: kept.note.clone(),
            template_id: kept.template_id.clone(),
            patient: kept.patient.clone(),
        };
        let templates = self.engines.templates;
        check_place(to, out)?;
        prepared.check_renders(format, to, templates)?;
        let actor = self.store.actor().clone();
        self.store.record(
            AuditEvent::new(AuditAction::NoteExported, actor)
                .session(kept.session())
                .content_hash(kept.note.attestation().note_sha256)
                .detail(Detail::Format(to.audit_name(format))),
        )?;
        let checkpoint = self.store.checkpoint()?;
        prepared.deliver(format, to, &checkpoint, templates, out)?;
        Ok(checkpoint)
    }
}
