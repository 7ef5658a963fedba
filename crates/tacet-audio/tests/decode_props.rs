//! Properties of `decode_audio`: no byte string makes it panic, and anything
//! it returns satisfies `PcmAudio`'s invariants. Three sources of bytes:
//! arbitrary ones, arbitrary ones behind each format's magic (so they reach
//! the container readers), and the committed recordings with bytes changed
//! and the end cut off (so they reach the codecs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use proptest::prelude::*;
use std::path::Path;
use tacet_audio::{
    decode_audio, to_mono_16k, PcmAudio, MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ,
};

const FIXTURES: &[&str] = &[
    "visit.flac",
    "visit.mp3",
    "visit.m4a",
    "visit.ogg",
    "visit.opus",
    "visit_stereo.opus",
    "visit_stereo_44k.m4a",
    "visit_stereo_44k.mp3",
    "visit_stereo_44k.ogg",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn check_invariants(pcm: &PcmAudio) -> Result<(), TestCaseError> {
    prop_assert!((1..=MAX_CHANNELS).contains(&pcm.channels));
    prop_assert!((MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&pcm.sample_rate_hz));
    prop_assert!(!pcm.samples.is_empty());
    prop_assert_eq!(pcm.samples.len() % usize::from(pcm.channels), 0);
    prop_assert!(pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
    Ok(())
}

const MAGICS: &[&[u8]] = &[
    b"fLaC\x00\x00\x00\x22",
    b"OggS\x00\x02",
    b"\x00\x00\x00\x18ftypM4A ",
    b"ID3\x04\x00\x00\x00\x00\x00\x00",
    &[0xff, 0xfb, 0x90, 0x64],
    &[0xff, 0xf3, 0x58, 0xc4],
    &[0xff, 0xf1, 0x50, 0x80],
    b"RIFF\x00\x01\x00\x00WAVEfmt ",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(pcm) = decode_audio(&bytes) {
            check_invariants(&pcm)?;
        }
    }

    #[test]
    fn magic_prefixed_bytes_never_panic(
        magic in 0..MAGICS.len(),
        tail in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut bytes = MAGICS[magic].to_vec();
        bytes.extend_from_slice(&tail);
        if let Ok(pcm) = decode_audio(&bytes) {
            check_invariants(&pcm)?;
        }
    }
}

/// CRC-32 of Ogg pages (polynomial 0x04c11db7, initial 0, unreflected).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// CRC-16/ARC, the LAME tag's music CRC.
fn crc16_arc(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Rewrites the checksums a damaged file would fail (every Ogg page's, the
/// MP3 LAME music CRC) so the damage reaches the codec behind them. Bytes
/// that no longer parse as pages or a tag are left as they are.
fn refresh_checksums(bytes: &mut [u8]) {
    if bytes.starts_with(b"OggS") {
        let mut pos = 0;
        while pos + 27 <= bytes.len() && &bytes[pos..pos + 4] == b"OggS" {
            let n = usize::from(bytes[pos + 26]);
            let Some(table) = bytes.get(pos + 27..pos + 27 + n) else {
                return;
            };
            let len = 27 + n + table.iter().map(|&x| usize::from(x)).sum::<usize>();
            if pos + len > bytes.len() {
                return;
            }
            bytes[pos + 22..pos + 26].fill(0);
            let crc = ogg_crc(&bytes[pos..pos + len]);
            bytes[pos + 22..pos + 26].copy_from_slice(&crc.to_le_bytes());
            pos += len;
        }
    } else if bytes.starts_with(b"ID3") {
        // The fixtures' Xing frame: after the 45-byte ID3 tag, ending where
        // the second frame's sync word starts.
        let start = 45;
        let Some(lame) = bytes[start..bytes.len().min(start + 300)]
            .windows(4)
            .position(|w| w == b"Lavc")
            .map(|p| start + p)
        else {
            return;
        };
        let Some(end) = bytes[start + 1..]
            .windows(2)
            .position(|w| w[0] == 0xff && w[1] & 0xe0 == 0xe0)
            .map(|p| start + 1 + p)
        else {
            return;
        };
        let music_len = u32::from_be_bytes([
            bytes[lame + 28],
            bytes[lame + 29],
            bytes[lame + 30],
            bytes[lame + 31],
        ]) as usize;
        if let Some(audio) = bytes.get(end..start + music_len) {
            let crc = crc16_arc(audio);
            bytes[lame + 32..lame + 34].copy_from_slice(&crc.to_be_bytes());
        }
    }
}

fn cases(default: u32) -> u32 {
    std::env::var("TACET_DECODE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    // Each case may decode a few seconds of audio: fewer cases. Set
    // TACET_DECODE_CASES for a longer run.
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    #[test]
    fn damaged_recordings_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::weighted(0.25, 0.0f64..1.0),
    ) {
        let mut bytes = fixture(FIXTURES[which]);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        refresh_checksums(&mut bytes);
        if let Some(keep) = cut {
            bytes.truncate((bytes.len() as f64 * keep) as usize);
        }
        if let Ok(pcm) = decode_audio(&bytes) {
            check_invariants(&pcm)?;
            let _ = to_mono_16k(&pcm);
        }
    }
}

/// A damaged Opus file (found by the property above) on which
/// `opus-decoder` 0.1.1 slices out of range in its hybrid redundancy path:
/// the panic is caught and the file refused as damaged.
#[test]
fn fail_a_decoder_fault_is_a_refusal_not_a_crash() {
    let mut bytes = fixture("visit_stereo.opus");
    for (at, value) in [
        (11951, 123),
        (13585, 215),
        (4743, 247),
        (108, 143),
        (11, 22),
        (1800, 4),
    ] {
        bytes[at] = value;
    }
    refresh_checksums(&mut bytes);
    let err = decode_audio(&bytes).unwrap_err();
    assert!(
        matches!(err, tacet_audio::AudioError::Corrupt { .. }),
        "{err}"
    );
}
