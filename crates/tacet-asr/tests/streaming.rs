//! Streaming transcription with the real tiny.en model: the demo visit fed
//! in one-second chunks faster than real time, and silence that must cost
//! nothing. Skips cleanly without the model or the demo asset.

mod common;

use common::{demo_visit, load};
use std::time::Instant;
use tacet_asr::{word_error_rate, StreamingConfig, StreamingTranscriber};

#[test]
fn demo_visit_streamed_in_chunks_matches_its_script() {
    let (Some((audio, reference)), Some(asr)) = (demo_visit(), load()) else {
        return;
    };
    let mut st = StreamingTranscriber::new(asr, StreamingConfig::default()).unwrap();
    let t0 = Instant::now();
    let mut committed_ids = 0u32;
    let mut last_commit_end = 0u64;
    for chunk in audio.chunks(16_000) {
        if let Some(update) = st.push(chunk).unwrap() {
            for s in &update.committed {
                // Committed text only grows, in order, with session times.
                assert_eq!(s.id, committed_ids);
                committed_ids += 1;
                assert!(s.start_ms + 1_000 >= last_commit_end, "went backwards");
                assert!(s.end_ms <= update.audio_ms);
                last_commit_end = s.end_ms;
            }
            for s in &update.tentative {
                assert!(s.start_ms + 1_000 >= last_commit_end);
            }
        }
    }
    let fed_s = t0.elapsed().as_secs_f64();
    let committed_before_finish = st.committed().len();
    let t1 = Instant::now();
    let t = st.finish().unwrap();
    let finish_s = t1.elapsed().as_secs_f64();
    let wer = word_error_rate(&reference, &t.plain_text());
    let (passes, skipped) = st.pass_counts();
    eprintln!(
        "streamed demo visit ({:.1} s audio): WER {:.1}%, {} segments ({} committed before finish), \
         {passes} passes, {skipped} skipped as silent, feeding took {fed_s:.1} s, finish() {:.0} ms (1 thread)",
        audio.len() as f64 / 16_000.0,
        wer * 100.0,
        t.segments.len(),
        committed_before_finish,
        finish_s * 1000.0
    );
    assert!(wer <= 0.15, "WER {wer}");
    assert!(
        committed_before_finish * 2 >= t.segments.len(),
        "too little committed while streaming"
    );
    for (i, s) in t.segments.iter().enumerate() {
        assert_eq!(s.id as usize, i);
        assert!(s.start_ms <= s.end_ms);
        assert!(s.confidence > 0.0 && s.confidence <= 1.0);
    }
}

#[test]
fn silence_costs_no_passes_and_gives_no_text() {
    let Some(asr) = load() else {
        return;
    };
    let mut st = StreamingTranscriber::new(asr, StreamingConfig::default()).unwrap();
    let t0 = Instant::now();
    for _ in 0..60 {
        st.push(&vec![0.0005f32; 16_000]).unwrap();
    }
    let t = st.finish().unwrap();
    let (passes, skipped) = st.pass_counts();
    eprintln!(
        "60 s of near-silence: {passes} passes, {skipped} skipped, {:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    assert!(t.segments.is_empty());
    assert_eq!(passes, 0);
    assert!(skipped >= 29);
}

#[test]
fn fail_bad_streaming_config_and_input() {
    let Some(asr) = load() else {
        return;
    };
    let bad = StreamingConfig {
        step_ms: 10_000,
        max_window_ms: 12_000,
        ..StreamingConfig::default()
    };
    assert!(StreamingTranscriber::new(asr, bad).is_err());
    let Some(asr) = load() else {
        return;
    };
    let mut st = StreamingTranscriber::new(asr, StreamingConfig::default()).unwrap();
    assert!(st.push(&[0.0, f32::NAN]).is_err());
}
