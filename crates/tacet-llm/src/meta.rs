//! Typed reads of GGUF metadata.
//!
//! GGUF writers are not consistent about integer widths (a token id may be a
//! u32 in one file and an i32 or u64 in another), so every numeric read
//! accepts any integer type and checks the range instead of trusting the tag.

use crate::error::LlmError;
use candle_core::quantized::gguf_file::{Content, Value};

pub(crate) fn get<'a>(ct: &'a Content, key: &str) -> Option<&'a Value> {
    ct.metadata.get(key)
}

pub(crate) fn require<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, LlmError> {
    get(ct, key).ok_or_else(|| LlmError::MissingMetadata {
        key: key.to_string(),
    })
}

fn bad(key: &str, problem: impl Into<String>) -> LlmError {
    LlmError::BadMetadata {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// Any integer value as u64; negative values and non-integers are errors.
pub(crate) fn value_as_u64(key: &str, v: &Value) -> Result<u64, LlmError> {
    let n: i128 = match v {
        Value::U8(x) => (*x).into(),
        Value::I8(x) => (*x).into(),
        Value::U16(x) => (*x).into(),
        Value::I16(x) => (*x).into(),
        Value::U32(x) => (*x).into(),
        Value::I32(x) => (*x).into(),
        Value::U64(x) => (*x).into(),
        Value::I64(x) => (*x).into(),
        other => {
            return Err(bad(
                key,
                format!("expected an integer, found {:?}", other.value_type()),
            ))
        }
    };
    u64::try_from(n).map_err(|_| bad(key, format!("expected a non-negative integer, found {n}")))
}

pub(crate) fn opt_u64(ct: &Content, key: &str) -> Result<Option<u64>, LlmError> {
    get(ct, key).map(|v| value_as_u64(key, v)).transpose()
}

pub(crate) fn req_u64(ct: &Content, key: &str) -> Result<u64, LlmError> {
    value_as_u64(key, require(ct, key)?)
}

pub(crate) fn opt_u32(ct: &Content, key: &str) -> Result<Option<u32>, LlmError> {
    opt_u64(ct, key)?
        .map(|n| u32::try_from(n).map_err(|_| bad(key, format!("{n} is out of range"))))
        .transpose()
}

pub(crate) fn opt_bool(ct: &Content, key: &str) -> Result<Option<bool>, LlmError> {
    match get(ct, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => value_as_u64(key, v).map(|n| Some(n != 0)),
    }
}

pub(crate) fn opt_str<'a>(ct: &'a Content, key: &str) -> Result<Option<&'a str>, LlmError> {
    match get(ct, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(v) => Err(bad(
            key,
            format!("expected a string, found {:?}", v.value_type()),
        )),
    }
}

pub(crate) fn req_str<'a>(ct: &'a Content, key: &str) -> Result<&'a str, LlmError> {
    opt_str(ct, key)?.ok_or_else(|| LlmError::MissingMetadata {
        key: key.to_string(),
    })
}

pub(crate) fn req_array<'a>(ct: &'a Content, key: &str) -> Result<&'a [Value], LlmError> {
    match require(ct, key)? {
        Value::Array(a) => Ok(a.as_slice()),
        v => Err(bad(
            key,
            format!("expected an array, found {:?}", v.value_type()),
        )),
    }
}

pub(crate) fn req_string_array<'a>(ct: &'a Content, key: &str) -> Result<Vec<&'a str>, LlmError> {
    req_array(ct, key)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.as_str()),
            other => Err(bad(
                key,
                format!("element {i} is {:?}, not a string", other.value_type()),
            )),
        })
        .collect()
}

/// A numeric array as f32 (SentencePiece scores).
pub(crate) fn req_f32_array(ct: &Content, key: &str) -> Result<Vec<f32>, LlmError> {
    req_array(ct, key)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::F32(x) => Ok(*x),
            Value::F64(x) => Ok(*x as f32),
            other => Err(bad(
                key,
                format!("element {i} is {:?}, not a float", other.value_type()),
            )),
        })
        .collect()
}

pub(crate) fn bad_metadata(key: &str, problem: impl Into<String>) -> LlmError {
    bad(key, problem)
}
