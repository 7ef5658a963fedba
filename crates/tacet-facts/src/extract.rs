//! From utterances to facts: symptoms with their polarity, medications,
//! allergies, vital signs, and the clinician's findings, results,
//! impressions and plans, each written as a note sentence and linked to the
//! segments it was read from.

use crate::cues::Cues;
use crate::roles::{Role, Utterance};
use crate::text::{self, Gender, Voice};
use crate::{Detail, Fact, FactKind};
use regex::Regex;
use std::sync::OnceLock;
use tacet_ground::vocab;

fn re(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

/// The patient's gender as the clinician speaks of them, when the visit
/// says it clearly (else the note says "the patient").
pub fn gender(utts: &[Utterance]) -> Gender {
    let (mut m, mut f) = (0i32, 0i32);
    for u in utts.iter().filter(|u| u.role == Role::Clinician) {
        for w in text::words(&u.lower) {
            match w.as_str() {
                "male" | "man" | "gentleman" | "mr" | "he" | "his" | "him" | "sir" => m += 1,
                "female" | "woman" | "lady" | "mrs" | "ms" | "miss" | "she" | "her" | "ma'am" => {
                    f += 1
                }
                _ => {}
            }
        }
    }
    if m >= 2 && m >= 2 * f {
        Gender::Male
    } else if f >= 2 && f >= 2 * m {
        Gender::Female
    } else {
        Gender::Unknown
    }
}

/// A symptom named in `lower`: (name, byte offset).
fn symptoms_in(lower: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for group in vocab::symptom_groups() {
        for phrase in group.iter() {
            if let Some(at) = find_phrase(lower, phrase) {
                if !out.iter().any(|(n, _)| *n == group[0]) {
                    out.push((group[0].to_string(), at));
                }
                break;
            }
        }
    }
    // Pain of a (sided) body part: "my left ear hurts", "knee pain".
    static PAIN: OnceLock<Option<Regex>> = OnceLock::new();
    if let Some(pain) = re(
        &PAIN,
        r"\b(?:(left|right)\s+)?([a-z]+)\s+(?:(?:also|really|still|kind of)\s+)?(?:hurts|pain|ache|aches|is sore|is hurting|has been hurting)\b",
    ) {
        for c in pain.captures_iter(lower) {
            let part = &c[2];
            if vocab::is_body_part(part) {
                let name = match c.get(1) {
                    Some(side) => format!("{} {part} pain", side.as_str()),
                    None => format!("{part} pain"),
                };
                let at = c.get(0).map(|m| m.start()).unwrap_or(0);
                if !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, at));
                }
            }
        }
    }
    // "pain in my left knee"
    static PAIN_IN: OnceLock<Option<Regex>> = OnceLock::new();
    if let Some(pain_in) = re(
        &PAIN_IN,
        r"\bpain (?:in|on) (?:my|your|the|his|her) (?:(left|right)\s+)?([a-z]+)",
    ) {
        for c in pain_in.captures_iter(lower) {
            let part = &c[2];
            if vocab::is_body_part(part) {
                let name = match c.get(1) {
                    Some(side) => format!("{} {part} pain", side.as_str()),
                    None => format!("{part} pain"),
                };
                if !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, c.get(0).map(|m| m.start()).unwrap_or(0)));
                }
            }
        }
    }
    out.sort_by_key(|(_, at)| *at);
    out
}

/// Where `phrase` last stands in `lower` as whole words: in a turn that
/// holds the question and its answer ("any nausea vomiting … i'm not
/// vomiting"), the answer comes last.
fn find_phrase(lower: &str, phrase: &str) -> Option<usize> {
    let mut from = 0;
    let mut last = None;
    while let Some(i) = lower[from..].find(phrase) {
        let at = from + i;
        let ok_before = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        let end = at + phrase.len();
        let ok_after = end >= lower.len() || !lower.as_bytes()[end].is_ascii_alphanumeric();
        if ok_before && ok_after {
            last = Some(at);
        }
        from = end;
    }
    last
}

/// Whether the finding at byte `at` of `lower` is negated: a negation cue
/// within the five words before it, in the same clause; or further back in
/// the clause (up to twelve words) where an "or" joins the finding to what
/// the cue denies, since a denial carries through a disjunction ("can't
/// recall a fever or any kind of rash", "never had chest pain or any
/// shortness of breath"). "Some" before the finding ends the scope ("no
/// fever some chills").
fn negated_at(lower: &str, at: usize, cues: &Cues) -> bool {
    let before = &lower[..at];
    let clause = before
        .rsplit([',', ';', '.'])
        .next()
        .unwrap_or(before)
        .rsplit(" but ")
        .next()
        .unwrap_or(before);
    let words = text::words(clause);
    let is_cue = |w: &str| {
        cues.polarity.negation.iter().any(|c| {
            (!c.contains(' ') && (w == c || (c == "n't" && w.ends_with("n't"))))
                || (c.contains(' ') && clause.contains(c.as_str()))
        })
    };
    let mut through_or = false;
    for (i, w) in words.iter().rev().take(12).enumerate() {
        if is_cue(w) && (i < 5 || through_or) {
            return true;
        }
        // "No fever some chills": a quantity of the finding says it is
        // there, and ends the scope of a denial before it.
        if w == "some" {
            return false;
        }
        through_or |= w == "or" || w == "nor";
    }
    false
}

/// A short answer's meaning: Some(true) yes, Some(false) no.
fn answer(lower: &str, cues: &Cues) -> Option<bool> {
    let l = lower.trim_start_matches(['.', ',', ' ']);
    let starts = |list: &[String]| list.iter().any(|a| text::starts_with_phrase(l, a));
    // "no" before "not really" etc: check no first (longer lists).
    if starts(&cues.polarity.no) {
        Some(false)
    } else if starts(&cues.polarity.yes) {
        Some(true)
    } else {
        None
    }
}

/// Removes a leading answer particle and fillers: "Yes, some thick yellow
/// mucus" → "some thick yellow mucus".
fn strip_lead(s: &str) -> String {
    static LEAD: OnceLock<Option<Regex>> = OnceLock::new();
    let mut out = s.trim().to_string();
    if let Some(lead) = re(
        &LEAD,
        r"(?i)^(?:(?:(?:yes|yeah|yep|yup|no|nope|nah|mm-hmm|mhm|uh-huh|okay|ok|alright|all right|right|correct|sure|(?:i'm |i am )?sorry|excuse me|pardon me)(?:[,.!]+\s*|$))|(?:(?:um|uh|so|well|oh|and|but|then|now|also|you know|like|actually|i mean|hey|okay|ok|alright|all right)\b[\s,.]*))+",
    ) {
        out = lead.replace(&out, "").into_owned();
    }
    // Unpunctuated speech: "yeah the patient felt a little pop", "no i
    // don't think so" — the particle before a subject, with no comma. The
    // answer itself is read from the turn's start (`answer`), not from the
    // sentence the note keeps.
    static BARE: OnceLock<Option<Regex>> = OnceLock::new();
    if let Some(bare) = re(
        &BARE,
        r"(?i)^(?:yes|yeah|yep|yup|no|nope|nah|sure|absolutely|right|correct)\s+(?:(?:so|well|and|actually|um|uh|like)\s+)*((?:i|i'm|i've|i'd|i'll|we|we're|we've|it|it's|my|he|she|he's|she's|they|that|that's|there|there's|the|this)\b.*)$",
    ) {
        if let Some(c) = bare.captures(out.trim()) {
            let kept = c[1].to_string();
            return strip_lead(&kept);
        }
    }
    out.trim().to_string()
}

