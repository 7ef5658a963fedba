//! Ports: the traits the application layer drives and the adapters
//! implement. They speak only core types, so the application layer never
//! names whisper, candle or SQLite.

use crate::draft::Draft;
use crate::template::Template;
use crate::transcript::Transcript;
use std::sync::atomic::AtomicBool;

/// An error an engine reports, already in words a person can act on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// Speech to text over 16 kHz mono samples in -1..=1.
pub trait Transcriber {
    fn transcribe(&mut self, samples_16k_mono: &[f32]) -> Result<Transcript, EngineError>;
}

/// What a drafter reports while it works.
pub enum DraftProgress<'a> {
    /// Starting a section.
    Section(&'a str),
    /// A piece of text, as the model writes it.
    Token(&'a str),
}

/// Transcript + template to a draft note. `cancel` is polled between tokens.
pub trait Drafter {
    fn draft(
        &mut self,
        transcript: &Transcript,
        template: &Template,
        progress: &mut dyn FnMut(DraftProgress<'_>),
        cancel: &AtomicBool,
    ) -> Result<Draft, EngineError>;
}

/// Wall-clock time; a port so tests can fix it.
pub trait Clock {
    fn now_unix_ms(&self) -> u64;
}
