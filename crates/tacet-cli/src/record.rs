//! `tacet session record | devices | recover`: live recording wired from
//! the microphone (tacet-audio's cpal [`Capture`]) through a bounded
//! channel to the application layer's [`Recorder`], which seals every chunk
//! into the vault as it arrives and feeds the streaming transcriber.
//!
//! Threads: the capture's own consumer thread converts audio and sends
//! chunks into a bounded channel (64 one-second chunks: a minute of slack
//! if a transcription pass runs long; the capture's ring absorbs more
//! before anything is dropped, and a drop is reported). This thread
//! receives, seals and transcribes. A small controller thread owns the
//! [`Capture`] and stops it on the first of: `--seconds` elapsed, Enter,
//! Ctrl-C (SIGINT only raises a flag; the recording then finishes cleanly
//! with its final chunk and transcript).

use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tacet_app::recording::{self, LiveChunk, LiveProgress, Recorder};
use tacet_asr::{StreamingConfig, StreamingTranscriber};
use tacet_audio::{Capture, CaptureConfig, CaptureEvent, CaptureSink};
use tacet_core::ports::{RecoveryStore, SessionStore};
use tacet_core::{PatientRef, SessionId};

/// Chunks (of up to one second) queued between capture and the vault.
const CHANNEL_CHUNKS: usize = 64;

/// Set by the SIGINT handler; polled by the controller thread.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn install_sigint() {
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

