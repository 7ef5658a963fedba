//! The manifest of known models (`models/manifest.toml`, embedded in the
//! binary). A model is identified by the SHA-256 of its installed file; each
//! of its sources lists the SHA-256 of every file it is made from, so any
//! byte an import reads can be checked before it is parsed.

use crate::error::ModelError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The manifest shipped with this build.
const EMBEDDED_MANIFEST: &str = include_str!("../../../models/manifest.toml");

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelRole {
    /// Speech recognition (whisper).
    Asr,
    /// Note drafting (a small language model).
    Llm,
}

impl fmt::Display for ModelRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelRole::Asr => "ASR",
            ModelRole::Llm => "LLM",
        })
    }
}

/// The on-disk format of an installed model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelFormat {
    /// whisper.cpp's legacy ggml file (magic `ggml`).
    #[serde(rename = "ggml-whisper")]
    GgmlWhisper,
    /// GGUF v2/v3.
    #[serde(rename = "gguf")]
    Gguf,
}

impl ModelFormat {
    /// The role a file of this format can serve.
    pub fn role(self) -> ModelRole {
        match self {
            ModelFormat::GgmlWhisper => ModelRole::Asr,
            ModelFormat::Gguf => ModelRole::Llm,
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelFormat::GgmlWhisper => "ggml-whisper",
            ModelFormat::Gguf => "gguf",
        })
    }
}

/// The network architecture, as the engines name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Whisper,
    Llama,
    Gemma3,
}

impl Architecture {
    /// From GGUF's `general.architecture`.
    pub fn from_gguf_name(name: &str) -> Option<Architecture> {
        match name {
            "llama" => Some(Architecture::Llama),
            "gemma3" => Some(Architecture::Gemma3),
            _ => None,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Architecture::Whisper => "whisper",
            Architecture::Llama => "llama",
            Architecture::Gemma3 => "gemma3",
        })
    }
}

/// Where a model's bytes can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Members of a Python wheel (a zip archive).
    PipWheel,
    /// An unpacked CTranslate2 export directory.
    Ct2Dir,
    /// A plain file.
    File,
    /// A download address (informational; Tacet does not download).
    HfUrl,
}

/// One file a source is made of, with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// Member path inside a wheel, file name inside a directory, or file name.
    pub path: String,
    pub size_bytes: u64,
    pub sha256: String,
}

impl SourceFile {
    /// The last path component.
    pub fn base_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// A source of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    pub kind: SourceKind,
    #[serde(default)]
    pub package: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub wheel: Option<String>,
    #[serde(default)]
    pub wheel_sha256: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default, rename = "file")]
    pub files: Vec<SourceFile>,
}

impl SourceEntry {
    /// Whether this source is a CTranslate2 export (needs conversion).
    pub fn is_ct2(&self) -> bool {
        self.files.iter().any(|f| f.base_name() == "model.bin")
            && self.files.iter().any(|f| f.base_name() == "config.json")
            && self.files.iter().any(|f| f.base_name() == "vocabulary.txt")
    }

    /// A short description for the installed-model index.
    pub fn describe(&self) -> String {
        match (self.kind, &self.package, &self.version, &self.url) {
            (SourceKind::PipWheel, Some(p), Some(v), _) => format!("pip wheel {p} {v}"),
            (SourceKind::HfUrl, _, _, Some(u)) => format!("download {u}"),
            (SourceKind::Ct2Dir, ..) => "CTranslate2 directory".to_string(),
            _ => "file".to_string(),
        }
    }
}

/// One known model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    pub role: ModelRole,
    pub format: ModelFormat,
    pub architecture: Architecture,
    /// File name in the models directory once installed.
    pub file_name: String,
    /// Size of the installed file.
    pub size_bytes: u64,
    /// SHA-256 of the installed file.
    pub sha256: String,
    pub licence: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default, rename = "model")]
    models: Vec<ModelEntry>,
}

/// The list of known models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub models: Vec<ModelEntry>,
}

pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Ids and file names become paths: keep them to a safe alphabet.
pub(crate) fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

impl Manifest {
    /// The manifest compiled into this binary.
    pub fn embedded() -> Result<Manifest, ModelError> {
        Manifest::from_toml(EMBEDDED_MANIFEST)
    }

