//! Our llama-family forward pass (SmolLM2, Llama 3.x), on candle tensors and
//! candle's quantized matmul kernels.
//!
//! candle-transformers 0.11.1's `quantized_llama` computes the right logits
//! (within ±0.3 of llama.cpp) but was measured slow on the CPU for reasons
//! that are in the model code, not in the kernels, so this crate carries its
//! own copy with these differences (each measured in docs/BENCHMARKS.md):
//!
//! - **The context the file declares.** candle's tables stop at 4,096
//!   positions whatever the GGUF says; SmolLM2 declares 8,192. Ours are sized
//!   to the (capped) context the loader computes.
//! - **A KV cache that is written in place.** candle grows each layer's cache
//!   with `Tensor::cat`, copying the whole cache on every generated token
//!   (with a 2,000-token transcript in the prompt that is ~45 MB per token on
//!   SmolLM2, more than the weights themselves). Ours is a buffer that grows
//!   by doubling and is written with `slice_set`.
//! - **Grouped-query attention without copies.** candle repeats every key and
//!   value head for its query group (`repeat_kv`) on every step; ours folds
//!   the query group into the rows of one matmul per key/value head.
//! - **Stacked projections.** q/k/v and gate/up share their input; their
//!   matrices are stacked into one at load when our kernels cover them, so
//!   each runs as one matvec (one activation quantization, one parallel
//!   region) or one GEMM. Formats left to candle use its
//!   `gemv_fused_shared_lhs` in decode instead.
//! - **One-pass decode attention.** A generated token's scores, softmax and
//!   weighted sum are one loop per head instead of five candle ops.
//! - **Quantized token embeddings.** The embedding table stays quantized and
//!   rows are dequantized on lookup (candle dequantizes the whole table to
//!   f32: 113 MB for SmolLM2's 49,152 × 576).
//!
//! The matrix products run on [`crate::kernels`] (Q4_1, Q8_0) or candle's
//! quantized matmul (other formats); `tests/golden.rs` holds the result to
//! llama.cpp's logits.

use crate::kernels::{MatVec, QuantMatrix};
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, IndexOp, Module, Result, StorageRef, Tensor};
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

/// From this many rows (tokens) a matmul dequantizes its weights and runs
/// candle's f32 GEMM instead of the quantized dot products.
const GEMM_MIN_ROWS: usize = 16;

/// Positions the KV cache grows by at first; it doubles after that.
const KV_CACHE_INITIAL_POSITIONS: usize = 256;

/// A weight matrix: our kernels when the format has one (see
/// [`crate::kernels`]), else the quantized tensor with candle's matmul.
enum Linear {
    Ours { m: QuantMatrix, threads: usize },
    Candle { q: Arc<QTensor>, mm: QMatMul },
}

