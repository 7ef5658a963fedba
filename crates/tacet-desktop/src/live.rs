//! Live recording in the desktop app: the microphone (the runtime's
//! [`Microphone`], shared with the CLI) into the application layer's
//! [`Recorder`], driven from the
//! worker thread, with the window's pause, resume and stop coming in while
//! it runs.
//!
//! Design decisions:
//! - **The worker thread stays the one owner of the vault.** While a
//!   recording runs, the worker is inside [`record`]: it seals each chunk
//!   (through `tacet_app::recording::record_live`, whose scoped worker
//!   transcribes behind the sealing) and, between chunks, polls the window's
//!   requests every 10 ms. Pause, resume, stop and the device list are
//!   served here; anything else is answered "stop the recording first";
//!   Lock (or the window closing) stops the recording cleanly first, so the
//!   final chunk and the transcript are sealed before the vault locks.
//! - **The audio callback does no allocation.** It is tacet-audio's: a copy
//!   into a preallocated lock-free ring. Conversion, chunking and the level
//!   meter run on the capture's consumer thread; sealing on this one.
//! - **Pause is ordered with the audio.** [`Microphone::pause`] makes the
//!   capture deliver everything recorded before the pause, then
//!   [`Heard::Paused`], which becomes `LiveInput::Pause` for the
//!   recorder (audited `RecordingPaused`; nothing sealed until resume).
//! - **A lost device pauses, it does not end.** The capture delivers what
//!   it had, then `DeviceLost`; the recording becomes paused (the gap is
//!   audited like any pause), the window shows a warning, and Resume starts
//!   a new capture (the same device or another) continuing the chunk and
//!   sample counters of the same session.
//! - **The level meter never blocks sealing.** Level-only updates (10 a
//!   second) are dropped when the window's queue is full; state changes
//!   and committed text always get through.
//! - **If the live transcriber fails**, the audio is still sealed; at stop
//!   the session is finished by recovery (one batch pass over the sealed
//!   audio), so the clinician still gets a transcript.
//! - **The draft's prompt is read while the visit is recorded.** A thread
//!   of its own holds the drafter for the recording and, at most every
//!   [`tacet_app::read_ahead::READ_AHEAD_EVERY`] (`tacet_app::read_ahead`, shared with the CLI), reads the committed transcript so far into it
//!   (`Drafter::prewarm`); each read costs only the text committed since
//!   the last. At stop the draft starts on a prompt already read, instead
//!   of reading a whole visit's transcript first. Snapshots go over a
//!   one-slot channel that drops rather than waits, so sealing never waits
//!   on the drafter; stop cancels a read between chunks.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tacet_app::read_ahead::{read_ahead, Snapshots};
use tacet_app::recording::{self, LiveInput, LiveProgress, Recorder};
use tacet_app::{AppError, TemplateLibrary};
use tacet_core::ports::{RecoveryStore, SessionStore};
use tacet_core::{PatientRef, SessionId};
use tacet_runtime::live::{Heard, Microphone, WhisperTranscriber};
use tacet_runtime::NoteDrafter;
use tacet_runtime::Unlocked;
use tacet_ui::backend::{InputDevice, LiveLevel, LiveSegment};
use tacet_ui::{Event, Op, Request};

/// How long the loop waits for a request before looking at the capture.
const POLL: Duration = Duration::from_millis(10);
/// How often the level meter and the clock are sent.
const LEVEL_EVERY: Duration = Duration::from_millis(100);

/// Where the worker's events go (implemented by the worker's `Out`).
pub trait Sink {
    /// Sends; false when the window has gone.
    fn emit(&self, ev: Event) -> bool;
    /// Sends unless the window's queue is full (for the level meter).
    fn try_emit(&self, ev: Event);
}

fn fail(out: &dyn Sink, message: impl Into<String>) {
    out.emit(Event::Failed {
        op: Op::Record,
        message: message.into(),
    });
}

