//! The transcript, prepared once per `ground` call: tokens per segment, a
//! vocabulary with document frequencies for evidence scoring, and the facts
//! the checks compare against (numbers with units, symptom polarity,
//! allergies, drug names).

use std::collections::{HashMap, HashSet};

use tacet_core::Transcript;

use crate::checks::{side_mentions, Side, SideMention};
use crate::lexicon::{self, DrugClass};
use crate::text::{is_stopword, stem, tokenize, Tok};

/// Whether a finding was said to be present or absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Polarity {
    Affirmed,
    Negated,
}

/// A number as it appears in text, with the unit that follows it.
#[derive(Clone, Debug)]
pub(crate) struct NumMention {
    pub value: f64,
    pub unit: Option<(&'static str, bool)>,
    /// Where it came from (segment index) for transcript mentions.
    pub seg: usize,
    /// Token position in its sentence or segment.
    pub pos: usize,
}

pub(crate) struct SegInfo {
    pub id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub confidence: f32,
    pub toks: Vec<Tok>,
    /// Vocabulary ids of the content keys in this segment.
    pub keys: HashSet<u32>,
    /// Content keys of the words the recogniser was unsure of, each with
    /// the word as heard.
    pub unsure: Vec<(String, String)>,
}

pub(crate) struct Index {
    pub segs: Vec<SegInfo>,
    pub vocab: HashMap<String, u32>,
    pub vocab_words: Vec<String>,
    pub df: Vec<u32>,
    pub numbers: Vec<NumMention>,
    /// (a, b, segment index) for "120/80", "120 over 80", "3 out of 6".
    pub pairs: Vec<(f64, f64, usize)>,
    /// Per symptom group: (segment index, polarity) of each mention.
    pub symptoms: Vec<Vec<(usize, Polarity)>>,
    /// Allergens the patient has: (generic word, class, segment index).
    pub allergens: Vec<(String, Option<DrugClass>, usize)>,
    /// Every word of the transcript (lower case) and the generics of drugs.
    pub words: HashSet<String>,
    pub drug_generics: HashMap<String, Vec<usize>>,
    /// Doses said with a drug: generic → (value, unit, segment index).
    pub drug_doses: HashMap<String, Vec<(f64, &'static str, usize)>>,
    /// Every side (left/right/bilateral) the transcript names, with what it
    /// is about.
    pub sides: Vec<SideMention>,
}

/// The key a token contributes to evidence scoring, if any.
pub(crate) fn content_key(t: &Tok) -> Option<String> {
    match t {
        Tok::Word(w) if !is_stopword(w) && w.chars().count() > 1 => Some(stem(w)),
        Tok::Num(v) => Some(format!("#{v}")),
        _ => None,
    }
}

pub(crate) fn eq_num(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Numbers with their units, and pairs, in a token list.
pub(crate) fn number_mentions(toks: &[Tok], seg: usize) -> (Vec<NumMention>, Vec<(f64, f64)>) {
    let mut singles = Vec::new();
    let mut pairs = Vec::new();
    let mut in_pair: HashSet<usize> = HashSet::new();
    for i in 0..toks.len() {
        let Some(a) = toks[i].num() else { continue };
        // a / b, a over b, a out of b
        let (sep_len, ok) = match (toks.get(i + 1), toks.get(i + 2)) {
            (Some(Tok::Sym('/')), _) => (1, true),
            (Some(Tok::Word(w)), _) if w == "over" => (1, true),
            (Some(Tok::Word(w)), Some(Tok::Word(o))) if w == "out" && o == "of" => (2, true),
            _ => (0, false),
        };
        if ok && !in_pair.contains(&i) {
            let j = i + 1 + sep_len;
            if let Some(b) = toks.get(j).and_then(Tok::num) {
                in_pair.insert(i);
                in_pair.insert(j);
                // Dates ("12/2019", "05/12/2022") are not measurements.
                let third = matches!(toks.get(j + 1), Some(Tok::Sym('/')))
                    && toks.get(j + 2).and_then(Tok::num).is_some();
                if third {
                    in_pair.insert(j + 2);
                } else if b < 1000.0 {
                    pairs.push((a, b));
                }
            }
        }
    }
    for i in 0..toks.len() {
        let Some(value) = toks[i].num() else { continue };
        if in_pair.contains(&i) {
            continue;
        }
        // "COVID-19": a number glued to a name is part of the name.
        if i >= 2
            && matches!(toks[i - 1], Tok::Sym('-'))
            && toks[i - 2]
                .word()
                .is_some_and(|w| lexicon::unit_of(w).is_none())
        {
            continue;
        }
        let mut unit = unit_after(toks, i + 1);
        // "5 to 10 mg", "5-10 mg": the first number takes the second's unit.
        if unit.is_none() {
            let sep = toks.get(i + 1);
            let is_range = matches!(sep, Some(Tok::Sym('-')))
                || matches!(sep, Some(Tok::Word(w)) if w == "to" || w == "or");
            if is_range && toks.get(i + 2).and_then(Tok::num).is_some() {
                unit = unit_after(toks, i + 3);
            }
        }
        singles.push(NumMention {
            value,
            unit,
            seg,
            pos: i,
        });
    }
    (singles, pairs)
}

fn unit_after(toks: &[Tok], mut j: usize) -> Option<(&'static str, bool)> {
    if matches!(toks.get(j), Some(Tok::Sym('-'))) {
        j += 1;
    }
    match toks.get(j)? {
        Tok::Sym('%') => Some(("%", false)),
        Tok::Sym('°') => Some(("degrees", false)),
        Tok::Word(w) => {
            let next = toks.get(j + 1).and_then(Tok::word);
            let next2 = toks.get(j + 2).and_then(Tok::word);
            if (w == "millimeters" || w == "millimeter" || w == "mm")
                && (next == Some("of") && next2 == Some("mercury") || next == Some("hg"))
            {
                return Some(("mmHg", false));
            }
            if w == "a" || w == "per" {
                return None;
            }
            lexicon::unit_of(w)
        }
        _ => None,
    }
}

fn is_neg_cue(w: &str) -> bool {
    matches!(
        w,
        "no" | "not"
            | "denies"
            | "denied"
            | "deny"
            | "denying"
            | "without"
            | "negative"
            | "never"
            | "none"
            | "nor"
            | "neither"
            | "absent"
            | "free"
    ) || w.ends_with("n't")
}

/// Words that end a negation's scope when scanning back from a finding.
fn is_scope_break(t: &Tok) -> bool {
    match t {
        Tok::Sym(c) => matches!(c, '.' | ';' | '?' | '!'),
        Tok::Word(w) => matches!(
            w.as_str(),
            "but"
                | "however"
                | "although"
                | "though"
                | "except"
                | "aside"
                | "reports"
                | "endorses"
                | "complains"
                | "admits"
                | "positive"
        ),
        _ => false,
    }
}

/// Conditional or hypothetical context: neither affirmed nor negated.
fn is_uncertain_cue(w: &str) -> bool {
    matches!(
        w,
        "if" | "should"
            | "whether"
            | "any"
            | "possible"
            | "possibly"
            | "rule"
            | "monitor"
            | "watch"
    )
}

/// NegEx-style polarity of the finding at `toks[start..]`: a negation cue up
/// to forty tokens before it in the same clause (lists with commas and "or"
/// stay in scope), or "negative"/"absent"/"resolved" right after it.
/// `None` when the context is conditional ("if", "any", "should").
///
/// `in_note`: the text is a note sentence, where "any" is not hedging
/// ("denies any fever"); in speech "any" marks a question or a condition.
/// A segment's leading "no" followed by more talk ("no , just a headache")
/// answers the previous question rather than negating what follows.
pub(crate) fn polarity_at(
    toks: &[Tok],
    start: usize,
    len: usize,
    in_note: bool,
) -> Option<Polarity> {
    let mut k = start;
    let mut steps = 0;
    let mut uncertain = false;
    while k > 0 && steps < 40 {
        k -= 1;
        steps += 1;
        let t = &toks[k];
        if let Some(w) = t.word() {
            if is_neg_cue(w) {
                // "not only" does not negate.
                if w == "not" && toks.get(k + 1).and_then(Tok::word) == Some("only") {
                    continue;
                }
                if k == 0 && matches!(w, "no" | "nope") && is_answer_particle(toks) {
                    break;
                }
                return Some(Polarity::Negated);
            }
            // In speech a subject pronoun starts a new clause ("i ca n't eat
            // and i do feel a little nauseous", "i have n't noticed any
            // shortness of breath it just seems to be a dry cough"), and so
            // does "some" in a spoken list ("no fever some chills").
            if matches!(
                w,
                "i" | "i'm" | "i've" | "it" | "it's" | "he" | "she" | "they" | "we"
            ) || (!in_note && w == "some")
            {
                break;
            }
            if is_uncertain_cue(w) && !(in_note && w == "any") {
                uncertain = true;
                continue;
            }
            // "has no fever" is caught above; "has" ends the scope of an
            // earlier negation ("no fever, has cough") unless it is itself
            // negated ("have n't had any fever").
            if matches!(w, "has" | "had" | "have") {
                if k > 0 && toks[k - 1].word().is_some_and(is_neg_cue) {
                    return Some(Polarity::Negated);
                }
                break;
            }
        }
        if is_scope_break(t) {
            break;
        }
    }
    if uncertain {
        return None;
    }
    let after = &toks[(start + len).min(toks.len())..];
    // "diarrhea no" (a clinician reading back a list).
    if after.first().and_then(Tok::word) == Some("no")
        && after.get(1).is_none_or(|t| matches!(t, Tok::Sym(_)))
    {
        return Some(Polarity::Negated);
    }
    for t in after.iter().take(3) {
        if let Some(w) = t.word() {
            if matches!(w, "negative" | "absent" | "denied" | "resolved") {
                return Some(Polarity::Negated);
            }
        }
        if is_scope_break(t) {
            break;
        }
    }
    Some(Polarity::Affirmed)
}

/// A segment that starts "no ," or "no just…": the "no" answers a question.
fn is_answer_particle(toks: &[Tok]) -> bool {
    match toks.get(1) {
        Some(Tok::Sym(',')) => true,
        Some(Tok::Word(w)) => matches!(
            w.as_str(),
            "just"
                | "but"
                | "well"
                | "i"
                | "it's"
                | "it"
                | "that"
                | "really"
                | "actually"
                | "um"
                | "uh"
                | "only"
                | "other"
                | "except"
        ),
        _ => false,
    }
}

/// Token positions where symptom phrases of each group occur:
/// (group index, start, length in tokens).
pub(crate) fn symptom_mentions(toks: &[Tok]) -> Vec<(usize, usize, usize)> {
    let stems: Vec<Option<String>> = toks.iter().map(|t| t.word().map(stem)).collect();
    let mut out = Vec::new();
    for (g, phrases) in lexicon::symptoms().iter().enumerate() {
        for phrase in phrases.iter() {
            let ps: Vec<String> = phrase.split(' ').map(stem).collect();
            if ps.is_empty() {
                continue;
            }
            for i in 0..stems.len() {
                let matches_here = i + ps.len() <= stems.len()
                    && ps
                        .iter()
                        .enumerate()
                        .all(|(k, p)| stems[i + k].as_deref() == Some(p.as_str()));
                if matches_here
                    && !out
                        .iter()
                        .any(|&(og, os, _)| og == g && os <= i && i < os + ps.len())
                {
                    out.push((g, i, ps.len()));
                }
            }
        }
    }
    out
}

/// The polarity of a short answer ("no", "yeah", "mm-hmm", "i do n't").
fn answer_polarity(toks: &[Tok]) -> Option<Polarity> {
    let words: Vec<&str> = toks
        .iter()
        .filter_map(Tok::word)
        .filter(|w| {
            !matches!(
                *w,
                "uh" | "um" | "well" | "oh" | "so" | "ah" | "i" | "doctor" | "patient"
            )
        })
        .take(3)
        .collect();
    let first = words.first()?;
    if matches!(
        *first,
        "no" | "nope" | "nah" | "negative" | "never" | "none" | "not" | "nothing"
    ) {
        return Some(Polarity::Negated);
    }
    // "everything is fine (except some chills)", "all good": none of what
    // was asked; a finding the answer names itself keeps its own polarity.
    let fine = |w: &&str| matches!(*w, "fine" | "good" | "okay" | "ok" | "normal" | "great");
    let all_fine = *first == "all" && words.get(1).is_some_and(fine);
    if all_fine
        || (matches!(*first, "everything" | "everything's") && words.iter().skip(1).any(fine))
    {
        return Some(Polarity::Negated);
    }
    // "i did but i did n't think anything of it": an affirmative first
    // word decides, unless it is negated itself ("i did n't").
    let second_negates = words
        .get(1)
        .is_some_and(|w| *w == "not" || w.ends_with("n't"));
    let affirmative = matches!(
        *first,
        "yes"
            | "yeah"
            | "yep"
            | "yup"
            | "correct"
            | "sometimes"
            | "mm"
            | "definitely"
            | "occasionally"
            | "do"
            | "does"
            | "did"
            | "have"
            | "am"
            | "was"
            | "little"
            | "slight"
            | "slightly"
            | "some"
            | "absolutely"
            | "sure"
    );
    if affirmative && !second_negates {
        return Some(Polarity::Affirmed);
    }
    if words.iter().any(|w| w.ends_with("n't")) || second_negates {
        return Some(Polarity::Negated);
    }
    None
}

/// Splits a token list into clauses at sentence punctuation; returns
/// (start, end, is_question).
fn sub_sentences(toks: &[Tok]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if let Tok::Sym(c @ ('.' | '?' | '!')) = t {
            out.push((start, i + 1, *c == '?'));
            start = i + 1;
        }
    }
    if start < toks.len() {
        out.push((start, toks.len(), false));
    }
    out
}

/// Whether a question, up to the finding it names, asks if the finding is
/// there ("any fever?", "do you have chest pain?", "how about nausea?")
/// rather than about it ("when did the chest pain start?").
fn asks_presence(before: &[Tok]) -> bool {
    let words: Vec<&str> = before.iter().filter_map(Tok::word).collect();
    if words.iter().any(|w| {
        matches!(
            *w,
            "when" | "where" | "why" | "which" | "long" | "caused" | "cause" | "often" | "bad"
        )
    }) {
        return false;
    }
    // The asking words must be close to the finding ("any fever or
    // chills?"), or just before a spoken list that ends in it ("any other
    // symptoms like a cough or shortness of breath or dizziness"), not
    // elsewhere in a choice ("any mucus or is it a dry cough?").
    let mut cut = words.len();
    while cut > 0 && words.len() - cut < 12 && is_list_word(words[cut - 1]) {
        cut -= 1;
    }
    let lo = cut.saturating_sub(5).min(words.len().saturating_sub(5));
    let recent = &words[lo..];
    if recent.windows(2).any(|p| matches!(p, ["is", "it"])) {
        return false;
    }
    words.len() <= 1
        || recent.iter().any(|w| matches!(*w, "any" | "no"))
        || recent.windows(2).any(|p| {
            matches!(
                p,
                ["do" | "have" | "did" | "are" | "were", "you"]
                    | ["is", "there"]
                    | ["how" | "what", "about"]
            )
        })
}

/// A first-person statement just before a finding, inside what reads as a
/// question ("do you have any nausea vomiting any fever chills i feel
/// nauseated", "i never had any nausea"): an unpunctuated turn that answers
/// or tells rather than asks.
fn first_person_before(before: &[Tok]) -> bool {
    // Scanning back from the finding, a first-person word decides only if
    // no one is addressed after it: "…any fever chills i feel nauseated"
    // and "i don't have any weakness" state, "tell me do you feel any
    // weakness" asks.
    for w in before.iter().rev().filter_map(Tok::word).take(6) {
        if matches!(w, "you" | "your") {
            return false;
        }
        if matches!(w, "i" | "i'm" | "i've" | "i'd" | "my" | "me") {
            return true;
        }
    }
    false
}

/// Words that carry nothing in a short turn ("okay", "um").
fn is_filler(w: &str) -> bool {
    matches!(
        w,
        "okay"
            | "ok"
            | "alright"
            | "all"
            | "right"
            | "so"
            | "um"
            | "uh"
            | "and"
            | "then"
            | "what"
            | "about"
            | "how"
            | "else"
            | "anything"
            | "that"
            | "like"
            | "with"
            | "you"
    )
}

/// Words of a spoken list of findings: connectives and the words of the
/// symptom phrases themselves.
fn is_list_word(w: &str) -> bool {
    matches!(
        w,
        "or" | "and" | "a" | "an" | "any" | "like" | "other" | "symptoms" | "such" | "as" | "of"
    ) || lexicon::is_body_part(w)
        || lexicon::symptoms()
            .iter()
            .flat_map(|g| g.iter())
            .any(|p| p.split(' ').any(|x| x == w))
}

fn asks(toks: &[Tok]) -> bool {
    let words: Vec<&str> = toks.iter().filter_map(Tok::word).collect();
    words.contains(&"any")
        || words.windows(2).any(|p| {
            matches!(
                p,
                ["do" | "have" | "did" | "are" | "were", "you"]
                    | ["is", "there"]
                    | ["how", "about"]
            )
        })
}

/// A question that asks which side or which one: "which knee?", "is it the
/// left or the right?".
fn asks_which_side(toks: &[Tok]) -> bool {
    let words: Vec<&str> = toks.iter().filter_map(Tok::word).collect();
    let offers_both = words.contains(&"left") && words.contains(&"right") && words.contains(&"or");
    toks.iter().any(|t| matches!(t, Tok::Sym('?'))) && (words.contains(&"which") || offers_both)
}

/// The side in a short answer to [`asks_which_side`] that names no body part
/// and does not read as a side on its own ("right.", "I think it's left"):
/// about whatever the question was about, so borrowed.
fn bare_side_answer(toks: &[Tok], seg: usize) -> Option<SideMention> {
    let words: Vec<&str> = toks.iter().filter_map(Tok::word).collect();
    let sides: Vec<Side> = words
        .iter()
        .enumerate()
        .filter_map(|(k, w)| {
            let prev = k.checked_sub(1).map(|p| words[p]);
            match *w {
                // "that's right", "all right": agreement, not a side.
                "right"
                    if !matches!(prev, Some("all" | "that's" | "is" | "you're" | "exactly")) =>
                {
                    Some(Side::Right)
                }
                "left" if !matches!(prev, Some("i" | "he" | "she" | "they" | "we" | "you")) => {
                    Some(Side::Left)
                }
                _ => None,
            }
        })
        .collect();
    match sides.as_slice() {
        [side] => Some(SideMention {
            side: *side,
            seg,
            subject: Vec::new(),
            borrowed: true,
        }),
        _ => None,
    }
}

fn is_allergy_word(w: &str) -> bool {
    w.starts_with("allerg")
}

fn allergen_words(toks: &[Tok]) -> Vec<String> {
    toks.iter()
        .filter_map(Tok::word)
        .filter(|w| lexicon::class_of(w).is_some() || lexicon::is_drug(w))
        .map(lexicon::generic)
        .collect()
}

impl Index {
    pub(crate) fn build(transcript: &Transcript) -> Self {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut vocab_words = Vec::new();
        let mut df: Vec<u32> = Vec::new();
        let mut segs = Vec::with_capacity(transcript.segments.len());
        let mut numbers = Vec::new();
        let mut pairs = Vec::new();
        let mut words = HashSet::new();
        let mut drug_generics: HashMap<String, Vec<usize>> = HashMap::new();
        let mut sides = Vec::new();
        // The body parts of the last segment that named one: what a bare
        // side is about ("which knee?" — "right."; "both sides?" — "no,
        // only on the left side").
        let mut recent_parts: (usize, Vec<String>) = (0, Vec::new());
        // The segment before asked which side ("which knee?", "left or
        // right?"): a bare "right." answers it.
        let mut asked_side = false;
        for (si, s) in transcript.segments.iter().enumerate() {
            let toks = tokenize(&s.text);
            let parts: Vec<String> = toks
                .iter()
                .filter_map(Tok::word)
                .filter(|w| lexicon::is_body_part(w))
                .map(stem)
                .collect();
            // Only a short answer borrows: a longer turn that names a side
            // without a body part is about something it says itself.
            let short = toks.iter().filter_map(Tok::word).count() <= 8;
            let mut mentions = side_mentions(&toks, si);
            if mentions.is_empty() && short && asked_side {
                mentions.extend(bare_side_answer(&toks, si));
            }
            asked_side = asks_which_side(&toks);
            for mut m in mentions {
                let bare = !m.subject.iter().any(|w| lexicon::is_body_part(w));
                if short && bare && parts.is_empty() && si - recent_parts.0 <= 2 {
                    m.subject.extend(recent_parts.1.iter().cloned());
                    m.borrowed = true;
                }
                sides.push(m);
            }
            if !parts.is_empty() {
                recent_parts = (si, parts);
            }
            let mut keys = HashSet::new();
            for t in &toks {
                if let Some(k) = content_key(t) {
                    let next_id = vocab.len() as u32;
                    let id = *vocab.entry(k.clone()).or_insert_with(|| {
                        vocab_words.push(k);
                        df.push(0);
                        next_id
                    });
                    if keys.insert(id) {
                        df[id as usize] += 1;
                    }
                }
                if let Some(w) = t.word() {
                    words.insert(w.to_string());
                    if lexicon::is_drug(w) {
                        drug_generics
                            .entry(lexicon::generic(w))
                            .or_default()
                            .push(si);
                    }
                }
            }
            let (singles, ps) = number_mentions(&toks, si);
            numbers.extend(singles);
            pairs.extend(ps.into_iter().map(|(a, b)| (a, b, si)));
            let unsure = s
                .unsure_words()
                .into_iter()
                .flat_map(str::split_whitespace)
                .flat_map(|word| {
                    tokenize(word)
                        .iter()
                        .filter_map(content_key)
                        .map(|k| (k, word.to_string()))
                        .collect::<Vec<_>>()
                })
                .collect();
            segs.push(SegInfo {
                id: s.id,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                confidence: s.confidence,
                toks,
                keys,
                unsure,
            });
        }
        let mut index = Index {
            segs,
            vocab,
            vocab_words,
            df,
            numbers,
            pairs,
            symptoms: vec![Vec::new(); lexicon::symptoms().len()],
            allergens: Vec::new(),
            words,
            drug_generics,
            drug_doses: HashMap::new(),
            sides,
        };
        index.collect_drug_doses();
        index.collect_symptoms();
        index.collect_allergens();
        index
    }

