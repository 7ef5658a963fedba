//! Repetition loops in machine-written text.
//!
//! Both engines loop when greedy decoding goes wrong: whisper repeats a
//! phrase until its window ends, and a small drafting model writes "Patient
//! Portal, Patient Portal, …" until its token budget runs out. Both loops
//! look the same as words (a run of one n-gram back to back), so one
//! detector serves the transcriber's guard and the drafter's stop rule, each
//! with its own [`LoopRule`]: a transcript is what was said and is cut only
//! on long runs, a draft is cut early (the words saved are decode time
//! saved, and the reviewer reads less noise).
//!
//! Words are compared without case or punctuation ("Okay," equals "okay.");
//! words that are only punctuation ("-", "•") are skipped. Offsets are bytes
//! of the text given, so callers cut without re-joining words.

/// When a run of repeated n-grams is a loop.
#[derive(Clone, Copy, Debug)]
pub struct LoopRule {
    /// Longest n-gram considered, in words.
    pub max_ngram_words: usize,
    /// Back-to-back copies of an n-gram at which the run is a loop is
    /// `max(min_copies, ⌈min_words / n⌉)`: a run must hold at least
    /// `min_words` words and `min_copies` copies.
    pub min_copies: usize,
    pub min_words: usize,
    /// Skip list numbering ("1.", "2)") so that "1. Rest 2. Rest 3. Rest" is
    /// a loop of "Rest" (drafts number lines; speech does not).
    pub skip_list_markers: bool,
    /// Also a loop: one word that repeats a few characters over and over
    /// ("s-u-h-h-h-h-h-h"; see [`char_run`]). The word is cut whole.
    pub char_loops: bool,
}

impl LoopRule {
    /// Copies of an `n`-word n-gram that make a loop.
    pub fn copies_needed(&self, n: usize) -> usize {
        self.min_words.div_ceil(n.max(1)).max(self.min_copies)
    }
}

/// Transcripts: eight single words, four bigrams, three longer phrases;
/// "No, no, no." and "Very very good." are speech, not loops.
pub const TRANSCRIPT_LOOPS: LoopRule = LoopRule {
    max_ngram_words: 8,
    min_copies: 3,
    min_words: 8,
    skip_list_markers: false,
    char_loops: false,
};

/// Drafts: six single words, three copies of any phrase up to sixteen words
/// (a sentence the model repeats without its full stop, or a numbered list of
/// one item).
pub const DRAFT_LOOPS: LoopRule = LoopRule {
    max_ngram_words: 16,
    min_copies: 3,
    min_words: 6,
    skip_list_markers: true,
    char_loops: true,
};

/// A loop found in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhraseLoop {
    /// Byte offset where the first copy starts.
    pub first_byte: usize,
    /// Byte offset just past the first copy's last word: keep
    /// `text[..first_copy_end_byte]` (list numbering and separators before
    /// the second copy are left out).
    pub first_copy_end_byte: usize,
    /// Words in the repeated n-gram; 0 for a word that loops on its own
    /// characters (then `first_copy_end_byte == first_byte`: the word goes).
    pub ngram_words: usize,
}

/// The compared words of `text`: (normalized, byte start, byte end).
fn words(text: &str, rule: &LoopRule) -> Vec<(String, usize, usize)> {
    word_ranges(text)
        .filter_map(|r| {
            let w = &text[r.clone()];
            if rule.skip_list_markers && is_list_marker(w) {
                return None;
            }
            let key: String = w
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            (!key.is_empty()).then_some((key, r.start, r.end))
        })
        .collect()
}

/// The byte ranges of `text`'s whitespace-separated words, in order.
pub fn word_ranges(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let base = text.as_ptr() as usize;
    text.split_whitespace().map(move |w| {
        let start = w.as_ptr() as usize - base;
        start..start + w.len()
    })
}

