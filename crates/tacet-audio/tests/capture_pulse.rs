//! Real capture end to end: a private PulseAudio null sink, a clip played
//! into it with `paplay`, recorded through cpal (ALSA → pulse plugin) from
//! the sink's monitor, converted to 16 kHz mono by [`Capture`]. Runs only
//! where `pulseaudio`, `pactl`, `pacat`, `paplay` and `espeak-ng` exist;
//! otherwise it prints why and returns.
//!
//! One test per binary: it sets HOME/XDG_RUNTIME_DIR for the process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_tests::pulse;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use tacet_audio::{Capture, CaptureConfig, CaptureEvent, CaptureSink};

fn wait_for_callback(capture: &Capture) {
    let t0 = Instant::now();
    while capture.callback_frames() == 0 {
        assert!(t0.elapsed() < Duration::from_secs(5), "no audio callback");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Collects chunks until `until` returns true or the channel closes.
fn collect(rx: &Receiver<CaptureEvent>, into: &mut Vec<CaptureEvent>, timeout: Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(e) => into.push(e),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => return,
        }
    }
}

fn samples_of(events: &[CaptureEvent]) -> Vec<f32> {
    let mut out = Vec::new();
    let mut next_index = 0;
    let mut next_sample = 0;
    for e in events {
        if let CaptureEvent::Chunk {
            index,
            start_sample,
            samples,
        } = e
        {
            assert_eq!(*index, next_index, "chunks out of order");
            assert_eq!(*start_sample, next_sample, "gap between chunks");
            assert!(samples.len() <= 16_000 && !samples.is_empty());
            next_index += 1;
            next_sample += samples.len() as u64;
            out.extend_from_slice(samples);
        }
    }
    out
}

#[test]
fn records_a_played_clip_through_a_null_sink() {
    let Some(mut server) = pulse::PulseServer::start() else {
        return;
    };
    let Some(clip) = pulse::espeak_clip(
        server.dir.path(),
        "The patient reports a dry cough and a sore throat for five days.",
    ) else {
        return;
    };
    let t_start = Instant::now();

    let devices = tacet_audio::list_input_devices().unwrap();
    eprintln!(
        "input devices: {:?}",
        devices
            .iter()
            .map(|d| (&d.id, d.is_default))
            .collect::<Vec<_>>()
    );
    assert!(devices.iter().any(|d| d.is_default), "no default input");

    let (sink, rx) = CaptureSink::channel(64);
    // 100 ms chunks so little sits undelivered when the pause is measured.
    let capture = Capture::start_with(
        CaptureConfig {
            chunk_ms: 100,
            ..CaptureConfig::default()
        },
        sink,
    )
    .unwrap();
    eprintln!(
        "device {} native format {:?}",
        capture.device_id(),
        capture.native_format()
    );
    wait_for_callback(&capture);
    // Play while watching the level meter.
    let mut level_peak = 0f32;
    std::thread::scope(|scope| {
        let player = scope.spawn(|| server.play(&clip));
        while !player.is_finished() {
            level_peak = level_peak.max(capture.level().peak);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    std::thread::sleep(Duration::from_millis(300));

    // Pause: while paused nothing is recorded (the clip plays into nothing).
    capture.pause();
    std::thread::sleep(Duration::from_millis(100));
    let mut events = Vec::new();
    collect(&rx, &mut events, Duration::from_millis(100));
    let before_pause = samples_of(&events).len();
    server.play(&clip);
    std::thread::sleep(Duration::from_millis(200));
    capture.resume();
    std::thread::sleep(Duration::from_millis(300));

    // The device disappears: the server dies. Everything captured is kept.
    server.kill_server();
    collect(&rx, &mut events, Duration::from_secs(3));
    let lost = events
        .iter()
        .any(|e| matches!(e, CaptureEvent::DeviceLost { .. }));
    if !lost {
        // Some ALSA plugin versions block instead of failing: stop cleanly.
        eprintln!("no device-lost event after killing the server; stopping");
        capture.stop();
        collect(&rx, &mut events, Duration::from_millis(500));
    } else {
        assert!(capture.device_lost());
        drop(capture);
    }
    assert!(matches!(events.first(), Some(CaptureEvent::Started { .. })));

    let captured = samples_of(&events);
    let reference = tacet_audio::to_mono_16k(&tacet_audio::read_wav_file(&clip).unwrap()).unwrap();
    let (offset, corr) = pulse::align(&captured, &reference);
    let paused_for = captured.len() - before_pause;
    eprintln!(
        "captured {:.2} s, clip {:.2} s at offset {:.3} s, correlation {corr:.4}; \
         {:.2} s recorded after the pause; meter peak {:.3}; device lost: {lost}; {:.1} s",
        captured.len() as f64 / 16_000.0,
        reference.len() as f64 / 16_000.0,
        offset as f64 / 16_000.0,
        paused_for as f64 / 16_000.0,
        level_peak,
        t_start.elapsed().as_secs_f64()
    );
    assert!(level_peak > 0.05, "level meter stayed at {level_peak}");
    assert!(
        corr > 0.95,
        "captured audio does not match the clip: {corr}"
    );
    // The paused stretch (≥ 2 s of clip) was not recorded: only the ~0.3 s
    // after resuming (plus what was in flight) came after the pause.
    assert!(
        paused_for < 16_000,
        "{paused_for} samples after pausing; pause did not drop audio"
    );
    let overruns = events
        .iter()
        .filter(|e| matches!(e, CaptureEvent::Overrun { .. }))
        .count();
    assert_eq!(overruns, 0);
    assert!(lost, "killing the server must be reported as a lost device");
}
