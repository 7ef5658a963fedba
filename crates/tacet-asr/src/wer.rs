//! Word error rate, for scoring transcripts against a reference.
//!
//! Both sides are lower-cased, hyphens become spaces, and every other
//! character that is not a letter, digit or whitespace is removed (so "98.6"
//! scores as "986" on both sides, and "Don't" equals "dont"). WER is the word
//! edit distance divided by the number of reference words.

/// Lower-cased words with punctuation removed.
pub fn normalize_words(text: &str) -> Vec<String> {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c == '-' || c == '—' || c == '–' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// (substitutions + deletions + insertions) / reference words. An empty
/// reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let r = normalize_words(reference);
    let h = normalize_words(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    // Two-row Levenshtein over words.
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    let mut cur = vec![0usize; h.len() + 1];
    for (i, rw) in r.iter().enumerate() {
        cur[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_ignoring_case_and_punctuation() {
        assert_eq!(
            word_error_rate("And so, my fellow Americans!", "and so my fellow americans"),
            0.0
        );
    }

    #[test]
    fn counts_substitution_deletion_insertion() {
        assert_eq!(word_error_rate("a b c d", "a x c d"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a c d"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a b c d e"), 0.25);
        assert_eq!(word_error_rate("a b", "c d e f"), 2.0);
    }

    #[test]
    fn empty_cases() {
        assert_eq!(word_error_rate("", ""), 0.0);
        assert_eq!(word_error_rate("", "words"), 1.0);
        assert_eq!(word_error_rate("two words", ""), 1.0);
    }

    #[test]
    fn hyphens_and_decimals() {
        assert_eq!(
            normalize_words("Left-sided, 98.6"),
            vec!["left", "sided", "986"]
        );
    }
}
