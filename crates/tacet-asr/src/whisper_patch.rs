//! The link to Tacet's two encoder kernels in whisper.cpp (the fused
//! attention, `whisper-cpp/tacet-encoder-attn.h`, and the q8_0 matrix
//! product, `whisper-cpp/tacet-encoder-q8.h`), compiled into the library
//! that whisper-rs-sys builds; `whisper-cpp/patch.cmake` puts them there.
//!
//! C functions cross: the patch's version, which proves the patched library
//! is the one linked (a build without the workspace's `.cargo/config.toml`
//! fails to link instead of running unpatched), and, for this module's tests
//! only, one thread's share of each kernel on plain arrays, checked against
//! the same arithmetic done the obvious way in f64.

use std::os::raw::c_int;

extern "C" {
    fn tacet_whisper_encoder_attn_version() -> c_int;
    #[cfg(test)]
    fn tacet_whisper_encoder_attn_f32(
        q: *const f32,
        k: *const f32,
        v: *const f32,
        out: *mut f32,
        n_ctx: c_int,
        n_head: c_int,
        ith: c_int,
        nth: c_int,
    );
    #[cfg(test)]
    fn tacet_whisper_encoder_q8_f32(
        w: *const u8,
        x: *const f32,
        out: *mut f32,
        m: c_int,
        k: c_int,
        n: c_int,
        ith: c_int,
        nth: c_int,
    ) -> c_int;
}

/// The version of Tacet's whisper.cpp patch compiled into the linked
/// library.
pub fn whisper_patch_version() -> u32 {
    // SAFETY: a C function with no arguments that returns a constant.
    let version = unsafe { tacet_whisper_encoder_attn_version() };
    u32::try_from(version).unwrap_or(0)
}

