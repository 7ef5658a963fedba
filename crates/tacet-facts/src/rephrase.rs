//! A language model's place: it may reword a section's composed sentences,
//! never add to them. Each reworded sentence must keep its facts — the same
//! numbers, drugs, sides, symptoms and negations as the composed one, no
//! more and no fewer — and pass grounding against the transcript on its
//! own, or the composed sentence stands. The prompt holds only the
//! section's sentences, never the transcript.

use crate::text;
use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Transcript};
use tacet_ground::vocab;

/// The instruction a model is given.
pub const SYSTEM: &str = "You are a clinical documentation assistant. Rewrite each numbered sentence in concise clinical register. Keep every fact, number, unit, drug, side and negation exactly. Add nothing. Answer with the same numbered list, one sentence per line.";

/// The user turn for one section: its sentences, numbered.
pub fn prompt(heading: &str, sentences: &[String]) -> String {
    let mut p = format!("Section: {heading}\n");
    for (i, s) in sentences.iter().enumerate() {
        p.push_str(&format!("{}. {s}\n", i + 1));
    }
    p
}

/// The model's numbered answer as sentences by number (1-based, as the
/// prompt numbered them); lines without a number are ignored.
pub fn parse_answer(answer: &str, n: usize) -> Vec<Option<String>> {
    let mut out = vec![None; n];
    for line in answer.lines() {
        let t = line.trim();
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        let Ok(k) = digits.parse::<usize>() else {
            continue;
        };
        let rest = t[digits.len()..].trim_start_matches(['.', ')', ':']).trim();
        if (1..=n).contains(&k) && !rest.is_empty() && out[k - 1].is_none() {
            out[k - 1] = Some(text::as_sentence(rest));
        }
    }
    out
}

/// The facts a sentence states, as words that must not change: numbers,
/// drugs (by generic name), sides, symptoms, and whether it denies.
fn fact_words(s: &str) -> Vec<String> {
    let lower = text::digits(&s.to_lowercase());
    let words = text::words(&lower);
    let mut out: Vec<String> = Vec::new();
    for w in &words {
        if w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            out.push(w.trim_end_matches(['.', '%']).to_string());
        } else if vocab::is_drug(w) {
            out.push(vocab::generic(w));
        } else if matches!(w.as_str(), "left" | "right" | "bilateral" | "both")
            || vocab::unit_of(w).is_some()
            || matches!(
                w.as_str(),
                "while"
                    | "night"
                    | "morning"
                    | "evening"
                    | "daily"
                    | "weekly"
                    | "monthly"
                    | "today"
                    | "yesterday"
                    | "tomorrow"
                    | "i"
                    | "me"
                    | "my"
                    | "myself"
                    | "we"
                    | "our"
                    | "you"
                    | "your"
            )
        {
            // Sides, units and times ("every once in a while" is not "in a
            // few years"), and who is speaking.
            out.push(w.clone());
        }
    }
    for group in vocab::symptom_groups() {
        if group.iter().any(|p| text::has_phrase(&lower, p)) {
            out.push(group[0].to_string());
        }
    }
    let denies = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "no" | "not" | "denies" | "denied" | "without" | "never" | "negative"
        ) || w.ends_with("n't")
    });
    if denies {
        out.push("<negated>".into());
    }
    out.sort();
    out
}

/// Content words (four letters or more, lower case) of a sentence.
fn content_words(s: &str) -> Vec<String> {
    let mut w: Vec<String> = text::words(&s.to_lowercase())
        .into_iter()
        .filter(|w| w.chars().count() >= 4)
        .map(|w| w.trim_end_matches('s').to_string())
        .collect();
    w.sort();
    w.dedup();
    w
}

