//! The models directory: installed model files plus an `installed.toml`
//! index, and the import that fills it.
//!
//! Import rule: **the SHA-256 of every byte is verified before anything
//! parses it.** A source is copied (or read) while it is hashed, the hash is
//! matched against the manifest (or an administrator's expected hash for an
//! unlisted model), and only then is the verified copy parsed — so a file
//! swapped after hashing cannot slip through. Sizes known from the manifest
//! are checked before hashing, so a truncated download fails at once. A
//! CTranslate2 export is converted in memory and the output must hash to the
//! manifest's installed SHA-256 before it is installed. Every write goes to a
//! temporary file in the same directory, is fsynced, renamed into place, and
//! the directory is fsynced; the index is rewritten the same way. The store
//! assumes one writer at a time (one admin command).

use crate::convert::ct2_to_ggml;
use crate::error::ModelError;
use crate::ggml::{check_whisper_ggml, check_whisper_ggml_bytes, has_ggml_magic};
use crate::gguf::{check_gguf, has_gguf_magic};
use crate::hashing::{hash_copy, hash_file, hex32, read_hashed};
use crate::manifest::{
    is_safe_name, is_sha256_hex, Architecture, Manifest, ModelEntry, ModelFormat, ModelRole,
    SourceEntry, SourceFile, SourceKind,
};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The import: a source verified by its SHA-256 before anything parses it,
/// then identified, converted where need be, and installed.
#[path = "import.rs"]
mod import;

const INDEX_FILE: &str = "installed.toml";
/// The most a CTranslate2 component is read into memory when the manifest
/// gives no size.
const MAX_CT2_COMPONENT_BYTES: u64 = 4 << 30;

/// Quantisation applied while converting a CTranslate2 export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantization {
    /// ggml q8_0: blocks of 32 weights, an f16 scale and 32 i8 each.
    Q8_0,
}

impl Quantization {
    fn suffix(self) -> &'static str {
        match self {
            Quantization::Q8_0 => "q8_0",
        }
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The manifest id to import as, or the id of an unlisted model.
    pub id: Option<String>,
    /// The role the caller wants; a model of another role is refused.
    pub role: Option<ModelRole>,
    /// For an unlisted model: the SHA-256 an administrator vouches for.
    /// For a listed one: an extra pin that must also match.
    pub expected_sha256: Option<String>,
    /// Quantise a converted whisper model (installed as `<id>-q8_0`).
    pub quantize: Option<Quantization>,
    /// Licence to record for an unlisted model.
    pub licence: Option<String>,
}

/// One installed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledModel {
    pub id: String,
    pub role: ModelRole,
    pub format: ModelFormat,
    pub architecture: Architecture,
    pub path: PathBuf,
    pub size_bytes: u64,
    pub sha256: String,
    pub licence: String,
    /// Where it came from, in words.
    pub source: String,
    pub installed_at_unix: u64,
    /// `Some("q8_0")` when quantised by Tacet.
    pub quantization: Option<String>,
}

/// An installed model's bytes, read once and hashed as read: what the
/// engines load (see [`ModelStore::read_verified`]).
pub struct VerifiedModel {
    pub model: InstalledModel,
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
}

impl std::fmt::Debug for VerifiedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedModel")
            .field("id", &self.model.id)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// The result of re-hashing an installed file against the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyStatus {
    /// The file hashes to what the index recorded.
    Intact,
    /// The file changed since import.
    Modified { expected: String, actual: String },
    /// The file is gone.
    Missing,
}

/// How an installed model relates to the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestMatch {
    /// Same SHA-256 as the manifest lists.
    Matches,
    /// Listed under this id with another SHA-256.
    Differs { manifest_sha256: String },
    /// Quantised by Tacet from this listed model; no published hash.
    DerivedFrom { manifest_id: String },
    /// An administrator-imported model the manifest does not list.
    NotListed,
}

/// What [`ModelStore::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOutcome {
    pub id: String,
    pub path: PathBuf,
    pub status: VerifyStatus,
    pub manifest: ManifestMatch,
}

