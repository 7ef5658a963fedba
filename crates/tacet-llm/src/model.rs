//! Loading GGUF weights into model code chosen by architecture.
//!
//! `general.architecture` picks the model code: `llama` (SmolLM2, Llama
//! 3.x) runs on our own forward pass ([`crate::llama`], candle tensors with
//! our kernels); `gemma3` on our corrected Gemma 3 ([`crate::gemma3`]:
//! candle's `quantized_gemma3` has measured bugs, among them the wrong
//! activation and no sliding window during decode); `qwen2` (Qwen2.5),
//! `qwen3` and `phi3` (Phi-3/3.5 mini) on candle-transformers 0.11.1's
//! quantized model code.
//!
//! The decisions that live here:
//!
//! - **Requantization at load.** candle 0.11.1 has no SIMD kernel (and no
//!   batched GEMM) for Q4_1, Q5_0 and Q5_1, so on candle's model code a Q4_1
//!   model runs at scalar speed (measured ≈ 29 tok/s prefill here against
//!   ≈ 180 after converting). With `requantize_to_q8_0` those tensors become
//!   Q8_0 in memory, a second or two at load: Q5_0 (and Q4_0) blocks are
//!   widened exactly (same scale, same integers: `kernels::widen_to_q8_0`);
//!   Q4_1 and Q5_1, whose offset Q8_0 cannot hold, are dequantized and
//!   quantized again, which rounds each weight to a grid finer than the
//!   original's, so the outputs barely move. Our llama and Gemma 3 code has
//!   its own Q4_1 kernel, so there only Q5_x is converted (see
//!   `should_requantize`). The loader is handed a new tensor table whose
//!   data is spliced (`SplicedTensors`): the converted tensors from memory,
//!   every other tensor straight from the file, so we do not fork candle's
//!   model code and only the converted tensors are held twice while loading.
//!   A file with nothing to convert is read straight from disk.
//! - **Metadata the model code is given, not trusted blindly.** candle sizes
//!   its RoPE tables (qwen2, qwen3, phi3) and phi3 its preallocated KV cache
//!   from `<arch>.context_length`; Phi-3.5 declares 131,072 positions, which
//!   would preallocate tens of GB on the first token. The loader therefore
//!   sees the context length already capped (see [`context_cap`]). candle's
//!   qwen3 builds its RoPE table in f16 unless `general.dtype` says f32, and
//!   f16 cannot hold positions or angles past a few hundred exactly (the
//!   rotation would be wrong for most of a long prompt), so we set it to f32.
//! - **Never panic on a bad file.** The GGUF header is parsed with candle's
//!   bounds-checked reader; the hyper-parameters each model code divides by
//!   or slices with are validated first (an error naming the file and the
//!   key); and the loader itself runs under `catch_unwind` as a last line of
//!   defence, turning a panic deep in candle into an error naming the file.
//!
//! KV caches: llama, qwen2 and qwen3 have `clear_kv_cache`. candle's phi3
//! has none; it resets its cache whenever a forward pass starts at position
//! 0, so clearing runs one token at position 0 (the transcript's keys and
//! values are dropped; one position of filler remains until the next prompt).

use crate::blocks::Ops;
use crate::device::LlmDevice;
use crate::error::LlmError;
use crate::gemma3::Gemma3;
use crate::llama::Llama;
use crate::meta;
use candle_core::quantized::gguf_file::{Content, TensorInfo, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_phi3, quantized_qwen2, quantized_qwen3};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Positions a draft may use whatever the file declares: bounds the KV
/// cache (f32, grown by copying) and the per-chunk attention scores, which
/// grow with the context; a long visit's transcript is well under this.
pub(crate) const DRAFT_CONTEXT_CAP_TOKENS: usize = 16_384;

/// Phi-3.5 trains 4,096 positions and reaches 128k only through LongRoPE
/// scaling factors, which candle's phi3 code does not apply; past the
/// original length its attention would be wrong, so we stop there.
const PHI3_DEFAULT_ORIGINAL_CONTEXT: usize = 4096;

/// Upper bound on layers; a file claiming more is corrupt.
const MAX_BLOCKS: u64 = 1024;

/// The model code for one architecture, and the device it runs on.
pub(crate) struct ModelWeights {
    code: ModelCode,
    device: Device,
}

