//! Note templates are data: a TOML file names the note's sections and says
//! what belongs in each. The built-in set lives in `assets/templates/`;
//! a practice adds its own by writing another file of the same shape.
//!
//! ```toml
//! id = "soap"
//! version = 1
//! name = "SOAP note"
//! loinc = "11506-3"
//!
//! [[sections]]
//! heading = "SUBJECTIVE"
//! guidance = "The patient's own account: complaint, history, symptoms."
//! ```

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSection {
    /// Stable heading, upper case, as EHR fields expect it.
    pub heading: String,
    /// What belongs in the section, in a sentence or two (shown to the model
    /// and to the reviewer).
    pub guidance: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// LOINC document code for FHIR export (11506-3, progress note, when the
    /// template names none).
    #[serde(default)]
    pub loinc: Option<String>,
    pub sections: Vec<TemplateSection>,
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
        let mut seen = std::collections::HashSet::new();
        for s in &self.sections {
            let h = s.heading.trim();
            if h.is_empty() || h.contains(':') || h != h.to_uppercase() || h.len() > 80 {
                return Err(TemplateError::BadHeading {
                    id: self.id.clone(),
                    heading: s.heading.clone(),
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
    fn fail_bad_id() {
        let bad = SOAP.replace("\"soap\"", "\"../etc\"");
        assert!(matches!(
            Template::from_toml(&bad),
            Err(TemplateError::BadId(_))
        ));
    }
}
