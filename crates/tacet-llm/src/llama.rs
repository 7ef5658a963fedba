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
//!   f32: 113 MB for SmolLM2's 49,152 × 576). A tied model (no
//!   `output.weight`, as SmolLM2 and Gemma 3) looks its rows up in the
//!   output matrix, so the table is held once, not twice.
//!
//! The matrix products run on [`crate::kernels`] (Q4_1 and Q8_0, and Q4_K
//! and Q6_K rewritten into them at load) or candle's quantized matmul
//! (other formats); `tests/golden.rs` holds the result to llama.cpp's
//! logits.

use crate::blocks::{
    check_context, md_f32, md_u32, prefill_attention, rope_tables, Causal, DecodeAttention, Dims,
    Embeddings, KvBuffer, Linear, Ops, Projections,
};
use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, IndexOp, Result, Tensor};
use std::io::{Read, Seek};

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

pub(crate) struct Llama {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    /// RoPE tables, `(context, head_dim / 2)`.
    cos: Tensor,
    sin: Tensor,
    dims: Dims,
    context_length: usize,
    ops: Ops,
}

impl Llama {
    /// Builds the model from a GGUF whose hyper-parameters the caller has
    /// validated; `context_length` sizes the RoPE tables.
    pub(crate) fn from_gguf<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        context_length: usize,
        dev: &Device,
        ops: Ops,
    ) -> Result<Self> {
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
        let (cos, sin) = rope_tables(rope_dim, freq_base, 1.0, context_length, dev)?;
        let (embeddings, output) = Embeddings::with_output_from_gguf(ct, reader, dev, ops)?;
        let norm = ct
            .tensor(reader, "output_norm.weight", dev)?
            .dequantize(dev)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let mut t = |name: &str| ct.tensor(reader, &format!("blk.{i}.{name}.weight"), dev);
            layers.push(Layer {
                qkv: Projections::new(vec![t("attn_q")?, t("attn_k")?, t("attn_v")?], ops)?,
                wo: Linear::new(t("attn_output")?, ops)?,
                gate_up: Projections::new(vec![t("ffn_gate")?, t("ffn_up")?], ops)?,
                down: Linear::new(t("ffn_down")?, ops)?,
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
            output,
            cos,
            sin,
            dims: Dims {
                n_head,
                n_kv_head,
                head_dim,
                eps,
                attn_scale: 1.0 / (head_dim as f32).sqrt(),
            },
            context_length,
            ops,
        })
    }

    pub(crate) fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.k_cache.clear();
            l.v_cache.clear();
        }
    }

    /// Whether any matrix runs on candle's kernels (see `crate::spin`).
    pub(crate) fn on_candle_kernels(&self) -> bool {
        crate::blocks::any_on_candle(
            &self.output,
            self.layers
                .iter()
                .map(|l| (&l.qkv, &l.wo, &l.gate_up, &l.down)),
        )
    }

    /// Zeroes and frees every layer's cache ([`crate::blocks::KvBuffer::wipe`]).
    pub(crate) fn wipe_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.k_cache.wipe();
            l.v_cache.wipe();
        }
    }

    /// Runs `tokens` (`(1, seq_len)` u32) at positions `index_pos..` and
    /// returns the last position's logits, `(1, vocab)`.
    pub(crate) fn forward(&mut self, tokens: &Tensor, index_pos: usize) -> Result<Tensor> {
        let (_, seq_len) = tokens.dims2()?;
        check_context(index_pos, seq_len, self.context_length)?;
        let cos = self.cos.narrow(0, index_pos, seq_len)?;
        let sin = self.sin.narrow(0, index_pos, seq_len)?;
        let d = self.dims;
        let ops = self.ops;
        let mut x = self.embeddings.lookup(&self.output, tokens)?;
        for layer in &mut self.layers {
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, d.eps)?;
            let attn = attention(layer, &h, d, &cos, &sin, index_pos, ops)?;
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
    cos: &Tensor,
    sin: &Tensor,
    index_pos: usize,
    ops: Ops,
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
    if seq_len == 1 && ops == Ops::Tuned {
        let y = q.apply_op1_no_bwd(&DecodeAttention { k: &k, v: &v, d })?;
        return layer.wo.forward(&y.reshape((b, 1, embd))?);
    }
    let causal = Causal {
        index_pos,
        window: None,
    };
    let y = prefill_attention(&q, &k, &v, causal, d, ops)?;
    layer.wo.forward(&y)
}
