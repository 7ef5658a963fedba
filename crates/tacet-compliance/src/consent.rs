//! Consent texts: a written "AI technology" clause for the practice's
//! consent form and a short script the clinician reads aloud before
//! recording. Both are templates the practice can edit (files under
//! `assets/consent/`, or its own copies); the facts in them — where the
//! audio is processed, how long it is kept — are filled in from the
//! running system's settings, so the form never promises what the
//! installation does not do.

use std::collections::BTreeMap;

pub const AI_CLAUSE_TEMPLATE: &str = include_str!("../../../assets/consent/ai-clause.md");
pub const SPOKEN_SCRIPT_TEMPLATE: &str = include_str!("../../../assets/consent/spoken-script.md");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConsentError {
    #[error("the consent template uses {{{{{0}}}}}, which Tacet does not know")]
    UnknownField(String),
    #[error("the consent template has an unclosed {{{{")]
    Unclosed,
}

/// The values a consent template may use.
pub struct ConsentFacts {
    pub practice_name: String,
    pub retention_days: f64,
    pub grace_hours: f64,
}

impl ConsentFacts {
    fn fields(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        m.insert("practice", self.practice_name.clone());
        m.insert("retention_days", trim_num(self.retention_days));
        m.insert("grace_hours", trim_num(self.grace_hours));
        m.insert(
            "kept_after_export",
            if self.grace_hours <= 0.0 {
                "is deleted as soon as the note is in your record".to_string()
            } else {
                format!(
                    "is deleted within {} hours after the note is in your record",
                    trim_num(self.grace_hours)
                )
            },
        );
        m
    }
}

fn trim_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x:.1}")
    }
}

/// Fills `{{field}}` placeholders; an unknown field is an error, so a
/// practice's edit cannot silently print a blank where a fact belongs.
pub fn render(template: &str, facts: &ConsentFacts) -> Result<String, ConsentError> {
    let fields = facts.fields();
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after.find("}}").ok_or(ConsentError::Unclosed)?;
        let name = after[..j].trim();
        let v = fields
            .get(name)
            .ok_or_else(|| ConsentError::UnknownField(name.to_string()))?;
        out.push_str(v);
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ConsentFacts {
        ConsentFacts {
            practice_name: "Riverside Family Practice".into(),
            retention_days: 7.0,
            grace_hours: 0.0,
        }
    }

    #[test]
    fn built_in_texts_render_with_the_settings() {
        let clause = render(AI_CLAUSE_TEMPLATE, &facts()).unwrap();
        assert!(clause.contains("Riverside Family Practice") && clause.contains("7 days"));
        assert!(clause.contains("own computer") && !clause.contains("{{"));
        let script = render(SPOKEN_SCRIPT_TEMPLATE, &facts()).unwrap();
        // The patient is told, in so many words, that they may refuse and
        // that refusing changes nothing ("no" alone would match "note").
        assert!(script.contains("You can say no"), "{script}");
        assert!(
            script.contains("won't change\nyour care") || script.contains("won't change your care"),
            "{script}"
        );
        assert!(
            script.contains("7 days") && !script.contains("{{"),
            "{script}"
        );
    }

    #[test]
    fn fail_unknown_field() {
        assert_eq!(
            render("{{nope}}", &facts()),
            Err(ConsentError::UnknownField("nope".into()))
        );
    }

    #[test]
    fn fail_unclosed_field() {
        assert_eq!(render("{{practice", &facts()), Err(ConsentError::Unclosed));
    }
}
