//! Export of an attested note: plain text, one section, PDF, and a FHIR R4
//! DocumentReference (US Core). Pure: every function takes an
//! [`AttestedNote`] plus its [`ExportMeta`] and returns bytes or text; the
//! caller writes them (the CLI and the desktop worker create the file new,
//! owner-only) or copies them.
//!
//! The review gate is the type: nothing here accepts a `&str` note. An
//! [`AttestedNote`] is made only by a clinician's attestation (or a stored
//! one whose hash still matches), so every format renders exactly the
//! attested text:
//! - text: the attested text, byte for byte, then the audit checkpoint
//!   (the file layout the CLI has always written, see [`render_text`]);
//! - a section: a verbatim slice of the attested text ([`section_text`]);
//! - FHIR: the attested text is the attachment's `data`, byte for byte,
//!   with its SHA-1 as FHIR defines `Attachment.hash`;
//! - PDF: the attested text laid out line by line; the standard PDF font
//!   has no glyphs outside WinAnsi (Latin-1), so those characters are
//!   transliterated or shown as `?`, and the page says how many were
//!   (see [`pdf`]). The PDF is for reading and printing; the text and FHIR
//!   exports are the exact record.
//!
//! What each format carries besides the note: all carry the audit
//! checkpoint that records the export (`tacet audit verify` checks the log
//! against it). Only FHIR carries the patient reference: a
//! DocumentReference must name its subject, while a text or PDF file is
//! filed into a chart the clinician has already opened, and a file that
//! does not name the patient is less harmful when it goes astray.

pub mod fhir;
pub mod markdown;
pub mod pdf;

use tacet_core::draft::render_sections;
use tacet_core::template::DocumentCode;
use tacet_core::{AttestedNote, Template};

pub use fhir::render_fhir;
pub use markdown::render_markdown;
pub use tacet_core::time::{format_instant, format_utc_minutes};

/// The line between the note and the checkpoint in a text export (and
/// what `tacet audit verify` looks for to find the checkpoint in one).
pub const CHECKPOINT_INTRO: &str = "\n-----\nTacet audit checkpoint at export (keep it with the note; `tacet audit verify` checks the log against it):\n";

/// The formats a note can be saved in: the core's one list, which the
/// front ends read too.
pub use tacet_core::ExportFormat as Format;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("no audit checkpoint was given: an export must carry the checkpoint that records it")]
    NoCheckpoint,
    #[error("the session has no patient reference, and a FHIR DocumentReference must name its subject: export as text or PDF instead")]
    NoPatientReference,
    #[error("the note has no section {0:?}")]
    NoSuchSection(String),
    #[error("the FHIR resource could not be encoded: {0}")]
    Json(String),
}

/// What an export says about the note besides its text. The session, the
/// reviewer and the time of attestation come from the [`AttestedNote`]
/// itself, so they cannot disagree with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportMeta {
    pub template_id: String,
    /// `None` when the session's template is no longer installed.
    pub template_version: Option<u32>,
    /// The template's name ("SOAP note"): the PDF's title.
    pub template_name: String,
    /// The note's LOINC document type (FHIR `type`).
    pub document_code: DocumentCode,
    /// The template's section headings, in order: they find the sections
    /// in the attested text. Empty: any line `UPPER CASE:` is a heading.
    pub headings: Vec<String>,
    /// The signed audit checkpoint (C2SP signed-note text) that includes
    /// this export's own audit record.
    pub checkpoint: String,
}

impl ExportMeta {
    pub fn new(template: &Template, checkpoint: impl Into<String>) -> Self {
        Self {
            template_id: template.id.clone(),
            template_version: Some(template.version),
            template_name: template.name.clone(),
            document_code: template.document_code(),
            headings: template.headings().map(str::to_string).collect(),
            checkpoint: checkpoint.into(),
        }
    }

    /// For a session whose template is no longer installed: the document
    /// type is the default (11506-3, progress note).
    pub fn without_template(template_id: impl Into<String>, checkpoint: impl Into<String>) -> Self {
        Self {
            template_id: template_id.into(),
            template_version: None,
            template_name: "Clinical note".into(),
            document_code: DocumentCode::new(tacet_core::template::DEFAULT_LOINC_CODE, None),
            headings: Vec::new(),
            checkpoint: checkpoint.into(),
        }
    }

    fn checked_checkpoint(&self) -> Result<&str, ExportError> {
        let c = self.checkpoint.trim();
        if c.is_empty() {
            Err(ExportError::NoCheckpoint)
        } else {
            Ok(&self.checkpoint)
        }
    }
}

/// The note file: the attested text exactly, then the audit checkpoint
/// that witnesses the export. The layout the CLI has always written.
pub fn render_text(note: &AttestedNote, meta: &ExportMeta) -> Result<String, ExportError> {
    let checkpoint = meta.checked_checkpoint()?;
    Ok(format!("{}{CHECKPOINT_INTRO}{checkpoint}", note.text()))
}

/// One section of the note, as found in the attested text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteSection<'a> {
    pub heading: &'a str,
    /// The heading line and the section's text, a verbatim slice of the
    /// attested text with trailing blank lines left off.
    pub text: &'a str,
}

