//! First run: the vault with its first admin and clinician, the models a
//! practice brings on a folder or a removable disk, and the consent texts.
//!
//! The CLI takes these steps as `tacet init`, `tacet models import-folder`
//! and `tacet consent`; the desktop app's first-run walk takes them in the
//! window, with no terminal. Both call these functions, so the two cannot
//! disagree on how a vault is created (the KDF calibrated on this computer,
//! the same checks), which files in a folder are models (each verified by
//! its pinned SHA-256 before anything parses it, and audited), or what the
//! consent texts promise (filled in from the vault's own settings).

use crate::manage::import_model;
use crate::RuntimeError;
use std::path::{Path, PathBuf};
use tacet_core::ports::SessionStore;
use tacet_core::Role;
use tacet_crypto::{KdfParams, Passphrase};
use tacet_models::{ImportOptions, InstalledModel, ModelStore};
use tacet_vault::{KdfChoice, NewUser, Vault};

/// How long deriving one user's key should take on this computer.
pub const KDF_TARGET_MS: u64 = 500;

/// The first two accounts of a new vault.
pub struct FirstAccounts<'a> {
    pub admin: &'a str,
    pub admin_passphrase: &'a Passphrase,
    pub clinician: &'a str,
    pub clinician_passphrase: &'a Passphrase,
}

/// What a new vault gives the admin to keep outside this computer.
#[derive(Debug)]
pub struct CreatedVault {
    /// The audit log's verifier key (Ed25519, C2SP note format).
    pub verifier_key: String,
    /// The audit chain's first key (secret; the vault does not keep it).
    pub chain_key: tacet_vault::AuditChainKey,
}

/// Creates the vault in `data_dir` with its first admin and clinician.
/// The key derivation is calibrated to [`KDF_TARGET_MS`] on this computer
/// first (`fast_kdf`: OWASP's floor, for tests and demos). `progress` is
/// told each step before it starts: the share done (0 to 1) and what runs.
pub fn create_vault(
    data_dir: &Path,
    accounts: &FirstAccounts<'_>,
    fast_kdf: bool,
    progress: &mut dyn FnMut(f32, &str),
) -> Result<CreatedVault, RuntimeError> {
    if Vault::exists(data_dir) {
        return Err(RuntimeError::VaultExists(data_dir.to_path_buf()));
    }
    if accounts.admin == accounts.clinician {
        return Err(RuntimeError::InvalidSetting(
            "the admin and the clinician need different user names".into(),
        ));
    }
    let kdf = if fast_kdf {
        KdfChoice::Floor
    } else {
        progress(0.05, "Measuring how fast this computer derives keys…");
        let p = KdfParams::calibrate(KDF_TARGET_MS)?;
        KdfChoice::Cost {
            m_cost_kib: p.m_cost_kib,
            t_cost: p.t_cost,
        }
    };
    progress(
        0.35,
        "Creating the vault: deriving the admin's and the clinician's keys…",
    );
    let mut vault = Vault::create(
        data_dir,
        &[
            NewUser {
                name: accounts.admin,
                role: Role::Admin,
                passphrase: accounts.admin_passphrase,
            },
            NewUser {
                name: accounts.clinician,
                role: Role::Clinician,
                passphrase: accounts.clinician_passphrase,
            },
        ],
        kdf,
    )?;
    let verifier_key = vault.audit_verifier_key()?.trim().to_string();
    let chain_key = vault.take_audit_chain_key().ok_or_else(|| {
        RuntimeError::InvalidSetting("the new vault gave no audit chain key".into())
    })?;
    progress(1.0, "The vault is created.");
    Ok(CreatedVault {
        verifier_key,
        chain_key,
    })
}

/// The demo's accounts, (name, passphrase): fixed, for a throwaway vault
/// only (`tacet demo`, `tacet-desktop --demo`); a real vault asks for both.
pub const DEMO_ADMIN: (&str, &str) = ("admin", "demo-admin-passphrase");
pub const DEMO_CLINICIAN: (&str, &str) = ("drlee", "demo-clinician-passphrase");

/// A demo vault, made by [`create_demo_vault`].
#[derive(Debug)]
pub struct DemoVault {
    /// What a practice's admin would keep outside the computer.
    pub created: CreatedVault,
    /// The default models, imported and verified.
    pub models: Vec<InstalledModel>,
}

/// The default models' sources in the local model cache (filled by
/// `scripts/fetch-models.sh`): the speech model, then the drafting model.
pub fn default_model_sources() -> Result<[PathBuf; 2], RuntimeError> {
    let cache = tacet_models::cache_root().ok_or(RuntimeError::NoModelCache)?;
    let files = cache.join("files");
    let sources = [
        files.join("whisper-tiny.en-ct2"),
        files.join("SmolLM2-135M-Instruct.Q4_1.gguf"),
    ];
    if sources.iter().all(|p| p.exists()) {
        Ok(sources)
    } else {
        Err(RuntimeError::DefaultModelsMissing(files))
    }
}