impl VerifyOutcome {
    /// Intact and not contradicting the manifest.
    pub fn ok(&self) -> bool {
        self.status == VerifyStatus::Intact
            && !matches!(self.manifest, ManifestMatch::Differs { .. })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexRecord {
    id: String,
    role: ModelRole,
    format: ModelFormat,
    architecture: Architecture,
    file: String,
    size_bytes: u64,
    sha256: String,
    licence: String,
    source: String,
    installed_at_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantization: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    #[serde(default, rename = "model")]
    models: Vec<IndexRecord>,
}

/// What the verified bytes turned out to be, after parsing.
struct Identified {
    format: ModelFormat,
    architecture: Architecture,
}

/// Who a verified single file is.
enum Identity<'m> {
    Listed(&'m ModelEntry),
    Unlisted { id: String },
}

/// The models directory.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fsync_dir(dir: &Path) -> Result<(), ModelError> {
    let d = std::fs::File::open(dir).map_err(|e| ModelError::io("open directory", dir, e))?;
    d.sync_all()
        .map_err(|e| ModelError::io("sync directory", dir, e))
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl ModelStore {
    /// Opens (creating if needed) a models directory and checks its index.
    pub fn open(models_dir: &Path) -> Result<ModelStore, ModelError> {
        std::fs::create_dir_all(models_dir)
            .map_err(|e| ModelError::io("create the models directory", models_dir, e))?;
        let store = ModelStore {
            dir: models_dir.to_path_buf(),
        };
        store.read_index()?;
        Ok(store)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    fn read_index(&self) -> Result<IndexFile, ModelError> {
        let path = self.index_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IndexFile::default()),
            Err(e) => return Err(ModelError::io("read", path, e)),
        };
        let index: IndexFile = toml::from_str(&text).map_err(|e| ModelError::Index {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        for r in &index.models {
            if !is_safe_name(&r.id) || !is_safe_name(&r.file) || r.file == INDEX_FILE {
                return Err(ModelError::Index {
                    path: path.clone(),
                    detail: "a record has an unsafe id or file name".into(),
                });
            }
        }
        Ok(index)
    }

    fn write_index(&self, index: &IndexFile) -> Result<(), ModelError> {
        let text = toml::to_string(index).map_err(|e| ModelError::Index {
            path: self.index_path(),
            detail: e.to_string(),
        })?;
        self.write_atomic(INDEX_FILE, text.as_bytes())
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, ModelError> {
        tempfile::Builder::new()
            .prefix(".import-")
            .tempfile_in(&self.dir)
            .map_err(|e| ModelError::io("create a temporary file in", &self.dir, e))
    }

    /// Writes `bytes` to `name` atomically.
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), ModelError> {
        let mut tmp = self.temp_file()?;
        tmp.write_all(bytes)
            .map_err(|e| ModelError::io("write", tmp.path().to_path_buf(), e))?;
        self.persist(tmp, name)
    }

    fn persist(&self, tmp: tempfile::NamedTempFile, name: &str) -> Result<(), ModelError> {
        tmp.as_file()
            .sync_all()
            .map_err(|e| ModelError::io("sync", tmp.path().to_path_buf(), e))?;
        let dest = self.dir.join(name);
        tmp.persist(&dest)
            .map_err(|e| ModelError::io("move into place", dest.clone(), e.error))?;
        fsync_dir(&self.dir)
    }

    fn record_to_model(&self, r: &IndexRecord) -> InstalledModel {
        InstalledModel {
            id: r.id.clone(),
            role: r.role,
            format: r.format,
            architecture: r.architecture,
            path: self.dir.join(&r.file),
            size_bytes: r.size_bytes,
            sha256: r.sha256.clone(),
            licence: r.licence.clone(),
            source: r.source.clone(),
            installed_at_unix: r.installed_at_unix,
            quantization: r.quantization.clone(),
        }
    }

    /// Installed models, sorted by id.
    pub fn list(&self) -> Result<Vec<InstalledModel>, ModelError> {
        let mut v: Vec<InstalledModel> = self
            .read_index()?
            .models
            .iter()
            .map(|r| self.record_to_model(r))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(v)
    }

    /// An installed model by id.
    pub fn get(&self, id: &str) -> Result<InstalledModel, ModelError> {
        self.list()?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| ModelError::NotInstalled { id: id.to_string() })
    }

    /// Re-hashes an installed file against the index and the manifest.
    pub fn verify(&self, id: &str, manifest: &Manifest) -> Result<VerifyOutcome, ModelError> {
        let m = self.get(id)?;
        let status = match std::fs::metadata(&m.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => VerifyStatus::Missing,
            Err(e) => return Err(ModelError::io("read metadata of", m.path.clone(), e)),
            Ok(_) => {
                let (sha, _) = hash_file(&m.path)?;
                if sha == m.sha256 {
                    VerifyStatus::Intact
                } else {
                    VerifyStatus::Modified {
                        expected: m.sha256.clone(),
                        actual: sha,
                    }
                }
            }
        };
        let manifest_match = match manifest.get(&m.id) {
            Some(e) if e.sha256 == m.sha256 => ManifestMatch::Matches,
            Some(e) => ManifestMatch::Differs {
                manifest_sha256: e.sha256.clone(),
            },
            None => match (&m.quantization, m.id.rsplit_once('-')) {
                (Some(q), Some((base, suffix))) if suffix == q && manifest.get(base).is_some() => {
                    ManifestMatch::DerivedFrom {
                        manifest_id: base.to_string(),
                    }
                }
                _ => ManifestMatch::NotListed,
            },
        };
        Ok(VerifyOutcome {
            id: m.id,
            path: m.path,
            status,
            manifest: manifest_match,
        })
    }

    /// Reads an installed model's file into memory once, hashing the bytes
    /// as they arrive, and refuses them unless they are what the index
    /// recorded. The engine is then handed these very bytes: nothing is
    /// opened by path again, so a file swapped or rewritten after the check
    /// never reaches a parser (issue 22, item 8). The size read is bounded
    /// by the index's size, so a file grown meanwhile is refused, not read.
    pub fn read_verified(&self, id: &str) -> Result<VerifiedModel, ModelError> {
        let m = self.get(id)?;
        let file = match std::fs::File::open(&m.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::NotInstalled { id: m.id.clone() })
            }
            Err(e) => return Err(ModelError::io("open", m.path.clone(), e)),
        };
        let (bytes, sha256) = crate::hashing::read_hashed(file, m.size_bytes, &m.path)?;
        if sha256 != m.sha256 {
            return Err(ModelError::HashMismatch {
                path: m.path.clone(),
                what: "the SHA-256 recorded when it was imported".into(),
                expected: m.sha256.clone(),
                actual: sha256,
            });
        }
        Ok(VerifiedModel {
            model: m,
            bytes,
            sha256,
        })
    }

