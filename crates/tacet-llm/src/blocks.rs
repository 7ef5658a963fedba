//! Building blocks shared by our model code ([`crate::llama`],
//! [`crate::gemma3`]): weight matrices on our kernels or candle's, stacked
//! projections, the in-place KV cache, RoPE tables, causal masks and the
//! one-pass decode attention. The reasons for each are in the module docs of
//! [`crate::llama`], where they were first measured.

use crate::kernels::{MatVec, QuantMatrix};
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Result, StorageRef, Tensor};
use std::collections::HashMap;
use std::sync::Arc;

/// From this many rows (tokens) a matmul dequantizes its weights and runs
/// candle's f32 GEMM instead of the quantized dot products.
const GEMM_MIN_ROWS: usize = 16;

/// Positions the KV cache grows by at first; it doubles after that.
const KV_CACHE_INITIAL_POSITIONS: usize = 256;

/// A weight matrix: our kernels when the format has one (see
/// [`crate::kernels`]), else the quantized tensor with candle's matmul.
pub(crate) enum Linear {
    Ours { m: QuantMatrix, threads: usize },
    Candle { q: Arc<QTensor>, mm: QMatMul },
}

impl Linear {
    pub(crate) fn new(q: QTensor) -> Result<Self> {
        if let Some(m) = QuantMatrix::from_qtensor(&q)? {
            return Ok(Linear::Ours {
                m,
                threads: crate::threads::effective_threads(),
            });
        }
        let q = Arc::new(q);
        let mm = QMatMul::from_arc(q.clone())?;
        Ok(Linear::Candle { q, mm })
    }

    /// Rows `ids` of the matrix in f32, `(…ids, cols)`: the lookup of a
    /// tied embedding table.
    pub(crate) fn rows(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Ours { m, .. } => {
                let flat = ids.flatten_all()?.to_dtype(DType::U32)?.to_vec1::<u32>()?;
                let mut shape = ids.dims().to_vec();
                shape.push(m.cols());
                Tensor::from_vec(m.dequantize_rows(&flat)?, shape, &Device::Cpu)
            }
            Linear::Candle { q, .. } => q.embedding(ids),
        }
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let rows = xs.elem_count() / xs.dim(candle_core::D::Minus1)?;
        match self {
            Linear::Ours { m, threads } => {
                if rows >= GEMM_MIN_ROWS {
                    // Prefill: dequantize once, then one f32 GEMM.
                    let w = Tensor::from_vec(m.dequantize(), (m.rows(), m.cols()), &Device::Cpu)?;
                    xs.broadcast_matmul(&w.t()?)
                } else {
                    xs.contiguous()?.apply_op1_no_bwd(&MatVec {
                        matrix: m,
                        threads: *threads,
                    })
                }
            }
            Linear::Candle { q, mm } => {
                if rows >= GEMM_MIN_ROWS {
                    let w = q.dequantize(&Device::Cpu)?;
                    xs.broadcast_matmul(&w.t()?)
                } else {
                    mm.forward(xs)
                }
            }
        }
    }
}

/// The token embedding table: a tensor of its own, or, when the file ties
/// it to the output matrix (no `output.weight`), that matrix, so a tied
/// model holds one copy of the table instead of two (Gemma 3 270M's is
/// 262,144 × 640, 178 MB as Q8_0).
pub(crate) enum Embeddings {
    Own(QTensor),
    TiedToOutput,
}

impl Embeddings {
    /// The embedding table and the output matrix: `token_embd.weight` and
    /// `output.weight`, or, when the file has no `output.weight`, the
    /// embedding table read once as the output matrix.
    pub(crate) fn with_output_from_gguf<R: std::io::Read + std::io::Seek>(
        ct: &Content,
        reader: &mut R,
    ) -> Result<(Self, Linear)> {
        let dev = &Device::Cpu;
        if ct.tensor_infos.contains_key("output.weight") {
            let own = ct.tensor(reader, "token_embd.weight", dev)?;
            let output = Linear::new(ct.tensor(reader, "output.weight", dev)?)?;
            Ok((Embeddings::Own(own), output))
        } else {
            let output = Linear::new(ct.tensor(reader, "token_embd.weight", dev)?)?;
            Ok((Embeddings::TiedToOutput, output))
        }
    }

    /// `(…tokens, hidden)` f32 rows for `tokens` (u32 ids).
    pub(crate) fn lookup(&self, output: &Linear, tokens: &Tensor) -> Result<Tensor> {
        match self {
            Embeddings::Own(q) => q.embedding(tokens),
            Embeddings::TiedToOutput => output.rows(tokens),
        }
    }
}

