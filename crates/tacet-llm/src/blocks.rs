//! Building blocks shared by our model code ([`crate::llama`],
//! [`crate::gemma3`]): weight matrices on our kernels or candle's, stacked
//! projections, the in-place KV cache, RoPE tables, the prefill attention
//! with its fused causal softmax and the one-pass decode attention. The reasons for each are in the module docs of
//! [`crate::llama`], where they were first measured.

use crate::kernels::{MatVec, QuantMatrix};
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Result, StorageRef, Tensor};
use std::sync::Arc;

/// From this many rows (tokens) a matmul dequantizes its weights and runs
/// candle's f32 GEMM instead of the quantized dot products.
const GEMM_MIN_ROWS: usize = 16;

/// Positions the KV cache grows by at first; it doubles after that.
const KV_CACHE_INITIAL_POSITIONS: usize = 256;

/// What the KV cache holds (see [`KvBuffer`]).
const KV_DTYPE: DType = DType::F16;

/// Which code runs a model's matrix products and attention.
///
/// Our kernels ([`crate::kernels`], [`crate::flash`], [`DecodeAttention`])
/// read and write CPU memory; every other device (CUDA) runs candle's ops
/// alone: its quantized matmul, its matmul and softmax for attention. The
/// portable path is also selectable on the CPU
/// ([`crate::LlmOptions::portable_ops`]), so the code a GPU runs is the code
/// the golden tests hold to llama.cpp's logits here, where no GPU is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ops {
    /// Our CPU kernels where they cover the format, candle's elsewhere.
    Tuned,
    /// candle's ops only, on whatever device the tensors are on.
    Portable,
}

impl Ops {
    /// The ops a model on `device` runs: [`Ops::Tuned`] only on the CPU and
    /// when not asked for the portable path.
    pub(crate) fn for_device(device: &Device, portable: bool) -> Self {
        if device.is_cpu() && !portable {
            Ops::Tuned
        } else {
            Ops::Portable
        }
    }
}

/// A weight matrix: our kernels when the format has one (see
/// [`crate::kernels`]), else the quantized tensor with candle's matmul.
pub(crate) enum Linear {
    Ours { m: QuantMatrix, threads: usize },
    Candle { q: Arc<QTensor>, mm: QMatMul },
}

impl Linear {
    pub(crate) fn new(q: QTensor, ops: Ops) -> Result<Self> {
        if ops == Ops::Tuned {
            if let Some(m) = QuantMatrix::from_qtensor(&q)? {
                return Ok(Linear::Ours {
                    m,
                    threads: crate::threads::effective_threads(),
                });
            }
        }
        let q = Arc::new(q);
        let mm = QMatMul::from_arc(q.clone())?;
        Ok(Linear::Candle { q, mm })
    }

    /// Whether this matrix runs on candle's kernels (and so on candle's
    /// own spinning thread pool in decode).
    pub(crate) fn on_candle(&self) -> bool {
        matches!(self, Linear::Candle { .. })
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
                    let w = q.dequantize(xs.device())?;
                    xs.broadcast_matmul(&w.t()?)
                } else {
                    mm.forward(xs)
                }
            }
        }
    }
}

/// Whether a model's output matrix, or any of its layers' projections
/// (q/k/v, attention output, gate/up, down), runs on candle's kernels.
pub(crate) fn any_on_candle<'a>(
    output: &Linear,
    layers: impl IntoIterator<Item = (&'a Projections, &'a Linear, &'a Projections, &'a Linear)>,
) -> bool {
    output.on_candle()
        || layers.into_iter().any(|(qkv, wo, gate_up, down)| {
            qkv.on_candle() || wo.on_candle() || gate_up.on_candle() || down.on_candle()
        })
}

/// The token embedding table: a tensor of its own, or, when the file ties
/// it to the output matrix (no `output.weight`), that matrix, so a tied
/// model holds one copy of the table instead of two (Gemma 3 270M's is
/// 262,144 × 640, 178 MB as Q8_0).
pub(crate) enum Embeddings {
    Own(Box<QTensor>),
    TiedToOutput,
}

