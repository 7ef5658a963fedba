//! Tacet's encoder kernels in whisper.cpp (whisper-cpp/tacet-encoder-attn.h,
//! tacet-encoder-q8.h) against whisper.cpp's own, on the real tiny.en model,
//! f16 and our q8_0 import.
//!
//! whisper.cpp reads `TACET_WHISPER_STOCK_ATTN` and `TACET_WHISPER_STOCK_Q8`
//! when it builds each encoder graph, so one process can transcribe with
//! either. The test that flips them is the only test here (tests in one
//! binary share the environment). The kernels' arithmetic is checked
//! directly in `src/whisper_patch.rs`. Skips without the model; the demo
//! visit is committed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::Path;
use tacet_asr::{normalize_words, word_error_rate, AsrOptions, WhisperTranscriber};
use tacet_core::ports::Transcriber;

mod common;
use common::{demo_visit, model_path, model_path_q8_0, read_16k, shared_data};

const STOCK: [&str; 2] = ["TACET_WHISPER_STOCK_ATTN", "TACET_WHISPER_STOCK_Q8"];

fn transcribe(model: &Path, audio: &[f32], stock: bool) -> String {
    for var in STOCK {
        if stock {
            std::env::set_var(var, "1");
        } else {
            std::env::remove_var(var);
        }
    }
    let opts = AsrOptions {
        threads: 1,
        language: "en".into(),
    };
    let mut asr = WhisperTranscriber::load(model, "test-model".into(), opts).unwrap();
    let text = asr.transcribe(audio).unwrap().plain_text();
    for var in STOCK {
        std::env::remove_var(var);
    }
    text
}

#[test]
fn tacet_kernels_hear_what_whisper_cpp_own_hear() {
    let (Some((visit, script)), Some(f16), Some(q8_0)) =
        (demo_visit(), model_path(), model_path_q8_0())
    else {
        return;
    };
    let mut clips = vec![("demo visit, first 30 s", visit[..30 * 16_000].to_vec())];
    // A short clip too: the encoder runs on fewer frames than a full window.
    if let Some(data) = shared_data() {
        clips.push(("jfk.wav", read_16k(&data.join("speech/jfk.wav"))));
    }
    for (model_name, model) in [("f16", &f16), ("q8_0", &q8_0)] {
        for (name, audio) in &clips {
            let ours = transcribe(model, audio, false);
            let stock = transcribe(model, audio, true);
            eprintln!("{model_name}, {name}\n  ours:  {ours}\n  stock: {stock}");
            // Punctuation may differ (f32 attention here, f16 keys and values
            // there; f32 activation scales here, f16 there); the words may not.
            assert_eq!(
                normalize_words(&ours),
                normalize_words(&stock),
                "{model_name}, {name}"
            );
            if name.starts_with("demo") {
                // The clip holds the script's first words (as many as were heard).
                let n = normalize_words(&ours).len();
                let prefix: Vec<String> = normalize_words(&script).into_iter().take(n).collect();
                let wer = word_error_rate(&prefix.join(" "), &ours);
                assert!(
                    wer < 0.05,
                    "{model_name}, {name}: WER {wer:.3} against the script"
                );
            }
        }
    }
}
