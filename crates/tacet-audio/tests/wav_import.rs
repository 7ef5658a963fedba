//! WAV import: fixtures are generated here with hound (sine tones), decoded,
//! resampled to 16 kHz and checked for length and frequency.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::f32::consts::PI;
use std::io::Cursor;
use tacet_audio::{
    chunk_samples, decode_wav, le_bytes_to_samples, read_wav_file, samples_to_le_bytes,
    split_channels_16k, to_mono_16k, AudioError, PcmAudio,
};

fn sine(freq_hz: f32, rate_hz: u32, frames: usize, amp: f32) -> Vec<f32> {
    (0..frames)
        .map(|i| amp * (2.0 * PI * freq_hz * i as f32 / rate_hz as f32).sin())
        .collect()
}

/// Writes interleaved float samples as a WAV of the given format.
fn wav_bytes(
    channels: &[Vec<f32>],
    rate_hz: u32,
    bits: u16,
    format: hound::SampleFormat,
) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate_hz,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for i in 0..channels[0].len() {
            for c in channels {
                let s = c[i];
                match format {
                    hound::SampleFormat::Float => w.write_sample(s).unwrap(),
                    hound::SampleFormat::Int => {
                        let full = (1i64 << (bits - 1)) as f32;
                        let v = (s * (full - 1.0)).round() as i32;
                        match bits {
                            8 => w.write_sample(v as i8).unwrap(),
                            16 => w.write_sample(v as i16).unwrap(),
                            _ => w.write_sample(v).unwrap(),
                        }
                    }
                }
            }
        }
        w.finalize().unwrap();
    }
    cur.into_inner()
}

fn zero_crossings(x: &[f32]) -> usize {
    let mut last = 0.0f32;
    let mut n = 0;
    for &s in x {
        if s == 0.0 {
            continue;
        }
        if last != 0.0 && (s > 0.0) != (last > 0.0) {
            n += 1;
        }
        last = s;
    }
    n
}

/// Goertzel power of `freq_hz` in 16 kHz samples.
fn goertzel(x: &[f32], freq_hz: f32) -> f32 {
    let w = 2.0 * PI * freq_hz / 16_000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Checks 16 kHz output: length ±1 %, tone at `freq_hz` by zero crossings
/// (±2 %) and a Goertzel bin far above an off-tone bin.
fn assert_tone(out: &[f32], seconds: f32, freq_hz: f32) {
    let expected_len = 16_000.0 * seconds;
    assert!(
        (out.len() as f32 - expected_len).abs() <= expected_len * 0.01,
        "length {} vs {expected_len}",
        out.len()
    );
    let zc = zero_crossings(out) as f32;
    let expected_zc = 2.0 * freq_hz * seconds;
    assert!(
        (zc - expected_zc).abs() <= expected_zc * 0.02,
        "zero crossings {zc} vs {expected_zc}"
    );
    let on = goertzel(out, freq_hz);
    let off = goertzel(out, freq_hz * 1.37);
    assert!(on > 100.0 * off, "tone bin {on} vs off bin {off}");
    let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.3 && peak <= 1.0, "peak {peak}");
}

fn roundtrip_mono(rate_hz: u32, bits: u16, format: hound::SampleFormat) {
    let seconds = 1.0;
    let frames = (rate_hz as f32 * seconds) as usize;
    let bytes = wav_bytes(&[sine(440.0, rate_hz, frames, 0.5)], rate_hz, bits, format);
    let pcm = decode_wav(&bytes).unwrap();
    assert_eq!(pcm.sample_rate_hz, rate_hz);
    assert_eq!(pcm.channels, 1);
    assert_eq!(pcm.samples.len(), frames);
    let out = to_mono_16k(&pcm).unwrap();
    assert_tone(&out, seconds, 440.0);
}

#[test]
fn decodes_8bit_unsigned() {
    roundtrip_mono(22_050, 8, hound::SampleFormat::Int);
}

#[test]
fn decodes_16bit() {
    roundtrip_mono(44_100, 16, hound::SampleFormat::Int);
}

#[test]
fn decodes_24bit() {
    roundtrip_mono(48_000, 24, hound::SampleFormat::Int);
}

#[test]
fn decodes_32bit_int() {
    roundtrip_mono(32_000, 32, hound::SampleFormat::Int);
}

#[test]
fn decodes_32bit_float() {
    roundtrip_mono(48_000, 32, hound::SampleFormat::Float);
}

#[test]
fn upsamples_8khz_mono() {
    roundtrip_mono(8_000, 16, hound::SampleFormat::Int);
}

