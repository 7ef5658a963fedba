//! The microphone of a live recording, shared by both front ends.
//!
//! The CLI's `session record` and the desktop's Record button used to each
//! start tacet-audio's capture, turn its events into the recorder's
//! [`LiveInput`]s and restart it after a lost device, in two loops that
//! drifted (one measured the level from the chunk, the other from the
//! device; one could resume on another device, the other could not). The
//! rules live here once, in [`Microphone`]: the events come out in the
//! order the capture delivered them, a pause is ordered with the audio, a
//! lost device pauses the recording (everything it captured is delivered
//! first), a resume on another device continues the session's chunk and
//! sample counters, and a stop never blocks the thread that drains the
//! queue. The front ends keep only what is theirs: the keys or buttons
//! that ask, and the words that answer.
//!
//! Nothing here holds patient text; the audio passes straight on to the
//! recorder, which seals it.

use crate::RuntimeError;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};
use tacet_app::recording::{LiveChunk, LiveInput};
use tacet_audio::{Capture, CaptureConfig, CaptureEvent, CaptureSink};

pub use tacet_asr::{StreamingTranscriber, WhisperTranscriber};
pub use tacet_audio::{DeviceInfo, Level};

/// Capture events queued between the capture thread and the loop that
/// seals them: 128 half-second chunks, a minute; the capture's ring holds
/// four seconds more before anything is dropped.
const CAPTURE_QUEUE: usize = 128;

/// The input devices this computer offers, for a chooser.
pub fn input_devices() -> Result<Vec<DeviceInfo>, RuntimeError> {
    Ok(tacet_audio::list_input_devices()?)
}

/// A visit's audio read from a file (WAV, FLAC, MP3, Ogg/Opus…), as the
/// 16 kHz mono samples a transcriber takes, with what the file held.
#[derive(Debug)]
pub struct VisitAudio {
    pub samples_16k: Vec<f32>,
    pub sample_rate_hz: u32,
    pub channels: u16,
    pub duration_ms: u64,
}

/// Reads a recorded visit from `path`; a corrupt or unsupported file is an
/// error that names it (and nothing of the audio).
pub fn read_visit_audio(path: &std::path::Path) -> Result<VisitAudio, RuntimeError> {
    let pcm = tacet_audio::read_audio_file(path)?;
    let samples_16k = tacet_audio::to_mono_16k(&pcm)?;
    Ok(VisitAudio {
        samples_16k,
        sample_rate_hz: pcm.sample_rate_hz,
        channels: pcm.channels,
        duration_ms: pcm.duration_ms(),
    })
}

/// The live transcriber over a loaded speech model. On failure the model
/// is lost with the error; the caller loads it again.
pub fn live_transcriber(asr: WhisperTranscriber) -> Result<StreamingTranscriber, RuntimeError> {
    StreamingTranscriber::new(asr, tacet_asr::StreamingConfig::default())
        .map_err(RuntimeError::LiveTranscriber)
}

/// What the microphone said next.
#[derive(Debug)]
pub enum Heard {
    /// Up to a second of 16 kHz audio, with the input's level.
    Audio(LiveChunk),
    /// A pause took effect: every chunk captured before it came first.
    Paused,
    /// The recording resumes (on the same device, or on the one
    /// [`Microphone::resume`] started); later chunks are new audio.
    Resumed,
    /// The capture fell behind and dropped this many input frames.
    Overrun { dropped_frames: u64 },
    /// The device failed or went away; everything it captured came first.
    /// The recording is now paused (`pause` is true when this loss paused
    /// it, false when it was paused already) until a resume, on another
    /// device if need be.
    DeviceLost { message: String, pause: bool },
    /// Nothing within the wait.
    Nothing,
    /// The capture has stopped: no more audio will come.
    Ended,
}

impl Heard {
    /// What the recorder is given for it, if anything.
    pub fn into_input(self) -> Option<LiveInput> {
        match self {
            Heard::Audio(chunk) => Some(LiveInput::Audio(chunk)),
            Heard::Paused | Heard::DeviceLost { pause: true, .. } => Some(LiveInput::Pause),
            Heard::Resumed => Some(LiveInput::Resume),
            Heard::DeviceLost { pause: false, .. }
            | Heard::Overrun { .. }
            | Heard::Nothing
            | Heard::Ended => None,
        }
    }
}

/// The capture of one live recording, from start to stop, across pauses
/// and lost devices.
pub struct Microphone {
    capture: Option<Capture>,
    events: Receiver<CaptureEvent>,
    device: String,
    /// What a resume found before the new capture's first chunk.
    pending: VecDeque<Heard>,
    /// 16 kHz samples recorded (the session position).
    samples: u64,
    /// The next chunk index (to continue after a lost device).
    next_chunk: u64,
    paused: bool,
    lost: bool,
    stopping: bool,
    finished: bool,
}

