//! Audio in for Tacet: WAV import, downmix and resampling to the 16 kHz mono
//! f32 the ASR engine wants, and the byte layout the vault seals.
//!
//! Design decisions:
//! - **Sans-I/O.** Everything works on byte slices and sample vectors;
//!   [`read_wav_file`] is the only function that touches the disk, and it only
//!   reads the file and hands the bytes to [`decode_wav`]. Live capture (cpal)
//!   is the separate [`Capture`] layer: a real-time callback that only copies
//!   into a lock-free ring, and a consumer thread that converts and chunks.
//! - **Untrusted input.** A WAV file is input a person hands us. Its header is
//!   never trusted for allocation: the number of samples decoded is bounded by
//!   the bytes actually present, and a file whose header promises more samples
//!   than it holds is **refused** (not silently shortened), because a clipped
//!   visit recording would give a clipped note with nothing to say so.
//! - **One canonical form.** Whatever comes in (8/16/24/32-bit integer or
//!   32-bit float, 4 kHz to 384 kHz, 1 to 8 channels) becomes [`PcmAudio`] with
//!   interleaved f32 samples in -1..=1, then 16 kHz mono via an FFT resampler
//!   (`rubato::FftFixedIn`, a synchronous band-limited resampler: no aliasing
//!   from 48 kHz, exact output length, delay compensated).
//! - **Vault layout.** Stored audio is 16 kHz mono f32 little-endian, split
//!   into chunks of at most one second so each can be sealed separately.

mod capture;
mod chunk;
mod error;
mod resample;
mod wav;

pub use capture::{
    list_input_devices, Capture, CaptureConfig, CaptureEvent, CaptureSink, DeviceInfo, Level,
    StreamResampler, MAX_CHUNK_SAMPLES,
};
pub use chunk::{chunk_samples, le_bytes_to_samples, samples_to_le_bytes};
pub use error::AudioError;
pub use resample::{split_channels_16k, to_mono_16k, TARGET_SAMPLE_RATE_HZ};
pub use wav::{
    decode_wav, read_wav_file, PcmAudio, MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ,
};
