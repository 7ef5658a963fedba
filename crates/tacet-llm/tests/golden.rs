//! Golden tests: our tokenizer and forward pass against llama.cpp's, on the
//! real SmolLM2 and Gemma 3 270M models from the cache (skipped, with a line
//! saying why, when they have not been fetched).
//!
//! The fixtures in `tests/fixtures/golden/` were written by
//! `benches/llm/golden.sh` with llama.cpp (the copy vendored in
//! llama-cpp-python 0.3.36): for each prompt, llama.cpp's token ids, then the
//! top-10 next-token logits after the prompt and after each of 8 greedily
//! chosen tokens. We tokenize the same text (the ids must be identical),
//! feed llama.cpp's greedy tokens after it, and require at every step each
//! of llama.cpp's top-10 logits within a tolerance and our greedy choice to
//! be llama.cpp's, or tied with it within the tolerance.
//!
//! Why a tolerance: neither engine is exact. llama.cpp quantizes every
//! activation to 8 bits (Q8_1) before each matmul; our prefill dequantizes
//! the weights and multiplies in f32, our decode quantizes activations as
//! llama.cpp does. Measured: up to 0.73 with the file's own Q4_1 weights and
//! 0.61 after the conversion to Q8_0 (logits of 14–27); candle-transformers'
//! own `quantized_llama` differs from llama.cpp by up to 0.45 on the same
//! prompt. Hence 1.0. Gemma 3 (Q4_K and Q6_K matrices left to candle,
//! Q5_0 widened exactly to Q8_0 at load): up to 0.80 as stored and 0.97
//! widened, on logits up to 26; hence 1.25 there. A wrong RoPE layout, a swapped head or a missing norm
//! moves logits by whole units and changes the greedy text (measured: Gemma
//! without its sliding window is off by 8.5 on `long.txt`; with the global
//! RoPE base in every layer, by 1.5 on `chat.txt`).
//!
//! `long.txt` is longer (about 650 tokens) than Gemma 3's 512-position
//! sliding window, so its prefill and the decode steps after it only match
//! when the window is applied in both (candle's copy ignores it in decode).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;

use std::path::Path;
use support::{cached_model, GEMMA3, SMOLLM2};
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};

struct Golden {
    ids: Vec<u32>,
    /// Per step: llama.cpp's top-k (token, logit), best first.
    steps: Vec<Vec<(u32, f32)>>,
}

fn fixture(name: &str) -> Golden {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden");
    let text = std::fs::read_to_string(path.join(name)).unwrap();
    let mut ids = Vec::new();
    let mut steps = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("prompt") => ids = fields.map(|f| f.parse().unwrap()).collect(),
            Some("step") => {
                let top = fields
                    .skip(1)
                    .map(|f| {
                        let (id, logit) = f.split_once(':').unwrap();
                        (id.parse().unwrap(), logit.parse().unwrap())
                    })
                    .collect();
                steps.push(top);
            }
            other => panic!("unexpected fixture line {other:?}"),
        }
    }
    Golden { ids, steps }
}

fn load(path: &Path, requantize: bool, portable_ops: bool) -> GgufDrafter {
    let opts = LlmOptions {
        threads: 1,
        requantize_to_q8_0: requantize,
        requantize_all_to_q8_0: requantize,
        portable_ops,
        ..LlmOptions::default()
    };
    let info = ModelInfo {
        id: "golden".into(),
        sha256: String::new(),
    };
    GgufDrafter::load(path, info, opts).unwrap()
}

/// Compares one prompt; returns the largest logit difference seen.
fn check(model: &mut GgufDrafter, prompt: &str, golden: &Golden, tolerance: f32) -> f32 {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/golden")
            .join(prompt),
    )
    .unwrap();
    let ids = model
        .tokenizer()
        .encode(text.as_str(), true)
        .unwrap()
        .get_ids()
        .to_vec();
    assert_eq!(
        ids, golden.ids,
        "{prompt}: token ids differ from llama.cpp's"
    );
    let forced: Vec<u32> = golden.steps[..golden.steps.len() - 1]
        .iter()
        .map(|top| top[0].0)
        .collect();
    let rows = model.logits_along(&ids, &forced).unwrap();
    let mut worst = 0f32;
    for (step, (row, top)) in rows.iter().zip(&golden.steps).enumerate() {
        let ours = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i as u32)
            .unwrap();
        let (best, best_logit) = top[0];
        assert!(
            ours == best || row[best as usize] + tolerance >= row[ours as usize],
            "{prompt}: step {step}: greedy token {ours} ({}) but llama.cpp chose {best} ({best_logit}; ours {})",
            row[ours as usize],
            row[best as usize]
        );
        for &(id, logit) in top {
            let diff = (row[id as usize] - logit).abs();
            worst = worst.max(diff);
            assert!(
                diff <= tolerance,
                "{prompt}: step {step}: logit of token {id} is {} against llama.cpp's {logit} (tolerance {tolerance})",
                row[id as usize]
            );
        }
    }
    worst
}

/// Runs every golden prompt of `name` with and without the conversion to
/// Q8_0 at load, and on the portable ops a GPU runs (candle's ops alone,
/// here on the CPU; the file as stored).
fn holds(path: &Path, name: &str, tolerance: f32) {
    for (requantize, portable) in [(false, false), (true, false), (false, true)] {
        let mut model = load(path, requantize, portable);
        for prompt in ["chat", "stress", "long"] {
            let golden = fixture(&format!("{name}.{prompt}.tsv"));
            let worst = check(&mut model, &format!("{prompt}.txt"), &golden, tolerance);
            eprintln!(
                "{name} {prompt} (requantize {requantize}, portable ops {portable}): {} ids, {} steps, largest logit difference {worst:.3}",
                golden.ids.len(),
                golden.steps.len()
            );
        }
    }
}

#[test]
fn smollm2_matches_llama_cpp() {
    let Some(path) = cached_model(SMOLLM2) else {
        return;
    };
    holds(&path, "smollm2-q4_1", 1.0);
}

#[test]
fn gemma3_matches_llama_cpp() {
    let Some(path) = cached_model(GEMMA3) else {
        return;
    };
    holds(&path, "gemma3-270m-q4_k_m", 1.25);
}