enum ModelCode {
    Llama(Box<Llama>),
    Gemma3(Box<Gemma3>),
    Qwen2(Box<quantized_qwen2::ModelWeights>),
    Qwen3(Box<quantized_qwen3::ModelWeights>),
    Phi3(Box<quantized_phi3::ModelWeights>),
}

impl ModelWeights {
    /// Runs `tokens` at positions `index_pos..` and returns the logits of the
    /// last one, as a 1-D f32 tensor on the CPU.
    pub(crate) fn forward(&mut self, tokens: &[u32], index_pos: usize) -> Result<Tensor, LlmError> {
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        // Every model code returns (batch, vocab) for the last position.
        // The pass runs on a thread of rayon's pool, not on the caller's: a
        // parallel loop started from outside the pool hands its work to the
        // pool and sleeps until it is done, a wake-up of every worker per
        // loop, and a decoded token has about 150 of them (matrices,
        // attention heads, candle's element-wise ops). From inside, the
        // loops run where they start and the other workers steal, spinning
        // between loops instead of sleeping. (Decode's matrix-vector
        // products and attention heads go further, to `crate::spin`'s pool,
        // whose helpers spin between loops for as long as a token takes.)
        // A model with matrices on candle's kernels also runs candle's own
        // spinning pool in decode: our helpers spinning beside it left a
        // 2-core machine three busy threads (Gemma 3 270M's tg128 33 → 26
        // tok/s), so there our loops stay on rayon's pool.
        let spin = match &self.code {
            ModelCode::Llama(m) => !m.on_candle_kernels(),
            ModelCode::Gemma3(m) => !m.on_candle_kernels(),
            _ => false,
        };
        let code = &mut self.code;
        let logits = rayon::scope(|_| {
            crate::spin::allowed_while(spin, || match code {
                ModelCode::Llama(m) => m.forward(&input, index_pos),
                ModelCode::Gemma3(m) => m.forward(&input, index_pos),
                ModelCode::Qwen2(m) => m.forward(&input, index_pos),
                ModelCode::Qwen3(m) => m.forward(&input, index_pos),
                ModelCode::Phi3(m) => m.forward(&input, index_pos),
            })
        })?;
        Ok(logits
            .squeeze(0)?
            .to_dtype(candle_core::DType::F32)?
            .to_device(&Device::Cpu)?)
    }

    /// Whether a pass may start at any position up to what the cache holds,
    /// overwriting what follows (our llama and gemma3 code), so that a
    /// prompt sharing a prefix with the last one reads only the rest.
    /// candle's models only append.
    pub(crate) fn rewinds(&self) -> bool {
        matches!(self.code, ModelCode::Llama(_) | ModelCode::Gemma3(_))
    }

    /// Zeroes and frees the KV cache where the model code is ours; drops
    /// it as [`Self::clear_kv_cache`] does for candle's (whose buffers we
    /// cannot reach).
    pub(crate) fn wipe_kv_cache(&mut self) {
        match &mut self.code {
            ModelCode::Llama(m) => m.wipe_kv_cache(),
            ModelCode::Gemma3(m) => m.wipe_kv_cache(),
            _ => self.clear_kv_cache(),
        }
    }

    /// Drops what the KV cache holds (see the module docs for phi3).
    pub(crate) fn clear_kv_cache(&mut self) {
        match &mut self.code {
            ModelCode::Llama(m) => m.clear_kv_cache(),
            ModelCode::Gemma3(m) => m.clear_kv_cache(),
            ModelCode::Qwen2(m) => m.clear_kv_cache(),
            ModelCode::Qwen3(m) => m.clear_kv_cache(),
            ModelCode::Phi3(m) => {
                // A pass at position 0 makes candle's phi3 reset every layer's
                // cache. Best effort: if it failed, the next prompt (which
                // also starts at 0) resets the cache anyway.
                let _ = Tensor::new(&[0u32], &self.device)
                    .and_then(|t| t.unsqueeze(0))
                    .and_then(|t| m.forward(&t, 0));
            }
        }
    }
}

/// What loading found out about the model.
pub(crate) struct Loaded {
    pub weights: ModelWeights,
    pub architecture: String,
    /// Positions the model can attend over, already capped by the model
    /// code's own limit and [`DRAFT_CONTEXT_CAP_TOKENS`].
    pub context_length: usize,
    pub requantized_tensors: usize,
}