    /// Removes an installed model: the index entry first, then the file.
    pub fn remove(&self, id: &str) -> Result<InstalledModel, ModelError> {
        let mut index = self.read_index()?;
        let pos = index
            .models
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| ModelError::NotInstalled { id: id.to_string() })?;
        let record = index.models.remove(pos);
        self.write_index(&index)?;
        let model = self.record_to_model(&record);
        match std::fs::remove_file(&model.path) {
            Ok(()) => fsync_dir(&self.dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ModelError::io("delete", model.path.clone(), e)),
        }
        Ok(model)
    }

    /// The model to use for a role: the manifest's default if installed,
    /// else any installed model of that role (lowest id first).
    pub fn default_for(
        &self,
        role: ModelRole,
        manifest: &Manifest,
    ) -> Result<InstalledModel, ModelError> {
        let installed: Vec<InstalledModel> = self
            .list()?
            .into_iter()
            .filter(|m| m.role == role)
            .collect();
        if let Some(def) = manifest.default_for(role) {
            if let Some(m) = installed.iter().find(|m| m.id == def.id) {
                return Ok(m.clone());
            }
        }
        if let Some(m) = installed.into_iter().next() {
            return Ok(m);
        }
        let hint = match manifest.default_for(role) {
            Some(def) => {
                let sources: Vec<String> = def
                    .sources
                    .iter()
                    .filter(|s| s.kind != SourceKind::HfUrl)
                    .map(|s| match (&s.wheel, s.kind) {
                        (Some(w), _) => format!("the wheel {w}"),
                        (None, SourceKind::Ct2Dir) => "its CTranslate2 directory".to_string(),
                        _ => s
                            .files
                            .first()
                            .map(|f| format!("the file {}", f.base_name()))
                            .unwrap_or_else(|| "a file".into()),
                    })
                    .collect();
                format!("the default `{}`: {}", def.id, sources.join(" or "))
            }
            None => "a model file and its SHA-256".to_string(),
        };
        Err(ModelError::NoModelForRole { role, hint })
    }
}
