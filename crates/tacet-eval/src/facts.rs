//! A fact-level score that ROUGE misses. From each reference note: the
//! medications with a dose, the vital signs, the allergies and the plan's
//! orders (tests, imaging, referrals, therapy, follow-up), each kept only
//! when the dialogue states it too. Recall is the share of those the draft
//! holds; "unsupported" counts the draft's own facts of the same kinds
//! (drug with dose, vital value, allergen, order) that the dialogue never
//! states, which must be 0.

use tacet_core::Transcript;

/// Orders a plan names: each a set of spellings, the first its name.
const ORDERS: &[&[&str]] = &[
    &["x-ray", "xray", "x ray", "radiograph"],
    &["mri"],
    &["ct scan", "cat scan", "ct of"],
    &["ultrasound"],
    &["echocardiogram", "echo"],
    &["ekg", "ecg", "electrocardiogram"],
    &["blood work", "bloodwork", "labs", "lab work", "blood test"],
    &["a1c", "hemoglobin a1c"],
    &["physical therapy"],
    &["referral", "refer"],
    &["colonoscopy"],
    &["mammogram"],
    &["biopsy"],
    &["stress test"],
    &["urinalysis", "urine test"],
];

const VITALS: &[&str] = &["heart rate", "pulse", "temperature", "oxygen"];

/// One kind of fact: its key (what must be found) by kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Dose(String, String),
    Vital(String),
    Allergy(String),
    Order(String),
}

/// Counts for one note.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FactCounts {
    /// Reference facts the dialogue also states.
    pub stated: usize,
    /// Of those, the ones the draft has.
    pub found: usize,
    /// Facts the draft states (of the kinds scored).
    pub drafted: usize,
    /// Of those, the ones the dialogue does not state.
    pub unsupported: usize,
}

