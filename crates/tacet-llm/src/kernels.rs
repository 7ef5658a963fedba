//! Quantized matrix-vector kernels for the formats the default model ships
//! in (Q4_1, and Q8_0 for its embedding table), as a candle custom op; the
//! K-quants of a Q4_K_M file (the usual format of the 1–4B models practices
//! install) are rewritten into those two at load ([`q4_k_as_q4_1`],
//! [`q6_k_as_q8_0`]).
//!
//! Why our own: candle 0.11.1 has no SIMD kernel for Q4_1 at all (scalar
//! `vec_dot`, ≈ 29 tok/s prefill), and its Q8_0 path converts each block's
//! f16 scale through an out-of-line call and reloads the activations for
//! every weight row; its repacked AVX-512 tiles only apply when the inner
//! size is a multiple of 256, which SmolLM2's 576 is not. Measured under
//! the same conditions these kernels decode several times faster (figures
//! in docs/BENCHMARKS.md).
//!
//! The decisions:
//!
//! - **The file's own block layout.** Weights stay exactly as the GGUF
//!   stores them (Q4_1: f16 d, f16 m, 16 bytes of nibbles per 32 values;
//!   Q8_0: f16 d, 32 signed bytes), so nothing is converted at load and a
//!   4-bit model reads 4-bit weights from memory in decode, as llama.cpp
//!   does, instead of twice the bytes after a conversion to 8 bits.
//! - **Activations quantized to 8 bits once per row** (a scale, the sum of
//!   the quantized values, 32 signed bytes per block: ggml's Q8_1), then
//!   integer dot products: `maddubs` of unsigned nibbles by signed bytes for
//!   Q4_1 (its offset term is `m · d_x · Σq_x`), the sign trick for Q8_0.
//!   This is the arithmetic of ggml's `vec_dot_q4_1_q8_1` and
//!   `vec_dot_q8_0_q8_0`, so results match llama.cpp up to float summation
//!   order (`tests/golden.rs`).
//! - **Chosen at run time.** The AVX2/FMA/F16C code is compiled with
//!   `#[target_feature]` and selected by CPU detection, so one portable
//!   binary is fast on any x86-64 laptop from 2013 on and correct (scalar)
//!   on anything else; a test holds every path to the scalar answer. Where
//!   the CPU has AVX-512 VNNI (Intel since Ice Lake, AMD Zen 4) `vpdpbusd`
//!   takes two blocks per instruction; measured on a 2-core Xeon it gained
//!   little or nothing in decode, which waits on memory more than on
//!   arithmetic, and on an AMD Zen 4 AVX2 was faster. So the flags only say
//!   what may run: the first product times both sets, per format, on 32 MB
//!   of weights (more than the cache holds, as a model's are) and keeps the
//!   faster ([`matvec_kernels`] names the choice). `TACET_DANGER_AVX2_KERNELS`
//!   skips the AVX-512 paths, `TACET_DANGER_VNNI_KERNELS` takes VNNI
//!   without timing (both for measuring); `TACET_DANGER_SCALAR_KERNELS`
//!   skips every SIMD path.
//! - **Rows split across threads** on [`crate::spin`]'s spinning pool
//!   (sized by [`crate::threads`]): decode runs ~150 of these loops per
//!   token, too short to wake a sleeping thread for each; with one thread
//!   there is no pool at all.
//! - **Prefill is not done here.** Many rows at once are a GEMM: the layer
//!   dequantizes the matrix (cheap next to 512 rows of work) and runs
//!   candle's f32 GEMM, which is tiled and vectorised.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape};
use half::f16;
use rayon::prelude::*;

const BLOCK: usize = 32;

/// The weight formats with kernels here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Q4_1,
    Q8_0,
}

impl Format {
    fn block_bytes(self) -> usize {
        match self {
            Format::Q4_1 => 20,
            Format::Q8_0 => 34,
        }
    }
}

/// A quantized `(rows, cols)` weight matrix in the GGUF block layout.
pub(crate) struct QuantMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    blocks: Vec<u8>,
}

impl std::fmt::Debug for QuantMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "QuantMatrix({:?}, {}x{})",
            self.format, self.rows, self.cols
        )
    }
}

/// One row of activations quantized to 8 bits, blockwise.
struct QuantRow {
    /// Per block: the scale.
    d: Vec<f32>,
    /// Per block: scale × sum of the quantized values (Q4_1's offset term).
    ds: Vec<f32>,
    /// 32 values per block.
    qs: Vec<i8>,
}

