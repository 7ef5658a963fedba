//! Shared helpers for the ASR integration tests: the tiny.en ggml model
//! (converted once from the cached CTranslate2 model with tacet-models'
//! converter when no ggml file is cached), the shared speech data, WAV
//! reading. Every lookup prints why and returns `None` when its input is
//! absent, so tests skip cleanly on a fresh clone.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use tacet_asr::{AsrOptions, WhisperTranscriber};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn model_path() -> Option<PathBuf> {
    static MODEL: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| find_or_convert_model(None)).clone()
}

/// The tiny.en model quantised to q8_0 by our converter (cached beside the
/// f16 one as `ggml-tiny.en-q8_0.bin`, the name the benchmark uses).
pub fn model_path_q8_0() -> Option<PathBuf> {
    static MODEL: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| find_or_convert_model(Some(tacet_models::store::Quantization::Q8_0)))
        .clone()
}

pub fn find_or_convert_model(quant: Option<tacet_models::store::Quantization>) -> Option<PathBuf> {
    let cache = std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tacet")))?;
    let name = match quant {
        None => "files/ggml-tiny.en.bin",
        Some(_) => "files/ggml-tiny.en-q8_0.bin",
    };
    let path = cache.join(name);
    if path.is_file() {
        return Some(path);
    }
    // Convert the fetched CTranslate2 model with our own converter, once,
    // into the cache (write to a unique temp name, then rename).
    let ct2 = cache.join("files/whisper-tiny.en-ct2");
    let read = |f: &str| std::fs::read(ct2.join(f)).ok();
    if let (Some(m), Some(c), Some(v)) = (
        read("model.bin"),
        read("config.json"),
        read("vocabulary.txt"),
    ) {
        if let Ok(bytes) = tacet_models::convert::ct2_to_ggml(&m, &c, &v, quant) {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
                return Some(path);
            }
        }
    }
    tacet_tests::skip(&format!(
        "no ggml model at {} and no CTranslate2 model to convert (run scripts/fetch-models.sh)",
        path.display()
    ));
    None
}

pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("TACET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        tacet_tests::skip(&format!("no shared data at {}", dir.display()));
        None
    }
}

pub fn load() -> Option<WhisperTranscriber> {
    let path = model_path()?;
    Some(WhisperTranscriber::load(&path, "test-model".into(), AsrOptions::default()).unwrap())
}

pub fn read_16k(path: &Path) -> Vec<f32> {
    let pcm = tacet_audio::read_wav_file(path).unwrap();
    tacet_audio::to_mono_16k(&pcm).unwrap()
}

/// The model loaded with `threads` threads (tests use 1 on this shared machine).
pub fn load_threads(threads: usize) -> Option<WhisperTranscriber> {
    let path = model_path()?;
    let opts = AsrOptions {
        threads,
        language: "en".into(),
    };
    Some(WhisperTranscriber::load(&path, "test-model".into(), opts).unwrap())
}

/// The demo visit (16 kHz samples) and its script without speaker labels.
pub fn demo_visit() -> Option<(Vec<f32>, String)> {
    let demo = workspace_root().join("assets/demo");
    let (wav, txt) = (demo.join("visit.wav"), demo.join("visit.txt"));
    if !wav.is_file() || !txt.is_file() {
        tacet_tests::skip(&format!("no demo asset at {}", demo.display()));
        return None;
    }
    let reference: String = std::fs::read_to_string(&txt)
        .unwrap()
        .lines()
        .map(|l| l.split_once(':').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join(" ");
    Some((read_16k(&wav), reference))
}
