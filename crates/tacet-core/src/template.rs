//! Note templates are data: a TOML file names the note's sections and says
//! what belongs in each. The built-in set lives in `assets/templates/`;
//! a practice adds its own by writing another file of the same shape.
//!
//! ```toml
//! id = "soap"
//! version = 1
//! name = "SOAP note"
//! loinc = { code = "11506-3", display = "Progress note" }
//!
//! [[sections]]
//! heading = "SUBJECTIVE"
//! guidance = "The patient's own account: complaint, history, symptoms."
//! ```
//!
//! `loinc` is the note's LOINC document type, used when the note is
//! exported as a FHIR DocumentReference (`type`). It is optional and may be
//! a bare code (`loinc = "34117-2"`, the display then comes from the few
//! codes Tacet knows, see [`DocumentCode::display`]) or a table with the
//! display the EHR shows. The code's check digit is verified, so a typo is
//! a template error rather than a wrong document type in the chart. A
//! template without one exports as 11506-3, progress note.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSection {
    /// Stable heading, upper case, as EHR fields expect it.
    pub heading: String,
    /// What belongs in the section, in a sentence or two (shown to the model
    /// and to the reviewer).
    pub guidance: String,
    /// The kinds of visit fact the composed note puts here, in order (see
    /// [`FACT_KINDS`]). A template that names none has them chosen from its
    /// heading and guidance by the composer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub draws: Vec<String>,
}

/// The kinds of visit fact a section may draw, with what each holds.
pub const FACT_KINDS: &[(&str, &str)] = &[
    ("complaint", "the reason for the visit, in a few words"),
    ("history", "the patient's account of the problem: symptoms with onset, duration, course and what changes them"),
    ("past-history", "past conditions, surgeries and social history as stated"),
    ("symptoms-reviewed", "symptoms asked about, reported or denied"),
    ("medications", "medications with dose, frequency and what is being done with them"),
    ("allergies", "allergies with the reaction"),
    ("vitals", "vital signs and measurements with units"),
    ("exam", "examination findings as stated"),
    ("results", "test, laboratory and imaging results"),
    ("assessment", "the clinician's impression or diagnosis as said"),
    ("plan", "treatment, prescriptions, tests, referrals and advice"),
    ("follow-up", "when the patient is seen again"),
    ("client-report", "what the client reports: mood, events, concerns"),
    ("observations", "the clinician's observations of behaviour and affect"),
    ("interventions", "what the clinician did in the session"),
    ("response", "how the client responded"),
    ("goals", "the goals the session worked on"),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// LOINC document code for FHIR export (11506-3, progress note, when the
    /// template names none: see [`Template::document_code`]).
    #[serde(default)]
    pub loinc: Option<DocumentCode>,
    pub sections: Vec<TemplateSection>,
}

/// The LOINC code used when a template names none: 11506-3, progress note.
pub const DEFAULT_LOINC_CODE: &str = "11506-3";

/// A LOINC document type: the code and the display the EHR shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawDocumentCode")]
pub struct DocumentCode {
    pub code: String,
    /// `None` for a bare code; [`DocumentCode::display`] then falls back to
    /// the displays Tacet knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// What a template file may write: `"11506-3"` or `{ code, display }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDocumentCode {
    Code(String),
    Full {
        code: String,
        #[serde(default)]
        display: Option<String>,
    },
}

impl From<RawDocumentCode> for DocumentCode {
    fn from(raw: RawDocumentCode) -> Self {
        match raw {
            RawDocumentCode::Code(code) => Self {
                code,
                display: None,
            },
            RawDocumentCode::Full { code, display } => Self { code, display },
        }
    }
}

impl DocumentCode {
    pub fn new(code: impl Into<String>, display: Option<String>) -> Self {
        Self {
            code: code.into(),
            display,
        }
    }

    /// The display: the template's own, else LOINC's name for the codes
    /// Tacet knows (progress note, history and physical, consult note,
    /// discharge summary, procedure note), else `None`.
    pub fn display(&self) -> Option<&str> {
        if let Some(d) = self.display.as_deref().filter(|d| !d.trim().is_empty()) {
            return Some(d);
        }
        match self.code.as_str() {
            "11506-3" => Some("Progress note"),
            "34117-2" => Some("History and physical note"),
            "11488-4" => Some("Consult note"),
            "18842-5" => Some("Discharge summary"),
            "28570-0" => Some("Procedure note"),
            _ => None,
        }
    }

    /// True when `code` has LOINC's shape (`NNNNN-C`) and its mod-10 check
    /// digit `C` is right.
    pub fn is_valid_code(code: &str) -> bool {
        let Some((number, check)) = code.split_once('-') else {
            return false;
        };
        let digits_ok = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits_ok(number, 7) || check.len() != 1 || !digits_ok(check, 1) {
            return false;
        }
        // Luhn over the number: from the right, every other digit (the
        // first, third, ...) is doubled and its digits summed.
        let sum: u32 = number
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 0 {
                    let twice = d * 2;
                    twice / 10 + twice % 10
                } else {
                    d
                }
            })
            .sum();
        let expected = (10 - sum % 10) % 10;
        u32::from(check.as_bytes()[0] - b'0') == expected
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not valid TOML: {0}")]
    Syntax(String),
    #[error("template id {0:?} must be lower-case letters, digits, '-' or '_'")]
    BadId(String),
    #[error("template {0:?} has no sections")]
    NoSections(String),
    #[error("template {id:?}: section heading {heading:?} must be non-empty upper-case text without ':'")]
    BadHeading { id: String, heading: String },
    #[error("template {id:?}: section {heading:?} appears twice")]
    DuplicateHeading { id: String, heading: String },
    #[error("template {id:?}: section {heading:?} draws {kind:?}, which is not a kind of fact (known: {known})")]
    UnknownFactKind {
        id: String,
        heading: String,
        kind: String,
        known: String,
    },
    #[error("template {id:?}: loinc {code:?} is not a LOINC code with a correct check digit (like \"11506-3\")")]
    BadLoinc { id: String, code: String },
}

