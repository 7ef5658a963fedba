//! Model provisioning for Tacet: which models exist, how their bytes are
//! verified, and how they are brought into the format the engines load.
//!
//! Design decisions:
//! - **Hash before parse.** Every byte that comes from outside (a GGUF, a
//!   whisper ggml file, the three files of a CTranslate2 export, a wheel's
//!   members) is SHA-256-verified against the [`Manifest`] (or a hash an
//!   administrator supplies for an unlisted model) *before* any parser looks
//!   at it. Parsers are still written for hostile input: every length and
//!   count is bounded, nothing allocates from a header's claim, nothing
//!   panics.
//! - **The engines abort on malformed files.** whisper.cpp and ggml `abort()`
//!   the whole process on some malformed inputs, so [`check_whisper_ggml`] and
//!   [`check_gguf`] exist for callers to run before handing a file to an
//!   engine.
//! - **Conversion is deterministic.** The CTranslate2 → ggml converter
//!   ([`convert`]) is pure and deterministic, laid out as whisper.cpp's own
//!   converter lays out OpenAI's checkpoint; its output must hash to the
//!   manifest's installed SHA-256 before it is installed.
//! - **The store is files plus one index.** Installed models are plain files
//!   in one directory with an `installed.toml` index; every write is atomic
//!   (temporary file in the same directory, fsync, rename, fsync directory).

pub mod convert;
pub mod ct2;
mod error;
pub mod ggml;
pub mod gguf;
mod hashing;
pub mod manifest;
pub mod mel;
mod reader;
pub mod store;

pub use error::ModelError;
pub use ggml::{check_whisper_ggml, check_whisper_ggml_bytes, WhisperGgmlInfo, WhisperHparams};
pub use gguf::{check_gguf, check_gguf_bytes, GgufInfo, SUPPORTED_GGUF_ARCHITECTURES};
pub use manifest::{
    Architecture, Manifest, ModelEntry, ModelFormat, ModelRole, SourceEntry, SourceFile, SourceKind,
};
pub use store::{
    ImportOptions, InstalledModel, ManifestMatch, ModelStore, Quantization, VerifiedModel,
    VerifyOutcome, VerifyStatus,
};

/// The cache root for fetched model files: `$TACET_CACHE`, else
/// `$HOME/.cache/tacet`. `None` when neither is set.
pub fn cache_root() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("TACET_CACHE") {
        return Some(std::path::PathBuf::from(dir));
    }
    std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache/tacet"))
}
