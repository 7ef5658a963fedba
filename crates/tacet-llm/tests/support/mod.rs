//! What the tests that use the real SmolLM2 from the model cache share.

use std::path::PathBuf;

pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The cached SmolLM2, or `None` after a line saying why the test skips.
pub fn model_path() -> Option<PathBuf> {
    let path = tacet_llm::cache_root()?.join("files").join(SMOLLM2);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipping: {} not found (run the model fetch script)",
            path.display()
        );
        None
    }
}
