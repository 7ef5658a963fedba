//! CTranslate2 whisper export → whisper.cpp ggml file, in memory.
//!
//! The output follows whisper.cpp's `convert-pt-to-ggml.py`: tensors in
//! OpenAI's state-dict order ([`crate::ggml::whisper_tensor_layout`]),
//! matrices and conv kernels f16, everything 1-D plus the conv biases (as
//! `[n, 1]`) and the positional embeddings f32, librosa's mel filterbank
//! ([`crate::mel`], bit-identical to OpenAI's `mel_filters.npz`, including its
//! leading `-0.0`) and the GPT-2 byte-level vocabulary up to `<|endoftext|>`
//! mapped back to raw bytes (identical to `gpt2.tiktoken`; whisper.cpp adds
//! the special tokens itself). The conversion is deterministic: the same
//! input gives the same bytes, and the manifest pins their SHA-256.
//!
//! CTranslate2 fuses q,k,v (self-attention, output rows in thirds) and k,v
//! (cross-attention, halves) and stores a key bias that OpenAI's model does
//! not have; the converter splits the fused matrices, drops the key-bias
//! slices and requires them to be exactly zero — which also proves the fused
//! order is the one assumed. Everything here works on hash-verified bytes,
//! but is still bounded and panic-free on any input.

use crate::ct2::{parse_ct2, Ct2Dtype, Ct2Model, Ct2Variable};
use crate::ggml::{
    whisper_tensor_layout, TensorKind, WhisperHparams, GGML_MAGIC, GGML_QNT_VERSION_FACTOR,
    GGML_TYPE_F16, GGML_TYPE_F32, GGML_TYPE_Q8_0,
};
use crate::mel::mel_filters;
use crate::store::Quantization;
use half::f16;

/// Why a conversion failed (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ConvertError> {
    Err(ConvertError(msg.into()))
}

/// GPT-2's byte ↔ printable-character table: returns, for a char, its byte.
fn byte_decoder() -> std::collections::HashMap<char, u8> {
    let mut bs: Vec<u32> = (u32::from('!')..=u32::from('~'))
        .chain(u32::from('¡')..=u32::from('¬'))
        .chain(u32::from('®')..=u32::from('ÿ'))
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.iter()
        .zip(&cs)
        .filter_map(|(&b, &c)| Some((char::from_u32(c)?, u8::try_from(b).ok()?)))
        .collect()
}

/// The vocabulary tokens whisper.cpp reads: ids before `<|endoftext|>`, as
/// raw bytes.
fn vocabulary_tokens(vocabulary_txt: &[u8], n_vocab: usize) -> Result<Vec<Vec<u8>>, ConvertError> {
    let text = std::str::from_utf8(vocabulary_txt)
        .map_err(|_| ConvertError("vocabulary.txt is not UTF-8".into()))?;
    let decoder = byte_decoder();
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line == "<|endoftext|>" {
            return Ok(out);
        }
        if out.len() >= n_vocab {
            break;
        }
        let bytes: Option<Vec<u8>> = line.chars().map(|c| decoder.get(&c).copied()).collect();
        match bytes {
            Some(b) if !b.is_empty() && b.len() <= 1024 => out.push(b),
            _ => return err("vocabulary.txt has a token that is not GPT-2 byte-level text"),
        }
    }
    err("vocabulary.txt has no <|endoftext|> token within n_vocab lines")
}

fn scalar_i64(model: &Ct2Model<'_>, name: &str) -> Option<i64> {
    let v = model.get(name)?;
    if !v.dims.is_empty() {
        return None;
    }
    let d = v.data;
    Some(match v.dtype {
        Ct2Dtype::I8 => i64::from(i8::from_le_bytes([*d.first()?])),
        Ct2Dtype::I16 => i64::from(i16::from_le_bytes([*d.first()?, *d.get(1)?])),
        Ct2Dtype::I32 => i64::from(i32::from_le_bytes(d.get(..4)?.try_into().ok()?)),
        _ => return None,
    })
}

fn count_layers(model: &Ct2Model<'_>, side: &str) -> Result<i32, ConvertError> {
    let prefix = format!("{side}/layer_");
    let mut max: Option<u32> = None;
    for v in &model.variables {
        if let Some(rest) = v.name.strip_prefix(&prefix) {
            // `layer_norm` also starts with `layer_`: only `layer_<digits>/`.
            if let Some((digits, _)) = rest.split_once('/') {
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    let n: u32 = digits
                        .parse()
                        .map_err(|_| ConvertError(format!("bad {side} layer index")))?;
                    max = Some(max.map_or(n, |m| m.max(n)));
                }
            }
        }
    }
    match max {
        Some(m) if m < 256 => Ok(m as i32 + 1),
        Some(_) => err(format!("too many {side} layers")),
        None => err(format!("no {side} layers")),
    }
}