/// The note's sections, in order. A heading is a line that is exactly
/// `HEADING:` for one of the template's headings (or, without a template,
/// any upper-case line ending in `:`); text before the first heading
/// belongs to no section.
pub fn sections<'a>(note: &'a AttestedNote, meta: &ExportMeta) -> Vec<NoteSection<'a>> {
    let text = note.text();
    let mut starts: Vec<(usize, &'a str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if let Some(heading) = bare.strip_suffix(':') {
            if is_heading(heading, &meta.headings) {
                starts.push((offset, heading));
            }
        }
        offset += line.len();
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &(start, heading)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |&(s, _)| s);
        let body = &text[start..end];
        // Keep the heading line and the text, and one newline after it.
        let trimmed = body.trim_end();
        let keep = (trimmed.len() + 1).min(body.len());
        out.push(NoteSection {
            heading,
            text: &body[..keep],
        });
    }
    out
}

fn is_heading(candidate: &str, headings: &[String]) -> bool {
    if headings.is_empty() {
        let c = candidate.trim();
        !c.is_empty()
            && c == candidate
            && c.chars().any(char::is_alphabetic)
            && c == c.to_uppercase()
            && !c.contains(':')
            && c.len() <= 80
    } else {
        headings.iter().any(|h| h == candidate)
    }
}

/// One section as plain text with its stable heading (`HEADING:` then its
/// text), for pasting into one EHR field.
pub fn section_text<'a>(
    note: &'a AttestedNote,
    meta: &ExportMeta,
    heading: &str,
) -> Result<&'a str, ExportError> {
    sections(note, meta)
        .into_iter()
        .find(|s| s.heading == heading)
        .map(|s| s.text)
        .ok_or_else(|| ExportError::NoSuchSection(heading.to_string()))
}

/// Renders one section the way the review screen does (the canonical
/// layout of [`render_sections`]); equal to [`section_text`] for a note
/// in that layout.
pub fn canonical_section(heading: &str, body: &str) -> String {
    render_sections(std::iter::once((heading, body)))
}

/// The note as a PDF: the template's name, the attested text (headings in
/// bold), then who attested it and when, the note's SHA-256, and the audit
/// checkpoint in small print.
pub fn render_pdf(note: &AttestedNote, meta: &ExportMeta) -> Result<Vec<u8>, ExportError> {
    Ok(pdf::render(&meta.template_name, &pdf_lines(note, meta)?))
}

/// The lines [`render_pdf`] lays out (before wrapping).
pub fn pdf_lines(note: &AttestedNote, meta: &ExportMeta) -> Result<Vec<pdf::Line>, ExportError> {
    use pdf::{Line, Style};
    let checkpoint = meta.checked_checkpoint()?;
    let a = note.attestation();
    let mut lines = vec![
        Line::new(Style::Heading, meta.template_name.clone()),
        Line::new(Style::Body, ""),
    ];
    for line in note.text().lines() {
        let heading = line
            .trim_end()
            .strip_suffix(':')
            .is_some_and(|h| is_heading(h, &meta.headings));
        lines.push(Line::new(
            if heading { Style::Heading } else { Style::Body },
            line,
        ));
    }
    lines.push(Line::new(Style::Body, ""));
    lines.push(Line::new(Style::Small, "-----"));
    lines.push(Line::new(
        Style::Small,
        format!(
            "Attested by {} at {}: \"{}\"",
            a.reviewer,
            format_utc_minutes(a.attested_at_unix_ms),
            a.statement
        ),
    ));
    lines.push(Line::new(
        Style::Small,
        format!("Note SHA-256 {}", hex(&a.note_sha256)),
    ));
    let version = meta
        .template_version
        .map_or(String::new(), |v| format!(" v{v}"));
    lines.push(Line::new(
        Style::Small,
        format!(
            "Tacet session {}, template {}{version}",
            a.session, meta.template_id
        ),
    ));
    let replaced = pdf::unsupported_chars(note.text());
    if replaced > 0 {
        lines.push(Line::new(
            Style::Small,
            format!(
                "{replaced} character(s) of the note are outside this PDF's font and are shown as '?'; the text and FHIR exports carry them exactly."
            ),
        ));
    }
    lines.push(Line::new(
        Style::Small,
        "Tacet audit checkpoint at export (`tacet audit verify` checks the log against it):",
    ));
    for l in checkpoint.lines() {
        lines.push(Line::new(Style::Small, l));
    }
    Ok(lines)
}

/// Renders the note in `format`. `patient` is used by FHIR only.
pub fn render(
    format: Format,
    note: &AttestedNote,
    meta: &ExportMeta,
    patient: Option<&tacet_core::PatientRef>,
) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Text => render_text(note, meta).map(String::into_bytes),
        Format::Pdf => render_pdf(note, meta),
        Format::Fhir => render_fhir(note, meta, patient.ok_or(ExportError::NoPatientReference)?),
        Format::Markdown => render_markdown(note, meta).map(String::into_bytes),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
