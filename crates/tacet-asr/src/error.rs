//! Errors of the ASR adapter. Messages name the model file and the problem;
//! they never carry transcript text.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("ASR model file {path} does not exist; fetch the models first")]
    ModelMissing { path: PathBuf },

    #[error("could not read ASR model file {path}: {source}")]
    ModelUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a ggml whisper model (first bytes {found_hex}, expected the ggml magic 6c6d6767); re-import the model")]
    NotGgml { path: PathBuf, found_hex: String },

    #[error("ASR model file {path} is damaged: {problem}; re-import the model")]
    ModelDamaged { path: PathBuf, problem: String },

    #[error("whisper.cpp could not load the model {path} ({detail})")]
    ModelLoad { path: PathBuf, detail: String },

    #[error("invalid ASR options: {problem}")]
    InvalidOptions { problem: String },

    #[error("audio handed to the transcriber contains a non-finite sample at index {index}")]
    NonFiniteInput { index: usize },

    #[error("transcription failed inside whisper.cpp ({detail})")]
    Engine { detail: String },
}

impl From<AsrError> for tacet_core::ports::EngineError {
    fn from(e: AsrError) -> Self {
        tacet_core::ports::EngineError(e.to_string())
    }
}
