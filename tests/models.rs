//! The default models in the local model cache (`scripts/fetch-models.sh`
//! fills it), for the tests that run the real engines: found the way the
//! program finds them (`TACET_CACHE`, else `~/.cache/tacet`: the rule of
//! `tacet_models::cache_root`, restated here because this test support
//! depends on no tacet crate, and tacet-models' own tests depend on it), so
//! a test that moves HOME reads them first.

use std::path::PathBuf;

/// The speech model's folder (CTranslate2) in the cache.
pub const ASR: &str = "whisper-tiny.en-ct2";
/// The drafting model's file (GGUF) in the cache.
pub const LLM: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The cache's `files` folder, whether or not anything is in it.
pub fn files() -> Option<PathBuf> {
    let root = std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tacet")))?;
    Some(root.join("files"))
}

/// The cached speech model's folder, if it is there.
pub fn asr() -> Option<PathBuf> {
    let dir = files()?.join(ASR);
    dir.join("model.bin").exists().then_some(dir)
}

/// The cached drafting model's file, if it is there.
pub fn llm() -> Option<PathBuf> {
    let file = files()?.join(LLM);
    file.exists().then_some(file)
}

/// The cache's `files` folder when both default models are in it.
pub fn both() -> Option<PathBuf> {
    (asr().is_some() && llm().is_some()).then(files).flatten()
}
