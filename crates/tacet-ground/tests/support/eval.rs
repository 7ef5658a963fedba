//! The grounding evaluation, shared by `tests/grounding_eval.rs` and
//! `examples/grounding_eval.rs`: ACI-Bench dialogues become transcripts,
//! their reference notes become drafts, and false facts are injected into
//! copies of the notes (wrong dose, wrong side, negated symptom, invented
//! medication) with a seeded generator.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Segment, Speaker, Transcript};
use tacet_ground::{ground, split_sentences, FlagKind};

pub const SEED: u64 = 0x0007_ace7_0004;

/// Where the data lives (ACI-Bench `valid.csv`), or why it is not there.
pub fn data_path() -> Result<PathBuf, String> {
    split_path("valid.csv")
}

/// Where one ACI-Bench split (`valid.csv`, `train.csv`) lives, or why it is
/// not there.
pub fn split_path(file: &str) -> Result<PathBuf, String> {
    shared_file("aci-bench", file)
}

/// Where one MTS-Dialog file (`MTS-Dialog-ValidationSet.csv`,
/// `MTS-Dialog-TrainingSet.csv`) lives, or why it is not there.
pub fn mts_path(file: &str) -> Result<PathBuf, String> {
    shared_file("mts-dialog", file)
}

/// `folder/file` in the shared data (`TACET_SHARED_DATA`, else
/// `../shared/data` beside the workspace), or why it is not there.
fn shared_file(folder: &str, file: &str) -> Result<PathBuf, String> {
    let p = match std::env::var_os("TACET_SHARED_DATA") {
        Some(d) => PathBuf::from(d).join(folder).join(file),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(folder)
            .join(file),
    };
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found (set TACET_SHARED_DATA to the folder holding {folder}/)",
            p.display()
        ))
    }
}

pub struct Encounter {
    pub id: String,
    pub dialogue: String,
    pub transcript: Transcript,
    pub draft: Draft,
}

/// Reads an evaluation set: ACI-Bench (`dataset,encounter_id,dialogue,note`)
/// or MTS-Dialog (`ID,section_header,section_text,dialogue`: one short
/// dialogue and the one note section a clinician wrote from it, its
/// `Doctor:` / `Patient:` lines read as ACI-Bench's tags).
pub fn load(path: &std::path::Path) -> Result<Vec<Encounter>, String> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mts = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .iter()
        .any(|h| h == "section_header");
    if mts {
        let mut out = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
            let id = format!("mts-{}", rec.get(0).unwrap_or(""));
            let heading = rec.get(1).unwrap_or("NOTE").to_string();
            let text = rec.get(2).unwrap_or("").trim().to_string();
            let dialogue: String = rec
                .get(3)
                .unwrap_or("")
                .lines()
                .map(|l| {
                    let l = l.trim();
                    match l.split_once(':') {
                        Some((who, rest)) if !who.contains(' ') && !who.is_empty() => {
                            format!("[{}] {}\n", who.to_lowercase(), rest.trim())
                        }
                        _ => format!("{l}\n"),
                    }
                })
                .collect();
            let mut draft = draft_of("");
            if !text.is_empty() {
                draft.sections.push(DraftSection { heading, text });
            }
            out.push(Encounter {
                id,
                transcript: transcript_of(&dialogue),
                draft,
                dialogue,
            });
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let id = rec.get(1).unwrap_or("").to_string();
        let dialogue = rec.get(2).unwrap_or("").to_string();
        let note = rec.get(3).unwrap_or("");
        out.push(Encounter {
            id,
            transcript: transcript_of(&dialogue),
            draft: draft_of(note),
            dialogue,
        });
    }
    Ok(out)
}

