//! Live capture from a microphone with cpal (default ALSA backend on Linux).
//!
//! Design decisions:
//! - **The audio callback does almost nothing.** It converts the device's
//!   samples to f32 and copies them into a preallocated lock-free
//!   single-producer/single-consumer ring (`rtrb`), sized for four seconds of
//!   the device's native format. No allocation, no lock, no syscall. When the
//!   ring is full (the consumer stalled) samples are dropped and counted, and
//!   the loss is reported as a [`CaptureEvent::Overrun`]; it never blocks the
//!   audio thread.
//! - **Conversion happens outside the callback**, on a consumer thread: the
//!   interleaved native frames are averaged to mono, resampled to 16 kHz by a
//!   streaming `rubato::FftFixedIn` (band-limited; the resampler's delay is
//!   removed, so sample 0 of the output is sample 0 of the input), the level
//!   meter is updated, and chunks of half a second (at most one second) are
//!   handed to the
//!   [`CaptureSink`]. The sink runs on that thread; the vault can seal there.
//! - **One owner thread holds the cpal stream** (cpal streams are not `Send`
//!   on every platform), so a [`Capture`] can be moved between threads freely
//!   and driven from a UI.
//! - **A lost device keeps the recording.** cpal's error callback only raises
//!   a flag; the consumer drains what the ring still holds, delivers it as a
//!   final partial chunk, then emits [`CaptureEvent::DeviceLost`]. The caller
//!   can start a new [`Capture`] with [`CaptureConfig::first_chunk_index`]
//!   and [`CaptureConfig::first_sample`] to continue the same session.
//! - **Pause drops audio at the callback** (nothing is buffered while paused)
//!   and the session clock only counts captured samples, so chunk timestamps
//!   are positions in the recorded audio, not wall-clock time.
//! - **A pause is a boundary in the event stream.** When the consumer sees a
//!   pause it waits (at most 100 ms) for the callback to acknowledge it,
//!   delivers everything captured before it (the resampler is flushed and
//!   the partial chunk sent), then emits [`CaptureEvent::Paused`]; resuming
//!   emits [`CaptureEvent::Resumed`] before any later audio, with a fresh
//!   resampler. So a consumer that stops sealing at `Paused` loses nothing
//!   recorded before the pause and keeps nothing recorded during it.

use crate::{AudioError, TARGET_SAMPLE_RATE_HZ};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use rubato::{FftFixedIn, Resampler};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Chunk length of a live recording: half a second, so that a crash loses
/// at most the half second not yet sealed (plus the time sealing takes),
/// within the one second the durability promise allows.
pub const LIVE_CHUNK_MS: u32 = 500;

/// Longest chunk ever delivered: one second at 16 kHz.
pub const MAX_CHUNK_SAMPLES: usize = TARGET_SAMPLE_RATE_HZ as usize;

/// Seconds of native audio the callback ring can hold before it drops.
const RING_SECONDS: usize = 4;

/// How often the consumer thread drains the ring.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Input frames per resampler call (≈ 21 ms at 48 kHz).
const RESAMPLER_CHUNK_FRAMES: usize = 1024;

/// How long starting a stream may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// An input device as the UI lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable id ("alsa:default") to pass to [`Capture::start`] and to
    /// remember as the user's choice.
    pub id: String,
    /// Human description to show.
    pub name: String,
    pub is_default: bool,
    /// The device's native format (what the callback receives).
    pub sample_rate_hz: u32,
    pub channels: u16,
}

/// Input devices that report a usable default input format. Devices that
/// fail to answer are left out (ALSA lists many that cannot be opened).
pub fn list_input_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    let host = cpal::default_host();
    let default_id = host
        .default_input_device()
        .and_then(|d| d.id().ok())
        .map(|id| id.to_string());
    let devices = host.input_devices().map_err(|e| AudioError::Capture {
        problem: format!("could not list input devices: {e}"),
    })?;
    let mut out = Vec::new();
    for device in devices {
        let Ok(config) = device.default_input_config() else {
            continue;
        };
        let Ok(id) = device.id().map(|id| id.to_string()) else {
            continue;
        };
        if is_null_device(&id) {
            continue;
        }
        out.push(DeviceInfo {
            is_default: default_id.as_deref() == Some(id.as_str()),
            id,
            name: device.to_string(),
            sample_rate_hz: config.sample_rate(),
            channels: config.channels(),
        });
    }
    Ok(out)
}

