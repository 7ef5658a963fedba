//! Cheap, deterministic guards against whisper's known failure modes.
//!
//! whisper invents text where there is none: on silence and faint noise it
//! produces "[BLANK_AUDIO]", "(music)" or a plausible stock phrase, and when
//! decoding goes wrong it can loop, repeating one phrase until the window
//! ends. These functions are pure so each rule is tested on plain strings;
//! none of them needs a model.

use tacet_core::loops::{find_loop, word_ranges, TRANSCRIPT_LOOPS};
use tacet_core::TextSpan;

/// Loudest 100 ms frame RMS below which the audio is treated as silence and
/// whisper is not run at all (≈ −50 dBFS; quiet speech peaks well above
/// −35 dBFS).
pub const SILENCE_RMS: f32 = 0.003;

/// Frame length for the energy gate: 100 ms at 16 kHz.
pub const GATE_FRAME_SAMPLES: usize = 1_600;

/// RMS of the loudest 100 ms frame (0.0 for empty input).
pub fn max_frame_rms(samples: &[f32]) -> f32 {
    samples
        .chunks(GATE_FRAME_SAMPLES)
        .map(|frame| {
            let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            (sum / frame.len() as f64).sqrt() as f32
        })
        .fold(0.0, f32::max)
}

/// True when no 100 ms frame reaches [`SILENCE_RMS`].
pub fn is_silent(samples: &[f32]) -> bool {
    max_frame_rms(samples) < SILENCE_RMS
}

/// True when a segment holds nothing but non-speech: bracketed annotations
/// ("[BLANK_AUDIO]", "[Music]", "(silence)", "*coughs*"), music symbols,
/// or only punctuation.
pub fn is_non_speech(text: &str) -> bool {
    let mut depth_square = 0i32;
    let mut depth_round = 0i32;
    let mut in_star = false;
    for c in text.chars() {
        match c {
            '[' => depth_square += 1,
            ']' => depth_square -= 1,
            '(' => depth_round += 1,
            ')' => depth_round -= 1,
            '*' => in_star = !in_star,
            _ => {
                let inside = depth_square > 0 || depth_round > 0 || in_star;
                if !inside && c.is_alphanumeric() {
                    return false;
                }
            }
        }
    }
    true
}

/// If `text` repeats one n-gram back to back many times (a decoding loop),
/// returns the text cut after the first occurrence; otherwise `None`.
///
/// A loop is an n-gram (1 to 8 words, compared without case or punctuation)
/// repeated consecutively at least max(3, ⌈8/n⌉) times: eight single words,
/// four bigrams, three longer phrases ([`TRANSCRIPT_LOOPS`]; the detector is
/// the drafter's too). "No, no, no." is left alone.
pub fn cut_repetition_loop(text: &str) -> Option<String> {
    find_loop(text, &TRANSCRIPT_LOOPS).map(|l| text[..l.first_copy_end_byte].trim_end().to_string())
}

/// A token below this probability makes its word "unsure" for the reviewer.
/// whisper's greedy tokens on clear speech sit near 0.9; a word it heard
/// wrongly usually holds a token well under one half.
pub const UNSURE_TOKEN_BELOW: f32 = 0.5;

/// One decoded text token: its bytes (a token may hold part of a character)
/// and its probability.
pub struct TokenProb<'a> {
    pub bytes: &'a [u8],
    pub probability: f32,
}