/// Several projections of one input (q/k/v, gate/up): one stacked matrix
/// when our kernels cover them all, else candle's tensors (fused by candle
/// in decode where it has a kernel for that).
pub(crate) enum Projections {
    Stacked { linear: Linear, widths: Vec<usize> },
    Separate(Vec<Linear>),
}

impl Projections {
    pub(crate) fn new(tensors: Vec<QTensor>) -> Result<Self> {
        let mut ours = Vec::with_capacity(tensors.len());
        for q in &tensors {
            match QuantMatrix::from_qtensor(q)? {
                Some(m) => ours.push(m),
                None => break,
            }
        }
        if ours.len() == tensors.len() {
            let widths = ours.iter().map(QuantMatrix::rows).collect();
            if let Ok(m) = QuantMatrix::concat_rows(ours) {
                let threads = crate::threads::effective_threads();
                return Ok(Projections::Stacked {
                    linear: Linear::Ours { m, threads },
                    widths,
                });
            }
        }
        Ok(Projections::Separate(
            tensors
                .into_iter()
                .map(Linear::new)
                .collect::<Result<_>>()?,
        ))
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Vec<Tensor>> {
        match self {
            Projections::Stacked { linear, widths } => {
                let all = linear.forward(xs)?;
                let mut start = 0;
                let mut out = Vec::with_capacity(widths.len());
                for &w in widths {
                    out.push(all.narrow(candle_core::D::Minus1, start, w)?);
                    start += w;
                }
                Ok(out)
            }
            Projections::Separate(ws) => {
                let (_, seq_len, _) = xs.dims3()?;
                if seq_len == 1 {
                    let qs: Option<Vec<&QTensor>> = ws
                        .iter()
                        .map(|w| match w {
                            Linear::Candle { q, .. } => Some(q.as_ref()),
                            Linear::Ours { .. } => None,
                        })
                        .collect();
                    if let Some(qs) = qs {
                        if let Some(out) = QTensor::gemv_fused_shared_lhs(&qs, xs)? {
                            return Ok(out);
                        }
                    }
                }
                ws.iter().map(|w| w.forward(xs)).collect()
            }
        }
    }
}

/// One layer's keys or values: `(1, kv_heads, capacity, head_dim)`, the
/// first `len` positions valid.
pub(crate) struct KvBuffer {
    data: Option<Tensor>,
    len: usize,
}

impl KvBuffer {
    pub(crate) fn new() -> Self {
        Self { data: None, len: 0 }
    }

    pub(crate) fn clear(&mut self) {
        // Keep the buffer: the next prompt overwrites it from position 0.
        self.len = 0;
    }

    /// Writes `src` (`(1, kv_heads, n, head_dim)`) at `pos` and returns the
    /// valid prefix `..pos + n` as a view.
    pub(crate) fn write(&mut self, src: &Tensor, pos: usize) -> Result<Tensor> {
        let (b, heads, n, hd) = src.dims4()?;
        let needed = pos + n;
        let capacity = self
            .data
            .as_ref()
            .map(|d| d.dim(2))
            .transpose()?
            .unwrap_or(0);
        if needed > capacity {
            let mut new_cap = capacity.max(KV_CACHE_INITIAL_POSITIONS);
            while new_cap < needed {
                new_cap *= 2;
            }
            let grown = Tensor::zeros((b, heads, new_cap, hd), src.dtype(), src.device())?;
            if let Some(old) = &self.data {
                if pos > 0 {
                    // A prefix of dim 2 is a strided view when there is
                    // more than one head: slice_set needs it contiguous
                    // (a header fed across the capacity boundary failed
                    // the whole draft).
                    let kept = old.narrow(2, 0, pos.min(self.len))?.contiguous()?;
                    grown.slice_set(&kept, 2, 0)?;
                }
            }
            self.data = Some(grown);
        }
        let Some(data) = self.data.as_ref() else {
            candle_core::bail!("KV cache buffer missing after allocation");
        };
        data.slice_set(&src.contiguous()?, 2, pos)?;
        self.len = needed;
        data.narrow(2, 0, needed)
    }
}

/// Shapes shared by every layer.
#[derive(Clone, Copy)]
pub(crate) struct Dims {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub eps: f32,
    /// What attention scores are multiplied by (`1/sqrt(head_dim)` unless
    /// the model says otherwise).
    pub attn_scale: f32,
}

pub(crate) fn md_u32(ct: &Content, key: &str) -> Result<usize> {
    match ct.metadata.get(key) {
        Some(v) => Ok(v.to_u32()? as usize),
        None => candle_core::bail!("cannot find {key} in metadata"),
    }
}

pub(crate) fn md_f32(ct: &Content, key: &str) -> Option<f32> {
    ct.metadata.get(key).and_then(|v| v.to_f32().ok())
}

/// RoPE cos/sin tables `(positions, head_dim / 2)`; `freq_scale` < 1 is
/// linear position scaling (position × scale).
pub(crate) fn rope_tables(
    head_dim: usize,
    freq_base: f32,
    freq_scale: f32,
    positions: usize,
) -> Result<(Tensor, Tensor)> {
    let dev = &Device::Cpu;
    let theta: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1f32 / freq_base.powf(i as f32 / head_dim as f32))
        .collect();
    let half = theta.len();
    let theta = Tensor::from_vec(theta, (1, half), dev)?;
    let idx = Tensor::arange(0, positions as u32, dev)?
        .to_dtype(DType::F32)?
        .affine(f64::from(freq_scale), 0.0)?
        .reshape((positions, 1))?;
    let angles = idx.matmul(&theta)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// Attention of one new token over the cache, in one pass per head: the
/// scores, softmax and weighted sum that would otherwise be five candle ops
/// (two of them GEMM calls on a 1-row matrix) with their allocations, per
/// layer per token.
pub(crate) struct DecodeAttention<'a> {
    /// `(1, kv_heads, len, head_dim)` views of the cache buffers.
    pub k: &'a Tensor,
    pub v: &'a Tensor,
    pub d: Dims,
}

