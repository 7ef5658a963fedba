//! whisper.cpp's legacy ggml model file: the layout of the tensors a whisper
//! model must have, and a checker that validates a file before whisper.cpp
//! sees it (whisper.cpp trusts the header: it asserts and allocates from the
//! hparams, and aborts the whole process on some malformed files).
//!
//! File layout: u32 magic `0x67676d6c`, 11 i32 hparams, the mel filterbank
//! (i32 n_mel, i32 n_fft, f32 data), the vocabulary (i32 count, then per
//! token a u32 length and bytes), then tensors until EOF: i32 n_dims,
//! i32 name length, i32 type, i32 dims (innermost first), name, data.

use crate::error::ModelError;
use crate::reader::{ggml_tensor_bytes, LeReader, ReadFail};
use std::io::{Read, Seek};
use std::path::Path;

/// The ggml magic number, `ggml` as a little-endian u32.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// ggml type ids used by whisper files.
pub const GGML_TYPE_F32: u32 = 0;
pub const GGML_TYPE_F16: u32 = 1;
pub const GGML_TYPE_Q8_0: u32 = 8;
/// whisper.cpp's quantisation-version factor in the `ftype` hparam.
pub const GGML_QNT_VERSION_FACTOR: i32 = 1000;

/// The whisper hyperparameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhisperHparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl WhisperHparams {
    pub(crate) fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        WhisperHparams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }

    /// The ggml type of the big matrices for this `ftype` (after removing
    /// the quantisation version), as whisper.cpp maps it.
    pub fn weight_type(&self) -> Option<u32> {
        match self.ftype % GGML_QNT_VERSION_FACTOR {
            0 => Some(GGML_TYPE_F32),
            1 => Some(GGML_TYPE_F16),
            2 => Some(2), // MOSTLY_Q4_0
            3 => Some(3), // MOSTLY_Q4_1
            7 => Some(8), // MOSTLY_Q8_0
            8 => Some(6), // MOSTLY_Q5_0
            9 => Some(7), // MOSTLY_Q5_1
            _ => None,
        }
    }

    /// Bounds that keep whisper.cpp's allocations and asserts safe.
    pub(crate) fn check(&self) -> Result<(), String> {
        let h = self;
        let in_range = |v: i32, lo: i32, hi: i32, what: &str| {
            if v < lo || v > hi {
                Err(format!("{what} = {v} is outside {lo}..={hi}"))
            } else {
                Ok(())
            }
        };
        in_range(h.n_vocab, 1, 1 << 20, "n_vocab")?;
        in_range(h.n_audio_ctx, 1, 1 << 14, "n_audio_ctx")?;
        in_range(h.n_audio_state, 1, 1 << 14, "n_audio_state")?;
        in_range(h.n_audio_head, 1, 1 << 10, "n_audio_head")?;
        in_range(h.n_audio_layer, 1, 256, "n_audio_layer")?;
        in_range(h.n_text_ctx, 1, 1 << 14, "n_text_ctx")?;
        in_range(h.n_text_state, 1, 1 << 14, "n_text_state")?;
        in_range(h.n_text_head, 1, 1 << 10, "n_text_head")?;
        in_range(h.n_text_layer, 1, 256, "n_text_layer")?;
        in_range(h.n_mels, 1, 512, "n_mels")?;
        in_range(h.ftype, 0, 10 * GGML_QNT_VERSION_FACTOR, "ftype")?;
        if h.n_text_state != h.n_audio_state {
            return Err("n_text_state differs from n_audio_state".into());
        }
        if h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0 {
            return Err("the state size is not a multiple of the head count".into());
        }
        if h.weight_type().is_none() {
            return Err(format!("ftype {} is not one whisper.cpp knows", h.ftype));
        }
        Ok(())
    }
}

/// One tensor of a whisper model: its name, its shape outermost first (as
/// PyTorch writes it), and whether it is a big matrix stored in the file's
/// weight type (`false`: stored f32 or, for the conv kernels, f16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<u64>,
    pub kind: TensorKind,
}

/// How whisper.cpp types a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// Always f32: norms, biases, positional embeddings.
    F32,
    /// The conv kernels: f32 in an f32 model, else f16.
    Conv,
    /// Matrices: the file's weight type.
    Weight,
}

impl TensorKind {
    /// The ggml type whisper.cpp expects for this tensor.
    pub fn ggml_type(self, weight_type: u32) -> u32 {
        match self {
            TensorKind::F32 => GGML_TYPE_F32,
            TensorKind::Conv if weight_type == GGML_TYPE_F32 => GGML_TYPE_F32,
            TensorKind::Conv => GGML_TYPE_F16,
            TensorKind::Weight => weight_type,
        }
    }
}