/// Drops fillers inside a sentence ("um", "uh", "you know", doubled words).
fn tidy(s: &str) -> String {
    static FILL: OnceLock<Option<Regex>> = OnceLock::new();
    let mut out = s.to_string();
    if let Some(fill) = re(
        &FILL,
        r"(?i)\b(?:um+|uh+|er|ah|hmm|you know|i mean)\b[,]?\s*",
    ) {
        out = fill.replace_all(&out, "").into_owned();
    }
    // A word said twice or more in a row ("the, the, the last year"):
    // once. (The regex crate has no back-references.)
    let mut kept: Vec<&str> = Vec::new();
    for w in out.split_whitespace() {
        let bare = |x: &str| x.trim_end_matches(',').to_lowercase();
        if let Some(prev) = kept.last() {
            if bare(prev) == bare(w) && bare(w).chars().all(|c| c.is_alphabetic() || c == '\'') {
                kept.pop();
            }
        }
        kept.push(w);
    }
    out = kept.join(" ");
    out = out.replace(" ,", ",").replace(",,", ",");
    text::drop_check_in(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn is_pleasantry(lower: &str, cues: &Cues) -> bool {
    let stripped: String = lower
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
        .collect();
    let stripped = stripped.trim();
    if stripped.is_empty() {
        return true;
    }
    let words = stripped.split_whitespace().count();
    cues.statements
        .pleasantry
        .iter()
        .any(|p| stripped == p || (words <= 6 && text::has_phrase(stripped, p)))
        && !has_clinical_content(lower)
}

/// Whether a sentence says something clinical: a symptom, drug, body part,
/// number or a clinical word.
fn has_clinical_content(lower: &str) -> bool {
    const CLINICAL: &[&str] = &[
        "pain",
        "hurt",
        "sore",
        "fever",
        "temperature",
        "blood",
        "pressure",
        "sugar",
        "medication",
        "medicine",
        "pill",
        "tablet",
        "dose",
        "allerg",
        "infection",
        "x-ray",
        "xray",
        "test",
        "surgery",
        "sleep",
        "eat",
        "weight",
        "breath",
        "mucus",
        "phlegm",
        "sputum",
        "stool",
        "urin",
        "period",
        "diet",
        "exercise",
        "smok",
        "alcohol",
        "drink",
        "injur",
        "fell",
        "fall",
        "swell",
        "diagnos",
        "doctor",
        "hospital",
        "therapy",
        "mood",
        "anxi",
        "depress",
        "stress",
        "worse",
        "better",
        "started",
        "since",
        "ago",
        "week",
        "month",
        "day",
        "year",
    ];
    let words = text::words(lower);
    words.iter().any(|w| {
        vocab::is_drug(w)
            || vocab::is_body_part(w)
            || w.chars().next().is_some_and(|c| c.is_ascii_digit())
            || CLINICAL.iter().any(|c| w.starts_with(c))
    }) || !symptoms_in(lower).is_empty()
}

/// The medication facts in a sentence: each drug with its dose and how
/// often, and what is being done with it.
fn medications(u: &Utterance) -> Vec<Fact> {
    static DOSE: OnceLock<Option<Regex>> = OnceLock::new();
    static FREQ: OnceLock<Option<Regex>> = OnceLock::new();
    static PURPOSE: OnceLock<Option<Regex>> = OnceLock::new();
    let lower = text::digits(&u.lower);
    let words = text::words(&lower);
    let mut out = Vec::new();
    // A drug named beside an allergy is the allergen, not a medication.
    if lower.contains("allerg") {
        return out;
    }
    for (i, w) in words.iter().enumerate() {
        if !vocab::is_drug(w) || words[..i].iter().any(|x| x == w) {
            continue;
        }
        if matches!(
            words.get(i.wrapping_sub(1)).map(String::as_str),
            Some("allergic" | "allergy" | "to")
        ) && words[..i].iter().any(|x| x.starts_with("allerg"))
        {
            continue;
        }
        // "an antibiotic that does not contain penicillin", "non-penicillin":
        // the drug named is the one not given.
        if negated_near(&lower, w)
            || w.starts_with("non")
            || i > 0 && words[i - 1] == "non"
            || text::has_phrase(&lower, &format!("non-{w}"))
        {
            continue;
        }
        let after = lower.find(w.as_str()).map(|p| &lower[p..]).unwrap_or("");
        // What is said of this drug: the words after it up to the next
        // drug or clause end, at most eight (a dose further on belongs to
        // something else).
        let mut window = String::new();
        for (k, piece) in after.split_whitespace().enumerate() {
            let bare = piece.trim_matches(|c: char| !c.is_alphanumeric());
            if k > 0 && (vocab::is_drug(bare) || k > 8) {
                break;
            }
            window.push_str(piece);
            window.push(' ');
            if k > 0 && piece.ends_with(['.', ';', '?', '!']) {
                break;
            }
        }
        let before_start = lower
            .find(w.as_str())
            .unwrap_or(0)
            .saturating_sub(40)
            .min(lower.len());
        let mut bs = before_start;
        while bs > 0 && !lower.is_char_boundary(bs) {
            bs -= 1;
        }
        // A dose said before the drug counts only right before it
        // ("fifty milligrams of ultram"), never one of the drug before.
        static BEFORE: OnceLock<Option<Regex>> = OnceLock::new();
        let before_text = &lower[bs..lower.find(w.as_str()).unwrap_or(0)];
        let dose_before = re(
            &BEFORE,
            r"(\d+(?:\.\d+)?\s*(?:mg|mcg|micrograms?|g|grams?|ml|units?))\s+(?:of\s+)?(?:the\s+)?$",
        )
        .and_then(|r| r.captures(before_text))
        .map(|c| c[1].to_string())
        .unwrap_or_default();
        let around = format!("{dose_before} {window}");
        // How often may come first ("every morning I take aspirin"), but
        // not from another drug's words.
        let own_before = before_text
            .split_whitespace()
            .rev()
            .take_while(|x| !vocab::is_drug(x.trim_matches(|c: char| !c.is_alphanumeric())))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" ");
        let freq_text = format!("{own_before} {window}");
        let dose = re(
            &DOSE,
            r"\b(\d+(?:\.\d+)?)\s*(mg|mcg|micrograms?|g|grams?|ml|units?|puffs?|tablets?|pills?|capsules?)\b",
        )
        .and_then(|r| r.captures(&around))
        .map(|c| format!("{} {}", &c[1], unit_short(&c[2])));
        let freq = re(
            &FREQ,
            r"\b(once a day|twice a day|three times a day|four times a day|once daily|twice daily|daily|every day|every morning|every night|every evening|each morning|in the morning|at night|at bedtime|before bed|as needed|every \d+ hours|once a week|weekly|a day)\b",
        )
        .and_then(|r| r.captures(&freq_text))
        .map(|c| c[1].to_string());
        let purpose = re(
            &PURPOSE,
            r"\bfor (?:my|your|his|her|the) ([a-z]+(?: [a-z]+)?)",
        )
        .and_then(|r| r.captures(window.as_str()))
        .map(|c| format!("for the {}", &c[1]));
        let name = w.to_string();
        let mut desc = name.clone();
        if let Some(d) = &dose {
            desc.push(' ');
            desc.push_str(d);
        }
        if let Some(f) = &freq {
            desc.push(' ');
            desc.push_str(f);
        }
        if let Some(p) = &purpose {
            desc.push(' ');
            desc.push_str(p);
        }
        let has = |p: &str| text::has_phrase(&lower, p);
        let sentence = match u.role {
            Role::Patient => {
                if has("stopped") || has("quit") || has("ran out") {
                    format!("Stopped {desc}")
                } else if has("took") || has("tried") || has("used") {
                    format!("Tried {desc}")
                } else {
                    format!("Takes {desc}")
                }
            }
            Role::Clinician => {
                if u.question && !(has("you're on") || has("you are on") || has("you take")) {
                    continue;
                }
                if has("refill") {
                    format!("Refill {desc}")
                } else if has("stop") || has("discontinue") || has("come off") {
                    format!("Stop {desc}")
                } else if has("increase") || has("go up") || has("bump") {
                    format!("Increase {desc}")
                } else if has("decrease") || has("lower") || has("cut back") {
                    format!("Decrease {desc}")
                } else if has("continue") || has("keep taking") || has("stay on") {
                    format!("Continue {desc}")
                } else if has("start")
                    || has("prescribe")
                    || has("give you")
                    || has("put you on")
                    || has("i'm going to")
                    || has("we'll")
                    || has("i will")
                {
                    format!("Start {desc}")
                } else {
                    format!("Takes {desc}")
                }
            }
        };
        out.push(Fact {
            kind: FactKind::Medications,
            sentence: text::as_sentence(&sentence),
            segments: vec![u.segment],
            detail: Detail::Medication {
                name,
                dose,
                frequency: freq,
            },
        });
    }
    out
}

fn negated_near(lower: &str, word: &str) -> bool {
    lower
        .find(word)
        .map(|at| {
            let before = &lower[..at];
            let w = text::words(before);
            w.iter()
                .rev()
                .take(4)
                .any(|x| x == "not" || x == "no" || x == "never" || x.ends_with("n't"))
        })
        .unwrap_or(false)
}

fn unit_short(u: &str) -> &'static str {
    vocab::unit_of(u).map(|(c, _)| c).unwrap_or("units")
}