/// Whether `reworded` states exactly the facts of `composed` and says
/// nothing else: the same numbers, drugs, sides, units, times, symptoms,
/// negations and pronouns, at least 80% of the composed sentence's content
/// words (nothing dropped), and at least 60% of its own from the composed
/// sentence (nothing added).
pub fn keeps_facts(composed: &str, reworded: &str) -> bool {
    if fact_words(composed) != fact_words(reworded) {
        return false;
    }
    let (c, r) = (content_words(composed), content_words(reworded));
    let kept = c.iter().filter(|w| r.contains(w)).count();
    let own = r.iter().filter(|w| c.contains(w)).count();
    (c.is_empty() || kept * 5 >= c.len() * 4) && (r.is_empty() || own * 5 >= r.len() * 3)
}

/// Whether a sentence, alone, grounds in the transcript without a flag.
pub fn grounds_cleanly(sentence: &str, transcript: &Transcript) -> bool {
    let d = Draft {
        sections: vec![DraftSection {
            heading: "CHECK".into(),
            text: sentence.to_string(),
        }],
        provenance: Provenance {
            model_sha256: String::new(),
            model_id: String::new(),
            template_id: String::new(),
            template_version: 0,
            sampling: SamplingParams::default(),
            prompt_tokens: 0,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        },
    };
    let g = tacet_ground::ground(&d, transcript);
    !g.sentences.is_empty() && g.sentences.iter().all(|s| s.flags.is_empty())
}

/// Which reworded sentences to take: for each composed sentence, the model's
/// wording where it keeps the facts and grounds cleanly, else `None`.
pub fn accept(composed: &[String], answer: &str, transcript: &Transcript) -> Vec<Option<String>> {
    let mut taken: Vec<String> = Vec::new();
    parse_answer(answer, composed.len())
        .into_iter()
        .zip(composed)
        .map(|(r, c)| {
            // A wording that repeats another sentence of the section is a
            // copy, not a rewording.
            let r = r.filter(|r| {
                r != c
                    && !taken.contains(r)
                    && !composed.contains(r)
                    && keeps_facts(c, r)
                    && grounds_cleanly(r, transcript)
            });
            if let Some(r) = &r {
                taken.push(r.clone());
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::transcript;

    #[test]
    fn a_rewording_that_keeps_the_facts_is_taken() {
        let t = transcript(&["Every morning I take one aspirin, 81 milligrams, for my heart."]);
        let composed = vec!["Takes aspirin 81 mg every morning for the heart.".to_string()];
        let got = accept(
            &composed,
            "1. Takes aspirin 81 mg each morning for the heart.",
            &t,
        );
        assert_eq!(
            got,
            vec![Some(
                "Takes aspirin 81 mg each morning for the heart.".into()
            )]
        );
    }

    #[test]
    fn fail_a_rewording_that_changes_a_dose_side_or_negation_is_refused() {
        assert!(!keeps_facts(
            "Takes aspirin 81 mg daily.",
            "Takes aspirin 325 mg daily."
        ));
        assert!(!keeps_facts(
            "Reports left ear pain.",
            "Reports right ear pain."
        ));
        assert!(!keeps_facts("Denies chest pain.", "Reports chest pain."));
        assert!(!keeps_facts("Reports cough.", "Reports cough and fever."));
        assert!(!keeps_facts("Start an antibiotic.", "Start amoxicillin."));
        assert!(!keeps_facts(
            "Reports feeling lightheaded every once in a while.",
            "Reports feeling lightheaded every once in a few years."
        ));
        assert!(!keeps_facts(
            "Advised to weigh themselves every day.",
            "Advised to weigh myself every day."
        ));
        assert!(!keeps_facts(
            "The echocardiogram shows reduced pumping function and mitral regurgitation.",
            "The echocardiogram shows reduced pumping function."
        ));
    }

    #[test]
    fn fail_an_answer_without_numbers_or_with_too_few_lines_keeps_the_composed() {
        let t = transcript(&["I have a cough."]);
        let composed = vec!["Reports a cough.".to_string(), "Denies fever.".to_string()];
        assert_eq!(accept(&composed, "Sure! Here it is.", &t), vec![None, None]);
        assert_eq!(
            parse_answer("2) Denies fevers.\n9. extra", 2),
            vec![None, Some("Denies fevers.".into())]
        );
    }
}
