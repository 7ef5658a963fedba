//! `--demo`: a throwaway vault with a demo admin and clinician and the
//! default models imported from the local cache, so the window can be tried
//! (and screenshotted) on real screens without setting anything up. Like
//! `tacet demo`, it uses fixed demo passphrases; a real vault asks for them.

use crate::compose;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tacet_core::Role;
use tacet_crypto::Passphrase;
use tacet_models::ImportOptions;
use tacet_vault::{KdfChoice, NewUser, Vault};

pub const ADMIN: (&str, &str) = ("admin", "demo-admin-passphrase");
pub const CLINICIAN: (&str, &str) = ("drlee", "demo-clinician-passphrase");

/// Creates the demo vault in `dir` (which must not hold one yet).
pub fn create(dir: &Path) -> Result<()> {
    if Vault::exists(dir) {
        bail!(
            "{} already holds a vault; choose an empty --data-dir for --demo",
            dir.display()
        );
    }
    let cache = tacet_models::cache_root().context("no model cache: set TACET_CACHE")?;
    let asr_src = cache.join("files/whisper-tiny.en-ct2");
    let llm_src = cache.join("files/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !asr_src.exists() || !llm_src.exists() {
        bail!(
            "the default models are not in {} yet: run scripts/fetch-models.sh first",
            cache.join("files").display()
        );
    }
    let ap = Passphrase::new(ADMIN.1.into());
    let cp = Passphrase::new(CLINICIAN.1.into());
    let mut vault = Vault::create(
        dir,
        &[
            NewUser {
                name: ADMIN.0,
                role: Role::Admin,
                passphrase: &ap,
            },
            NewUser {
                name: CLINICIAN.0,
                role: Role::Clinician,
                passphrase: &cp,
            },
        ],
        KdfChoice::Floor,
    )?;
    let models = compose::model_store(dir)?;
    let posture = tacet_runtime::posture::require()?;
    let mut admin = vault.unlock(ADMIN.0, &ap)?;
    tacet_runtime::posture::record(&mut admin, &posture)?;
    for src in [&asr_src, &llm_src] {
        let m = tacet_runtime::manage::import_model(
            &mut admin,
            &models,
            src,
            &ImportOptions::default(),
        )
        .with_context(|| format!("importing {}", src.display()))?;
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
