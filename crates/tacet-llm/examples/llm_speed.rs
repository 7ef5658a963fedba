//! Measures load time and prefill/decode speed of a GGUF model, with and
//! without in-memory requantization to Q8_0.
//!
//! ```text
//! cargo run -p tacet-llm --example llm_speed -- [MODEL.gguf] [THREADS] [PROMPT_TOKENS] [DECODE_TOKENS]
//! ```
//! The model defaults to SmolLM2-135M-Instruct Q4_1 in the model cache.
//! candle's thread count is process-wide and fixed at the first load, so both
//! runs use the same THREADS.

use std::path::PathBuf;
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.first() {
        Some(p) => PathBuf::from(p),
        None => tacet_llm::cache_root()
            .ok_or("no cache directory: set TACET_CACHE or HOME")?
            .join("files")
            .join("SmolLM2-135M-Instruct.Q4_1.gguf"),
    };
    let arg = |i: usize, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let threads = arg(1, 1)?;
    let prompt_tokens = arg(2, 512)?;
    let decode_tokens = arg(3, 128)?;
    println!(
        "model {} | threads {threads} | pp{prompt_tokens} / tg{decode_tokens}",
        path.display()
    );
    for requantize in [false, true] {
        let opts = LlmOptions {
            threads,
            requantize_to_q8_0: requantize,
            ..LlmOptions::default()
        };
        let info = ModelInfo {
            id: "bench".into(),
            sha256: String::new(),
        };
        let mut model = GgufDrafter::load(&path, info, opts)?;
        let load = model.load_report().clone();
        // Warm-up (first-use allocations, thread pools), then measure.
        model.speed_probe(16, 4)?;
        let r = model.speed_probe(prompt_tokens, decode_tokens)?;
        println!(
            "requantize_to_q8_0={requantize:<5} load {:>5} ms ({} tensors converted, {} threads) | prefill {:>6.1} tok/s | decode {:>6.1} tok/s",
            load.load_ms,
            load.requantized_tensors,
            load.threads,
            r.prefill_tokens_per_s(),
            r.decode_tokens_per_s()
        );
    }
    Ok(())
}
