//! Wiring: where the data lives and which concrete engines serve the
//! application layer's ports (the same checks as the CLI: a model is
//! re-hashed and its header checked before an engine parses it).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tacet_asr::{AsrOptions, WhisperTranscriber};
use tacet_core::ports::Clock;
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};
use tacet_models::{Manifest, ModelRole, ModelStore};

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

pub fn data_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(d);
    }
    if let Some(d) = std::env::var_os("TACET_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return Ok(PathBuf::from(d).join("tacet"));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find a data directory: set --data-dir or TACET_DATA_DIR")?;
    Ok(PathBuf::from(home).join(".local/share/tacet"))
}

pub fn model_store(data_dir: &Path) -> Result<ModelStore> {
    let dir = data_dir.join("models");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(ModelStore::open(&dir)?)
}

pub fn manifest() -> Result<Manifest> {
    Ok(Manifest::embedded()?)
}

/// Threads for one engine: the machine's cores, at most 4. The worker runs
/// one engine at a time, so they do not compete (the window needs little).
pub fn engine_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

/// The installed model for `role`, re-hashed and its header checked before
/// any engine parses it (whisper.cpp aborts the process on a bad file).
fn checked_model(store: &ModelStore, role: ModelRole) -> Result<tacet_models::InstalledModel> {
    let m = store.default_for(role, &manifest()?)?;
    let v = store.verify(&m.id, &manifest()?)?;
    if !v.ok() {
        bail!("the {role} model {} failed verification ({:?}); re-import it with `tacet models import`", m.id, v.status);
    }
    match role {
        ModelRole::Asr => {
            tacet_models::check_whisper_ggml(&m.path)?;
        }
        ModelRole::Llm => {
            tacet_models::check_gguf(&m.path)?;
        }
    }
    Ok(m)
}

pub fn transcriber(store: &ModelStore) -> Result<WhisperTranscriber> {
    let m = checked_model(store, ModelRole::Asr)?;
    let opts = AsrOptions {
        threads: engine_threads(),
        language: "en".into(),
    };
    WhisperTranscriber::load(&m.path, m.sha256.clone(), opts)
        .with_context(|| format!("loading the ASR model {}", m.id))
}

pub fn drafter(store: &ModelStore) -> Result<GgufDrafter> {
    let m = checked_model(store, ModelRole::Llm)?;
    let opts = LlmOptions {
        threads: engine_threads(),
        ..LlmOptions::default()
    };
    GgufDrafter::load(
        &m.path,
        ModelInfo {
            id: m.id.clone(),
            sha256: m.sha256.clone(),
        },
        opts,
    )
    .with_context(|| format!("loading the drafting model {}", m.id))
}