/// An allergy stated in `u` (and its reaction, here or in the next
/// sentence of the same speaker).
fn allergy(u: &Utterance, next: Option<&Utterance>) -> Option<Fact> {
    static ALLERGEN: OnceLock<Option<Regex>> = OnceLock::new();
    static REACTION: OnceLock<Option<Regex>> = OnceLock::new();
    let lower = &u.lower;
    if !lower.contains("allerg") {
        return None;
    }
    let reaction_re = re(
        &REACTION,
        r"\b(hives|rash|itching|itchy|swelling|anaphylaxis|trouble breathing|shortness of breath|throat (?:closes|closing|swells)|vomiting|nausea|upset stomach)\b",
    );
    let no_allergy = text::has_phrase(lower, "no allergies")
        || text::has_phrase(lower, "no known allergies")
        || text::has_phrase(lower, "not allergic")
        || text::has_phrase(lower, "no drug allergies")
        || (u.role == Role::Patient && lower.trim_start().starts_with("no"));
    if no_allergy && !lower.contains("allergic to") {
        return Some(Fact {
            kind: FactKind::Allergies,
            sentence: "No known drug allergies.".into(),
            segments: vec![u.segment],
            detail: Detail::Allergy {
                allergen: String::new(),
                reaction: None,
            },
        });
    }
    let allergen = re(
        &ALLERGEN,
        r"allerg(?:ic|y|ies) to ([a-z][a-z\- ]*?)(?:[,.;!?]| and | it | which | that | but |$)",
    )
    .and_then(|r| r.captures(lower))
    .map(|c| c[1].trim().to_string())?;
    let allergen = allergen
        .trim_start_matches("the ")
        .trim_start_matches("some ")
        .to_string();
    if allergen.is_empty() || allergen.split(' ').count() > 4 {
        return None;
    }
    let mut segments = vec![u.segment];
    let mut reaction = reaction_re
        .and_then(|r| r.captures(lower))
        .map(|c| c[1].to_string());
    if reaction.is_none() {
        if let Some(n) = next.filter(|n| n.role == u.role) {
            if let Some(c) = reaction_re.and_then(|r| r.captures(&n.lower)) {
                reaction = Some(c[1].to_string());
                segments.push(n.segment);
            }
        }
    }
    let sentence = match &reaction {
        Some(r) => format!("Allergic to {allergen} ({r})."),
        None => format!("Allergic to {allergen}."),
    };
    segments.dedup();
    Some(Fact {
        kind: FactKind::Allergies,
        sentence,
        segments,
        detail: Detail::Allergy { allergen, reaction },
    })
}

/// Vital signs the clinician states: (name, value as written).
fn vitals(lower: &str) -> Vec<(&'static str, String)> {
    static TEMP: OnceLock<Option<Regex>> = OnceLock::new();
    static BP: OnceLock<Option<Regex>> = OnceLock::new();
    static HR: OnceLock<Option<Regex>> = OnceLock::new();
    static RR: OnceLock<Option<Regex>> = OnceLock::new();
    static SPO2: OnceLock<Option<Regex>> = OnceLock::new();
    static WT: OnceLock<Option<Regex>> = OnceLock::new();
    let l = text::spoken_measures(&text::digits(lower));
    let mut out = Vec::new();
    if let Some(c) = re(
        &TEMP,
        r"\b(?:temperature|temp)\b[^.?!\d]{0,30}?(\d{2,3}(?:\.\d)?)(?:\s*(?:degrees|°))?",
    )
    .and_then(|r| r.captures(&l))
    {
        let v: f32 = c[1].parse().unwrap_or(0.0);
        let unit = if v < 50.0 { "°C" } else { "°F" };
        out.push(("Temperature", format!("{} {unit}", &c[1])));
    }
    if let Some(c) = re(
        &BP,
        r"\bblood pressure\b[^.?!\d]{0,40}?(\d{2,3})\s*(?:over|/)\s*(\d{2,3})",
    )
    .and_then(|r| r.captures(&l))
    {
        out.push(("Blood pressure", format!("{}/{} mmHg", &c[1], &c[2])));
    }
    if let Some(c) =
        re(&HR, r"\b(?:heart rate|pulse)\b[^.?!\d]{0,25}?(\d{2,3})\b").and_then(|r| r.captures(&l))
    {
        out.push(("Heart rate", format!("{} bpm", &c[1])));
    }
    if let Some(c) = re(
        &RR,
        r"\b(?:respiratory rate|respirations|breathing rate)\b[^.?!\d]{0,25}?(\d{1,2})\b",
    )
    .and_then(|r| r.captures(&l))
    {
        out.push(("Respiratory rate", format!("{} breaths per minute", &c[1])));
    }
    if let Some(c) = re(
        &SPO2,
        r"\b(?:oxygen saturation|oxygen level|oxygen|o2 saturation|o2 sat|saturation|sats?|satting|pulse ox)\b[^.?!\d]{0,40}?(\d{2,3})\s*(?:%|percent)",
    )
    .and_then(|r| r.captures(&l))
    {
        out.push(("Oxygen saturation", format!("{}%", &c[1])));
    }
    if let Some(c) = re(
        &WT,
        r"\b(?:weight|weigh)\b[^.?!\d]{0,25}?(\d{2,3}(?:\.\d)?)\s*(pounds|lbs?|kilograms|kilos|kg)\b",
    )
    .and_then(|r| r.captures(&l))
    {
        let unit = if c[2].starts_with('k') { "kg" } else { "lb" };
        out.push(("Weight", format!("{} {unit}", &c[1])));
    }
    out
}

