//! `--demo`: a throwaway vault with a demo admin and clinician and the
//! default models imported from the local cache, so the window can be tried
//! (and screenshotted) on real screens without setting anything up. Like
//! `tacet demo`, it uses fixed demo passphrases; a real vault asks for them.

use anyhow::Result;
use std::path::{Path, PathBuf};

pub const ADMIN: (&str, &str) = tacet_runtime::setup::DEMO_ADMIN;
pub const CLINICIAN: (&str, &str) = tacet_runtime::setup::DEMO_CLINICIAN;

/// Creates the demo vault in `dir` (which must not hold one yet), the
/// same one `tacet demo` makes.
pub fn create(dir: &Path) -> Result<()> {
    let demo = tacet_runtime::setup::create_demo_vault(dir)?;
    for m in &demo.models {
        eprintln!(
            "demo: imported {} ({:.1} MB)",
            m.id,
            m.size_bytes as f64 / 1e6
        );
    }
    Ok(())
}

/// A fresh directory under the system temp folder.
pub fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("tacet-desktop-demo-{}", std::process::id()))
}

/// The demo recording: the source tree's copy when run from the
/// repository root, else the one the Debian package installs.
pub fn demo_wav() -> Option<String> {
    ["assets/demo/visit.wav", "/usr/share/tacet/demo/visit.wav"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map(|p| p.display().to_string())
}