pub fn transcript_of(dialogue: &str) -> Transcript {
    let mut segments = Vec::new();
    for line in dialogue.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (speaker, text) = if let Some(t) = line.strip_prefix("[doctor]") {
            (Some(Speaker::Channel0), t)
        } else if let Some(t) = line.strip_prefix("[patient]") {
            (Some(Speaker::Channel1), t)
        } else if let Some(rest) = line.strip_prefix('[') {
            (None, rest.split_once(']').map(|x| x.1).unwrap_or(rest))
        } else {
            (None, line)
        };
        let id = segments.len() as u32;
        segments.push(Segment {
            id,
            start_ms: u64::from(id) * 5000,
            end_ms: u64::from(id) * 5000 + 4800,
            speaker,
            text: text.trim().to_string(),
            confidence: 0.9,
            unsure: Vec::new(),
        });
    }
    Transcript {
        language: "en".into(),
        segments,
        model_sha256: String::new(),
    }
}

fn is_heading(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() || t.len() > 40 || t.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let core = t.trim_end_matches(':');
    core.chars().any(|c| c.is_alphabetic())
        && core
            .chars()
            .all(|c| c.is_uppercase() || c == ' ' || c == '&' || c == '/')
}

pub fn draft_of(note: &str) -> Draft {
    let mut sections: Vec<DraftSection> = Vec::new();
    let mut heading = String::from("NOTE");
    let mut body = String::new();
    for line in note.lines() {
        if is_heading(line) {
            if !body.trim().is_empty() {
                sections.push(DraftSection {
                    heading: heading.clone(),
                    text: body.trim().to_string(),
                });
            }
            heading = line.trim().trim_end_matches(':').to_string();
            body.clear();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    if !body.trim().is_empty() {
        sections.push(DraftSection {
            heading,
            text: body.trim().to_string(),
        });
    }
    Draft {
        sections,
        provenance: Provenance {
            model_sha256: String::new(),
            model_id: "aci-bench reference".into(),
            template_id: "aci-bench".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 0,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        },
    }
}

/// SplitMix64: tiny, seeded, stable across platforms and crate versions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Injection {
    WrongDose,
    WrongSide,
    NegatedSymptom,
    InventedMedication,
}

impl Injection {
    pub const ALL: [Injection; 4] = [
        Injection::WrongDose,
        Injection::WrongSide,
        Injection::NegatedSymptom,
        Injection::InventedMedication,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Injection::WrongDose => "wrong dose / number with unit",
            Injection::WrongSide => "wrong side",
            Injection::NegatedSymptom => "negated symptom",
            Injection::InventedMedication => "invented medication",
        }
    }
}

const UNITS: &[&str] = &[
    "mg",
    "mcg",
    "g",
    "mL",
    "ml",
    "units",
    "unit",
    "%",
    "mmHg",
    "bpm",
    "kg",
    "lbs",
    "lb",
    "pounds",
    "days",
    "day",
    "weeks",
    "week",
    "months",
    "month",
    "years",
    "degrees",
    "cm",
    "milligrams",
    "tablets",
    "hours",
    "minutes",
];

/// Words (lower case) an eval mutation treats as a symptom; kept separate
/// from the crate's own list on purpose.
const EVAL_SYMPTOMS: &[&str] = &[
    "fever",
    "fevers",
    "chills",
    "cough",
    "nausea",
    "vomiting",
    "diarrhea",
    "constipation",
    "headache",
    "headaches",
    "dizziness",
    "fatigue",
    "shortness of breath",
    "chest pain",
    "palpitations",
    "swelling",
    "rash",
    "numbness",
    "tingling",
    "weakness",
    "wheezing",
    "weight loss",
    "weight gain",
    "night sweats",
    "abdominal pain",
    "sore throat",
    "congestion",
    "bleeding",
    "lightheadedness",
    "edema",
    "bloating",
    "anxiety",
    "depression",
    "dysuria",
    "blurred vision",
    "syncope",
    "heartburn",
    "itching",
    "bruising",
    "insomnia",
];

const EVAL_DRUGS: &[&str] = &[
    "amoxicillin",
    "azithromycin",
    "ciprofloxacin",
    "doxycycline",
    "cephalexin",
    "metformin",
    "lisinopril",
    "losartan",
    "amlodipine",
    "metoprolol",
    "atorvastatin",
    "simvastatin",
    "omeprazole",
    "pantoprazole",
    "sertraline",
    "escitalopram",
    "gabapentin",
    "prednisone",
    "levothyroxine",
    "warfarin",
    "apixaban",
    "clopidogrel",
    "furosemide",
    "hydrochlorothiazide",
    "montelukast",
    "albuterol",
    "fluticasone",
    "tramadol",
    "naproxen",
    "meloxicam",
    "cyclobenzaprine",
    "trazodone",
    "bupropion",
    "duloxetine",
    "tamsulosin",
    "allopurinol",
    "Eliquis",
    "Xarelto",
    "Zoloft",
    "Lipitor",
    "Norvasc",
    "Augmentin",
    "Keflex",
    "Flexeril",
    "Ozempic",
    "Januvia",
    "Plavix",
    "Synthroid",
];

