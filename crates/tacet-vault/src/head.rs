//! The head marker: a small file beside the database (`vault.head`) that
//! records how many audit records have been acknowledged and the leaf hash
//! of the last one, rewritten atomically after every committed write.
//!
//! Why: SQLite checksums WAL frames and, at the first bad frame, silently
//! stops replaying — a flipped byte in the WAL loses acknowledged writes
//! without any error. Restoring an older copy of the database does the
//! same. Every write appends an audit record in its own transaction, so a
//! database whose audit log is shorter than the marker (or whose record at
//! the marker's position has another hash) has lost acknowledged writes,
//! and opening it says so instead of carrying on. The marker holds only a
//! count and a hash: no patient data. An attacker who rolls back both the
//! database and the marker is caught only by a checkpoint kept elsewhere.

use super::*;
use std::io::Write as _;

pub(crate) const HEAD_FILE: &str = "vault.head";
const MAGIC: &str = "tacet-vault-head v1";

/// (number of audit records, leaf hash of the last one).
fn current(conn: &Connection) -> Result<(u64, [u8; 32]), VaultError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, leaf_hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        None => (0, [0u8; 32]),
        Some((seq, leaf)) => (
            seq as u64 + 1,
            leaf.try_into()
                .map_err(|_| VaultError::Corrupt("an audit leaf hash is malformed".into()))?,
        ),
    })
}

/// Rewrites the marker (temp file, fsync, rename, fsync the folder).
pub(crate) fn write(conn: &Connection, dir: &Path) -> Result<(), VaultError> {
    let (count, leaf) = current(conn)?;
    let tmp = dir.join(format!("{HEAD_FILE}.tmp"));
    // Name the file in the error: "Is a directory" alone helps no one.
    let named = |e: std::io::Error| {
        VaultError::Io(std::io::Error::new(
            e.kind(),
            format!("writing the head marker {}: {e}", tmp.display()),
        ))
    };
    let mut options = File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(named)?;
    writeln!(f, "{MAGIC}\n{count}\n{}", hex::encode(leaf)).map_err(named)?;
    f.sync_all().map_err(named)?;
    drop(f);
    std::fs::rename(&tmp, dir.join(HEAD_FILE)).map_err(named)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Compares the database with the marker; absent marker (a vault from
/// before markers existed) passes.
pub(crate) fn check(conn: &Connection, dir: &Path) -> Result<(), VaultError> {
    let path = dir.join(HEAD_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let bad = || VaultError::Corrupt(format!("{} is malformed", path.display()));
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(bad());
    }
    let count: u64 = lines.next().and_then(|l| l.parse().ok()).ok_or_else(bad)?;
    let leaf = lines
        .next()
        .and_then(|l| hex::decode(l).ok())
        .ok_or_else(bad)?;
    let (have, _) = current(conn)?;
    if have < count {
        return Err(VaultError::LostWrites {
            acknowledged: count,
            present: have,
        });
    }
    if count > 0 {
        let stored: Vec<u8> = conn.query_row(
            "SELECT leaf_hash FROM audit_log WHERE seq = ?1",
            params![(count - 1) as i64],
            |r| r.get(0),
        )?;
        if stored != leaf {
            return Err(VaultError::LostWrites {
                acknowledged: count,
                present: have,
            });
        }
    }
    Ok(())
}