/// The devices that can record and the remembered one, as the picker
/// shows them.
pub fn input_devices(data_dir: &Path) -> Result<Event, String> {
    let devices = tacet_runtime::live::input_devices().map_err(|e| e.to_string())?;
    // An unreadable preference file is as good as none here; recording
    // itself reports it.
    let remembered = tacet_runtime::input::remembered_input_device(data_dir)
        .ok()
        .flatten();
    Ok(Event::InputDevices {
        devices: devices
            .into_iter()
            .map(|d| InputDevice {
                id: d.id,
                name: d.name,
                is_default: d.is_default,
            })
            .collect(),
        remembered,
    })
}

fn level_now(mic: &Microphone) -> Option<LiveLevel> {
    mic.level().map(|l| LiveLevel::from_linear(l.rms, l.peak))
}

fn segments(s: &[tacet_core::Segment]) -> Vec<LiveSegment> {
    s.iter()
        .filter(|s| !s.text.trim().is_empty())
        .map(LiveSegment::from_segment)
        .collect()
}

/// What a recording asks to start.
pub struct Start {
    pub template_id: String,
    pub patient_ref: String,
    pub device: Option<String>,
}

/// What a recording hands back to the worker.
pub struct Recorded {
    /// The speech model, for the worker's cache.
    pub asr: Option<WhisperTranscriber>,
    /// The drafter, for the worker's cache (loaded here if it was not).
    pub drafter: Option<NoteDrafter>,
    /// A request that ended the recording, still to be served (Lock).
    pub deferred: Option<Request>,
    /// The session whose final transcript was shown.
    pub transcribed: Option<SessionId>,
    /// Whether the drafter now holds part of that session's transcript.
    pub read_ahead: bool,
}