/// Whether this CPU runs Tacet's q8_0 product (AVX-512 F, BW and VNNI: the
/// same test as `cpu_has_vnni` in `tacet-encoder-q8.h`). Where it does, a
/// q8_0 import transcribes in about half the time of the f16 one; where it
/// does not, whisper.cpp's own q8_0 code runs, slower than f16 here.
pub fn q8_0_is_fast_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: usize = 64;

    /// Deterministic values uniform in -amp..amp.
    fn values(n: usize, seed: u32, amp: f32) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    /// softmax(q·kᵀ/8)·v per head, in f64; rows are frames, heads side by side.
    fn reference(q: &[f32], k: &[f32], v: &[f32], n_ctx: usize, n_head: usize) -> Vec<f32> {
        let n_state = n_head * HEAD;
        let mut out = vec![0f32; n_ctx * n_state];
        for h in 0..n_head {
            for i in 0..n_ctx {
                let qi = &q[i * n_state + h * HEAD..][..HEAD];
                let scores: Vec<f64> = (0..n_ctx)
                    .map(|j| {
                        let kj = &k[j * n_state + h * HEAD..][..HEAD];
                        qi.iter()
                            .zip(kj)
                            .map(|(a, b)| *a as f64 * *b as f64)
                            .sum::<f64>()
                            / 8.0
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = weights.iter().sum();
                for d in 0..HEAD {
                    let o: f64 = (0..n_ctx)
                        .map(|j| weights[j] * v[j * n_state + h * HEAD + d] as f64)
                        .sum();
                    out[i * n_state + h * HEAD + d] = (o / sum) as f32;
                }
            }
        }
        out
    }

    fn fused(q: &[f32], k: &[f32], v: &[f32], n_ctx: usize, n_head: usize, nth: usize) -> Vec<f32> {
        let mut out = vec![f32::NAN; n_ctx * n_head * HEAD];
        for ith in 0..nth {
            // SAFETY: q, k, v and out each hold n_ctx rows of n_head·64
            // floats, which is what the kernel reads and writes.
            unsafe {
                tacet_whisper_encoder_attn_f32(
                    q.as_ptr(),
                    k.as_ptr(),
                    v.as_ptr(),
                    out.as_mut_ptr(),
                    n_ctx as c_int,
                    n_head as c_int,
                    ith as c_int,
                    nth as c_int,
                );
            }
        }
        out
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn the_patched_whisper_cpp_is_linked() {
        assert_eq!(whisper_patch_version(), 2);
    }

    #[test]
    fn fused_attention_is_softmax_attention_for_every_shape_and_split() {
        // Frame counts around the kernel's blocks (8 queries, 32 keys), and
        // thread counts above the frame count (threads with no rows).
        for (n_ctx, n_head) in [
            (1, 1),
            (7, 2),
            (8, 1),
            (31, 3),
            (32, 2),
            (33, 6),
            (100, 6),
            (301, 2),
        ] {
            let n = n_ctx * n_head * HEAD;
            let (q, k, v) = (values(n, 1, 2.0), values(n, 2, 2.0), values(n, 3, 1.0));
            let want = reference(&q, &k, &v, n_ctx, n_head);
            for nth in [1, 2, 3, 16] {
                let got = fused(&q, &k, &v, n_ctx, n_head, nth);
                let diff = max_abs_diff(&got, &want);
                assert!(
                    diff < 1e-5,
                    "n_ctx {n_ctx}, {n_head} heads, {nth} threads: {diff}"
                );
            }
        }
    }

    #[test]
    fn fused_attention_holds_with_scores_far_apart() {
        // Scores spanning hundreds: weights under e^-87 are clamped there,
        // which must not show against the row's largest.
        let (n_ctx, n_head) = (64, 1);
        let n = n_ctx * n_head * HEAD;
        let (q, k, v) = (values(n, 4, 6.0), values(n, 5, 6.0), values(n, 6, 1.0));
        let want = reference(&q, &k, &v, n_ctx, n_head);
        let got = fused(&q, &k, &v, n_ctx, n_head, 2);
        assert!(max_abs_diff(&got, &want) < 1e-5);
    }

    /// m rows of k/32 q8_0 blocks (f16 scale bits, 32 signed quants), with
    /// scales 2^-7·(1 + i/16), which f16 holds exactly.
    fn q8_0_weights(m: usize, k: usize, seed: u32) -> (Vec<u8>, Vec<f32>) {
        let quants = values(m * k, seed, 127.0);
        let (mut bytes, mut scales) = (Vec::new(), Vec::new());
        for b in 0..m * k / 32 {
            let i = (b % 16) as u16;
            bytes.extend_from_slice(&((8u16 << 10) | (i * 64)).to_le_bytes());
            scales.push((1.0 + i as f32 / 16.0) / 128.0);
            bytes.extend(quants[b * 32..][..32].iter().map(|q| q.round() as i8 as u8));
        }
        (bytes, scales)
    }

    /// x · wᵀ as q8_0 × q8_0 in f64: each 32-value block of a frame quantised
    /// to round(x/d), d = max|x|/127, ties to even.
    fn q8_reference(w: &[u8], scales: &[f32], x: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0f32; n * m];
        for f in 0..n {
            for r in 0..m {
                let mut total = 0f64;
                for b in 0..k / 32 {
                    let xb = &x[f * k + b * 32..][..32];
                    let d = xb.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
                    let block = &w[(r * k / 32 + b) * 34..][..34];
                    let dot: i64 = (0..32)
                        .map(|i| (xb[i] * id).round_ties_even() as i64 * block[2 + i] as i8 as i64)
                        .sum();
                    total += dot as f64 * scales[r * k / 32 + b] as f64 * d as f64;
                }
                out[f * m + r] = total as f32;
            }
        }
        out
    }

    #[test]
    fn q8_product_is_q8_0_times_q8_0_for_every_shape_and_split() {
        for (m, k, n) in [
            (4, 64, 1),
            (8, 128, 3),
            (12, 64, 5),
            (16, 384, 17),
            (4, 1536, 9),
        ] {
            let (w, scales) = q8_0_weights(m, k, 7);
            let mut x = values(n * k, 8, 3.0);
            x[..32].fill(0.0); // a silent block: scale 0
            let want = q8_reference(&w, &scales, &x, m, k, n);
            let scale = want.iter().fold(1f32, |a, v| a.max(v.abs()));
            for nth in [1, 2, 3, 16] {
                let mut got = vec![f32::NAN; n * m];
                for ith in 0..nth {
                    // SAFETY: w holds m·k/32 blocks of 34 bytes, x n·k floats
                    // and got n·m, which is what the kernel reads and writes.
                    let ran = unsafe {
                        tacet_whisper_encoder_q8_f32(
                            w.as_ptr(),
                            x.as_ptr(),
                            got.as_mut_ptr(),
                            m as c_int,
                            k as c_int,
                            n as c_int,
                            ith as c_int,
                            nth as c_int,
                        )
                    };
                    if ran == 0 {
                        eprintln!("skipping: this CPU has no AVX-512 VNNI (whisper.cpp's own product runs)");
                        return;
                    }
                }
                let diff = max_abs_diff(&got, &want);
                assert!(
                    diff <= 1e-5 * scale,
                    "m {m}, k {k}, n {n}, {nth} threads: {diff} of {scale}"
                );
            }
        }
    }
}