    fn collect_symptoms(&mut self) {
        for si in 0..self.segs.len() {
            let toks = &self.segs[si].toks;
            let mut clauses = sub_sentences(toks);
            // Transcripts often drop the question mark: a final clause that
            // asks ("any…", "do you…", "have you…") is treated as a question.
            // A turn that only lists findings ("shortness of breath",
            // "okay coughing headache") is a question too.
            let mentions = symptom_mentions(toks);
            let bare_list = !mentions.is_empty()
                && toks
                    .iter()
                    .filter_map(Tok::word)
                    .all(|w| is_list_word(w) || is_filler(w));
            if let Some(last) = clauses.last_mut() {
                if !last.2 && (bare_list || asks(&toks[last.0..last.1])) {
                    last.2 = true;
                }
            }
            let ends_in_question = clauses.last().is_some_and(|c| c.2);
            let next = self.segs.get(si + 1);
            let answer = if ends_in_question {
                next.and_then(|n| answer_polarity(&n.toks))
            } else {
                None
            };
            // Findings the answer names itself take the answer's own
            // polarity ("any nausea chills fever?" "no fever, some chills").
            let answered_by_name: HashSet<usize> = next
                .map(|n| symptom_mentions(&n.toks).into_iter().map(|m| m.0).collect())
                .unwrap_or_default();
            for (g, start, len) in mentions {
                let clause = clauses
                    .iter()
                    .find(|c| c.0 <= start && start < c.1)
                    .copied()
                    .unwrap_or((0, toks.len(), false));
                let pol = if clause.2 && !first_person_before(&toks[clause.0..start]) {
                    // "any chest pain or shortness of breath or anything
                    // like that no no": the answer in the same turn.
                    let rest: Vec<Tok> = toks[(start + len).min(clause.1)..clause.1]
                        .iter()
                        .skip_while(|t| match t {
                            Tok::Word(w) => is_list_word(w) || is_filler(w),
                            Tok::Sym(c) => *c == ',',
                            Tok::Num(_) => false,
                        })
                        .cloned()
                        .collect();
                    let in_turn = match rest.first().and_then(Tok::word) {
                        Some("no" | "nope" | "nah" | "nothing" | "none" | "never") => {
                            Some(Polarity::Negated)
                        }
                        Some("yes" | "yeah" | "yep" | "yup") => Some(Polarity::Affirmed),
                        _ => None,
                    };
                    let asked = if !asks_presence(&toks[clause.0..start]) {
                        None
                    } else if in_turn.is_some() {
                        in_turn
                    } else if ends_in_question && !answered_by_name.contains(&g) {
                        answer
                    } else {
                        None
                    };
                    // Unanswered, a question phrased as a negative statement
                    // ("so you have n't had any chest pain") says what the
                    // clinician understood.
                    asked.or_else(|| {
                        polarity_at(&toks[clause.0..clause.1], start - clause.0, len, false)
                            .filter(|p| *p == Polarity::Negated)
                    })
                } else {
                    polarity_at(&toks[clause.0..clause.1], start - clause.0, len, false)
                };
                if let Some(p) = pol {
                    self.symptoms[g].push((si, p));
                }
            }
        }
    }