const BRAND_GENERIC: &[(&str, &str)] = &[
    ("eliquis", "apixaban"),
    ("xarelto", "rivaroxaban"),
    ("zoloft", "sertraline"),
    ("lipitor", "atorvastatin"),
    ("norvasc", "amlodipine"),
    ("augmentin", "amoxicillin"),
    ("keflex", "cephalexin"),
    ("flexeril", "cyclobenzaprine"),
    ("ozempic", "semaglutide"),
    ("januvia", "sitagliptin"),
    ("plavix", "clopidogrel"),
    ("synthroid", "levothyroxine"),
    ("lasix", "furosemide"),
    ("prilosec", "omeprazole"),
    ("protonix", "pantoprazole"),
    ("lexapro", "escitalopram"),
    ("neurontin", "gabapentin"),
    ("coumadin", "warfarin"),
    ("singulair", "montelukast"),
    ("flonase", "fluticasone"),
    ("ultram", "tramadol"),
    ("aleve", "naproxen"),
    ("mobic", "meloxicam"),
    ("desyrel", "trazodone"),
    ("wellbutrin", "bupropion"),
    ("cymbalta", "duloxetine"),
    ("flomax", "tamsulosin"),
    ("zyloprim", "allopurinol"),
    ("glucophage", "metformin"),
    ("zestril", "lisinopril"),
    ("cozaar", "losartan"),
    ("toprol", "metoprolol"),
    ("zocor", "simvastatin"),
];

const NEW_MED_TEMPLATES: &[&str] = &[
    "We will start {drug} {dose} mg daily.",
    "I prescribed {drug} {dose} mg twice a day.",
    "Continue {drug} {dose} mg daily.",
    "The patient was given a prescription for {drug}.",
    "Start {drug} {dose} mg at bedtime.",
    "She will take {drug} as needed.",
];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte ranges of whole-word, case-insensitive matches of `needle`.
fn find_words(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    let lower = hay.to_lowercase();
    if lower.len() != hay.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = lower[from..].find(needle) {
        let s = from + p;
        let e = s + needle.len();
        let before_ok = lower[..s]
            .chars()
            .next_back()
            .is_none_or(|c| !is_word_char(c));
        let after_ok = lower[e..].chars().next().is_none_or(|c| !is_word_char(c));
        if before_ok && after_ok {
            out.push((s, e));
        }
        from = e;
    }
    out
}

