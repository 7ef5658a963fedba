//! Speaker labels by channel and the WER gate over the shared clips, with
//! the real tiny.en model. Skips cleanly without the model or the data.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod common;

use common::{load, read_16k, shared_data};
use std::time::Instant;
use tacet_asr::{normalize_words, transcribe_channels, word_error_rate};
use tacet_core::Speaker;

#[test]
fn two_channels_are_labelled_and_merged_by_time() {
    let (Some(data), Some(mut asr)) = (shared_data(), load()) else {
        return;
    };
    let path = data.join("speech/stereo_two_speakers.wav");
    if !path.is_file() {
        tacet_tests::skip(&format!("{} is absent", path.display()));
        return;
    }
    let pcm = tacet_audio::read_wav_file(&path).unwrap();
    let channels = tacet_audio::split_channels_16k(&pcm).unwrap();
    assert_eq!(channels.len(), 2);
    let t = transcribe_channels(&mut asr, &channels).unwrap();
    let text_of = |sp: Speaker| {
        t.segments
            .iter()
            .filter(|s| s.speaker == Some(sp))
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let left = text_of(Speaker::Channel0);
    let right = text_of(Speaker::Channel1);
    let wl = word_error_rate(
        "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
        &left,
    );
    let wr = word_error_rate("The horizon seems extremely distant.", &right);
    eprintln!(
        "stereo: {} segments, channel 0 WER {:.1}%, channel 1 WER {:.1}%",
        t.segments.len(),
        wl * 100.0,
        wr * 100.0
    );
    assert!(wl <= 0.2 && wr <= 0.2, "left {wl}, right {wr}");
    assert!(t.segments.iter().all(|s| s.speaker.is_some()));
    for (i, pair) in t.segments.windows(2).enumerate() {
        assert!(pair[0].start_ms <= pair[1].start_ms, "not ordered at {i}");
    }
    for (i, s) in t.segments.iter().enumerate() {
        assert_eq!(s.id as usize, i);
    }
}

#[test]
fn fail_three_channels_cannot_be_labelled() {
    let Some(mut asr) = load() else {
        return;
    };
    let err =
        transcribe_channels(&mut asr, &[vec![0.0; 16], vec![0.0; 16], vec![0.0; 16]]).unwrap_err();
    assert!(err.to_string().contains("3 channels"), "{err}");
}

/// Every clip of references.tsv (`file<TAB>sample_format<TAB>reference`);
/// a two-channel clip's reference is `LEFT: … RIGHT: …` and is scored per
/// channel. Overall WER = total edits / total reference words.
#[test]
fn wer_over_the_shared_references_is_at_most_ten_percent() {
    let (Some(data), Some(mut asr)) = (shared_data(), load()) else {
        return;
    };
    let speech = data.join("speech");
    let Ok(tsv) = std::fs::read_to_string(speech.join("references.tsv")) else {
        tacet_tests::skip(&format!("no references.tsv in {}", speech.display()));
        return;
    };
    let t0 = Instant::now();
    let (mut edits, mut words, mut clips) = (0.0f64, 0usize, 0usize);
    let mut marks = UnsureTally::default();
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "bad references.tsv line");
        let path = speech.join(cols[0]);
        let pcm = tacet_audio::read_wav_file(&path).unwrap();
        let pairs: Vec<(String, String)> = if let Some(rest) = cols[2].strip_prefix("LEFT:") {
            let (left, right) = rest.split_once("RIGHT:").expect("LEFT: … RIGHT: …");
            let channels = tacet_audio::split_channels_16k(&pcm).unwrap();
            let t = transcribe_channels(&mut asr, &channels).unwrap();
            let text_of = |sp: Speaker| {
                t.segments
                    .iter()
                    .filter(|s| s.speaker == Some(sp))
                    .map(|s| s.text.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            vec![
                (left.to_string(), text_of(Speaker::Channel0)),
                (right.to_string(), text_of(Speaker::Channel1)),
            ]
        } else {
            let audio = read_16k(&path);
            let t = asr.transcribe_channel(&audio, None).unwrap();
            marks.add(cols[2], &t.segments);
            vec![(cols[2].to_string(), t.plain_text())]
        };
        for (reference, hypothesis) in pairs {
            let n = normalize_words(&reference).len();
            let w = word_error_rate(&reference, &hypothesis);
            // Public test sentences, not patient text: shown to explain misses.
            eprintln!(
                "{}: WER {:.1}% ({n} words): {hypothesis:?}",
                cols[0],
                w * 100.0
            );
            edits += w * n as f64;
            words += n;
        }
        clips += 1;
    }
    let overall = edits / words.max(1) as f64;
    eprintln!(
        "overall WER {:.2}% over {clips} clips, {words} reference words, {:.1} s",
        overall * 100.0,
        t0.elapsed().as_secs_f64()
    );
    assert!(clips > 0);
    assert!(overall <= 0.10, "overall WER {overall}");
    // The reviewer's unsure marks: how many words, and how many of the
    // words the engine got wrong they point at.
    eprintln!(
        "unsure marks: {} of {} words marked; {} of the {} words not in the reference marked; {} marked words are in it",
        marks.marked, marks.words, marks.wrong_marked, marks.wrong, marks.marked - marks.wrong_marked
    );
    assert!(
        marks.marked * 5 <= marks.words,
        "more than a fifth of the words marked unsure: {} of {}",
        marks.marked,
        marks.words
    );
}

/// Counts of unsure marks against the reference, for the clips above. A
/// hypothesis word is "wrong" when it is not among the reference's words
/// (substitutions and insertions; a deletion has no word to mark).
#[derive(Default)]
struct UnsureTally {
    words: usize,
    marked: usize,
    wrong: usize,
    wrong_marked: usize,
}

impl UnsureTally {
    fn add(&mut self, reference: &str, segments: &[tacet_core::Segment]) {
        let reference = normalize_words(reference);
        for s in segments {
            for (piece, unsure) in s.pieces() {
                for w in normalize_words(piece) {
                    let wrong = !reference.contains(&w);
                    self.words += 1;
                    self.marked += usize::from(unsure);
                    self.wrong += usize::from(wrong);
                    self.wrong_marked += usize::from(wrong && unsure);
                }
            }
        }
    }
}
