//! A GGUF (v2/v3) header checker. It reads the metadata and tensor table,
//! never the weights, and checks that the file is long enough for every
//! tensor it declares, so an engine is never handed a file it would abort
//! or read out of bounds on. Every count and length is bounded by the bytes
//! that remain and by fixed limits; nothing is allocated from a claim.

use crate::error::ModelError;
use crate::reader::{ggml_tensor_bytes, LeReader, ReadFail};
use std::io::{Read, Seek};
use std::path::Path;

/// `general.architecture` values the LLM engine can run.
pub const SUPPORTED_GGUF_ARCHITECTURES: &[&str] = &["llama", "gemma3"];

const MAX_TENSORS: u64 = 65_536;
const MAX_METADATA: u64 = 65_536;
const MAX_KEY_BYTES: u64 = 65_535;
const MAX_STRING_BYTES: u64 = 64 << 20;
const MAX_ARRAY_DEPTH: u32 = 2;
const MAX_DIMS: u32 = 4;

/// What [`check_gguf`] learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufInfo {
    pub version: u32,
    /// `general.architecture`.
    pub architecture: String,
    /// `general.name`, when present.
    pub name: Option<String>,
    pub tensor_count: u64,
    pub metadata_count: u64,
    pub alignment: u64,
    /// `<arch>.block_count`, when present.
    pub block_count: Option<u64>,
    /// `<arch>.embedding_length`, when present.
    pub embedding_length: Option<u64>,
    /// Offset of the tensor data section.
    pub data_offset: u64,
    /// Bytes from the data section start to the end of the last tensor.
    pub tensor_data_bytes: u64,
    pub file_size_bytes: u64,
}

/// Whether these bytes start like a GGUF file.
pub fn has_gguf_magic(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"GGUF")
}

/// Checks a GGUF file on disk. Run this before handing a file to an engine.
pub fn check_gguf(path: &Path) -> Result<GgufInfo, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| ModelError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| ModelError::io("read metadata of", path, e))?
        .len();
    check_gguf_reader(std::io::BufReader::new(file), len, path)
}

/// Checks GGUF bytes held in memory (used by tests and the fuzz target).
pub fn check_gguf_bytes(bytes: &[u8]) -> Result<GgufInfo, ModelError> {
    check_gguf_reader(
        std::io::Cursor::new(bytes),
        bytes.len() as u64,
        Path::new("<memory>"),
    )
}

fn check_gguf_reader<R: Read + Seek>(
    reader: R,
    len: u64,
    path: &Path,
) -> Result<GgufInfo, ModelError> {
    let mut r = LeReader::new(reader, len);
    parse(&mut r).map_err(|e| match e {
        Fail::Read(ReadFail::Io(io)) => ModelError::io("read", path, io),
        Fail::Read(ReadFail::Eof(what)) => ModelError::malformed(
            path,
            "GGUF",
            format!("the file ends inside {what} (or {what} claims more bytes than the file has)"),
        ),
        Fail::Bad(detail) => ModelError::malformed(path, "GGUF", detail),
        Fail::Unsupported(arch) => ModelError::WrongKind {
            path: path.to_path_buf(),
            detail: format!(
                "GGUF architecture `{arch}` is not supported (supported: {})",
                SUPPORTED_GGUF_ARCHITECTURES.join(", ")
            ),
        },
    })
}

enum Fail {
    Read(ReadFail),
    Bad(String),
    Unsupported(String),
}

impl From<ReadFail> for Fail {
    fn from(e: ReadFail) -> Self {
        Fail::Read(e)
    }
}

/// A metadata value we keep (only scalars and short strings).
enum Value {
    Int(u64),
    Str(String),
    Other,
}