impl Embeddings {
    /// The embedding table and the output matrix: `token_embd.weight` and
    /// `output.weight`, or, when the file has no `output.weight`, the
    /// embedding table read once as the output matrix.
    pub(crate) fn with_output_from_gguf<R: std::io::Read + std::io::Seek>(
        ct: &Content,
        reader: &mut R,
        dev: &Device,
        ops: Ops,
    ) -> Result<(Self, Linear)> {
        if ct.tensor_infos.contains_key("output.weight") {
            let own = ct.tensor(reader, "token_embd.weight", dev)?;
            let output = Linear::new(ct.tensor(reader, "output.weight", dev)?, ops)?;
            Ok((Embeddings::Own(Box::new(own)), output))
        } else {
            let output = Linear::new(ct.tensor(reader, "token_embd.weight", dev)?, ops)?;
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
    pub(crate) fn new(tensors: Vec<QTensor>, ops: Ops) -> Result<Self> {
        let mut ours = Vec::with_capacity(tensors.len());
        for q in tensors.iter().filter(|_| ops == Ops::Tuned) {
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
                .map(|q| Linear::new(q, ops))
                .collect::<Result<_>>()?,
        ))
    }

    /// Whether any of the projections runs on candle's kernels.
    pub(crate) fn on_candle(&self) -> bool {
        match self {
            Projections::Stacked { linear, .. } => linear.on_candle(),
            Projections::Separate(ws) => ws.iter().any(Linear::on_candle),
        }
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

/// One layer's keys or values: `(1, kv_heads, capacity, head_dim)` in f16,
/// the first `len` positions valid.
///
/// f16, as llama.cpp's default cache: half the memory and half the bytes a
/// decoded token reads per layer at a long context (SmolLM2 at 6,488
/// positions: 150 MB instead of 299 MB of cache), where attention reads as
/// much as the weights. Keys and values are written already rounded to f16
/// and widened back to f32 as they are read ([`widen_kv`], and in
/// [`DecodeAttention`]), so every product is in f32.
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

    /// Overwrites the buffer with zeros and frees it: it holds keys and
    /// values computed from the transcript, and freed memory is not
    /// cleared by the allocator. Best effort: if the zeros cannot be
    /// written (allocation failure), the buffer is still dropped.
    pub(crate) fn wipe(&mut self) {
        if let Some(data) = self.data.take() {
            if let Ok(zeros) = data.zeros_like() {
                let _ = data.slice_set(&zeros, 2, 0);
            }
        }
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
            let grown = Tensor::zeros((b, heads, new_cap, hd), KV_DTYPE, src.device())?;
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
        data.slice_set(&src.to_dtype(KV_DTYPE)?.contiguous()?, 2, pos)?;
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

/// RoPE cos/sin tables `(positions, head_dim / 2)` on `device`; `freq_scale`
/// < 1 is linear position scaling (position × scale).
pub(crate) fn rope_tables(
    head_dim: usize,
    freq_base: f32,
    freq_scale: f32,
    positions: usize,
    device: &Device,
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
    Ok((
        angles.cos()?.to_device(device)?,
        angles.sin()?.to_device(device)?,
    ))
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

/// A cache view's storage, the offset of its first element, and its head
/// stride: `(1, kv_heads, len, head_dim)` with each head's positions one
/// contiguous run (a prefix of the buffer's capacity).
pub(crate) fn kv_view(t: &Tensor) -> Result<(StorageRef<'_>, usize, usize)> {
    let (storage, layout) = t.storage_and_layout();
    let stride = layout.stride();
    if stride.len() != 4 || stride[3] != 1 || stride[2] != layout.dims()[3] {
        candle_core::bail!("KV cache: unexpected layout {stride:?}");
    }
    Ok((storage, layout.start_offset(), stride[1]))
}

/// A cache view (f16, see [`KvBuffer`]) as a contiguous f32 tensor of the
/// same shape, each head's run widened in one pass (F16C where the CPU has
/// it); an f32 view is returned as it is.
pub(crate) fn widen_kv(t: &Tensor) -> Result<Tensor> {
    if t.dtype() == DType::F32 {
        return Ok(t.clone());
    }
    let (b, heads, len, hd) = t.dims4()?;
    Tensor::from_vec(widen_heads(t, 0, len, 0)?, (b, heads, len, hd), t.device())
}

/// Positions `from..from + n` of every head of a cache view (f16, or f32),
/// as f32, head after head, each head's run followed by `pad_rows` rows of
/// zeros (the fused attention reads whole tiles of keys).
pub(crate) fn widen_heads(t: &Tensor, from: usize, n: usize, pad_rows: usize) -> Result<Vec<f32>> {
    use half::slice::HalfFloatSliceExt;
    use rayon::prelude::*;
    let (b, heads, len, hd) = t.dims4()?;
    if b != 1 || from + n > len {
        candle_core::bail!(
            "KV cache: view {:?} for positions {from}..{}",
            t.dims(),
            from + n
        );
    }
    let run = (n + pad_rows) * hd;
    let mut out = vec![0f32; heads * run];
    let (storage, offset, head_stride) = kv_view(t)?;
    let src =
        |h: usize| offset + h * head_stride + from * hd..offset + h * head_stride + (from + n) * hd;
    let ok = match &*storage {
        candle_core::Storage::Cpu(candle_core::CpuStorage::F16(data)) => {
            out.par_chunks_mut(run).enumerate().all(|(h, o)| {
                data.get(src(h))
                    .map(|s| s.convert_to_f32_slice(&mut o[..n * hd]))
                    .is_some()
            })
        }
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(data)) => {
            out.chunks_mut(run).enumerate().all(|(h, o)| {
                data.get(src(h))
                    .map(|s| o[..n * hd].copy_from_slice(s))
                    .is_some()
            })
        }
        _ => candle_core::bail!("KV cache: wants f16 or f32 on the CPU"),
    };
    if !ok {
        candle_core::bail!("KV cache: view past its buffer");
    }
    Ok(out)
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
        let (ks, k_off, k_head) = kv_view(self.k)?;
        let (vs, v_off, v_head) = kv_view(self.v)?;
        let (
            candle_core::Storage::Cpu(candle_core::CpuStorage::F16(kd)),
            candle_core::Storage::Cpu(candle_core::CpuStorage::F16(vd)),
        ) = (&*ks, &*vs)
        else {
            candle_core::bail!("decode attention wants f16 caches on the CPU");
        };
        if d.n_kv_head == 0 || !d.n_head.is_multiple_of(d.n_kv_head) {
            candle_core::bail!(
                "decode attention: {} heads over {} key/value heads",
                d.n_head,
                d.n_kv_head
            );
        }
        // Each key/value head's cached run, checked once.
        let n = len * hd;
        let heads: Vec<(&[half::f16], &[half::f16])> = (0..d.n_kv_head)
            .map(|g| {
                let k = kd.get(k_off + g * k_head..k_off + g * k_head + n);
                let v = vd.get(v_off + g * v_head..v_off + g * v_head + n);
                k.zip(v)
            })
            .collect::<Option<_>>()
            .ok_or_else(|| {
                candle_core::Error::Msg("decode attention: cache view past its buffer".into())
            })?;
        let group = d.n_head / d.n_kv_head;
        let scale = d.attn_scale;
        let mut out = vec![0f32; d.n_head * hd];
        // One head per task: at a long context each head reads megabytes of
        // cache, and one thread alone does not reach the memory bandwidth.
        crate::spin::for_each_chunk_mut(&mut out, hd, |h, oh| {
            let (kh, vh) = heads[h / group];
            let qh = &q[h * hd..(h + 1) * hd];
            // f16 keys and values widened in registers (F16C) as they are read.
            let mut scores = vec![0f32; len];
            let mut max = f32::NEG_INFINITY;
            for (s, kt) in scores.iter_mut().zip(kh.chunks_exact(hd)) {
                *s = crate::kernels::dot_f16(qh, kt) * scale;
                max = max.max(*s);
            }
            let sum = crate::kernels::exp_sub_sum(&mut scores, 1.0, max);
            for (s, vt) in scores.iter().zip(vh.chunks_exact(hd)) {
                crate::kernels::axpy_f16(s / sum, vt, oh);
            }
        });
        Ok((
            candle_core::CpuStorage::F32(out),
            candle_core::Shape::from((1, d.n_head, 1, hd)),
        ))
    }
}

/// Which keys the queries of a prefill chunk see: a query at position `p`
/// sees keys `..= p`, and with `window` only `p - window + 1 ..= p`
/// (llama.cpp's standard sliding window).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Causal {
    /// Position of the chunk's first query.
    pub index_pos: usize,
    pub window: Option<usize>,
}

impl Causal {
    /// The keys query position `p` sees, as a half-open range of positions.
    pub(crate) fn visible(&self, p: usize) -> std::ops::Range<usize> {
        let lo = self.window.map_or(0, |w| (p + 1).saturating_sub(w));
        lo..p + 1
    }

    /// The cache positions a chunk reads out of `len`: from the first
    /// query's lowest visible key to the end, as `(first, count)` (a window
    /// leaves the keys before it unread).
    pub(crate) fn keys_read(&self, len: usize) -> (usize, usize) {
        let first = self.visible(self.index_pos).start.min(len);
        (first, len - first)
    }
}

/// Scale, causal mask and softmax of a block of attention scores in place,
/// in one pass over them, each row on its own (rows split across rayon's
/// pool).
///
/// Scores are `(b, kv_heads, rows, keys)`, rows `row_offset..` of a key/value
/// head's `group * seq_len` rows: row `r` is query `r % seq_len` (the query
/// heads of one group stacked, see [`prefill_attention`]), and column `c` is
/// key position `key_offset + c`. Keys a query does not see get probability
/// 0 and cost no `exp`. This replaces candle's scale, mask-add and softmax
/// (three passes, two new tensors, and a mask tensor of rows × keys per
/// chunk shape, which for a long prompt were hundreds of MB kept in a cache).
struct CausalSoftmax {
    scale: f32,
    seq_len: usize,
    row_offset: usize,
    key_offset: usize,
    causal: Causal,
}

impl candle_core::InplaceOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "tacet-causal-softmax"
    }