#[test]
fn sixteen_khz_passes_through_unchanged() {
    let x = sine(300.0, 16_000, 16_000, 0.5);
    let bytes = wav_bytes(&[x], 16_000, 32, hound::SampleFormat::Float);
    let pcm = decode_wav(&bytes).unwrap();
    let out = to_mono_16k(&pcm).unwrap();
    assert_eq!(out, pcm.samples);
}

#[test]
fn stereo_48k_downmixes_and_splits() {
    let frames = 48_000 * 2;
    let left = sine(440.0, 48_000, frames, 0.5);
    let right = sine(1_000.0, 48_000, frames, 0.5);
    let bytes = wav_bytes(&[left, right], 48_000, 16, hound::SampleFormat::Int);
    let pcm = decode_wav(&bytes).unwrap();
    assert_eq!(pcm.channels, 2);
    assert_eq!(pcm.frames(), frames);
    assert_eq!(pcm.duration_ms(), 2_000);

    let mono = to_mono_16k(&pcm).unwrap();
    assert_eq!(mono.len(), 32_000);
    // Both tones are present in the mix, each at half amplitude.
    let off = goertzel(&mono, 700.0);
    assert!(goertzel(&mono, 440.0) > 100.0 * off);
    assert!(goertzel(&mono, 1_000.0) > 100.0 * off);

    let split = split_channels_16k(&pcm).unwrap();
    assert_eq!(split.len(), 2);
    assert_tone(&split[0], 2.0, 440.0);
    assert_tone(&split[1], 2.0, 1_000.0);
}

#[test]
fn resampled_output_is_aligned_not_delayed() {
    // A click at 0.5 s at 48 kHz must land at 0.5 s at 16 kHz.
    let mut x = vec![0.0f32; 48_000];
    x[24_000] = 1.0;
    let pcm = PcmAudio {
        sample_rate_hz: 48_000,
        channels: 1,
        samples: x,
    };
    let out = to_mono_16k(&pcm).unwrap();
    let peak = out
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap()
        .0;
    assert!((peak as i64 - 8_000).abs() <= 2, "click at {peak}");
}

#[test]
fn read_wav_file_reads_and_names_the_file_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("tone.wav");
    std::fs::write(
        &good,
        wav_bytes(
            &[sine(440.0, 16_000, 1_600, 0.5)],
            16_000,
            16,
            hound::SampleFormat::Int,
        ),
    )
    .unwrap();
    assert_eq!(read_wav_file(&good).unwrap().samples.len(), 1_600);

    let bad = dir.path().join("notes.wav");
    std::fs::write(&bad, b"definitely not audio").unwrap();
    let msg = read_wav_file(&bad).unwrap_err().to_string();
    assert!(msg.contains("notes.wav"), "{msg}");

    let missing = dir.path().join("missing.wav");
    let msg = read_wav_file(&missing).unwrap_err().to_string();
    assert!(msg.contains("missing.wav"), "{msg}");
}

#[test]
fn chunks_and_bytes_roundtrip() {
    let x = sine(440.0, 16_000, 40_000, 0.5);
    let chunks: Vec<&[f32]> = chunk_samples(&x, 1_000).collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0].len(), 16_000);
    assert_eq!(chunks[2].len(), 8_000);
    assert_eq!(chunk_samples(&x, 0).next().unwrap().len(), 16);
    assert_eq!(chunk_samples(&[], 1_000).count(), 0);

    let bytes = samples_to_le_bytes(&x);
    assert_eq!(bytes.len(), x.len() * 4);
    assert_eq!(&bytes[4..8], &x[1].to_le_bytes());
    assert_eq!(le_bytes_to_samples(&bytes).unwrap(), x);
}

#[test]
fn fail_le_bytes_of_odd_length() {
    assert!(matches!(
        le_bytes_to_samples(&[0, 0, 0]),
        Err(AudioError::ByteLength { size_bytes: 3 })
    ));
}

#[test]
fn fail_le_bytes_with_nan() {
    let bytes = samples_to_le_bytes(&[0.0, f32::NAN]);
    assert!(matches!(
        le_bytes_to_samples(&bytes),
        Err(AudioError::NonFinite { index: 1, .. })
    ));
}

#[test]
fn fail_empty_bytes() {
    let err = decode_wav(&[]).unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
}

#[test]
fn fail_random_bytes() {
    // Deterministic pseudo-random bytes.
    let mut state = 0x1234_5678u32;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let err = decode_wav(&bytes).unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
}