/// A clinician's statement rewritten for the note by its kind.
fn clinician_sentence(kind: FactKind, s: &str, g: Gender) -> String {
    static RULES: OnceLock<Vec<(FactKind, Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        use FactKind::*;
        [
            (Exam, r"(?i)^(?:on (?:your |physical )?exam(?:ination)?,?\s*)", ""),
            (Exam, r"(?i)^i (?:do not|don't|can't|cannot) (?:hear|see|feel|appreciate) (?:any )?", "no "),
            (Exam, r"(?i)^i (?:can |do )?(?:hear|see|feel|notice|appreciate) (?:that )?", ""),
            (Exam, r"(?i)^(?:it )?looks like ", ""),
            (Assessment, r"(?i)^(?:for your (?:first|next|last|second|third) problem,?\s*(?:of\s*)?)", ""),
            (Assessment, r"(?i)^i (?:think|believe|suspect) (?:that )?(?:you have|you've got|you are having|it's|it is|this is|you might have) ", ""),
            (Assessment, r"(?i)^(?:it )?(?:looks|sounds) like (?:you have |you've got )?", ""),
            (Assessment, r"(?i)^you have ", ""),
            (Assessment, r"(?i)^my (?:impression|assessment|diagnosis) is (?:that )?", ""),
            (Plan, r"(?i)^(?:so |and |also |now )?(?:i will|i'll|i'm going to|i am going to|i'm gonna|i (?:do )?(?:want to|wanna|would like to)(?: go ahead and)?(?: just)?|i'd like to(?: go ahead and)?(?: just)?) (?:give you|prescribe you|prescribe|put you on|start you on) ", "prescribed "),
            // "I'm also gonna go ahead and just order…", "we'll refer…": the
            // order itself, in the clinician's verb.
            (Plan, r"(?i)^(?:(?:so|and|also|now|okay|um|uh),? )*(?:i|we)(?:(?:'m|'re| am| are)(?: also| just)? (?:going to|gonna)|'ll| will|(?: also| just| do)? (?:want to|wanna|would like to|need to)|'d like to) (?:also |just )?(?:go ahead and )?(?:also |just )?(order|refer|start|continue|schedule|send|repeat|increase|decrease|stop|switch|recommend)\b", "$1"),
            (Plan, r"(?i)^(?:go ahead and |just )", ""),
            (Plan, r"(?i)^(?:please |i want you to |you should |you need to |i'd like you to |i would like you to |i wanna have you |make sure (?:you|to) )", "advised to "),
            (Plan, r"(?i)^order (?:an? |the |some )?", "ordered "),
            (Plan, r"(?i)^(?:so |and |also |now )?i (?:also )?(?:want|would like|'d like|wanna) (?:to )?(?:go ahead and )?(?:(?:order|get|do|have|repeat|check|schedule) )?(?:you )?(?:an? |the |some |another )", "ordered "),
            (Plan, r"(?i)^(?:let's|lets|we'll|we will|we're going to|we are going to|i will|i'll|i'm going to|i am going to|i'm gonna) ", ""),
            (Plan, r"(?i)^(?:continue|keep) you on ", "continue "),
            (FollowUp, r"(?i)^(?:please |i want you to |and )?(?:come )?back (?:and see me |to see me )?", "follow up "),
            (FollowUp, r"(?i)^(?:i'll|i will|we'll|we will) (?:see you|follow up with you|have you come back) ", "follow up "),
            (FollowUp, r"(?i)^(?:let's|we'll|we will|i'd like to|i want to) (?:have you )?(?:follow up|come back|see you) ", "follow up "),
        ]
        .into_iter()
        .filter_map(|(k, p, r)| Regex::new(p).ok().map(|re| (k, re, r)))
        .collect()
    });
    static TAG: OnceLock<Option<Regex>> = OnceLock::new();
    let mut out = strip_lead(&tidy(s));
    // A tag question at the end ("…, okay?") asks nothing.
    if let Some(tag) = re(
        &TAG,
        r"(?i)[,\s]+(?:okay|ok|all right|alright|right|you know|does that sound good|sound good)\s*[?.!]*$",
    ) {
        out = tag.replace(&out, ".").into_owned();
    }
    for (k, re, rep) in rules {
        if *k == kind {
            out = re.replace(&out, *rep).into_owned();
        }
    }
    // After "ordered", "continue" etc. the rest keeps the clinician's words.
    let mut out = text::third_person(&out, Voice::Clinician, g);
    // Advice reads better with "to" verbs: "advised to drink lots of water".
    if kind == FactKind::Plan {
        let l = out.to_lowercase();
        const IMPERATIVE: &[&str] = &[
            "drink ", "rest", "get ", "avoid ", "apply ", "use ", "ice ", "elevate ", "keep ",
            "try ", "call ", "go ", "stay ", "eat ", "walk ", "stretch", "wear ",
        ];
        // "Get her scheduled for an EGD" arranges something; it advises
        // nothing.
        let arranges = [
            "get him ",
            "get her ",
            "get them ",
            "get the patient ",
            "get that ",
            "get this ",
            "get it ",
        ]
        .iter()
        .any(|p| l.starts_with(p));
        if IMPERATIVE.iter().any(|v| l.starts_with(v)) && !arranges {
            out = format!("advised to {out}");
        }
    }
    text::as_sentence(&text::digits(&out))
}

/// Whether a clinician's rewritten statement says enough to stand in the
/// note: a few words, and for a plan or impression something clinical
/// (not "Just go ahead and we'll-").
fn worth_stating(kind: FactKind, sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    let n = sentence.split_whitespace().count();
    let least = if matches!(kind, FactKind::Plan | FactKind::FollowUp) {
        2
    } else {
        3
    };
    if n < least || lower.ends_with("-.") || lower.starts_with("show me") {
        return false;
    }
    // Talk about the visit, not a plan: "Talk a little bit about his
    // depression", "Look at his blood pressure".
    const NOT_PLAN: &[&str] = &[
        "talk",
        "look",
        "go over",
        "discuss",
        "review",
        "see ",
        "take a look",
        "check out",
        "listen",
        "examine",
        "do a ",
        "move on",
        "get started",
        "start with",
        "tell dax",
    ];
    if matches!(kind, FactKind::Plan | FactKind::Assessment)
        && NOT_PLAN.iter().any(|p| lower.starts_with(p))
    {
        return false;
    }
    static EXAM_LABEL: OnceLock<Option<Regex>> = OnceLock::new();
    if kind == FactKind::Exam
        && re(
            &EXAM_LABEL,
            r"^(?:on |in )?(?:the |your |his |her )?[a-z ]*(?:exam|examination)\.?$",
        )
        .is_some_and(|r| r.is_match(&lower))
    {
        return false;
    }
    const PLAN_WORDS: &[&str] = &[
        "prescri",
        "order",
        "refer",
        "start",
        "continue",
        "increase",
        "decrease",
        "stop",
        "schedule",
        "follow",
        "ice",
        "rest",
        "avoid",
        "exercise",
        "diet",
        "take",
        "drink",
        "apply",
        "therapy",
        "test",
        "x-ray",
        "xray",
        "mri",
        "scan",
        "ultrasound",
        "echo",
        "labs",
        "blood",
        "a1c",
        "panel",
        "injection",
        "surgery",
        "brace",
        "splint",
        "monitor",
        "check",
        "repeat",
        "medication",
        "dose",
        "weight",
        "walk",
        "sleep",
        "call",
        "return",
        "week",
        "month",
        "antibiotic",
        "cream",
        "inhaler",
        "vaccine",
        "shot",
    ];
    match kind {
        FactKind::Plan | FactKind::FollowUp => {
            has_clinical_content(&lower) || PLAN_WORDS.iter().any(|w| lower.contains(w))
        }
        FactKind::Assessment => n >= 3 && (has_clinical_content(&lower) || is_diagnosis(&lower)),
        FactKind::Exam | FactKind::Results => n >= 4,
        _ => true,
    }
}

fn is_diagnosis(lower: &str) -> bool {
    const DX: &[&str] = &[
        "itis",
        "osis",
        "emia",
        "pathy",
        "strain",
        "sprain",
        "fracture",
        "infection",
        "disease",
        "syndrome",
        "disorder",
        "arthritis",
        "hypertension",
        "diabetes",
        "depression",
        "anxiety",
        "tear",
        "injury",
        "failure",
        "cancer",
        "tumor",
        "mass",
        "cyst",
        "stone",
        "ulcer",
    ];
    DX.iter().any(|d| lower.contains(d))
}

/// What a clinician orders: tests, imaging, referrals, therapy.
const ORDER_NOUNS: &[&str] = &[
    "x-ray",
    "xray",
    "mri",
    "ct scan",
    "cat scan",
    "ultrasound",
    "echocardiogram",
    "echo",
    "ekg",
    "ecg",
    "labs",
    "lab work",
    "blood work",
    "bloodwork",
    "a1c",
    "panel",
    "referral",
    "physical therapy",
    "colonoscopy",
    "mammogram",
    "biopsy",
    "stress test",
    "urinalysis",
    "specialist",
    "injection",
    "vaccine",
];