    fn cpu_fwd(
        &self,
        storage: &mut candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> Result<()> {
        use rayon::prelude::*;
        let candle_core::CpuStorage::F32(data) = storage else {
            candle_core::bail!("causal softmax wants f32 scores");
        };
        let (Some((start, end)), [.., rows, keys]) = (layout.contiguous_offsets(), layout.dims())
        else {
            candle_core::bail!("causal softmax wants contiguous scores of rank 2 or more");
        };
        let (rows, keys) = (*rows, *keys);
        if keys == 0 || rows == 0 || self.seq_len == 0 {
            return Ok(());
        }
        let (scale, seq_len, row_offset, key_offset, causal) = (
            self.scale,
            self.seq_len,
            self.row_offset,
            self.key_offset,
            self.causal,
        );
        data[start..end]
            .par_chunks_mut(keys)
            .enumerate()
            .for_each(|(i, row)| {
                let p = causal.index_pos + (row_offset + i % rows) % seq_len;
                let seen = causal.visible(p);
                let lo = seen.start.saturating_sub(key_offset).min(keys);
                let hi = seen.end.saturating_sub(key_offset).min(keys).max(lo);
                let (head, rest) = row.split_at_mut(lo);
                let (seen, tail) = rest.split_at_mut(hi - lo);
                head.fill(0.0);
                tail.fill(0.0);
                if seen.is_empty() {
                    return;
                }
                // scale > 0: the largest scaled score is the largest score scaled.
                let max = seen.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) * scale;
                let inv = 1.0 / crate::kernels::exp_sub_sum(seen, scale, max);
                for x in seen.iter_mut() {
                    *x *= inv;
                }
            });
        Ok(())
    }
}