/// Every tensor of a whisper model, in the order OpenAI's state dict (and so
/// the reference converter) writes them.
pub fn whisper_tensor_layout(h: &WhisperHparams) -> Vec<TensorSpec> {
    let mut out = Vec::new();
    let mut t = |name: String, shape: &[i32], kind: TensorKind| {
        out.push(TensorSpec {
            name,
            shape: shape.iter().map(|&d| d.max(0) as u64).collect(),
            kind,
        })
    };
    let (s, m) = (h.n_audio_state, h.n_mels);
    use TensorKind::{Conv, Weight, F32};
    t(
        "encoder.positional_embedding".into(),
        &[h.n_audio_ctx, s],
        F32,
    );
    t("encoder.conv1.weight".into(), &[s, m, 3], Conv);
    t("encoder.conv1.bias".into(), &[s, 1], F32);
    t("encoder.conv2.weight".into(), &[s, s, 3], Conv);
    t("encoder.conv2.bias".into(), &[s, 1], F32);
    let attn = |t: &mut dyn FnMut(String, &[i32], TensorKind), p: &str, s: i32| {
        t(format!("{p}.query.weight"), &[s, s], Weight);
        t(format!("{p}.query.bias"), &[s], F32);
        t(format!("{p}.key.weight"), &[s, s], Weight);
        t(format!("{p}.value.weight"), &[s, s], Weight);
        t(format!("{p}.value.bias"), &[s], F32);
        t(format!("{p}.out.weight"), &[s, s], Weight);
        t(format!("{p}.out.bias"), &[s], F32);
    };
    let ln = |t: &mut dyn FnMut(String, &[i32], TensorKind), p: &str, s: i32| {
        t(format!("{p}.weight"), &[s], F32);
        t(format!("{p}.bias"), &[s], F32);
    };
    let mlp = |t: &mut dyn FnMut(String, &[i32], TensorKind), p: &str, s: i32| {
        t(format!("{p}.mlp.0.weight"), &[4 * s, s], Weight);
        t(format!("{p}.mlp.0.bias"), &[4 * s], F32);
        t(format!("{p}.mlp.2.weight"), &[s, 4 * s], Weight);
        t(format!("{p}.mlp.2.bias"), &[s], F32);
        t(format!("{p}.mlp_ln.weight"), &[s], F32);
        t(format!("{p}.mlp_ln.bias"), &[s], F32);
    };
    for i in 0..h.n_audio_layer {
        let p = format!("encoder.blocks.{i}");
        attn(&mut t, &format!("{p}.attn"), s);
        ln(&mut t, &format!("{p}.attn_ln"), s);
        mlp(&mut t, &p, s);
    }
    ln(&mut t, "encoder.ln_post", s);
    let s = h.n_text_state;
    t(
        "decoder.positional_embedding".into(),
        &[h.n_text_ctx, s],
        F32,
    );
    t(
        "decoder.token_embedding.weight".into(),
        &[h.n_vocab, s],
        Weight,
    );
    for i in 0..h.n_text_layer {
        let p = format!("decoder.blocks.{i}");
        attn(&mut t, &format!("{p}.attn"), s);
        ln(&mut t, &format!("{p}.attn_ln"), s);
        attn(&mut t, &format!("{p}.cross_attn"), s);
        ln(&mut t, &format!("{p}.cross_attn_ln"), s);
        mlp(&mut t, &p, s);
    }
    ln(&mut t, "decoder.ln", s);
    out
}

/// What [`check_whisper_ggml`] learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhisperGgmlInfo {
    pub hparams: WhisperHparams,
    /// Tokens in the file's vocabulary (whisper.cpp adds the special ones).
    pub vocab_tokens: u32,
    pub tensor_count: u32,
    /// The matrices' ggml type (0 f32, 1 f16, 8 q8_0, …).
    pub weight_type: u32,
    pub file_size_bytes: u64,
}

/// Whether these bytes start like a whisper ggml file.
pub fn has_ggml_magic(first_bytes: &[u8]) -> bool {
    first_bytes.len() >= 4 && first_bytes[..4] == GGML_MAGIC.to_le_bytes()
}

/// Checks a whisper ggml file on disk: magic, sane hparams, the filterbank
/// and vocabulary in bounds, and exactly the tensors whisper.cpp expects,
/// each with its expected shape and type, the data of each inside the file,
/// ending exactly at EOF. Run this before handing a file to whisper.cpp.
pub fn check_whisper_ggml(path: &Path) -> Result<WhisperGgmlInfo, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| ModelError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| ModelError::io("read metadata of", path, e))?
        .len();
    check_reader(std::io::BufReader::new(file), len, path)
}

/// Checks whisper ggml bytes held in memory.
pub fn check_whisper_ggml_bytes(bytes: &[u8]) -> Result<WhisperGgmlInfo, ModelError> {
    check_reader(
        std::io::Cursor::new(bytes),
        bytes.len() as u64,
        Path::new("<memory>"),
    )
}

fn check_reader<R: Read + Seek>(
    reader: R,
    len: u64,
    path: &Path,
) -> Result<WhisperGgmlInfo, ModelError> {
    let mut r = LeReader::new(reader, len);
    parse(&mut r).map_err(|e| match e {
        Fail::Read(ReadFail::Io(io)) => ModelError::io("read", path, io),
        Fail::Read(ReadFail::Eof(what)) => ModelError::malformed(
            path,
            "whisper ggml",
            format!("the file ends inside {what} (truncated?)"),
        ),
        Fail::Bad(detail) => ModelError::malformed(path, "whisper ggml", detail),
    })
}