impl DecodeAttention<'_> {
    /// The view's f32 data from its first element, and its head stride.
    fn view(t: &Tensor) -> Result<(StorageRef<'_>, usize, usize)> {
        let (storage, layout) = t.storage_and_layout();
        let stride = layout.stride();
        if stride.len() != 4 || stride[3] != 1 || stride[2] != layout.dims()[3] {
            candle_core::bail!("decode attention: unexpected cache layout {stride:?}");
        }
        Ok((storage, layout.start_offset(), stride[1]))
    }
}

impl candle_core::CustomOp1 for DecodeAttention<'_> {
    fn name(&self) -> &'static str {
        "tacet-decode-attention"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let d = self.d;
        let candle_core::CpuStorage::F32(qd) = storage else {
            candle_core::bail!("decode attention wants f32");
        };
        let Some((qs, qe)) = layout.contiguous_offsets() else {
            candle_core::bail!("decode attention wants a contiguous query");
        };
        let q = &qd[qs..qe];
        let (_, _, len, hd) = self.k.dims4()?;
        if q.len() != d.n_head * hd || hd != d.head_dim {
            candle_core::bail!("decode attention: query of {} values", q.len());
        }
        let (ks, k_off, k_head) = Self::view(self.k)?;
        let (vs, v_off, v_head) = Self::view(self.v)?;
        let (
            candle_core::Storage::Cpu(candle_core::CpuStorage::F32(kd)),
            candle_core::Storage::Cpu(candle_core::CpuStorage::F32(vd)),
        ) = (&*ks, &*vs)
        else {
            candle_core::bail!("decode attention wants f32 caches on the CPU");
        };
        let group = d.n_head / d.n_kv_head;
        let scale = d.attn_scale;
        let mut out = vec![0f32; d.n_head * hd];
        let mut scores = vec![0f32; len];
        for h in 0..d.n_head {
            let g = h / group;
            let qh = &q[h * hd..(h + 1) * hd];
            let kh = &kd[k_off + g * k_head..k_off + g * k_head + len * hd];
            let vh = &vd[v_off + g * v_head..v_off + g * v_head + len * hd];
            let mut max = f32::NEG_INFINITY;
            for (s, kt) in scores.iter_mut().zip(kh.chunks_exact(hd)) {
                *s = dot(qh, kt) * scale;
                max = max.max(*s);
            }
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            let oh = &mut out[h * hd..(h + 1) * hd];
            for (s, vt) in scores.iter().zip(vh.chunks_exact(hd)) {
                let p = s / sum;
                for (o, v) in oh.iter_mut().zip(vt) {
                    *o += p * v;
                }
            }
        }
        Ok((
            candle_core::CpuStorage::F32(out),
            candle_core::Shape::from((1, d.n_head, 1, hd)),
        ))
    }
}