/// Records one live session until the window stops it (or locks, or
/// closes), reading the transcript ahead into `drafter` as it goes.
#[allow(clippy::too_many_arguments)]
pub fn record(
    store: &mut Unlocked<'_>,
    templates: &TemplateLibrary,
    data_dir: &Path,
    asr: WhisperTranscriber,
    drafter: Option<NoteDrafter>,
    start: Start,
    rx: &Receiver<Request>,
    out: &dyn Sink,
) -> Recorded {
    let give_back = |asr, drafter| Recorded {
        asr,
        drafter,
        deferred: None,
        transcribed: None,
        read_ahead: false,
    };
    // The device: asked for now, else remembered if connected, else default.
    let chosen = tacet_runtime::choose_input_device(data_dir, start.device.as_deref());
    if let Some(w) = chosen.warning {
        fail(out, w);
    }
    let choice = chosen.choice;
    let mic = match Microphone::open(choice.device()) {
        Ok(m) => m,
        Err(e) => {
            fail(
                out,
                format!("The microphone could not be started: {e}. Choose another input device."),
            );
            return give_back(Some(asr), drafter);
        }
    };
    let mut live = match tacet_runtime::live::live_transcriber(asr) {
        Ok(l) => l,
        Err(e) => {
            fail(out, super::capitalised(&e.to_string()));
            return give_back(None, drafter);
        }
    };
    let device = mic.device_id().to_string();
    let patient = PatientRef::new(start.patient_ref);
    let template = templates.get(&start.template_id);
    let stop_reading = AtomicBool::new(false);
    let (snapshot_tx, snapshot_rx) = sync_channel::<Vec<tacet_core::Segment>>(1);
    // Read before the reader starts: the vault stays with this thread.
    let approved = super::approved_models(data_dir, &*store).unwrap_or_default();
    let (result, (drafter, read)) = std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("tacet-read-ahead".into())
            .spawn_scoped(scope, || {
                let load = || super::load_approved_drafter(data_dir, &approved).ok();
                read_ahead(drafter, load, template, snapshot_rx, &stop_reading)
            });
        let result = {
            let store_dyn: &mut dyn SessionStore = &mut *store;
            match Recorder::new_session(
                store_dyn,
                &mut live,
                templates,
                &start.template_id,
                &patient,
            ) {
                Err(e) => Err((None, e)),
                Ok(rec) => {
                    let session = rec.session();
                    if let recording::DeviceChoice::Requested(id) = &choice {
                        if let Err(e) = tacet_runtime::input::remember_input_device(data_dir, id) {
                            fail(out, e.to_string());
                        }
                    }
                    out.emit(Event::RecordingStarted {
                        session,
                        device: device.clone(),
                        notice: choice.notice(),
                    });
                    let mut inputs = Inputs {
                        rx,
                        out,
                        data_dir,
                        mic,
                        deferred: None,
                        last_level: Instant::now(),
                    };
                    let mut failed_once = false;
                    let mut snapshots = Snapshots::new();
                    let mut progress = |p: &LiveProgress| {
                        if let Some(so_far) = snapshots.push(&p.committed) {
                            // Full: the reader is still on the last snapshot.
                            let _ = snapshot_tx.try_send(so_far);
                        }
                        if p.transcription_failed && !failed_once {
                            failed_once = true;
                            fail(out, "Live transcription failed; the audio is still being sealed and will be transcribed when you stop.");
                        }
                        out.emit(Event::LiveUpdate {
                            elapsed_ms: p.recorded_ms,
                            level: None,
                            committed: segments(&p.committed),
                            tentative: Some(segments(&p.tentative)),
                        });
                    };
                    let r = recording::record_live(rec, &mut inputs, &mut progress);
                    let deferred = inputs.deferred.take();
                    match r {
                        Ok(summary) => Ok((session, summary, deferred)),
                        Err(e) => Err((Some((session, deferred)), e)),
                    }
                }
            }
        };
        stop_reading.store(true, Ordering::SeqCst);
        drop(snapshot_tx);
        // A reader that could not start, or panicked, leaves no drafter: the
        // worker loads one again for the draft.
        let back = reader
            .ok()
            .and_then(|h| h.join().ok())
            .unwrap_or((None, false));
        (result, back)
    });
    let (session, stopped, deferred) = match result {
        Err((None, e)) => {
            fail(out, format!("The recording could not start: {e}"));
            return give_back(Some(live.into_inner()), drafter);
        }
        Ok((session, summary, deferred)) => (session, Ok(summary), deferred),
        Err((Some((session, deferred)), e)) => (session, Err(e), deferred),
    };
    if matches!(stopped, Err(AppError::Transcription(_))) {
        out.emit(Event::Progress(
            "Live transcription failed; transcribing the sealed recording…".into(),
        ));
    }
    // The one way a recording ends, shared with the CLI: a failed live
    // transcriber is finished at once from the sealed audio.
    let store: &mut dyn RecoveryStore = store;
    let finished = recording::finish_live(store, session, stopped, live.inner_mut());
    let whisper = live.into_inner();
    match finished {
        Ok(finished) => {
            out.emit(Event::RecordingStopped {
                recorded_ms: finished.recorded_ms(),
                pauses: finished.pauses(),
            });
            out.emit(Event::Transcribed {
                session,
                transcript: finished.into_transcript(),
            });
            Recorded {
                asr: Some(whisper),
                drafter,
                deferred,
                transcribed: Some(session),
                read_ahead: read,
            }
        }
        Err(e) => {
            fail(out, unfinished(session, &e));
            Recorded {
                deferred,
                ..give_back(Some(whisper), drafter)
            }
        }
    }
}

fn unfinished(session: SessionId, e: &AppError) -> String {
    format!(
        "The recording of session {} stopped with a problem: {e}. What was recorded is sealed; open the session from the list to finish it.",
        session.short()
    )
}

/// The recorder's input: what the microphone hears (the runtime's
/// [`Microphone`], shared with the CLI), with the window's requests served
/// in between.
struct Inputs<'a> {
    rx: &'a Receiver<Request>,
    out: &'a dyn Sink,
    data_dir: &'a Path,
    mic: Microphone,
    /// A request that ended the recording and is still to be served.
    deferred: Option<Request>,
    last_level: Instant,
}

