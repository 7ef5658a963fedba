//! Chunking and the byte layout of stored audio.
//!
//! The vault seals audio as chunks of at most one second of 16 kHz mono f32,
//! little-endian, so a damaged chunk loses one second rather than a visit and
//! memory stays bounded while sealing. The layout is fixed (LE, not native)
//! so a vault moves between machines.

use crate::{AudioError, TARGET_SAMPLE_RATE_HZ};

/// Splits 16 kHz samples into consecutive chunks of `chunk_ms` milliseconds
/// (the last one may be shorter). A `chunk_ms` of 0 is treated as 1 ms.
pub fn chunk_samples(samples: &[f32], chunk_ms: u32) -> impl Iterator<Item = &[f32]> {
    let per_ms = (TARGET_SAMPLE_RATE_HZ / 1000) as usize;
    let len = (chunk_ms.max(1) as usize).saturating_mul(per_ms);
    samples.chunks(len)
}

/// f32 samples to little-endian bytes (4 per sample).
pub fn samples_to_le_bytes(samples: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 4);
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Little-endian bytes back to f32 samples. Refuses a length that is not a
/// multiple of 4 and any NaN/infinite value (stored audio is always finite).
pub fn le_bytes_to_samples(bytes: &[u8]) -> Result<Vec<f32>, AudioError> {
    if !bytes.chunks_exact(4).remainder().is_empty() {
        return Err(AudioError::ByteLength {
            size_bytes: bytes.len(),
        });
    }
    let mut out = Vec::with_capacity(bytes.len() / 4);
    for (index, b) in bytes.chunks_exact(4).enumerate() {
        let s = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if !s.is_finite() {
            return Err(AudioError::NonFinite {
                origin: "stored audio chunk".into(),
                index,
            });
        }
        out.push(s);
    }
    Ok(out)
}