/// Parses the GGUF header of `path`.
pub(crate) fn read_content(path: &Path) -> Result<(Content, std::fs::File), LlmError> {
    let mut file = std::fs::File::open(path).map_err(|source| LlmError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let content = read_content_from(&mut file, path)?;
    Ok((content, file))
}

/// The GGUF header from any reader (a file, or verified bytes in memory);
/// `path` names the model in errors.
pub(crate) fn read_content_from<R: Read + Seek>(
    reader: &mut R,
    path: &Path,
) -> Result<Content, LlmError> {
    Content::read(reader).map_err(|e| LlmError::MalformedGguf {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

/// Whether a tensor of `dtype` is converted to Q8_0 at load: the formats
/// the model code has no fast kernel for. Our llama code runs Q4_1 itself
/// (crate::kernels), so there only Q5_x are converted unless `all` asks
/// for every 4/5-bit format (benchmarks, and tests of the conversion).
fn should_requantize(arch: Arch, dtype: GgmlDType, all: bool) -> bool {
    match dtype {
        GgmlDType::Q5_0 | GgmlDType::Q5_1 => true,
        GgmlDType::Q4_1 => all || !arch.has_own_kernels(),
        _ => false,
    }
}

/// A new tensor table over the file: the tensors `convert` picks are
/// read, converted to Q8_0 and held in memory; every other tensor is left
/// in the file and read from there when the model code asks for it. Only
/// the converted tensors are held twice while the model loads, not the
/// whole file (Gemma 3 270M: its 81 Q5_0 matrices, instead of all 236
/// tensors grown into one buffer).
fn tensor_store<'f, F: Read + Seek>(
    convert: impl Fn(GgmlDType) -> bool,
    ct: &Content,
    file: &'f mut F,
    path: &Path,
) -> Result<(Content, SplicedTensors<'f, F>, usize), LlmError> {
    let weights_err = |problem: String| LlmError::Weights {
        path: path.to_path_buf(),
        problem,
    };
    let mut names: Vec<&String> = ct.tensor_infos.keys().collect();
    names.sort();
    let mut pieces = Vec::with_capacity(names.len());
    let mut infos = HashMap::new();
    let mut converted = 0;
    let mut at = 0u64;
    for name in names {
        let info = &ct.tensor_infos[name];
        let (dtype, source) = if convert(info.ggml_dtype) {
            converted += 1;
            let q = ct
                .tensor(file, name, &Device::Cpu)
                .map_err(|e| weights_err(format!("tensor {name}: {e}")))?;
            let raw = q
                .data()
                .map_err(|e| weights_err(format!("tensor {name}: {e}")))?;
            let bytes = if let Some(wide) = crate::kernels::widen_to_q8_0(q.dtype(), &raw) {
                wide
            } else {
                let f = q
                    .dequantize(&Device::Cpu)
                    .map_err(|e| weights_err(format!("dequantizing {name}: {e}")))?;
                let q8 = QTensor::quantize(&f, GgmlDType::Q8_0)
                    .map_err(|e| weights_err(format!("requantizing {name}: {e}")))?;
                q8.data()
                    .map_err(|e| weights_err(format!("tensor {name}: {e}")))?
                    .into_owned()
            };
            (GgmlDType::Q8_0, Source::Memory(bytes))
        } else {
            let elems = info.shape.elem_count();
            let block = info.ggml_dtype.block_size();
            if !elems.is_multiple_of(block) {
                return Err(weights_err(format!(
                    "tensor {name}: {elems} values are not whole {block}-value blocks"
                )));
            }
            let len = (elems / block * info.ggml_dtype.type_size()) as u64;
            let offset = ct.tensor_data_offset + info.offset;
            (info.ggml_dtype, Source::File { offset, len })
        };
        infos.insert(
            name.clone(),
            TensorInfo {
                ggml_dtype: dtype,
                shape: info.shape.clone(),
                offset: at,
            },
        );
        let len = source.len();
        pieces.push(Piece { start: at, source });
        at += len;
    }
    let store = Content {
        magic: ct.magic,
        metadata: model_metadata(ct),
        tensor_infos: infos,
        tensor_data_offset: 0,
    };
    Ok((
        store,
        SplicedTensors {
            file,
            pieces,
            pos: 0,
            len: at,
        },
        converted,
    ))
}

/// Where one tensor's bytes are.
enum Source {
    Memory(Vec<u8>),
    File { offset: u64, len: u64 },
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Memory(v) => v.len() as u64,
            Source::File { len, .. } => *len,
        }
    }
}

struct Piece {
    start: u64,
    source: Source,
}

/// The tensor data of [`tensor_store`]'s table as one readable stream:
/// pieces from memory and ranges of the file, one after the other.
struct SplicedTensors<'f, F> {
    file: &'f mut F,
    pieces: Vec<Piece>,
    pos: u64,
    len: u64,
}