/// The clinician's impression said as a likelihood ("it is probably a
/// sinus infection", "this is most likely a sprain", "we are looking at an
/// exposure secondary to a needlestick"): an opener that weighs a cause,
/// and a diagnosis named.
fn hedged_diagnosis(plain: &str) -> bool {
    const OPENERS: &[&str] = &[
        "it is probably",
        "it's probably",
        "it is likely",
        "it's likely",
        "it is most likely",
        "it's most likely",
        "this is probably",
        "this is likely",
        "this is most likely",
        "that is probably",
        "that's probably",
        "most likely",
        "probably",
        "we are looking at",
        "we're looking at",
        "what we're looking at",
        "it could be",
        "this could be",
        "it might be",
        "this might be",
        "it may be",
        "this may be",
    ];
    OPENERS.iter().any(|o| text::starts_with_phrase(plain, o)) && is_diagnosis(plain)
}

/// Which kind of clinician statement this is, if any.
fn clinician_kind(lower: &str, cues: &Cues, therapy: bool) -> Option<FactKind> {
    let st = &cues.statements;
    let any = |list: &[String]| list.iter().any(|p| text::has_phrase(lower, p));
    // An instruction during the exam ("take a deep breath for me") is not
    // a finding; in a long run of unpunctuated speech it is one clause
    // among findings that stay ("…just gonna take a listen here I do
    // appreciate a two out of six systolic murmur…").
    if (any(&st.exam_instruction) && text::words(lower).len() <= 15)
        || lower.trim_start().starts_with("show me")
    {
        return None;
    }
    if examines_now(lower) {
        return None;
    }
    // "I see we have you on Norvasc": a current medication, not a finding
    // — but "start you on", "put you on" order one.
    let starting = [
        "put you on",
        "start you on",
        "get you on",
        "switch you",
        "continue you on",
        "keep you on",
    ]
    .iter()
    .any(|p| text::has_phrase(lower, p));
    if !starting
        && text::words(lower).iter().any(|w| vocab::is_drug(w))
        && [
            "you on",
            "you're on",
            "you are on",
            "you're taking",
            "you take",
        ]
        .iter()
        .any(|p| text::has_phrase(lower, p))
    {
        return None;
    }
    let words = text::words(lower);
    let plain = strip_lead(lower)
        .to_lowercase()
        .replacen("i also ", "i ", 1)
        .replacen("we also ", "we ", 1)
        .replacen("i'll also ", "i'll ", 1)
        .replacen("i'm also ", "i'm ", 1)
        .replacen("we're also ", "we're ", 1)
        .replacen("we'll also ", "we'll ", 1);
    let starts = |p: &str| lower.starts_with(p) || plain.starts_with(p);
    if any(&st.follow_up)
        && (lower.contains("week")
            || lower.contains("month")
            || lower.contains("day")
            || lower.contains("sooner")
            || lower.contains("follow up")
            || lower.contains("come back"))
    {
        return Some(FactKind::FollowUp);
    }
    if therapy {
        if any(&cues.therapy.observation) {
            return Some(FactKind::Observations);
        }
        if any(&cues.therapy.intervention) {
            return Some(FactKind::Interventions);
        }
        if any(&cues.therapy.goal) && (lower.contains("goal") || lower.contains("work on")) {
            return Some(FactKind::Goals);
        }
    }
    let assess_start = starts("i think")
        || starts("i believe")
        || starts("i suspect")
        || starts("it looks like you have")
        || starts("it sounds like you have")
        || starts("my impression")
        || starts("my assessment")
        || starts("for your first problem")
        || starts("for your next problem")
        || lower.contains("diagnos")
        || lower.contains("consistent with")
        || hedged_diagnosis(&plain);
    let plan_start = [
        "order ",
        "prescribe",
        "refer ",
        "schedule",
        "increase",
        "decrease",
        "repeat",
        "i do want",
        "i do wanna",
        "i wanna",
        "we can prescribe",
        "we can start",
        "we can get",
        "i will",
        "i'll",
        "i'm going to",
        "i am going to",
        "i'm gonna",
        "we will",
        "we'll",
        "we're going to",
        "let's",
        "lets",
        "i want",
        "i would like",
        "i'd like",
        "please",
        "take ",
        "drink",
        "rest",
        "continue",
        "start",
        "stop",
        "avoid",
        "keep",
        "try ",
        "you should",
        "you need to",
        "make sure",
        "i recommend",
        "i'm prescribing",
        "i prescribe",
        "i'm ordering",
        "i ordered",
        "i'll order",
        "go ahead and",
        "use ",
        "apply ",
    ]
    .iter()
    .any(|p| starts(p));
    // An order said in passing ("…and we'll get you into physical therapy
    // a few weeks after surgery"): a test, imaging, referral or therapy
    // named with a verb that orders it, and no word that reports a result.
    const ORDER_VERBS: &[&str] = &[
        "order",
        "get",
        "schedule",
        "refer",
        "send",
        "set you up",
        "repeat",
        "check",
        "do",
        "have you see",
        "see a",
        "put in",
    ];
    const REPORTED: &[&str] = &[
        "showed",
        "shows",
        "came back",
        "revealed",
        "results show",
        "results were",
        "was normal",
        "were normal",
        "looked",
        "we did",
        "you had",
    ];
    let orders_something = ORDER_NOUNS.iter().any(|n| text::has_phrase(lower, n))
        && ORDER_VERBS.iter().any(|v| text::has_phrase(lower, v))
        && !REPORTED.iter().any(|r| text::has_phrase(lower, r));
    if orders_something && !assess_start {
        return Some(FactKind::Plan);
    }
    // A medication ordered in passing ("so that said i want you to go ahead
    // and continue your lisinopril twenty milligrams a day", "prescribe
    // protonix it's forty milligrams"): a drug named with a verb that
    // changes or keeps what the patient takes, and no result reported.
    const MED_VERBS: &[&str] = &[
        "continue",
        "start",
        "put you on",
        "prescribe",
        "increase",
        "decrease",
        "refill",
        "switch",
        "add",
        "stop",
        "discontinue",
        "go up on",
        "bump",
    ];
    let names_drug = words.iter().any(|w| vocab::is_drug(w));
    // Or dictated as a prescription: the drug with its dose and how often
    // ("okay, so tramadol, 50 milligrams, every six hours as needed",
    // "it's going to be mobic 15 milligrams, once a day").
    static PRESCRIPTION: OnceLock<Option<Regex>> = OnceLock::new();
    let prescribed = re(
        &PRESCRIPTION,
        r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|milligrams?|micrograms?|units?)\b.*\b(?:once|twice|three times|daily|a day|every|as needed|at night|at bedtime|in the morning)\b",
    )
    .is_some_and(|r| r.is_match(&text::digits(lower)));
    if names_drug
        && !assess_start
        && (MED_VERBS.iter().any(|v| text::has_phrase(lower, v)) || prescribed)
        && !REPORTED.iter().any(|r| text::has_phrase(lower, r))
    {
        return Some(FactKind::Plan);
    }
    let result = any(&st.results) && any(&st.result_reported) && !plan_start;
    if result {
        return Some(FactKind::Results);
    }
    if assess_start && !plan_start {
        return Some(FactKind::Assessment);
    }
    if plan_start && (any(&st.plan) || st.plan.iter().any(|p| text::has_phrase(&plain, p))) {
        return Some(FactKind::Plan);
    }
    if any(&st.exam)
        && (starts("i hear")
            || starts("i can hear")
            || starts("i see")
            || starts("i feel")
            || starts("on exam")
            || starts("your ")
            || starts("there is")
            || starts("there's")
            || starts("i don't")
            || starts("i do not")
            || starts("i can see")
            || starts("i notice")
            || starts("you have")
            || words.iter().any(|w| w == "exam"))
    {
        return Some(FactKind::Exam);
    }
    if starts("you have") && has_clinical_content(lower) {
        return Some(FactKind::Assessment);
    }
    if words.iter().any(|w| w.ends_with("year-old")) || lower.contains("presents") {
        return Some(FactKind::History);
    }
    // Dictated history, the patient named in the third person: "She was
    // increasingly dyspneic", "The patient is not currently on a potassium
    // supplement", "He had an abdominal CT on 1/23/2020".
    let third_person = [
        "he ",
        "she ",
        "he's ",
        "she's ",
        "his ",
        "her ",
        "the patient ",
        "patient ",
    ]
    .iter()
    .any(|p| starts(p));
    if third_person && has_clinical_content(lower) {
        return Some(FactKind::History);
    }
    // Dictated history: "The patient reports chest pain…".
    let dictated = [
        "the patient",
        "patient reports",
        "he reports",
        "she reports",
        "complains of",
        "he has",
        "she has",
        "he's had",
        "she's had",
    ]
    .iter()
    .any(|p| text::has_phrase(lower, p));
    if dictated && !symptoms_in(lower).is_empty() {
        return Some(FactKind::History);
    }
    None
}

