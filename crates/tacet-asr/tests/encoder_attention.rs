//! Tacet's fused encoder attention (whisper-cpp/tacet-encoder-attn.h)
//! against whisper.cpp's own, on the real tiny.en model.
//!
//! whisper.cpp reads `TACET_WHISPER_STOCK_ATTN` when it builds each encoder
//! graph, so one process can transcribe with both. The test that flips it
//! is the only test here (tests in one binary share the environment). The
//! kernel's arithmetic is checked directly in `src/fused_attention.rs`.
//! Skips without the model; the demo visit is committed.

use tacet_asr::{normalize_words, word_error_rate};
use tacet_core::ports::Transcriber;

mod common;
use common::{demo_visit, load_threads, read_16k, shared_data};

#[test]
fn fused_attention_hears_what_whisper_cpp_own_attention_hears() {
    let (Some((visit, script)), Some(mut asr)) = (demo_visit(), load_threads(1)) else {
        return;
    };
    let mut clips = vec![("demo visit, first 30 s", visit[..30 * 16_000].to_vec())];
    // A short clip too: the encoder runs on fewer frames than a full window.
    if let Some(data) = shared_data() {
        clips.push(("jfk.wav", read_16k(&data.join("speech/jfk.wav"))));
    }
    for (name, audio) in clips {
        std::env::remove_var("TACET_WHISPER_STOCK_ATTN");
        let ours = asr.transcribe(&audio).unwrap().plain_text();
        std::env::set_var("TACET_WHISPER_STOCK_ATTN", "1");
        let stock = asr.transcribe(&audio).unwrap().plain_text();
        std::env::remove_var("TACET_WHISPER_STOCK_ATTN");
        eprintln!("{name}\n  fused: {ours}\n  stock: {stock}");
        // Punctuation may differ (f32 here, f16 keys and values there); the
        // words may not.
        assert_eq!(normalize_words(&ours), normalize_words(&stock), "{name}");
        if name.starts_with("demo") {
            // The clip holds the script's first words (as many as were heard).
            let n = normalize_words(&ours).len();
            let prefix: Vec<String> = normalize_words(&script).into_iter().take(n).collect();
            let wer = word_error_rate(&prefix.join(" "), &ours);
            assert!(wer < 0.05, "{name}: WER {wer:.3} against the script");
        }
    }
}
