//! Text normalisation shared by every check: sentence splitting, a small
//! tokenizer that keeps the punctuation the checks need (`/`, `%`, `?`, `,`),
//! spoken numbers turned into values ("one hundred twenty" → 120, "thirty
//! eight point five" → 38.5), and a deliberately crude suffix stemmer.
//!
//! Crude on purpose: the checks are deterministic and explainable, and a
//! reviewer can predict what "fevers" matches. A full Porter stemmer or an
//! embedding would match more paraphrases and explain less.

/// One token of a sentence or a segment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A lower-cased word (apostrophes kept inside: "don't", "n't").
    Word(String),
    /// A number, written in digits or spelled out.
    Num(f64),
    /// Punctuation the checks look at.
    Sym(char),
}

impl Tok {
    pub(crate) fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
    pub(crate) fn num(&self) -> Option<f64> {
        match self {
            Tok::Num(v) => Some(*v),
            _ => None,
        }
    }
}

const KEPT_SYMBOLS: &[char] = &['/', '%', '°', '+', '?', ',', '.', ';', ':', '-', '!'];

/// Splits text into raw tokens (digits only; spelled numbers come later).
fn raw_tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            let mut w = String::new();
            while i < chars.len() {
                let ch = chars[i];
                if ch.is_alphabetic() {
                    w.extend(ch.to_lowercase());
                    i += 1;
                } else if (ch == '\'' || ch == '’')
                    && i + 1 < chars.len()
                    && chars[i + 1].is_alphabetic()
                {
                    w.push('\'');
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Word(w));
        } else if c == '\'' || c == '’' {
            // A leading apostrophe ("n't" split off as "n 't", or "'s").
            if let Some(Tok::Word(prev)) = out.last_mut() {
                if prev == "n" && chars.get(i + 1) == Some(&'t') {
                    prev.push_str("'t");
                    i += 2;
                    continue;
                }
            }
            i += 1;
        } else if c.is_ascii_digit() {
            let mut s = String::new();
            while i < chars.len() {
                let ch = chars[i];
                if ch.is_ascii_digit() {
                    s.push(ch);
                    i += 1;
                } else if ch == '.'
                    && !s.contains('.')
                    && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
                {
                    s.push('.');
                    i += 1;
                } else if ch == ','
                    && !s.contains('.')
                    && (1..=3).all(|k| chars.get(i + k).is_some_and(|d| d.is_ascii_digit()))
                    && !chars.get(i + 4).is_some_and(|d| d.is_ascii_digit())
                {
                    // Thousands separator: "1,000".
                    i += 1;
                } else {
                    break;
                }
            }
            if let Ok(v) = s.parse::<f64>() {
                out.push(Tok::Num(v));
            }
        } else {
            if KEPT_SYMBOLS.contains(&c) {
                out.push(Tok::Sym(c));
            }
            i += 1;
        }
    }
    out
}

fn small_number(w: &str) -> Option<(f64, u8)> {
    // (value, kind): 0 = unit 0..9, 1 = teen 10..19, 2 = tens.
    const UNITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    const TEENS: [&str; 10] = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(i) = UNITS.iter().position(|u| *u == w) {
        return Some((i as f64, 0));
    }
    if let Some(i) = TEENS.iter().position(|u| *u == w) {
        return Some((10.0 + i as f64, 1));
    }
    if let Some(i) = TENS.iter().position(|u| *u == w) {
        return Some((20.0 + 10.0 * i as f64, 2));
    }
    None
}

