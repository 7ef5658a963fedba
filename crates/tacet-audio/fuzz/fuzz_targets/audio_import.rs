//! Fuzz target: arbitrary bytes through `decode_audio` (every format Tacet
//! imports: WAV, FLAC, MP3, M4A/AAC, Ogg Vorbis, Opus) must never panic, and
//! whatever decodes must satisfy PcmAudio's invariants. `decode_audio` turns
//! a decoder panic into an error, but libFuzzer's panic hook aborts first,
//! so a fault in a decoder is still reported here. The seed corpus holds the
//! recordings from tests/data.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pcm) = tacet_audio::decode_audio(data) {
        assert!((1..=tacet_audio::MAX_CHANNELS).contains(&pcm.channels));
        assert!((tacet_audio::MIN_SAMPLE_RATE_HZ..=tacet_audio::MAX_SAMPLE_RATE_HZ)
            .contains(&pcm.sample_rate_hz));
        assert!(!pcm.samples.is_empty());
        assert!(pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
        assert_eq!(pcm.samples.len() % usize::from(pcm.channels), 0);
        assert!(pcm.samples.len() <= data.len() * tacet_audio::MAX_SAMPLES_PER_BYTE);
        // Keep resampling cheap: only short inputs.
        if pcm.samples.len() <= 48_000 {
            let _ = tacet_audio::to_mono_16k(&pcm);
        }
    }
});