/// Scores per block of query rows: the rows of one chunk are taken a block
/// at a time so that a block's scores (key/value heads × rows × keys floats)
/// stay under this size, whatever the context. Whole 512-token chunks at a
/// 7,000-token context made 129 MB of scores per layer, allocated (and the
/// pages cleared by the kernel) twice per layer. Measured at a 6,488-token
/// context (pp512, 2 threads): blocks of 8 / 16 / 24 / 32 / 64 MB read
/// 84 / 97 / 108 / 112 / 93 tok/s; smaller blocks make GEMMs too short to
/// split well across threads, larger ones go back to fresh pages.
const SCORE_BLOCK_BYTES: usize = 32 << 20;

/// Attention of `seq_len` new queries `(b, n_head, seq_len, head_dim)` at
/// positions `causal.index_pos..` over the cache views `k`, `v`
/// (`(b, n_kv_head, len, head_dim)`, position 0 first), returned as
/// `(b, seq_len, n_head * head_dim)`. Query heads `h = g * group + j` share
/// key/value head `g`: each group's rows are folded into one
/// `(group * seq_len, head_dim)` matrix per key/value head, so no head is
/// copied. With a sliding window, keys that no query of the chunk sees are
/// left out of the products.
///
/// Where the CPU has AVX-512 the fused kernel of [`crate::flash`] runs
/// instead (same result, the scores never written to memory).
pub(crate) fn prefill_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    causal: Causal,
    d: Dims,
    ops: Ops,
) -> Result<Tensor> {
    if ops == Ops::Portable {
        return portable_attention(q, k, v, causal, d);
    }
    if crate::flash::supports(d.head_dim) {
        return crate::flash::prefill_attention(q, k, v, causal, d);
    }
    attention_in_blocks(q, k, v, causal, d, SCORE_BLOCK_BYTES)
}