/// Numbers followed by a unit: (start, end) of the number.
fn numbers_with_units(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b'/'))
        {
            let st = i;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || (b[i] == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            if i < b.len() && b[i] == b'/' {
                continue;
            }
            let rest = &s[i..];
            let rest_t = rest.trim_start_matches([' ', '-']);
            let ok = UNITS.iter().any(|u| {
                rest_t.starts_with(u)
                    && rest_t[u.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric())
            });
            if ok {
                out.push((st, i));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn wrong_number(v: f64, rng: &mut Rng) -> f64 {
    let choices = [
        v * 2.0,
        v + 10.0,
        v + 5.0,
        (v / 2.0).round(),
        v * 10.0,
        v + 1.0,
    ];
    loop {
        let c = choices[rng.below(choices.len())];
        if (c - v).abs() > 1e-9 && c > 0.0 {
            return c;
        }
    }
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v}")
    }
}

fn mutate_dose(s: &str, rng: &mut Rng) -> Option<String> {
    let spots = numbers_with_units(s);
    if spots.is_empty() {
        return None;
    }
    let (a, b) = spots[rng.below(spots.len())];
    let v: f64 = s[a..b].parse().ok()?;
    Some(format!(
        "{}{}{}",
        &s[..a],
        fmt_num(wrong_number(v, rng)),
        &s[b..]
    ))
}

fn mutate_side(s: &str) -> Option<String> {
    let mut hits: Vec<(usize, usize, &str)> = Vec::new();
    for (w, to) in [("left", "right"), ("right", "left")] {
        for (a, b) in find_words(s, w) {
            hits.push((a, b, to));
        }
    }
    if hits.is_empty() {
        return None;
    }
    hits.sort();
    let mut out = String::new();
    let mut at = 0;
    for (a, b, to) in hits {
        out.push_str(&s[at..a]);
        let orig = &s[a..b];
        if orig.starts_with(|c: char| c.is_uppercase()) {
            let mut t = to.to_string();
            t[..1].make_ascii_uppercase();
            out.push_str(&t);
        } else {
            out.push_str(to);
        }
        at = b;
    }
    out.push_str(&s[at..]);
    Some(out)
}

#[allow(dead_code)]
fn replace_word(s: &str, from: &str, to: &str) -> Option<String> {
    let hits = find_words(s, from);
    let &(a, b) = hits.first()?;
    let orig = &s[a..b];
    let rep = if orig.starts_with(|c: char| c.is_uppercase()) {
        let mut t = to.to_string();
        if let Some(f) = t.get_mut(..1) {
            f.make_ascii_uppercase();
        }
        t
    } else {
        to.to_string()
    };
    Some(format!("{}{}{}", &s[..a], rep, &s[b..]))
}

/// Flips the polarity of a sentence at a symptom the dialogue also
/// mentions: the negation or affirmation cue must stand at most 60 bytes
/// before the symptom, so the flip is about that symptom.
fn mutate_negation(s: &str, dialogue_lower: &str) -> Option<String> {
    let lower = s.to_lowercase();
    let (sym_at, _) = EVAL_SYMPTOMS
        .iter()
        .filter(|sym| dialogue_lower.contains(*sym))
        .filter_map(|sym| find_words(&lower, sym).first().copied())
        .min()?;
    const FLIPS: &[(&str, &str)] = &[
        // Negated → affirmed.
        ("denies", "reports"),
        ("denied", "reported"),
        ("negative for", "positive for"),
        ("without", "with"),
        ("no", "some"),
        ("not", "also"),
        // Affirmed → negated.
        ("reports", "denies"),
        ("endorses", "denies"),
        ("complains of", "denies"),
        ("notes", "denies"),
        ("admits to", "denies"),
        ("experiences", "denies"),
        ("has experienced", "has not experienced"),
        ("has had", "has not had"),
        ("with", "without"),
        ("has", "has no"),
        ("had", "had no"),
    ];
    // A sentence that already negates the finding is flipped by taking its
    // negation away, never by adding a second one: "has not had any fever"
    // → "has also had any fever", not "has not had no any fever", a double
    // negative that still reads as no fever.
    const NEGATED: usize = 6;
    let negated_before = FLIPS[..NEGATED].iter().any(|(from, _)| {
        find_words(&lower, from)
            .iter()
            .any(|&(_, b)| b <= sym_at && sym_at - b <= 60)
    });
    let flips = if negated_before {
        &FLIPS[..NEGATED]
    } else {
        FLIPS
    };
    // The cue nearest before the symptom.
    let mut best: Option<(usize, usize, &str)> = None;
    for (from, to) in flips {
        for (a, b) in find_words(&lower, from) {
            if b <= sym_at && sym_at - b <= 60 && best.is_none_or(|x| a > x.0) {
                best = Some((a, b, to));
            }
        }
    }
    let (a, b, to) = best?;
    let orig = &s[a..b];
    let mut rep = to.to_string();
    if orig.starts_with(|c: char| c.is_uppercase()) {
        if let Some(f) = rep.get_mut(..1) {
            f.make_ascii_uppercase();
        }
    }
    Some(format!("{}{}{}", &s[..a], rep, &s[b..]))
}

pub struct Counts {
    pub injected: BTreeMap<Injection, usize>,
    pub caught: BTreeMap<Injection, usize>,
    pub untouched: usize,
    pub untouched_flagged: usize,
    pub untouched_by_kind: BTreeMap<&'static str, usize>,
    pub notes: usize,
    pub misaligned: usize,
    /// Injected sentences no check flagged, for inspection.
    pub missed: Vec<(Injection, String)>,
    /// Contradiction flags on caught injections (a side, a negation, an
    /// allergy, or a number the transcript gives another value), and how
    /// many of them name the transcript segment that contradicts the note
    /// (issue 24, part 4).
    pub contradictions: usize,
    pub contradictions_with_segment: usize,
}

impl Counts {
    pub fn recall(&self, k: Option<Injection>) -> f64 {
        let (c, n) = match k {
            Some(k) => (
                self.caught.get(&k).copied().unwrap_or(0),
                self.injected.get(&k).copied().unwrap_or(0),
            ),
            None => (self.caught.values().sum(), self.injected.values().sum()),
        };
        if n == 0 {
            0.0
        } else {
            c as f64 / n as f64
        }
    }
    pub fn untouched_rate(&self) -> f64 {
        if self.untouched == 0 {
            0.0
        } else {
            self.untouched_flagged as f64 / self.untouched as f64
        }
    }
}

/// Up to this many mutated sentences per note and injection type.
pub const PER_NOTE: usize = 6;

pub fn run(encounters: &[Encounter]) -> Counts {
    let mut rng = Rng::new(SEED);
    let mut counts = Counts {
        injected: BTreeMap::new(),
        caught: BTreeMap::new(),
        untouched: 0,
        untouched_flagged: 0,
        untouched_by_kind: BTreeMap::new(),
        notes: encounters.len(),
        misaligned: 0,
        missed: Vec::new(),
        contradictions: 0,
        contradictions_with_segment: 0,
    };
    for enc in encounters {
        // Untouched: the reference note itself.
        let g = ground(&enc.draft, &enc.transcript);
        for s in &g.sentences {
            counts.untouched += 1;
            if !s.flags.is_empty() {
                counts.untouched_flagged += 1;
            }
            let mut kinds: Vec<FlagKind> = s.flags.iter().map(|f| f.kind).collect();
            kinds.dedup();
            for k in kinds {
                *counts.untouched_by_kind.entry(k.label()).or_default() += 1;
            }
        }
        let dialogue_lower = enc.dialogue.to_lowercase();
        // Sentences as the grounder sees them, one per line.
        let sections: Vec<(String, Vec<String>)> = enc
            .draft
            .sections
            .iter()
            .map(|s| (s.heading.clone(), split_sentences(&s.text)))
            .collect();
        for inj in Injection::ALL {
            let mut mutated = sections.clone();
            let mut targets: Vec<(usize, usize)> = Vec::new();
            if inj == Injection::InventedMedication {
                let mut drugs: Vec<&str> = EVAL_DRUGS
                    .iter()
                    .copied()
                    .filter(|d| {
                        let d = d.to_lowercase();
                        let other = BRAND_GENERIC
                            .iter()
                            .find(|(b, g)| *b == d || *g == d)
                            .map(|(b, g)| if *b == d { *g } else { *b });
                        !dialogue_lower.contains(&d)
                            && other.is_none_or(|o| !dialogue_lower.contains(o))
                    })
                    .collect();
                rng.shuffle(&mut drugs);
                for (k, d) in drugs.iter().take(PER_NOTE).enumerate() {
                    let tpl = NEW_MED_TEMPLATES[rng.below(NEW_MED_TEMPLATES.len())];
                    let dose = [5, 10, 20, 25, 40, 50, 100, 250, 500][rng.below(9)];
                    let sent = tpl
                        .replace("{drug}", d)
                        .replace("{dose}", &dose.to_string());
                    let si = rng.below(mutated.len().max(1));
                    if mutated.is_empty() {
                        mutated.push(("PLAN".into(), Vec::new()));
                    }
                    let pos = rng.below(mutated[si].1.len() + 1);
                    mutated[si].1.insert(pos, sent);
                    // Earlier targets in the same section shift down.
                    for t in targets.iter_mut() {
                        if t.0 == si && t.1 >= pos {
                            t.1 += 1;
                        }
                    }
                    targets.push((si, pos));
                    let _ = k;
                }
            } else {
                let mut candidates: Vec<(usize, usize, String)> = Vec::new();
                for (si, (_, sents)) in sections.iter().enumerate() {
                    for (i, s) in sents.iter().enumerate() {
                        let m = match inj {
                            Injection::WrongDose => mutate_dose(s, &mut rng),
                            Injection::WrongSide => mutate_side(s),
                            Injection::NegatedSymptom => mutate_negation(s, &dialogue_lower),
                            Injection::InventedMedication => None,
                        };
                        if let Some(m) = m {
                            if m != *s {
                                candidates.push((si, i, m));
                            }
                        }
                    }
                }
                rng.shuffle(&mut candidates);
                for (si, i, m) in candidates.into_iter().take(PER_NOTE) {
                    mutated[si].1[i] = m;
                    targets.push((si, i));
                }
            }
            if targets.is_empty() {
                continue;
            }
            let draft = Draft {
                sections: mutated
                    .iter()
                    .map(|(h, s)| DraftSection {
                        heading: h.clone(),
                        text: s.join("\n"),
                    })
                    .collect(),
                provenance: enc.draft.provenance.clone(),
            };
            let g = ground(&draft, &enc.transcript);
            for (si, i) in targets {
                *counts.injected.entry(inj).or_default() += 1;
                let heading = &mutated[si].0;
                let want = &mutated[si].1[i];
                // Sections may share a heading; match on text too.
                let found = g
                    .sentences
                    .iter()
                    .find(|s| s.section == *heading && s.index_in_section == i && s.text == *want);
                match found {
                    Some(s) if !s.flags.is_empty() => {
                        *counts.caught.entry(inj).or_default() += 1;
                        for f in &s.flags {
                            // A number the transcript does not have at all
                            // has nothing to point at; one it gives another
                            // value ("transcript says 81 mg") does.
                            let contradicts = match f.kind {
                                FlagKind::Laterality
                                | FlagKind::Negation
                                | FlagKind::AllergyConflict => true,
                                FlagKind::NumberMismatch | FlagKind::DoseMismatch => {
                                    f.detail.contains("transcript says")
                                }
                                _ => false,
                            };
                            if contradicts {
                                counts.contradictions += 1;
                                counts.contradictions_with_segment +=
                                    usize::from(f.evidence_segment.is_some());
                            }
                        }
                    }
                    Some(_) => counts.missed.push((inj, format!("[{}] {want}", enc.id))),
                    None => counts.misaligned += 1,
                }
            }
        }
    }
    counts
}

pub fn table(c: &Counts) -> String {
    let mut out = String::new();
    out.push_str("| injection | injected | caught | recall |\n|---|---|---|---|\n");
    for k in Injection::ALL {
        let n = c.injected.get(&k).copied().unwrap_or(0);
        let got = c.caught.get(&k).copied().unwrap_or(0);
        out.push_str(&format!(
            "| {} | {n} | {got} | {:.1}% |\n",
            k.name(),
            100.0 * c.recall(Some(k))
        ));
    }
    let n: usize = c.injected.values().sum();
    let got: usize = c.caught.values().sum();
    out.push_str(&format!(
        "| **all** | {n} | {got} | **{:.1}%** |\n",
        100.0 * c.recall(None)
    ));
    out.push_str(&format!(
        "\nUntouched reference sentences flagged: {} of {} = **{:.1}%** ({} notes)\n",
        c.untouched_flagged,
        c.untouched,
        100.0 * c.untouched_rate(),
        c.notes
    ));
    out.push_str(&format!(
        "\nContradiction flags on caught injections that name the transcript segment: {} of {}\n",
        c.contradictions_with_segment, c.contradictions
    ));
    out.push_str("\n| flag kind on untouched sentences | sentences |\n|---|---|\n");
    for (k, v) in &c.untouched_by_kind {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    if c.misaligned > 0 {
        out.push_str(&format!(
            "\n{} injected sentences could not be found after splitting\n",
            c.misaligned
        ));
    }
    out
}
