//! What a person can check on a file Tacet wrote.

use std::path::Path;

/// The file is readable and writable by its owner only (0600).
#[cfg(unix)]
pub fn assert_owner_only(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", p.display());
}

#[cfg(not(unix))]
pub fn assert_owner_only(_: &Path) {}