/// Rewrites spoken forms the folder does not handle on its own: "a
/// hundred" → "one hundred", "a week" → 1 week, "point five" → "zero point
/// five".
fn spoken_forms(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        let next = toks.get(i + 1).and_then(Tok::word);
        match t.word() {
            Some("a" | "an") if matches!(next, Some("hundred" | "thousand")) => {
                out.push(Tok::Word("one".into()));
            }
            Some("a" | "an")
                if matches!(
                    next,
                    Some("day" | "week" | "month" | "year" | "hour" | "minute")
                ) =>
            {
                out.push(Tok::Num(1.0));
            }
            Some("point")
                if next.and_then(small_number).is_some_and(|(_, k)| k == 0)
                    && !matches!(out.last(), Some(Tok::Num(_)))
                    && out
                        .last()
                        .and_then(Tok::word)
                        .and_then(small_number)
                        .is_none() =>
            {
                out.push(Tok::Word("zero".into()));
                out.push(t.clone());
            }
            _ if *t == Tok::Sym('.')
                && next.and_then(small_number).is_some_and(|(_, k)| k == 0) =>
            {
                // Recognisers write a spoken "point" as a full stop:
                // "ninety eight . two", "a . five centimeter".
                let prev = out.last().and_then(Tok::word);
                if prev.is_some_and(|p| small_number(p).is_some() || p == "hundred") {
                    out.push(Tok::Word("point".into()));
                } else if matches!(prev, Some("a" | "about" | "approximately" | "is" | "of")) {
                    out.push(Tok::Word("zero".into()));
                    out.push(Tok::Word("point".into()));
                } else {
                    out.push(t.clone());
                }
            }
            _ => out.push(t.clone()),
        }
    }
    out
}

/// Replaces runs of spelled-out number words by one `Num`.
fn fold_number_words(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let w0 = toks[i].word();
        let start_ok = w0.and_then(small_number).is_some();
        if !start_ok {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        let mut total = 0.0;
        let mut current = 0.0;
        // 0 unit, 1 teen, 2 tens, 3 hundred, 4 thousand, 9 nothing yet
        let mut last = 9u8;
        let mut j = i;
        while j < toks.len() {
            match &toks[j] {
                Tok::Word(w) => {
                    if let Some((v, kind)) = small_number(w) {
                        // Spoken vitals: "one twenty eight" is 128.
                        if kind != 0
                            && last == 0
                            && total == 0.0
                            && (1.0..=9.0).contains(&current)
                            && j == i + 1
                        {
                            current = current * 100.0 + v;
                            last = kind;
                            j += 1;
                            continue;
                        }
                        // "five hundred five hundred" is a number said
                        // twice, not 50,500: a unit after a hundred that
                        // is itself followed by "hundred" starts anew.
                        let restart = kind == 0
                            && last == 3
                            && toks.get(j + 1).and_then(Tok::word) == Some("hundred");
                        let ok = !restart
                            && match kind {
                                0 => matches!(last, 2..=4 | 9),
                                _ => matches!(last, 3 | 4 | 9),
                            };
                        if !ok {
                            break;
                        }
                        current += v;
                        last = kind;
                    } else if w == "hundred" && matches!(last, 0 | 1) {
                        current *= 100.0;
                        last = 3;
                    } else if w == "thousand" && matches!(last, 0..=3) {
                        total += current * 1000.0;
                        current = 0.0;
                        last = 4;
                    } else if w == "and"
                        && last == 3
                        && toks
                            .get(j + 1)
                            .and_then(Tok::word)
                            .and_then(small_number)
                            .is_some()
                    {
                        // "one hundred and twenty"
                    } else {
                        break;
                    }
                }
                Tok::Sym('-')
                    if last == 2
                        && toks
                            .get(j + 1)
                            .and_then(Tok::word)
                            .and_then(small_number)
                            .is_some_and(|(_, k)| k == 0) => {}
                _ => break,
            }
            j += 1;
        }
        let mut value = total + current;
        // "thirty eight point five"
        if toks.get(j).and_then(Tok::word) == Some("point") {
            let mut digits = String::new();
            let mut k = j + 1;
            while let Some((v, 0)) = toks.get(k).and_then(Tok::word).and_then(small_number) {
                digits.push(char::from(b'0' + v as u8));
                k += 1;
            }
            if !digits.is_empty() {
                if let Ok(frac) = format!("0.{digits}").parse::<f64>() {
                    value += frac;
                    j = k;
                }
            }
        }
        out.push(Tok::Num(value));
        i = j.max(i + 1);
    }
    out
}

