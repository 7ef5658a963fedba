//! Where the process may write, fenced once the data folder and the
//! command's outputs are known (`tacet_sandbox::fence_writes`). Both front
//! ends call [`fence_writes`], so they fence the same folders.

use std::path::{Path, PathBuf};

/// Fences this process's writes to the data folder (created, private, when
/// it is not there yet), the audit anchor folder the vault names, and
/// `outputs`: the folders this run writes into besides (an export's
/// folder, a new anchor folder, the desktop's export folder). Everything
/// else on disk is read-only to the process from here on. Call it before
/// any thread starts.
pub fn fence_writes(data_dir: &Path, outputs: &[PathBuf]) -> tacet_sandbox::WriteFence {
    // The folder may not be there before `init`; the fence needs it to be.
    // A failure here is the vault's to report, with its path.
    let _ = std::fs::create_dir_all(data_dir);
    let mut roots = vec![data_dir.to_path_buf()];
    roots.extend(tacet_vault::Vault::peek_anchor_dir(data_dir));
    for o in outputs {
        if !roots.contains(o) {
            roots.push(o.clone());
        }
    }
    tacet_sandbox::fence_writes(&roots)
}