fn dim(v: &Ct2Variable<'_>, i: usize) -> Result<i32, ConvertError> {
    v.dims
        .get(i)
        .and_then(|&d| i32::try_from(d).ok())
        .ok_or_else(|| ConvertError(format!("{} has an unexpected shape", v.name)))
}

fn var<'m, 'a>(model: &'m Ct2Model<'a>, name: &str) -> Result<&'m Ct2Variable<'a>, ConvertError> {
    model
        .get(name)
        .ok_or_else(|| ConvertError(format!("model.bin has no variable {name}")))
}

/// Derives whisper's hparams from the CT2 variables.
pub fn hparams_from_ct2(model: &Ct2Model<'_>) -> Result<WhisperHparams, ConvertError> {
    if model.spec != "WhisperSpec" {
        return err(format!(
            "model.bin is a {} model, not whisper",
            model.spec.chars().take(40).collect::<String>()
        ));
    }
    let emb = var(model, "decoder/embeddings/weight")?;
    let enc_pos = var(model, "encoder/position_encodings/encodings")?;
    let dec_pos = var(model, "decoder/position_encodings/encodings")?;
    let conv1 = var(model, "encoder/conv1/weight")?;
    let n_audio_state = dim(enc_pos, 1)?;
    let n_text_state = dim(dec_pos, 1)?;
    let heads = |side: &str, state: i32| -> Result<i32, ConvertError> {
        match scalar_i64(model, &format!("{side}/num_heads")) {
            Some(h) => i32::try_from(h).map_err(|_| ConvertError("bad num_heads".into())),
            None => Ok(state / 64),
        }
    };
    let h = WhisperHparams {
        n_vocab: dim(emb, 0)?,
        n_audio_ctx: dim(enc_pos, 0)?,
        n_audio_state,
        n_audio_head: heads("encoder", n_audio_state)?,
        n_audio_layer: count_layers(model, "encoder")?,
        n_text_ctx: dim(dec_pos, 0)?,
        n_text_state,
        n_text_head: heads("decoder", n_text_state)?,
        n_text_layer: count_layers(model, "decoder")?,
        n_mels: dim(conv1, 1)?,
        ftype: 1,
    };
    h.check().map_err(ConvertError)?;
    Ok(h)
}

/// Where a ggml tensor's data lives in the CT2 model: variable name and,
/// for fused matrices, (part index, part count) along the outermost axis.
fn ct2_source(name: &str) -> Option<(String, Option<(usize, usize)>)> {
    let ln_leaf = |leaf: &str| match leaf {
        "weight" => Some("gamma"),
        "bias" => Some("beta"),
        _ => None,
    };
    match name {
        "encoder.positional_embedding" => {
            return Some(("encoder/position_encodings/encodings".into(), None))
        }
        "decoder.positional_embedding" => {
            return Some(("decoder/position_encodings/encodings".into(), None))
        }
        "decoder.token_embedding.weight" => {
            return Some(("decoder/embeddings/weight".into(), None))
        }
        _ => {}
    }
    let (side, rest) = name.split_once('.')?;
    if side != "encoder" && side != "decoder" {
        return None;
    }
    if let Some(conv) = rest.strip_prefix("conv") {
        let (n, leaf) = conv.split_once('.')?;
        return Some((format!("{side}/conv{n}/{leaf}"), None));
    }
    if let Some(leaf) = rest
        .strip_prefix("ln_post.")
        .or_else(|| rest.strip_prefix("ln."))
    {
        return Some((format!("{side}/layer_norm/{}", ln_leaf(leaf)?), None));
    }
    let rest = rest.strip_prefix("blocks.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (sub, leaf) = rest.rsplit_once('.')?;
    let base = format!("{side}/layer_{layer}");
    let (path, part, is_ln) = match sub {
        "attn.query" => ("self_attention/linear_0", Some((0, 3)), false),
        "attn.key" => ("self_attention/linear_0", Some((1, 3)), false),
        "attn.value" => ("self_attention/linear_0", Some((2, 3)), false),
        "attn.out" => ("self_attention/linear_1", None, false),
        "attn_ln" => ("self_attention/layer_norm", None, true),
        "cross_attn.query" => ("attention/linear_0", None, false),
        "cross_attn.key" => ("attention/linear_1", Some((0, 2)), false),
        "cross_attn.value" => ("attention/linear_1", Some((1, 2)), false),
        "cross_attn.out" => ("attention/linear_2", None, false),
        "cross_attn_ln" => ("attention/layer_norm", None, true),
        "mlp.0" => ("ffn/linear_0", None, false),
        "mlp.2" => ("ffn/linear_1", None, false),
        "mlp_ln" => ("ffn/layer_norm", None, true),
        _ => return None,
    };
    let leaf = if is_ln { ln_leaf(leaf)? } else { leaf };
    Some((format!("{base}/{path}/{leaf}"), part))
}

/// The raw little-endian elements of a variable's part.
fn part_bytes<'a>(
    v: &Ct2Variable<'a>,
    part: Option<(usize, usize)>,
) -> Result<(&'a [u8], Vec<u64>), ConvertError> {
    let mut shape: Vec<u64> = v.dims.iter().map(|&d| u64::from(d)).collect();
    let Some((k, n)) = part else {
        return Ok((v.data, shape));
    };
    let rows = *shape
        .first()
        .ok_or_else(|| ConvertError(format!("{} is a scalar", v.name)))?;
    if n == 0 || rows % n as u64 != 0 {
        return err(format!("{} cannot be split in {n}", v.name));
    }
    let len = v.data.len() / n;
    if len * n != v.data.len() {
        return err(format!("{} cannot be split in {n}", v.name));
    }
    shape[0] = rows / n as u64;
    let start = len * k;
    v.data
        .get(start..start + len)
        .map(|d| (d, shape))
        .ok_or_else(|| ConvertError(format!("{} is too short", v.name)))
}

