//! Property: no byte string makes `decode_wav` panic, and a header mutation
//! of a valid file is either decoded consistently or refused with an error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use proptest::prelude::*;
use std::io::Cursor;
use tacet_audio::{decode_wav, to_mono_16k};

fn small_wav() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for i in 0..64i16 {
            w.write_sample(i * 100).unwrap();
        }
        w.finalize().unwrap();
    }
    cur.into_inner()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_wav(&bytes);
    }

    #[test]
    fn riff_prefixed_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = b"RIFF\x00\x01\x00\x00WAVEfmt ".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = decode_wav(&bytes);
    }

    #[test]
    fn mutated_valid_wav_never_panics(pos in 0usize..300, val in any::<u8>(), cut in 0usize..300) {
        let mut bytes = small_wav();
        let p = pos % bytes.len();
        bytes[p] = val;
        bytes.truncate(bytes.len() - cut.min(bytes.len()));
        if let Ok(pcm) = decode_wav(&bytes) {
            prop_assert!(pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
            prop_assert_eq!(pcm.samples.len() % usize::from(pcm.channels), 0);
            let _ = to_mono_16k(&pcm);
        }
    }
}
