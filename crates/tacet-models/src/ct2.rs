//! A parser for CTranslate2's `model.bin` (binary version 6), over bytes
//! already in memory and already hash-verified. It borrows the tensor data
//! instead of copying it, checks every declared size against the bytes that
//! remain and against the shape and dtype, and must end exactly at EOF.
//!
//! Layout: u32 version, string spec name, u32 revision, u32 variable count,
//! then per variable: string name, u8 rank, u32 dims[rank], u8 dtype,
//! u32 byte count, data; then u32 alias count and (alias, target) string
//! pairs. Strings are a u16 length (including a trailing NUL) and bytes.

use std::fmt;

/// CTranslate2 dtypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2Dtype {
    fn from_id(id: u8) -> Option<Ct2Dtype> {
        Some(match id {
            0 => Ct2Dtype::F32,
            1 => Ct2Dtype::I8,
            2 => Ct2Dtype::I16,
            3 => Ct2Dtype::I32,
            4 => Ct2Dtype::F16,
            5 => Ct2Dtype::Bf16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size_bytes(self) -> u64 {
        match self {
            Ct2Dtype::I8 => 1,
            Ct2Dtype::I16 | Ct2Dtype::F16 | Ct2Dtype::Bf16 => 2,
            Ct2Dtype::F32 | Ct2Dtype::I32 => 4,
        }
    }
}

/// One variable, borrowing its data.
#[derive(Debug, Clone)]
pub struct Ct2Variable<'a> {
    pub name: String,
    pub dims: Vec<u32>,
    pub dtype: Ct2Dtype,
    pub data: &'a [u8],
}

impl Ct2Variable<'_> {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.dims.iter().map(|&d| u64::from(d)).product()
    }
}

/// A parsed `model.bin`.
#[derive(Debug, Clone)]
pub struct Ct2Model<'a> {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub variables: Vec<Ct2Variable<'a>>,
    /// (alias, target) pairs.
    pub aliases: Vec<(String, String)>,
}

impl<'a> Ct2Model<'a> {
    /// A variable by name.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable<'a>> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// Why `model.bin` could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct2Error(pub String);

impl fmt::Display for Ct2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const MAX_RANK: u8 = 8;
const MAX_VARIABLES: u32 = 1 << 20;

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Ct2Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| Ct2Error(format!("the file ends inside {what}")))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, Ct2Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, Ct2Error> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, Ct2Error> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self, what: &str) -> Result<String, Ct2Error> {
        let n = usize::from(self.u16(what)?);
        let b = self.take(n, what)?;
        let b = match b.split_last() {
            Some((0, rest)) => rest,
            _ => return Err(Ct2Error(format!("{what} is not NUL-terminated"))),
        };
        String::from_utf8(b.to_vec()).map_err(|_| Ct2Error(format!("{what} is not UTF-8")))
    }
}

/// Parses a CTranslate2 `model.bin` held in memory.
pub fn parse_ct2(data: &[u8]) -> Result<Ct2Model<'_>, Ct2Error> {
    let mut c = Cursor { data, pos: 0 };
    let version = c.u32("the version")?;
    if version != 6 {
        return Err(Ct2Error(format!(
            "CTranslate2 binary version {version} is not supported (6 is)"
        )));
    }
    let spec = c.string("the spec name")?;
    let revision = c.u32("the spec revision")?;
    let count = c.u32("the variable count")?;
    if count > MAX_VARIABLES {
        return Err(Ct2Error(format!("claims {count} variables")));
    }
    let mut variables = Vec::new();
    for _ in 0..count {
        let name = c.string("a variable name")?;
        let rank = c.u8("a variable rank")?;
        if rank > MAX_RANK {
            return Err(Ct2Error(format!("a variable has rank {rank}")));
        }
        let mut dims = Vec::with_capacity(usize::from(rank));
        for _ in 0..rank {
            dims.push(c.u32("a variable dimension")?);
        }
        let dtype_id = c.u8("a variable dtype")?;
        let dtype = Ct2Dtype::from_id(dtype_id)
            .ok_or_else(|| Ct2Error(format!("a variable has unknown dtype {dtype_id}")))?;
        let n_bytes = c.u32("a variable byte count")?;
        let expected = dims
            .iter()
            .try_fold(dtype.size_bytes(), |acc, &d| acc.checked_mul(u64::from(d)));
        if expected != Some(u64::from(n_bytes)) {
            return Err(Ct2Error(
                "a variable's byte count does not match its shape and dtype".into(),
            ));
        }
        let bytes = c.take(n_bytes as usize, "a variable's data")?;
        variables.push(Ct2Variable {
            name,
            dims,
            dtype,
            data: bytes,
        });
    }
    let n_aliases = c.u32("the alias count")?;
    if n_aliases > MAX_VARIABLES {
        return Err(Ct2Error(format!("claims {n_aliases} aliases")));
    }
    let mut aliases = Vec::new();
    for _ in 0..n_aliases {
        let alias = c.string("an alias name")?;
        let target = c.string("an alias target")?;
        aliases.push((alias, target));
    }
    if c.pos != data.len() {
        return Err(Ct2Error(format!(
            "{} unexpected bytes after the last alias",
            data.len() - c.pos
        )));
    }
    Ok(Ct2Model {
        version,
        spec,
        revision,
        variables,
        aliases,
    })
}