/// The clinician saying what they examine next, a body part as object
/// ("check the throat", "first palpate the chest", "I'd like to
/// physically examine the rectal area"): a step of the examination, never
/// a plan — unless something is ordered or timed ("check your kidney
/// function again in 3 months", "check an x-ray of the knee").
fn examines_now(lower: &str) -> bool {
    static EXAMINE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(r) = re(
        &EXAMINE,
        r"^(?:(?:first|now|next|quickly|just|so|okay|ok|then|and)[,]?\s+)*(?:(?:let me|let's|i'll|i will|i'm going to|i am going to|i'm gonna|i would like to|i'd like to|i want to|we'll|we will|we're going to|we are going to|we're gonna)\s+)?(?:(?:just|quickly|quick|also|now|physically|first)\s+)*(?:check|palpate|touch|examine|inspect|feel|look at|listen to|press on)\b",
    ) else {
        return false;
    };
    let words = text::words(lower);
    r.is_match(lower.trim_start())
        && words.len() <= 15
        && words.iter().any(|w| vocab::is_body_part(w))
        && !words.iter().any(|w| vocab::is_drug(w))
        && !ORDER_NOUNS.iter().any(|n| text::has_phrase(lower, n))
        && ![
            "ct",
            "scan",
            "lab",
            "blood",
            "function",
            "level",
            "levels",
            "test",
            "week",
            "weeks",
            "month",
            "months",
            "again",
            "visit",
            "follow",
            "next time",
            "year",
            "sugar",
            "pressure",
        ]
        .iter()
        .any(|w| text::has_phrase(lower, w))
}

/// Reads facts from the utterances.
pub fn facts(utts: &[Utterance], g: Gender, cues: &Cues, therapy: bool) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    let mut consumed = vec![false; utts.len()];
    // The symptom the visit is talking about, for "it" in an answer.
    let mut topic: Option<String> = None;
    for i in 0..utts.len() {
        if consumed[i] {
            continue;
        }
        let u = &utts[i];
        let next = utts.get(i + 1);
        // The clinician's question this sentence answers, if it follows one.
        let question = if i > 0 && utts[i - 1].role == Role::Clinician && utts[i - 1].question {
            Some(&utts[i - 1])
        } else {
            None
        };
        let q_symptoms = question.map(|q| symptoms_in(&q.lower)).unwrap_or_default();
        if let Some((name, _)) = q_symptoms.first() {
            topic = Some(name.clone());
        }
        match u.role {
            Role::Patient => {
                if u.question || is_pleasantry(&u.lower, cues) {
                    if let (Some(q), Some(yes)) = (question, answer(&u.lower, cues)) {
                        for (name, _) in &q_symptoms {
                            out.push(symptom_fact(name, yes, vec![q.segment, u.segment]));
                        }
                    }
                    continue;
                }
                if let Some(f) = allergy(u, next) {
                    if f.segments.len() > 1 {
                        consumed[i + 1] = true;
                    }
                    out.push(f);
                    continue;
                }
                let meds = medications(u);
                if !meds.is_empty() {
                    out.extend(meds);
                    continue;
                }
                let yes_no = answer(&u.lower, cues);
                let rest = strip_lead(&tidy(&u.text));
                let rest_lower = rest.to_lowercase();
                let own = symptoms_in(&rest_lower);
                if let (Some(q), Some(yes)) = (question, yes_no) {
                    for (name, _) in &q_symptoms {
                        if !own.iter().any(|(n, _)| n == name) {
                            out.push(symptom_fact(name, yes, vec![q.segment, u.segment]));
                        }
                    }
                }
                if rest.split_whitespace().count() < 4 || !has_clinical_content(&rest_lower) {
                    continue;
                }
                let before_topic = topic.clone();
                // Each symptom the sentence names, with its own polarity.
                let mut all_denied = !own.is_empty();
                for (name, at) in &own {
                    let denied = negated_at(&rest_lower, *at, cues);
                    if !denied {
                        all_denied = false;
                    }
                    out.push(symptom_fact(name, !denied, vec![u.segment]));
                    topic = Some(name.clone());
                }
                if all_denied {
                    continue;
                }
                if is_side_normal(&rest_lower) || (yes_no != Some(true) && !has_verb(&rest_lower)) {
                    continue;
                }
                let sentence = patient_sentence(&rest, yes_no, before_topic.as_deref(), g);
                let kind = if therapy {
                    if cues
                        .therapy
                        .response
                        .iter()
                        .any(|p| text::has_phrase(&rest_lower, p))
                    {
                        FactKind::Response
                    } else if cues
                        .therapy
                        .goal
                        .iter()
                        .any(|p| text::has_phrase(&rest_lower, p))
                    {
                        FactKind::Goals
                    } else {
                        FactKind::ClientReport
                    }
                } else {
                    FactKind::History
                };
                out.push(Fact {
                    kind,
                    sentence,
                    segments: vec![u.segment],
                    detail: Detail::None,
                });
            }
            Role::Clinician => {
                if u.question {
                    continue;
                }
                // The chart read aloud: "I have that you're allergic to
                // penicillin".
                if ["you're allergic to", "you are allergic to"]
                    .iter()
                    .any(|p| text::has_phrase(&u.lower, p))
                {
                    if let Some(f) = allergy(u, None) {
                        out.push(f);
                        continue;
                    }
                }
                let found = vitals(&u.lower);
                if !found.is_empty() {
                    for (name, value) in found {
                        out.push(Fact {
                            kind: FactKind::Vitals,
                            sentence: format!("{name} {value}."),
                            segments: vec![u.segment],
                            detail: Detail::Vital {
                                name: name.to_string(),
                                value,
                            },
                        });
                    }
                    continue;
                }
                if is_pleasantry(&u.lower, cues) {
                    continue;
                }
                let Some(kind) = clinician_kind(&u.lower, cues, therapy) else {
                    // A drug the patient is on, as the clinician says it
                    // ("I see you're on Norvasc").
                    let starting = ["put you on", "start you on", "get you on", "switch you"]
                        .iter()
                        .any(|p| text::has_phrase(&u.lower, p));
                    if !u.question
                        && !starting
                        && (text::has_phrase(&u.lower, "you on")
                            || text::has_phrase(&u.lower, "you're on")
                            || text::has_phrase(&u.lower, "you are on")
                            || text::has_phrase(&u.lower, "you're taking")
                            || text::has_phrase(&u.lower, "you take"))
                    {
                        out.extend(medications(u));
                    }
                    continue;
                };
                let sentence = clinician_sentence(kind, &u.text, g);
                if !worth_stating(kind, &sentence) {
                    continue;
                }
                if kind == FactKind::History {
                    for (name, at) in symptoms_in(&u.lower) {
                        let denied = negated_at(&u.lower, at, cues);
                        out.push(symptom_fact(&name, !denied, vec![u.segment]));
                    }
                }
                out.push(Fact {
                    kind,
                    sentence,
                    segments: vec![u.segment],
                    detail: Detail::None,
                });
            }
        }
    }
    out
}