impl<F: Read + Seek> Read for SplicedTensors<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let i = self
            .pieces
            .partition_point(|p| p.start + p.source.len() <= self.pos);
        let Some(piece) = self.pieces.get(i) else {
            return Ok(0);
        };
        let within = self.pos - piece.start;
        let left = piece.source.len() - within;
        let n = (buf.len() as u64).min(left) as usize;
        let got = match &piece.source {
            Source::Memory(v) => {
                let from = within as usize;
                buf[..n].copy_from_slice(&v[from..from + n]);
                n
            }
            Source::File { offset, .. } => {
                self.file.seek(SeekFrom::Start(offset + within))?;
                self.file.read(&mut buf[..n])?
            }
        };
        self.pos += got as u64;
        Ok(got)
    }
}

impl<F: Read + Seek> Seek for SplicedTensors<'_, F> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(target) = target else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the tensor data",
            ));
        };
        self.pos = target;
        Ok(target)
    }
}

/// The metadata the model code reads: everything but the tokenizer's
/// (Gemma 3's vocabulary alone is 262,144 strings and as many scores, which
/// the loader would otherwise copy while the weights load).
fn model_metadata(ct: &Content) -> HashMap<String, Value> {
    ct.metadata
        .iter()
        .filter(|(k, _)| !k.starts_with("tokenizer."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The architectures with model code here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arch {
    Llama,
    Gemma3,
    Qwen2,
    Qwen3,
    Phi3,
}

impl Arch {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Arch::Llama),
            "gemma3" => Some(Arch::Gemma3),
            "qwen2" => Some(Arch::Qwen2),
            "qwen3" => Some(Arch::Qwen3),
            "phi3" => Some(Arch::Phi3),
            _ => None,
        }
    }

    /// Our model code, on [`crate::kernels`] (which covers Q4_1).
    fn has_own_kernels(self) -> bool {
        matches!(self, Arch::Llama | Arch::Gemma3)
    }

    fn prefix(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Gemma3 => "gemma3",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
        }
    }
}

/// Hyper-parameter reads that name the file in every error.
struct HyperParams<'a> {
    ct: &'a Content,
    path: &'a Path,
    prefix: &'static str,
}

impl HyperParams<'_> {
    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    fn bad(&self, name: &str, problem: impl Into<String>) -> LlmError {
        LlmError::BadHyperParameter {
            path: self.path.to_path_buf(),
            key: self.key(name),
            problem: problem.into(),
        }
    }

    fn fix(&self, e: LlmError, name: &str) -> LlmError {
        match e {
            LlmError::MissingMetadata { .. } => self.bad(name, "it is missing"),
            LlmError::BadMetadata { problem, .. } => self.bad(name, problem),
            other => other,
        }
    }

    fn opt(&self, name: &str) -> Result<Option<u64>, LlmError> {
        meta::opt_u64(self.ct, &self.key(name)).map_err(|e| self.fix(e, name))
    }

    /// A required positive integer that fits a u32 (candle reads them so).
    fn positive(&self, name: &str) -> Result<u64, LlmError> {
        let n = meta::req_u64(self.ct, &self.key(name)).map_err(|e| self.fix(e, name))?;
        if n == 0 || n > u64::from(u32::MAX) {
            return Err(self.bad(name, format!("{n} is out of range")));
        }
        Ok(n)
    }

    fn blocks(&self) -> Result<u64, LlmError> {
        let blocks = self.positive("block_count")?;
        if blocks > MAX_BLOCKS {
            return Err(self.bad("block_count", format!("{blocks} layers")));
        }
        Ok(blocks)
    }

    /// Head counts that candle's grouped-query attention can share out.
    fn heads(&self) -> Result<(u64, u64), LlmError> {
        let heads = self.positive("attention.head_count")?;
        let kv_heads = self.positive("attention.head_count_kv")?;
        if !heads.is_multiple_of(kv_heads) {
            return Err(self.bad(
                "attention.head_count_kv",
                format!("{heads} heads cannot be shared by {kv_heads} key/value heads"),
            ));
        }
        Ok((heads, kv_heads))
    }

    /// Head size `embd / heads` for the codes that derive it so.
    fn head_dim_from_embedding(&self, heads: u64) -> Result<u64, LlmError> {
        let embd = self.positive("embedding_length")?;
        if !embd.is_multiple_of(heads) || !(embd / heads).is_multiple_of(2) {
            return Err(self.bad(
                "embedding_length",
                format!("{embd} is not a multiple of {heads} heads of even size"),
            ));
        }
        Ok(embd / heads)
    }
}

