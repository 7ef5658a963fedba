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
//! - **The encoder's heavy arithmetic is ours.** The whisper.cpp that
//!   whisper-rs-sys builds is patched as CMake configures it
//!   (`whisper-cpp/patch.cmake`, set in the workspace's `.cargo/config.toml`)
//!   to run its self-attention as one fused op
//!   (`whisper-cpp/tacet-encoder-attn.h`) instead of two matrix products and
//!   a soft-max through memory, and, for a q8_0 model on a CPU with AVX-512
//!   VNNI, the products of the 1500 frames with the weights as one
//!   `vpdpbusd` per 64 values (`whisper-cpp/tacet-encoder-q8.h`): a 30 s
//!   window on two cores went from 1.9 to 0.72 s. [`whisper_patch_version`]
//!   proves the patched library is the one linked.

mod error;
pub mod guards;
mod streaming;
mod transcriber;
mod wer;
mod whisper_patch;

pub use error::AsrError;
pub use streaming::{StreamUpdate, StreamingConfig, StreamingTranscriber};
pub use transcriber::{
    audio_ctx_frames, check_ggml_bytes, check_ggml_file, merge_by_time, transcribe_channels,
    AsrOptions, WhisperTranscriber, GGML_MAGIC,
};
pub use wer::{normalize_words, word_error_rate};
pub use whisper_patch::{q8_0_is_fast_here, whisper_patch_version};
