//! The decode bound: a generated token reads every weight once, so decode
//! cannot beat memory bandwidth / bytes of weights per token. Measures read
//! bandwidth over a 1 GiB buffer on 1 and 2 threads and prints the bound for
//! a GGUF file as stored and with Q4_1/Q5_x tensors converted to Q8_0 (what
//! the app runs).
//!
//! ```text
//! cargo run --release -p tacet-llm --example mem_bandwidth -- MODEL.gguf
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::GgmlDType;
use std::time::Instant;

fn read_gbps(buf: &[u64], threads: usize) -> f64 {
    let chunk = buf.len().div_ceil(threads);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        let sums: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = buf
                .chunks(chunk)
                .map(|c| {
                    s.spawn(move || {
                        let mut acc = [0u64; 8];
                        for w in c.chunks_exact(8) {
                            for (a, x) in acc.iter_mut().zip(w) {
                                *a = a.wrapping_add(*x);
                            }
                        }
                        acc.iter().fold(0u64, |a, b| a.wrapping_add(*b))
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0)).collect()
        });
        std::hint::black_box(sums);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    (buf.len() * 8) as f64 / best / 1e9
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: mem_bandwidth MODEL.gguf")?;
    let mut f = std::fs::File::open(&path)?;
    let ct = Content::read(&mut f)?;
    let (mut stored, mut as_q8) = (0f64, 0f64);
    for info in ct.tensor_infos.values() {
        let elems = info.shape.elem_count() as f64;
        let bytes = |t: GgmlDType| elems / t.block_size() as f64 * t.type_size() as f64;
        stored += bytes(info.ggml_dtype);
        as_q8 += match info.ggml_dtype {
            GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 => bytes(GgmlDType::Q8_0),
            t => bytes(t),
        };
    }
    // The token-embedding lookup reads one row, not the table; a tied
    // output projection reads the table once per token (counted once).
    let buf: Vec<u64> = (0..(1u64 << 27)).collect(); // 1 GiB
    for threads in [1, 2] {
        let gbps = read_gbps(&buf, threads);
        println!(
            "read bandwidth, {threads} thread(s): {gbps:.1} GB/s | weights per token: {:.1} MB stored -> decode bound {:.0} tok/s; {:.1} MB as Q8_0 -> {:.0} tok/s",
            stored / 1e6,
            gbps * 1e9 / stored,
            as_q8 / 1e6,
            gbps * 1e9 / as_q8
        );
    }
    Ok(())
}
