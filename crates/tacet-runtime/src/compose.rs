//! Wiring: where the data lives and which concrete engines serve the
//! application layer's ports. A model is re-hashed and its header checked
//! before an engine parses it (whisper.cpp aborts the process on a bad
//! file), the same way for the CLI and the desktop app.

use crate::RuntimeError;
use std::path::{Path, PathBuf};
use tacet_asr::{AsrOptions, WhisperTranscriber};
use tacet_core::ports::{Clock, SessionStore};
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};
use tacet_models::{Manifest, ModelRole, ModelStore, VerifiedModel};

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

/// The template library: the built-ins plus the practice's own `*.toml`
/// files in `data_dir/templates` (a missing folder is none), by file name.
pub fn templates(data_dir: &Path) -> Result<tacet_app::TemplateLibrary, RuntimeError> {
    let dir = data_dir.join("templates");
    let read = |cause| RuntimeError::ReadFolder {
        path: dir.clone(),
        cause,
    };
    let mut files: Vec<(String, String)> = Vec::new();
    if dir.exists() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(read)?;
            files.push((p.display().to_string(), text));
        }
    }
    Ok(tacet_app::TemplateLibrary::with_practice_files(&files)?)
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

/// The installed models an admin approved through Tacet, as the unlocked
/// vault's authenticated list says ([`SessionStore::model_approved`]), read
/// once so that an engine can be loaded on another thread. It only ever
/// narrows what loads: [`checked_model`] compares it with the hash of the
/// bytes it then hands the engine.
#[derive(Clone, Debug, Default)]
pub struct ApprovedModels(std::collections::HashSet<[u8; 32]>);

impl ApprovedModels {
    /// The approved hashes among the installed models.
    pub fn read(models: &ModelStore, vault: &dyn SessionStore) -> Result<Self, RuntimeError> {
        let mut set = std::collections::HashSet::new();
        for m in models.list()? {
            if let Some(sha) = hex_32(&m.sha256) {
                if vault.model_approved(&sha)? {
                    set.insert(sha);
                }
            }
        }
        Ok(Self(set))
    }
}

/// The installed model for `role`, read into memory once, its SHA-256
/// checked against the index and its approval, and its header checked —
/// all on the bytes that the engine is then handed (issue 22, item 8).
///
/// A model is approved when the manifest compiled into this binary lists
/// its hash for this role, or when an admin imported it through Tacet
/// (the vault's authenticated list, [`SessionStore::model_approved`]). The
/// models folder's index only says which file to try: editing it approves
/// nothing, and a file swapped after the check never reaches an engine.
fn checked_model(
    store: &ModelStore,
    role: ModelRole,
    approved: &ApprovedModels,
) -> Result<VerifiedModel, RuntimeError> {
    let manifest = manifest()?;
    let m = store.default_for(role, &manifest)?;
    if m.role != role {
        return Err(RuntimeError::ModelWrongRole {
            role: role.to_string(),
            id: m.id,
        });
    }
    let v = store.read_verified(&m.id).map_err(|e| match e {
        tacet_models::ModelError::HashMismatch { .. }
        | tacet_models::ModelError::SizeMismatch { .. }
        | tacet_models::ModelError::NotInstalled { .. } => RuntimeError::ModelNotVerified {
            role: role.to_string(),
            id: m.id.clone(),
            status: e.to_string(),
        },
        other => other.into(),
    })?;
    let listed = manifest
        .by_installed_sha256(&v.sha256)
        .is_some_and(|e| e.role == role);
    let ok = listed || hex_32(&v.sha256).is_some_and(|sha| approved.0.contains(&sha));
    if !ok {
        return Err(RuntimeError::ModelNotApproved {
            id: v.model.id,
            sha256: v.sha256,
        });
    }
    match role {
        ModelRole::Asr => {
            tacet_models::check_whisper_ggml_bytes(&v.bytes).map_err(|e| named(e, &v))?;
        }
        ModelRole::Llm => {
            tacet_models::check_gguf_bytes(&v.bytes).map_err(|e| named(e, &v))?;
        }
    }
    Ok(v)
}

