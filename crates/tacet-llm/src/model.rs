//! Loading GGUF weights into candle's model code, chosen by architecture.
//!
//! Two decisions live here:
//!
//! - **Requantization at load.** candle 0.11.1 has no SIMD kernel (and no
//!   batched GEMM) for Q4_1, Q5_0 and Q5_1, so a Q4_1 SmolLM2 runs at scalar
//!   speed (measured ≈ 29 tok/s prefill here against ≈ 180 after converting).
//!   With `requantize_to_q8_0` those tensors are dequantized and quantized
//!   again to Q8_0 in memory, a few seconds at load. Q8_0 is lossless enough
//!   for a 4/5-bit source (its 8-bit grid is finer than the original's), so
//!   the model's outputs barely move. The converted tensors are handed to
//!   candle's unmodified loader through an in-memory tensor store, so we do
//!   not fork the model code.
//! - **Never panic on a bad file.** The GGUF header is parsed with candle's
//!   bounds-checked reader; the hyper-parameters the model code divides by
//!   are validated first; and the loader itself runs under `catch_unwind` as
//!   a last line of defence, turning a panic deep in candle into an error
//!   that names the file.

use crate::error::LlmError;
use crate::meta;
use candle_core::quantized::gguf_file::{Content, TensorInfo};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama;
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

/// The model code for one architecture.
pub(crate) enum ModelWeights {
    Llama(quantized_llama::ModelWeights),
}

impl ModelWeights {
    /// Runs `tokens` at positions `index_pos..` and returns the logits of the
    /// last one, as a 1-D f32 tensor.
    pub(crate) fn forward(&mut self, tokens: &[u32], index_pos: usize) -> Result<Tensor, LlmError> {
        let input = Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
        let logits = match self {
            ModelWeights::Llama(m) => m.forward(&input, index_pos)?,
        };
        Ok(logits.squeeze(0)?.to_dtype(candle_core::DType::F32)?)
    }

    pub(crate) fn clear_kv_cache(&mut self) {
        match self {
            ModelWeights::Llama(m) => m.clear_kv_cache(),
        }
    }
}

/// What loading found out about the model.
pub(crate) struct Loaded {
    pub weights: ModelWeights,
    pub architecture: String,
    /// Positions the model can attend over, already capped by the model
    /// code's own limit.
    pub context_length: usize,
    pub requantized_tensors: usize,
}

/// Parses the GGUF header of `path`.
pub(crate) fn read_content(path: &Path) -> Result<(Content, std::fs::File), LlmError> {
    let mut file = std::fs::File::open(path).map_err(|source| LlmError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let content = Content::read(&mut file).map_err(|e| LlmError::MalformedGguf {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    Ok((content, file))
}

fn should_requantize(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// Reads every tensor, converting Q4_1/Q5_x to Q8_0 when asked, into an
/// in-memory tensor store that candle's loader reads like a file.
fn tensor_store(
    ct: &Content,
    file: &mut std::fs::File,
    requantize: bool,
    path: &Path,
) -> Result<(Content, Cursor<Vec<u8>>, usize), LlmError> {
    let weights_err = |problem: String| LlmError::Weights {
        path: path.to_path_buf(),
        problem,
    };
    let mut names: Vec<&String> = ct.tensor_infos.keys().collect();
    names.sort();
    let mut data = Vec::new();
    let mut infos = HashMap::new();
    let mut converted = 0;
    for name in names {
        let q = ct
            .tensor(file, name, &Device::Cpu)
            .map_err(|e| weights_err(format!("tensor {name}: {e}")))?;
        let q = if requantize && should_requantize(q.dtype()) {
            converted += 1;
            let f = q
                .dequantize(&Device::Cpu)
                .map_err(|e| weights_err(format!("dequantizing {name}: {e}")))?;
            QTensor::quantize(&f, GgmlDType::Q8_0)
                .map_err(|e| weights_err(format!("requantizing {name}: {e}")))?
        } else {
            q
        };
        let bytes = q
            .data()
            .map_err(|e| weights_err(format!("tensor {name}: {e}")))?;
        let offset = data.len() as u64;
        data.extend_from_slice(&bytes);
        infos.insert(
            name.clone(),
            TensorInfo {
                ggml_dtype: q.dtype(),
                shape: q.shape().clone(),
                offset,
            },
        );
    }
    let store = Content {
        magic: ct.magic,
        metadata: ct.metadata.clone(),
        tensor_infos: infos,
        tensor_data_offset: 0,
    };
    Ok((store, Cursor::new(data), converted))
}

/// Checks the llama hyper-parameters candle's code divides by or indexes
/// with, so a corrupt file gives an error instead of a panic.
fn validate_llama(ct: &Content) -> Result<(), LlmError> {
    let heads = meta::req_u64(ct, "llama.attention.head_count")?;
    let kv_heads = meta::req_u64(ct, "llama.attention.head_count_kv")?;
    let embd = meta::req_u64(ct, "llama.embedding_length")?;
    let blocks = meta::req_u64(ct, "llama.block_count")?;
    let rope_dim = meta::req_u64(ct, "llama.rope.dimension_count")?;
    if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 {
        return Err(meta::bad_metadata(
            "llama.attention.head_count_kv",
            format!("{heads} heads cannot be shared by {kv_heads} key/value heads"),
        ));
    }
    if embd == 0 || embd % heads != 0 {
        return Err(meta::bad_metadata(
            "llama.embedding_length",
            format!("{embd} is not a multiple of {heads} heads"),
        ));
    }
    if rope_dim == 0 || rope_dim % 2 != 0 || rope_dim != embd / heads {
        return Err(meta::bad_metadata(
            "llama.rope.dimension_count",
            format!("{rope_dim} does not match the head size {}", embd / heads),
        ));
    }
    if blocks == 0 || blocks > 1024 {
        return Err(meta::bad_metadata(
            "llama.block_count",
            format!("{blocks} layers"),
        ));
    }
    Ok(())
}

/// Loads the model weights for the file's architecture.
pub(crate) fn load_weights(
    path: &Path,
    ct: &Content,
    file: &mut std::fs::File,
    requantize: bool,
) -> Result<Loaded, LlmError> {
    let arch = meta::req_str(ct, "general.architecture")?.to_string();
    match arch.as_str() {
        "llama" => {
            validate_llama(ct)?;
            let declared = meta::opt_u64(ct, "llama.context_length")?.unwrap_or(2048) as usize;
            let context_length = declared.min(quantized_llama::MAX_SEQ_LEN);
            let (store, mut cursor, converted) = tensor_store(ct, file, requantize, path)?;
            let weights = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                quantized_llama::ModelWeights::from_gguf(store, &mut cursor, &Device::Cpu)
            }))
            .map_err(|_| LlmError::Weights {
                path: path.to_path_buf(),
                problem: "the model code rejected the file's tensors (inconsistent shapes)"
                    .to_string(),
            })?
            .map_err(|e| LlmError::Weights {
                path: path.to_path_buf(),
                problem: e.to_string(),
            })?;
            Ok(Loaded {
                weights: ModelWeights::Llama(weights),
                architecture: arch,
                context_length,
                requantized_tensors: converted,
            })
        }
        // Planned: each gets its own (corrected) model code, see
        // /work/shared/notes/llm-on-this-machine.md for candle's gemma3 bugs.
        "gemma3" | "qwen2" | "qwen3" | "phi3" => Err(LlmError::UnsupportedArchitecture(arch)),
        _ => Err(LlmError::UnsupportedArchitecture(arch)),
    }
}
