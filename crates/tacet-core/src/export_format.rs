//! The formats an attested note can be saved in: one list, read by every
//! layer that names a format — the renderers (tacet-export), the session
//! API's export (tacet-app), the CLI's `--format` and the desktop's save
//! buttons (tacet-ui) — so a new format is a variant here and a renderer
//! there, and no front end changes.

/// A format an attested note is saved in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    Text,
    Pdf,
    Fhir,
    Markdown,
}

impl ExportFormat {
    /// Every format, in the order a person is offered them.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Text,
        ExportFormat::Pdf,
        ExportFormat::Fhir,
        ExportFormat::Markdown,
    ];

    /// The word the audit log records (`Detail::Format`) and `--format`
    /// takes.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Text => "text",
            ExportFormat::Pdf => "pdf",
            ExportFormat::Fhir => "fhir",
            ExportFormat::Markdown => "markdown",
        }
    }

    /// The format named `s` (as [`ExportFormat::name`] writes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Text => "txt",
            ExportFormat::Pdf => "pdf",
            ExportFormat::Fhir => "json",
            ExportFormat::Markdown => "md",
        }
    }

    /// The format as a person reads it in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Text => "text",
            ExportFormat::Pdf => "PDF",
            ExportFormat::Fhir => "FHIR DocumentReference",
            ExportFormat::Markdown => "Markdown",
        }
    }

    /// The format on a button ("Save as …").
    pub fn short_label(self) -> &'static str {
        match self {
            ExportFormat::Fhir => "FHIR",
            f => f.label(),
        }
    }

    /// What a file in this format holds, in one sentence for the person
    /// choosing.
    pub fn description(self) -> &'static str {
        match self {
            ExportFormat::Text => "the note with its headings and the audit checkpoint",
            ExportFormat::Pdf => "the same, for printing",
            ExportFormat::Fhir => "an R4 DocumentReference for the EHR",
            ExportFormat::Markdown => {
                "headings and text for systems and editors that take Markdown, with the checkpoint"
            }
        }
    }

    /// Bytes a terminal should not be sent (the CLI asks for `--out`).
    pub fn is_binary(self) -> bool {
        matches!(self, ExportFormat::Pdf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_parses_from_its_name_and_has_words_for_people() {
        for f in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(f.name()), Some(f));
            assert!(!f.extension().is_empty() && !f.description().is_empty());
            assert!(f.label().starts_with(f.short_label()));
        }
        assert_eq!(ExportFormat::parse("docx"), None);
    }
}
