//! Our Gemma 3 forward pass, corrected where candle-transformers 0.11.1's
//! `quantized_gemma3` was measured wrong, on the same blocks as our llama
//! code ([`crate::blocks`]).
//!
//! What candle's copy gets wrong, and what this one does instead (the
//! golden test against llama.cpp's logits in `tests/golden.rs` holds it,
//! with a prompt longer than the sliding window):
//!
//! - **Activation.** Gemma's feed-forward gate is GELU (tanh approximation);
//!   candle applies SiLU (its issue #3745). Ours: `gelu`.
//! - **Sliding window in decode.** Five layers in six attend only to the last
//!   `sliding_window` positions (512 on Gemma 3 270M). candle applies the
//!   window when it builds a prefill mask but not when it decodes one token,
//!   so past 512 positions every generated token saw keys it was never
//!   trained to see. Ours narrows the cache view to the window in decode and
//!   in prefill leaves out the keys before the chunk's window and masks the
//!   rest by position ([`crate::blocks::prefill_attention`]).
//! - **RoPE tables.** candle builds a 131,072-position table in every layer
//!   (2.25 GiB measured); ours are two tables (local base 10,000; global
//!   base from the file, with linear scaling when the file declares it)
//!   shared by all layers and sized to the capped context.
//! - **Chunked prefill.** candle's mask fails with a dtype mismatch when a
//!   prompt is fed in several chunks (the drafter does that); ours masks by
//!   position inside the softmax, for any `(seq_len, index_pos)`.
//! - **Embeddings.** candle dequantizes the 262,144 × 640 table to f32
//!   (671 MB); ours stays quantized and rows are dequantized on lookup.
//!
//! Gemma's layer, as llama.cpp computes it: the embedding scaled by
//! `sqrt(d_model)`; per layer an RMS norm, q/k/v, an RMS norm of every query
//! and key head, RoPE (NeoX layout), queries scaled by `1/sqrt(head_dim)`
//! (`1/sqrt(d_model / heads)` on the 27B), attention, the output projection,
//! a post-attention norm, the residual; then the same around the GELU
//! feed-forward with its own post-norm. GGUF norm weights already include
//! Gemma's `1 +` offset (the converter adds it).

use crate::blocks::{
    check_context, md_f32, md_u32, prefill_attention, rope_tables, Causal, DecodeAttention, Dims,
    Embeddings, KvBuffer, Linear, Ops, Projections,
};
use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, IndexOp, Result, Tensor};
use std::io::{Read, Seek};

/// One global layer in this many (llama.cpp's Gemma 3 pattern).
const SLIDING_WINDOW_PATTERN: usize = 6;
/// RoPE base of the sliding-window layers (not stored in Gemma 3 GGUFs).
const LOCAL_ROPE_FREQ_BASE: f32 = 10_000.0;
/// Gemma 3 27B scales queries by `d_model / heads`, not the head size.
const GEMMA3_27B_BLOCKS: usize = 62;

struct Layer {
    qkv: Projections,
    wo: Linear,
    gate_up: Projections,
    down: Linear,
    attn_norm: Tensor,
    q_norm: Tensor,
    k_norm: Tensor,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    post_ffw_norm: Tensor,
    k_cache: KvBuffer,
    v_cache: KvBuffer,
    /// Attends to the last `sliding_window` positions only.
    sliding: bool,
}

pub(crate) struct Gemma3 {
    embeddings: Embeddings,
    embed_scale: f64,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    /// `(cos, sin)` for the sliding layers and for the global ones.
    local_rope: (Tensor, Tensor),
    global_rope: (Tensor, Tensor),
    dims: Dims,
    sliding_window: usize,
    context_length: usize,
    ops: Ops,
}

