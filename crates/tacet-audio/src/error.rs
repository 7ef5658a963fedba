//! Errors of the audio layer, worded for the person holding the file.
//!
//! Every variant names where the audio came from (`origin`: a file path, or
//! "WAV data" / "audio data" for bytes handed in directly) and what is wrong
//! with it, so the message alone tells someone what to fix.

use std::path::PathBuf;

/// The recordings Tacet reads, as error messages list them.
pub const READABLE_FORMATS: &str = "WAV, FLAC, MP3, M4A (AAC), OGG Vorbis and Opus (in Ogg)";

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("could not read audio file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{origin} is not a readable WAV file: {problem}")]
    NotWav { origin: String, problem: String },

    #[error("{origin} uses an audio encoding Tacet does not read ({encoding}); Tacet reads {formats}: convert the recording to one of those (16-bit PCM WAV always works)", formats = READABLE_FORMATS)]
    UnsupportedEncoding { origin: String, encoding: String },

    #[error("{origin} is not a recording Tacet can read ({problem}); Tacet reads {formats}", formats = READABLE_FORMATS)]
    NotAudio { origin: String, problem: String },

    #[error("{origin} is a damaged {format} recording: {problem}; refusing to import it")]
    Corrupt {
        origin: String,
        format: String,
        problem: String,
    },

    #[error(
        "{origin} is a partial {format} recording, cut short: {problem}; refusing to import it"
    )]
    CutShort {
        origin: String,
        format: String,
        problem: String,
    },

    #[error("{origin} is truncated: header promises {promised_samples} samples, file holds {held_samples}; refusing to import a partial recording")]
    Truncated {
        origin: String,
        promised_samples: u64,
        held_samples: u64,
    },

    #[error("{origin} holds no audio (not a single sample in it)")]
    Empty { origin: String },

    #[error("{origin} contains non-finite samples (NaN or infinity, first at sample {index})")]
    NonFinite { origin: String, index: usize },

    #[error("{origin} has a sample rate of {sample_rate_hz} Hz; Tacet accepts 4000 to 384000 Hz")]
    SampleRate { origin: String, sample_rate_hz: u32 },

    #[error("{origin} has {channels} channels; Tacet accepts 1 to 8")]
    Channels { origin: String, channels: u16 },

    #[error("audio buffer is inconsistent: {problem}")]
    InvalidBuffer { problem: String },

    #[error("stored audio chunk is {size_bytes} bytes, not a whole number of 4-byte f32 samples")]
    ByteLength { size_bytes: usize },

    #[error("resampling to 16 kHz failed: {detail}")]
    Resample { detail: String },

    #[error("audio capture: {problem}")]
    Capture { problem: String },
}
