//! Fuzz target: arbitrary bytes through WAV import and resampling must never
//! panic, and whatever decodes must satisfy PcmAudio's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pcm) = tacet_audio::decode_wav(data) {
        assert!(pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
        assert_eq!(pcm.samples.len() % usize::from(pcm.channels), 0);
        // Keep resampling cheap: only short inputs.
        if pcm.samples.len() <= 48_000 {
            let _ = tacet_audio::to_mono_16k(&pcm);
        }
    }
});