fn start(
    device: Option<&str>,
    first_chunk_index: u64,
    first_sample: u64,
) -> Result<(Capture, Receiver<CaptureEvent>), RuntimeError> {
    let (sink, events) = CaptureSink::channel(CAPTURE_QUEUE);
    let capture = Capture::start_with(
        CaptureConfig {
            device: device.map(str::to_string),
            first_chunk_index,
            first_sample,
            ..CaptureConfig::default()
        },
        sink,
    )?;
    Ok((capture, events))
}

fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

impl Microphone {
    /// Starts capturing from `device` (the default input when `None`).
    pub fn open(device: Option<&str>) -> Result<Self, RuntimeError> {
        let (capture, events) = start(device, 0, 0)?;
        Ok(Self {
            device: capture.device_id().to_string(),
            capture: Some(capture),
            events,
            pending: VecDeque::new(),
            samples: 0,
            next_chunk: 0,
            paused: false,
            lost: false,
            stopping: false,
            finished: false,
        })
    }

    /// Waits until the device delivers its first audio; an input that
    /// stays silent (a device that opened but never runs) is an error the
    /// person can act on before a session is made.
    pub fn wait_for_audio(&self, within: Duration) -> Result<(), RuntimeError> {
        let started = Instant::now();
        while let Some(c) = &self.capture {
            if c.callback_frames() > 0 {
                return Ok(());
            }
            if started.elapsed() > within {
                return Err(RuntimeError::NoAudio {
                    device: self.device.clone(),
                    seconds: within.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// The device being recorded (the one a resume started, after one).
    pub fn device_id(&self) -> &str {
        &self.device
    }

    /// The device's native rate (Hz) and channels, while it runs.
    pub fn native_format(&self) -> Option<(u32, u16)> {
        self.capture.as_ref().map(Capture::native_format)
    }

    /// The level of the latest input, while a device runs.
    pub fn level(&self) -> Option<Level> {
        self.capture.as_ref().map(Capture::level)
    }

    /// Audio recorded so far, in milliseconds.
    pub fn elapsed_ms(&self) -> u64 {
        self.samples / 16
    }

    /// Paused by a pause or a lost device (as the events have said).
    pub fn is_paused(&self) -> bool {
        self.paused || self.lost
    }

    /// The device went away and no other has been started.
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// A stop was asked for.
    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Asks the capture to pause; [`Heard::Paused`] follows once every
    /// chunk before it was delivered. False when there is nothing to pause
    /// (paused already, asked already, or no device).
    pub fn pause(&self) -> bool {
        match &self.capture {
            Some(c) if !self.paused && !c.is_paused() => {
                c.pause();
                true
            }
            _ => false,
        }
    }

    /// Resumes a paused recording: on the same device, in order with its
    /// audio; on `device` when it names another one, or after the device
    /// was lost, by starting a new capture that continues the session's
    /// counters. [`Heard::Resumed`] follows. Nothing happens when the
    /// recording is not paused.
    pub fn resume(&mut self, device: Option<&str>) -> Result<(), RuntimeError> {
        let asked = self.capture.as_ref().is_some_and(Capture::is_paused);
        if !(self.paused || self.lost || asked) {
            return Ok(());
        }
        let same = self.capture.is_some() && device.is_none_or(|d| d == self.device);
        if same {
            if let Some(c) = &self.capture {
                c.resume();
            }
            return Ok(());
        }
        if let Some(old) = self.capture.take() {
            // Paused: everything before the pause was delivered already,
            // or is in the queue now; the recorder counts what arrives
            // after its pause as discarded.
            old.stop();
            while let Ok(ev) = self.events.try_recv() {
                if let CaptureEvent::Chunk { samples, .. } = ev {
                    self.pending.push_back(Heard::Audio(samples.into()));
                }
            }
        }
        let (capture, events) = start(device, self.next_chunk, self.samples)?;
        self.device = capture.device_id().to_string();
        self.capture = Some(capture);
        self.events = events;
        self.paused = false;
        self.lost = false;
        self.pending.push_back(Heard::Resumed);
        Ok(())
    }

    /// Stops the capture without waiting on this thread: its last chunk
    /// and the end come through [`Microphone::next`], which the caller
    /// keeps draining (stopping here could wait on a full queue forever).
    pub fn stop(&mut self) {
        self.stopping = true;
        match self.capture.take() {
            Some(c) => {
                let stopper = std::thread::Builder::new()
                    .name("tacet-capture-stop".into())
                    .spawn(move || c.stop());
                if stopper.is_err() {
                    // No thread to spare: the capture was dropped with the
                    // closure, which stops it; nothing more will come.
                    self.finished = true;
                }
            }
            None => self.finished = true,
        }
    }

    /// The next thing the microphone says, waiting up to `wait` for it
    /// ([`Heard::Nothing`] when nothing came; a zero wait only looks).
    pub fn next(&mut self, wait: Duration) -> Heard {
        loop {
            if let Some(h) = self.pending.pop_front() {
                return h;
            }
            if self.finished {
                return Heard::Ended;
            }
            let ev = if wait.is_zero() {
                match self.events.try_recv() {
                    Ok(ev) => ev,
                    Err(TryRecvError::Empty) => return Heard::Nothing,
                    Err(TryRecvError::Disconnected) => return self.disconnected(wait),
                }
            } else {
                match self.events.recv_timeout(wait) {
                    Ok(ev) => ev,
                    Err(RecvTimeoutError::Timeout) => return Heard::Nothing,
                    Err(RecvTimeoutError::Disconnected) => return self.disconnected(wait),
                }
            };
            match ev {
                CaptureEvent::Chunk { samples, .. } => {
                    self.samples += samples.len() as u64;
                    self.next_chunk += 1;
                    let level_rms = Some(match &self.capture {
                        Some(c) => c.level().rms,
                        None => rms(&samples),
                    });
                    return Heard::Audio(LiveChunk {
                        samples_16k: samples,
                        level_rms,
                    });
                }
                CaptureEvent::Paused => {
                    self.paused = true;
                    return Heard::Paused;
                }
                CaptureEvent::Resumed => {
                    self.paused = false;
                    return Heard::Resumed;
                }
                CaptureEvent::Overrun { dropped_frames } => {
                    return Heard::Overrun { dropped_frames }
                }
                CaptureEvent::DeviceLost { message } => {
                    // Everything it had is delivered; it is gone.
                    self.capture = None;
                    if self.stopping {
                        self.finished = true;
                        return Heard::Ended;
                    }
                    self.lost = true;
                    let was_paused = std::mem::replace(&mut self.paused, true);
                    return Heard::DeviceLost {
                        message,
                        pause: !was_paused,
                    };
                }
                CaptureEvent::Stopped => {
                    if self.stopping {
                        self.finished = true;
                        return Heard::Ended;
                    }
                }
                CaptureEvent::Started { .. } => {}
            }
        }
    }

    /// The capture's queue closed: the end after a stop; otherwise the
    /// capture is gone without a word, and the caller may still resume on
    /// another device.
    fn disconnected(&mut self, wait: Duration) -> Heard {
        if self.stopping {
            self.finished = true;
            return Heard::Ended;
        }
        // Not stopping: wait as asked, so a polling caller does not spin.
        std::thread::sleep(wait);
        Heard::Nothing
    }
}

impl Drop for Microphone {
    fn drop(&mut self) {
        // A capture still running is stopped here (its consumer thread
        // ends once the queue is dropped with this value).
        if let Some(c) = self.capture.take() {
            let _ = std::thread::Builder::new()
                .name("tacet-capture-stop".into())
                .spawn(move || c.stop());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_recorder_is_given_for_each_thing_heard() {
        let audio = Heard::Audio(vec![0.5; 4].into()).into_input();
        assert!(matches!(audio, Some(LiveInput::Audio(c)) if c.samples_16k.len() == 4));
        assert!(matches!(Heard::Paused.into_input(), Some(LiveInput::Pause)));
        assert!(matches!(
            Heard::Resumed.into_input(),
            Some(LiveInput::Resume)
        ));
        let lost_running = Heard::DeviceLost {
            message: "gone".into(),
            pause: true,
        };
        assert!(matches!(lost_running.into_input(), Some(LiveInput::Pause)));
        let lost_paused = Heard::DeviceLost {
            message: "gone".into(),
            pause: false,
        };
        assert!(lost_paused.into_input().is_none());
        assert!(Heard::Overrun { dropped_frames: 3 }.into_input().is_none());
        assert!(Heard::Nothing.into_input().is_none());
        assert!(Heard::Ended.into_input().is_none());
    }

    #[test]
    fn the_level_of_a_chunk_heard_after_its_device_went() {
        assert_eq!(rms(&[]), 0.0);
        assert!((rms(&[0.5, -0.5]) - 0.5).abs() < 1e-6);
    }
}
