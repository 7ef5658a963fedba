//! Which transcript segments a section needs, for sessions too long to show
//! the model whole.
//!
//! A 45-minute visit is 6,000–9,000 words; a small model's context holds a
//! fraction of that once room is left for the note. Rather than cut the
//! middle of the visit for every section alike, a long session is drafted
//! one section at a time, and each section's prompt carries the segments
//! most relevant to that section: the vital signs and examination for
//! OBJECTIVE, the doses and follow-up for PLAN, the patient's account for
//! SUBJECTIVE. What a section's prompt left out is counted and recorded,
//! never dropped silently.
//!
//! Relevance is deterministic and cheap (no model pass): the words of the
//! section's heading and guidance, widened by a small table of what those
//! words sound like in a conversation ("vital signs" → "blood pressure",
//! "pulse"…); a segment's score is the number of distinct terms it holds.
//! A neighbour of a relevant segment shares some of its score (a question
//! and its answer belong together), and a weak prior on position breaks
//! ties: a note's early sections tend to come from early in a visit, its
//! plan from the end. The opening of the visit is always kept: it says who
//! the patient is and why they came.
//!
//! This module is pure: segment texts and token costs in, a keep mask out.

use tacet_core::template::TemplateSection;

/// Words of a heading or guidance that say nothing about a segment's topic.
const STOP_WORDS: &[&str] = &[
    "about",
    "account",
    "after",
    "agreed",
    "along",
    "also",
    "anything",
    "around",
    "asked",
    "being",
    "clinician",
    "current",
    "during",
    "each",
    "every",
    "from",
    "have",
    "into",
    "mentioned",
    "numbers",
    "other",
    "patient",
    "patients",
    "relevant",
    "said",
    "section",
    "should",
    "stated",
    "their",
    "there",
    "these",
    "this",
    "those",
    "visit",
    "what",
    "when",
    "where",
    "which",
    "while",
    "with",
    "within",
    "would",
];

/// How the topics a template names are spoken about: a guidance stem on
/// the left, terms that signal it in a conversation on the right. Single
/// words match as word prefixes, phrases as phrases.
const CUES: &[(&str, &[&str])] = &[
    (
        "vital",
        &[
            "blood pressure",
            "pressure",
            "pulse",
            "heart rate",
            "temperature",
            "fever",
            "oxygen",
            "saturation",
            "weight",
            "pounds",
            "kilo",
            "respirat",
            "bmi",
            "over",
        ],
    ),
    (
        "exam",
        &[
            "exam",
            "tender",
            "swell",
            "range of motion",
            "look at",
            "listen",
            "lungs",
            "heart",
            "abdomen",
            "press",
            "feel",
            "reflex",
            "murmur",
            "clear",
            "bend",
            "straighten",
        ],
    ),
    ("observ", &["look", "appear", "seem", "notice"]),
    ("finding", &["tender", "swell", "normal", "clear", "found"]),
    (
        "result",
        &[
            "x-ray",
            "xray",
            "mri",
            "scan",
            "blood work",
            "lab",
            "result",
            "ultrasound",
            "ecg",
            "ekg",
            "level",
            "a1c",
            "cholesterol",
            "came back",
        ],
    ),
    (
        "test",
        &["test", "x-ray", "mri", "scan", "lab", "blood work", "order"],
    ),
    (
        "medica",
        &[
            "mg",
            "milligram",
            "tablet",
            "pill",
            "dose",
            "daily",
            "twice",
            "prescri",
            "taking",
            "medicin",
            "medicat",
            "refill",
            "inhaler",
            "cream",
        ],
    ),
    (
        "prescr",
        &["prescri", "mg", "milligram", "pharmacy", "refill", "tablet"],
    ),
    (
        "dose",
        &[
            "mg",
            "milligram",
            "dose",
            "once a day",
            "twice a day",
            "times a day",
        ],
    ),
    ("allerg", &["allerg", "reaction", "rash", "hives"]),
    (
        "treatm",
        &[
            "start",
            "stop",
            "continue",
            "therapy",
            "physical therapy",
            "ice",
            "rest",
            "brace",
        ],
    ),
    (
        "referr",
        &[
            "refer",
            "specialist",
            "see a",
            "orthop",
            "cardiolog",
            "dermatolog",
        ],
    ),
    (
        "follow",
        &[
            "follow up",
            "come back",
            "see you",
            "weeks",
            "months",
            "appointment",
            "return",
            "call",
        ],
    ),
    (
        "advice",
        &["should", "try to", "avoid", "make sure", "recommend"],
    ),
    (
        "diagno",
        &[
            "think",
            "likely",
            "looks like",
            "consistent with",
            "probably",
            "sprain",
            "strain",
            "infection",
            "itis",
            "syndrome",
            "disease",
        ],
    ),
    (
        "impres",
        &["think", "likely", "looks like", "seems like", "probably"],
    ),
    (
        "assess",
        &["think", "likely", "looks like", "probably", "concern"],
    ),
    (
        "compla",
        &[
            "pain",
            "hurt",
            "bother",
            "brings you",
            "problem",
            "started",
            "worse",
            "ache",
        ],
    ),
    (
        "sympto",
        &[
            "pain", "hurt", "cough", "fever", "tired", "nause", "dizz", "sleep",
        ],
    ),
    (
        "histor",
        &[
            "ago", "years", "since", "before", "history", "surgery", "family", "used to",
        ],
    ),
    ("onset", &["started", "began", "ago", "since", "first"]),
    (
        "durat",
        &["weeks", "days", "months", "years", "ago", "since"],
    ),
    (
        "mood",
        &[
            "feel", "mood", "anxious", "anxiety", "depress", "sad", "angry", "stress", "worr",
        ],
    ),
    (
        "behav",
        &["did", "doing", "sleep", "eating", "drink", "avoid", "fight"],
    ),
    (
        "goal",
        &["goal", "want to", "hope", "work on", "plan to", "try"],
    ),
    (
        "interv",
        &[
            "practice",
            "exercise",
            "technique",
            "breath",
            "skill",
            "homework",
            "try",
        ],
    ),
    (
        "respon",
        &["helped", "worked", "better", "worse", "noticed", "felt"],
    ),
    (
        "diet",
        &[
            "eat",
            "food",
            "meal",
            "breakfast",
            "lunch",
            "dinner",
            "snack",
            "sugar",
        ],
    ),
];

