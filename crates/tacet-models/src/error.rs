//! The one error type of this crate. Messages name the file and the problem
//! and say what to do; they never contain model or patient content.

use crate::manifest::ModelRole;
use std::path::PathBuf;

/// Everything that can go wrong while provisioning a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: SHA-256 mismatch for {what}: expected {expected}, got {actual}; \
         the file is corrupt or is not the one the manifest lists; fetch it again"
    )]
    HashMismatch {
        path: PathBuf,
        what: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{path} is truncated: {actual_bytes} bytes, but {what} is {expected_bytes} bytes; \
         the download or copy did not finish, fetch it again"
    )]
    Truncated {
        path: PathBuf,
        what: String,
        expected_bytes: u64,
        actual_bytes: u64,
    },
    #[error("{path} has {actual_bytes} bytes, but {what} is {expected_bytes} bytes; it is not that file")]
    SizeMismatch {
        path: PathBuf,
        what: String,
        expected_bytes: u64,
        actual_bytes: u64,
    },
    #[error("{path}: wrong kind of model: {detail}")]
    WrongKind { path: PathBuf, detail: String },
    #[error(
        "{path} is not a model the manifest lists (SHA-256 {sha256}); to import an unlisted model \
         an administrator must give its expected SHA-256 and an id (`--sha256 … --id …`)"
    )]
    UnknownModel { path: PathBuf, sha256: String },
    #[error("{path}: malformed {format} file: {detail}")]
    Malformed {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error("{path}: {detail}")]
    Archive { path: PathBuf, detail: String },
    #[error("converting {path} to whisper ggml failed: {detail}")]
    Conversion { path: PathBuf, detail: String },
    #[error("model manifest is invalid: {0}")]
    Manifest(String),
    #[error("installed-model index {path} is invalid: {detail}; fix or delete it and re-import")]
    Index { path: PathBuf, detail: String },
    #[error("invalid import options: {0}")]
    InvalidOptions(String),
    #[error("model `{id}` is not installed; `tacet models list` shows what is")]
    NotInstalled { id: String },
    #[error("no {role} model installed: run `tacet models import <path>` with {hint}")]
    NoModelForRole { role: ModelRole, hint: String },
}

impl ModelError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ModelError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(
        path: impl Into<PathBuf>,
        format: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ModelError::Malformed {
            path: path.into(),
            format,
            detail: detail.into(),
        }
    }
}
