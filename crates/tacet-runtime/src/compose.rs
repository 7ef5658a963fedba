//! Wiring: where the data lives and which concrete engines serve the
//! application layer's ports. A model is re-hashed and its header checked
//! before an engine parses it (whisper.cpp aborts the process on a bad
//! file), the same way for the CLI and the desktop app.

use crate::RuntimeError;
use std::path::{Path, PathBuf};
use tacet_asr::{AsrOptions, WhisperTranscriber};
use tacet_core::ports::Clock;
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};
use tacet_models::{Manifest, ModelRole, ModelStore};

/// The environment variable that sets the speech engine's threads.
pub const ASR_THREADS_VAR: &str = "TACET_ASR_THREADS";
/// The environment variable that sets the drafting engine's threads.
pub const LLM_THREADS_VAR: &str = "TACET_LLM_THREADS";
/// The environment variable that puts the drafting model on a GPU: `cpu`
/// (the default), `cuda` or `cuda:N`; a GPU needs a build with the `cuda`
/// feature (docs/GPU.md).
pub const LLM_DEVICE_VAR: &str = "TACET_LLM_DEVICE";

/// The wall clock, in Unix milliseconds (0 if the clock is before 1970).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The vault folder: `flag` when given, else `$TACET_DATA_DIR`, else the
/// platform's data folder for Tacet as the `directories` crate names it —
/// `$XDG_DATA_HOME/tacet` or `~/.local/share/tacet` on Linux,
/// `~/Library/Application Support/Tacet` on macOS, `%APPDATA%\Tacet\data`
/// on Windows.
pub fn data_dir(flag: Option<PathBuf>) -> Result<PathBuf, RuntimeError> {
    if let Some(d) = flag {
        return Ok(d);
    }
    if let Some(d) = std::env::var_os("TACET_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    directories::ProjectDirs::from("", "", "Tacet")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or(RuntimeError::NoDataDir)
}

/// The model store in `data_dir/models` (created when missing).
pub fn model_store(data_dir: &Path) -> Result<ModelStore, RuntimeError> {
    let dir = data_dir.join("models");
    std::fs::create_dir_all(&dir).map_err(|cause| RuntimeError::CreateDir {
        path: dir.clone(),
        cause,
    })?;
    Ok(ModelStore::open(&dir)?)
}

/// The model manifest compiled into the program.
pub fn manifest() -> Result<Manifest, RuntimeError> {
    Ok(Manifest::embedded()?)
}

/// Threads for one engine: `$var` when set (clamped to 1..=64), else the
/// machine's cores, at most 4. Both front ends run one engine at a time,
/// so they do not compete; both engines spin at barriers and collapse when
/// oversubscribed, so set the variable lower on a machine busy with other
/// work.
pub fn engine_threads(var: &str) -> usize {
    if let Some(n) = std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.clamp(1, 64);
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

/// Threads for transcription beside other live work (a recording, or the
/// desktop window): `$TACET_ASR_THREADS` when set, else the machine's cores
/// less one (at least 1, at most 4). The audio thread, the sealing and the
/// window need a core of their own; with
/// whisper.cpp spinning on every core, a 2-core machine fell minutes behind
/// a one-minute recording (docs/BENCHMARKS.md, desktop frame rate).
pub fn live_asr_threads() -> usize {
    if std::env::var_os(ASR_THREADS_VAR).is_some() {
        return engine_threads(ASR_THREADS_VAR);
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .clamp(1, 4)
}

/// The drafting model's device: `$TACET_LLM_DEVICE` when set, else the
/// CPU. A value that names no device is an error, not the CPU: a practice
/// that configured a GPU should hear that it is not used.
pub fn llm_device() -> Result<tacet_llm::LlmDevice, tacet_llm::LlmError> {
    match std::env::var(LLM_DEVICE_VAR) {
        Ok(v) => v.parse(),
        Err(_) => Ok(tacet_llm::LlmDevice::Cpu),
    }
}

/// The installed model for `role`, re-hashed and its header checked before
/// any engine parses it.
fn checked_model(
    store: &ModelStore,
    role: ModelRole,
) -> Result<tacet_models::InstalledModel, RuntimeError> {
    let manifest = manifest()?;
    let m = store.default_for(role, &manifest)?;
    let v = store.verify(&m.id, &manifest)?;
    if !v.ok() {
        return Err(RuntimeError::ModelNotVerified {
            role: role.to_string(),
            id: m.id,
            status: format!("{:?}", v.status),
        });
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

/// The default speech model, checked and loaded.
pub fn transcriber(store: &ModelStore) -> Result<WhisperTranscriber, RuntimeError> {
    let m = checked_model(store, ModelRole::Asr)?;
    let opts = AsrOptions {
        threads: engine_threads(ASR_THREADS_VAR),
        language: "en".into(),
    };
    WhisperTranscriber::load(&m.path, m.sha256.clone(), opts)
        .map_err(|cause| RuntimeError::LoadAsr { id: m.id, cause })
}

/// At most this many tokens of a model's answer when it rewords one
/// section.
pub const LLM_DRAFTER_MAX_TOKENS: usize = 256;

/// The default drafting model, checked and loaded.
pub fn llm_drafter(store: &ModelStore) -> Result<GgufDrafter, RuntimeError> {
    checked_llm(store).map(|(l, _, _)| l)
}

/// The default drafting model, checked and loaded, with its id and hash.
pub(crate) fn checked_llm(
    store: &ModelStore,
) -> Result<(GgufDrafter, String, String), RuntimeError> {
    let m = checked_model(store, ModelRole::Llm)?;
    let device = llm_device().map_err(|cause| RuntimeError::LoadLlm {
        id: m.id.clone(),
        cause,
    })?;
    let opts = LlmOptions {
        threads: engine_threads(LLM_THREADS_VAR),
        device,
        ..LlmOptions::default()
    };
    let llm = GgufDrafter::load(
        &m.path,
        ModelInfo {
            id: m.id.clone(),
            sha256: m.sha256.clone(),
        },
        opts,
    )
    .map_err(|cause| RuntimeError::LoadLlm {
        id: m.id.clone(),
        cause,
    })?;
    Ok((llm, m.id, m.sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_store_is_created_under_the_data_dir() {
        let d = tempfile::tempdir().unwrap();
        let store = model_store(d.path()).unwrap();
        assert!(d.path().join("models").is_dir());
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn fail_no_model_installed_names_the_role() {
        let d = tempfile::tempdir().unwrap();
        let store = model_store(d.path()).unwrap();
        let err = transcriber(&store).unwrap_err().to_string();
        assert!(err.to_lowercase().contains("asr"), "{err}");
    }

    #[test]
    fn an_explicit_data_dir_wins() {
        let p = PathBuf::from("/somewhere/else");
        assert_eq!(data_dir(Some(p.clone())).unwrap(), p);
    }
}