impl Template {
    /// Parses and validates a template file's text.
    pub fn from_toml(text: &str) -> Result<Self, TemplateError> {
        let t: Template = toml::from_str(text).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    pub fn validate(&self) -> Result<(), TemplateError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(TemplateError::BadId(self.id.clone()));
        }
        if self.sections.is_empty() {
            return Err(TemplateError::NoSections(self.id.clone()));
        }
        if let Some(loinc) = &self.loinc {
            if !DocumentCode::is_valid_code(&loinc.code) {
                return Err(TemplateError::BadLoinc {
                    id: self.id.clone(),
                    code: loinc.code.clone(),
                });
            }
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.sections {
            let h = s.heading.trim();
            if h.is_empty() || h.contains(':') || h != h.to_uppercase() || h.len() > 80 {
                return Err(TemplateError::BadHeading {
                    id: self.id.clone(),
                    heading: s.heading.clone(),
                });
            }
            if let Some(kind) = s
                .draws
                .iter()
                .find(|k| !FACT_KINDS.iter().any(|(known, _)| known == k))
            {
                return Err(TemplateError::UnknownFactKind {
                    id: self.id.clone(),
                    heading: s.heading.clone(),
                    kind: kind.clone(),
                    known: FACT_KINDS
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            if !seen.insert(h.to_string()) {
                return Err(TemplateError::DuplicateHeading {
                    id: self.id.clone(),
                    heading: s.heading.clone(),
                });
            }
        }
        Ok(())
    }

    pub fn headings(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.heading.as_str())
    }

    /// The note's LOINC document type: the template's own, else 11506-3
    /// (progress note).
    pub fn document_code(&self) -> DocumentCode {
        self.loinc
            .clone()
            .unwrap_or_else(|| DocumentCode::new(DEFAULT_LOINC_CODE, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOAP: &str = r#"
id = "soap"
version = 1
name = "SOAP note"
[[sections]]
heading = "SUBJECTIVE"
guidance = "What the patient reports."
[[sections]]
heading = "PLAN"
guidance = "What happens next."
"#;

    #[test]
    fn parses_a_template() {
        let t = Template::from_toml(SOAP).unwrap();
        assert_eq!(t.headings().collect::<Vec<_>>(), ["SUBJECTIVE", "PLAN"]);
    }

    #[test]
    fn fail_lower_case_heading() {
        let bad = SOAP.replace("\"PLAN\"", "\"plan\"");
        assert!(matches!(
            Template::from_toml(&bad),
            Err(TemplateError::BadHeading { .. })
        ));
    }

    #[test]
    fn fail_duplicate_heading() {
        let bad = SOAP.replace("\"PLAN\"", "\"SUBJECTIVE\"");
        assert!(matches!(
            Template::from_toml(&bad),
            Err(TemplateError::DuplicateHeading { .. })
        ));
    }

    #[test]
    fn fail_no_sections() {
        let bad = "id = \"x\"\nversion = 1\nname = \"x\"\nsections = []\n";
        assert!(matches!(
            Template::from_toml(bad),
            Err(TemplateError::NoSections(_))
        ));
    }

    #[test]
    fn loinc_is_a_bare_code_or_a_table() {
        let t = Template::from_toml(&SOAP.replace(
            "name = \"SOAP note\"",
            "name = \"SOAP note\"\nloinc = \"34117-2\"",
        ))
        .unwrap();
        assert_eq!(t.document_code().code, "34117-2");
        assert_eq!(
            t.document_code().display(),
            Some("History and physical note")
        );
        let t = Template::from_toml(&SOAP.replace(
            "name = \"SOAP note\"",
            "name = \"SOAP note\"\nloinc = { code = \"11488-4\", display = \"Consultation note\" }",
        ))
        .unwrap();
        assert_eq!(t.document_code().display(), Some("Consultation note"));
        let t = Template::from_toml(SOAP).unwrap();
        assert_eq!(t.document_code().code, "11506-3");
        assert_eq!(t.document_code().display(), Some("Progress note"));
    }

    #[test]
    fn loinc_check_digits() {
        for ok in ["11506-3", "34117-2", "18842-5", "11488-4", "28570-0"] {
            assert!(DocumentCode::is_valid_code(ok), "{ok}");
        }
        for bad in [
            "11506-4",
            "11506",
            "-3",
            "1150a-3",
            "11506-33",
            "12345678-0",
            "",
        ] {
            assert!(!DocumentCode::is_valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn fail_bad_loinc_check_digit() {
        let bad = SOAP.replace(
            "name = \"SOAP note\"",
            "name = \"SOAP note\"\nloinc = \"11506-4\"",
        );
        assert!(matches!(
            Template::from_toml(&bad),
            Err(TemplateError::BadLoinc { .. })
        ));
    }

    #[test]
    fn the_built_in_templates_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/templates");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let t = Template::from_toml(&std::fs::read_to_string(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(t.document_code().display().is_some(), "{}", path.display());
                n += 1;
            }
        }
        assert!(n >= 7);
    }

    #[test]
    fn fail_bad_id() {
        let bad = SOAP.replace("\"soap\"", "\"../etc\"");
        assert!(matches!(
            Template::from_toml(&bad),
            Err(TemplateError::BadId(_))
        ));
    }
}