pub fn devices() -> Result<ExitCode> {
    let list = tacet_audio::list_input_devices()?;
    if list.is_empty() {
        println!("No input devices.");
    }
    for d in list {
        println!(
            "{}{}  {} Hz, {} channel(s)  {}",
            d.id,
            if d.is_default { " (default)" } else { "" },
            d.sample_rate_hz,
            d.channels,
            d.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn mm_ss(ms: u64) -> String {
    let secs = ms / 1000;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

fn rms(samples: &[f32]) -> f32 {
    let sum: f64 = samples.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    (sum / samples.len().max(1) as f64).sqrt() as f32
}

/// Where committed and tentative text go: committed lines always; the
/// tentative line only on a terminal, overwritten in place.
struct Printer {
    tty: bool,
    tentative_shown: bool,
}

impl Printer {
    fn show(&mut self, p: &LiveProgress) {
        let mut out = std::io::stdout().lock();
        if self.tty && self.tentative_shown {
            let _ = write!(out, "\r\x1b[2K");
            self.tentative_shown = false;
        }
        for s in &p.committed {
            let _ = writeln!(out, "[{}] {}", mm_ss(s.start_ms), s.text.trim());
        }
        if self.tty {
            let text: Vec<&str> = p.tentative.iter().map(|s| s.text.trim()).collect();
            let meter = "#".repeat(((p.level_rms.unwrap_or(0.0) * 60.0) as usize).min(10));
            let _ = write!(
                out,
                "… [{}] {:<10} {}",
                mm_ss(p.recorded_ms),
                meter,
                text.join(" ")
            );
            self.tentative_shown = true;
        }
        let _ = out.flush();
    }

    fn clear(&mut self) {
        if self.tty && self.tentative_shown {
            print!("\r\x1b[2K");
            let _ = std::io::stdout().flush();
            self.tentative_shown = false;
        }
    }
}

pub fn record(
    data_dir: &Path,
    store: &mut tacet_vault::Unlocked<'_>,
    template: &str,
    patient: &str,
    device: Option<&str>,
    seconds: Option<f64>,
) -> Result<ExitCode> {
    let lib = crate::run::templates(data_dir)?;
    if lib.get(template).is_none() {
        anyhow::bail!("unknown template {template:?}");
    }
    for s in recording::interrupted_sessions(store)? {
        eprintln!(
            "note: session {} was interrupted while recording; finish it with `tacet session recover {}`",
            s.id.short(),
            s.id
        );
    }
    let models = crate::compose::model_store(data_dir)?;
    let asr = crate::compose::transcriber(&models)?;
    let mut live = StreamingTranscriber::new(asr, StreamingConfig::default())
        .context("starting the streaming transcriber")?;

    let (sink, rx) = CaptureSink::channel(CHANNEL_CHUNKS);
    let capture = Capture::start_with(
        CaptureConfig {
            device: device.map(str::to_string),
            ..CaptureConfig::default()
        },
        sink,
    )
    .context("starting the microphone (see `tacet session devices`)")?;
    let started = Instant::now();
    while capture.callback_frames() == 0 {
        if started.elapsed() > Duration::from_secs(10) {
            anyhow::bail!(
                "the input device {} delivered no audio within 10 s",
                capture.device_id()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    let rec = Recorder::new_session(store, &mut live, &lib, template, &PatientRef::new(patient))?;
    let session: SessionId = rec.session();
    let (rate_hz, channels) = capture.native_format();
    eprintln!(
        "Recording session {session} from {} ({rate_hz} Hz, {channels} ch); {}",
        capture.device_id(),
        match seconds {
            Some(s) => format!("stopping after {s} s."),
            None => "press Enter or Ctrl-C to stop.".to_string(),
        }
    );

    INTERRUPTED.store(false, Ordering::SeqCst);
    install_sigint();
    let done = Arc::new(AtomicBool::new(false));
    if seconds.is_none() {
        // A line on stdin stops the recording; end of input does not.
        std::thread::spawn(|| {
            let mut line = String::new();
            if let Ok(n) = std::io::stdin().read_line(&mut line) {
                if n > 0 {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                }
            }
        });
    }
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let controller = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            loop {
                let due = deadline.is_some_and(|d| Instant::now() >= d);
                if due || INTERRUPTED.load(Ordering::SeqCst) || done.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Delivers the last partial chunk and `Stopped`, then returns.
            capture.stop();
        })
    };

    let chunks = rx
        .iter()
        .map_while(|event| match event {
            CaptureEvent::Chunk { samples, .. } => Some(Some(LiveChunk {
                level_rms: Some(rms(&samples)),
                samples_16k: samples,
            })),
            CaptureEvent::Overrun { dropped_frames } => {
                eprintln!("\nwarning: the recorder fell behind; {dropped_frames} input frames were dropped");
                Some(None)
            }
            CaptureEvent::DeviceLost { message } => {
                eprintln!("\nThe input device was lost ({message}); the recording so far is kept.");
                None
            }
            CaptureEvent::Stopped => None,
            CaptureEvent::Started { .. } => Some(None),
        })
        .flatten();
    let mut printer = Printer {
        tty: std::io::stdout().is_terminal(),
        tentative_shown: false,
    };
    let result = recording::record_live(rec, chunks, &mut |p| printer.show(p));
    printer.clear();
    done.store(true, Ordering::SeqCst);
    let _ = controller.join();
    let summary = result.with_context(|| {
        format!("recording session {session} (its audio is sealed; `tacet session recover {session}` finishes it)")
    })?;
    eprintln!(
        "Stopped: {} of audio sealed in {} chunk(s); final transcript {} ms after stop.",
        mm_ss(summary.recorded_ms),
        summary.chunks_sealed,
        summary.stop_to_transcript.as_millis()
    );
    println!("Session {session} ({template})");
    println!("\nNext: tacet draft {session}");
    Ok(ExitCode::SUCCESS)
}

pub fn recover(
    data_dir: &Path,
    store: &mut tacet_vault::Unlocked<'_>,
    id: SessionId,
) -> Result<ExitCode> {
    let summary = store.session(id)?;
    if !matches!(
        summary.state,
        tacet_core::SessionState::Recording | tacet_core::SessionState::Interrupted
    ) {
        anyhow::bail!(
            "session {} is {}, not an interrupted recording: nothing to recover",
            id.short(),
            summary.state
        );
    }
    let models = crate::compose::model_store(data_dir)?;
    let mut asr = crate::compose::transcriber(&models)?;
    let store: &mut dyn RecoveryStore = store;
    let r = recording::recover(store, id, &mut asr)?;
    eprintln!(
        "Recovered {} sealed chunk(s), {} of audio; {} chunk(s) missing inside the recording; {}.",
        r.chunks_recovered,
        mm_ss(r.recovered_ms),
        r.chunks_missing,
        if r.had_final_chunk {
            "it had been stopped"
        } else {
            "the unsealed tail at the crash is lost"
        }
    );
    println!("Session {id} recovered");
    print!("{}", r.transcript.to_text());
    Ok(ExitCode::SUCCESS)
}
