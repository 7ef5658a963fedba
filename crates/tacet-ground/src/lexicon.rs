//! Built-in word lists: medications (generic and brand), drug classes for
//! allergy conflicts, symptoms for the negation check, body parts, units and
//! plain words for clinical terms — read from `data/lexicon.toml`.
//!
//! Small and explicit by design. A list a reviewer can read is a list whose
//! misses can be found; the suffix rules (-cillin, -pril, -olol…) catch the
//! long tail of generics the list does not name.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The data file's text, compiled in.
pub const LEXICON_TOML: &str = include_str!("../data/lexicon.toml");

#[derive(Debug, Default, Deserialize)]
struct Drugs {
    names: Vec<String>,
    brands: HashMap<String, String>,
    suffixes: Vec<String>,
    not_drugs: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Classes {
    penicillins: Vec<String>,
    cephalosporins: Vec<String>,
    sulfonamides: Vec<String>,
    nsaids: Vec<String>,
    opioids: Vec<String>,
    macrolides: Vec<String>,
    fluoroquinolones: Vec<String>,
    tetracyclines: Vec<String>,
    latex: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Symptoms {
    groups: Vec<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct BodyParts {
    words: Vec<String>,
    stems: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Unit {
    unit: String,
    dose: bool,
    words: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Units {
    list: Vec<Unit>,
}

#[derive(Debug, Deserialize)]
struct PlainWord {
    note: String,
    said: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PlainWords {
    list: Vec<PlainWord>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    drugs: Drugs,
    classes: Classes,
    symptoms: Symptoms,
    body_parts: BodyParts,
    units: Units,
    plain_words: PlainWords,
}

/// The lists, indexed for lookup.
struct Lexicon {
    drugs: HashSet<String>,
    brands: HashMap<String, String>,
    suffixes: Vec<String>,
    not_drugs: HashSet<String>,
    classes: HashMap<String, DrugClass>,
    symptoms: Vec<Vec<String>>,
    body_parts: HashSet<String>,
    body_part_stems: Vec<String>,
    units: HashMap<String, (String, bool)>,
    plain_words: Vec<(String, Vec<String>)>,
}

impl Lexicon {
    fn from_file(f: File) -> Self {
        let c = f.classes;
        let mut classes = HashMap::new();
        for (class, words) in [
            (DrugClass::Penicillins, c.penicillins),
            (DrugClass::Cephalosporins, c.cephalosporins),
            (DrugClass::Sulfonamides, c.sulfonamides),
            (DrugClass::Nsaids, c.nsaids),
            (DrugClass::Opioids, c.opioids),
            (DrugClass::Macrolides, c.macrolides),
            (DrugClass::Fluoroquinolones, c.fluoroquinolones),
            (DrugClass::Tetracyclines, c.tetracyclines),
            (DrugClass::Latex, c.latex),
        ] {
            for w in words {
                classes.entry(w).or_insert(class);
            }
        }
        let mut units = HashMap::new();
        for u in f.units.list {
            for w in u.words {
                units.entry(w).or_insert((u.unit.clone(), u.dose));
            }
        }
        Lexicon {
            drugs: f.drugs.names.into_iter().collect(),
            brands: f.drugs.brands,
            suffixes: f.drugs.suffixes,
            not_drugs: f.drugs.not_drugs.into_iter().collect(),
            classes,
            symptoms: f.symptoms.groups,
            body_parts: f.body_parts.words.into_iter().collect(),
            body_part_stems: f.body_parts.stems,
            units,
            plain_words: f
                .plain_words
                .list
                .into_iter()
                .map(|p| (p.note, p.said))
                .collect(),
        }
    }
}

/// The built-in lexicon. The file is compiled in and checked by a test, so
/// parsing cannot fail in a build that passed its tests; if it ever did,
/// empty lists stand in (the checks then flag less, they never panic).
fn lexicon() -> &'static Lexicon {
    static L: OnceLock<Lexicon> = OnceLock::new();
    L.get_or_init(|| Lexicon::from_file(toml::from_str(LEXICON_TOML).unwrap_or_default()))
}

/// Drug classes for allergy conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DrugClass {
    Penicillins,
    Cephalosporins,
    Sulfonamides,
    Nsaids,
    Opioids,
    Macrolides,
    Fluoroquinolones,
    Tetracyclines,
    AceInhibitors,
    Statins,
    Latex,
}

impl DrugClass {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DrugClass::Penicillins => "penicillins",
            DrugClass::Cephalosporins => "cephalosporins",
            DrugClass::Sulfonamides => "sulfonamides",
            DrugClass::Nsaids => "NSAIDs",
            DrugClass::Opioids => "opioids",
            DrugClass::Macrolides => "macrolides",
            DrugClass::Fluoroquinolones => "fluoroquinolones",
            DrugClass::Tetracyclines => "tetracyclines",
            DrugClass::AceInhibitors => "ACE inhibitors",
            DrugClass::Statins => "statins",
            DrugClass::Latex => "latex",
        }
    }
}

/// The class of a (generic, lower-case) drug or allergen word: the lists
/// first, then the suffix rules.
pub(crate) fn class_of(word: &str) -> Option<DrugClass> {
    let g = generic(word);
    let w = g.as_str();
    use DrugClass::*;
    lexicon().classes.get(w).copied().or_else(|| {
        if w.ends_with("cillin") {
            Some(Penicillins)
        } else if w.starts_with("cef") || w.starts_with("ceph") {
            Some(Cephalosporins)
        } else if w.ends_with("floxacin") {
            Some(Fluoroquinolones)
        } else if w.ends_with("pril") && w != "april" {
            Some(AceInhibitors)
        } else if w.ends_with("statin") && w != "nystatin" {
            Some(Statins)
        } else {
            None
        }
    })
}

/// The generic name for a brand (or the word itself).
pub(crate) fn generic(word: &str) -> String {
    lexicon()
        .brands
        .get(word)
        .cloned()
        .unwrap_or_else(|| word.to_string())
}

/// Whether a lower-case word names a medication.
pub(crate) fn is_drug(word: &str) -> bool {
    let l = lexicon();
    if word.len() < 4 || l.not_drugs.contains(word) {
        return false;
    }
    if l.drugs.contains(word) {
        return true;
    }
    word.len() >= 6
        && l.suffixes
            .iter()
            .any(|s| word.ends_with(s.as_str()) && word != s)
}

/// Symptom groups for the negation check: each group is a list of phrases
/// (space-separated stems-to-be) that mean the same finding; the first is
/// its name.
pub(crate) fn symptoms() -> &'static [Vec<String>] {
    &lexicon().symptoms
}

/// Whether a lower-case word names a body part.
pub(crate) fn is_body_part(word: &str) -> bool {
    let l = lexicon();
    let w = word.strip_suffix('s').unwrap_or(word);
    l.body_parts.contains(word)
        || l.body_parts.contains(w)
        || l.body_part_stems
            .iter()
            .any(|p| word.starts_with(p.as_str()))
}

/// Canonical unit for a unit word, with whether it is a dose unit.
pub(crate) fn unit_of(word: &str) -> Option<(&'static str, bool)> {
    lexicon()
        .units
        .get(word)
        .map(|(u, dose)| (u.as_str(), *dose))
}

/// Plain-language alternatives for a (lower-case) note word.
pub(crate) fn plain_words(word: &str) -> &'static [String] {
    lexicon()
        .plain_words
        .iter()
        .find(|(k, _)| word.starts_with(k.as_str()))
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drugs_and_classes() {
        assert!(is_drug("amoxicillin"));
        assert!(is_drug("lisinopril"));
        assert!(is_drug("lasix"));
        assert!(!is_drug("april"));
        assert!(!is_drug("control"));
        assert_eq!(class_of("augmentin"), Some(DrugClass::Penicillins));
        assert_eq!(class_of("keflex"), Some(DrugClass::Cephalosporins));
        assert_eq!(class_of("bactrim"), Some(DrugClass::Sulfonamides));
        assert_eq!(class_of("advil"), Some(DrugClass::Nsaids));
        assert_eq!(generic("lasix"), "furosemide");
    }

    #[test]
    fn the_lexicon_file_parses_whole() {
        let f: File = toml::from_str(LEXICON_TOML).unwrap();
        assert!(f.drugs.names.len() > 400);
        assert!(f.symptoms.groups.iter().all(|g| !g.is_empty()));
        assert!(f.units.list.iter().any(|u| u.unit == "mg" && u.dose));
        let all_lower = f
            .drugs
            .names
            .iter()
            .chain(f.body_parts.words.iter())
            .chain(f.symptoms.groups.iter().flatten())
            .all(|w| *w == w.to_lowercase());
        assert!(all_lower);
        assert_eq!(unit_of("milligrams"), Some(("mg", true)));
        assert_eq!(unit_of("°"), Some(("degrees", false)));
        assert!(is_body_part("knees") && is_body_part("patellar"));
        assert_eq!(plain_words("dysphagia"), ["swallow", "swallowing"]);
        assert_eq!(symptoms()[0][0], "fever");
    }
}