/// Tokens of a text: lower-cased words, numbers as values, kept symbols.
pub(crate) fn tokenize(text: &str) -> Vec<Tok> {
    fold_number_words(spoken_forms(raw_tokens(text)))
}

/// A crude suffix stemmer: "fevers" → "fever", "swelling" → "swell",
/// "denied" → "deni", "studies" → "studi". Both sides of every comparison go
/// through it, so only consistency matters.
pub(crate) fn stem(word: &str) -> String {
    let mut w: &str = word.trim_matches('\'');
    if let Some(s) = w.strip_suffix("'s") {
        w = s;
    }
    let n = w.chars().count();
    if n <= 3 {
        return w.to_string();
    }
    let mut s = w.to_string();
    if let Some(b) = s.strip_suffix("ies") {
        s = format!("{b}i");
    } else if let Some(b) = s.strip_suffix("sses") {
        s = format!("{b}ss");
    } else if s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") {
        s.pop();
    }
    for suf in ["ingly", "ing", "edly", "ed", "ly", "ness", "ful"] {
        if s.chars().count() > suf.len() + 3 {
            if let Some(b) = s.strip_suffix(suf) {
                s = b.to_string();
                break;
            }
        }
    }
    if s.ends_with('y') && s.chars().count() > 4 {
        s.pop();
        s.push('i');
    }
    if s.ends_with('e') && s.chars().count() > 4 {
        s.pop();
    }
    s
}

/// Words that carry no support on their own. Includes the boilerplate of
/// clinical notes ("patient", "reports", "today"), which a transcript rarely
/// says but a note always does.
pub(crate) fn is_stopword(w: &str) -> bool {
    const STOP: &[&str] = &[
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "um",
        "uh",
        "okay",
        "ok",
        "yeah",
        "like",
        "know",
        "mm",
        "hmm",
        "well",
        "also",
        "i'm",
        "it's",
        "that's",
        "let's",
        "i've",
        "i'd",
        "you're",
        "we'll",
        "i'll",
        "patient",
        "patients",
        "pt",
        "reports",
        "report",
        "reported",
        "states",
        "stated",
        "notes",
        "noted",
        "presents",
        "presented",
        "today",
        "currently",
        "mr",
        "mrs",
        "ms",
        "dr",
        "year",
        "old",
        "male",
        "female",
        "man",
        "woman",
        "history",
        "significant",
        "recommended",
        "regarding",
        "advised",
        "will",
        "would",
        "also",
        "per",
        "via",
        "however",
        "additionally",
        "mg",
        "s",
        "t",
        "understands",
        "understand",
        "agrees",
        "agree",
        "agreements",
        "agreement",
        "plan",
        "treatment",
        "medical",
        "reasoning",
        "education",
        "counseling",
        "discussed",
        "discussion",
        "reviewed",
        "review",
        "explained",
        "lengthy",
        "regard",
        "regards",
        "findings",
        "examination",
        "evaluation",
        "further",
        "recommend",
        "recommendation",
        "recommendations",
        "pleasant",
        "clinic",
        "visit",
        "appointment",
        "instructed",
        "questions",
        "answered",
        "satisfaction",
        "verbalized",
        "voiced",
        "understanding",
        "additional",
        "testing",
        "including",
        "consistent",
        "demonstrates",
        "demonstrated",
        "reveals",
        "revealed",
        "shows",
        "showed",
        "noted",
        "secondary",
        "due",
        "status",
        "post",
        "continue",
        "continued",
        "present",
        "describes",
        "explains",
        "adds",
        "no",
        "not",
        "denies",
        "denied",
        "deny",
        "endorses",
        "endorsed",
        "reported",
        "complains",
        "admits",
        "positive",
        "negative",
        "left",
        "right",
        "bilateral",
        "bilaterally",
    ];
    STOP.contains(&w)
}

