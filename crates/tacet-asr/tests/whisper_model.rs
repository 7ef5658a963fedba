//! whisper.cpp end to end with the real tiny.en ggml model.
//!
//! The model is looked up at `$TACET_CACHE/files/ggml-tiny.en.bin`
//! (`$TACET_CACHE` defaults to `$HOME/.cache/tacet`) and the speech data at
//! `../shared/data` from the workspace root (or `$TACET_SHARED_DATA`). When
//! either is absent the test prints why and returns early. Tests use one
//! thread: on a shared two-core machine more would oversubscribe.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::Path;
use std::time::Instant;
use tacet_asr::{word_error_rate, AsrError, AsrOptions, WhisperTranscriber};
use tacet_core::ports::Transcriber;

const JFK: &str = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";

mod common;
use common::{load, model_path, read_16k, shared_data, workspace_root};

/// Deterministic white noise with the given RMS.
fn white_noise(samples: usize, rms: f32) -> Vec<f32> {
    let mut state = 0x9e37_79b9u32;
    let amp = rms * 3f32.sqrt(); // uniform in -a..a has RMS a/√3
    (0..samples)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

#[test]
fn jfk_transcribes_the_known_sentence() {
    let (Some(data), Some(mut asr)) = (shared_data(), load()) else {
        return;
    };
    let audio = read_16k(&data.join("speech/jfk.wav"));
    let t0 = Instant::now();
    let transcript = asr.transcribe(&audio).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let text = transcript.plain_text();
    let wer = word_error_rate(JFK, &text);
    eprintln!(
        "jfk: WER {:.1}%, {} segments, {:.2} s for {:.2} s of audio (RTF {:.3}, 1 thread)",
        wer * 100.0,
        transcript.segments.len(),
        secs,
        audio.len() as f64 / 16_000.0,
        secs / (audio.len() as f64 / 16_000.0)
    );
    assert!(wer <= 0.05, "WER {wer}");
    assert_eq!(transcript.language, "en");
    assert_eq!(transcript.model_sha256, "test-model");
    let audio_ms = (audio.len() / 16) as u64;
    for (i, s) in transcript.segments.iter().enumerate() {
        assert_eq!(s.id as usize, i);
        assert!(s.start_ms <= s.end_ms && s.end_ms <= audio_ms);
        assert!(
            s.confidence > 0.3 && s.confidence <= 1.0,
            "{}",
            s.confidence
        );
        assert_eq!(s.text, s.text.trim());
        assert_eq!(s.speaker, None);
    }

    // Same audio, same transcript.
    let again = asr.transcribe(&audio).unwrap();
    assert_eq!(again, transcript);
}

#[test]
fn three_seconds_of_digital_silence_gives_no_segments() {
    let Some(mut asr) = load() else {
        return;
    };
    let t = asr.transcribe(&vec![0.0; 48_000]).unwrap();
    assert!(t.segments.is_empty());
    assert!(asr.transcribe(&[]).unwrap().segments.is_empty());
}

#[test]
fn faint_white_noise_gives_no_words() {
    let Some(mut asr) = load() else {
        return;
    };
    // -60 dBFS: below the energy gate, whisper never runs.
    let t = asr.transcribe(&white_noise(48_000, 0.001)).unwrap();
    assert!(t.segments.is_empty(), "{} segments", t.segments.len());
    // -40 dBFS: above the gate, so whisper runs; its non-speech output is
    // filtered by the guards.
    let t = asr.transcribe(&white_noise(48_000, 0.01)).unwrap();
    let words = tacet_asr::normalize_words(&t.plain_text()).len();
    eprintln!(
        "white noise at -40 dBFS: {} segments, {words} words",
        t.segments.len()
    );
    assert_eq!(words, 0);
}

#[test]
fn short_clip_is_padded_not_dropped() {
    let (Some(data), Some(mut asr)) = (shared_data(), load()) else {
        return;
    };
    // whisper.cpp returns nothing for under a second of audio; the first
    // 0.9 s of jfk.wav ("And so...") must still come back as words or at
    // least not fail.
    let audio = read_16k(&data.join("speech/jfk.wav"));
    let t = asr.transcribe(&audio[..14_400]).unwrap();
    for s in &t.segments {
        assert!(s.end_ms <= 900);
    }
}

#[test]
fn speaker_label_is_carried() {
    let (Some(data), Some(mut asr)) = (shared_data(), load()) else {
        return;
    };
    let audio = read_16k(&data.join("speech/jfk.wav"));
    let t = asr
        .transcribe_channel(&audio, Some(tacet_core::Speaker::Channel1))
        .unwrap();
    assert!(!t.segments.is_empty());
    assert!(t
        .segments
        .iter()
        .all(|s| s.speaker == Some(tacet_core::Speaker::Channel1)));
}

#[test]
fn demo_visit_matches_its_script() {
    let Some(mut asr) = load() else {
        return;
    };
    let demo = workspace_root().join("assets/demo");
    let (wav, txt) = (demo.join("visit.wav"), demo.join("visit.txt"));
    if !wav.is_file() || !txt.is_file() {
        tacet_tests::skip(&format!("no demo asset at {}", demo.display()));
        return;
    }
    let reference: String = std::fs::read_to_string(&txt)
        .unwrap()
        .lines()
        .map(|l| l.split_once(':').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join(" ");
    let audio = read_16k(&wav);
    let t0 = Instant::now();
    let t = asr.transcribe(&audio).unwrap();
    let wer = word_error_rate(&reference, &t.plain_text());
    eprintln!(
        "demo visit: WER {:.1}% over {} reference words, {:.1} s audio in {:.1} s",
        wer * 100.0,
        tacet_asr::normalize_words(&reference).len(),
        audio.len() as f64 / 16_000.0,
        t0.elapsed().as_secs_f64()
    );
    assert!(wer <= 0.15, "WER {wer}");
}

/// Unsure marks are whole words of the segment's text, few on clear speech
/// and more once the same speech is buried in noise.
#[test]
fn unsure_words_are_whole_words_few_when_clear_more_in_noise() {
    let Some(mut asr) = load() else {
        return;
    };
    let wav = workspace_root().join("assets/demo/visit.wav");
    if !wav.is_file() {
        tacet_tests::skip(&format!("no demo asset at {}", wav.display()));
        return;
    }
    let clear = read_16k(&wav);
    let clear = &clear[..clear.len().min(30 * 16_000)];
    let rms = (clear.iter().map(|v| v * v).sum::<f32>() / clear.len() as f32).sqrt();
    let noisy: Vec<f32> = clear
        .iter()
        .zip(white_noise(clear.len(), rms * NOISE_TO_SPEECH_RMS))
        .map(|(s, n)| (s + n).clamp(-1.0, 1.0))
        .collect();
    let mut counts = Vec::new();
    for (name, audio) in [("clear", clear), ("noisy", &noisy[..])] {
        let t = asr.transcribe(audio).unwrap();
        let (mut words, mut marked) = (0usize, 0usize);
        for s in &t.segments {
            let text = s.text.as_str();
            let mut at = 0;
            for span in &s.unsure {
                let (a, b) = (span.start_byte as usize, span.end_byte as usize);
                assert!(at <= a && a < b && b <= text.len(), "{name}: {span:?}");
                assert!(text.is_char_boundary(a) && text.is_char_boundary(b));
                let before = text[..a].chars().next_back();
                let after = text[b..].chars().next();
                assert!(before.is_none_or(char::is_whitespace), "{name}: {span:?}");
                assert!(after.is_none_or(char::is_whitespace), "{name}: {span:?}");
                at = b;
            }
            words += text.split_whitespace().count();
            marked += s
                .unsure_words()
                .iter()
                .map(|w| w.split_whitespace().count())
                .sum::<usize>();
        }
        // Counts only: the demo is a scripted, invented visit.
        eprintln!("{name}: {marked} of {words} words marked unsure");
        counts.push((words, marked));
    }
    let (clear_words, clear_marked) = counts[0];
    let (_, noisy_marked) = counts[1];
    assert!(clear_marked * 10 <= clear_words, "{counts:?}");
    assert!(noisy_marked > clear_marked, "{counts:?}");
}

/// Noise RMS relative to the speech's for the test above.
const NOISE_TO_SPEECH_RMS: f32 = 1.0;

#[test]
fn fail_wrong_magic_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("model.gguf");
    std::fs::write(&gguf, b"GGUF\x03\x00\x00\x00 not a whisper model").unwrap();
    let err = WhisperTranscriber::load(&gguf, String::new(), AsrOptions::default()).unwrap_err();
    assert!(matches!(err, AsrError::NotGgml { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("model.gguf") && msg.contains("47475546"),
        "{msg}"
    );

    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let err = WhisperTranscriber::load(&empty, String::new(), AsrOptions::default()).unwrap_err();
    assert!(matches!(err, AsrError::NotGgml { .. }), "{err}");

    let err =
        WhisperTranscriber::load(dir.path(), String::new(), AsrOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            AsrError::NotGgml { .. } | AsrError::ModelUnreadable { .. }
        ),
        "{err}"
    );
}

#[test]
fn fail_missing_model_file() {
    let err = WhisperTranscriber::load(
        Path::new("/nonexistent/ggml-tiny.en.bin"),
        String::new(),
        AsrOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AsrError::ModelMissing { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/ggml-tiny.en.bin"));
}

#[test]
fn fail_bad_options() {
    let path = Path::new("/nonexistent/model.bin");
    let zero = AsrOptions {
        threads: 0,
        language: "en".into(),
    };
    assert!(matches!(
        WhisperTranscriber::load(path, String::new(), zero),
        Err(AsrError::InvalidOptions { .. })
    ));
    let klingon = AsrOptions {
        threads: 1,
        language: "tlh".into(),
    };
    assert!(matches!(
        WhisperTranscriber::load(path, String::new(), klingon),
        Err(AsrError::InvalidOptions { .. })
    ));
}

#[test]
fn fail_german_on_an_english_only_model() {
    let Some(path) = model_path() else {
        return;
    };
    let de = AsrOptions {
        threads: 1,
        language: "de".into(),
    };
    let err = WhisperTranscriber::load(&path, String::new(), de).unwrap_err();
    assert!(matches!(err, AsrError::InvalidOptions { .. }), "{err}");
}

#[test]
fn fail_non_finite_audio() {
    let Some(mut asr) = load() else {
        return;
    };
    let mut audio = vec![0.1f32; 16_000];
    audio[5] = f32::NAN;
    assert!(asr.transcribe(&audio).is_err());
}

#[test]
fn fail_truncated_model_is_an_error_not_an_abort() {
    let Some(path) = model_path() else {
        return;
    };
    let full = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut_path = dir.path().join("cut.bin");
    // Inside the header, inside the vocabulary (whisper.cpp would accept
    // this as an empty model and abort later) and inside the weights. A file
    // cut in its last tensor still loads: only the model store's SHA-256
    // check catches that.
    for cut in [20, 70_000, 40_000_000] {
        std::fs::write(&cut_path, &full[..cut]).unwrap();
        let err =
            WhisperTranscriber::load(&cut_path, String::new(), AsrOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                AsrError::ModelDamaged { .. } | AsrError::ModelLoad { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    // Absurd hyper-parameters are refused before whisper.cpp sees them.
    let mut bad = full[..1_000].to_vec();
    bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&cut_path, &bad).unwrap();
    let err =
        WhisperTranscriber::load(&cut_path, String::new(), AsrOptions::default()).unwrap_err();
    assert!(matches!(err, AsrError::ModelDamaged { .. }), "{err}");
}