fn quantize_row(x: &[f32]) -> QuantRow {
    let blocks = x.len() / BLOCK;
    let mut d = Vec::with_capacity(blocks);
    let mut ds = Vec::with_capacity(blocks);
    let mut qs = vec![0i8; x.len()];
    for (xb, qb) in x.chunks_exact(BLOCK).zip(qs.chunks_exact_mut(BLOCK)) {
        let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = amax / 127.0;
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut sum = 0i32;
        for (q, v) in qb.iter_mut().zip(xb) {
            let r = (v * inv).round().clamp(-127.0, 127.0) as i8;
            *q = r;
            sum += i32::from(r);
        }
        d.push(scale);
        ds.push(scale * sum as f32);
    }
    QuantRow { d, ds, qs }
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// Rewrites Q5_0 or Q4_0 blocks as Q8_0 blocks without loss: both store
/// `d · (q − offset)` with small signed integers (−16..15, −8..7) under one
/// f16 scale per 32 values, which Q8_0 holds exactly with the same scale.
/// (Dequantizing and quantizing again would pick a new scale, `max/127`,
/// and round every weight.) `None` for other formats or a byte count that
/// is not whole blocks.
pub(crate) fn widen_to_q8_0(dtype: GgmlDType, blocks: &[u8]) -> Option<Vec<u8>> {
    let in_bytes = match dtype {
        GgmlDType::Q5_0 => 22,
        GgmlDType::Q4_0 => 18,
        _ => return None,
    };
    if !blocks.len().is_multiple_of(in_bytes) {
        return None;
    }
    let mut out = Vec::with_capacity(blocks.len() / in_bytes * 34);
    for b in blocks.chunks_exact(in_bytes) {
        out.extend_from_slice(&b[..2]);
        let mut q = [0i8; BLOCK];
        match dtype {
            GgmlDType::Q5_0 => {
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                for (j, &byte) in b[6..22].iter().enumerate() {
                    let hi0 = ((qh >> j) << 4) & 0x10;
                    let hi1 = (qh >> (j + 12)) & 0x10;
                    q[j] = ((u32::from(byte & 0x0F) | hi0) as i8) - 16;
                    q[j + 16] = ((u32::from(byte >> 4) | hi1) as i8) - 16;
                }
            }
            _ => {
                for (j, &byte) in b[2..18].iter().enumerate() {
                    q[j] = (byte & 0x0F) as i8 - 8;
                    q[j + 16] = (byte >> 4) as i8 - 8;
                }
            }
        }
        out.extend(q.iter().map(|&v| v as u8));
    }
    Some(out)
}

/// Bytes of a Q4_K super-block (256 values: f16 `d` and `dmin`, the 6-bit
/// scales and mins of its 8 sub-blocks of 32 packed in 12 bytes, 128 bytes
/// of nibbles) and of a Q6_K one (256 values: 128 bytes of low nibbles, 64
/// of high bit pairs, 16 signed 8-bit scales of sub-blocks of 16, f16 `d`).
const Q4_K_BYTES: usize = 144;
const Q6_K_BYTES: usize = 210;
const SUPER: usize = 256;

/// The scale and min of Q4_K sub-block `j` (ggml's `get_scale_min_k4`).
fn q4_k_scale_min(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// `x` as f16 when that loses at most one part in 2^10 (a normal f16
/// rounds to one part in 2^11); `None` past f16's range or deep in its
/// subnormals.
fn f16_close(x: f32) -> Option<f16> {
    let h = f16::from_f32(x);
    let back = h.to_f32();
    (back.is_finite() && (back - x).abs() <= x.abs() / 1024.0).then_some(h)
}

/// Q4_K super-blocks rewritten as Q4_1 blocks, one per sub-block of 32: a
/// Q4_K weight is `d·sc_j·q − dmin·m_j` with 4-bit `q` and 6-bit `sc_j`,
/// `m_j`, which is Q4_1's `d'·q + m'` with `d' = d·sc_j` and
/// `m' = −dmin·m_j`. The nibbles are the same; only their order within a
/// block differs (Q4_1 pairs value `i` with `i + 16` in a byte, Q4_K pairs
/// sub-blocks). The products are rounded to f16 (one part in 2^11, far
/// below the 4-bit step); a tensor whose scales f16 cannot hold that
/// closely is `None` and stays on candle's kernel. 160 bytes per 256
/// values instead of 144: decode reads 11% more for these matrices, and
/// runs them on [`QuantMatrix`]'s kernels instead of candle's.
pub(crate) fn q4_k_as_q4_1(blocks: &[u8]) -> Option<Vec<u8>> {
    if !blocks.len().is_multiple_of(Q4_K_BYTES) {
        return None;
    }
    let mut out = Vec::with_capacity(blocks.len() / Q4_K_BYTES * 8 * 20);
    for b in blocks.chunks_exact(Q4_K_BYTES) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (scales, qs) = (&b[4..16], &b[16..144]);
        for j in 0..8 {
            let (sc, m) = q4_k_scale_min(j, scales);
            let scale = f16_close(d * f32::from(sc))?;
            let min = f16_close(-(dmin * f32::from(m)))?;
            out.extend_from_slice(&scale.to_bits().to_le_bytes());
            out.extend_from_slice(&min.to_bits().to_le_bytes());
            let group = &qs[(j / 2) * 32..][..32];
            let nibble = |l: usize| {
                if j % 2 == 0 {
                    group[l] & 0x0F
                } else {
                    group[l] >> 4
                }
            };
            out.extend((0..16).map(|l| nibble(l) | (nibble(l + 16) << 4)));
        }
    }
    Some(out)
}

/// One Q6_K super-block's 256 values (ggml's `dequantize_row_q6_K`).
fn dequantize_q6_k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 208);
    for half in 0..2 {
        let ql = &b[half * 64..][..64];
        let qh = &b[128 + half * 32..][..32];
        let sc = &b[192 + half * 8..][..8];
        let y = &mut y[half * 128..][..128];
        for l in 0..32 {
            let is = l / 16;
            let q = [
                (ql[l] & 0x0F) | ((qh[l] & 3) << 4),
                (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4),
                (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
            ];
            for (k, &q) in q.iter().enumerate() {
                let scale = f32::from(sc[is + 2 * k] as i8);
                y[l + 32 * k] = d * scale * f32::from(q as i8 - 32);
            }
        }
    }
}

/// Q6_K super-blocks requantized to Q8_0, super-block by super-block (no
/// f32 copy of the matrix: a 3B model's 128k-row output matrix would be
/// 1.5 GB). Not exact: Q6_K scales each 16 values, Q8_0 each 32, so the 32
/// values of a block get a new scale (`max/127`, ggml's) and are rounded
/// to a grid about four times finer than the coarser half's own; the
/// logits stay within the golden tests' tolerance. 272 bytes per 256
/// values instead of 210.
pub(crate) fn q6_k_as_q8_0(blocks: &[u8]) -> Option<Vec<u8>> {
    if !blocks.len().is_multiple_of(Q6_K_BYTES) {
        return None;
    }
    let mut out = Vec::with_capacity(blocks.len() / Q6_K_BYTES * 8 * 34);
    let mut y = [0f32; SUPER];
    for b in blocks.chunks_exact(Q6_K_BYTES) {
        dequantize_q6_k(b, &mut y);
        for xb in y.chunks_exact(BLOCK) {
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = amax / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            out.extend_from_slice(&f16::from_f32(scale).to_bits().to_le_bytes());
            out.extend(
                xb.iter()
                    .map(|v| (v * inv).round().clamp(-127.0, 127.0) as i8 as u8),
            );
        }
    }
    Some(out)
}

/// One block of 32 values in f32.
fn dequantize_block(format: Format, b: &[u8], o: &mut [f32]) {
    match format {
        Format::Q4_1 => {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            for j in 0..16 {
                o[j] = d * f32::from(b[4 + j] & 0x0F) + m;
                o[j + 16] = d * f32::from(b[4 + j] >> 4) + m;
            }
        }
        Format::Q8_0 => {
            let d = f16_at(b, 0);
            for (v, q) in o.iter_mut().zip(&b[2..34]) {
                *v = d * f32::from(*q as i8);
            }
        }
    }
}

