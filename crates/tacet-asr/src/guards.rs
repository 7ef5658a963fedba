//! Cheap, deterministic guards against whisper's known failure modes.
//!
//! whisper invents text where there is none: on silence and faint noise it
//! produces "[BLANK_AUDIO]", "(music)" or a plausible stock phrase, and when
//! decoding goes wrong it can loop, repeating one phrase until the window
//! ends. These functions are pure so each rule is tested on plain strings;
//! none of them needs a model.

use crate::wer::normalize_words;

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

/// Consecutive repeats of an n-gram that count as a loop.
fn loop_repeats(n: usize) -> usize {
    8usize.div_ceil(n).max(3)
}

/// Longest n-gram considered when looking for a loop.
const MAX_NGRAM_WORDS: usize = 8;

/// If `text` repeats one n-gram back to back many times (a decoding loop),
/// returns the text cut after the first occurrence; otherwise `None`.
///
/// A loop is an n-gram (1 to 8 words, compared without case or punctuation)
/// repeated consecutively at least max(3, ⌈8/n⌉) times: eight single words,
/// four bigrams, three longer phrases. "No, no, no." is left alone.
pub fn cut_repetition_loop(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm: Vec<String> = words.iter().map(|w| normalize_words(w).concat()).collect();
    let len = norm.len();
    for start in 0..len {
        for n in 1..=MAX_NGRAM_WORDS {
            let needed = loop_repeats(n);
            if start + n * needed > len {
                break;
            }
            let gram = &norm[start..start + n];
            if gram.iter().all(String::is_empty) {
                continue;
            }
            let mut repeats = 1;
            while start + (repeats + 1) * n <= len
                && norm[start + repeats * n..start + (repeats + 1) * n] == *gram
            {
                repeats += 1;
            }
            if repeats >= needed {
                return Some(words[..start + n].join(" "));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn cuts_phrase_loops() {
        assert_eq!(
            cut_repetition_loop(
                "It hurts here. I'm going to the clinic. I'm going to the clinic. I'm going to the clinic. I'm going to the clinic."
            )
            .as_deref(),
            Some("It hurts here. I'm going to the clinic.")
        );
        assert_eq!(
            cut_repetition_loop("the the the the the the the the the").as_deref(),
            Some("the")
        );
        assert_eq!(
            cut_repetition_loop("Okay, okay. Okay, okay. Okay, okay. Okay, okay.").as_deref(),
            Some("Okay,")
        );
    }

    #[test]
    fn leaves_normal_speech_alone() {
        for t in [
            "No, no, no.",
            "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
            "Very very good.",
            "Left knee, right knee, left knee.",
            "",
        ] {
            assert_eq!(cut_repetition_loop(t), None, "{t:?}");
        }
    }
}