enum Fail {
    Read(ReadFail),
    Bad(String),
}

impl From<ReadFail> for Fail {
    fn from(e: ReadFail) -> Self {
        Fail::Read(e)
    }
}

fn parse<R: Read + Seek>(r: &mut LeReader<R>) -> Result<WhisperGgmlInfo, Fail> {
    let magic = r.u32("the magic number")?;
    if magic != GGML_MAGIC {
        return Err(Fail::Bad(
            "not a whisper ggml file (no `ggml` magic number)".into(),
        ));
    }
    let mut a = [0i32; 11];
    for v in a.iter_mut() {
        *v = r.i32("the hyperparameters")?;
    }
    let h = WhisperHparams::from_array(a);
    h.check().map_err(Fail::Bad)?;
    let weight_type = h.weight_type().unwrap_or(GGML_TYPE_F16);

    let n_mel = r.i32("the filterbank header")?;
    let n_fft = r.i32("the filterbank header")?;
    if n_mel != h.n_mels || n_fft != 201 {
        return Err(Fail::Bad(format!(
            "the mel filterbank is {n_mel}x{n_fft}, expected {}x201",
            h.n_mels
        )));
    }
    r.skip((n_mel as u64) * (n_fft as u64) * 4, "the mel filterbank")?;

    let n_tokens = r.i32("the vocabulary size")?;
    if n_tokens < 0 || n_tokens > h.n_vocab {
        return Err(Fail::Bad(format!(
            "the vocabulary has {n_tokens} tokens, n_vocab is {}",
            h.n_vocab
        )));
    }
    for _ in 0..n_tokens {
        let n = r.u32("a vocabulary token")?;
        if n > 1024 {
            return Err(Fail::Bad(format!("a vocabulary token is {n} bytes long")));
        }
        r.skip(u64::from(n), "a vocabulary token")?;
    }

    let layout = whisper_tensor_layout(&h);
    let mut seen = vec![false; layout.len()];
    let mut count = 0u32;
    while !r.at_eof() {
        let n_dims = r.i32("a tensor header")?;
        let name_len = r.i32("a tensor header")?;
        let ttype = r.i32("a tensor header")?;
        if !(1..=4).contains(&n_dims) {
            return Err(Fail::Bad(format!("a tensor has {n_dims} dimensions")));
        }
        if !(1..=256).contains(&name_len) {
            return Err(Fail::Bad(format!("a tensor name is {name_len} bytes long")));
        }
        let mut dims = Vec::with_capacity(4);
        for _ in 0..n_dims {
            let d = r.i32("a tensor dimension")?;
            if d <= 0 {
                return Err(Fail::Bad(format!("a tensor dimension is {d}")));
            }
            dims.push(d as u64);
        }
        let name = r.vec(name_len as u64, 256, "a tensor name")?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let printable: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
        let idx = layout
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| Fail::Bad(format!("unknown tensor `{printable}`")))?;
        if seen[idx] {
            return Err(Fail::Bad(format!("tensor `{printable}` appears twice")));
        }
        seen[idx] = true;
        let spec = &layout[idx];
        let file_shape: Vec<u64> = dims.iter().rev().copied().collect();
        // whisper.cpp compares the three innermost dims, padding with 1.
        let pad = |v: &[u64]| {
            let mut p: Vec<u64> = v.to_vec();
            while p.len() > 1 && p.first() == Some(&1) {
                p.remove(0);
            }
            p
        };
        if pad(&file_shape) != pad(&spec.shape) {
            return Err(Fail::Bad(format!(
                "tensor `{printable}` has shape {file_shape:?}, expected {:?}",
                spec.shape
            )));
        }
        let expected_type = spec.kind.ggml_type(weight_type);
        if ttype < 0 || ttype as u32 != expected_type {
            return Err(Fail::Bad(format!(
                "tensor `{printable}` has type {ttype}, whisper.cpp expects {expected_type}"
            )));
        }
        let bytes = ggml_tensor_bytes(expected_type, &dims).ok_or_else(|| {
            Fail::Bad(format!(
                "tensor `{printable}` has a shape its type cannot hold"
            ))
        })?;
        r.skip(bytes, "a tensor's data")?;
        count += 1;
    }
    if let Some(missing) = layout.iter().zip(&seen).find(|(_, s)| !**s) {
        return Err(Fail::Bad(format!(
            "tensor `{}` is missing ({count} of {} present; truncated?)",
            missing.0.name,
            layout.len()
        )));
    }
    Ok(WhisperGgmlInfo {
        hparams: h,
        vocab_tokens: n_tokens as u32,
        tensor_count: count,
        weight_type,
        file_size_bytes: r.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_layout_has_167_tensors() {
        let h = WhisperHparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        };
        assert_eq!(whisper_tensor_layout(&h).len(), 167);
    }

    #[test]
    fn fail_garbage_is_not_ggml() {
        assert!(check_whisper_ggml_bytes(b"lmgg").is_err());
        assert!(check_whisper_ggml_bytes(b"").is_err());
        assert!(check_whisper_ggml_bytes(&[0xff; 100]).is_err());
    }
}