impl Gemma3 {
    /// Builds the model from a GGUF whose hyper-parameters the caller has
    /// validated; `context_length` sizes the RoPE tables.
    pub(crate) fn from_gguf<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        context_length: usize,
        dev: &Device,
        ops: Ops,
    ) -> Result<Self> {
        let n_head = md_u32(ct, "gemma3.attention.head_count")?;
        let n_kv_head = md_u32(ct, "gemma3.attention.head_count_kv")?;
        let blocks = md_u32(ct, "gemma3.block_count")?;
        let embd = md_u32(ct, "gemma3.embedding_length")?;
        let head_dim = md_u32(ct, "gemma3.attention.key_length")?;
        let sliding_window = md_u32(ct, "gemma3.attention.sliding_window")?;
        let eps = md_f32(ct, "gemma3.attention.layer_norm_rms_epsilon").unwrap_or(1e-6);
        let freq_base = md_f32(ct, "gemma3.rope.freq_base").unwrap_or(1_000_000.0);
        let linear_scaling = match ct.metadata.get("gemma3.rope.scaling.type") {
            Some(v) => v.to_string().is_ok_and(|t| t.as_str() == "linear"),
            None => ct.metadata.contains_key("gemma3.rope.scaling.factor"),
        };
        let freq_scale = match md_f32(ct, "gemma3.rope.scaling.factor") {
            Some(f) if linear_scaling && f > 0.0 => 1.0 / f,
            _ => 1.0,
        };
        let query_scale = if blocks == GEMMA3_27B_BLOCKS {
            1.0 / ((embd / n_head) as f32).sqrt()
        } else {
            1.0 / (head_dim as f32).sqrt()
        };
        let local_rope = rope_tables(head_dim, LOCAL_ROPE_FREQ_BASE, 1.0, context_length, dev)?;
        let global_rope = rope_tables(head_dim, freq_base, freq_scale, context_length, dev)?;
        let (embeddings, output) = Embeddings::with_output_from_gguf(ct, reader, dev, ops)?;
        let norm = ct
            .tensor(reader, "output_norm.weight", dev)?
            .dequantize(dev)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let mut t = |name: &str| ct.tensor(reader, &format!("blk.{i}.{name}.weight"), dev);
            let mut f32_of = |name: &str| t(name).and_then(|q| q.dequantize(dev));
            let attn_norm = f32_of("attn_norm")?;
            let q_norm = f32_of("attn_q_norm")?;
            let k_norm = f32_of("attn_k_norm")?;
            let post_attn_norm = f32_of("post_attention_norm")?;
            let ffn_norm = f32_of("ffn_norm")?;
            let post_ffw_norm = f32_of("post_ffw_norm")?;
            layers.push(Layer {
                qkv: Projections::new(vec![t("attn_q")?, t("attn_k")?, t("attn_v")?], ops)?,
                wo: Linear::new(t("attn_output")?, ops)?,
                gate_up: Projections::new(vec![t("ffn_gate")?, t("ffn_up")?], ops)?,
                down: Linear::new(t("ffn_down")?, ops)?,
                attn_norm,
                q_norm,
                k_norm,
                post_attn_norm,
                ffn_norm,
                post_ffw_norm,
                k_cache: KvBuffer::new(),
                v_cache: KvBuffer::new(),
                sliding: i % SLIDING_WINDOW_PATTERN < SLIDING_WINDOW_PATTERN - 1,
            });
        }
        Ok(Self {
            embeddings,
            embed_scale: (embd as f64).sqrt(),
            layers,
            norm,
            output,
            local_rope,
            global_rope,
            dims: Dims {
                n_head,
                n_kv_head,
                head_dim,
                eps,
                attn_scale: query_scale,
            },
            sliding_window,
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
        let rope = |t: &(Tensor, Tensor)| -> Result<(Tensor, Tensor)> {
            Ok((
                t.0.narrow(0, index_pos, seq_len)?,
                t.1.narrow(0, index_pos, seq_len)?,
            ))
        };
        let local = rope(&self.local_rope)?;
        let global = rope(&self.global_rope)?;
        let d = self.dims;
        let ops = self.ops;
        let window = self.sliding_window;
        let mut x = (self.embeddings.lookup(&self.output, tokens)? * self.embed_scale)?;
        for layer in &mut self.layers {
            let (cos, sin) = if layer.sliding { &local } else { &global };
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, d.eps)?;
            let attn = attention(layer, &h, d, cos, sin, index_pos, window, ops)?;
            let attn = candle_nn::ops::rms_norm(&attn, &layer.post_attn_norm, d.eps)?;
            x = (attn + &x)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, d.eps)?;
            let gu = layer.gate_up.forward(&h)?;
            let act = (gu[0].gelu()? * &gu[1])?;
            let ffn = layer.down.forward(&act)?;
            let ffn = candle_nn::ops::rms_norm(&ffn, &layer.post_ffw_norm, d.eps)?;
            x = (ffn + &x)?;
        }
        let x = x.i((.., seq_len - 1..seq_len, ..))?;
        let x = candle_nn::ops::rms_norm(&x, &self.norm, d.eps)?;
        self.output.forward(&x)?.squeeze(1)
    }
}

#[allow(clippy::too_many_arguments)]
fn attention(
    layer: &mut Layer,
    x: &Tensor,
    d: Dims,
    cos: &Tensor,
    sin: &Tensor,
    index_pos: usize,
    window: usize,
    ops: Ops,
) -> Result<Tensor> {
    let (b, seq_len, _) = x.dims3()?;
    let qkv = layer.qkv.forward(x)?;
    // (b, seq, heads, head_dim) → RMS norm per head → (b, heads, seq, head_dim).
    let heads = |t: &Tensor, n: usize, norm: Option<&Tensor>| -> Result<Tensor> {
        let t = t.reshape((b, seq_len, n, d.head_dim))?;
        let t = match norm {
            Some(w) => candle_nn::ops::rms_norm(&t.contiguous()?, w, d.eps)?,
            None => t,
        };
        t.transpose(1, 2)?.contiguous()
    };
    let q = heads(&qkv[0], d.n_head, Some(&layer.q_norm))?;
    let k = heads(&qkv[1], d.n_kv_head, Some(&layer.k_norm))?;
    let q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
    let k = candle_nn::rotary_emb::rope(&k, cos, sin)?;
    let v = heads(&qkv[2], d.n_kv_head, None)?;
    let k = layer.k_cache.write(&k, index_pos)?;
    let v = layer.v_cache.write(&v, index_pos)?;
    let width = d.n_head * d.head_dim;
    if seq_len == 1 && ops == Ops::Tuned {
        // Only the window's keys: a view of the cache's last positions.
        let kv_len = index_pos + 1;
        let start = if layer.sliding {
            kv_len.saturating_sub(window)
        } else {
            0
        };
        let k = k.narrow(2, start, kv_len - start)?;
        let v = v.narrow(2, start, kv_len - start)?;
        let y = q.apply_op1_no_bwd(&DecodeAttention { k: &k, v: &v, d })?;
        return layer.wo.forward(&y.reshape((b, 1, width))?);
    }
    let causal = Causal {
        index_pos,
        window: layer.sliding.then_some(window),
    };
    let y = prefill_attention(&q, &k, &v, causal, d, ops)?;
    layer.wo.forward(&y)
}