#[test]
fn fail_header_only_file() {
    // A valid header with an empty data chunk.
    let bytes = wav_bytes(&[vec![]], 16_000, 16, hound::SampleFormat::Int);
    assert_eq!(bytes.len(), 44);
    let err = decode_wav(&bytes).unwrap_err();
    assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("no audio"));

    // The header itself cut short.
    let err = decode_wav(&bytes[..30]).unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
}

#[test]
fn fail_truncated_file() {
    let bytes = wav_bytes(
        &[sine(440.0, 16_000, 1_000, 0.5)],
        16_000,
        16,
        hound::SampleFormat::Int,
    );
    let cut = &bytes[..bytes.len() - 200];
    let err = decode_wav(cut).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Truncated {
                promised_samples: 1_000,
                held_samples: 900,
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("truncated: header promises 1000 samples, file holds 900"));
}

#[test]
fn fail_header_promising_huge_data_does_not_allocate() {
    // 4 GiB promised, a few bytes held: must be refused before allocating.
    let mut bytes = wav_bytes(&[vec![0.1; 4]], 16_000, 16, hound::SampleFormat::Int);
    bytes[40..44].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    let err = decode_wav(&bytes).unwrap_err();
    assert!(matches!(err, AudioError::Truncated { .. }), "{err}");
}

#[test]
fn fail_nan_samples() {
    let bytes = wav_bytes(
        &[vec![0.1, 0.2, f32::NAN, 0.3]],
        16_000,
        32,
        hound::SampleFormat::Float,
    );
    let err = decode_wav(&bytes).unwrap_err();
    assert!(
        matches!(err, AudioError::NonFinite { index: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("contains non-finite samples"));

    let bytes = wav_bytes(
        &[vec![f32::INFINITY]],
        16_000,
        32,
        hound::SampleFormat::Float,
    );
    assert!(matches!(
        decode_wav(&bytes),
        Err(AudioError::NonFinite { .. })
    ));
}

/// Patches the rate (and the byte rate, which hound cross-checks).
fn with_rate(mut bytes: Vec<u8>, rate_hz: u32) -> Vec<u8> {
    let block_align = u16::from_le_bytes([bytes[32], bytes[33]]) as u32;
    bytes[24..28].copy_from_slice(&rate_hz.to_le_bytes());
    bytes[28..32].copy_from_slice(&(rate_hz * block_align).to_le_bytes());
    bytes
}

#[test]
fn fail_zero_hz_rate() {
    let bytes = wav_bytes(&[vec![0.1; 16]], 16_000, 16, hound::SampleFormat::Int);
    let err = decode_wav(&with_rate(bytes, 0)).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::SampleRate {
                sample_rate_hz: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn fail_absurd_rates() {
    let bytes = wav_bytes(&[vec![0.1; 16]], 16_000, 16, hound::SampleFormat::Int);
    for rate in [3_999, 384_001, 10_000_000] {
        let err = decode_wav(&with_rate(bytes.clone(), rate)).unwrap_err();
        assert!(matches!(err, AudioError::SampleRate { .. }), "{err}");
    }
    // The limits themselves are fine.
    for rate in [4_000, 384_000] {
        decode_wav(&with_rate(bytes.clone(), rate)).unwrap();
    }
}

#[test]
fn fail_more_than_eight_channels() {
    let chans: Vec<Vec<f32>> = (0..9).map(|_| vec![0.1; 4]).collect();
    let bytes = wav_bytes(&chans, 16_000, 16, hound::SampleFormat::Int);
    let err = decode_wav(&bytes).unwrap_err();
    assert!(
        matches!(err, AudioError::Channels { channels: 9, .. }),
        "{err}"
    );
}

#[test]
fn fail_inconsistent_buffer_to_resampler() {
    let pcm = PcmAudio {
        sample_rate_hz: 48_000,
        channels: 2,
        samples: vec![0.0; 3],
    };
    assert!(matches!(
        to_mono_16k(&pcm),
        Err(AudioError::InvalidBuffer { .. })
    ));
    let pcm = PcmAudio {
        sample_rate_hz: 0,
        channels: 1,
        samples: vec![0.0; 3],
    };
    assert!(split_channels_16k(&pcm).is_err());
}

#[test]
fn fuzz_seed_corpus_decodes() {
    // The seeds were made by sox (some use WAVE_FORMAT_EXTENSIBLE headers).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/wav_import");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let pcm = read_wav_file(&path).unwrap();
        assert!(!pcm.samples.is_empty());
        assert!(!to_mono_16k(&pcm).unwrap().is_empty());
        n += 1;
    }
    assert!(n >= 4);
}
