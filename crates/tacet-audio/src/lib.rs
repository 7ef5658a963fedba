//! Audio in for Tacet: importing the recordings people have (WAV, FLAC, MP3,
//! M4A/AAC, OGG Vorbis, Opus), downmix and resampling to the 16 kHz mono f32
//! the ASR engine wants, and the byte layout the vault seals.
//!
//! Design decisions:
//! - **Sans-I/O.** Everything works on byte slices and sample vectors;
//!   [`read_audio_file`] and [`read_wav_file`] are the only functions that
//!   touch the disk, and they only read the file and hand the bytes to
//!   [`decode_audio`] / [`decode_wav`]. Live capture (cpal) is the separate
//!   [`Capture`] layer: a real-time callback that only copies into a
//!   lock-free ring, and a consumer thread that converts and chunks.
//! - **Untrusted input.** A recording is input a person hands us. Its header
//!   is never trusted for allocation: what is decoded is bounded by the bytes
//!   actually present, and a file whose header promises more audio than it
//!   holds, or that stops inside a frame, page or box, is **refused** (not
//!   silently shortened), because a clipped visit recording would give a
//!   clipped note with nothing to say so. Damage a checksum can see (FLAC
//!   frame CRCs and MD5, Ogg page CRCs, the MP3 LAME music CRC) is refused
//!   too. WAV keeps its hardened hound reader; the other formats are
//!   demuxed and decoded by symphonia (pure Rust), Opus by `opus-decoder`
//!   (pure Rust), with structural checks of our own in front (`decode.rs`
//!   says which and why).
//! - **One canonical form.** Whatever comes in (any of those formats; for
//!   WAV 8/16/24/32-bit integer or 32-bit float; 4 kHz to 384 kHz, 1 to 8
//!   channels) becomes [`PcmAudio`] with
//!   interleaved f32 samples in -1..=1, then 16 kHz mono via an FFT resampler
//!   (`rubato::FftFixedIn`, a synchronous band-limited resampler: no aliasing
//!   from 48 kHz, exact output length, delay compensated).
//! - **Vault layout.** Stored audio is 16 kHz mono f32 little-endian, split
//!   into chunks of at most one second so each can be sealed separately.

mod capture;
mod chunk;
mod container;
mod decode;
mod error;
mod resample;
mod wav;

pub use capture::{
    list_input_devices, Capture, CaptureConfig, CaptureEvent, CaptureSink, DeviceInfo, Level,
    StreamResampler, LIVE_CHUNK_MS, MAX_CHUNK_SAMPLES,
};
pub use chunk::{chunk_samples, le_bytes_to_samples, samples_to_le_bytes};
pub use decode::{decode_audio, read_audio_file, MAX_SAMPLES_PER_BYTE};
pub use error::{AudioError, READABLE_FORMATS};
pub use resample::{split_channels_16k, to_mono_16k, TARGET_SAMPLE_RATE_HZ};
pub use wav::{
    decode_wav, read_wav_file, PcmAudio, MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ,
};