impl Inputs<'_> {
    fn resume(&mut self, device: Option<String>) {
        if !self.mic.is_paused() {
            return;
        }
        match self.mic.resume(device.as_deref()) {
            Ok(()) => {
                // A device asked for by name is remembered once it runs.
                if let Some(id) = device {
                    if let Err(e) = tacet_runtime::input::remember_input_device(self.data_dir, &id)
                    {
                        fail(self.out, e.to_string());
                    }
                }
            }
            Err(e) => fail(
                self.out,
                format!("The microphone could not be started: {e}. Choose another input device and resume."),
            ),
        }
    }

    fn serve(&mut self, req: Request) {
        match req {
            Request::PauseRecording => {
                if !self.mic.pause() {
                    fail(self.out, "The recording is already paused.");
                }
            }
            Request::ResumeRecording { device } => self.resume(device),
            Request::StopRecording => self.mic.stop(),
            Request::ListInputDevices => match input_devices(self.data_dir) {
                Ok(ev) => {
                    self.out.emit(ev);
                }
                Err(e) => fail(self.out, e),
            },
            Request::StartRecording { .. } => fail(self.out, "A recording is already running."),
            Request::Lock => {
                self.deferred = Some(Request::Lock);
                self.mic.stop();
            }
            other => {
                let op = super::op_of(&other);
                self.out.emit(Event::Failed {
                    op,
                    message: "A recording is running; stop it first.".into(),
                });
            }
        }
    }
}

impl Iterator for Inputs<'_> {
    type Item = LiveInput;

    fn next(&mut self) -> Option<LiveInput> {
        loop {
            let heard = self.mic.next(Duration::ZERO);
            match &heard {
                Heard::Paused => {
                    self.out.emit(Event::RecordingPaused {
                        elapsed_ms: self.mic.elapsed_ms(),
                    });
                }
                Heard::Resumed => {
                    self.out.emit(Event::RecordingResumed {
                        device: self.mic.device_id().to_string(),
                    });
                }
                Heard::DeviceLost { message, .. } => {
                    self.out.emit(Event::DeviceLost {
                        message: message.clone(),
                        elapsed_ms: self.mic.elapsed_ms(),
                    });
                }
                Heard::Ended => return None,
                Heard::Audio(_) | Heard::Overrun { .. } | Heard::Nothing => {}
            }
            let idle = matches!(heard, Heard::Nothing | Heard::Overrun { .. });
            if let Some(input) = heard.into_input() {
                return Some(input);
            }
            if !idle {
                continue;
            }
            match self.rx.recv_timeout(POLL) {
                Ok(req) => self.serve(req),
                Err(RecvTimeoutError::Timeout) => {}
                // The window has gone: finish cleanly (final chunk, transcript).
                Err(RecvTimeoutError::Disconnected) => {
                    if !self.mic.is_stopping() {
                        self.mic.stop();
                    }
                }
            }
            if !self.mic.is_paused()
                && !self.mic.is_stopping()
                && self.last_level.elapsed() >= LEVEL_EVERY
            {
                self.last_level = Instant::now();
                if let Some(level) = level_now(&self.mic) {
                    self.out.try_emit(Event::LiveUpdate {
                        elapsed_ms: self.mic.elapsed_ms(),
                        level: Some(level),
                        committed: Vec::new(),
                        tentative: None,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};
    use tacet_tests::pulse;
    use tacet_ui::{Backend, Event, Request, Secret};

    const SENTENCE: &str = "The patient reports chest pain and shortness of breath when walking.";

    /// Events until `done` accepts one (which is returned last), or panics
    /// after `timeout_s`.
    fn until(
        b: &mut crate::worker::WorkerBackend,
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
        crate::demo::create(&vault_dir).unwrap();
        let mut b = crate::worker::spawn(vault_dir.clone(), || {}).unwrap();
        let mut seen = Vec::new();
        b.send(Request::Unlock {
            user: crate::demo::CLINICIAN.0.into(),
            passphrase: Secret::new(crate::demo::CLINICIAN.1.into()),
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
}