/// ALSA's `null` PCM (and its aliases) "records" endless zeros faster than
/// real time: offering it as a microphone only lets a clinician record
/// silence by mistake, so the list leaves it out.
fn is_null_device(id: &str) -> bool {
    let name = id.rsplit(':').next().unwrap_or(id);
    name.eq_ignore_ascii_case("null") || id.eq_ignore_ascii_case("alsa:null")
}

/// What the consumer thread reports, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum CaptureEvent {
    /// The device's native format, once, before any chunk.
    Started {
        device: String,
        sample_rate_hz: u32,
        channels: u16,
    },
    /// Up to one second of 16 kHz mono f32 audio. `index` counts chunks from
    /// [`CaptureConfig::first_chunk_index`]; `start_sample` is the position
    /// of the first sample in the session (16 kHz samples).
    Chunk {
        index: u64,
        start_sample: u64,
        samples: Vec<f32>,
    },
    /// The ring was full and this many native frames were dropped.
    Overrun { dropped_frames: u64 },
    /// [`Capture::pause`] took effect: every chunk captured before it has
    /// been delivered; none follows until [`CaptureEvent::Resumed`].
    Paused,
    /// [`Capture::resume`] took effect; later chunks are new audio.
    Resumed,
    /// The device failed or disappeared. Everything captured before it was
    /// delivered as chunks; no more will come. Start a new capture to resume.
    DeviceLost { message: String },
    /// The capture was stopped; the last chunk has been delivered.
    Stopped,
}

/// Where events go. Runs on the capture's consumer thread, never in the
/// audio callback, so it may allocate, encrypt and write.
pub struct CaptureSink(Box<dyn FnMut(CaptureEvent) + Send>);

impl CaptureSink {
    pub fn new(f: impl FnMut(CaptureEvent) + Send + 'static) -> Self {
        Self(Box::new(f))
    }

    /// A sink that forwards events into a bounded channel. When the receiver
    /// falls `bound` events behind, the consumer thread waits for it (the
    /// callback ring keeps absorbing audio meanwhile).
    pub fn channel(bound: usize) -> (Self, Receiver<CaptureEvent>) {
        let (tx, rx) = sync_channel(bound.max(1));
        (
            Self::new(move |event| {
                let _ = tx.send(event);
            }),
            rx,
        )
    }
}

impl std::fmt::Debug for CaptureSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaptureSink")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureConfig {
    /// Device id from [`list_input_devices`]; `None` for the default input.
    pub device: Option<String>,
    /// Chunk length in milliseconds, 10 to 1000 ([`LIVE_CHUNK_MS`] by
    /// default).
    pub chunk_ms: u32,
    /// Index of the first chunk (to continue a session after a device loss).
    pub first_chunk_index: u64,
    /// Session position of the first sample, in 16 kHz samples.
    pub first_sample: u64,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            device: None,
            chunk_ms: LIVE_CHUNK_MS,
            first_chunk_index: 0,
            first_sample: 0,
        }
    }
}

/// Level of the most recent ~20 ms of input, for a meter.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Level {
    pub rms: f32,
    pub peak: f32,
}

#[derive(Default)]
struct Shared {
    paused: AtomicBool,
    device_error: AtomicBool,
    stop: AtomicBool,
    dropped_frames: AtomicU64,
    /// f32 bits.
    level_rms: AtomicU32,
    level_peak: AtomicU32,
    /// Native frames seen by the callback (paused or not): proves it runs.
    callback_frames: AtomicU64,
    /// Bumped by every pause and every resume: odd while paused.
    pause_epoch: AtomicU64,
    /// The `pause_epoch` a paused callback last saw (it has stopped writing).
    paused_ack_epoch: AtomicU64,
}

