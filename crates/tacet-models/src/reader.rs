//! A little-endian reader that knows the total length of its source, so every
//! length a header claims can be checked against the bytes that remain
//! before anything is read or allocated.

use std::io::{Read, Seek, SeekFrom};

/// Why a read stopped; the caller adds the file name and format.
#[derive(Debug)]
pub(crate) enum ReadFail {
    /// The data ends before the structure does.
    Eof(&'static str),
    /// An I/O error from the underlying source.
    Io(std::io::Error),
}

pub(crate) struct LeReader<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> LeReader<R> {
    pub(crate) fn new(inner: R, len: u64) -> Self {
        LeReader { inner, pos: 0, len }
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    pub(crate) fn at_eof(&self) -> bool {
        self.pos >= self.len
    }

    pub(crate) fn bytes<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], ReadFail> {
        if self.remaining() < N as u64 {
            return Err(ReadFail::Eof(what));
        }
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ReadFail::Eof(what)
            } else {
                ReadFail::Io(e)
            }
        })?;
        self.pos += N as u64;
        Ok(buf)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ReadFail> {
        Ok(self.bytes::<1>(what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, ReadFail> {
        Ok(u16::from_le_bytes(self.bytes(what)?))
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ReadFail> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }
    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, ReadFail> {
        Ok(i32::from_le_bytes(self.bytes(what)?))
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, ReadFail> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    /// Reads `n` bytes into a new vector; `n` is checked against what
    /// remains first, and against `max` so no claim allocates much.
    pub(crate) fn vec(
        &mut self,
        n: u64,
        max: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, ReadFail> {
        if n > max || n > self.remaining() {
            return Err(ReadFail::Eof(what));
        }
        let n_usize = usize::try_from(n).map_err(|_| ReadFail::Eof(what))?;
        let mut buf = vec![0u8; n_usize];
        self.inner.read_exact(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ReadFail::Eof(what)
            } else {
                ReadFail::Io(e)
            }
        })?;
        self.pos += n;
        Ok(buf)
    }

    /// Skips `n` bytes, which must lie inside the data.
    pub(crate) fn skip(&mut self, n: u64, what: &'static str) -> Result<(), ReadFail> {
        if n > self.remaining() {
            return Err(ReadFail::Eof(what));
        }
        let target = self.pos + n;
        let offset = i64::try_from(n).map_err(|_| ReadFail::Eof(what))?;
        self.inner
            .seek(SeekFrom::Current(offset))
            .map_err(ReadFail::Io)?;
        self.pos = target;
        Ok(())
    }
}

/// Bytes per block and elements per block of a ggml tensor type, by the id
/// GGUF and ggml files use; `None` for ids this build does not know.
pub(crate) fn ggml_type_layout(type_id: u32) -> Option<(u64, u64)> {
    // (block elements, block bytes), from ggml's type_traits.
    Some(match type_id {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        16 => (256, 66),  // IQ2_XXS
        17 => (256, 74),  // IQ2_XS
        18 => (256, 98),  // IQ3_XXS
        19 => (256, 50),  // IQ1_S
        20 => (32, 18),   // IQ4_NL
        21 => (256, 110), // IQ3_S
        22 => (256, 82),  // IQ2_S
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        29 => (256, 56),  // IQ1_M
        30 => (1, 2),     // BF16
        34 => (256, 54),  // TQ1_0
        35 => (256, 66),  // TQ2_0
        39 => (32, 17),   // MXFP4
        _ => return None,
    })
}

/// Bytes of a tensor with these dimensions (innermost first, as ggml counts
/// them); `None` on overflow or when the row is not a whole number of blocks.
pub(crate) fn ggml_tensor_bytes(type_id: u32, dims: &[u64]) -> Option<u64> {
    let (block_elems, block_bytes) = ggml_type_layout(type_id)?;
    let first = *dims.first()?;
    if first % block_elems != 0 {
        return None;
    }
    let mut n: u64 = 1;
    for &d in dims {
        n = n.checked_mul(d)?;
    }
    (n / block_elems).checked_mul(block_bytes)
}
