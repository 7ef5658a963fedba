//! Prefill attention fused into one pass per block of query rows, in the
//! order of FlashAttention: the scores of a block of keys, an online softmax
//! over them, the weighted values added, and on to the next block, so that
//! no row of scores ever leaves the L1 cache.
//!
//! Why: at a long context, attention is most of a prefill chunk's work (at
//! 6,488 cached positions SmolLM2 spends twice the arithmetic of all its
//! weight matrices on it), and through candle it was two GEMM calls per
//! key/value head with a block of scores written to memory, read back for
//! the softmax and read again for the values (about 10 GB of traffic per
//! 512-token chunk). Measured on a 2-core Xeon, that path ran at about
//! 70 GFLOP/s, a seventh of what the two cores' FMA units do (490 GFLOP/s
//! in a register-only loop), and we prefilled 0.75–0.86× as fast as
//! llama.cpp after a long context while matching it at the start. Fused, a
//! 512-token chunk after 6,488 positions went from 104 to 218 tok/s
//! (2 threads, the same run; docs/BENCHMARKS.md).
//!
//! The decisions:
//!
//! - **Rows in lanes.** A task is 32 query rows of one key/value head (two
//!   512-bit registers): scores are computed as `keys × rows`, each key's
//!   value broadcast from memory against the rows' transposed queries, so
//!   the softmax's per-row maximum and sum are lane-wise vector operations
//!   with no horizontal reductions, and the values step broadcasts each
//!   value element against a key's 32 probabilities.
//! - **f32 arithmetic.** The f16 cache is widened once per layer (each head
//!   on its own task) into a buffer padded by one tile of keys, so every
//!   tile reads whole rows; products and sums are f32, as in the unfused
//!   path and in [`crate::blocks::DecodeAttention`].
//! - **Masks by position.** Each lane holds its row's position and the first
//!   position it sees (a sliding window), so the causal mask and the window
//!   are two compares per key; masked keys get probability exactly 0.
//! - **AVX-512 only, chosen at run time.** With 16 AVX2 registers the tiles
//!   would be a quarter of the size; where AVX-512 is missing (or
//!   `TACET_DANGER_AVX2_KERNELS` is set) the unfused path runs, and a test
//!   holds this one to it. Head sizes 64, 96, 128 and 256 (the families we
//!   load) are compiled as constants, so key rows are fixed offsets apart.

use candle_core::{Result, Tensor};
use rayon::prelude::*;

use crate::blocks::{Causal, Dims};

/// Query rows per task: two registers of sixteen f32 lanes.
const ROWS: usize = 32;
/// Keys per score tile: 12 keys × 2 registers = 24 accumulators.
const KEY_TILE: usize = 12;
/// Keys per online-softmax step (8 tiles; 12 KB of scores).
const KEY_BLOCK: usize = 8 * KEY_TILE;
/// Value columns per tile of the values step: 8 × 2 = 16 accumulators.
const DIM_TILE: usize = 8;

/// Whether the fused path runs for this head size on this CPU.
pub(crate) fn supports(head_dim: usize) -> bool {
    matches!(head_dim, 64 | 96 | 128 | 256) && crate::kernels::avx512_available()
}

