//! Checkpoints anchored outside the data folder, automatically (issue 22,
//! item 4, in part).
//!
//! Every account unwraps the audit master, which seals the signing key, so
//! someone with the file and any passphrase can rewrite the log and sign it
//! again; a signed checkpoint kept only in the vault proves nothing then.
//! So when the practice names an anchor folder (a second disk, a share, a
//! USB stick), every new checkpoint is also written there as its own file,
//! never overwritten, and the audit verifier key is pinned there the first
//! time. `verify_audit` reads that folder by itself: a rewritten log no
//! longer matches the checkpoints anchored before the rewrite, and a log
//! re-keyed to a new signing key no longer matches the pinned key.
//!
//! An anchor that cannot be written (the stick is out) never blocks work;
//! the unlock's housekeeping note says so. An anchor folder that cannot be
//! read is reported beside the verification, which then checks without it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The meta key holding the anchor folder's path (UTF-8).
pub(crate) const META: &str = "anchor_dir";
const VKEY_FILE: &str = "verifier.vkey";
const SUFFIX: &str = ".checkpoint";

/// This vault's sub-folder of the anchor folder, named by its origin, so
/// one stick can anchor several vaults.
pub(crate) fn folder(anchor_dir: &Path, origin: &str) -> PathBuf {
    let name: String = origin
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    anchor_dir.join(format!("tacet-anchor-{name}"))
}

fn create_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    };
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes one checkpoint (and, the first time, the verifier key) to the
/// anchor folder. Existing files are never replaced.
pub(crate) fn write(
    anchor_dir: &Path,
    origin: &str,
    size: u64,
    root: &[u8; 32],
    note: &str,
    vkey: &str,
) -> std::io::Result<()> {
    if !anchor_dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a folder that is there now", anchor_dir.display()),
        ));
    }
    let dir = folder(anchor_dir, origin);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    create_new(&dir.join(VKEY_FILE), format!("{vkey}\n").as_bytes())?;
    let name = format!("{size:012}-{}{SUFFIX}", &hex::encode(root)[..16]);
    create_new(&dir.join(name), note.as_bytes())?;
    fs::File::open(&dir)?.sync_all()
}

/// What the anchor folder holds for this vault.
#[derive(Debug, Default)]
pub(crate) struct Anchored {
    pub notes: Vec<String>,
    pub pinned_vkey: Option<String>,
}

/// Reads every anchored checkpoint and the pinned key.
pub(crate) fn read(anchor_dir: &Path, origin: &str) -> std::io::Result<Anchored> {
    let dir = folder(anchor_dir, origin);
    if !anchor_dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not there", anchor_dir.display()),
        ));
    }
    let mut out = Anchored::default();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(SUFFIX))
        .collect();
    names.sort();
    for p in names {
        out.notes.push(fs::read_to_string(&p)?);
    }
    match fs::read_to_string(dir.join(VKEY_FILE)) {
        Ok(v) => out.pinned_vkey = Some(v.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_once_read_back_never_replaced() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "tacet.local/vault/ab",
            3,
            &[7; 32],
            "note 3",
            "vkey-1",
        )
        .unwrap();
        write(
            d.path(),
            "tacet.local/vault/ab",
            3,
            &[7; 32],
            "other",
            "vkey-2",
        )
        .unwrap();
        write(
            d.path(),
            "tacet.local/vault/ab",
            4,
            &[8; 32],
            "note 4",
            "vkey-2",
        )
        .unwrap();
        let a = read(d.path(), "tacet.local/vault/ab").unwrap();
        assert_eq!(a.notes, vec!["note 3", "note 4"]);
        assert_eq!(a.pinned_vkey.as_deref(), Some("vkey-1"));
        assert!(read(&d.path().join("gone"), "x").is_err());
        assert!(write(&d.path().join("gone"), "x", 1, &[0; 32], "n", "v").is_err());
    }
}
