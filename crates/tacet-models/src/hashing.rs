//! Streaming SHA-256 with a byte limit, so a source that is larger than it
//! claims (a lying zip header, a growing file) cannot run unbounded.

use crate::error::ModelError;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// Lower-case hex of a digest.
pub(crate) fn hex32(digest: &[u8]) -> String {
    hex::encode(digest)
}

/// Copies `reader` into `writer` (if any) while hashing, reading at most
/// `max_bytes + 1` bytes so an oversize source is detected, not consumed.
/// Returns (lower-case hex SHA-256, bytes read).
pub(crate) fn hash_copy<R: Read, W: Write>(
    mut reader: R,
    mut writer: Option<&mut W>,
    max_bytes: u64,
    path: &Path,
) -> Result<(String, u64), ModelError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    let limit = max_bytes.saturating_add(1);
    loop {
        let want = usize::try_from((limit - total).min(buf.len() as u64)).unwrap_or(buf.len());
        if want == 0 {
            break;
        }
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ModelError::io("read", path, e)),
        };
        hasher.update(&buf[..n]);
        if let Some(w) = writer.as_deref_mut() {
            w.write_all(&buf[..n])
                .map_err(|e| ModelError::io("write a copy of", path, e))?;
        }
        total += n as u64;
    }
    Ok((hex32(&hasher.finalize()), total))
}

/// SHA-256 of a whole file.
pub(crate) fn hash_file(path: &Path) -> Result<(String, u64), ModelError> {
    let file = std::fs::File::open(path).map_err(|e| ModelError::io("open", path, e))?;
    hash_copy::<_, std::io::Sink>(file, None, u64::MAX - 1, path)
}

/// Reads a whole source into memory while hashing, refusing more than
/// `max_bytes`.
pub(crate) fn read_hashed<R: Read>(
    reader: R,
    max_bytes: u64,
    path: &Path,
) -> Result<(Vec<u8>, String), ModelError> {
    let mut out: Vec<u8> = Vec::new();
    let (sha, n) = hash_copy(reader, Some(&mut out), max_bytes, path)?;
    if n > max_bytes {
        return Err(ModelError::SizeMismatch {
            path: path.to_path_buf(),
            what: "the largest size accepted for it".into(),
            expected_bytes: max_bytes,
            actual_bytes: n,
        });
    }
    Ok((out, sha))
}
