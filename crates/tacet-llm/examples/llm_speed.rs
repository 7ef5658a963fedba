//! Measures load time and prefill/decode speed of a GGUF model through the
//! app's drafting engine (benches/llm/run.sh runs it beside llama-bench).
//!
//! ```text
//! cargo run --release -p tacet-llm --example llm_speed -- \
//!     [MODEL.gguf] [THREADS] [PROMPT_TOKENS] [DECODE_TOKENS] [q8_0|as-is] [REPEATS] [DEPTH]
//! ```
//! The model defaults to SmolLM2-135M-Instruct Q4_1 in the model cache;
//! `as-is` (the app's default for the llama family) runs the file's own
//! types, `q8_0` converts every Q4_1/Q5_x tensor to Q8_0 at load. Prints one line per repeat, then
//! `best PREFILL DECODE` (tokens/s, best of the repeats). With DEPTH, that
//! many tokens are read into the context first, untimed (llama-bench's `-d`).
//! `TACET_LLM_DEVICE=cuda` runs it on the first GPU (a build with
//! `--features cuda`); `TACET_LLM_PORTABLE_OPS=1` runs the ops a GPU runs on
//! the CPU. candle's thread
//! count is process-wide and fixed at the first load.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

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
    let requantize = match args.get(4).map(String::as_str) {
        None | Some("as-is") => false,
        Some("q8_0") => true,
        Some(other) => return Err(format!("mode {other:?}: expected q8_0 or as-is").into()),
    };
    let repeats = arg(5, 3)?.max(1);
    let depth = arg(6, 0)?;
    let device = match std::env::var("TACET_LLM_DEVICE") {
        Ok(d) => d.parse()?,
        Err(_) => tacet_llm::LlmDevice::Cpu,
    };
    let opts = LlmOptions {
        threads,
        requantize_to_q8_0: requantize,
        requantize_all_to_q8_0: requantize,
        device,
        portable_ops: std::env::var_os("TACET_LLM_PORTABLE_OPS").is_some_and(|v| v == "1"),
        ..LlmOptions::default()
    };
    let info = ModelInfo {
        id: "bench".into(),
        sha256: String::new(),
    };
    let mut model = GgufDrafter::load(&path, info, opts)?;
    let load = model.load_report().clone();
    println!(
        "model {} | device {} | threads {} | pp{prompt_tokens} / tg{decode_tokens} at depth {depth} | load {} ms, {} tensors converted, context {}",
        path.display(),
        load.device,
        load.threads,
        load.load_ms,
        load.requantized_tensors,
        load.context_length
    );
    // Warm-up (first-use allocations, repacking, thread pools), then measure.
    model.speed_probe(16, 4)?;
    println!("matvec kernels: {}", tacet_llm::matvec_kernels());
    let (mut best_pp, mut best_tg) = (0f64, 0f64);
    for i in 0..repeats {
        let r = model.speed_probe_at_depth(depth, prompt_tokens, decode_tokens)?;
        println!(
            "run {i}: prefill {:>7.1} tok/s | decode {:>6.1} tok/s",
            r.prefill_tokens_per_s(),
            r.decode_tokens_per_s()
        );
        best_pp = best_pp.max(r.prefill_tokens_per_s());
        best_tg = best_tg.max(r.decode_tokens_per_s());
    }
    println!("best {best_pp:.1} {best_tg:.1}");
    Ok(())
}