/// Attention in candle's ops alone, on any device, for prefill and decode
/// alike: `q` `(1, heads, seq_len, head_dim)` at positions `index_pos..`
/// over the cache views `k`, `v` (`(1, kv_heads, len, head_dim)`, f16);
/// returns `(1, seq_len, heads × head_dim)`. Each query group is folded
/// into the rows of one matmul per key/value head (no repeated keys), the
/// mask (causal, and the window's lower edge) is computed on the device
/// from each query's visible range and added to the scores; a decoded
/// token, which sees every key it is given, needs none. Keys before the first query's visible range are not read.
/// A chunk's scores are held at once (512 queries × query group × keys × 4
/// bytes: 100 MB per layer for SmolLM2 at 16k positions, freed after it),
/// which is what a GPU's memory is for and why the CPU has its own path.
pub(crate) fn portable_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    causal: Causal,
    d: Dims,
) -> Result<Tensor> {
    let (b, _, seq_len, _) = q.dims4()?;
    let group = d.n_head / d.n_kv_head;
    let len = k.dim(2)?;
    let (key_offset, keys) = causal.keys_read(len);
    let k = k.narrow(2, key_offset, keys)?.to_dtype(DType::F32)?;
    let v = v.narrow(2, key_offset, keys)?.to_dtype(DType::F32)?;
    let q = q.reshape((b, d.n_kv_head, group * seq_len, d.head_dim))?;
    let scores = (q.matmul(&k.t()?.contiguous()?)? * f64::from(d.attn_scale))?;
    let scores = if seq_len == 1 {
        scores
    } else {
        // Each query's visible range (2 × seq_len numbers go to the device),
        // compared there with the key positions: the mask itself is never
        // built on the CPU and copied (512 × 16k scores would be 32 MB per
        // layer).
        let dev = q.device();
        let pos = |p: usize| {
            u32::try_from(p).map_err(|_| candle_core::Error::Msg(format!("position {p}")))
        };
        let (mut lo, mut hi) = (Vec::with_capacity(seq_len), Vec::with_capacity(seq_len));
        for i in 0..seq_len {
            let visible = causal.visible(causal.index_pos + i);
            lo.push(pos(visible.start)?);
            hi.push(pos(visible.end)?);
        }
        let lo = Tensor::from_vec(lo, (seq_len, 1), dev)?;
        let hi = Tensor::from_vec(hi, (seq_len, 1), dev)?;
        let key_pos = Tensor::arange(pos(key_offset)?, pos(len)?, dev)?.reshape((1, keys))?;
        let seen = key_pos
            .broadcast_ge(&lo)?
            .mul(&key_pos.broadcast_lt(&hi)?)?;
        let open = Tensor::new(0f32, dev)?.broadcast_as((seq_len, keys))?;
        let hidden = Tensor::new(f32::NEG_INFINITY, dev)?.broadcast_as((seq_len, keys))?;
        let mask = seen
            .where_cond(&open, &hidden)?
            .reshape((1, 1, 1, seq_len, keys))?;
        scores
            .reshape((b, d.n_kv_head, group, seq_len, keys))?
            .broadcast_add(&mask)?
            .reshape((b, d.n_kv_head, group * seq_len, keys))?
    };
    let p = candle_nn::ops::softmax_last_dim(&scores)?;
    p.matmul(&v.contiguous()?)?
        .reshape((b, d.n_head, seq_len, d.head_dim))?
        .transpose(1, 2)?
        .reshape((b, seq_len, d.n_head * d.head_dim))
}