/// Whether a statement has a verb (a fragment such as "4 to 5 miles a
/// day" answers a question the note does not repeat).
fn has_verb(lower: &str) -> bool {
    const VERBS: &[&str] = &[
        "is", "are", "was", "were", "am", "be", "been", "has", "have", "had", "feel", "feels",
        "felt", "get", "gets", "got", "take", "takes", "took", "started", "hurts", "hurt", "do",
        "does", "did", "can", "could", "will", "would", "i'm", "it's", "i've", "go", "went", "use",
        "noticed", "think", "tried", "says", "said", "keeps", "comes", "goes", "gonna", "wake",
        "sleep", "eat", "drink", "walk", "run", "need", "want", "like", "know",
    ];
    text::words(lower).iter().any(|w| {
        VERBS.contains(&w.as_str()) || (w.len() > 4 && w.ends_with("ed")) || w.ends_with("n't")
    })
}

/// "The right ear is fine": the other side said to be well, which the note
/// does not need (and which reads as a contradiction beside the side that
/// is not).
fn is_side_normal(lower: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    re(
        &RE,
        r"^(?:but |and )?(?:the|my) (?:other|left|right)? ?[a-z]+ (?:is|are|feels|seems) (?:fine|ok|okay|good|normal|all right|alright)\.?$",
    )
    .is_some_and(|r| r.is_match(lower.trim()))
}

fn symptom_fact(name: &str, present: bool, mut segments: Vec<u32>) -> Fact {
    segments.dedup();
    Fact {
        kind: FactKind::SymptomsReviewed,
        sentence: if present {
            format!("Reports {name}.")
        } else {
            format!("Denies {name}.")
        },
        segments,
        detail: Detail::Symptom {
            name: name.to_string(),
            present,
        },
    }
}

/// A patient's statement in the note's words: "I have had a cough" →
/// "Reports a cough"; "It started last Monday" → "The cough started last
/// Monday"; others in the third person.
fn patient_sentence(rest: &str, yes_no: Option<bool>, topic: Option<&str>, g: Gender) -> String {
    static REPORTS: OnceLock<Option<Regex>> = OnceLock::new();
    static DENIES: OnceLock<Option<Regex>> = OnceLock::new();
    static FEEL: OnceLock<Option<Regex>> = OnceLock::new();
    static IT: OnceLock<Option<Regex>> = OnceLock::new();
    static HURTS: OnceLock<Option<Regex>> = OnceLock::new();
    let s = text::digits(rest);
    if let Some(c) = re(
        &REPORTS,
        r"(?i)^i(?:'ve| have)? (?:also )?(?:had|have|got|been having|am having|'m having|have been having|noticed|developed) (.+)$",
    )
    .and_then(|r| r.captures(&s))
    {
        let what = &c[1];
        if !what.starts_with("no ") && !what.starts_with("not ") && !what.starts_with("to ") {
            return text::as_sentence(&format!(
                "Reports {}",
                text::third_person(what, Voice::Patient, g)
            ));
        }
    }
    if let Some(c) = re(
        &DENIES,
        r"(?i)^i (?:have no|don't have any|don't have|haven't had any|haven't had|have not had|did not have|didn't have) (.+)$",
    )
    .and_then(|r| r.captures(&s))
    {
        return text::as_sentence(&format!(
            "Denies {}",
            text::third_person(&c[1], Voice::Patient, g)
        ));
    }
    if let Some(c) = re(
        &FEEL,
        r"(?i)^i (?:also )?(?:feel|felt|am feeling|'m feeling) (.+)$",
    )
    .and_then(|r| r.captures(&s))
    {
        return text::as_sentence(&format!(
            "Reports feeling {}",
            text::third_person(&c[1], Voice::Patient, g)
        ));
    }
    if let Some(c) = re(
        &HURTS,
        r"(?i)^my ((?:left |right )?[a-z]+) (?:also |really |still )?(?:hurts|is sore|has been hurting|aches)(?: me)?(.*)$",
    )
    .and_then(|r| r.captures(&s))
    {
        let rest = text::third_person(&c[2], Voice::Patient, g);
        let sep = if rest.starts_with([',', '.', ';']) || rest.is_empty() {
            ""
        } else {
            " "
        };
        return text::as_sentence(&format!("Reports {} pain{sep}{rest}", &c[1]));
    }
    let mut s = s;
    // "It" as the symptom talked about: "it started Monday", "it's worse
    // at night", "it's like a deep ache". An "it" before anything else
    // stands for nothing in particular ("it's really hard to move this
    // hand", "it's pretty heavy labor") and stays.
    let leading_it = re(
        &IT,
        r"(?i)^it(?:(?: started| began| gets| has| comes| goes)\b|(?:'s| is| was| has been)\s+(?:(?:really|very|a little bit|a little|a bit|just|kind of|kinda|pretty|still|also|usually|always|mostly|mainly|only|more|less|even|much|so|almost|sometimes|definitely|not|probably|gradually)\s+)*(?:worse|going away|coming back|coming and going|every|better|bad|worst|sharp|dull|constant|painful|sore|swollen|red|itchy|tender|severe|mild|intermittent|burning|throbbing|stabbing|achy|aching|been|getting|gotten|on and off|off and on|like|a (?:sharp|dull|burning|throbbing|stabbing|achy|aching|constant|deep)|about|around|here|there|along|in|on|at|over|under|behind|right|up|down|from|located|all the time|\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b)",
    )
    .is_some_and(|r| r.is_match(&s));
    if let (Some(t), true) = (topic, leading_it) {
        s = format!("the {t}{}", &s[2..]);
        if s.starts_with(&format!("the {t}'s")) {
            // "It's been two weeks" is "has been"; "it's worse", "is".
            let rest = &s[t.len() + 6..];
            let has = rest
                .split_whitespace()
                .take(3)
                .any(|w| matches!(w, "been" | "gotten" | "got"));
            let verb = if has { "has" } else { "is" };
            s = format!("the {t} {verb}{rest}");
        }
    }
    // "Yeah, just once in a while" is written "Reports just once in a
    // while": the "yes" is the "Reports". Only an assenting particle goes;
    // a leading "no" can be the finding's own ("no pain at all").
    if yes_no == Some(true) {
        static YES: OnceLock<Option<Regex>> = OnceLock::new();
        if let Some(yes) = re(
            &YES,
            r"(?i)^(?:(?:yes|yeah|yep|yup|sure|absolutely)[,.!]?\s+)+(?:(?:so|well|and|okay|ok)[,]?\s+)*",
        ) {
            let kept = yes.replace(&s, "").into_owned();
            if !kept.trim().is_empty() {
                s = kept;
            }
        }
    }
    let body = text::third_person(&s, Voice::Patient, g);
    if yes_no == Some(true) && !starts_with_subject(&body) {
        return text::as_sentence(&format!("Reports {body}"));
    }
    text::as_sentence(&body)
}

