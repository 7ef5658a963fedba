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