    /// Each dose in the transcript belongs to the nearest drug before it in
    /// its segment (within eight tokens), else the nearest after it (within
    /// three), else the last drug of the previous segment ("what dose of
    /// lisinopril?" "ten milligrams").
    fn collect_drug_doses(&mut self) {
        let mut prev_last: Option<String> = None;
        for si in 0..self.segs.len() {
            let toks = &self.segs[si].toks;
            let drugs: Vec<(usize, String)> = toks
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.word().map(|w| (i, w)))
                .filter(|(_, w)| lexicon::is_drug(w))
                .map(|(i, w)| (i, lexicon::generic(w)))
                .collect();
            let (singles, _) = number_mentions(toks, si);
            for m in singles {
                let Some((unit, true)) = m.unit else { continue };
                let owner = dose_owner(&drugs, m.pos).or_else(|| {
                    if drugs.is_empty() {
                        prev_last.clone()
                    } else {
                        None
                    }
                });
                if let Some(d) = owner {
                    self.drug_doses
                        .entry(d)
                        .or_default()
                        .push((m.value, unit, si));
                }
            }
            if let Some((_, d)) = drugs.last() {
                prev_last = Some(d.clone());
            } else if !toks.is_empty() {
                prev_last = None;
            }
        }
    }

    fn collect_allergens(&mut self) {
        let mut found = Vec::new();
        for si in 0..self.segs.len() {
            let toks = &self.segs[si].toks;
            for (i, t) in toks.iter().enumerate() {
                let Some(w) = t.word() else { continue };
                if !is_allergy_word(w) {
                    continue;
                }
                // "no known allergies", "not allergic", "i'm not allergic"
                let negated = toks[i.saturating_sub(4)..i]
                    .iter()
                    .filter_map(Tok::word)
                    .any(is_neg_cue);
                if negated {
                    continue;
                }
                let end = toks[i..]
                    .iter()
                    .position(|t| matches!(t, Tok::Sym('.' | '?' | '!')))
                    .map(|p| i + p)
                    .unwrap_or(toks.len());
                let before = &toks[i.saturating_sub(2)..i];
                let after = &toks[i + 1..end.min(i + 10).max(i + 1)];
                for a in allergen_words(before)
                    .into_iter()
                    .chain(allergen_words(after))
                {
                    found.push((a, si));
                }
                // A question about allergies: the answer names them.
                let is_question = matches!(toks.get(end), Some(Tok::Sym('?')));
                if is_question {
                    if let Some(next) = self.segs.get(si + 1) {
                        if answer_polarity(&next.toks) != Some(Polarity::Negated) {
                            for a in allergen_words(&next.toks) {
                                found.push((a, si + 1));
                            }
                        }
                    }
                }
            }
        }
        for (a, si) in found {
            let class = lexicon::class_of(&a);
            if !self.allergens.iter().any(|(x, _, _)| *x == a) {
                self.allergens.push((a, class, si));
            }
        }
    }

