//! WAV decoding with hound, hardened against hostile or damaged files.
//!
//! The header is parsed first (a probing `hound::WavReader`) so the format, rate, channel count and the promised data length can be
//! checked against the bytes actually present *before* any sample buffer is
//! allocated. A file that promises more samples than it holds is refused
//! with [`AudioError::Truncated`]; we do not guess how much of a recording is
//! missing.

use crate::AudioError;
use std::io::Cursor;
use std::path::Path;

/// Lowest sample rate accepted; below this speech is not intelligible anyway.
pub const MIN_SAMPLE_RATE_HZ: u32 = 4_000;
/// Highest sample rate accepted (the top of what real interfaces record).
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
/// Most channels accepted (7.1 is the largest layout a clinic could produce).
pub const MAX_CHANNELS: u16 = 8;

/// Decoded audio at its own rate: interleaved f32 samples in -1..=1.
#[derive(Clone, Debug, PartialEq)]
pub struct PcmAudio {
    pub sample_rate_hz: u32,
    pub channels: u16,
    /// Interleaved frames: `samples.len()` is a multiple of `channels`.
    pub samples: Vec<f32>,
}

impl PcmAudio {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        if self.channels == 0 {
            0
        } else {
            self.samples.len() / usize::from(self.channels)
        }
    }

    /// Duration in whole milliseconds (0 when the rate is 0).
    pub fn duration_ms(&self) -> u64 {
        if self.sample_rate_hz == 0 {
            return 0;
        }
        (self.frames() as u64).saturating_mul(1000) / u64::from(self.sample_rate_hz)
    }
}

const BYTES_ORIGIN: &str = "WAV data";

/// Decodes a whole WAV file held in memory. Errors say "WAV data" as the
/// origin; use [`read_wav_file`] to have them name the file.
pub fn decode_wav(bytes: &[u8]) -> Result<PcmAudio, AudioError> {
    decode_wav_from(bytes, BYTES_ORIGIN)
}

/// Reads and decodes a WAV file; errors name the file.
pub fn read_wav_file(path: &Path) -> Result<PcmAudio, AudioError> {
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_wav_from(&bytes, &path.display().to_string())
}

fn header_error(origin: &str, err: hound::Error) -> AudioError {
    let not_wav = |problem: String| AudioError::NotWav {
        origin: origin.to_string(),
        problem,
    };
    match err {
        hound::Error::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            not_wav("it ends before a complete header and data chunk (corrupt or cut short)".into())
        }
        hound::Error::IoError(e) => not_wav(format!("read error: {e}")),
        hound::Error::FormatError(msg) => not_wav(format!("corrupt header: {msg}")),
        hound::Error::Unsupported => AudioError::UnsupportedEncoding {
            origin: origin.to_string(),
            encoding: "compressed or unknown format tag".into(),
        },
        hound::Error::TooWide => AudioError::UnsupportedEncoding {
            origin: origin.to_string(),
            encoding: "samples wider than 32 bits".into(),
        },
        hound::Error::InvalidSampleFormat => AudioError::UnsupportedEncoding {
            origin: origin.to_string(),
            encoding: "sample format does not match its bit depth".into(),
        },
        hound::Error::UnfinishedSample => not_wav("data ends inside a sample".into()),
    }
}

fn sample_error(
    origin: &str,
    err: hound::Error,
    index: usize,
    truncated: &dyn Fn(usize) -> AudioError,
) -> AudioError {
    match err {
        hound::Error::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated(index)
        }
        hound::Error::UnfinishedSample => truncated(index),
        other => header_error(origin, other),
    }
}

pub(crate) fn decode_wav_from(bytes: &[u8], origin: &str) -> Result<PcmAudio, AudioError> {
    // Pass 1: header only, to learn the format, where the data starts and
    // how many samples the header promises.
    let probe = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| header_error(origin, e))?;
    let spec = probe.spec();
    let promised_samples = u64::from(probe.len());
    let data_start = probe.into_inner().position();

    if spec.channels == 0 || spec.channels > MAX_CHANNELS {
        return Err(AudioError::Channels {
            origin: origin.to_string(),
            channels: spec.channels,
        });
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&spec.sample_rate) {
        return Err(AudioError::SampleRate {
            origin: origin.to_string(),
            sample_rate_hz: spec.sample_rate,
        });
    }
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 8 | 16 | 24 | 32) | (hound::SampleFormat::Float, 32) => {}
        (fmt, bits) => {
            return Err(AudioError::UnsupportedEncoding {
                origin: origin.to_string(),
                encoding: format!("{bits}-bit {fmt:?}"),
            })
        }
    }
    if promised_samples == 0 {
        return Err(AudioError::Empty {
            origin: origin.to_string(),
        });
    }

    // Never allocate from the header alone: a sample takes at least
    // bits/8 bytes, so the bytes present bound how many samples can exist.
    let min_bytes_per_sample = u64::from(spec.bits_per_sample / 8).max(1);
    let held_bytes = (bytes.len() as u64).saturating_sub(data_start);
    let held_upper_bound = held_bytes / min_bytes_per_sample;
    if held_upper_bound < promised_samples {
        return Err(AudioError::Truncated {
            origin: origin.to_string(),
            promised_samples,
            held_samples: held_upper_bound,
        });
    }
    let n = usize::try_from(promised_samples).map_err(|_| AudioError::NotWav {
        origin: origin.to_string(),
        problem: "data chunk too large for this machine".into(),
    })?;

    // Pass 2: hound decodes the samples. A container wider than bits/8 (24
    // bits in 4 bytes) can still run out of bytes: that ends the loop with
    // an end-of-file error, reported as truncation with the count we got.
    let mut reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|e| header_error(origin, e))?;
    let mut samples = Vec::with_capacity(n);
    let truncated = |held: usize| AudioError::Truncated {
        origin: origin.to_string(),
        promised_samples,
        held_samples: held as u64,
    };
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for (index, s) in reader.samples::<f32>().take(n).enumerate() {
                let s = s.map_err(|e| sample_error(origin, e, index, &truncated))?;
                if !s.is_finite() {
                    return Err(AudioError::NonFinite {
                        origin: origin.to_string(),
                        index,
                    });
                }
                samples.push(s.clamp(-1.0, 1.0));
            }
        }
        hound::SampleFormat::Int => {
            // Full scale of a signed integer of this width (8-bit WAV is
            // unsigned on disk; hound re-centres it to -128..=127).
            let full_scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            for (index, s) in reader.samples::<i32>().take(n).enumerate() {
                let s = s.map_err(|e| sample_error(origin, e, index, &truncated))?;
                samples.push((s as f32 / full_scale).clamp(-1.0, 1.0));
            }
        }
    }
    if samples.len() != n {
        return Err(truncated(samples.len()));
    }
    Ok(PcmAudio {
        sample_rate_hz: spec.sample_rate,
        channels: spec.channels,
        samples,
    })
}