fn read_string<R: Read + Seek>(
    r: &mut LeReader<R>,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>, Fail> {
    let n = r.u64(what)?;
    if n > max {
        return Err(Fail::Bad(format!(
            "{what} is {n} bytes long, more than {max}"
        )));
    }
    Ok(r.vec(n, max, what)?)
}

fn skip_string<R: Read + Seek>(r: &mut LeReader<R>, what: &'static str) -> Result<(), Fail> {
    let n = r.u64(what)?;
    if n > MAX_STRING_BYTES {
        return Err(Fail::Bad(format!("{what} is {n} bytes long")));
    }
    Ok(r.skip(n, what)?)
}

fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

fn read_value<R: Read + Seek>(r: &mut LeReader<R>, t: u32, depth: u32) -> Result<Value, Fail> {
    match t {
        0 => Ok(Value::Int(u64::from(r.u8("a u8 value")?))),
        2 => Ok(Value::Int(u64::from(r.u16("a u16 value")?))),
        4 => Ok(Value::Int(u64::from(r.u32("a u32 value")?))),
        10 => Ok(Value::Int(r.u64("a u64 value")?)),
        5 => {
            let v = r.i32("an i32 value")?;
            Ok(u64::try_from(v).map(Value::Int).unwrap_or(Value::Other))
        }
        11 => {
            let v = r.u64("an i64 value")? as i64;
            Ok(u64::try_from(v).map(Value::Int).unwrap_or(Value::Other))
        }
        8 => {
            let bytes = read_string(r, MAX_STRING_BYTES, "a string value")?;
            Ok(match String::from_utf8(bytes) {
                Ok(s) => Value::Str(s),
                Err(_) => Value::Other,
            })
        }
        9 => {
            if depth >= MAX_ARRAY_DEPTH {
                return Err(Fail::Bad("arrays nested too deeply".into()));
            }
            let elem = r.u32("an array's element type")?;
            let n = r.u64("an array's length")?;
            if let Some(size) = scalar_size(elem) {
                let total = n
                    .checked_mul(size)
                    .ok_or_else(|| Fail::Bad("an array's length overflows".into()))?;
                r.skip(total, "an array")?;
            } else if elem == 8 {
                // Each string needs at least its 8-byte length.
                if n > r.remaining() / 8 {
                    return Err(Fail::Read(ReadFail::Eof("an array of strings")));
                }
                for _ in 0..n {
                    skip_string(r, "a string in an array")?;
                }
            } else if elem == 9 {
                if n > r.remaining() / 12 {
                    return Err(Fail::Read(ReadFail::Eof("an array of arrays")));
                }
                for _ in 0..n {
                    read_value(r, 9, depth + 1)?;
                }
            } else {
                return Err(Fail::Bad(format!("unknown array element type {elem}")));
            }
            Ok(Value::Other)
        }
        _ => match scalar_size(t) {
            Some(size) => {
                r.skip(size, "a value")?;
                Ok(Value::Other)
            }
            None => Err(Fail::Bad(format!("unknown metadata value type {t}"))),
        },
    }
}

fn parse<R: Read + Seek>(r: &mut LeReader<R>) -> Result<GgufInfo, Fail> {
    let magic = r.bytes::<4>("the magic number")?;
    if &magic != b"GGUF" {
        return Err(Fail::Bad("not a GGUF file (no `GGUF` magic number)".into()));
    }
    let version = r.u32("the version")?;
    if version != 2 && version != 3 {
        return Err(Fail::Bad(format!(
            "GGUF version {version} is not supported (2 or 3 are)"
        )));
    }
    let tensor_count = r.u64("the tensor count")?;
    let metadata_count = r.u64("the metadata count")?;
    if tensor_count > MAX_TENSORS {
        return Err(Fail::Bad(format!(
            "claims {tensor_count} tensors, more than {MAX_TENSORS}"
        )));
    }
    if metadata_count > MAX_METADATA {
        return Err(Fail::Bad(format!(
            "claims {metadata_count} metadata entries, more than {MAX_METADATA}"
        )));
    }
    let mut architecture: Option<String> = None;
    let mut name: Option<String> = None;
    let mut alignment: u64 = 32;
    let mut ints: Vec<(String, u64)> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for _ in 0..metadata_count {
        let key_bytes = read_string(r, MAX_KEY_BYTES, "a metadata key")?;
        let key = String::from_utf8(key_bytes)
            .map_err(|_| Fail::Bad("a metadata key is not UTF-8".into()))?;
        if !keys.insert(key.clone()) {
            return Err(Fail::Bad("a metadata key appears twice".into()));
        }
        let t = r.u32("a metadata value type")?;
        let v = read_value(r, t, 0)?;
        match (key.as_str(), v) {
            ("general.architecture", Value::Str(s)) => architecture = Some(s),
            ("general.architecture", _) => {
                return Err(Fail::Bad("general.architecture is not a string".into()))
            }
            ("general.name", Value::Str(s)) => name = Some(s.chars().take(200).collect()),
            ("general.alignment", Value::Int(a)) => {
                if a == 0 || !a.is_power_of_two() || a > 1 << 16 || t != 4 {
                    return Err(Fail::Bad(format!(
                        "general.alignment {a} is not a u32 power of two"
                    )));
                }
                alignment = a;
            }
            ("general.alignment", _) => {
                return Err(Fail::Bad("general.alignment is not a u32".into()))
            }
            (k, Value::Int(i))
                if k.ends_with(".block_count") || k.ends_with(".embedding_length") =>
            {
                ints.push((k.to_string(), i))
            }
            _ => {}
        }
    }
    let architecture =
        architecture.ok_or_else(|| Fail::Bad("general.architecture is missing".into()))?;
    let lookup = |suffix: &str| {
        let key = format!("{architecture}.{suffix}");
        ints.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    };
    let block_count = lookup("block_count");
    let embedding_length = lookup("embedding_length");
    if let Some(b) = block_count {
        if b == 0 || b > 4096 {
            return Err(Fail::Bad(format!(
                "{architecture}.block_count {b} is not sane"
            )));
        }
    }
    if let Some(e) = embedding_length {
        if e == 0 || e > 1 << 20 {
            return Err(Fail::Bad(format!(
                "{architecture}.embedding_length {e} is not sane"
            )));
        }
    }

    // Tensor table: (offset, bytes) per tensor; bounded by MAX_TENSORS.
    let mut extents: Vec<(u64, u64)> = Vec::new();
    for _ in 0..tensor_count {
        let _name = read_string(r, 65_535, "a tensor name")?;
        let n_dims = r.u32("a tensor's dimension count")?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(Fail::Bad(format!("a tensor has {n_dims} dimensions")));
        }
        let mut dims = [0u64; MAX_DIMS as usize];
        for d in dims.iter_mut().take(n_dims as usize) {
            *d = r.u64("a tensor dimension")?;
            if *d == 0 || *d > 1 << 40 {
                return Err(Fail::Bad(format!("a tensor dimension is {d}")));
            }
        }
        let ttype = r.u32("a tensor type")?;
        let offset = r.u64("a tensor offset")?;
        let bytes = ggml_tensor_bytes(ttype, &dims[..n_dims as usize]).ok_or_else(|| {
            Fail::Bad(format!(
                "a tensor has unknown type {ttype} or a shape that does not fit it"
            ))
        })?;
        if offset % alignment != 0 {
            return Err(Fail::Bad("a tensor's data offset is not aligned".into()));
        }
        extents.push((offset, bytes));
    }
    let data_offset = r
        .pos()
        .checked_add(alignment - 1)
        .map(|p| p / alignment * alignment)
        .ok_or_else(|| Fail::Bad("data offset overflows".into()))?;
    let data_len = r.len().saturating_sub(data_offset);
    let mut end_max = 0u64;
    for (offset, bytes) in &extents {
        let end = offset
            .checked_add(*bytes)
            .ok_or_else(|| Fail::Bad("a tensor's extent overflows".into()))?;
        if end > data_len {
            return Err(Fail::Bad(format!(
                "the file is too short for its tensors: a tensor ends at data byte {end}, \
                 the data section has {data_len} bytes (truncated?)"
            )));
        }
        end_max = end_max.max(end);
    }
    if !SUPPORTED_GGUF_ARCHITECTURES.contains(&architecture.as_str()) {
        let shown: String = architecture.chars().take(64).collect();
        return Err(Fail::Unsupported(shown));
    }
    Ok(GgufInfo {
        version,
        architecture,
        name,
        tensor_count,
        metadata_count,
        alignment,
        block_count,
        embedding_length,
        data_offset,
        tensor_data_bytes: end_max,
        file_size_bytes: r.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_not_gguf() {
        assert!(check_gguf_bytes(b"GGML0000000000000000000000").is_err());
        assert!(check_gguf_bytes(b"").is_err());
        assert!(check_gguf_bytes(b"GGUF\x01\0\0\0").is_err());
    }
}