fn attention_in_blocks(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    causal: Causal,
    d: Dims,
    block_bytes: usize,
) -> Result<Tensor> {
    let (b, _, seq_len, _) = q.dims4()?;
    let group = d.n_head / d.n_kv_head;
    let len = k.dim(2)?;
    let (key_offset, keys) = causal.keys_read(len);
    let (k, v) = (
        widen_kv(&k.narrow(2, key_offset, keys)?)?,
        widen_kv(&v.narrow(2, key_offset, keys)?)?,
    );
    let kt = k.t()?;
    let q = q.reshape((b, d.n_kv_head, group * seq_len, d.head_dim))?;
    let rows = group * seq_len;
    let per_block = (block_bytes / (4 * b * d.n_kv_head * keys.max(1)))
        .max(1)
        .min(rows.max(1));
    let mut outs = Vec::with_capacity(rows.div_ceil(per_block));
    for row_offset in (0..rows).step_by(per_block) {
        let n = per_block.min(rows - row_offset);
        let att = q.narrow(2, row_offset, n)?.matmul(&kt)?;
        att.inplace_op1(&CausalSoftmax {
            scale: d.attn_scale,
            seq_len,
            row_offset,
            key_offset,
            causal,
        })?;
        outs.push(att.matmul(&v)?);
    }
    let y = if outs.len() == 1 {
        outs.remove(0)
    } else {
        Tensor::cat(&outs, 2)?
    };
    y.reshape((b, d.n_head, seq_len, d.head_dim))?
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
                    // Integers below 2,048, exact in the f16 cache; each
                    // head shifted so that heads differ.
                    .flat_map(move |p| {
                        (0..hd).map(move |i| ((h * 1000 + p * hd + i) % 2048) as f32)
                    })
            })
            .collect();
        Tensor::from_vec(data, (1, heads, n, hd), &Device::Cpu).unwrap()
    }

    /// Plain-loop attention for query positions `from..from + n` over keys
    /// `0..from + n`, in `prefill_attention`'s output layout.
    fn reference_attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        d: Dims,
        from: usize,
        n: usize,
        window: Option<usize>,
    ) -> Vec<f32> {
        let (hd, len) = (d.head_dim, from + n);
        let group = d.n_head / d.n_kv_head;
        let mut out = vec![0f32; n * d.n_head * hd];
        for h in 0..d.n_head {
            let g = h / group;
            for i in 0..n {
                let p = from + i;
                let lo = window.map_or(0, |w| (p + 1).saturating_sub(w));
                let qi = &q[(h * n + i) * hd..][..hd];
                let scores: Vec<f64> = (lo..=p)
                    .map(|j| {
                        let kj = &k[(g * len + j) * hd..][..hd];
                        let dot: f32 = qi.iter().zip(kj).map(|(a, b)| a * b).sum();
                        f64::from(dot * d.attn_scale)
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (j, s) in (lo..=p).zip(&scores) {
                    let w = ((s - max).exp() / sum) as f32;
                    let vj = &v[(g * len + j) * hd..][..hd];
                    for (o, x) in out[(i * d.n_head + h) * hd..][..hd].iter_mut().zip(vj) {
                        *o += w * x;
                    }
                }
            }
        }
        out
    }

    /// Through the f16 cache: positions written in two parts across the
    /// buffer's first growth, then a decoded token and a prefill chunk
    /// attend over it; both match the plain loops on the values rounded to
    /// f16, as the cache holds them.
    #[test]
    fn attention_over_the_f16_cache_matches_plain_loops() {
        let d = Dims {
            n_head: 4,
            n_kv_head: 2,
            head_dim: 8,
            eps: 1e-5,
            attn_scale: 0.35,
        };
        let val = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 1000) as f32 / 250.0 - 2.0;
        let len = KV_CACHE_INITIAL_POSITIONS + 44;
        let split = KV_CACHE_INITIAL_POSITIONS - 6;
        let kv = |salt| -> Vec<f32> {
            (0..d.n_kv_head * len * d.head_dim)
                .map(|i| val(i, salt))
                .collect()
        };
        let (k, v) = (kv(2), kv(3));
        let rounded = |x: &[f32]| -> Vec<f32> {
            x.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect()
        };
        let dev = Device::Cpu;
        let full = |x: &[f32]| {
            Tensor::from_vec(x.to_vec(), (1, d.n_kv_head, len, d.head_dim), &dev).unwrap()
        };
        let (kt, vt) = (full(&k), full(&v));
        let (mut kc, mut vc) = (KvBuffer::new(), KvBuffer::new());
        kc.write(&kt.narrow(2, 0, split).unwrap(), 0).unwrap();
        vc.write(&vt.narrow(2, 0, split).unwrap(), 0).unwrap();
        let kview = kc
            .write(&kt.narrow(2, split, len - split).unwrap(), split)
            .unwrap();
        let vview = vc
            .write(&vt.narrow(2, split, len - split).unwrap(), split)
            .unwrap();
        assert_eq!(kview.dtype(), KV_DTYPE);
        let (k16, v16) = (rounded(&k), rounded(&v));
        let worst = |got: Tensor, want: Vec<f32>| {
            let got = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(got.len(), want.len());
            got.iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max)
        };
        // The last position decoded.
        let q: Vec<f32> = (0..d.n_head * d.head_dim).map(|i| val(i, 1)).collect();
        let qt = Tensor::from_vec(q.clone(), (1, d.n_head, 1, d.head_dim), &dev).unwrap();
        let got = qt
            .apply_op1_no_bwd(&DecodeAttention {
                k: &kview,
                v: &vview,
                d,
            })
            .unwrap();
        let off = worst(
            got,
            reference_attention(&q, &k16, &v16, d, len - 1, 1, None),
        );
        assert!(off < 1e-5, "decode off by {off}");
        // The last 5 positions as one prefill chunk.
        let n = 5;
        let q: Vec<f32> = (0..d.n_head * n * d.head_dim).map(|i| val(i, 4)).collect();
        let qt = Tensor::from_vec(q.clone(), (1, d.n_head, n, d.head_dim), &dev).unwrap();
        let causal = Causal {
            index_pos: len - n,
            window: None,
        };
        let got = prefill_attention(&qt, &kview, &vview, causal, d, Ops::Tuned).unwrap();
        let want = reference_attention(&q, &k16, &v16, d, len - n, n, None);
        let off = worst(got, want.clone());
        assert!(off < 1e-5, "prefill off by {off}");
        // The portable path (what a GPU runs), prefill and decode, with and
        // without a window.
        let got = prefill_attention(&qt, &kview, &vview, causal, d, Ops::Portable).unwrap();
        let off = worst(got, want);
        assert!(off < 1e-5, "portable prefill off by {off}");
        let windowed = Causal {
            index_pos: len - n,
            window: Some(7),
        };
        let got = portable_attention(&qt, &kview, &vview, windowed, d).unwrap();
        let off = worst(
            got,
            reference_attention(&q, &k16, &v16, d, len - n, n, Some(7)),
        );
        assert!(off < 1e-5, "portable windowed prefill off by {off}");
        let q1: Vec<f32> = (0..d.n_head * d.head_dim).map(|i| val(i, 1)).collect();
        let q1t = Tensor::from_vec(q1.clone(), (1, d.n_head, 1, d.head_dim), &dev).unwrap();
        for window in [None, Some(4)] {
            let causal = Causal {
                index_pos: len - 1,
                window,
            };
            let got = portable_attention(&q1t, &kview, &vview, causal, d).unwrap();
            let off = worst(
                got,
                reference_attention(&q1, &k16, &v16, d, len - 1, 1, window),
            );
            assert!(off < 1e-5, "portable decode ({window:?}) off by {off}");
        }
    }

    /// The fused AVX-512 path ([`crate::flash`]) for each head size it is
    /// compiled for: a chunk of 45 queries (row blocks of 32 that cross a
    /// query-head boundary) after 150 cached positions in the f16 cache
    /// (key blocks of 96 with a ragged end), with and without a sliding
    /// window, against the plain loops. Skipped where the CPU has no
    /// AVX-512 (the unfused path is the one that runs there).
    #[test]
    fn fused_prefill_attention_matches_plain_loops() {
        if !crate::flash::supports(64) {
            eprintln!("skipped: no AVX-512 here, the fused attention never runs");
            return;
        }
        let val = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 1000) as f32 / 250.0 - 2.0;
        let dev = Device::Cpu;
        for hd in [64, 96, 128, 256] {
            let d = Dims {
                n_head: 6,
                n_kv_head: 2,
                head_dim: hd,
                eps: 1e-5,
                attn_scale: 1.0 / (hd as f32).sqrt(),
            };
            let (from, n) = (150, 45);
            let len = from + n;
            let kv = |salt| -> Vec<f32> {
                (0..d.n_kv_head * len * hd)
                    .map(|i| half::f16::from_f32(val(i, salt)).to_f32())
                    .collect()
            };
            let (k, v) = (kv(2), kv(3));
            let full =
                |x: &[f32]| Tensor::from_vec(x.to_vec(), (1, d.n_kv_head, len, hd), &dev).unwrap();
            let (mut kc, mut vc) = (KvBuffer::new(), KvBuffer::new());
            let kview = kc.write(&full(&k), 0).unwrap();
            let vview = vc.write(&full(&v), 0).unwrap();
            let q: Vec<f32> = (0..d.n_head * n * hd).map(|i| val(i, 1)).collect();
            let qt = Tensor::from_vec(q.clone(), (1, d.n_head, n, hd), &dev).unwrap();
            for window in [None, Some(7), Some(100), Some(500)] {
                let causal = Causal {
                    index_pos: from,
                    window,
                };
                let got = crate::flash::prefill_attention(&qt, &kview, &vview, causal, d)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                let want = reference_attention(&q, &k, &v, d, from, n, window);
                assert_eq!(got.len(), want.len());
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-4,
                    "head size {hd}, window {window:?}: off by {worst}"
                );
            }
        }
    }

    #[test]
    fn prefill_attention_matches_plain_loops_with_and_without_a_window() {
        let d = Dims {
            n_head: 6,
            n_kv_head: 2,
            head_dim: 8,
            eps: 1e-5,
            attn_scale: 0.35,
        };
        let val = |i: usize, salt: usize| ((i * 7919 + salt * 104_729) % 1000) as f32 / 250.0 - 2.0;
        // A chunk of 5 queries after 12 cached positions (17 keys).
        let (from, n) = (12, 5);
        let len = from + n;
        let q: Vec<f32> = (0..d.n_head * n * d.head_dim).map(|i| val(i, 1)).collect();
        let k: Vec<f32> = (0..d.n_kv_head * len * d.head_dim)
            .map(|i| val(i, 2))
            .collect();
        let v: Vec<f32> = (0..d.n_kv_head * len * d.head_dim)
            .map(|i| val(i, 3))
            .collect();
        let dev = Device::Cpu;
        let qt = Tensor::from_vec(q.clone(), (1, d.n_head, n, d.head_dim), &dev).unwrap();
        let kt = Tensor::from_vec(k.clone(), (1, d.n_kv_head, len, d.head_dim), &dev).unwrap();
        let vt = Tensor::from_vec(v.clone(), (1, d.n_kv_head, len, d.head_dim), &dev).unwrap();
        // Whole chunks, and blocks of 4 rows (a block boundary inside each
        // group of 5 query rows).
        let blocks = [SCORE_BLOCK_BYTES, 4 * 4 * d.n_kv_head * len];
        for (window, block_bytes) in [None, Some(4), Some(13), Some(100)]
            .into_iter()
            .flat_map(|w| blocks.map(|b| (w, b)))
        {
            let causal = Causal {
                index_pos: from,
                window,
            };
            let got = attention_in_blocks(&qt, &kt, &vt, causal, d, block_bytes)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let want = reference_attention(&q, &k, &v, d, from, n, window);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-5,
                "window {window:?}, blocks of {block_bytes} bytes: off by {worst}"
            );
        }
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