/// The terms that signal `section` in a conversation: content-word stems of
/// its heading and guidance and the cue terms they call up.
pub fn section_terms(section: &TemplateSection) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let push = |t: String, terms: &mut Vec<String>| {
        if !t.is_empty() && !terms.contains(&t) {
            terms.push(t);
        }
    };
    let source = format!("{} {}", section.heading, section.guidance).to_lowercase();
    for word in words(&source) {
        if word.len() < 4 || STOP_WORDS.contains(&word) {
            continue;
        }
        let stem: String = word.chars().take(6).collect();
        for (key, cues) in CUES {
            if stem.starts_with(key) || key.starts_with(stem.as_str()) {
                for c in *cues {
                    push((*c).to_string(), &mut terms);
                }
            }
        }
        push(stem, &mut terms);
    }
    terms
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
}

/// How many distinct `terms` the text holds.
pub fn term_hits(text: &str, terms: &[String]) -> usize {
    let lower = text.to_lowercase();
    let ws: Vec<&str> = words(&lower).collect();
    let joined = format!(" {} ", ws.join(" "));
    terms
        .iter()
        .filter(|t| {
            if t.contains(' ') {
                joined.contains(&format!(" {t}"))
            } else {
                ws.iter().any(|w| w.starts_with(t.as_str()))
            }
        })
        .count()
}

/// Relevance of each segment to the section at `index` of `n_sections`:
/// term hits, a share of each neighbour's hits, and a position prior
/// below one hit.
pub fn relevance(texts: &[&str], terms: &[String], index: usize, n_sections: usize) -> Vec<f32> {
    let hits: Vec<f32> = texts.iter().map(|t| term_hits(t, terms) as f32).collect();
    let n = texts.len();
    let expected = if n_sections > 1 {
        index as f32 / (n_sections - 1) as f32
    } else {
        0.5
    };
    (0..n)
        .map(|i| {
            let neighbours = [i.checked_sub(1), (i + 1 < n).then_some(i + 1)]
                .into_iter()
                .flatten()
                .map(|j| hits[j])
                .fold(0.0f32, f32::max);
            let at = if n > 1 {
                i as f32 / (n - 1) as f32
            } else {
                0.5
            };
            hits[i] + 0.4 * neighbours + 0.3 * (1.0 - (at - expected).abs())
        })
        .collect()
}