impl Linear {
    fn new(q: QTensor) -> Result<Self> {
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

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
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

/// Several projections of one input (q/k/v, gate/up): one stacked matrix
/// when our kernels cover them all, else candle's tensors (fused by candle
/// in decode where it has a kernel for that).
enum Projections {
    Stacked { linear: Linear, widths: Vec<usize> },
    Separate(Vec<Linear>),
}

impl Projections {
    fn new(tensors: Vec<QTensor>) -> Result<Self> {
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

    fn forward(&self, xs: &Tensor) -> Result<Vec<Tensor>> {
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
struct KvBuffer {
    data: Option<Tensor>,
    len: usize,
}

impl KvBuffer {
    fn new() -> Self {
        Self { data: None, len: 0 }
    }

    fn clear(&mut self) {
        // Keep the buffer: the next prompt overwrites it from position 0.
        self.len = 0;
    }

    /// Writes `src` (`(1, kv_heads, n, head_dim)`) at `pos` and returns the
    /// valid prefix `..pos + n` as a view.
    fn write(&mut self, src: &Tensor, pos: usize) -> Result<Tensor> {
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
                    grown.slice_set(&old.narrow(2, 0, pos.min(self.len))?, 2, 0)?;
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

struct Layer {
    qkv: Projections,
    wo: Linear,
    gate_up: Projections,
    down: Linear,
    attn_norm: Tensor,
    ffn_norm: Tensor,
    k_cache: KvBuffer,
    v_cache: KvBuffer,
}

/// Shapes shared by every layer.
#[derive(Clone, Copy)]
struct Dims {
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    eps: f32,
}

pub(crate) struct Llama {
    embeddings: QTensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    /// RoPE tables, `(context, head_dim / 2)`.
    cos: Tensor,
    sin: Tensor,
    dims: Dims,
    context_length: usize,
    /// Additive causal masks by (seq_len, index_pos), rows already repeated
    /// for the query group.
    masks: HashMap<(usize, usize), Tensor>,
}

fn md_u32(ct: &Content, key: &str) -> Result<usize> {
    match ct.metadata.get(key) {
        Some(v) => Ok(v.to_u32()? as usize),
        None => candle_core::bail!("cannot find {key} in metadata"),
    }
}

fn md_f32(ct: &Content, key: &str) -> Option<f32> {
    ct.metadata.get(key).and_then(|v| v.to_f32().ok())
}

fn rope_tables(head_dim: usize, freq_base: f32, positions: usize) -> Result<(Tensor, Tensor)> {
    let dev = &Device::Cpu;
    let theta: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1f32 / freq_base.powf(i as f32 / head_dim as f32))
        .collect();
    let half = theta.len();
    let theta = Tensor::from_vec(theta, (1, half), dev)?;
    let idx = Tensor::arange(0, positions as u32, dev)?
        .to_dtype(DType::F32)?
        .reshape((positions, 1))?;
    let angles = idx.matmul(&theta)?;
    Ok((angles.cos()?, angles.sin()?))
}

impl Llama {
    /// Builds the model from a GGUF whose hyper-parameters the caller has
    /// validated; `context_length` sizes the RoPE tables.
    pub(crate) fn from_gguf<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        context_length: usize,
    ) -> Result<Self> {
        let dev = &Device::Cpu;
        if md_u32(ct, "llama.expert_count").unwrap_or(0) > 1 {
            candle_core::bail!("mixture-of-experts llama models are not supported");
        }
        let n_head = md_u32(ct, "llama.attention.head_count")?;
        let n_kv_head = md_u32(ct, "llama.attention.head_count_kv")?;
        let blocks = md_u32(ct, "llama.block_count")?;
        let embd = md_u32(ct, "llama.embedding_length")?;
        let rope_dim = md_u32(ct, "llama.rope.dimension_count")?;
        let eps = md_f32(ct, "llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5);
        let freq_base = md_f32(ct, "llama.rope.freq_base").unwrap_or(10_000.0);
        let head_dim = embd / n_head;
        let (cos, sin) = rope_tables(rope_dim, freq_base, context_length)?;
        let embeddings = ct.tensor(reader, "token_embd.weight", dev)?;
        let norm = ct
            .tensor(reader, "output_norm.weight", dev)?
            .dequantize(dev)?;
        let output = if ct.tensor_infos.contains_key("output.weight") {
            ct.tensor(reader, "output.weight", dev)?
        } else {
            // Tied output: a second copy of the (quantized) embedding table.
            ct.tensor(reader, "token_embd.weight", dev)?
        };
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let mut t = |name: &str| ct.tensor(reader, &format!("blk.{i}.{name}.weight"), dev);
            layers.push(Layer {
                qkv: Projections::new(vec![t("attn_q")?, t("attn_k")?, t("attn_v")?])?,
                wo: Linear::new(t("attn_output")?)?,
                gate_up: Projections::new(vec![t("ffn_gate")?, t("ffn_up")?])?,
                down: Linear::new(t("ffn_down")?)?,
                attn_norm: t("attn_norm")?.dequantize(dev)?,
                ffn_norm: t("ffn_norm")?.dequantize(dev)?,
                k_cache: KvBuffer::new(),
                v_cache: KvBuffer::new(),
            });
        }
        Ok(Self {
            embeddings,
            layers,
            norm,
            output: Linear::new(output)?,
            cos,
            sin,
            dims: Dims {
                n_head,
                n_kv_head,
                head_dim,
                eps,
            },
            context_length,
            masks: HashMap::new(),
        })
    }

    pub(crate) fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.k_cache.clear();
            l.v_cache.clear();
        }
    }

    /// The additive causal mask for `seq_len` new tokens after `index_pos`,
    /// its rows repeated for each query head of a group:
    /// `(group * seq_len, index_pos + seq_len)`.
    fn mask(&mut self, seq_len: usize, index_pos: usize) -> Result<Tensor> {
        let group = self.dims.n_head / self.dims.n_kv_head;
        let key = (seq_len, index_pos);
        if let Some(m) = self.masks.get(&key) {
            return Ok(m.clone());
        }
        let kv_len = index_pos + seq_len;
        let mut data = Vec::with_capacity(group * seq_len * kv_len);
        for _ in 0..group {
            for i in 0..seq_len {
                data.extend((0..kv_len).map(|j| {
                    if j > index_pos + i {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                }));
            }
        }
        let m = Tensor::from_vec(data, (group * seq_len, kv_len), &Device::Cpu)?;
        // Masks for prefill chunks only; a long prompt's few shapes.
        if self.masks.len() > 64 {
            self.masks.clear();
        }
        self.masks.insert(key, m.clone());
        Ok(m)
    }

    /// Runs `tokens` (`(1, seq_len)` u32) at positions `index_pos..` and
    /// returns the last position's logits, `(1, vocab)`.
    pub(crate) fn forward(&mut self, tokens: &Tensor, index_pos: usize) -> Result<Tensor> {
        let (_, seq_len) = tokens.dims2()?;
        if index_pos + seq_len > self.context_length {
            candle_core::bail!(
                "{} positions exceed the model's context of {}",
                index_pos + seq_len,
                self.context_length
            );
        }
        let mask = if seq_len > 1 {
            Some(self.mask(seq_len, index_pos)?)
        } else {
            None
        };
        let cos = self.cos.narrow(0, index_pos, seq_len)?;
        let sin = self.sin.narrow(0, index_pos, seq_len)?;
        let d = self.dims;
        let mut x = self.embeddings.embedding(tokens)?;
        for layer in &mut self.layers {
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, d.eps)?;
            let attn = attention(layer, &h, d, mask.as_ref(), &cos, &sin, index_pos)?;
            x = (attn + &x)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, d.eps)?;
            let gu = layer.gate_up.forward(&h)?;
            let act = (candle_nn::ops::silu(&gu[0])? * &gu[1])?;
            x = (layer.down.forward(&act)? + &x)?;
        }
        let x = x.i((.., seq_len - 1..seq_len, ..))?;
        let x = candle_nn::ops::rms_norm(&x, &self.norm, d.eps)?;
        self.output.forward(&x)?.squeeze(1)
    }
}

fn attention(
    layer: &mut Layer,
    x: &Tensor,
    d: Dims,
    mask: Option<&Tensor>,
    cos: &Tensor,
    sin: &Tensor,
    index_pos: usize,
) -> Result<Tensor> {
    let (b, seq_len, embd) = x.dims3()?;
    let qkv = layer.qkv.forward(x)?;
    let heads = |t: &Tensor, n: usize| -> Result<Tensor> {
        t.reshape((b, seq_len, n, d.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    };
    let q = candle_nn::rotary_emb::rope_i(&heads(&qkv[0], d.n_head)?, cos, sin)?;
    let k = candle_nn::rotary_emb::rope_i(&heads(&qkv[1], d.n_kv_head)?, cos, sin)?;
    let v = heads(&qkv[2], d.n_kv_head)?;
    let k = layer.k_cache.write(&k, index_pos)?;
    let v = layer.v_cache.write(&v, index_pos)?;
    if seq_len == 1 {
        let y = q.apply_op1_no_bwd(&DecodeAttention { k: &k, v: &v, d })?;
        return layer.wo.forward(&y.reshape((b, 1, embd))?);
    }
    // Query heads h = g*group + j share key/value head g: fold each group's
    // rows into one (group*seq_len, head_dim) matrix per key/value head.
    let group = d.n_head / d.n_kv_head;
    let q = q.reshape((b, d.n_kv_head, group * seq_len, d.head_dim))?;
    let scale = 1.0 / (d.head_dim as f64).sqrt();
    let att = (q.matmul(&k.t()?)? * scale)?;
    let att = match mask {
        Some(m) => att.broadcast_add(m)?,
        None => att,
    };
    let att = candle_nn::ops::softmax_last_dim(&att)?;
    let y = att.matmul(&v)?;
    let y = y
        .reshape((b, d.n_head, seq_len, d.head_dim))?
        .transpose(1, 2)?
        .reshape((b, seq_len, embd))?;
    layer.wo.forward(&y)
}

/// Attention of one new token over the cache, in one pass per head: the
/// scores, softmax and weighted sum that would otherwise be five candle ops
/// (two of them GEMM calls on a 1-row matrix) with their allocations, per
/// layer per token.
struct DecodeAttention<'a> {
    /// `(1, kv_heads, len, head_dim)` views of the cache buffers.
    k: &'a Tensor,
    v: &'a Tensor,
    d: Dims,
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
        let scale = 1.0 / (hd as f32).sqrt();
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