/// Checks what each model code divides by, slices with or sizes tables by,
/// so a corrupt file gives an error naming it instead of a panic.
fn validate(arch: Arch, hp: &HyperParams<'_>) -> Result<(), LlmError> {
    hp.blocks()?;
    let (heads, _) = hp.heads()?;
    match arch {
        Arch::Llama => {
            let head_dim = hp.head_dim_from_embedding(heads)?;
            let rope_dim = hp.positive("rope.dimension_count")?;
            if rope_dim != head_dim {
                return Err(hp.bad(
                    "rope.dimension_count",
                    format!("{rope_dim} does not match the head size {head_dim}"),
                ));
            }
        }
        Arch::Gemma3 => {
            hp.positive("embedding_length")?;
            hp.positive("attention.sliding_window")?;
            let key_len = hp.positive("attention.key_length")?;
            if !key_len.is_multiple_of(2) {
                return Err(hp.bad(
                    "attention.key_length",
                    format!("{key_len} is odd; rotary embeddings need an even head size"),
                ));
            }
            let value_len = hp.positive("attention.value_length")?;
            if value_len != key_len {
                return Err(hp.bad(
                    "attention.value_length",
                    format!("{value_len} differs from the key length {key_len}"),
                ));
            }
        }
        Arch::Qwen2 => {
            hp.head_dim_from_embedding(heads)?;
            hp.positive("context_length")?;
        }
        Arch::Qwen3 => {
            hp.positive("embedding_length")?;
            hp.positive("context_length")?;
            let key_len = hp.positive("attention.key_length")?;
            if !key_len.is_multiple_of(2) {
                return Err(hp.bad(
                    "attention.key_length",
                    format!("{key_len} is odd; rotary embeddings need an even head size"),
                ));
            }
            if let Some(value_len) = hp.opt("attention.value_length")? {
                if value_len != key_len {
                    return Err(hp.bad(
                        "attention.value_length",
                        format!("{value_len} differs from the key length {key_len}"),
                    ));
                }
            }
        }
        Arch::Phi3 => {
            let head_dim = hp.head_dim_from_embedding(heads)?;
            hp.positive("context_length")?;
            hp.positive("feed_forward_length")?;
            let rope_dim = hp.positive("rope.dimension_count")?;
            if rope_dim != head_dim {
                return Err(hp.bad(
                    "rope.dimension_count",
                    format!(
                        "{rope_dim} does not match the head size {head_dim} (partial rotary is not supported)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The context a draft may use: the declared length capped by the model
/// code's own limit and by [`DRAFT_CONTEXT_CAP_TOKENS`].
fn context_cap(arch: Arch, hp: &HyperParams<'_>) -> Result<usize, LlmError> {
    let declared = hp.opt("context_length")?.unwrap_or(2048) as usize;
    let code_limit = match arch {
        // Our code sizes its tables to the context it is given.
        Arch::Llama | Arch::Gemma3 => usize::MAX,
        Arch::Phi3 => hp
            .opt("rope.scaling.original_context_length")?
            .map(|n| n as usize)
            .unwrap_or(PHI3_DEFAULT_ORIGINAL_CONTEXT),
        Arch::Qwen2 | Arch::Qwen3 => usize::MAX,
    };
    // An upper bound of at least 1 (a file may claim 0), so clamp cannot panic.
    let upper = code_limit.clamp(1, DRAFT_CONTEXT_CAP_TOKENS);
    Ok(declared.clamp(1, upper))
}

/// The metadata candle's loader is given: the context capped (it sizes the
/// RoPE tables and phi3's preallocated cache) and qwen3's tables in f32.
fn loader_metadata(arch: Arch, ct: &mut Content, context_length: usize) {
    let capped = Value::U32(u32::try_from(context_length).unwrap_or(u32::MAX));
    ct.metadata
        .insert(format!("{}.context_length", arch.prefix()), capped);
    if arch == Arch::Qwen3 {
        // candle's qwen3: general.dtype 0 = f32 (anything else: f16).
        ct.metadata
            .insert("general.dtype".to_string(), Value::U32(0));
    }
}

fn build<R: Read + Seek>(
    arch: Arch,
    ct: Content,
    reader: &mut R,
    dev: &Device,
    ops: Ops,
) -> candle_core::Result<ModelCode> {
    Ok(match arch {
        Arch::Llama => {
            let context = ct
                .metadata
                .get("llama.context_length")
                .and_then(|v| v.to_u32().ok())
                .map_or(2048, |n| n as usize);
            ModelCode::Llama(Box::new(Llama::from_gguf(&ct, reader, context, dev, ops)?))
        }
        Arch::Gemma3 => {
            let context = ct
                .metadata
                .get("gemma3.context_length")
                .and_then(|v| v.to_u32().ok())
                .map_or(2048, |n| n as usize);
            ModelCode::Gemma3(Box::new(Gemma3::from_gguf(&ct, reader, context, dev, ops)?))
        }
        Arch::Qwen2 => ModelCode::Qwen2(Box::new(quantized_qwen2::ModelWeights::from_gguf(
            ct, reader, dev,
        )?)),
        Arch::Qwen3 => ModelCode::Qwen3(Box::new(quantized_qwen3::ModelWeights::from_gguf(
            ct, reader, dev,
        )?)),
        // Flash attention is a CUDA feature (unimplemented! otherwise).
        Arch::Phi3 => ModelCode::Phi3(Box::new(quantized_phi3::ModelWeights::from_gguf(
            false, ct, reader, dev,
        )?)),
    })
}

/// Runs candle's loader, turning its errors and panics into errors naming
/// the file.
fn guarded_build<R: Read + Seek>(
    arch: Arch,
    ct: Content,
    reader: &mut R,
    path: &Path,
    device: &Device,
    ops: Ops,
) -> Result<ModelWeights, LlmError> {
    let weights_err = |problem: String| LlmError::Weights {
        path: PathBuf::from(path),
        problem,
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build(arch, ct, reader, device, ops)
    }))
    .map_err(|_| {
        weights_err("the model code rejected the file's tensors (inconsistent shapes)".to_string())
    })?
    .map_err(|e| weights_err(e.to_string()))
    .map(|code| ModelWeights {
        code,
        device: device.clone(),
    })
}

/// Loads the model weights for the file's architecture.
pub(crate) fn load_weights<F: Read + Seek>(
    path: &Path,
    ct: &Content,
    file: &mut F,
    requantize: bool,
    requantize_all: bool,
    device: LlmDevice,
    portable_ops: bool,
) -> Result<Loaded, LlmError> {
    let name = meta::req_str(ct, "general.architecture")?.to_string();
    let Some(arch) = Arch::from_name(&name) else {
        return Err(LlmError::UnsupportedArchitecture(name));
    };
    let hp = HyperParams {
        ct,
        path,
        prefix: arch.prefix(),
    };
    validate(arch, &hp)?;
    let context_length = context_cap(arch, &hp)?;
    let dev = device.open()?;
    let ops = Ops::for_device(&dev, portable_ops);
    let needs_conversion = requantize
        && ct
            .tensor_infos
            .values()
            .any(|t| should_requantize(arch, t.ggml_dtype, requantize_all));
    let (weights, converted) = if needs_conversion {
        let convert = |t| should_requantize(arch, t, requantize_all);
        let (mut store, mut cursor, converted) = tensor_store(convert, ct, file, path)?;
        loader_metadata(arch, &mut store, context_length);
        (
            guarded_build(arch, store, &mut cursor, path, &dev, ops)?,
            converted,
        )
    } else {
        let mut header = Content {
            magic: ct.magic,
            metadata: model_metadata(ct),
            tensor_infos: ct
                .tensor_infos
                .iter()
                .map(|(k, t)| {
                    let info = TensorInfo {
                        ggml_dtype: t.ggml_dtype,
                        shape: t.shape.clone(),
                        offset: t.offset,
                    };
                    (k.clone(), info)
                })
                .collect(),
            tensor_data_offset: ct.tensor_data_offset,
        };
        loader_metadata(arch, &mut header, context_length);
        (guarded_build(arch, header, file, path, &dev, ops)?, 0)
    };
    Ok(Loaded {
        weights,
        architecture: name,
        context_length,
        requantized_tensors: converted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spliced_tensor_data_reads_as_its_pieces_one_after_the_other() {
        use std::io::Write;
        let mut f = tempfile::tempfile().unwrap();
        let on_disk: Vec<u8> = (0..200u8).collect();
        f.write_all(&on_disk).unwrap();
        let pieces = vec![
            Piece {
                start: 0,
                source: Source::File {
                    offset: 10,
                    len: 30,
                },
            },
            Piece {
                start: 30,
                source: Source::Memory(vec![0xAA; 17]),
            },
            Piece {
                start: 47,
                source: Source::File {
                    offset: 150,
                    len: 50,
                },
            },
        ];
        let mut expected = on_disk[10..40].to_vec();
        expected.extend([0xAA; 17]);
        expected.extend(&on_disk[150..200]);
        let mut s = SplicedTensors {
            file: &mut f,
            pieces,
            pos: 0,
            len: 97,
        };
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(all, expected);
        // Reads that start inside a piece and cross into the next.
        for start in [0u64, 5, 29, 30, 46, 47, 90] {
            s.seek(SeekFrom::Start(start)).unwrap();
            let mut buf = vec![0u8; 20.min(97 - start as usize)];
            s.read_exact(&mut buf).unwrap();
            assert_eq!(buf, expected[start as usize..start as usize + buf.len()]);
        }
        assert_eq!(s.seek(SeekFrom::End(-7)).unwrap(), 90);
        assert!(s.seek(SeekFrom::Current(-100)).is_err());
        // Past the end: nothing, not an error (read_exact then fails).
        s.seek(SeekFrom::Start(97)).unwrap();
        assert!(s.read_exact(&mut [0u8; 1]).is_err());
    }

    fn content(md: &[(&str, Value)]) -> Content {
        Content {
            magic: candle_core::quantized::gguf_file::VersionedMagic::GgufV3,
            metadata: md.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            tensor_infos: HashMap::new(),
            tensor_data_offset: 0,
        }
    }

    #[test]
    fn phi3_context_is_capped_at_the_original_length() {
        let ct = content(&[
            ("phi3.context_length", Value::U32(131_072)),
            (
                "phi3.rope.scaling.original_context_length",
                Value::U32(4096),
            ),
        ]);
        let hp = HyperParams {
            ct: &ct,
            path: Path::new("x.gguf"),
            prefix: "phi3",
        };
        assert_eq!(context_cap(Arch::Phi3, &hp).unwrap(), 4096);
        let ct = content(&[("qwen2.context_length", Value::U32(32_768))]);
        let hp = HyperParams {
            ct: &ct,
            path: Path::new("x.gguf"),
            prefix: "qwen2",
        };
        assert_eq!(
            context_cap(Arch::Qwen2, &hp).unwrap(),
            DRAFT_CONTEXT_CAP_TOKENS
        );
    }

    #[test]
    fn fail_qwen3_odd_head_size_names_the_file() {
        let ct = content(&[
            ("qwen3.block_count", Value::U32(2)),
            ("qwen3.attention.head_count", Value::U32(4)),
            ("qwen3.attention.head_count_kv", Value::U32(2)),
            ("qwen3.embedding_length", Value::U32(32)),
            ("qwen3.context_length", Value::U32(256)),
            ("qwen3.attention.key_length", Value::U32(7)),
        ]);
        let hp = HyperParams {
            ct: &ct,
            path: Path::new("odd.gguf"),
            prefix: "qwen3",
        };
        let err = validate(Arch::Qwen3, &hp).unwrap_err();
        assert!(err.to_string().contains("odd.gguf"), "{err}");
        assert!(
            err.to_string().contains("qwen3.attention.key_length"),
            "{err}"
        );
    }
}