    /// Vocabulary ids that a sentence key matches: the same stem, or one a
    /// prefix of the other when the shorter has at least five letters
    /// ("lightheaded" ~ "lightheadedness").
    pub(crate) fn matching_ids(&self, key: &str) -> Vec<u32> {
        if let Some(id) = self.vocab.get(key) {
            let mut v = vec![*id];
            if key.starts_with('#') || key.chars().count() < 5 {
                return v;
            }
            for (i, w) in self.vocab_words.iter().enumerate() {
                if i as u32 != *id && prefix_match(key, w) {
                    v.push(i as u32);
                }
            }
            return v;
        }
        if key.starts_with('#') || key.chars().count() < 5 {
            return Vec::new();
        }
        self.vocab_words
            .iter()
            .enumerate()
            .filter(|(_, w)| prefix_match(key, w))
            .map(|(i, _)| i as u32)
            .collect()
    }
}

/// The drug a dose at token `pos` belongs to: the nearest before it within
/// eight tokens, else the nearest after it within three.
pub(crate) fn dose_owner(drugs: &[(usize, String)], pos: usize) -> Option<String> {
    drugs
        .iter()
        .filter(|(p, _)| *p < pos && pos - *p <= 8)
        .max_by_key(|(p, _)| *p)
        .or_else(|| {
            drugs
                .iter()
                .filter(|(p, _)| *p > pos && *p - pos <= 3)
                .min_by_key(|(p, _)| *p)
        })
        .map(|(_, d)| d.clone())
}

fn prefix_match(a: &str, b: &str) -> bool {
    if b.starts_with('#') {
        return false;
    }
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    s.chars().count() >= 5 && l.starts_with(s)
}