/// Attention of the queries `q` (`(1, n_head, seq_len, head_dim)`) at
/// positions `causal.index_pos..` over the cache views `k`, `v`
/// (`(1, n_kv_head, len, head_dim)`, f16 or f32), as
/// `(1, seq_len, n_head * head_dim)`: what
/// [`crate::blocks::prefill_attention`] returns. Call only where
/// [`supports`] is true.
pub(crate) fn prefill_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    causal: Causal,
    d: Dims,
) -> Result<Tensor> {
    #[cfg(target_arch = "x86_64")]
    {
        match d.head_dim {
            64 => fused::<64>(q, k, v, causal, d),
            96 => fused::<96>(q, k, v, causal, d),
            128 => fused::<128>(q, k, v, causal, d),
            256 => fused::<256>(q, k, v, causal, d),
            hd => candle_core::bail!("fused attention: no kernel for head size {hd}"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (q, k, v, causal, d);
        candle_core::bail!("fused attention: x86-64 only")
    }
}

/// One task's rows: where each lane's query comes from and which key
/// positions it sees (lanes past the last row repeat it).
struct RowBlock {
    /// `(query head, index in the chunk)` of each real row.
    rows: Vec<(usize, usize)>,
    pos: [f32; ROWS],
    lo: [f32; ROWS],
    /// Cache positions any row sees: `first..end`.
    first: usize,
    end: usize,
}

impl RowBlock {
    fn new(g: usize, block: usize, seq_len: usize, group: usize, causal: Causal) -> Self {
        let total = group * seq_len;
        let start = block * ROWS;
        let rows: Vec<(usize, usize)> = (start..(start + ROWS).min(total))
            .map(|r| (g * group + r / seq_len, r % seq_len))
            .collect();
        let (mut pos, mut lo) = ([0f32; ROWS], [0f32; ROWS]);
        let (mut first, mut end) = (usize::MAX, 0);
        for i in 0..ROWS {
            let (_, qi) = rows[i.min(rows.len() - 1)];
            let p = causal.index_pos + qi;
            let seen = causal.visible(p);
            pos[i] = p as f32;
            lo[i] = seen.start as f32;
            first = first.min(seen.start);
            end = end.max(seen.end);
        }
        Self {
            rows,
            pos,
            lo,
            first,
            end,
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn fused<const HD: usize>(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    causal: Causal,
    d: Dims,
) -> Result<Tensor> {
    let (b, n_head, seq_len, hd) = q.dims4()?;
    let (_, n_kv_head, len, khd) = k.dims4()?;
    if b != 1
        || hd != HD
        || khd != HD
        || n_head != d.n_head
        || n_kv_head != d.n_kv_head
        || n_kv_head == 0
        || !n_head.is_multiple_of(n_kv_head)
        || v.dims() != k.dims()
        || causal.index_pos + seq_len > len
    {
        candle_core::bail!(
            "fused attention: queries {:?} over a cache of {:?}",
            q.dims(),
            k.dims()
        );
    }
    if !crate::kernels::avx512_available() {
        candle_core::bail!("fused attention needs AVX-512");
    }
    let group = n_head / n_kv_head;
    // Keys no query of the chunk sees (before a sliding window) are not read.
    let (key_offset, keys) = causal.keys_read(len);
    let kf = crate::blocks::widen_heads(k, key_offset, keys, KEY_TILE)?;
    let vf = crate::blocks::widen_heads(v, key_offset, keys, KEY_TILE)?;
    let q = q.contiguous()?;
    let qs = {
        let (storage, layout) = q.storage_and_layout();
        let candle_core::Storage::Cpu(candle_core::CpuStorage::F32(data)) = &*storage else {
            candle_core::bail!("fused attention wants f32 queries on the CPU");
        };
        let Some((s, e)) = layout.contiguous_offsets() else {
            candle_core::bail!("fused attention wants contiguous queries");
        };
        data[s..e].to_vec()
    };
    let run = (keys + KEY_TILE) * HD;
    let blocks_per_head = (group * seq_len).div_ceil(ROWS);
    let scale = d.attn_scale;
    let results: Vec<(RowBlock, Vec<f32>)> = (0..n_kv_head * blocks_per_head)
        .into_par_iter()
        .map(|task| {
            let g = task / blocks_per_head;
            let rb = RowBlock::new(g, task % blocks_per_head, seq_len, group, causal);
            let kh = &kf[g * run..(g + 1) * run];
            let vh = &vf[g * run..(g + 1) * run];
            let out = attend_block::<HD>(&qs, seq_len, kh, vh, key_offset, &rb, scale);
            (rb, out)
        })
        .collect();
    let width = n_head * HD;
    let mut y = vec![0f32; seq_len * width];
    for (rb, out) in &results {
        for (&(h, qi), o) in rb.rows.iter().zip(out.chunks_exact(HD)) {
            y[qi * width + h * HD..][..HD].copy_from_slice(o);
        }
    }
    Tensor::from_vec(y, (1, seq_len, width), q.device())
}

/// One task: the rows of `rb` against a key/value head's widened run
/// (`kh`, `vh`: buffer index `t` is cache position `key_offset + t`),
/// returned as one normalized output row of `HD` values per real row.
#[cfg(target_arch = "x86_64")]
fn attend_block<const HD: usize>(
    q: &[f32],
    seq_len: usize,
    kh: &[f32],
    vh: &[f32],
    key_offset: usize,
    rb: &RowBlock,
    scale: f32,
) -> Vec<f32> {
    // Queries transposed, lane i of row d is row i's element d, scaled.
    let mut qt = vec![0f32; HD * ROWS];
    for i in 0..ROWS {
        let (h, qi) = rb.rows[i.min(rb.rows.len() - 1)];
        let row = &q[(h * seq_len + qi) * HD..][..HD];
        for (dd, x) in row.iter().enumerate() {
            qt[dd * ROWS + i] = x * scale;
        }
    }
    let mut st = vec![0f32; KEY_BLOCK * ROWS];
    let mut ot = vec![0f32; HD * ROWS];
    let mut m = [f32::NEG_INFINITY; ROWS];
    let mut l = [0f32; ROWS];
    let mut alpha = [0f32; ROWS];
    let from = rb.first.max(key_offset) - key_offset;
    let to = rb.end.max(key_offset) - key_offset;
    let mut b0 = from;
    while b0 < to {
        let n = KEY_BLOCK.min(to - b0);
        // SAFETY: supports() checked AVX-512F; `kh` and `vh` hold `to`
        // rows plus a tile of padding (widen_heads), and each buffer is
        // sized for a whole block.
        unsafe {
            x86::scores::<HD>(&qt, &kh[b0 * HD..], n, &mut st);
            let pos0 = (key_offset + b0) as f32;
            x86::online_softmax(
                &mut st, n, pos0, &rb.pos, &rb.lo, &mut m, &mut l, &mut alpha,
            );
            x86::add_values::<HD>(&mut ot, &st, &vh[b0 * HD..], n, &alpha);
        }
        b0 += n;
    }
    let mut out = vec![0f32; rb.rows.len() * HD];
    for (i, o) in out.chunks_exact_mut(HD).enumerate() {
        let inv = 1.0 / l[i];
        for (dd, x) in o.iter_mut().enumerate() {
            *x = ot[dd * ROWS + i] * inv;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{DIM_TILE, KEY_BLOCK, KEY_TILE, ROWS};
    use std::arch::x86_64::*;

    /// `exp` of sixteen lanes, computed as `kernels`' eight-lane one (see
    /// [`crate::kernels::EXP_POLY`]).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn exp16(x: __m512) -> __m512 {
        use crate::kernels::{EXP_LN2_HI, EXP_LN2_LO, EXP_MAX, EXP_MIN, EXP_POLY};
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(EXP_MIN)),
            _mm512_set1_ps(EXP_MAX),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
        );
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
        let mut p = _mm512_set1_ps(EXP_POLY[0]);
        for c in &EXP_POLY[1..] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(*c));
        }
        let y = _mm512_fmadd_ps(
            p,
            _mm512_mul_ps(r, r),
            _mm512_add_ps(r, _mm512_set1_ps(1.0)),
        );
        let bias = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
        _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32::<23>(bias)))
    }

    /// Scores of keys `0..n` of `k` (rows `HD` apart, at least
    /// `n.next_multiple_of(KEY_TILE)` of them readable) against the 32
    /// transposed queries `qt`, into `st` (key `t`'s 32 scores at
    /// `t * ROWS`).
    ///
    /// # Safety
    /// AVX-512F must be present.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn scores<const HD: usize>(qt: &[f32], k: &[f32], n: usize, st: &mut [f32]) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let tiles = n.div_ceil(KEY_TILE);
            assert!(
                qt.len() >= HD * ROWS
                    && k.len() >= tiles * KEY_TILE * HD
                    && st.len() >= KEY_BLOCK * ROWS
                    && n <= KEY_BLOCK
            );
            let qp = qt.as_ptr();
            for tile in 0..tiles {
                let kp = k.as_ptr().add(tile * KEY_TILE * HD);
                let mut a0 = [_mm512_setzero_ps(); KEY_TILE];
                let mut a1 = [_mm512_setzero_ps(); KEY_TILE];
                for dd in 0..HD {
                    let q0 = _mm512_loadu_ps(qp.add(dd * ROWS));
                    let q1 = _mm512_loadu_ps(qp.add(dd * ROWS + 16));
                    for jt in 0..KEY_TILE {
                        let kb = _mm512_set1_ps(*kp.add(jt * HD + dd));
                        a0[jt] = _mm512_fmadd_ps(kb, q0, a0[jt]);
                        a1[jt] = _mm512_fmadd_ps(kb, q1, a1[jt]);
                    }
                }
                let sp = st.as_mut_ptr().add(tile * KEY_TILE * ROWS);
                for jt in 0..KEY_TILE {
                    _mm512_storeu_ps(sp.add(jt * ROWS), a0[jt]);
                    _mm512_storeu_ps(sp.add(jt * ROWS + 16), a1[jt]);
                }
            }
        }
    }

    /// Masks the scores of keys `0..n` (cache positions `pos0..`) to what
    /// each lane sees, turns them into `exp(score - running max)`, and
    /// updates the running max `m` and sum `l`; `alpha` gets the factor the
    /// values summed so far must be scaled by.
    ///
    /// # Safety
    /// AVX-512F must be present.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn online_softmax(
        st: &mut [f32],
        n: usize,
        pos0: f32,
        pos: &[f32; ROWS],
        lo: &[f32; ROWS],
        m: &mut [f32; ROWS],
        l: &mut [f32; ROWS],
        alpha: &mut [f32; ROWS],
    ) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            assert!(st.len() >= n * ROWS);
            let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
            for half in [0, 16] {
                let sp = st.as_mut_ptr().add(half);
                let (pv, lov) = (
                    _mm512_loadu_ps(pos.as_ptr().add(half)),
                    _mm512_loadu_ps(lo.as_ptr().add(half)),
                );
                let mut block_max = ninf;
                let mut kp = _mm512_set1_ps(pos0);
                let one = _mm512_set1_ps(1.0);
                for t in 0..n {
                    let seen = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(kp, pv)
                        & _mm512_cmp_ps_mask::<_CMP_GE_OQ>(kp, lov);
                    let s = _mm512_mask_blend_ps(seen, ninf, _mm512_loadu_ps(sp.add(t * ROWS)));
                    _mm512_storeu_ps(sp.add(t * ROWS), s);
                    block_max = _mm512_max_ps(block_max, s);
                    kp = _mm512_add_ps(kp, one);
                }
                let old = _mm512_loadu_ps(m.as_ptr().add(half));
                let new = _mm512_max_ps(old, block_max);
                // A lane that has seen nothing yet subtracts 0, not -inf.
                let sub = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(new, ninf), new);
                let a = _mm512_maskz_mov_ps(
                    _mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(old, ninf),
                    exp16(_mm512_sub_ps(old, sub)),
                );
                let mut sum = _mm512_setzero_ps();
                for t in 0..n {
                    let s = _mm512_loadu_ps(sp.add(t * ROWS));
                    let e = _mm512_maskz_mov_ps(
                        _mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(s, ninf),
                        exp16(_mm512_sub_ps(s, sub)),
                    );
                    _mm512_storeu_ps(sp.add(t * ROWS), e);
                    sum = _mm512_add_ps(sum, e);
                }
                let lsum = _mm512_fmadd_ps(_mm512_loadu_ps(l.as_ptr().add(half)), a, sum);
                _mm512_storeu_ps(l.as_mut_ptr().add(half), lsum);
                _mm512_storeu_ps(m.as_mut_ptr().add(half), new);
                _mm512_storeu_ps(alpha.as_mut_ptr().add(half), a);
            }
        }
    }

    /// `ot = alpha · ot + Σ_t v[t] ⊗ st[t]` over keys `0..n`: `ot` is the
    /// transposed output (element `d` of the 32 rows at `d * ROWS`), `v`
    /// the value rows `HD` apart.
    ///
    /// # Safety
    /// AVX-512F must be present.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_values<const HD: usize>(
        ot: &mut [f32],
        st: &[f32],
        v: &[f32],
        n: usize,
        alpha: &[f32; ROWS],
    ) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            assert!(ot.len() >= HD * ROWS && st.len() >= n * ROWS && v.len() >= n * HD);
            let (a0, a1) = (
                _mm512_loadu_ps(alpha.as_ptr()),
                _mm512_loadu_ps(alpha.as_ptr().add(16)),
            );
            let (op, sp, vp) = (ot.as_mut_ptr(), st.as_ptr(), v.as_ptr());
            for d0 in (0..HD).step_by(DIM_TILE) {
                let mut c0 = [_mm512_setzero_ps(); DIM_TILE];
                let mut c1 = [_mm512_setzero_ps(); DIM_TILE];
                for dd in 0..DIM_TILE {
                    let o = op.add((d0 + dd) * ROWS);
                    c0[dd] = _mm512_mul_ps(_mm512_loadu_ps(o), a0);
                    c1[dd] = _mm512_mul_ps(_mm512_loadu_ps(o.add(16)), a1);
                }
                for t in 0..n {
                    let p0 = _mm512_loadu_ps(sp.add(t * ROWS));
                    let p1 = _mm512_loadu_ps(sp.add(t * ROWS + 16));
                    let vr = vp.add(t * HD + d0);
                    for dd in 0..DIM_TILE {
                        let vb = _mm512_set1_ps(*vr.add(dd));
                        c0[dd] = _mm512_fmadd_ps(vb, p0, c0[dd]);
                        c1[dd] = _mm512_fmadd_ps(vb, p1, c1[dd]);
                    }
                }
                for dd in 0..DIM_TILE {
                    let o = op.add((d0 + dd) * ROWS);
                    _mm512_storeu_ps(o, c0[dd]);
                    _mm512_storeu_ps(o.add(16), c1[dd]);
                }
            }
        }
    }
}
