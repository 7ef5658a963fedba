//! Microphone to transcript: a spoken clip (espeak-ng) played into a
//! private PulseAudio null sink, recorded through cpal by
//! `tacet_audio::Capture`, streamed into the `StreamingTranscriber` as the
//! chunks arrive, and the sentence found in the final transcript. Skips
//! cleanly without PulseAudio tools, espeak-ng or the model.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_tests::pulse;

mod common;

use std::time::{Duration, Instant};
use tacet_asr::{word_error_rate, StreamingConfig, StreamingTranscriber};
use tacet_audio::{Capture, CaptureEvent, CaptureSink};

/// Spoken by espeak-ng when the shared jfk.wav is absent (CI).
const SENTENCE: &str =
    "Ask not what your country can do for you, ask what you can do for your country.";
const JFK: &str = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";

#[test]
fn captured_speech_is_transcribed() {
    let Some(mut asr) = common::load() else {
        return;
    };
    let Some(server) = pulse::PulseServer::start() else {
        return;
    };
    // The real recording when the shared data is there, else a synthetic one.
    let jfk = common::shared_data()
        .map(|d| d.join("speech/jfk.wav"))
        .filter(|p| p.is_file());
    let (clip, reference) = match jfk {
        Some(p) => (p, JFK),
        None => match pulse::espeak_clip(server.dir.path(), SENTENCE) {
            Some(p) => (p, SENTENCE),
            None => return,
        },
    };
    // What the engine makes of the file itself: capture must not add errors.
    let direct = asr
        .transcribe_channel(&common::read_16k(&clip), None)
        .unwrap()
        .plain_text();
    let t0 = Instant::now();
    let (sink, rx) = CaptureSink::channel(64);
    let capture = Capture::start(None, sink).unwrap();
    let started = Instant::now();
    while capture.callback_frames() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no audio callback"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The transcriber consumes chunks on its own thread while recording.
    let worker = std::thread::spawn(move || {
        let mut st = StreamingTranscriber::new(asr, StreamingConfig::default()).unwrap();
        for event in rx {
            match event {
                CaptureEvent::Chunk { samples, .. } => {
                    st.push(&samples).unwrap();
                }
                CaptureEvent::Stopped | CaptureEvent::DeviceLost { .. } => break,
                _ => {}
            }
        }
        let t = Instant::now();
        let transcript = st.finish().unwrap();
        (transcript, t.elapsed())
    });
    server.play(&clip);
    std::thread::sleep(Duration::from_millis(500));
    capture.stop();
    let (transcript, finish) = worker.join().unwrap();
    let text = transcript.plain_text();
    let wer = word_error_rate(reference, &text);
    let wer_direct = word_error_rate(reference, &direct);
    eprintln!(
        "{}: captured WER {:.1}%, same file transcribed directly {:.1}%, finish() {} ms, {:.1} s in all",
        clip.display(),
        wer * 100.0,
        wer_direct * 100.0,
        finish.as_millis(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        wer <= wer_direct + 0.1,
        "capture made it worse: {wer} vs {wer_direct}"
    );
    assert!(wer <= 0.2, "sentence not found: WER {wer}");
}