fn elements_f32(data: &[u8], dtype: Ct2Dtype, name: &str) -> Result<Vec<f32>, ConvertError> {
    match dtype {
        Ct2Dtype::F16 => Ok(data
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()),
        Ct2Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        _ => err(format!(
            "{name} is stored as {dtype:?}; only float16/float32 CTranslate2 exports can be converted"
        )),
    }
}

fn is_all_zero(data: &[u8], dtype: Ct2Dtype) -> bool {
    match dtype {
        Ct2Dtype::F16 => data
            .chunks_exact(2)
            .all(|c| u16::from_le_bytes([c[0], c[1]]) & 0x7fff == 0),
        Ct2Dtype::F32 => data
            .chunks_exact(4)
            .all(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) & 0x7fff_ffff == 0),
        _ => false,
    }
}

/// ggml's reference q8_0 quantisation of one row (length a multiple of 32):
/// per block of 32, an f16 scale `max|x| / 127` and 32 `round(x / scale)`.
pub fn quantize_row_q8_0(row: &[f32], out: &mut Vec<u8>) {
    for block in row.chunks(32) {
        let amax = block.iter().fold(0f32, |m, &x| m.max(x.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for &x in block {
            out.push(((x * id).round() as i32).clamp(-128, 127) as i8 as u8);
        }
        // A short trailing block never happens: callers check the row length.
    }
}

fn squeeze(shape: &[u64]) -> Vec<u64> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

/// Converts a CTranslate2 whisper export (the three files' bytes, already
/// hash-verified) into a whisper.cpp ggml file.
pub fn ct2_to_ggml(
    model_bin: &[u8],
    config_json: &[u8],
    vocabulary_txt: &[u8],
    quantize: Option<Quantization>,
) -> Result<Vec<u8>, ConvertError> {
    let config: serde_json::Value = serde_json::from_slice(config_json)
        .map_err(|_| ConvertError("config.json is not valid JSON".into()))?;
    if !config.is_object() {
        return err("config.json is not a JSON object");
    }
    let model = parse_ct2(model_bin).map_err(|e| ConvertError(format!("model.bin: {e}")))?;
    let mut h = hparams_from_ct2(&model)?;
    let weight_type = match quantize {
        None => GGML_TYPE_F16,
        Some(Quantization::Q8_0) => {
            // whisper.cpp's quantize tool writes QNT_VERSION * 1000 + MOSTLY_Q8_0.
            h.ftype = 2 * GGML_QNT_VERSION_FACTOR + 7;
            GGML_TYPE_Q8_0
        }
    };
    let n_vocab = usize::try_from(h.n_vocab).map_err(|_| ConvertError("bad n_vocab".into()))?;
    let tokens = vocabulary_tokens(vocabulary_txt, n_vocab)?;

    let mut out: Vec<u8> = Vec::with_capacity(model_bin.len() + (8 << 20));
    out.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    for v in h.to_array() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let n_fft = 400usize;
    let n_mels = usize::try_from(h.n_mels).map_err(|_| ConvertError("bad n_mels".into()))?;
    let filters = mel_filters(16_000, n_fft, n_mels);
    out.extend_from_slice(&h.n_mels.to_le_bytes());
    out.extend_from_slice(&((n_fft / 2 + 1) as i32).to_le_bytes());
    for f in &filters {
        out.extend_from_slice(&f.to_le_bytes());
    }
    out.extend_from_slice(&(tokens.len() as i32).to_le_bytes());
    for t in &tokens {
        out.extend_from_slice(&(t.len() as i32).to_le_bytes());
        out.extend_from_slice(t);
    }

    for spec in whisper_tensor_layout(&h) {
        let (src_name, part) = ct2_source(&spec.name)
            .ok_or_else(|| ConvertError(format!("no CTranslate2 source for {}", spec.name)))?;
        let v = var(&model, &src_name)?;
        let (data, shape) = part_bytes(v, part)?;
        if squeeze(&shape) != squeeze(&spec.shape) {
            return err(format!(
                "{src_name} has shape {shape:?}, expected {:?} for {}",
                spec.shape, spec.name
            ));
        }
        if spec.name.ends_with(".key.weight") {
            // OpenAI's key projection has no bias: CT2's slice must be zero.
            let bias = var(&model, &src_name.replace("/weight", "/bias"))?;
            let (bias_data, _) = part_bytes(bias, part)?;
            if !is_all_zero(bias_data, bias.dtype) {
                return err(format!(
                    "{} has a non-zero key bias: the fused q/k/v order is not the one expected",
                    src_name.replace("/weight", "/bias")
                ));
            }
        }
        let ttype = spec.kind.ggml_type(weight_type);
        let n_dims = spec.shape.len() as i32;
        out.extend_from_slice(&n_dims.to_le_bytes());
        out.extend_from_slice(&(spec.name.len() as i32).to_le_bytes());
        out.extend_from_slice(&(ttype as i32).to_le_bytes());
        for &d in spec.shape.iter().rev() {
            let d = i32::try_from(d).map_err(|_| ConvertError("dimension too large".into()))?;
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(spec.name.as_bytes());
        match (ttype, v.dtype) {
            (GGML_TYPE_F16, Ct2Dtype::F16) => out.extend_from_slice(data),
            (GGML_TYPE_F16, _) => {
                for x in elements_f32(data, v.dtype, &src_name)? {
                    out.extend_from_slice(&f16::from_f32(x).to_le_bytes());
                }
            }
            (GGML_TYPE_F32, _) => {
                for x in elements_f32(data, v.dtype, &src_name)? {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
            (GGML_TYPE_Q8_0, _) => {
                let row_len = *spec.shape.last().unwrap_or(&0) as usize;
                if spec.kind != TensorKind::Weight || row_len == 0 || !row_len.is_multiple_of(32) {
                    return err(format!(
                        "{} rows of {row_len} cannot be quantised to q8_0",
                        spec.name
                    ));
                }
                let values = elements_f32(data, v.dtype, &src_name)?;
                for row in values.chunks(row_len) {
                    quantize_row_q8_0(row, &mut out);
                }
            }
            _ => return err(format!("unsupported output type {ttype}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_maps_gpt2_specials() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'Ċ'], b'\n');
        assert_eq!(d[&'a'], b'a');
    }

    #[test]
    fn source_names() {
        assert_eq!(
            ct2_source("encoder.blocks.3.attn.key.weight"),
            Some((
                "encoder/layer_3/self_attention/linear_0/weight".into(),
                Some((1, 3))
            ))
        );
        assert_eq!(
            ct2_source("decoder.blocks.0.cross_attn_ln.bias"),
            Some(("decoder/layer_0/attention/layer_norm/beta".into(), None))
        );
        assert_eq!(
            ct2_source("decoder.ln.weight"),
            Some(("decoder/layer_norm/gamma".into(), None))
        );
        assert_eq!(
            ct2_source("encoder.conv2.bias"),
            Some(("encoder/conv2/bias".into(), None))
        );
    }

    #[test]
    fn q8_0_block() {
        let row: Vec<f32> = (0..32).map(|i| i as f32 - 16.0).collect();
        let mut out = Vec::new();
        quantize_row_q8_0(&row, &mut out);
        assert_eq!(out.len(), 34);
        assert_eq!(out[2] as i8, -127);
    }
}
