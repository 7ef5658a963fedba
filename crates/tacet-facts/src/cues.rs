//! The cue lists of `data/cues.toml`, read once.

use serde::Deserialize;
use std::sync::OnceLock;

/// The data file's text, compiled in (its SHA-256 names the rule set in a
/// composed draft's provenance).
pub const CUES_TOML: &str = include_str!("../data/cues.toml");

#[derive(Debug, Default, Deserialize)]
pub struct Roles {
    pub clinician: Vec<String>,
    pub patient: Vec<String>,
    pub answers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Polarity {
    pub negation: Vec<String>,
    pub yes: Vec<String>,
    pub no: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Statements {
    pub pleasantry: Vec<String>,
    pub exam_instruction: Vec<String>,
    pub exam: Vec<String>,
    pub results: Vec<String>,
    pub result_reported: Vec<String>,
    pub assessment: Vec<String>,
    pub plan: Vec<String>,
    pub follow_up: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Therapy {
    pub intervention: Vec<String>,
    pub observation: Vec<String>,
    pub goal: Vec<String>,
    pub response: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Cues {
    pub roles: Roles,
    pub polarity: Polarity,
    pub statements: Statements,
    pub therapy: Therapy,
}

/// The built-in cues. The file is compiled in and checked by a test, so
/// parsing cannot fail in a build that passed its tests; if it ever did,
/// empty lists stand in (the composer then reads less, it never panics).
pub fn cues() -> &'static Cues {
    static C: OnceLock<Cues> = OnceLock::new();
    C.get_or_init(|| toml::from_str(CUES_TOML).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cue_file_parses() {
        let c: super::Cues = toml::from_str(super::CUES_TOML).unwrap();
        assert!(c.roles.clinician.len() > 20);
        assert!(c.statements.plan.iter().all(|p| p == &p.to_lowercase()));
    }
}