fn starts_with_subject(s: &str) -> bool {
    let l = s.to_lowercase();
    [
        "he ", "she ", "the ", "it", "they", "his ", "her ", "there", "we ", "this", "that", "on ",
        "in ", "at ", "every", "last", "when", "if ",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spoken_okay_or_alright_opens_nothing() {
        // Recognised speech runs "okay" into what follows, with no comma.
        assert_eq!(
            strip_lead("Okay so on physical examination there is no tenderness"),
            "on physical examination there is no tenderness"
        );
        assert_eq!(
            strip_lead("okay do you notice any blood"),
            "do you notice any blood"
        );
        assert_eq!(
            strip_lead("Alright, the x-ray is normal"),
            "the x-ray is normal"
        );
        // A question stays a question once its opener is gone, and is left out.
        assert!(crate::is_question(&strip_lead(
            "Okay do you notice any blood."
        )));
        // "Right" as a side is kept unless it answers ("right." / "right,").
        assert_eq!(strip_lead("right knee pain"), "right knee pain");
    }

    #[test]
    fn a_denial_carries_through_an_or() {
        // Not from any evaluation set.
        let c = crate::cues::cues();
        let neg = |s: &str, w: &str| negated_at(s, find_phrase(s, w).unwrap(), c);
        let s = "i never had any chest pain or any kind of shortness of breath";
        assert!(neg(s, "chest pain") && neg(s, "shortness of breath"));
        let s = "i don't remember a fever or chills or really any sort of a rash";
        assert!(neg(s, "fever") && neg(s, "rash"));
        // Far from its cue with no "or" between, a finding is not denied...
        let s = "no fever since the weekend and then the whole family got a rash";
        assert!(neg(s, "fever") && !neg(s, "rash"));
        // ...nor across "but" or a clause break.
        let s = "no fever or chills but i do have a rash";
        assert!(neg(s, "chills") && !neg(s, "rash"));
        let s = "not much fever, or at least i have a bad cough";
        assert!(!neg(s, "cough"));
        // A quantity of it says it is there.
        let s = "no headache some dizziness in the mornings";
        assert!(neg(s, "headache") && !neg(s, "dizziness"));
    }

    #[test]
    fn a_denial_said_in_full_is_no_yes() {
        // Not from any evaluation set: "i have not" begins with "i have".
        let c = crate::cues::cues();
        for s in [
            "i have not.",
            "i do not, no.",
            "i did not notice any",
            "i've not had that",
        ] {
            assert_eq!(answer(s, c), Some(false), "{s}");
        }
        for s in ["i have, yes.", "i do sometimes", "i did last week"] {
            assert_eq!(answer(s, c), Some(true), "{s}");
        }
    }

    #[test]
    fn a_spoken_apology_that_corrects_opens_nothing() {
        // A speaker correcting themselves: "I'm sorry, amoxicillin…".
        assert_eq!(
            strip_lead("I'm sorry, ibuprofen 400 mg twice a day"),
            "ibuprofen 400 mg twice a day"
        );
        assert_eq!(strip_lead("Excuse me, the left ankle"), "the left ankle");
        // Sympathy is not a correction: without its comma it stays whole.
        assert_eq!(
            strip_lead("I'm sorry to hear that"),
            "I'm sorry to hear that"
        );
    }

    #[test]
    fn an_impression_said_as_a_likelihood_is_the_assessment() {
        // Not from any evaluation set.
        let c = crate::cues::cues();
        for s in [
            "it's probably a pulled muscle strain from the move.",
            "this is most likely a viral infection.",
            "we're looking at a stress fracture of the second metatarsal.",
        ] {
            assert_eq!(
                clinician_kind(s, c, false),
                Some(FactKind::Assessment),
                "{s}"
            );
        }
        // A likelihood that names no diagnosis is not one.
        assert!(!hedged_diagnosis("it's probably going to rain later."));
        assert!(!hedged_diagnosis("probablyinfection"));
    }

    #[test]
    fn the_clinician_saying_what_they_examine_is_no_plan() {
        // Not from any evaluation set.
        let c = crate::cues::cues();
        for s in [
            "check the throat.",
            "now palpate the abdomen.",
            "i'd like to physically examine the left shoulder.",
            "first let me feel the lymph nodes in your neck.",
        ] {
            assert!(examines_now(s), "{s}");
            assert_eq!(clinician_kind(s, c, false), None, "{s}");
        }
        for s in [
            "check your kidney function again in 3 months.",
            "we'll check an x-ray of the knee.",
            "check your blood sugar every morning.",
        ] {
            assert!(!examines_now(s), "{s}");
        }
    }

    #[test]
    fn an_answer_particle_without_its_comma_opens_nothing() {
        // Unpunctuated speech, not from any evaluation set.
        assert_eq!(
            strip_lead("yeah I twisted it getting off the bus"),
            "I twisted it getting off the bus"
        );
        assert_eq!(
            strip_lead("no my sister drove me here"),
            "my sister drove me here"
        );
        assert_eq!(strip_lead("yes so I took two"), "I took two");
        // A particle before a noun is part of what is said.
        assert_eq!(strip_lead("no fever at all"), "no fever at all");
        assert_eq!(strip_lead("right ankle mostly"), "right ankle mostly");
    }

    #[test]
    fn an_assenting_particle_is_the_reports() {
        // Not from any evaluation set.
        let g = Gender::Unknown;
        assert_eq!(
            patient_sentence("yeah mostly after meals", Some(true), None, g),
            "Reports mostly after meals."
        );
        // A leading "no" stays: it can be the finding's own.
        assert_eq!(
            patient_sentence("no swelling since Friday", Some(false), None, g),
            "No swelling since Friday."
        );
    }

    #[test]
    fn an_it_that_stands_for_nothing_is_not_the_symptom() {
        // Not from any evaluation set.
        let g = Gender::Unknown;
        assert_eq!(
            patient_sentence("It's really hard to climb stairs", None, Some("cough"), g),
            "It's really hard to climb stairs."
        );
        assert_eq!(
            patient_sentence("It is worse after dinner", None, Some("heartburn"), g),
            "The heartburn is worse after dinner."
        );
        assert_eq!(
            patient_sentence("It's really been bad since Sunday", None, Some("rash"), g),
            "The rash has really been bad since Sunday."
        );
        assert_eq!(
            patient_sentence("It's gotten worse", None, Some("wheezing"), g),
            "The wheezing has gotten worse."
        );
    }

    #[test]
    fn an_instruction_during_the_exam_is_no_finding_but_hides_none() {
        // Not from any evaluation set.
        let c = crate::cues::cues();
        assert_eq!(
            clinician_kind("let me take a quick listen to your chest.", c, false),
            None
        );
        assert_eq!(
            clinician_kind("okay take a deep breath for me.", c, false),
            None
        );
        // One clause of a long unpunctuated run: the findings around it stay.
        assert_eq!(
            clinician_kind(
                "on your heart exam just going to take a listen here i do hear a soft systolic murmur that we heard before and your lungs are clear bilaterally",
                c,
                false
            ),
            Some(FactKind::Exam)
        );
    }

    #[test]
    fn history_the_clinician_dictates_about_the_patient_is_history() {
        // Not from any evaluation set.
        let c = crate::cues::cues();
        for s in [
            "she was short of breath walking up one flight of stairs last month.",
            "the patient is not currently taking any iron supplement.",
            "he had a knee x-ray at another clinic in june.",
        ] {
            assert_eq!(clinician_kind(s, c, false), Some(FactKind::History), "{s}");
        }
        // Without clinical content, a third-person aside is nothing.
        assert_eq!(clinician_kind("she is here with her son.", c, false), None);
    }

    #[test]
    fn orders_and_prescriptions_are_plan() {
        let c = crate::cues::cues();
        for s in [
            "i also wanna go ahead and just order an autoimmune panel.",
            "order an autoimmune panel.",
            "and prescribe some ultram 50 milligrams every six hours as needed.",
        ] {
            let k = clinician_kind(s, c, false);
            assert_eq!(k, Some(FactKind::Plan), "{s}");
            let out = clinician_sentence(FactKind::Plan, s, Gender::Male);
            assert!(worth_stating(FactKind::Plan, &out), "{s} -> {out}");
        }
    }

    #[test]
    fn a_plan_is_written_as_the_order_itself() {
        // Not from any evaluation set.
        for (said, note) in [
            (
                "i'm also gonna go ahead and just order some thyroid labs.",
                "Ordered thyroid labs.",
            ),
            (
                "we'll refer you to dermatology for the mole.",
                "Refer him to dermatology for the mole.",
            ),
            (
                "so i want to go ahead and increase the amlodipine to 10 milligrams.",
                "Increase the amlodipine to 10 mg.",
            ),
            (
                "i'd like to continue the inhaler as needed.",
                "Continue the inhaler as needed.",
            ),
            (
                "we'll get you scheduled for a colonoscopy.",
                "Get him scheduled for a colonoscopy.",
            ),
            ("get plenty of rest.", "Advised to get plenty of rest."),
            (
                "i do wanna increase her lisinopril to 40 milligrams a day.",
                "Increase her lisinopril to 40 mg a day.",
            ),
            (
                "i wanna go ahead and prescribe naproxen 500 milligrams twice a day.",
                "Prescribed naproxen 500 mg twice a day.",
            ),
        ] {
            assert_eq!(clinician_sentence(FactKind::Plan, said, Gender::Male), note);
        }
    }
}