impl QuantMatrix {
    /// Takes the tensor's blocks when there is a kernel for its format and
    /// shape; `None` leaves it to candle.
    ///
    /// Q4_K is rewritten as Q4_1 ([`q4_k_as_q4_1`], exact up to f16
    /// scales) and Q6_K as Q8_0 ([`q6_k_as_q8_0`]), so a K-quant model
    /// (what practices install for 1–4B models, and Gemma 3's Q4_K_M)
    /// runs on these kernels too.
    pub(crate) fn from_qtensor(q: &QTensor) -> Result<Option<Self>> {
        let Ok((rows, cols)) = q.shape().dims2() else {
            return Ok(None);
        };
        if cols == 0 || !cols.is_multiple_of(BLOCK) {
            return Ok(None);
        }
        let (format, blocks) = match q.dtype() {
            GgmlDType::Q4_1 => (Format::Q4_1, q.data()?.into_owned()),
            GgmlDType::Q8_0 => (Format::Q8_0, q.data()?.into_owned()),
            GgmlDType::Q4K if cols.is_multiple_of(SUPER) => match q4_k_as_q4_1(&q.data()?) {
                Some(b) => (Format::Q4_1, b),
                None => return Ok(None),
            },
            GgmlDType::Q6K if cols.is_multiple_of(SUPER) => match q6_k_as_q8_0(&q.data()?) {
                Some(b) => (Format::Q8_0, b),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        if blocks.len() != rows * cols / BLOCK * format.block_bytes() {
            candle_core::bail!(
                "{format:?} tensor of {rows}x{cols} has {} bytes",
                blocks.len()
            );
        }
        Ok(Some(Self {
            format,
            rows,
            cols,
            blocks,
        }))
    }

    /// Stacks matrices of one format and width into one (their rows one
    /// after the other), so projections of the same input run as one
    /// matvec: one activation quantization and one parallel region.
    pub(crate) fn concat_rows(parts: Vec<QuantMatrix>) -> std::result::Result<Self, Vec<Self>> {
        let same = parts
            .windows(2)
            .all(|w| w[0].format == w[1].format && w[0].cols == w[1].cols);
        let Some(first) = parts.first() else {
            return Err(parts);
        };
        if !same {
            return Err(parts);
        }
        let (format, cols) = (first.format, first.cols);
        let rows = parts.iter().map(|p| p.rows).sum();
        let mut blocks = Vec::with_capacity(parts.iter().map(|p| p.blocks.len()).sum());
        for p in &parts {
            blocks.extend_from_slice(&p.blocks);
        }
        Ok(Self {
            format,
            rows,
            cols,
            blocks,
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    fn row_bytes(&self) -> usize {
        self.cols / BLOCK * self.format.block_bytes()
    }

    /// The matrix in f32, row-major.
    pub(crate) fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        let (format, bb) = (self.format, self.format.block_bytes());
        out.par_chunks_mut(BLOCK)
            .zip(self.blocks.par_chunks(bb))
            .for_each(|(o, b)| dequantize_block(format, b, o));
        out
    }

    /// Rows `ids` in f32, one after the other: the lookup of a token
    /// embedding table that is also the output matrix (a tied model keeps
    /// one copy of it, here). An id past the last row is an error.
    pub(crate) fn dequantize_rows(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let (rb, bb) = (self.row_bytes(), self.format.block_bytes());
        let mut out = vec![0f32; ids.len() * self.cols];
        for (&id, o) in ids.iter().zip(out.chunks_exact_mut(self.cols)) {
            let id = id as usize;
            if id >= self.rows {
                candle_core::bail!("token id {id} is past the table's {} rows", self.rows);
            }
            let row = &self.blocks[id * rb..(id + 1) * rb];
            for (o, b) in o.chunks_exact_mut(BLOCK).zip(row.chunks_exact(bb)) {
                dequantize_block(self.format, b, o);
            }
        }
        Ok(out)
    }

    /// `out[r] = W[r] · x` for every row `r`.
    pub(crate) fn matvec(&self, x: &[f32], out: &mut [f32], threads: usize) {
        self.matvec_on(isa(self.format), x, out, threads);
    }

    /// [`Self::matvec`] with the kernels of `isa`, which the CPU must have.
    fn matvec_on(&self, isa: Isa, x: &[f32], out: &mut [f32], threads: usize) {
        let a = quantize_row(x);
        let rb = self.row_bytes();
        let dot = |row: &[u8]| -> f32 {
            match (self.format, isa) {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `isa` names only what the CPU has; the row holds
                // cols/32 whole blocks, as does `a`.
                (Format::Q4_1, Isa::Avx512Vnni) => unsafe { x86::dot2_q4_1_vnni(row, row, &a).0 },
                #[cfg(target_arch = "x86_64")]
                (Format::Q8_0, Isa::Avx512Vnni) => unsafe { x86::dot_q8_0_vnni(row, &a) },
                #[cfg(target_arch = "x86_64")]
                (Format::Q4_1, Isa::Avx2) => unsafe { x86::dot_q4_1(row, &a) },
                #[cfg(target_arch = "x86_64")]
                (Format::Q8_0, Isa::Avx2) => unsafe { x86::dot_q8_0(row, &a) },
                (Format::Q4_1, _) => scalar_dot_q4_1(row, &a),
                (Format::Q8_0, _) => scalar_dot_q8_0(row, &a),
            }
        };
        // Two rows per call where there is a kernel for it: the activations
        // are loaded once for both, and the two sums are independent chains.
        type Dot2 = unsafe fn(&[u8], &[u8], &QuantRow) -> (f32, f32);
        let dot2: Option<Dot2> = match (self.format, isa) {
            #[cfg(target_arch = "x86_64")]
            (Format::Q4_1, Isa::Avx512Vnni) => Some(x86::dot2_q4_1_vnni),
            #[cfg(target_arch = "x86_64")]
            (Format::Q4_1, Isa::Avx2) => Some(x86::dot2_q4_1),
            #[cfg(target_arch = "x86_64")]
            (Format::Q8_0, Isa::Avx512Vnni) => Some(x86::dot2_q8_0_vnni),
            _ => None,
        };
        let rows = |o: &mut [f32], w: &[u8]| {
            if let Some(dot2) = dot2 {
                let mut pairs = o.chunks_exact_mut(2);
                let mut wp = w.chunks_exact(2 * rb);
                for (v, ww) in (&mut pairs).zip(&mut wp) {
                    let (r0, r1) = ww.split_at(rb);
                    // SAFETY: `isa` names only what the CPU has; each half
                    // is one whole row of cols/32 blocks, as `a` holds.
                    let (a0, a1) = unsafe { dot2(r0, r1, &a) };
                    v[0] = a0;
                    v[1] = a1;
                }
                for (v, row) in pairs
                    .into_remainder()
                    .iter_mut()
                    .zip(wp.remainder().chunks_exact(rb))
                {
                    *v = dot(row);
                }
                return;
            }
            for (v, row) in o.iter_mut().zip(w.chunks_exact(rb)) {
                *v = dot(row);
            }
        };
        if threads <= 1 || self.rows < 64 {
            rows(out, &self.blocks);
        } else {
            // An even number of rows per task keeps the pairs whole.
            let per = (self.rows.div_ceil(threads * 4).max(16) + 1) & !1;
            crate::spin::for_each_chunk_mut(out, per, |i, o| {
                rows(o, &self.blocks[i * per * rb..][..o.len() * rb]);
            });
        }
    }
}

fn scalar_dot_q4_1(row: &[u8], a: &QuantRow) -> f32 {
    let mut sum = 0f32;
    for (i, b) in row.chunks_exact(20).enumerate() {
        let (d, m) = (f16_at(b, 0), f16_at(b, 2));
        let q = &a.qs[i * BLOCK..(i + 1) * BLOCK];
        let mut acc = 0i32;
        for j in 0..16 {
            acc += i32::from(b[4 + j] & 0x0F) * i32::from(q[j]);
            acc += i32::from(b[4 + j] >> 4) * i32::from(q[j + 16]);
        }
        sum += d * a.d[i] * acc as f32 + m * a.ds[i];
    }
    sum
}

fn scalar_dot_q8_0(row: &[u8], a: &QuantRow) -> f32 {
    let mut sum = 0f32;
    for (i, b) in row.chunks_exact(34).enumerate() {
        let d = f16_at(b, 0);
        let q = &a.qs[i * BLOCK..(i + 1) * BLOCK];
        let acc: i32 = b[2..34]
            .iter()
            .zip(q)
            .map(|(w, x)| i32::from(*w as i8) * i32::from(*x))
            .sum();
        sum += d * a.d[i] * acc as f32;
    }
    sum
}

/// `x ← exp(x * scale - max)` over `xs`, returning the sum: the inner loop
/// of every softmax in our attention. Eight lanes at a time with AVX2 and
/// FMA (Cephes' `expf` polynomial, within 2 ulp of `f32::exp`), `f32::exp`
/// elsewhere. At an 8,000-token prompt the scalar loop was a fifth of the
/// prefill.
pub(crate) fn exp_sub_sum(xs: &mut [f32], scale: f32, max: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd_available() {
        // SAFETY: simd_available() checked AVX2, FMA and F16C.
        return unsafe { x86::exp_sub_sum(xs, scale, max) };
    }
    let mut sum = 0f32;
    for x in xs.iter_mut() {
        *x = (*x * scale - max).exp();
        sum += *x;
    }
    sum
}

/// `exp(x)` as every SIMD `exp` here computes it: `x` clamped to
/// `[EXP_MIN, EXP_MAX]`, `x = n·ln 2 + r` with ln 2 in two parts (so
/// `n·ln 2` is exact enough for f32), Cephes' degree-6 polynomial
/// (`EXP_POLY`, highest power first) for `exp(r)`, and `2^n` built in the
/// exponent bits.
pub(crate) const EXP_MIN: f32 = -87.336_55;
pub(crate) const EXP_MAX: f32 = 88.0;
pub(crate) const EXP_LN2_HI: f32 = 0.693_359_4;
pub(crate) const EXP_LN2_LO: f32 = -2.121_944_4e-4;
pub(crate) const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// Whether the SIMD kernels can run here (checked once).
fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static SIMD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *SIMD.get_or_init(|| {
            std::env::var_os("TACET_DANGER_SCALAR_KERNELS").is_none()
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `q · k` for f32 `q` and an f16 `k` of the same length (a query against
/// one cached key), widened in registers.
pub(crate) fn dot_f16(q: &[f32], k: &[f16]) -> f32 {
    debug_assert_eq!(q.len(), k.len());
    #[cfg(target_arch = "x86_64")]
    if simd_available() {
        // SAFETY: AVX2, FMA and F16C are present; lengths are checked inside.
        return unsafe { x86::dot_f16(q, k) };
    }
    q.iter().zip(k).map(|(a, b)| a * b.to_f32()).sum()
}

/// `out += p · v` for an f16 `v` (a cached value row).
pub(crate) fn axpy_f16(p: f32, v: &[f16], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if simd_available() {
        // SAFETY: as in `dot_f16`.
        return unsafe { x86::axpy_f16(p, v, out) };
    }
    for (o, x) in out.iter_mut().zip(v) {
        *o += p * x.to_f32();
    }
}

/// Which kernels run a format's products here (chosen once per format):
/// AVX-512 VNNI (`vpdpbusd`: a block's 32 byte products summed in fours in
/// one instruction, two blocks per 512-bit register) where the CPU has it
/// and it measured faster than AVX2 for that format ([`faster_of`]), else
/// AVX2, else scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Scalar,
    Avx2,
    Avx512Vnni,
}

fn isa(format: Format) -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        static ISA: std::sync::OnceLock<(Isa, Isa)> = std::sync::OnceLock::new();
        let (q4_1, q8_0) = *ISA.get_or_init(|| {
            if !simd_available() {
                (Isa::Scalar, Isa::Scalar)
            } else if vnni_present() {
                if std::env::var_os("TACET_DANGER_VNNI_KERNELS").is_some() {
                    (Isa::Avx512Vnni, Isa::Avx512Vnni)
                } else {
                    let time = TimingMatrix::new();
                    let chosen = |format| {
                        let (vnni, avx2) = time.both(format);
                        faster_of(vnni, avx2)
                    };
                    (chosen(Format::Q4_1), chosen(Format::Q8_0))
                }
            } else {
                (Isa::Avx2, Isa::Avx2)
            }
        });
        match format {
            Format::Q4_1 => q4_1,
            Format::Q8_0 => q8_0,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = format;
        Isa::Scalar
    }
}

/// Whether the VNNI kernels may run here: the CPU has AVX-512F, BW and
/// VNNI, and `TACET_DANGER_AVX2_KERNELS` is not set.
#[cfg(target_arch = "x86_64")]
fn vnni_present() -> bool {
    simd_available()
        && std::env::var_os("TACET_DANGER_AVX2_KERNELS").is_none()
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni")
}

/// The drafting engine's matrix-vector kernels on this CPU, for the
/// support log: e.g. "Q4_1 AVX2, Q8_0 AVX2" (each "scalar", "AVX2" or
/// "AVX-512 VNNI"). The first call chooses them (on a CPU with AVX-512
/// VNNI, by timing both sets, about 0.1 s).
#[must_use]
pub fn matvec_kernels() -> String {
    let name = |format| match isa(format) {
        Isa::Scalar => "scalar",
        Isa::Avx2 => "AVX2",
        Isa::Avx512Vnni => "AVX-512 VNNI",
    };
    format!("Q4_1 {}, Q8_0 {}", name(Format::Q4_1), name(Format::Q8_0))
}

/// The VNNI kernels where they measured faster, else AVX2. The CPU flags
/// alone do not say: on an AMD Zen 4, whose 512-bit instructions run as two
/// 256-bit halves, the AVX2 kernels decoded SmolLM2 at 122 tok/s against 107
/// for VNNI, and on another (2 cores of an EPYC) the VNNI Q8_0 product of
/// a matrix larger than the cache (SmolLM2's 28 MB output matrix) took
/// three times as long as AVX2's, while in cache the two were within 5%.
/// On a 2-core Xeon VNNI gained 1–3% in decode.
fn faster_of(vnni: std::time::Duration, avx2: std::time::Duration) -> Isa {
    if vnni < avx2 {
        Isa::Avx512Vnni
    } else {
        Isa::Avx2
    }
}

/// 32 MB of weights to time the kernels on: larger than a desktop CPU's
/// last-level cache, as a model's weights are, so that the products read
/// memory as decoding does.
#[cfg(target_arch = "x86_64")]
struct TimingMatrix {
    bytes: std::cell::RefCell<Vec<u8>>,
}

#[cfg(target_arch = "x86_64")]
impl TimingMatrix {
    const BYTES: usize = 32 << 20;
    const COLS: usize = 576;

    fn new() -> Self {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut bytes = Vec::with_capacity(Self::BYTES);
        while bytes.len() < Self::BYTES {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            bytes.extend_from_slice(&seed.to_le_bytes());
        }
        Self {
            bytes: std::cell::RefCell::new(bytes),
        }
    }

    /// The best of three timings of each kernel set for `format`, one
    /// product each, one thread, after a warm-up of each, the two
    /// interleaved so that a busy moment of the machine falls on both:
    /// (VNNI, AVX2). Only where the CPU has AVX-512 VNNI.
    fn both(&self, format: Format) -> (std::time::Duration, std::time::Duration) {
        use std::time::{Duration, Instant};
        let mut blocks = self.bytes.borrow_mut();
        let bb = format.block_bytes();
        let rows = blocks.len() / (Self::COLS / BLOCK * bb);
        let used = rows * Self::COLS / BLOCK * bb;
        // Finite scales (and Q8_0's quants away from the −128 its kernels
        // never see): the arithmetic of a real model, not of NaNs.
        for b in blocks[..used].chunks_exact_mut(bb) {
            b[..2].copy_from_slice(&f16::from_f32(0.01).to_le_bytes());
            match format {
                Format::Q4_1 => b[2..4].copy_from_slice(&f16::from_f32(-0.08).to_le_bytes()),
                Format::Q8_0 => b[2..].iter_mut().for_each(|q| *q &= 0x7f),
            }
        }
        let m = QuantMatrix {
            format,
            rows,
            cols: Self::COLS,
            blocks: std::mem::take(&mut *blocks),
        };
        let x: Vec<f32> = (0..Self::COLS)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let mut out = vec![0f32; rows];
        let mut time = |isa: Isa| {
            let start = Instant::now();
            m.matvec_on(isa, &x, &mut out, 1);
            start.elapsed()
        };
        time(Isa::Avx512Vnni);
        time(Isa::Avx2);
        let (mut vnni, mut avx2) = (Duration::MAX, Duration::MAX);
        for _ in 0..3 {
            vnni = vnni.min(time(Isa::Avx512Vnni));
            avx2 = avx2.min(time(Isa::Avx2));
        }
        *blocks = m.blocks;
        (vnni, avx2)
    }
}

/// Whether AVX-512F code may run here: the CPU has it and neither
/// `TACET_DANGER_AVX2_KERNELS` nor `TACET_DANGER_SCALAR_KERNELS` is set
/// (checked once). For kernels outside this module ([`crate::flash`]).
pub(crate) fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX512.get_or_init(|| {
            simd_available()
                && std::env::var_os("TACET_DANGER_AVX2_KERNELS").is_none()
                && is_x86_feature_detected!("avx512f")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{QuantRow, BLOCK};
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn f16_to_f32(p: *const u8) -> f32 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let bits = p.cast::<u16>().read_unaligned();
            _mm_cvtss_f32(_mm_cvtph_ps(_mm_set1_epi16(bits as i16)))
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// `exp` of eight lanes: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, Cephes'
    /// degree-6 polynomial for `exp(r)`, and `2^n` built in the exponent
    /// bits. Inputs are clamped to [-87.3, 88] (results from 1e-38 to 2^127).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn exp8(x: __m256) -> __m256 {
        use super::{EXP_LN2_HI, EXP_LN2_LO, EXP_MAX, EXP_MIN, EXP_POLY};
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(EXP_MIN)),
            _mm256_set1_ps(EXP_MAX),
        );
        let n = _mm256_round_ps(
            _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)),
            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
        );
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
        let mut p = _mm256_set1_ps(EXP_POLY[0]);
        for c in &EXP_POLY[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(*c));
        }
        let y = _mm256_fmadd_ps(
            p,
            _mm256_mul_ps(r, r),
            _mm256_add_ps(r, _mm256_set1_ps(1.0)),
        );
        let bias = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(bias, 23)))
    }

    /// # Safety
    /// AVX2, FMA and F16C must be present.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn exp_sub_sum(xs: &mut [f32], scale: f32, max: f32) -> f32 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let (vs, vm) = (_mm256_set1_ps(scale), _mm256_set1_ps(max));
            let mut acc = _mm256_setzero_ps();
            let mut chunks = xs.chunks_exact_mut(8);
            for c in &mut chunks {
                let e = exp8(_mm256_fmsub_ps(_mm256_loadu_ps(c.as_ptr()), vs, vm));
                _mm256_storeu_ps(c.as_mut_ptr(), e);
                acc = _mm256_add_ps(acc, e);
            }
            let mut sum = hsum(acc);
            for x in chunks.into_remainder() {
                *x = (*x * scale - max).exp();
                sum += *x;
            }
            sum
        }
    }

    /// # Safety
    /// AVX2, FMA and F16C must be present.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_f16(q: &[f32], k: &[half::f16]) -> f32 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let n = q.len().min(k.len());
            let (qp, kp) = (q.as_ptr(), k.as_ptr().cast::<u16>());
            let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut i = 0;
            while i + 16 <= n {
                let k0 = _mm256_cvtph_ps(_mm_loadu_si128(kp.add(i).cast()));
                let k1 = _mm256_cvtph_ps(_mm_loadu_si128(kp.add(i + 8).cast()));
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), k0, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i + 8)), k1, a1);
                i += 16;
            }
            let mut sum = hsum(_mm256_add_ps(a0, a1));
            while i < n {
                sum += q[i] * k[i].to_f32();
                i += 1;
            }
            sum
        }
    }

    /// # Safety
    /// AVX2, FMA and F16C must be present.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn axpy_f16(p: f32, v: &[half::f16], out: &mut [f32]) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let n = out.len().min(v.len());
            let (vp, op) = (v.as_ptr().cast::<u16>(), out.as_mut_ptr());
            let pv = _mm256_set1_ps(p);
            let mut i = 0;
            while i + 8 <= n {
                let x = _mm256_cvtph_ps(_mm_loadu_si128(vp.add(i).cast()));
                _mm256_storeu_ps(
                    op.add(i),
                    _mm256_fmadd_ps(pv, x, _mm256_loadu_ps(op.add(i))),
                );
                i += 8;
            }
            while i < n {
                out[i] += p * v[i].to_f32();
                i += 1;
            }
        }
    }

    /// # Safety
    /// AVX2, FMA and F16C must be present; `row` holds `a.d.len()` Q4_1 blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_q4_1(row: &[u8], a: &QuantRow) -> f32 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let (s, _) = dot2_q4_1(row, row, a);
            s
        }
    }

    /// Two rows against the same activations: the activation block, its
    /// scales and the loop are shared, and each block's two f16 scales
    /// (d, m) are converted in one instruction.
    ///
    /// # Safety
    /// AVX2, FMA and F16C must be present; both rows hold `a.d.len()` Q4_1
    /// blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot2_q4_1(r0: &[u8], r1: &[u8], a: &QuantRow) -> (f32, f32) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let blocks = a.d.len();
            debug_assert!(r0.len() == blocks * 20 && r1.len() == blocks * 20);
            let (w0, w1) = (r0.as_ptr(), r1.as_ptr());
            let (x, xd, xds) = (a.qs.as_ptr(), a.d.as_ptr(), a.ds.as_ptr());
            let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            // Lane 1 of each collects m · d_x · Σq_x (lane 0 is unused).
            let (mut off0, mut off1) = (_mm_setzero_ps(), _mm_setzero_ps());
            for i in 0..blocks {
                let xb = x.add(i * BLOCK);
                let sx = _mm256_set1_ps(*xd.add(i));
                let sxs = _mm_set1_ps(*xds.add(i));
                let p0 = w0.add(i * 20);
                let p1 = w1.add(i * 20);
                let dm0 = _mm_cvtph_ps(_mm_cvtsi32_si128(p0.cast::<i32>().read_unaligned()));
                let dm1 = _mm_cvtph_ps(_mm_cvtsi32_si128(p1.cast::<i32>().read_unaligned()));
                let d0 = block_q4_1(p0, xb);
                let d1 = block_q4_1(p1, xb);
                acc0 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_broadcastss_ps(dm0), sx), d0, acc0);
                acc1 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_broadcastss_ps(dm1), sx), d1, acc1);
                off0 = _mm_fmadd_ps(dm0, sxs, off0);
                off1 = _mm_fmadd_ps(dm1, sxs, off1);
            }
            let lane1 = |v: __m128| _mm_cvtss_f32(_mm_movehdup_ps(v));
            (hsum(acc0) + lane1(off0), hsum(acc1) + lane1(off1))
        }
    }

    /// One Q8_0 block against one block of activations: 8 partial sums.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn block_q8_0(p: *const u8, x: *const i8) -> __m256 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let wq = _mm256_loadu_si256(p.add(2).cast());
            let xq = _mm256_loadu_si256(x.cast());
            // |w| (unsigned) times x with w's sign: maddubs needs one unsigned
            // operand; 2·128·127 cannot saturate its i16 sums.
            let dots = _mm256_madd_epi16(
                _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq)),
                _mm256_set1_epi16(1),
            );
            _mm256_cvtepi32_ps(dots)
        }
    }

    /// # Safety
    /// AVX2, FMA and F16C must be present; `row` holds `a.d.len()` Q8_0 blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_q8_0(row: &[u8], a: &QuantRow) -> f32 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let blocks = a.d.len();
            debug_assert_eq!(row.len(), blocks * 34);
            let (w, x, xd) = (row.as_ptr(), a.qs.as_ptr(), a.d.as_ptr());
            let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut i = 0;
            while i + 1 < blocks {
                let p0 = w.add(i * 34);
                let p1 = p0.add(34);
                let s0 = _mm256_set1_ps(f16_to_f32(p0) * *xd.add(i));
                let s1 = _mm256_set1_ps(f16_to_f32(p1) * *xd.add(i + 1));
                acc0 = _mm256_fmadd_ps(s0, block_q8_0(p0, x.add(i * BLOCK)), acc0);
                acc1 = _mm256_fmadd_ps(s1, block_q8_0(p1, x.add((i + 1) * BLOCK)), acc1);
                i += 2;
            }
            if i < blocks {
                let p0 = w.add(i * 34);
                let s0 = _mm256_set1_ps(f16_to_f32(p0) * *xd.add(i));
                acc0 = _mm256_fmadd_ps(s0, block_q8_0(p0, x.add(i * BLOCK)), acc0);
            }
            hsum(_mm256_add_ps(acc0, acc1))
        }
    }

    /// One Q4_1 block (file layout at `p`) against 32 activation bytes at
    /// `x`: the eight partial integer sums, as f32.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn block_q4_1(p: *const u8, x: *const i8) -> __m256 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let q = _mm_loadu_si128(p.add(4).cast());
            let n = _mm256_and_si256(
                _mm256_set_m128i(_mm_srli_epi16(q, 4), q),
                _mm256_set1_epi8(0x0F),
            );
            let xq = _mm256_loadu_si256(x.cast());
            _mm256_cvtepi32_ps(_mm256_madd_epi16(
                _mm256_maddubs_epi16(n, xq),
                _mm256_set1_epi16(1),
            ))
        }
    }

    /// A Q4_1 block's scale and offset (two f16 at `p`).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4_1_dm(p: *const u8) -> (f32, f32) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let dm = _mm_cvtph_ps(_mm_cvtsi32_si128(p.cast::<i32>().read_unaligned()));
            (_mm_cvtss_f32(dm), _mm_cvtss_f32(_mm_movehdup_ps(dm)))
        }
    }

    /// The nibbles of two Q4_1 blocks (at `pa`, `pb`) as 64 bytes in the
    /// activations' order: block a's low and high nibbles, then block b's.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    unsafe fn nibbles2(pa: *const u8, pb: *const u8) -> __m512i {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let (qa, qb) = (
                _mm_loadu_si128(pa.add(4).cast()),
                _mm_loadu_si128(pb.add(4).cast()),
            );
            let na = _mm256_set_m128i(_mm_srli_epi16(qa, 4), qa);
            let nb = _mm256_set_m128i(_mm_srli_epi16(qb, 4), qb);
            _mm512_and_si512(
                _mm512_inserti64x4(_mm512_castsi256_si512(na), nb, 1),
                _mm512_set1_epi8(0x0F),
            )
        }
    }

    /// [`dot2_q4_1`] with AVX-512 VNNI: two blocks per step, each block's
    /// 32 products summed by `vpdpbusd` (unsigned nibbles by signed bytes,
    /// exact in i32), then scaled as in ggml.
    ///
    /// # Safety
    /// AVX-512 F/BW/VNNI, AVX2, FMA and F16C must be present; both rows hold
    /// `a.d.len()` Q4_1 blocks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn dot2_q4_1_vnni(r0: &[u8], r1: &[u8], a: &QuantRow) -> (f32, f32) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let blocks = a.d.len();
            debug_assert!(r0.len() == blocks * 20 && r1.len() == blocks * 20);
            let (w0, w1) = (r0.as_ptr(), r1.as_ptr());
            let (x, xd, xds) = (a.qs.as_ptr(), a.d.as_ptr(), a.ds.as_ptr());
            let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            let (mut off0, mut off1) = (0f32, 0f32);
            let mut i = 0;
            while i + 1 < blocks {
                let xq = _mm512_loadu_si512(x.add(i * BLOCK).cast());
                let (sxa, sxb) = (*xd.add(i), *xd.add(i + 1));
                let (sxsa, sxsb) = (*xds.add(i), *xds.add(i + 1));
                for (w, acc, off) in [(w0, &mut acc0, &mut off0), (w1, &mut acc1, &mut off1)] {
                    let (pa, pb) = (w.add(i * 20), w.add((i + 1) * 20));
                    let ((da, ma), (db, mb)) = (q4_1_dm(pa), q4_1_dm(pb));
                    let dots = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(
                        _mm512_setzero_si512(),
                        nibbles2(pa, pb),
                        xq,
                    ));
                    let scale = _mm512_mask_blend_ps(
                        0xFF00,
                        _mm512_set1_ps(da * sxa),
                        _mm512_set1_ps(db * sxb),
                    );
                    *acc = _mm512_fmadd_ps(scale, dots, *acc);
                    *off += ma * sxsa + mb * sxsb;
                }
                i += 2;
            }
            let (mut s0, mut s1) = (
                _mm512_reduce_add_ps(acc0) + off0,
                _mm512_reduce_add_ps(acc1) + off1,
            );
            if i < blocks {
                let (sx, sxs) = (*xd.add(i), *xds.add(i));
                for (w, s) in [(w0, &mut s0), (w1, &mut s1)] {
                    let p = w.add(i * 20);
                    let (d, m) = q4_1_dm(p);
                    *s += hsum(block_q4_1(p, x.add(i * BLOCK))) * d * sx + m * sxs;
                }
            }
            (s0, s1)
        }
    }

    /// `acc + scales · (w · x)` for the two Q8_0 blocks at `p` (two blocks
    /// of one row, 34 bytes apart) against `xq`, the activations' two
    /// blocks, whose scales are `sxa` and `sxb`: `vpdpbusd` of |w| by x
    /// with w's sign (AVX-512 has no `vpsignb`, so x is negated under a
    /// mask of w's negative bytes), eight lanes per block.
    ///
    /// # Safety
    /// As [`dot_q8_0_vnni`]; `p` points at two whole blocks.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    unsafe fn fma_pair_q8_0_vnni(
        p: *const u8,
        xq: __m512i,
        sxa: f32,
        sxb: f32,
        acc: __m512,
    ) -> __m512 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let (pa, pb) = (p, p.add(34));
            let wq = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256(pa.add(2).cast())),
                _mm256_loadu_si256(pb.add(2).cast()),
                1,
            );
            let neg = _mm512_movepi8_mask(wq);
            let xs = _mm512_mask_sub_epi8(xq, neg, _mm512_setzero_si512(), xq);
            let dots = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(
                _mm512_setzero_si512(),
                _mm512_abs_epi8(wq),
                xs,
            ));
            let scale = _mm512_mask_blend_ps(
                0xFF00,
                _mm512_set1_ps(f16_to_f32(pa) * sxa),
                _mm512_set1_ps(f16_to_f32(pb) * sxb),
            );
            _mm512_fmadd_ps(scale, dots, acc)
        }
    }

    /// [`dot_q8_0_vnni`] for two rows at once: each block pair of the
    /// activations is loaded once for both, and the two rows' sums are two
    /// independent chains.
    ///
    /// # Safety
    /// As [`dot_q8_0_vnni`], for both rows.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn dot2_q8_0_vnni(r0: &[u8], r1: &[u8], a: &QuantRow) -> (f32, f32) {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let blocks = a.d.len();
            debug_assert!(r0.len() == blocks * 34 && r1.len() == blocks * 34);
            let (w0, w1) = (r0.as_ptr(), r1.as_ptr());
            let (x, xd) = (a.qs.as_ptr(), a.d.as_ptr());
            let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            let mut i = 0;
            while i + 1 < blocks {
                let xq = _mm512_loadu_si512(x.add(i * BLOCK).cast());
                let (sxa, sxb) = (*xd.add(i), *xd.add(i + 1));
                for (w, acc) in [(w0, &mut acc0), (w1, &mut acc1)] {
                    *acc = fma_pair_q8_0_vnni(w.add(i * 34), xq, sxa, sxb, *acc);
                }
                i += 2;
            }
            let (mut s0, mut s1) = (_mm512_reduce_add_ps(acc0), _mm512_reduce_add_ps(acc1));
            if i < blocks {
                let sx = *xd.add(i);
                for (w, s) in [(w0, &mut s0), (w1, &mut s1)] {
                    let p = w.add(i * 34);
                    *s += hsum(block_q8_0(p, x.add(i * BLOCK))) * f16_to_f32(p) * sx;
                }
            }
            (s0, s1)
        }
    }

    /// [`dot_q8_0`] with AVX-512 VNNI: two blocks per step, `vpdpbusd` of
    /// |w| by x with w's sign (the AVX2 sign trick; AVX-512 has no
    /// `vpsignb`, so x is negated under a mask of w's negative bytes).
    ///
    /// # Safety
    /// AVX-512 F/BW/VNNI, AVX2, FMA and F16C must be present; `row` holds
    /// `a.d.len()` Q8_0 blocks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
    pub(super) unsafe fn dot_q8_0_vnni(row: &[u8], a: &QuantRow) -> f32 {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let blocks = a.d.len();
            debug_assert_eq!(row.len(), blocks * 34);
            let (w, x, xd) = (row.as_ptr(), a.qs.as_ptr(), a.d.as_ptr());
            let mut acc = _mm512_setzero_ps();
            let mut i = 0;
            while i + 1 < blocks {
                let xq = _mm512_loadu_si512(x.add(i * BLOCK).cast());
                acc = fma_pair_q8_0_vnni(w.add(i * 34), xq, *xd.add(i), *xd.add(i + 1), acc);
                i += 2;
            }
            let mut sum = _mm512_reduce_add_ps(acc);
            if i < blocks {
                let p = w.add(i * 34);
                sum += hsum(block_q8_0(p, x.add(i * BLOCK))) * f16_to_f32(p) * *xd.add(i);
            }
            sum
        }
    }
}