impl FactCounts {
    pub fn add(&mut self, o: &FactCounts) {
        self.stated += o.stated;
        self.found += o.found;
        self.drafted += o.drafted;
        self.unsupported += o.unsupported;
    }
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '/' || c == '-'))
        .map(|w| w.trim_matches(['.', '-']).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

fn spoken_numbers(text: &str) -> String {
    // The dialogue says "twenty milligrams" or "120 over 80".
    let mut out = Vec::new();
    for w in text.to_lowercase().split_whitespace() {
        let v = match w.trim_matches(|c: char| !c.is_alphanumeric()) {
            "one" => "1",
            "two" => "2",
            "three" => "3",
            "four" => "4",
            "five" => "5",
            "six" => "6",
            "seven" => "7",
            "eight" => "8",
            "nine" => "9",
            "ten" => "10",
            "twenty" => "20",
            "forty" => "40",
            "fifty" => "50",
            _ => w,
        };
        out.push(v.to_string());
    }
    out.join(" ").replace(" over ", "/")
}

/// How far after a drug's name its dose may come: a note writes "lisinopril
/// 20 mg", a dialogue says "the lisinopril, i think we have you on twenty
/// milligrams".
#[derive(Clone, Copy)]
enum Reach {
    Written,
    Spoken,
}

impl Reach {
    fn words(self) -> usize {
        match self {
            Reach::Written => 4,
            Reach::Spoken => 8,
        }
    }
}

fn keys(text: &str, reach: Reach) -> Vec<Key> {
    // Spoken numbers as digits on every side alike ("one twenty over
    // eighty", "twenty milligrams"), so a draft is not scored against the
    // way a number was said.
    let lower = spoken_numbers(&tacet_facts::text::spoken_measures(
        &tacet_facts::text::digits(&tacet_facts::text::spoken_points(text)),
    ))
    .replace("o2 sat", "oxygen")
    .replace("pulse ox", "oxygen")
    // "you're satting at 98", "your sat at 98": the saturation, said short.
    .replace("satting", "oxygen")
    .replace(" sat at ", " oxygen at ");
    let mut out = Vec::new();
    // A dose belongs to the drug of its own sentence.
    for sentence in lower
        .split(['\n', ';', '!', '?'])
        .flat_map(|l| l.split(". "))
    {
        sentence_keys(sentence, reach, &mut out);
    }
    // Every mention of a vital sign: "everything looks good including your
    // oxygen saturation" may come before "your oxygen was 98 percent".
    for v in VITALS {
        for (at, _) in lower.match_indices(v) {
            let rest: String = lower[at + v.len()..].chars().take(40).collect();
            if let Some(n) = words(&rest).into_iter().find(|x| {
                x.len() >= 2
                    && x.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && !x.contains('/')
            }) {
                out.push(Key::Vital(format!("{v} {n}")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn sentence_keys(lower: &str, reach: Reach, out: &mut Vec<Key>) {
    let ws = words(lower);
    for (i, w) in ws.iter().enumerate() {
        if tacet_ground::vocab::is_drug(w) {
            let generic = tacet_ground::vocab::generic(w);
            // "fifty milligrams of ultram": the dose right before.
            let at = |k: usize| {
                i.checked_sub(k)
                    .and_then(|j| ws.get(j))
                    .map(String::as_str)
                    .unwrap_or("")
            };
            let (unit, n) = if at(1) == "of" {
                (at(2), at(3))
            } else {
                (at(1), at(2))
            };
            if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                if let Some((u, true)) = tacet_ground::vocab::unit_of(unit) {
                    out.push(Key::Dose(generic.clone(), format!("{n} {u}")));
                }
            }
            // A dose within the next few words, before another drug.
            for (k, n) in ws.iter().enumerate().skip(i + 1).take(reach.words()) {
                if tacet_ground::vocab::is_drug(n) {
                    break;
                }
                if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                    let unit = ws.get(k + 1).map(String::as_str).unwrap_or("");
                    if let Some((u, true)) = tacet_ground::vocab::unit_of(unit) {
                        out.push(Key::Dose(generic.clone(), format!("{n} {u}")));
                    } else if n.ends_with("mg") {
                        out.push(Key::Dose(
                            generic.clone(),
                            format!("{} mg", n.trim_end_matches("mg")),
                        ));
                    }
                    break;
                }
            }
        }
        if w.contains('/') {
            let parts: Vec<&str> = w.split('/').collect();
            if parts.len() == 2
                && parts
                    .iter()
                    .all(|p| p.len() >= 2 && p.chars().all(|c| c.is_ascii_digit()))
            {
                out.push(Key::Vital(w.clone()));
            }
        }
        if w.starts_with("allerg") {
            for a in ws.iter().skip(i + 1).take(3) {
                if tacet_ground::vocab::is_drug(a)
                    || matches!(
                        a.as_str(),
                        "sulfa" | "latex" | "penicillin" | "codeine" | "shellfish" | "peanuts"
                    )
                {
                    out.push(Key::Allergy(tacet_ground::vocab::generic(a)));
                }
            }
        }
    }
}

fn order_keys(text: &str) -> Vec<Key> {
    let lower = text.to_lowercase();
    ORDERS
        .iter()
        .filter(|spellings| spellings.iter().any(|s| has_word(&lower, s)))
        .map(|s| Key::Order(s[0].to_string()))
        .collect()
}

fn has_word(lower: &str, w: &str) -> bool {
    lower.match_indices(w).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + w.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
    })
}

/// The plan part of a reference note (from a heading naming the plan on),
/// where its orders are.
fn plan_part(note: &str) -> &str {
    let upper = note.to_uppercase();
    upper.find("PLAN").map(|at| &note[at..]).unwrap_or("")
}

/// Whether `key` is in `text`'s keys (a dose by drug and amount, a vital by
/// its value).
fn has_key(text_keys: &[Key], key: &Key) -> bool {
    text_keys.iter().any(|k| match (k, key) {
        (Key::Vital(a), Key::Vital(b)) => a == b || a.rsplit(' ').next() == b.rsplit(' ').next(),
        _ => k == key,
    })
}

/// The reference facts the draft misses and the draft's facts the dialogue
/// does not state, as short labels (public data-set words; for reading
/// misses on the evaluation data only).
pub fn fact_misses(
    reference: &str,
    draft_text: &str,
    transcript: &Transcript,
) -> (Vec<String>, Vec<String>) {
    let (stated, draft_keys, said) = fact_sets(reference, draft_text, transcript);
    let missed = stated
        .iter()
        .filter(|k| !has_key(&draft_keys, k))
        .map(|k| format!("{k:?}"))
        .collect();
    let unsupported = draft_keys
        .iter()
        .filter(|k| !has_key(&said, k))
        .map(|k| format!("{k:?}"))
        .collect();
    (missed, unsupported)
}

fn fact_sets(
    reference: &str,
    draft_text: &str,
    transcript: &Transcript,
) -> (Vec<Key>, Vec<Key>, Vec<Key>) {
    let dialogue = transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" \n");
    let mut said = keys(&dialogue, Reach::Spoken);
    said.extend(order_keys(&dialogue));
    let mut reference_keys = keys(reference, Reach::Written);
    reference_keys.extend(order_keys(plan_part(reference)));
    let mut draft_keys = keys(draft_text, Reach::Written);
    draft_keys.extend(order_keys(draft_text));
    let stated = reference_keys
        .into_iter()
        .filter(|k| has_key(&said, k))
        .collect();
    (stated, draft_keys, said)
}

/// Scores one draft against its reference and dialogue.
pub fn fact_counts(reference: &str, draft_text: &str, transcript: &Transcript) -> FactCounts {
    let (stated, draft_keys, said) = fact_sets(reference, draft_text, transcript);
    let found = stated.iter().filter(|k| has_key(&draft_keys, k)).count();
    let unsupported = draft_keys.iter().filter(|k| !has_key(&said, k)).count();
    FactCounts {
        stated: stated.len(),
        found,
        drafted: draft_keys.len(),
        unsupported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doses_vitals_allergies_and_orders_are_counted() {
        let t = crate::transcript_from_dialogue(
            "[doctor] your blood pressure is 120 over 80 .\n[patient] i take lisinopril twenty milligrams . i'm allergic to penicillin .\n[doctor] let's get an x-ray .",
        );
        let reference = "HPI\n\nTakes lisinopril 20 mg. Allergic to penicillin.\n\nEXAM\n\nBlood pressure 120/80.\n\nASSESSMENT AND PLAN\n\nX-ray ordered. MRI ordered.";
        let c = fact_counts(
            reference,
            "Lisinopril 20 mg daily. BP 120/80. Order an x-ray.",
            &t,
        );
        // lisinopril 20 mg, 120/80, penicillin, x-ray stated (MRI is not said).
        assert_eq!(c.stated, 4, "{c:?}");
        assert_eq!(c.found, 3, "{c:?}");
        assert_eq!(c.unsupported, 0);
        let wrong = fact_counts(reference, "Lisinopril 40 mg daily. Get an MRI.", &t);
        assert_eq!(wrong.unsupported, 2, "{wrong:?}");
    }

    #[test]
    fn a_dialogue_says_a_dose_and_a_vital_further_from_their_names() {
        let t = crate::transcript_from_dialogue(
            "[doctor] are you taking the lisinopril i think we have you on twenty milligrams a day\n[patient] yep every morning\n[doctor] everything looks good including your oxygen saturation blood pressure was one twenty over eighty and your pulse ox was ninety eight percent on room air",
        );
        let c = fact_counts("", "Takes lisinopril 20 mg. Oxygen saturation 98%.", &t);
        assert_eq!(c.drafted, 2, "{c:?}");
        assert_eq!(c.unsupported, 0, "{c:?}");
        // Another drug between a name and a number keeps the number its own.
        let t = crate::transcript_from_dialogue(
            "[doctor] you take lisinopril and metformin five hundred milligrams",
        );
        let c = fact_counts("", "Takes lisinopril 500 mg.", &t);
        assert_eq!(c.unsupported, 1, "{c:?}");
    }
}
