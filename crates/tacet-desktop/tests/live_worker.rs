//! The real worker records live from a private PulseAudio null sink (the
//! microphone on a machine without a sound card): start, live text and
//! level, pause, resume, the device disappearing, stop while lost, and the
//! transcript ready for drafting. Skips with a message without pulseaudio,
//! espeak-ng or the cached models (a failure under `TACET_CI=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::time::{Duration, Instant};
use tacet_tests::pulse;
use tacet_ui::{Backend, Event, Request, Secret};

const SENTENCE: &str = "The patient reports chest pain and shortness of breath when walking.";

/// Events until `done` accepts one (which is returned last), or panics
/// after `timeout_s`.
fn until(
    b: &mut tacet_desktop::worker::WorkerBackend,
    seen: &mut Vec<Event>,
    timeout_s: u64,
    what: &str,
    done: impl Fn(&Event) -> bool,
) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(timeout_s) {
        while let Some(ev) = b.try_recv() {
            if let Event::Failed { message, .. } = &ev {
                eprintln!("worker said: {message}");
            }
            let hit = done(&ev);
            seen.push(ev);
            if hit {
                eprintln!("{what}: {:.2} s", t0.elapsed().as_secs_f64());
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no {what} within {timeout_s} s; saw {} events", seen.len());
}

/// The real worker records from a PulseAudio null sink: start, live
/// text and level, pause, resume, the device disappearing (a warning,
/// the recording kept), stop while lost, and the transcript ready for
/// drafting with the spoken words in it.
#[test]
fn the_worker_records_live_pauses_survives_a_lost_device_and_stops() {
    let Some(cache) = tacet_models::cache_root() else {
        tacet_tests::skip("no model cache (HOME or TACET_CACHE)");
        return;
    };
    if !cache.join("files/whisper-tiny.en-ct2/model.bin").exists()
        || !cache.join("files/SmolLM2-135M-Instruct.Q4_1.gguf").exists()
    {
        tacet_tests::skip("the default models are not cached (scripts/fetch-models.sh)");
        return;
    }
    // The PulseAudio helper moves HOME; keep finding the models.
    std::env::set_var("TACET_CACHE", &cache);
    let Some(mut server) = pulse::PulseServer::start() else {
        return;
    };
    let Some(clip) = pulse::espeak_clip(server.dir.path(), SENTENCE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let vault_dir = dir.path().join("vault");
    // The worker unlocks only in a hardened process, as in `main`.
    tacet_sandbox::danger_harden_allowing_exec();
    tacet_desktop::demo::create(&vault_dir).unwrap();
    let mut b = tacet_desktop::worker::spawn(vault_dir.clone(), || {}).unwrap();
    let mut seen = Vec::new();
    b.send(Request::Unlock {
        user: tacet_desktop::demo::CLINICIAN.0.into(),
        passphrase: Secret::new(tacet_desktop::demo::CLINICIAN.1.into()),
    })
    .unwrap();
    until(&mut b, &mut seen, 30, "unlock", |e| {
        matches!(e, Event::Unlocked { .. })
    });

    b.send(Request::ListInputDevices).unwrap();
    until(&mut b, &mut seen, 30, "devices", |e| {
        matches!(e, Event::InputDevices { .. })
    });
    let Some(Event::InputDevices {
        devices,
        remembered,
    }) = seen.pop()
    else {
        unreachable!()
    };
    assert_eq!(remembered, None);
    let device = devices
        .iter()
        .find(|d| d.id == "alsa:pulse")
        .or_else(|| devices.iter().find(|d| d.is_default))
        .expect("an input device")
        .id
        .clone();

    let t0 = Instant::now();
    b.send(Request::StartRecording {
        template_id: "soap".into(),
        patient_ref: "MRN-WORKER-1".into(),
        device: Some(device.clone()),
    })
    .unwrap();
    until(&mut b, &mut seen, 60, "the recording to start", |e| {
        matches!(e, Event::RecordingStarted { .. })
    });
    assert_eq!(
        tacet_runtime::input::remembered_input_device(&vault_dir)
            .unwrap()
            .as_deref(),
        Some(device.as_str()),
        "the chosen device is remembered"
    );
    server.play(&clip);
    std::thread::sleep(Duration::from_millis(1500));

    b.send(Request::PauseRecording).unwrap();
    until(&mut b, &mut seen, 10, "the pause", |e| {
        matches!(e, Event::RecordingPaused { .. })
    });
    b.send(Request::ResumeRecording {
        device: Some(device.clone()),
    })
    .unwrap();
    until(&mut b, &mut seen, 10, "the resume", |e| {
        matches!(e, Event::RecordingResumed { .. })
    });
    std::thread::sleep(Duration::from_millis(500));

    // The microphone disappears: a warning, the recording kept.
    server.kill_server();
    until(&mut b, &mut seen, 15, "the lost device", |e| {
        matches!(e, Event::DeviceLost { .. })
    });
    b.send(Request::StopRecording).unwrap();
    until(&mut b, &mut seen, 60, "the transcript", |e| {
        matches!(e, Event::Transcribed { .. })
    });
    let took = t0.elapsed();

    let Some(Event::Transcribed { transcript, .. }) = seen.last() else {
        unreachable!()
    };
    let text = transcript.plain_text().to_lowercase();
    eprintln!(
        "worker live: {:.1} s; transcript: {text}",
        took.as_secs_f64()
    );
    // Content words only: at the pause tiny.en may hear a function word
    // differently (CI once heard "shortness on breath").
    for w in ["chest pain", "shortness", "breath"] {
        assert!(text.contains(w), "{w:?} missing from {text:?}");
    }
    let loudest = seen
        .iter()
        .filter_map(|e| match e {
            Event::LiveUpdate { level: Some(l), .. } => Some(l.peak_dbfs),
            _ => None,
        })
        .fold(f32::MIN, f32::max);
    assert!(loudest > -30.0, "the meter never moved: {loudest} dBFS");
    let committed: usize = seen
        .iter()
        .map(|e| match e {
            Event::LiveUpdate { committed, .. } => committed.len(),
            _ => 0,
        })
        .sum();
    let tentative = seen
        .iter()
        .any(|e| matches!(e, Event::LiveUpdate { tentative: Some(t), .. } if !t.is_empty()));
    eprintln!("live: {committed} committed segment(s), tentative shown: {tentative}");
    assert!(committed > 0 || tentative, "no live text while recording");
    let order: Vec<&str> = seen
        .iter()
        .filter_map(|e| match e {
            Event::RecordingStarted { .. } => Some("started"),
            Event::RecordingPaused { .. } => Some("paused"),
            Event::RecordingResumed { .. } => Some("resumed"),
            Event::DeviceLost { .. } => Some("lost"),
            Event::RecordingStopped { .. } => Some("stopped"),
            Event::Transcribed { .. } => Some("transcribed"),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            "started",
            "paused",
            "resumed",
            "lost",
            "stopped",
            "transcribed"
        ]
    );
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Failed { .. })),
        "nothing failed"
    );
    b.send(Request::Lock).unwrap();
    until(&mut b, &mut seen, 10, "the lock", |e| {
        matches!(e, Event::Locked)
    });
}