/// The words of `text` the engine was unsure of, as byte ranges of `text`,
/// adjacent unsure words merged into one range.
///
/// `tokens` are the segment's text tokens in order; their bytes joined are
/// the segment's raw text, of which `text` keeps the words in order, a
/// prefix of them when a repetition loop was cut (only whitespace differs).
/// A word is unsure when a token with a letter or digit in it, overlapping
/// the word, is below `below`; a low-probability comma does not mark its
/// word. When the tokens do not spell valid UTF-8, or spell different words
/// than `text`, nothing is marked: the segment's own confidence still is.
pub fn unsure_word_spans(tokens: &[TokenProb<'_>], text: &str, below: f32) -> Vec<TextSpan> {
    let mut raw = Vec::new();
    let mut low = Vec::new();
    for t in tokens {
        let wordy =
            t.bytes.iter().any(u8::is_ascii_alphanumeric) || t.bytes.iter().any(|b| *b >= 0x80);
        raw.extend_from_slice(t.bytes);
        low.extend(std::iter::repeat_n(
            wordy && t.probability < below,
            t.bytes.len(),
        ));
    }
    let Ok(raw) = std::str::from_utf8(&raw) else {
        return Vec::new();
    };
    let raw_words: Vec<_> = word_ranges(raw).collect();
    let words: Vec<_> = word_ranges(text).collect();
    if words.len() > raw_words.len()
        || words
            .iter()
            .zip(&raw_words)
            .any(|(a, b)| text[a.clone()] != raw[b.clone()])
    {
        return Vec::new();
    }
    let mut spans: Vec<TextSpan> = Vec::new();
    let mut prev_unsure = false;
    for (w, r) in words.iter().zip(&raw_words) {
        let unsure = low[r.clone()].iter().any(|&l| l);
        if unsure {
            let (start_byte, end_byte) = (w.start as u32, w.end as u32);
            match spans.last_mut() {
                Some(last) if prev_unsure => last.end_byte = end_byte,
                _ => spans.push(TextSpan {
                    start_byte,
                    end_byte,
                }),
            }
        }
        prev_unsure = unsure;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks<'a>(parts: &[(&'a str, f32)]) -> Vec<TokenProb<'a>> {
        parts
            .iter()
            .map(|&(t, p)| TokenProb {
                bytes: t.as_bytes(),
                probability: p,
            })
            .collect()
    }

    fn marked<'a>(text: &'a str, spans: &[TextSpan]) -> Vec<&'a str> {
        spans
            .iter()
            .map(|s| &text[s.start_byte as usize..s.end_byte as usize])
            .collect()
    }

    #[test]
    fn a_low_token_marks_its_whole_word_and_neighbours_merge() {
        let t = toks(&[
            (" Take", 0.95),
            (" met", 0.9),
            ("op", 0.2),
            ("rolol", 0.8),
            (" 25", 0.3),
            (" mg", 0.9),
            (" daily", 0.97),
            (".", 0.1),
        ]);
        let text = "Take metoprolol 25 mg daily.";
        let spans = unsure_word_spans(&t, text, UNSURE_TOKEN_BELOW);
        // "metoprolol 25" is one span; the unsure full stop marks nothing.
        assert_eq!(marked(text, &spans), vec!["metoprolol 25"]);
    }

    #[test]
    fn sure_speech_marks_nothing() {
        let t = toks(&[(" And", 0.9), (" so", 0.99), (" my", 0.98)]);
        assert!(unsure_word_spans(&t, "And so my", UNSURE_TOKEN_BELOW).is_empty());
    }

    #[test]
    fn a_cut_repetition_loop_keeps_the_marks_of_the_words_it_kept() {
        let t = toks(&[
            (" I", 0.9),
            (" feel", 0.3),
            (" fine", 0.9),
            (" I", 0.9),
            (" feel", 0.9),
            (" fine", 0.9),
        ]);
        let text = "I feel fine";
        assert_eq!(
            marked(text, &unsure_word_spans(&t, text, UNSURE_TOKEN_BELOW)),
            vec!["feel"]
        );
    }

    #[test]
    fn fail_tokens_that_split_a_character_or_disagree_mark_nothing() {
        // "é" split over two tokens is fine when joined...
        let t = [
            TokenProb {
                bytes: b" caf\xc3",
                probability: 0.2,
            },
            TokenProb {
                bytes: b"\xa9",
                probability: 0.9,
            },
        ];
        assert_eq!(
            marked("café", &unsure_word_spans(&t, "café", UNSURE_TOKEN_BELOW)),
            vec!["café"]
        );
        // ...but bytes that are not UTF-8, or other words, mark nothing.
        let bad = [TokenProb {
            bytes: b" caf\xc3",
            probability: 0.2,
        }];
        assert!(unsure_word_spans(&bad, "caf", UNSURE_TOKEN_BELOW).is_empty());
        let other = toks(&[(" pain", 0.1)]);
        assert!(unsure_word_spans(&other, "rain", UNSURE_TOKEN_BELOW).is_empty());
    }

    #[test]
    fn silence_and_speech_levels() {
        assert!(is_silent(&[]));
        assert!(is_silent(&vec![0.0; 48_000]));
        assert!(is_silent(&vec![0.001; 48_000]));
        let mut x = vec![0.0; 48_000];
        for s in &mut x[16_000..17_600] {
            *s = 0.05;
        }
        assert!(!is_silent(&x));
        assert!((max_frame_rms(&x) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn non_speech_annotations() {
        for t in [
            "[BLANK_AUDIO]",
            " [Music]",
            "(silence)",
            "[ Silence ]",
            "*coughs*",
            "♪ ♪",
            "...",
            "",
            "(wind blowing) [MUSIC]",
        ] {
            assert!(is_non_speech(t), "{t:?}");
        }
        for t in ["Hello.", "(laughs) Yes.", "I have a [faint] cough", "98.6"] {
            assert!(!is_non_speech(t), "{t:?}");
        }
    }

    /// The loop rules themselves are tested in `tacet_core::loops`; this
    /// checks only what the wrapper adds: the first copy kept, trimmed, as
    /// owned text, and `None` when there is nothing to cut.
    #[test]
    fn cut_repetition_loop_keeps_the_first_copy_trimmed() {
        assert_eq!(
            cut_repetition_loop("It hurts here. I'm going to the clinic. I'm going to the clinic. I'm going to the clinic. I'm going to the clinic.").as_deref(),
            Some("It hurts here. I'm going to the clinic.")
        );
        assert_eq!(
            cut_repetition_loop("Left knee, right knee, left knee."),
            None
        );
    }
}