/// Placeholders a drafter writes for an empty section; never grounded.
pub(crate) fn is_placeholder(line: &str) -> bool {
    let t: String = line
        .trim()
        .trim_matches(|c: char| c == '(' || c == ')' || c == '.' || c.is_whitespace())
        .to_lowercase();
    matches!(
        t.as_str(),
        "not discussed" | "nothing recorded" | "none recorded" | "n/a" | ""
    )
}

/// A list item's number or letter alone: "2.", "10)", "a)".
fn is_enumerator(s: &str) -> bool {
    let core = s.trim_end_matches(['.', ')']);
    core.len() < s.len()
        && !core.is_empty()
        && (core.len() <= 3 && core.bytes().all(|b| b.is_ascii_digit())
            || core.len() == 1 && core.bytes().all(|b| b.is_ascii_lowercase()))
}

fn strip_bullet(line: &str) -> &str {
    let t = line.trim();
    for b in ["•", "·", "◦", "▪", "- ", "* ", "– ", "— ", "> "] {
        if let Some(rest) = t.strip_prefix(b) {
            return rest.trim_start();
        }
    }
    // "1. ", "2) ", "a) "
    let bytes = t.as_bytes();
    let mut k = 0;
    while k < bytes.len() && bytes[k].is_ascii_digit() && k < 3 {
        k += 1;
    }
    if k == 0 && bytes.len() > 2 && bytes[0].is_ascii_lowercase() && bytes[1] == b')' {
        k = 1;
    }
    if k > 0 && k + 1 < bytes.len() && matches!(bytes[k], b'.' | b')') && bytes[k + 1] == b' ' {
        return t[k + 1..].trim_start();
    }
    t
}

const ABBREVIATIONS: &[&str] = &[
    "dr", "mr", "mrs", "ms", "st", "vs", "e.g", "i.e", "etc", "approx", "no", "fig", "jr", "sr",
    "prof", "pt", "b.i.d", "t.i.d", "q.i.d", "p.o", "q.d", "a.m", "p.m", "mt",
];

