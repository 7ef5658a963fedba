//! Wiring: who is acting and how the passphrase is asked. Where the data
//! lives and which concrete engines serve the application layer's ports
//! come from `tacet-runtime`, the composition the desktop app shares, so
//! the two front ends cannot describe (or run) the installation
//! differently; only the terminal's part stays here.

use anyhow::{Context, Result};
use tacet_crypto::Passphrase;

pub use tacet_runtime::{data_dir, drafter, manifest, model_store, transcriber, SystemClock};

pub fn user(flag: Option<String>) -> Result<String> {
    flag.or_else(|| std::env::var("TACET_USER").ok())
        .context("who is acting? pass --user NAME (or set TACET_USER)")
}

/// The passphrase from `env_var`, else asked on the terminal.
pub fn passphrase(env_var: &str, prompt: &str) -> Result<Passphrase> {
    if let Ok(p) = std::env::var(env_var) {
        return Ok(Passphrase::new(p));
    }
    let p = rpassword::prompt_password(prompt)
        .with_context(|| format!("no terminal to ask for a passphrase: set {env_var}"))?;
    Ok(Passphrase::new(p))
}
