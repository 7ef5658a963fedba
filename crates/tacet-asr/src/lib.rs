//! Speech to text for Tacet: whisper.cpp (through whisper-rs) behind the
//! core's [`tacet_core::ports::Transcriber`] port.
//!
//! Design decisions:
//! - **Deterministic decoding.** Greedy (best of 1), language locked, no
//!   translation, a fresh decoder state per call and an explicit thread
//!   count: the same audio gives the same transcript, and whisper.cpp never
//!   defaults to more threads than the machine can give it (oversubscription
//!   collapses its speed by 10–50×).
//! - **Nothing spoken reaches a log.** whisper.cpp's own logging is routed
//!   into whisper-rs's hooks, which go nowhere without a log backend, and all
//!   `print_*` switches are off, so no token text is ever written to stderr.
//! - **Cheap, deterministic hallucination guards** ([`guards`]): silence is
//!   detected by energy *before* whisper runs (whisper invents words on
//!   silence), bracketed non-speech segments ("[BLANK_AUDIO]", "(music)") are
//!   dropped, and a segment caught in a repetition loop is cut after the first
//!   occurrence of the repeated phrase.
//! - **whisper.cpp aborts on a malformed model**, so [`WhisperTranscriber::load`]
//!   first runs [`check_ggml_file`]: the ggml magic, plausible
//!   hyper-parameters, and a size big enough for the weights (whisper.cpp
//!   accepts a file cut before its first tensor as an "empty model" and
//!   aborts later). Full validation (SHA-256) is the model crate's job.

mod error;
pub mod guards;
mod streaming;
mod transcriber;
mod wer;

pub use error::AsrError;
pub use streaming::{StreamUpdate, StreamingConfig, StreamingTranscriber};
pub use transcriber::{
    audio_ctx_frames, check_ggml_file, merge_by_time, transcribe_channels, AsrOptions,
    WhisperTranscriber, GGML_MAGIC,
};
pub use wer::{normalize_words, word_error_rate};