/// A throwaway vault in `dir` (which must not hold one) with the demo
/// admin and clinician ([`DEMO_ADMIN`], [`DEMO_CLINICIAN`]) and the default
/// models imported by the admin, audited as any import; for trying Tacet
/// (and screenshotting it) without setting anything up.
pub fn create_demo_vault(dir: &Path) -> Result<DemoVault, RuntimeError> {
    let sources = default_model_sources()?;
    let admin_pass = Passphrase::new(DEMO_ADMIN.1.into());
    let clinician_pass = Passphrase::new(DEMO_CLINICIAN.1.into());
    let created = create_vault(
        dir,
        &FirstAccounts {
            admin: DEMO_ADMIN.0,
            admin_passphrase: &admin_pass,
            clinician: DEMO_CLINICIAN.0,
            clinician_passphrase: &clinician_pass,
        },
        true,
        &mut |_, _| {},
    )?;
    let store = crate::compose::model_store(dir)?;
    let mut vault = Vault::open(dir)?;
    let (mut admin, _) = crate::posture::unlock(&mut vault, DEMO_ADMIN.0, &admin_pass)?;
    let models = sources
        .iter()
        .map(|src| import_model(&mut admin, &store, src, &ImportOptions::default()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DemoVault { created, models })
}

/// Which entries of `folder` could be models, in name order: wheels and
/// zips, GGUF and whisper ggml files (`.gguf`, `.bin`), and CTranslate2
/// folders (`model.bin` with `config.json`). A CTranslate2 folder given
/// itself is its own one source. Hidden entries and other files are left
/// alone. Nothing is opened but the folder listing.
pub fn model_sources(folder: &Path) -> Result<Vec<PathBuf>, RuntimeError> {
    let is_ct2 = |d: &Path| d.join("model.bin").is_file() && d.join("config.json").is_file();
    let read_err = |cause: std::io::Error| RuntimeError::ReadFolder {
        path: folder.to_path_buf(),
        cause,
    };
    if !folder.is_dir() {
        return Err(read_err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such folder",
        )));
    }
    if is_ct2(folder) {
        return Ok(vec![folder.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if is_ct2(&path) {
                out.push(path);
            }
            continue;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("gguf" | "bin" | "whl" | "zip")) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// What became of one source in a folder import.
#[derive(Debug)]
pub struct FolderImport {
    /// The entry's name in the folder (the file or folder name).
    pub source: String,
    /// The installed model, or why it was refused (naming the file).
    pub outcome: Result<InstalledModel, String>,
}

/// Imports every model source in `folder` ([`model_sources`]), each
/// through the audited [`import_model`]: its SHA-256 must match the model
/// manifest before anything parses it, so a file that is not a listed
/// model, or is cut short or altered, is refused by name and the rest go
/// on. Admins only. `progress(done, total, name)` is told before each.
pub fn import_folder(
    store: &mut dyn SessionStore,
    models: &ModelStore,
    folder: &Path,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<Vec<FolderImport>, RuntimeError> {
    if store.actor().role != Role::Admin {
        return Err(RuntimeError::AdminOnly("import models"));
    }
    let sources = model_sources(folder)?;
    if sources.is_empty() {
        return Err(RuntimeError::NoModelsInFolder(folder.to_path_buf()));
    }
    let total = sources.len();
    let mut out = Vec::with_capacity(total);
    for (i, path) in sources.iter().enumerate() {
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        progress(i, total, &source);
        let outcome = match import_model(store, models, path, &ImportOptions::default()) {
            Ok(m) => Ok(m),
            // The audit log could not record the import: stop, as a
            // single import does.
            Err(e @ (RuntimeError::Store(_) | RuntimeError::Vault(_))) => return Err(e),
            Err(e) => Err(e.to_string()),
        };
        out.push(FolderImport { source, outcome });
    }
    progress(total, total, "");
    Ok(out)
}

/// The consent texts as a practice hands them out: the written clause for
/// its consent form and the script read aloud before recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentTexts {
    pub clause: String,
    pub script: String,
    /// No readable vault was found: the texts use the default retention
    /// settings (7 days, 0 hours) rather than the vault's.
    pub defaults_used: bool,
}

/// The consent texts filled in with `practice` and the vault's retention
/// settings (read without unlocking: retention is not secret), so the form
/// never promises what the installation does not do. Without a readable
/// vault the defaults are used, and the result says so.
pub fn consent_texts(data_dir: &Path, practice: &str) -> Result<ConsentTexts, RuntimeError> {
    let read = Vault::open(data_dir).and_then(|v| v.public_retention_settings());
    match read {
        Ok(r) => consent_texts_for(
            practice,
            r.unexported_limit_ms as f64 / 86_400_000.0,
            r.export_grace_ms as f64 / 3_600_000.0,
        ),
        Err(_) => Ok(ConsentTexts {
            defaults_used: true,
            ..consent_texts_for(practice, 7.0, 0.0)?
        }),
    }
}

/// The consent texts for these retention settings (an open vault's, as
/// [`crate::manage::retention`] reads them).
pub fn consent_texts_for(
    practice: &str,
    retention_days: f64,
    grace_hours: f64,
) -> Result<ConsentTexts, RuntimeError> {
    use tacet_compliance::consent::{
        render, ConsentFacts, AI_CLAUSE_TEMPLATE, SPOKEN_SCRIPT_TEMPLATE,
    };
    let facts = ConsentFacts {
        practice_name: practice.to_string(),
        retention_days,
        grace_hours,
    };
    Ok(ConsentTexts {
        clause: render(AI_CLAUSE_TEMPLATE, &facts)?,
        script: render(SPOKEN_SCRIPT_TEMPLATE, &facts)?,
        defaults_used: false,
    })
}