/// "1.", "12)", "3:": digits and one closing mark.
fn is_list_marker(w: &str) -> bool {
    let digits = w.trim_end_matches(['.', ')', ':']);
    w.len() - digits.len() == 1 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Copies of a unit of characters, back to back inside one word, that make
/// the word a loop (with at least [`CHAR_LOOP_MIN_CHARS`] characters).
const CHAR_LOOP_COPIES: usize = 5;
const CHAR_LOOP_MIN_CHARS: usize = 6;
/// Longest unit of characters considered.
const CHAR_LOOP_UNIT: usize = 4;

/// The most back-to-back copies of a unit of one to four characters that
/// holds a letter, in `word`. Runs shorter than [`CHAR_LOOP_MIN_CHARS`]
/// count as one copy, so "less" and "committee" are never runs, and units
/// without a letter do not count ("1000000", "-----").
fn char_run(word: &str) -> usize {
    let c: Vec<char> = word.chars().collect();
    let mut best = 1;
    for u in 1..=CHAR_LOOP_UNIT.min(c.len()) {
        for i in 0..=c.len() - u {
            let unit = &c[i..i + u];
            if !unit.iter().any(|ch| ch.is_alphabetic()) {
                continue;
            }
            let mut copies = 1;
            while i + (copies + 1) * u <= c.len() && c[i + copies * u..][..u] == *unit {
                copies += 1;
            }
            if copies * u >= CHAR_LOOP_MIN_CHARS {
                best = best.max(copies);
            }
        }
    }
    best
}

/// The earliest loop in `text` under `rule`, if any.
pub fn find_loop(text: &str, rule: &LoopRule) -> Option<PhraseLoop> {
    let w = words(text, rule);
    let len = w.len();
    for start in 0..len {
        if rule.char_loops && char_run(&text[w[start].1..w[start].2]) >= CHAR_LOOP_COPIES {
            return Some(PhraseLoop {
                first_byte: w[start].1,
                first_copy_end_byte: w[start].1,
                ngram_words: 0,
            });
        }
        for n in 1..=rule.max_ngram_words {
            let needed = rule.copies_needed(n);
            if start + n * needed > len {
                break;
            }
            let mut copies = 1;
            while start + (copies + 1) * n <= len
                && (0..n).all(|k| w[start + copies * n + k].0 == w[start + k].0)
            {
                copies += 1;
            }
            if copies >= needed {
                return Some(PhraseLoop {
                    first_byte: w[start].1,
                    first_copy_end_byte: w[start + n - 1].2,
                    ngram_words: n,
                });
            }
        }
    }
    None
}

/// Where a loop may be starting at the end of a growing `text`: the byte
/// offset just past the word after which the text's tail repeats the words
/// before it (one n-gram, n up to the rule's longest), not yet a loop.
/// A stream that shows text as it is written holds back from here, so it
/// never shows what [`find_loop`] will cut; the hold lasts only until the
/// next word breaks the pattern. Every word of `text` counts as complete:
/// a stream shows whole words only, since a word that loops on its own
/// characters is cut whole and a half-written "12" may yet become a list
/// marker (the drafter cuts `text` after its last whitespace).
pub fn pending_repeat(text: &str, rule: &LoopRule) -> Option<usize> {
    let w = words(text, rule);
    let len = w.len();
    let same = |j: usize, n: usize| w[j].0 == w[j - n].0;
    // Trailing list numbers wait for the next word: a loop's cut leaves out
    // the numbering before its second copy.
    let last_end = w.last().map_or(0, |x| x.2);
    let mut earliest =
        (rule.skip_list_markers && !text[last_end..].trim().is_empty()).then_some(last_end);
    for n in 1..=rule.max_ngram_words.min(len.saturating_sub(1)) {
        // The tail w[from..] repeats the n words before it.
        let mut from = len;
        while from > n && same(from - 1, n) {
            from -= 1;
        }
        if from < len {
            let at = w[from - 1].2;
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
    }
    earliest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut<'a>(text: &'a str, rule: &LoopRule) -> Option<&'a str> {
        find_loop(text, rule).map(|l| text[..l.first_copy_end_byte].trim_end())
    }

    #[test]
    fn transcript_loops_are_cut_after_the_first_copy() {
        let r = &TRANSCRIPT_LOOPS;
        assert_eq!(
            cut("It hurts here. I'm going to the clinic. I'm going to the clinic. I'm going to the clinic. I'm going to the clinic.", r),
            Some("It hurts here. I'm going to the clinic.")
        );
        assert_eq!(cut("the the the the the the the the the", r), Some("the"));
        assert_eq!(
            cut("Okay, okay. Okay, okay. Okay, okay. Okay, okay.", r),
            Some("Okay,")
        );
    }

    #[test]
    fn speech_that_repeats_itself_is_not_a_loop() {
        for t in [
            "No, no, no.",
            "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
            "Very very good.",
            "Left knee, right knee, left knee.",
            "",
        ] {
            assert_eq!(find_loop(t, &TRANSCRIPT_LOOPS), None, "{t:?}");
            assert_eq!(find_loop(t, &DRAFT_LOOPS), None, "{t:?}");
        }
    }

    #[test]
    fn draft_loops_are_caught_early_and_through_list_numbers() {
        let r = &DRAFT_LOOPS;
        assert_eq!(
            cut(
                "Follow up via the Patient Portal, Patient Portal, Patient Portal, Patient",
                r
            ),
            Some("Follow up via the Patient Portal,")
        );
        assert_eq!(
            cut(
                "Plan:\n1. Rest the knee\n2. Rest the knee\n3. Rest the knee\n4.",
                r
            ),
            Some("Plan:\n1. Rest the knee")
        );
        // One word looping on its own characters goes whole.
        assert_eq!(
            cut("a type of medication called a s-u-h-h-h-h-h-h-h-h", r),
            Some("a type of medication called a")
        );
        for t in [
            "The committee agreed.",
            "Give 1000000 units.",
            "Hmm, less pain.",
            "-----",
        ] {
            assert_eq!(find_loop(t, r), None, "{t:?}");
        }
        // A dose titration repeats words around changing numbers.
        for t in [
            "Start 5 mg, then 10 mg, then 15 mg, then 20 mg daily.",
            "BP 120/80, HR 72, BP 118/78, HR 70.",
            "1. Knee pain 2. Hip pain 3. Back pain",
        ] {
            assert_eq!(find_loop(t, r), None, "{t:?}");
        }
    }

    #[test]
    fn a_pending_repeat_is_held_back_until_it_breaks_off() {
        let r = &DRAFT_LOOPS;
        let t = "Use the Patient Portal, Patient Portal, ";
        assert_eq!(pending_repeat(t, r), t.rfind(" Patient Portal, "));
        let t = "Use the Patient Portal, Patient ";
        assert_eq!(pending_repeat(t, r), t.rfind(" Patient "));
        let t = "Use the Patient Portal,\n1. Patient ";
        assert_eq!(
            pending_repeat(t, r),
            t.rfind("\n1. Patient "),
            "list numbers are skipped"
        );
        let t = "Ice the knee and the hip";
        assert_eq!(pending_repeat(t, r), None, "the pattern broke off");
        assert_eq!(pending_repeat("Use the portal.", r), None);
        assert_eq!(pending_repeat("no no", r), Some(2));
        assert_eq!(pending_repeat("no no thanks", r), None);
        assert_eq!(pending_repeat("", r), None);
        let t = "Rest the knee.\n2. ";
        assert_eq!(
            pending_repeat(t, r),
            t.find("\n2."),
            "a trailing list number waits"
        );
        assert_eq!(pending_repeat(t, &TRANSCRIPT_LOOPS), None);
    }

    proptest::proptest! {
        /// What a cut keeps holds no loop; a stream that holds back from the
        /// pending repeat never shows what the cut removes.
        #[test]
        fn a_cut_removes_every_loop(
            words in proptest::collection::vec(
                proptest::sample::select(vec!["rest", "Rest,", "the", "knee.", "1.", "-", "é", "pain", "h-h-h", "-h-h-h", "hh"]),
                0..40,
            ),
            seps in proptest::collection::vec(proptest::sample::select(vec![" ", "\n", ", "]), 40),
        ) {
            let text: String = words.iter().zip(&seps).map(|(w, s)| format!("{w}{s}")).collect();
            for rule in [&TRANSCRIPT_LOOPS, &DRAFT_LOOPS] {
                if let Some(l) = find_loop(&text, rule) {
                    proptest::prop_assert!(l.first_byte <= l.first_copy_end_byte);
                    let kept = &text[..l.first_copy_end_byte];
                    proptest::prop_assert_eq!(find_loop(kept, rule), None);
                }
                // Written a character at a time, shown up to the pending
                // repeat, cut at the first loop: nothing shown is cut.
                let mut shown: &str = "";
                for (i, _) in text.char_indices().skip(1).chain([(text.len(), ' ')]) {
                    let prefix = &text[..i];
                    if let Some(l) = find_loop(prefix, rule) {
                        let kept = &prefix[..l.first_copy_end_byte];
                        proptest::prop_assert!(kept.starts_with(shown), "{:?} then {:?}", shown, kept);
                        break;
                    }
                    // Whole words only, as the drafter streams.
                    let whole = prefix.rfind(char::is_whitespace).map_or(0, |ws| ws + 1);
                    let shown_to = pending_repeat(&prefix[..whole], rule).unwrap_or(whole);
                    let visible = prefix[..shown_to].trim_end();
                    if visible.len() > shown.len() && visible.starts_with(shown) {
                        shown = visible;
                    }
                }
            }
        }
    }

    #[test]
    fn list_markers() {
        assert!(is_list_marker("1.") && is_list_marker("12)") && is_list_marker("3:"));
        assert!(
            !is_list_marker("1")
                && !is_list_marker("1.5")
                && !is_list_marker("a.")
                && !is_list_marker(".")
        );
    }
}