/// `x · Wᵀ` for a few rows of `x` (`(.., cols)` f32) as a candle op.
pub(crate) struct MatVec<'a> {
    pub matrix: &'a QuantMatrix,
    pub threads: usize,
}

impl CustomOp1 for MatVec<'_> {
    fn name(&self) -> &'static str {
        "tacet-quant-matvec"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("quantized matvec wants f32 activations");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("quantized matvec wants contiguous activations");
        };
        let x = &data[start..end];
        let k = self.matrix.cols;
        let dims = layout.shape().dims();
        if dims.last() != Some(&k) {
            candle_core::bail!(
                "quantized matvec: input {:?} against a {}x{} matrix",
                dims,
                self.matrix.rows,
                k
            );
        }
        let n = self.matrix.rows;
        let m = x.len() / k;
        let mut out = vec![0f32; m * n];
        for (xr, or) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
            self.matrix.matvec(xr, or, self.threads);
        }
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_softmax_exp_matches_f32_exp() {
        // Scores minus their max, as a softmax sees them, and a few beyond.
        let xs: Vec<f32> = (0..4003)
            .map(|i| -100.0 + i as f32 * 0.027)
            .chain([0.0, -0.0, 1.0, 10.0, 88.0, -87.0, -1e-7, f32::NEG_INFINITY])
            .collect();
        let mut got = xs.clone();
        let sum = exp_sub_sum(&mut got, 1.0, 0.0);
        let mut want_sum = 0f64;
        for (x, g) in xs.iter().zip(&got) {
            let want = x.exp();
            want_sum += f64::from(want);
            if *x < -87.0 {
                assert!(*g >= 0.0 && *g < 2e-38, "exp({x}) = {g}");
            } else {
                let rel = ((g - want) / want).abs();
                assert!(rel < 4e-7, "exp({x}) = {g}, want {want} (rel {rel})");
            }
        }
        assert!(((f64::from(sum) - want_sum) / want_sum).abs() < 1e-5);
        // Scale and max are applied before the exp.
        let mut v = vec![2.0f32; 9];
        let s = exp_sub_sum(&mut v, 0.5, 1.0);
        assert!(v.iter().all(|x| (x - 1.0).abs() < 1e-6) && (s - 9.0).abs() < 1e-5);
    }

    #[test]
    fn f16_dot_and_axpy_match_the_widened_f32() {
        for n in [0, 7, 16, 64, 77] {
            let q: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let k: Vec<f16> = (0..n)
                .map(|i| f16::from_f32((i as f32 * 0.11).cos() * 3.0))
                .collect();
            let want: f32 = q.iter().zip(&k).map(|(a, b)| a * b.to_f32()).sum();
            let got = dot_f16(&q, &k);
            assert!(
                (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "n {n}: {got} vs {want}"
            );
            let mut out = q.clone();
            axpy_f16(0.5, &k, &mut out);
            for ((o, a), b) in out.iter().zip(&q).zip(&k) {
                assert!((o - (a + 0.5 * b.to_f32())).abs() <= 1e-6, "n {n}");
            }
        }
    }

    #[test]
    fn widening_q5_0_and_q4_0_to_q8_0_is_exact() {
        let dev = candle_core::Device::Cpu;
        let x: Vec<f32> = (0..4 * 64)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let t = candle_core::Tensor::from_vec(x, (4, 64), &dev).unwrap();
        for dtype in [GgmlDType::Q5_0, GgmlDType::Q4_0] {
            let q = QTensor::quantize(&t, dtype).unwrap();
            let wide = widen_to_q8_0(dtype, &q.data().unwrap()).unwrap();
            let w = candle_core::quantized::ggml_file::qtensor_from_ggml(
                GgmlDType::Q8_0,
                &wide,
                vec![4, 64],
                &dev,
            )
            .unwrap();
            let a = q.dequantize(&dev).unwrap().flatten_all().unwrap();
            let b = w.dequantize(&dev).unwrap().flatten_all().unwrap();
            assert_eq!(a.to_vec1::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
        }
        assert!(widen_to_q8_0(GgmlDType::Q4_1, &[0; 20]).is_none());
        assert!(widen_to_q8_0(GgmlDType::Q5_0, &[0; 21]).is_none());
    }
    use candle_core::{Device, Tensor};

    fn matrix(format: GgmlDType, rows: usize, cols: usize, seed: u64) -> (QTensor, QuantMatrix) {
        let mut s = seed;
        let vals: Vec<f32> = (0..rows * cols)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect();
        let t = Tensor::from_vec(vals, (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, format).unwrap();
        let m = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
        (q, m)
    }

    #[test]
    fn dequantize_matches_candle() {
        for format in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let (q, m) = matrix(format, 8, 96, 7);
            let ours = m.dequantize();
            let theirs = q
                .dequantize(&Device::Cpu)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(ours, theirs, "{format:?}");
        }
    }

    #[test]
    fn row_lookup_matches_candle_embedding_and_refuses_ids_past_the_table() {
        for format in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let (q, m) = matrix(format, 9, 64, 3);
            let ids = [8u32, 0, 3, 3];
            let ours = m.dequantize_rows(&ids).unwrap();
            let t = Tensor::new(&ids[..], &Device::Cpu).unwrap();
            let theirs = q
                .embedding(&t)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(ours, theirs, "{format:?}");
            let err = m.dequantize_rows(&[2, 9]).unwrap_err().to_string();
            assert!(err.contains("token id 9"), "{err}");
        }
    }

    #[test]
    fn the_vnni_kernels_run_only_where_they_measured_faster() {
        use std::time::Duration;
        let us = Duration::from_micros;
        assert_eq!(faster_of(us(90), us(100)), Isa::Avx512Vnni);
        assert_eq!(faster_of(us(110), us(100)), Isa::Avx2);
        assert_eq!(faster_of(us(100), us(100)), Isa::Avx2);
        let named = matvec_kernels();
        assert!(
            named.starts_with("Q4_1 ") && named.contains(", Q8_0 "),
            "{named}"
        );
        #[cfg(target_arch = "x86_64")]
        if vnni_present() {
            let t = TimingMatrix::new();
            for format in [Format::Q4_1, Format::Q8_0] {
                let (vnni, avx2) = t.both(format);
                assert!(vnni > Duration::ZERO && avx2 > Duration::ZERO);
            }
            // Both sets give the same product: the choice changes speed,
            // not the answer.
            for format in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
                let (_, m) = matrix(format, 70, 576, 7);
                let x: Vec<f32> = (0..576).map(|i| (i % 13) as f32 - 6.0).collect();
                let (mut a, mut b) = (vec![0f32; 70], vec![0f32; 70]);
                m.matvec_on(Isa::Avx512Vnni, &x, &mut a, 1);
                m.matvec_on(Isa::Avx2, &x, &mut b, 2);
                for (p, q) in a.iter().zip(&b) {
                    assert!((p - q).abs() <= 1e-4 * (1.0 + q.abs()), "{p} vs {q}");
                }
            }
        }
    }

    #[test]
    fn matvec_matches_the_dequantized_product_on_both_paths() {
        for format in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            for (rows, cols) in [(3, 32), (70, 576), (257, 96)] {
                let (_, m) = matrix(format, rows, cols, rows as u64);
                let w = m.dequantize();
                let x: Vec<f32> = (0..cols)
                    .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                    .collect();
                let exact: Vec<f32> = w
                    .chunks_exact(cols)
                    .map(|r| r.iter().zip(&x).map(|(a, b)| a * b).sum())
                    .collect();
                let a = quantize_row(&x);
                let scale = x.iter().fold(0f32, |s, v| s.max(v.abs()));
                for (r, row) in m.blocks.chunks_exact(m.row_bytes()).enumerate() {
                    let scalar = match m.format {
                        Format::Q4_1 => scalar_dot_q4_1(row, &a),
                        Format::Q8_0 => scalar_dot_q8_0(row, &a),
                    };
                    // 8-bit activations: error well under 1% of |w|·|x|.
                    let bound = 0.01 * scale * cols as f32 * 0.5;
                    assert!(
                        (scalar - exact[r]).abs() <= bound,
                        "{format:?} row {r}: {scalar} vs {}",
                        exact[r]
                    );
                    #[cfg(target_arch = "x86_64")]
                    if simd_available() {
                        let simd = unsafe {
                            match m.format {
                                Format::Q4_1 => x86::dot_q4_1(row, &a),
                                Format::Q8_0 => x86::dot_q8_0(row, &a),
                            }
                        };
                        assert!(
                            (simd - scalar).abs() <= 1e-4 * (1.0 + scalar.abs()),
                            "{format:?} row {r}: simd {simd} vs scalar {scalar}"
                        );
                    }
                    #[cfg(target_arch = "x86_64")]
                    if vnni_present() {
                        // The next row (or this one) as the pair's second.
                        let other = m
                            .blocks
                            .chunks_exact(m.row_bytes())
                            .nth(r + 1)
                            .unwrap_or(row);
                        let (vnni, vnni2) = unsafe {
                            match m.format {
                                Format::Q4_1 => x86::dot2_q4_1_vnni(row, other, &a),
                                Format::Q8_0 => {
                                    (x86::dot_q8_0_vnni(row, &a), x86::dot_q8_0_vnni(other, &a))
                                }
                            }
                        };
                        let scalar2 = match m.format {
                            Format::Q4_1 => scalar_dot_q4_1(other, &a),
                            Format::Q8_0 => scalar_dot_q8_0(other, &a),
                        };
                        for (got, want) in [(vnni, scalar), (vnni2, scalar2)] {
                            assert!(
                                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "{format:?} row {r}: avx-512 {got} vs scalar {want}"
                            );
                        }
                    }
                }
                let mut out1 = vec![0f32; rows];
                let mut out2 = vec![0f32; rows];
                m.matvec(&x, &mut out1, 1);
                m.matvec(&x, &mut out2, 2);
                assert_eq!(out1, out2, "thread count changes nothing");
            }
        }
    }

    #[test]
    fn fail_unsupported_formats_are_left_to_candle() {
        let t = Tensor::zeros((4, 256), candle_core::DType::F32, &Device::Cpu).unwrap();
        for dtype in [GgmlDType::Q5K, GgmlDType::Q3K, GgmlDType::F16] {
            let q = QTensor::quantize(&t, dtype).unwrap();
            assert!(
                QuantMatrix::from_qtensor(&q).unwrap().is_none(),
                "{dtype:?}"
            );
        }
    }

    /// Q4_K and Q6_K rewritten for our kernels dequantize to what candle's
    /// own dequantization of the file's blocks gives: Q4_K up to the f16
    /// rounding of its scales, Q6_K up to half a Q8_0 step. The matvec on
    /// the rewritten blocks is checked against candle's f32 product.
    #[test]
    fn k_quants_rewritten_for_our_kernels_keep_their_values() {
        let (rows, cols) = (8, 512);
        let vals: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * (1.0 + (i / 97 % 5) as f32))
            .collect();
        let t = Tensor::from_vec(vals, (rows, cols), &Device::Cpu).unwrap();
        for (dtype, format) in [
            (GgmlDType::Q4K, Format::Q4_1),
            (GgmlDType::Q6K, Format::Q8_0),
        ] {
            let q = QTensor::quantize(&t, dtype).unwrap();
            let want = q
                .dequantize(&Device::Cpu)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let m = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
            assert_eq!(m.format, format);
            assert_eq!((m.rows(), m.cols()), (rows, cols));
            let got = m.dequantize();
            for (b, (g, w)) in got.chunks(BLOCK).zip(want.chunks(BLOCK)).enumerate() {
                let amax = w.iter().fold(0f32, |a, v| a.max(v.abs()));
                let bound = match dtype {
                    GgmlDType::Q4K => 2e-3 * amax + 1e-6,
                    // Half a Q8_0 step, and its f16 scale.
                    _ => amax / 254.0 + amax * 1e-3 + 1e-6,
                };
                for (i, (g, w)) in g.iter().zip(w).enumerate() {
                    assert!(
                        (g - w).abs() <= bound,
                        "{dtype:?} block {b}[{i}]: {g} vs {w}"
                    );
                }
            }
            let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut out = vec![0f32; rows];
            m.matvec(&x, &mut out, 1);
            for (r, o) in out.iter().enumerate() {
                let exact: f32 = want[r * cols..][..cols]
                    .iter()
                    .zip(&x)
                    .map(|(a, b)| a * b)
                    .sum();
                assert!(
                    (o - exact).abs() < 0.05 * (1.0 + exact.abs()),
                    "{dtype:?} row {r}: {o} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn fail_a_q4_k_scale_f16_cannot_hold_leaves_the_tensor_to_candle() {
        // One super-block with d = 60000 and sub-block scale 63: 3.78e6 is
        // past f16's range.
        let mut b = vec![0u8; Q4_K_BYTES];
        b[..2].copy_from_slice(&f16::from_f32(60000.0).to_bits().to_le_bytes());
        b[4] = 63;
        assert!(q4_k_as_q4_1(&b).is_none());
        b[..2].copy_from_slice(&f16::from_f32(0.01).to_bits().to_le_bytes());
        assert!(q4_k_as_q4_1(&b).is_some());
        assert!(q4_k_as_q4_1(&b[..100]).is_none());
    }
}