/// A dot product the compiler vectorises (eight independent sums).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The additive causal mask for `seq_len` new tokens after `index_pos`,
/// its rows repeated `group` times (the query heads that share a key/value
/// head): `(group * seq_len, index_pos + seq_len)`. With `window`, a query
/// at position p sees only keys at p - window + 1 ..= p (llama.cpp's
/// standard sliding window).
pub(crate) fn causal_mask(
    group: usize,
    seq_len: usize,
    index_pos: usize,
    window: Option<usize>,
) -> Result<Tensor> {
    let kv_len = index_pos + seq_len;
    let mut data = Vec::with_capacity(group * seq_len * kv_len);
    for _ in 0..group {
        for i in 0..seq_len {
            let p = index_pos + i;
            data.extend((0..kv_len).map(|j| {
                let outside = window.is_some_and(|w| p - j.min(p) >= w);
                if j > p || outside {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            }));
        }
    }
    Tensor::from_vec(data, (group * seq_len, kv_len), &Device::Cpu)
}

/// Causal masks by `(seq_len, index_pos, sliding)`, kept for the few shapes
/// a long prompt's prefill chunks have.
#[derive(Default)]
pub(crate) struct MaskCache {
    masks: HashMap<(usize, usize, bool), Tensor>,
}

impl MaskCache {
    /// See [`causal_mask`]; `window` applies when `sliding`.
    pub(crate) fn get(
        &mut self,
        group: usize,
        seq_len: usize,
        index_pos: usize,
        sliding: Option<usize>,
    ) -> Result<Tensor> {
        let key = (seq_len, index_pos, sliding.is_some());
        if let Some(m) = self.masks.get(&key) {
            return Ok(m.clone());
        }
        let m = causal_mask(group, seq_len, index_pos, sliding)?;
        if self.masks.len() > 64 {
            self.masks.clear();
        }
        self.masks.insert(key, m.clone());
        Ok(m)
    }
}

/// Attention of `seq_len` new queries `(b, n_head, seq_len, head_dim)` over
/// the cache views `k`, `v` (`(b, n_kv_head, len, head_dim)`), returned as
/// `(b, seq_len, n_head * head_dim)`. Query heads `h = g * group + j` share
/// key/value head `g`: each group's rows are folded into one
/// `(group * seq_len, head_dim)` matrix per key/value head, so no head is
/// copied.
pub(crate) fn prefill_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    d: Dims,
) -> Result<Tensor> {
    let (b, _, seq_len, _) = q.dims4()?;
    let group = d.n_head / d.n_kv_head;
    let q = q.reshape((b, d.n_kv_head, group * seq_len, d.head_dim))?;
    let att = (q.matmul(&k.t()?)? * f64::from(d.attn_scale))?;
    let att = match mask {
        Some(m) => att.broadcast_add(m)?,
        None => att,
    };
    let att = candle_nn::ops::softmax_last_dim(&att)?;
    att.matmul(v)?
        .reshape((b, d.n_head, seq_len, d.head_dim))?
        .transpose(1, 2)?
        .reshape((b, seq_len, d.n_head * d.head_dim))
}

/// Refuses positions past the context the RoPE tables were sized for.
pub(crate) fn check_context(index_pos: usize, seq_len: usize, context_length: usize) -> Result<()> {
    if index_pos + seq_len > context_length {
        candle_core::bail!(
            "{} positions exceed the model's context of {}",
            index_pos + seq_len,
            context_length
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn positions(heads: usize, from: usize, n: usize, hd: usize) -> Tensor {
        let data: Vec<f32> = (0..heads)
            .flat_map(|h| {
                (from..from + n)
                    .flat_map(move |p| (0..hd).map(move |i| (h * 100_000 + p * 10 + i) as f32))
            })
            .collect();
        Tensor::from_vec(data, (1, heads, n, hd), &Device::Cpu).unwrap()
    }

    #[test]
    fn the_kv_cache_grows_under_a_write_that_straddles_its_capacity() {
        let (heads, hd) = (3, 4);
        let mut kv = KvBuffer::new();
        let first = KV_CACHE_INITIAL_POSITIONS - 4;
        kv.write(&positions(heads, 0, first, hd), 0).unwrap();
        // Six positions across the boundary: the cache must grow and keep
        // what it held.
        let all = kv.write(&positions(heads, first, 6, hd), first).unwrap();
        assert_eq!(all.dims4().unwrap(), (1, heads, first + 6, hd));
        let got = all
            .to_dtype(DType::F32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = positions(heads, 0, first + 6, hd)
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(got, want);
    }
}
