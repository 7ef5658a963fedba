//! Errors of the drafting engine.
//!
//! Every variant says what went wrong with which file or which part of the
//! model, so a person can act on it (fetch the model again, pick another
//! one). None of them carries transcript or note text.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable GGUF model file ({problem}); fetch the model again")]
    MalformedGguf { path: PathBuf, problem: String },
    #[error("the GGUF metadata lacks {key:?}; the file is incomplete or not a language model")]
    MissingMetadata { key: String },
    #[error("the GGUF metadata {key:?} is invalid: {problem}")]
    BadMetadata { key: String, problem: String },
    #[error(
        "{path}: the model hyper-parameter {key:?} is invalid ({problem}); the file is corrupt or not a model this version can run"
    )]
    BadHyperParameter {
        path: PathBuf,
        key: String,
        problem: String,
    },
    #[error(
        "model architecture {0:?} is not supported (supported: llama (SmolLM2, Llama 3.x), gemma3 (Gemma 3), qwen2 (Qwen2.5), qwen3, phi3 (Phi-3/3.5 mini)); pick a model of one of these families"
    )]
    UnsupportedArchitecture(String),
    #[error("tokenizer {0} is not supported")]
    UnsupportedTokenizer(String),
    #[error("cannot build the tokenizer from the GGUF metadata: {0}")]
    Tokenizer(String),
    #[error("the model's chat template cannot be used: {0}")]
    ChatTemplate(String),
    #[error("cannot load the model weights from {path}: {problem}")]
    Weights { path: PathBuf, problem: String },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("device {device}: {problem}")]
    Device { device: String, problem: String },
}

/// A candle error without the stack trace its Display prints when
/// `RUST_BACKTRACE` is set.
pub(crate) fn without_backtrace(e: candle_core::Error) -> candle_core::Error {
    let mut e = e;
    while let candle_core::Error::WithBacktrace { inner, .. } = e {
        e = *inner;
    }
    e
}

impl From<candle_core::Error> for LlmError {
    fn from(e: candle_core::Error) -> Self {
        // With RUST_BACKTRACE set, candle wraps its errors with a stack
        // trace that its Display prints: a clinician's error box gets the
        // message, not the trace.
        LlmError::Inference(without_backtrace(e).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candle_error_keeps_its_message_and_drops_the_backtrace() {
        let inner = candle_core::Error::Msg("slice-set only supports contiguous tensors".into());
        let wrapped = candle_core::Error::WithBacktrace {
            inner: Box::new(inner),
            backtrace: Box::new(std::backtrace::Backtrace::force_capture()),
        };
        let e = LlmError::from(wrapped).to_string();
        assert!(
            e.contains("slice-set only supports contiguous tensors"),
            "{e}"
        );
        assert!(!e.contains("\n"), "{e}");
    }
}