/// Splits a section's text into sentences: one line at a time (bullets and
/// list numbers stripped), then at `.`, `!` or `?` followed by a space and a
/// capital letter or digit, unless the word before the stop is a title or
/// abbreviation ("Dr.", "e.g.") or a single initial. Decimals ("38.5") never
/// split because no space follows the point; "500 mg. twice daily" does not
/// split because a lower-case word follows. Placeholders are skipped.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw_line in text.lines() {
        let line = strip_bullet(raw_line);
        if is_placeholder(line) {
            continue;
        }
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut start = 0usize;
        for (k, &(pos, c)) in chars.iter().enumerate() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            let next = chars.get(k + 1).map(|x| x.1);
            // The next sentence starts after any run of spaces ("pain.  The
            // patient", as typed notes often have).
            let after = chars[k + 1..]
                .iter()
                .map(|x| x.1)
                .find(|ch| !ch.is_whitespace());
            if !next.is_some_and(char::is_whitespace) {
                continue;
            }
            if !after
                .is_some_and(|a| a.is_uppercase() || a.is_ascii_digit() || a == '(' || a == '"')
            {
                continue;
            }
            if c == '.' {
                let before = &line[start..pos];
                let last_word: String = before
                    .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
                    .next()
                    .unwrap_or("")
                    .to_lowercase();
                // A single letter is an initial ("J. Smith"), unless it
                // follows a number ("38.5 C.").
                let after_number = before
                    .trim_end()
                    .strip_suffix(|ch: char| ch.is_alphabetic())
                    .is_some_and(|b| b.trim_end().ends_with(|ch: char| ch.is_ascii_digit()));
                if ABBREVIATIONS.contains(&last_word.as_str())
                    || (last_word.chars().count() == 1
                        && last_word.chars().all(char::is_alphabetic)
                        && !after_number)
                {
                    continue;
                }
            }
            let end = pos + c.len_utf8();
            // A list's number ("1.  Obesity.  2.  Anemia.") is no sentence;
            // it stays with the item it numbers.
            if is_enumerator(line[start..end].trim()) {
                continue;
            }
            let s = strip_bullet(&line[start..end]);
            if !s.is_empty() && !is_placeholder(s) {
                out.push(s.to_string());
            }
            start = end;
        }
        let s = strip_bullet(&line[start..]);
        if !s.is_empty() && !is_placeholder(s) && !is_enumerator(s) {
            out.push(s.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_numbers_fold() {
        let t = tokenize("BP one hundred twenty over eighty, temp thirty eight point five");
        let nums: Vec<f64> = t.iter().filter_map(Tok::num).collect();
        assert_eq!(nums, vec![120.0, 80.0, 38.5]);
        assert_eq!(
            tokenize("five hundred five hundred milligrams")
                .iter()
                .filter_map(|t| match t {
                    Tok::Num(v) => Some(*v),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            vec![500.0, 500.0]
        );
        let t = tokenize("twenty-five mg, one hundred and five, 1,000 units, 38.5");
        let nums: Vec<f64> = t.iter().filter_map(Tok::num).collect();
        assert_eq!(nums, vec![25.0, 105.0, 1000.0, 38.5]);
        let t = tokenize("twenty twenty");
        assert_eq!(t.iter().filter_map(Tok::num).count(), 2);
    }

    #[test]
    fn spoken_point_written_as_a_full_stop() {
        let nums = |s: &str| -> Vec<f64> { tokenize(s).iter().filter_map(Tok::num).collect() };
        assert_eq!(nums("a . five centimeter stone"), vec![0.5]);
        assert_eq!(nums("temperature is ninety eight . two"), vec![98.2]);
        // A real full stop between a word and a number stays one.
        assert_eq!(nums("it hurts . two days ago"), vec![2.0]);
        assert!(tokenize("it hurts . two days ago").contains(&Tok::Sym('.')));
    }

    #[test]
    fn splits_typed_notes_with_two_spaces_and_numbered_items_in_a_line() {
        assert_eq!(
            split_sentences("Low back pain.  The patient fell.   She denies fever."),
            ["Low back pain.", "The patient fell.", "She denies fever."]
        );
        // A problem list typed in one line: the numbers go with their items
        // and are no sentences (nor numbers to ground) of their own.
        assert_eq!(
            split_sentences("1.  Obesity.  2.  Iron deficiency anemia.  10) Tobacco abuse."),
            ["Obesity.", "Iron deficiency anemia.", "Tobacco abuse."]
        );
        // A number that ends a sentence stays in it.
        assert_eq!(
            split_sentences("Her pain is a 7.  She rates it 8 at night."),
            ["Her pain is a 7.", "She rates it 8 at night."]
        );
    }

    #[test]
    fn splits_sentences_with_abbreviations() {
        let s = split_sentences(
            "Seen by Dr. Smith today. Temp 38.5 C. Take 500 mg. twice daily.\n• Neck: JVD 8 cm.\n1. CHF. Not discussed.",
        );
        assert_eq!(
            s,
            vec![
                "Seen by Dr. Smith today.",
                "Temp 38.5 C.",
                "Take 500 mg. twice daily.",
                "Neck: JVD 8 cm.",
                "CHF.",
                "Not discussed."
            ]
            .into_iter()
            .filter(|x| *x != "Not discussed.")
            .collect::<Vec<_>>()
        );
        assert!(split_sentences("Not discussed.").is_empty());
        assert!(split_sentences("(nothing recorded)").is_empty());
    }

    #[test]
    fn stems_consistently() {
        assert_eq!(stem("fevers"), stem("fever"));
        assert_eq!(stem("swelling"), stem("swell"));
        assert_eq!(stem("knees"), stem("knee"));
    }
}