/// A check of bytes in memory names them `<memory>`; say which model.
fn named(e: tacet_models::ModelError, v: &VerifiedModel) -> RuntimeError {
    RuntimeError::ModelNotVerified {
        role: v.model.role.to_string(),
        id: v.model.id.clone(),
        status: e.to_string(),
    }
}

fn hex_32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// The default speech model, checked and loaded from the checked bytes
/// (`approved`: the vault's list of admin-imported models; see
/// [`checked_model`]).
pub fn transcriber(
    store: &ModelStore,
    approved: &ApprovedModels,
) -> Result<WhisperTranscriber, RuntimeError> {
    let v = checked_model(store, ModelRole::Asr, approved)?;
    let opts = AsrOptions {
        threads: engine_threads(ASR_THREADS_VAR),
        language: "en".into(),
    };
    WhisperTranscriber::load_bytes(&v.bytes, &v.model.path, v.sha256.clone(), opts).map_err(
        |cause| RuntimeError::LoadAsr {
            id: v.model.id,
            cause,
        },
    )
}

/// At most this many tokens of a model's answer when it rewords one
/// section.
pub const LLM_DRAFTER_MAX_TOKENS: usize = 256;

/// The default drafting model, checked and loaded from the checked bytes.
pub fn llm_drafter(
    store: &ModelStore,
    approved: &ApprovedModels,
) -> Result<GgufDrafter, RuntimeError> {
    checked_llm(store, approved).map(|(l, _, _)| l)
}

/// The default drafting model, checked and loaded, with its id and hash.
pub(crate) fn checked_llm(
    store: &ModelStore,
    approved: &ApprovedModels,
) -> Result<(GgufDrafter, String, String), RuntimeError> {
    let v = checked_model(store, ModelRole::Llm, approved)?;
    let m = &v.model;
    let device = llm_device().map_err(|cause| RuntimeError::LoadLlm {
        id: m.id.clone(),
        cause,
    })?;
    let opts = LlmOptions {
        threads: engine_threads(LLM_THREADS_VAR),
        device,
        ..LlmOptions::default()
    };
    let llm = GgufDrafter::load_bytes(
        &v.bytes,
        &m.path,
        ModelInfo {
            id: m.id.clone(),
            sha256: v.sha256.clone(),
        },
        opts,
    )
    .map_err(|cause| RuntimeError::LoadLlm {
        id: m.id.clone(),
        cause,
    })?;
    crate::support_log::log(&crate::support_log::Event::DraftingKernels {
        kernels: tacet_llm::matvec_kernels(),
    });
    Ok((llm, m.id.clone(), v.sha256.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_practices_templates_folder_adds_and_replaces_and_names_a_bad_file() {
        let data = tempfile::tempdir().unwrap();
        // No folder: the built-ins.
        assert!(templates(data.path()).unwrap().get("soap").is_some());
        let dir = data.path().join("templates");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join("diet.toml"),
            "id = \"diet\"\nversion = 1\nname = \"Dietitian\"\n[[sections]]\nheading = \"INTAKE\"\nguidance = \"What they eat.\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "not a template").unwrap();
        let lib = templates(data.path()).unwrap();
        assert_eq!(lib.get("diet").map(|t| t.name.as_str()), Some("Dietitian"));
        std::fs::write(dir.join("broken.toml"), "id = ").unwrap();
        let err = templates(data.path()).unwrap_err().to_string();
        assert!(err.contains("broken.toml"), "{err}");
    }

    #[test]
    fn the_model_store_is_created_under_the_data_dir() {
        let d = tempfile::tempdir().unwrap();
        let store = model_store(d.path()).unwrap();
        assert!(d.path().join("models").is_dir());
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn an_explicit_data_dir_wins() {
        let p = PathBuf::from("/somewhere/else");
        assert_eq!(data_dir(Some(p.clone())).unwrap(), p);
    }
}
