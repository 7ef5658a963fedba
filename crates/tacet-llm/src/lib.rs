//! tacet-llm: the drafting engine, a quantized GGUF language model run on
//! the CPU through candle.
//!
//! The pieces, each with its own reasons in its module docs:
//! - [`tokenizer`]: the tokenizer rebuilt from GGUF metadata as llama.cpp
//!   reads it (candle's own builder was measured wrong on SmolLM2);
//! - [`chat`]: the model's chat template rendered with minijinja;
//! - `model`: weights by architecture, with in-memory requantization of the
//!   quantization types candle runs slowly;
//! - [`threads`]: candle's process-wide thread count;
//! - [`drafter`]: the [`tacet_core::ports::Drafter`] implementation, which
//!   writes the section headers itself and lets the model fill the bodies;
//! - `spans`: which transcript segments each section needs when a session
//!   is too long for one prompt.
//!
//! A draft from this crate is untrusted text: small local models confuse
//! sections and invent facts, so the application checks every draft against
//! the transcript and a clinician attests it.

mod blocks;
pub mod chat;
mod device;
pub mod drafter;
mod error;
mod flash;
mod gemma3;
mod kernels;
mod llama;
mod meta;
mod model;
mod spans;
mod spin;
pub mod threads;
pub mod tokenizer;

pub use chat::{ChatMessage, ChatTemplate};
pub use device::LlmDevice;
pub use drafter::{
    GgufDrafter, LlmOptions, LoadReport, ModelInfo, PromptPlan, SectionPlan, SpeedReport,
};
pub use error::LlmError;
pub use kernels::matvec_kernels;
pub use tokenizer::tokenizer_from_gguf;

/// Where the model cache lives: `$TACET_CACHE`, else `$HOME/.cache/tacet`.
pub fn cache_root() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("TACET_CACHE") {
        return Some(dir.into());
    }
    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache").join("tacet"))
}