    /// Parses and validates a manifest.
    pub fn from_toml(text: &str) -> Result<Manifest, ModelError> {
        let file: ManifestFile =
            toml::from_str(text).map_err(|e| ModelError::Manifest(e.to_string()))?;
        let manifest = Manifest {
            models: file.models,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), ModelError> {
        let mut ids = std::collections::HashSet::new();
        for m in &self.models {
            let bad = |what: &str| ModelError::Manifest(format!("model `{}`: {what}", m.id));
            if !is_safe_name(&m.id) {
                return Err(bad(
                    "id must be 1-128 of [A-Za-z0-9._-], not starting with '.'",
                ));
            }
            if !ids.insert(m.id.as_str()) {
                return Err(bad("listed twice"));
            }
            if !is_safe_name(&m.file_name) || m.file_name == "installed.toml" {
                return Err(bad("file_name must be a plain file name"));
            }
            if !is_sha256_hex(&m.sha256) {
                return Err(bad("sha256 must be 64 lower-case hex digits"));
            }
            if m.format.role() != m.role {
                return Err(bad("format does not match role"));
            }
            let arch_ok = match m.format {
                ModelFormat::GgmlWhisper => m.architecture == Architecture::Whisper,
                ModelFormat::Gguf => m.architecture != Architecture::Whisper,
            };
            if !arch_ok {
                return Err(bad("architecture does not match format"));
            }
            for s in &m.sources {
                for f in &s.files {
                    if !is_sha256_hex(&f.sha256) {
                        return Err(bad(&format!(
                            "source file {} needs a 64-hex-digit sha256",
                            f.path
                        )));
                    }
                }
                if let Some(w) = &s.wheel_sha256 {
                    if !is_sha256_hex(w) {
                        return Err(bad("wheel_sha256 must be 64 lower-case hex digits"));
                    }
                }
            }
        }
        for role in [ModelRole::Asr, ModelRole::Llm] {
            let defaults = self
                .models
                .iter()
                .filter(|m| m.role == role && m.default)
                .count();
            if defaults > 1 {
                return Err(ModelError::Manifest(format!(
                    "more than one default {role} model"
                )));
            }
        }
        Ok(())
    }

    /// A model by id.
    pub fn get(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The default model for a role.
    pub fn default_for(&self, role: ModelRole) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.role == role && m.default)
    }

    /// The model whose installed file has this SHA-256.
    pub fn by_installed_sha256(&self, sha256: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.sha256 == sha256)
    }

    /// Every (model, source, file) whose file has this SHA-256.
    pub fn source_files_by_sha256<'a>(
        &'a self,
        sha256: &str,
    ) -> Vec<(&'a ModelEntry, &'a SourceEntry, &'a SourceFile)> {
        let mut out = Vec::new();
        for m in &self.models {
            for s in &m.sources {
                for f in &s.files {
                    if f.sha256 == sha256 {
                        out.push((m, s, f));
                    }
                }
            }
        }
        out
    }

    /// Models that a file with this base name could be: the installed file
    /// name or the base name of a single-file source.
    pub fn by_file_name(&self, base_name: &str) -> Vec<&ModelEntry> {
        self.models
            .iter()
            .filter(|m| {
                m.file_name == base_name
                    || m.sources
                        .iter()
                        .any(|s| !s.is_ct2() && s.files.iter().any(|f| f.base_name() == base_name))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_parses_and_has_the_defaults() {
        let m = Manifest::embedded().unwrap();
        assert_eq!(m.default_for(ModelRole::Asr).unwrap().id, "whisper-tiny.en");
        assert_eq!(
            m.default_for(ModelRole::Llm).unwrap().id,
            "smollm2-135m-instruct-q4_1"
        );
        let g = m.get("gemma3-270m-q4_k_m").unwrap();
        assert!(!g.default);
        assert_eq!(g.size_bytes, 253_113_024);
        let w = m.get("whisper-tiny.en").unwrap();
        assert!(w.sources.iter().any(|s| s.is_ct2()));
    }

    #[test]
    fn fail_manifest_with_bad_hash() {
        let text = r#"
[[model]]
id = "x"
role = "llm"
format = "gguf"
architecture = "llama"
file_name = "x.gguf"
size_bytes = 1
sha256 = "nothex"
licence = "MIT"
"#;
        assert!(matches!(
            Manifest::from_toml(text),
            Err(ModelError::Manifest(_))
        ));
    }
}
