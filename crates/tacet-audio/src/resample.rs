//! Downmix and resampling to 16 kHz.
//!
//! Uses `rubato::FftFixedIn`, a synchronous FFT resampler: it applies a proper
//! anti-aliasing low-pass (48 kHz → 16 kHz loses nothing below 8 kHz and folds
//! nothing back), costs little for whole recordings, and its delay is known,
//! so the output is trimmed to start at the same instant as the input and to
//! be exactly `ceil(frames × 16000 / rate)` long. Audio already at 16 kHz is
//! passed through untouched.

use crate::{AudioError, PcmAudio, MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use rubato::{FftFixedIn, Resampler};

/// The rate the ASR engine and the vault work at.
pub const TARGET_SAMPLE_RATE_HZ: u32 = 16_000;

/// Input frames handed to the resampler per call.
const CHUNK_FRAMES: usize = 4096;

fn validate(audio: &PcmAudio) -> Result<(), AudioError> {
    let invalid = |problem: String| Err(AudioError::InvalidBuffer { problem });
    if audio.channels == 0 || audio.channels > MAX_CHANNELS {
        return invalid(format!("{} channels (expected 1 to 8)", audio.channels));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&audio.sample_rate_hz) {
        return invalid(format!(
            "sample rate {} Hz (expected 4000 to 384000)",
            audio.sample_rate_hz
        ));
    }
    if !audio
        .samples
        .chunks_exact(usize::from(audio.channels))
        .remainder()
        .is_empty()
    {
        return invalid(format!(
            "{} samples is not a whole number of {}-channel frames",
            audio.samples.len(),
            audio.channels
        ));
    }
    if let Some(index) = audio.samples.iter().position(|s| !s.is_finite()) {
        return Err(AudioError::NonFinite {
            origin: "audio buffer".into(),
            index,
        });
    }
    Ok(())
}

/// Mean of the channels, resampled to 16 kHz mono.
pub fn to_mono_16k(audio: &PcmAudio) -> Result<Vec<f32>, AudioError> {
    validate(audio)?;
    let ch = usize::from(audio.channels);
    let mono: Vec<f32> = if ch == 1 {
        audio.samples.clone()
    } else {
        let scale = 1.0 / ch as f32;
        audio
            .samples
            .chunks_exact(ch)
            .map(|frame| frame.iter().sum::<f32>() * scale)
            .collect()
    };
    let mut out = resample_channels(vec![mono], audio.sample_rate_hz)?;
    Ok(out.pop().unwrap_or_default())
}

/// Each channel on its own, resampled to 16 kHz (for per-microphone speaker
/// labelling of two-channel recordings).
pub fn split_channels_16k(audio: &PcmAudio) -> Result<Vec<Vec<f32>>, AudioError> {
    validate(audio)?;
    let ch = usize::from(audio.channels);
    let frames = audio.samples.len() / ch;
    let mut channels: Vec<Vec<f32>> = (0..ch).map(|_| Vec::with_capacity(frames)).collect();
    for frame in audio.samples.chunks_exact(ch) {
        for (c, s) in channels.iter_mut().zip(frame) {
            c.push(*s);
        }
    }
    resample_channels(channels, audio.sample_rate_hz)
}

fn resample_error(e: impl std::fmt::Display) -> AudioError {
    AudioError::Resample {
        detail: e.to_string(),
    }
}

/// Resamples equal-length channels from `rate_in_hz` to 16 kHz.
fn resample_channels(
    channels: Vec<Vec<f32>>,
    rate_in_hz: u32,
) -> Result<Vec<Vec<f32>>, AudioError> {
    if rate_in_hz == TARGET_SAMPLE_RATE_HZ || channels.is_empty() {
        return Ok(channels);
    }
    let n_ch = channels.len();
    let frames_in = channels[0].len();
    let frames_out = usize::try_from(
        (frames_in as u64 * u64::from(TARGET_SAMPLE_RATE_HZ)).div_ceil(u64::from(rate_in_hz)),
    )
    .map_err(resample_error)?;
    if frames_in == 0 {
        return Ok(vec![Vec::new(); n_ch]);
    }

    let mut resampler = FftFixedIn::<f32>::new(
        rate_in_hz as usize,
        TARGET_SAMPLE_RATE_HZ as usize,
        CHUNK_FRAMES,
        2,
        n_ch,
    )
    .map_err(resample_error)?;
    let delay = resampler.output_delay();
    let wanted = frames_out + delay;
    let mut out: Vec<Vec<f32>> = (0..n_ch)
        .map(|_| Vec::with_capacity(wanted + resampler.output_frames_max()))
        .collect();
    let append = |out: &mut Vec<Vec<f32>>, block: Vec<Vec<f32>>| {
        for (o, b) in out.iter_mut().zip(block) {
            o.extend_from_slice(&b);
        }
    };

    let mut pos = 0;
    while pos < frames_in && out[0].len() < wanted {
        let need = resampler.input_frames_next();
        let end = (pos + need).min(frames_in);
        let slices: Vec<&[f32]> = channels.iter().map(|c| &c[pos..end]).collect();
        let block = if end - pos == need {
            resampler.process(&slices, None)
        } else {
            resampler.process_partial(Some(&slices), None)
        }
        .map_err(resample_error)?;
        append(&mut out, block);
        pos = end;
    }
    // Flush the resampler's delay line with silence.
    let mut guard = 0;
    while out[0].len() < wanted {
        let block = resampler
            .process_partial::<&[f32]>(None, None)
            .map_err(resample_error)?;
        if block.first().is_none_or(|b| b.is_empty()) {
            guard += 1;
            if guard > 8 {
                return Err(resample_error("resampler stopped producing output"));
            }
        }
        append(&mut out, block);
    }
    for o in out.iter_mut() {
        o.drain(..delay);
        o.truncate(frames_out);
    }
    Ok(out)
}
