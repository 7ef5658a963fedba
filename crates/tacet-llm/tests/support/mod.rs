//! What the tests that use the real models from the model cache share.

use std::path::PathBuf;

pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
#[allow(dead_code)] // used by some of the test binaries that include this module
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

/// A model file from the cache, or `None` after a line saying why the test
/// skips.
pub fn cached_model(file: &str) -> Option<PathBuf> {
    let path = tacet_llm::cache_root()?.join("files").join(file);
    if path.is_file() {
        Some(path)
    } else {
        tacet_tests::skip(&format!(
            "{} not found (run scripts/fetch-models.sh)",
            path.display()
        ));
        None
    }
}

/// The cached SmolLM2, or `None` after a line saying why the test skips.
#[allow(dead_code)]
pub fn model_path() -> Option<PathBuf> {
    cached_model(SMOLLM2)
}