/// Which segments to keep within `budget` tokens (`costs[i]` each): the
/// opening (up to a tenth of the budget), then the most relevant first,
/// each gap in what is kept costing `gap_cost` more.
pub fn select(costs: &[usize], scores: &[f32], budget: usize, gap_cost: usize) -> Vec<bool> {
    let n = costs.len();
    let mut keep = vec![false; n];
    let mut used = 0usize;
    let opening = budget / 10;
    for i in 0..n {
        // The first segment always, when it fits at all.
        let limit = if i == 0 { budget } else { opening };
        if used + costs[i] > limit {
            break;
        }
        keep[i] = true;
        used += costs[i];
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| !keep[i]).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for i in order {
        // Joining a kept neighbour closes or avoids a gap; standing alone
        // may open one.
        let left = i > 0 && keep[i - 1];
        let right = i + 1 < n && keep[i + 1];
        let extra_gap = if left || right { 0 } else { gap_cost };
        let cost = costs[i] + extra_gap;
        if used + cost <= budget {
            keep[i] = true;
            used += cost;
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(heading: &str, guidance: &str) -> TemplateSection {
        TemplateSection {
            heading: heading.into(),
            guidance: guidance.into(),
            draws: Vec::new(),
        }
    }

    fn objective() -> TemplateSection {
        section(
            "OBJECTIVE",
            "What was measured or observed during the visit: vital signs with their numbers, examination findings, test results mentioned.",
        )
    }

    fn plan() -> TemplateSection {
        section(
            "PLAN",
            "Treatments, prescriptions with doses, tests ordered, referrals, advice and follow-up, as agreed in the visit.",
        )
    }

    const VISIT: &[&str] = &[
        "Hello, what brings you in today?",
        "My right knee has been hurting for three weeks.",
        "We talked about the weather and the drive over here.",
        "Your blood pressure is 128 over 82 and your pulse is 70.",
        "The knee is tender on the inside and a little swollen.",
        "The traffic was bad on the bridge this morning.",
        "Take ibuprofen 400 mg twice a day with food.",
        "Come back in two weeks if it is not better.",
    ];

    #[test]
    fn vital_signs_and_examination_are_relevant_to_objective() {
        let terms = section_terms(&objective());
        let scores = relevance(VISIT, &terms, 1, 4);
        let best = (0..VISIT.len())
            .max_by(|&a, &b| scores[a].partial_cmp(&scores[b]).unwrap())
            .unwrap();
        assert!(best == 3 || best == 4, "{scores:?}");
        assert!(scores[3] > scores[2] + 1.0 && scores[4] > scores[5] + 1.0);
    }

    #[test]
    fn doses_and_follow_up_are_relevant_to_the_plan() {
        let terms = section_terms(&plan());
        let scores = relevance(VISIT, &terms, 3, 4);
        assert!(scores[6] > scores[2] + 1.0, "{scores:?}");
        assert!(scores[7] > scores[5] + 1.0, "{scores:?}");
    }

    #[test]
    fn selection_keeps_the_opening_and_the_relevant_within_budget() {
        let terms = section_terms(&plan());
        let scores = relevance(VISIT, &terms, 3, 4);
        let costs = [10; 8];
        let keep = select(&costs, &scores, 50, 5);
        assert!(keep[0], "the opening is kept: {keep:?}");
        assert!(keep[6] && keep[7], "dose and follow-up kept: {keep:?}");
        assert!(!keep[2] && !keep[5], "small talk left out: {keep:?}");
        let kept = keep.iter().filter(|k| **k).count();
        assert!(kept * 10 <= 50);
    }

    #[test]
    fn everything_is_kept_when_it_fits() {
        let costs = [10; 8];
        let keep = select(&costs, &[0.0; 8], 1000, 5);
        assert!(keep.iter().all(|k| *k));
    }

    #[test]
    fn therapy_headings_call_up_their_cues() {
        let t = section_terms(&section(
            "DATA",
            "What the client reported about mood and sleep.",
        ));
        assert!(term_hits("I have felt anxious and could not sleep", &t) >= 2);
    }
}