/// A running capture. Dropping it stops the capture and waits for the last
/// chunk to be delivered.
pub struct Capture {
    shared: Arc<Shared>,
    control: Option<SyncSender<()>>,
    owner: Option<JoinHandle<()>>,
    device: String,
    sample_rate_hz: u32,
    channels: u16,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("device", &self.device)
            .field("sample_rate_hz", &self.sample_rate_hz)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

struct Opened {
    device: String,
    sample_rate_hz: u32,
    channels: u16,
}

impl Capture {
    /// Starts capturing from `device` (by id; `None` for the default
    /// input) with chunks of [`LIVE_CHUNK_MS`].
    pub fn start(device: Option<&str>, sink: CaptureSink) -> Result<Capture, AudioError> {
        Self::start_with(
            CaptureConfig {
                device: device.map(str::to_string),
                ..CaptureConfig::default()
            },
            sink,
        )
    }

    pub fn start_with(config: CaptureConfig, sink: CaptureSink) -> Result<Capture, AudioError> {
        if !(10..=1000).contains(&config.chunk_ms) {
            return Err(AudioError::Capture {
                problem: format!("chunk length {} ms is outside 10 to 1000", config.chunk_ms),
            });
        }
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = sync_channel::<Result<Opened, AudioError>>(1);
        let (control_tx, control_rx) = sync_channel::<()>(1);
        let owner_shared = Arc::clone(&shared);
        let owner = std::thread::Builder::new()
            .name("tacet-capture".into())
            .spawn(move || owner_thread(config, sink, owner_shared, ready_tx, control_rx))
            .map_err(|e| AudioError::Capture {
                problem: format!("could not start the capture thread: {e}"),
            })?;
        let opened = match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                let _ = owner.join();
                return Err(e);
            }
            Err(_) => {
                shared.stop.store(true, Ordering::SeqCst);
                return Err(AudioError::Capture {
                    problem: "the audio device did not start within 10 s".into(),
                });
            }
        };
        Ok(Capture {
            shared,
            control: Some(control_tx),
            owner: Some(owner),
            device: opened.device,
            sample_rate_hz: opened.sample_rate_hz,
            channels: opened.channels,
        })
    }

    /// The id of the device recording.
    pub fn device_id(&self) -> &str {
        &self.device
    }

    /// The device's native rate and channel count.
    pub fn native_format(&self) -> (u32, u16) {
        (self.sample_rate_hz, self.channels)
    }

    /// Audio arriving while paused is discarded in the callback; the sink
    /// gets [`CaptureEvent::Paused`] once all audio before it is delivered.
    pub fn pause(&self) {
        if !self.shared.paused.swap(true, Ordering::SeqCst) {
            self.shared.pause_epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Resumes; the sink gets [`CaptureEvent::Resumed`] before new audio.
    pub fn resume(&self) {
        if self.shared.paused.swap(false, Ordering::SeqCst) {
            self.shared.pause_epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    /// True once the device reported an error (see [`CaptureEvent::DeviceLost`]).
    pub fn device_lost(&self) -> bool {
        self.shared.device_error.load(Ordering::SeqCst)
    }

    pub fn level(&self) -> Level {
        Level {
            rms: f32::from_bits(self.shared.level_rms.load(Ordering::Relaxed)),
            peak: f32::from_bits(self.shared.level_peak.load(Ordering::Relaxed)),
        }
    }

    /// Native frames the audio callback has been handed so far (also while
    /// paused). Zero means the device has not started delivering yet.
    pub fn callback_frames(&self) -> u64 {
        self.shared.callback_frames.load(Ordering::Relaxed)
    }

    /// Stops the stream, delivers the last partial chunk and
    /// [`CaptureEvent::Stopped`], and returns when the sink has had them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(tx) = self.control.take() {
            let _ = tx.try_send(());
        }
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn capture_error(what: &str, e: impl std::fmt::Display) -> AudioError {
    AudioError::Capture {
        problem: format!("{what}: {e}"),
    }
}

fn find_device(name: Option<&str>) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    match name {
        None => host.default_input_device().ok_or(AudioError::Capture {
            problem: "there is no default input device; connect a microphone or choose one".into(),
        }),
        Some(wanted) => host
            .input_devices()
            .map_err(|e| capture_error("could not list input devices", e))?
            .find(|d| d.id().is_ok_and(|id| id.to_string() == wanted))
            .ok_or_else(|| AudioError::Capture {
                problem: format!("input device {wanted:?} is not connected"),
            }),
    }
}

fn build_stream<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut producer: rtrb::Producer<f32>,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, AudioError>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = u64::from(config.channels.max(1));
    let data_shared = Arc::clone(shared);
    let error_shared = Arc::clone(shared);
    device
        .build_input_stream::<T, _, _>(
            *config,
            move |data: &[T], _info: &cpal::InputCallbackInfo| {
                // Real-time thread: atomics and a copy into the ring only.
                data_shared
                    .callback_frames
                    .fetch_add(data.len() as u64 / channels, Ordering::Relaxed);
                if data_shared.paused.load(Ordering::SeqCst) {
                    let epoch = data_shared.pause_epoch.load(Ordering::SeqCst);
                    data_shared.paused_ack_epoch.store(epoch, Ordering::SeqCst);
                    return;
                }
                // Whole frames only, so channels never shift.
                let free = producer.slots() / channels as usize * channels as usize;
                let n = data.len().min(free);
                if let Ok(chunk) = producer.write_chunk_uninit(n) {
                    chunk.fill_from_iter(data[..n].iter().map(|s| s.to_sample::<f32>()));
                }
                if n < data.len() {
                    data_shared
                        .dropped_frames
                        .fetch_add((data.len() - n) as u64 / channels, Ordering::Relaxed);
                }
            },
            move |_err: cpal::Error| {
                error_shared.device_error.store(true, Ordering::SeqCst);
            },
            None,
        )
        .map_err(|e| capture_error("could not open the input stream", e))
}

fn owner_thread(
    config: CaptureConfig,
    sink: CaptureSink,
    shared: Arc<Shared>,
    ready: SyncSender<Result<Opened, AudioError>>,
    control: Receiver<()>,
) {
    let opened = (|| {
        let device = find_device(config.device.as_deref())?;
        let supported = device
            .default_input_config()
            .map_err(|e| capture_error("the input device has no usable format", e))?;
        let stream_config = supported.config();
        let rate = stream_config.sample_rate;
        let channels = stream_config.channels;
        if !(crate::MIN_SAMPLE_RATE_HZ..=crate::MAX_SAMPLE_RATE_HZ).contains(&rate) || channels == 0
        {
            return Err(AudioError::Capture {
                problem: format!("the input device offers {rate} Hz with {channels} channels"),
            });
        }
        let capacity = rate as usize * usize::from(channels) * RING_SECONDS;
        let (producer, consumer) = rtrb::RingBuffer::<f32>::new(capacity);
        let stream = match supported.sample_format() {
            SampleFormat::F32 => build_stream::<f32>(&device, &stream_config, producer, &shared),
            SampleFormat::I16 => build_stream::<i16>(&device, &stream_config, producer, &shared),
            SampleFormat::I32 => build_stream::<i32>(&device, &stream_config, producer, &shared),
            SampleFormat::U8 => build_stream::<u8>(&device, &stream_config, producer, &shared),
            SampleFormat::U16 => build_stream::<u16>(&device, &stream_config, producer, &shared),
            SampleFormat::F64 => build_stream::<f64>(&device, &stream_config, producer, &shared),
            SampleFormat::I8 => build_stream::<i8>(&device, &stream_config, producer, &shared),
            other => Err(AudioError::Capture {
                problem: format!("the input device's sample format {other} is not supported"),
            }),
        }?;
        stream
            .play()
            .map_err(|e| capture_error("could not start the input stream", e))?;
        let resampler = StreamResampler::new(rate)?;
        let id = device
            .id()
            .map_or_else(|_| device.to_string(), |id| id.to_string());
        Ok((id, rate, channels, stream, consumer, resampler))
    })();
    let (name, rate, channels, stream, consumer, resampler) = match opened {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(Opened {
        device: name.clone(),
        sample_rate_hz: rate,
        channels,
    }));

    let consumer_shared = Arc::clone(&shared);
    let mut worker = Consumer {
        sink,
        shared: consumer_shared,
        ring: consumer,
        channels: usize::from(channels),
        resampler,
        pending: Vec::with_capacity(MAX_CHUNK_SAMPLES * 2),
        chunk_samples: (config.chunk_ms as usize * TARGET_SAMPLE_RATE_HZ as usize / 1000)
            .clamp(1, MAX_CHUNK_SAMPLES),
        next_index: config.first_chunk_index,
        next_sample: config.first_sample,
        reported_dropped: 0,
        scratch: Vec::new(),
        rate_hz: rate,
        seen_epoch: 0,
        held_rms: 0.0,
        held_peak: 0.0,
        metered_at: std::time::Instant::now(),
    };
    (worker.sink.0)(CaptureEvent::Started {
        device: name,
        sample_rate_hz: rate,
        channels,
    });
    loop {
        match control.recv_timeout(POLL_INTERVAL) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        worker.pauses();
        worker.drain();
        if shared.device_error.load(Ordering::SeqCst) {
            drop(stream);
            worker.drain();
            worker.finish();
            (worker.sink.0)(CaptureEvent::DeviceLost {
                message: "the input device stopped delivering audio (disconnected or failed); what was recorded is kept, start recording again to continue".into(),
            });
            return;
        }
    }
    let _ = stream.pause();
    drop(stream);
    worker.drain();
    worker.finish();
    (worker.sink.0)(CaptureEvent::Stopped);
}

struct Consumer {
    sink: CaptureSink,
    shared: Arc<Shared>,
    ring: rtrb::Consumer<f32>,
    channels: usize,
    resampler: StreamResampler,
    pending: Vec<f32>,
    chunk_samples: usize,
    next_index: u64,
    next_sample: u64,
    reported_dropped: u64,
    scratch: Vec<f32>,
    rate_hz: u32,
    /// The pause epoch the events delivered so far reflect.
    seen_epoch: u64,
    /// Meter ballistics: the held levels and when they were last updated.
    held_rms: f32,
    held_peak: f32,
    metered_at: std::time::Instant,
}

/// How fast the meter's held level falls, in dB per second (a VU-style
/// release: a word lights the meter and it sinks between words instead of
/// flickering to the floor).
const METER_RELEASE_DB_PER_S: f32 = 20.0;

/// Longest wait for the audio callback to acknowledge a pause.
const PAUSE_ACK_TIMEOUT: Duration = Duration::from_millis(100);

impl Consumer {
    /// Turns pauses and resumes since the last poll into events, in order,
    /// each pause after the audio captured before it.
    fn pauses(&mut self) {
        let epoch = self.shared.pause_epoch.load(Ordering::SeqCst);
        while self.seen_epoch < epoch {
            if self.seen_epoch.is_multiple_of(2) {
                if self.seen_epoch + 1 == epoch {
                    // Let a callback already writing finish first.
                    let t0 = std::time::Instant::now();
                    while self.shared.paused_ack_epoch.load(Ordering::SeqCst) != epoch
                        && self.shared.pause_epoch.load(Ordering::SeqCst) == epoch
                        && t0.elapsed() < PAUSE_ACK_TIMEOUT
                    {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                self.drain();
                self.finish();
                if let Ok(fresh) = StreamResampler::new(self.rate_hz) {
                    self.resampler = fresh;
                }
                self.held_rms = 0.0;
                self.held_peak = 0.0;
                self.shared
                    .level_rms
                    .store(0f32.to_bits(), Ordering::Relaxed);
                self.shared
                    .level_peak
                    .store(0f32.to_bits(), Ordering::Relaxed);
                (self.sink.0)(CaptureEvent::Paused);
            } else {
                (self.sink.0)(CaptureEvent::Resumed);
            }
            self.seen_epoch += 1;
        }
    }

    fn drain(&mut self) {
        let available = self.ring.slots() / self.channels * self.channels;
        if available > 0 {
            if let Ok(chunk) = self.ring.read_chunk(available) {
                let (a, b) = chunk.as_slices();
                self.scratch.clear();
                self.scratch.extend_from_slice(a);
                self.scratch.extend_from_slice(b);
                chunk.commit_all();
            }
            let scale = 1.0 / self.channels as f32;
            let mono: Vec<f32> = self
                .scratch
                .chunks_exact(self.channels)
                .map(|f| {
                    let s = f.iter().sum::<f32>() * scale;
                    if s.is_finite() {
                        s
                    } else {
                        0.0
                    }
                })
                .collect();
            self.meter(&mono);
            let out = self.resampler.push(&mono);
            self.pending.extend_from_slice(&out);
            self.deliver(false);
        }
        let dropped = self.shared.dropped_frames.load(Ordering::Relaxed);
        if dropped > self.reported_dropped {
            (self.sink.0)(CaptureEvent::Overrun {
                dropped_frames: dropped - self.reported_dropped,
            });
            self.reported_dropped = dropped;
        }
    }

    /// The level of everything that arrived since the last poll, held and
    /// released at [`METER_RELEASE_DB_PER_S`], so the meter a person sees
    /// (read at any moment) shows speech, not whichever 20 ms gap it hit.
    fn meter(&mut self, mono: &[f32]) {
        if mono.is_empty() {
            return;
        }
        let sum: f64 = mono.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        let rms = (sum / mono.len() as f64).sqrt() as f32;
        let peak = mono.iter().fold(0f32, |m, s| m.max(s.abs()));
        let now = std::time::Instant::now();
        let dt_s = now.duration_since(self.metered_at).as_secs_f32();
        self.metered_at = now;
        let fall = 10f32.powf(-METER_RELEASE_DB_PER_S * dt_s / 20.0);
        self.held_rms = rms.max(self.held_rms * fall);
        self.held_peak = peak.max(self.held_peak * fall);
        self.shared
            .level_rms
            .store(self.held_rms.to_bits(), Ordering::Relaxed);
        self.shared
            .level_peak
            .store(self.held_peak.to_bits(), Ordering::Relaxed);
    }

    fn deliver(&mut self, all: bool) {
        while self.pending.len() >= self.chunk_samples || (all && !self.pending.is_empty()) {
            let n = self.pending.len().min(self.chunk_samples);
            let samples: Vec<f32> = self.pending.drain(..n).collect();
            let event = CaptureEvent::Chunk {
                index: self.next_index,
                start_sample: self.next_sample,
                samples,
            };
            self.next_index += 1;
            self.next_sample += n as u64;
            (self.sink.0)(event);
        }
    }

    fn finish(&mut self) {
        let tail = self.resampler.flush();
        self.pending.extend_from_slice(&tail);
        self.deliver(true);
    }
}

/// Streaming mono resampler to 16 kHz whose output starts at the same
/// instant as its input and ends, after [`StreamResampler::flush`], exactly
/// `ceil(frames_in × 16000 / rate)` samples later.
pub struct StreamResampler {
    inner: Option<FftFixedIn<f32>>,
    rate_in_hz: u32,
    input: Vec<f32>,
    frames_in: u64,
    frames_out: u64,
    delay_left: usize,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("rate_in_hz", &self.rate_in_hz)
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    pub fn new(rate_in_hz: u32) -> Result<Self, AudioError> {
        let inner = if rate_in_hz == TARGET_SAMPLE_RATE_HZ {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(
                    rate_in_hz as usize,
                    TARGET_SAMPLE_RATE_HZ as usize,
                    RESAMPLER_CHUNK_FRAMES,
                    2,
                    1,
                )
                .map_err(|e| AudioError::Resample {
                    detail: e.to_string(),
                })?,
            )
        };
        let delay_left = inner.as_ref().map_or(0, |r| r.output_delay());
        Ok(Self {
            inner,
            rate_in_hz,
            input: Vec::new(),
            frames_in: 0,
            frames_out: 0,
            delay_left,
        })
    }

    fn emit(&mut self, mut block: Vec<f32>, out: &mut Vec<f32>) {
        let skip = self.delay_left.min(block.len());
        self.delay_left -= skip;
        block.drain(..skip);
        self.frames_out += block.len() as u64;
        out.extend_from_slice(&block);
    }

    /// Feeds mono frames at the input rate; returns the 16 kHz samples ready.
    pub fn push(&mut self, mono: &[f32]) -> Vec<f32> {
        self.frames_in += mono.len() as u64;
        let Some(r) = self.inner.as_mut() else {
            self.frames_out += mono.len() as u64;
            return mono.to_vec();
        };
        self.input.extend_from_slice(mono);
        let mut out = Vec::new();
        let mut pos = 0;
        let mut blocks = Vec::new();
        loop {
            let need = r.input_frames_next();
            if self.input.len() - pos < need {
                break;
            }
            match r.process(&[&self.input[pos..pos + need]], None) {
                Ok(mut b) => blocks.push(b.pop().unwrap_or_default()),
                Err(_) => break,
            }
            pos += need;
        }
        self.input.drain(..pos);
        for b in blocks {
            self.emit(b, &mut out);
        }
        out
    }

    /// Processes what is left and returns the remaining output.
    pub fn flush(&mut self) -> Vec<f32> {
        let wanted = (self.frames_in * u64::from(TARGET_SAMPLE_RATE_HZ))
            .div_ceil(u64::from(self.rate_in_hz));
        let mut out = Vec::new();
        if self.inner.is_none() {
            return out;
        }
        let rest = std::mem::take(&mut self.input);
        let mut first = Some(rest);
        let mut guard = 0;
        while self.frames_out < wanted && guard < 16 {
            guard += 1;
            let Some(r) = self.inner.as_mut() else { break };
            let block = match first.take() {
                Some(rest) => r.process_partial(Some(&[rest.as_slice()]), None),
                None => r.process_partial::<&[f32]>(None, None),
            };
            match block {
                Ok(mut b) => {
                    let b = b.pop().unwrap_or_default();
                    self.emit(b, &mut out);
                }
                Err(_) => break,
            }
        }
        let excess = self.frames_out.saturating_sub(wanted) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.frames_out -= excess as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alsa_null_device_is_not_offered_as_a_microphone() {
        assert!(is_null_device("alsa:null"));
        assert!(is_null_device("null"));
        assert!(!is_null_device("alsa:pulse"));
        assert!(!is_null_device("alsa:default"));
    }

    #[test]
    fn streaming_resampler_matches_batch_length_and_signal() {
        let rate = 48_000u32;
        let frames = 48_000 * 2 + 333;
        let input: Vec<f32> = (0..frames)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5)
            .collect();
        let mut r = StreamResampler::new(rate).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(777) {
            out.extend(r.push(piece));
        }
        out.extend(r.flush());
        let batch = crate::to_mono_16k(&crate::PcmAudio {
            sample_rate_hz: rate,
            channels: 1,
            samples: input,
        })
        .unwrap();
        assert_eq!(out.len(), batch.len());
        // Same instant: away from the edges the two agree closely.
        let max_diff = out[200..out.len() - 200]
            .iter()
            .zip(&batch[200..batch.len() - 200])
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(max_diff < 0.01, "max diff {max_diff}");
    }

    #[test]
    fn sixteen_khz_passes_through() {
        let mut r = StreamResampler::new(16_000).unwrap();
        assert_eq!(r.push(&[0.1, 0.2]), vec![0.1, 0.2]);
        assert!(r.flush().is_empty());
    }

    #[test]
    fn fail_chunk_length_out_of_range() {
        let (sink, _rx) = CaptureSink::channel(4);
        let err = Capture::start_with(
            CaptureConfig {
                chunk_ms: 5_000,
                ..CaptureConfig::default()
            },
            sink,
        )
        .unwrap_err();
        assert!(err.to_string().contains("5000"), "{err}");
    }
}
