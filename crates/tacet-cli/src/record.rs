//! `tacet session record | devices | recover`: live recording wired from
//! the microphone (the runtime's [`Microphone`], over tacet-audio's cpal
//! capture, the same one the desktop uses) to the application layer's
//! [`Recorder`], which seals every chunk into the vault as it arrives and
//! feeds the streaming transcriber.
//!
//! Threads: the capture's own consumer thread converts audio and queues
//! chunks (a minute of slack if a transcription pass runs long; the
//! capture's ring absorbs more before anything is dropped, and a drop is
//! reported). This thread takes them, seals and transcribes, and between
//! chunks looks at what was asked: `--seconds` elapsed, a stop line on
//! stdin or Ctrl-C (SIGINT only raises a flag) stop the microphone, whose
//! last chunk and end then come through, so the recording finishes
//! cleanly with its final chunk and transcript.
//!
//! Pause and resume come as lines on stdin (a terminal or a pipe): `p`
//! pauses, `r` resumes, `s` or an empty line stops; end of input changes
//! nothing. A reader thread only sets atomics; the loop applies them to
//! the microphone, whose pause and resume reach the recorder in order
//! with the audio, so a pause seals nothing and is audited where it falls
//! (see `tacet_app::recording`). A lost device ends the recording here;
//! what it recorded is kept.
//!
//! A recording ends as the desktop's does (`recording::finish_live`): if
//! the live transcriber failed, the sealed audio is transcribed in one pass
//! at once and the command goes on (to the draft, with `--draft`); only a
//! vault that could not seal leaves the session for `session recover`.
//!
//! The input device: `--device ID` is used and remembered in the data
//! directory's `input-device` file (a per-installation, non-patient
//! preference: see `tacet_runtime::input` for why it is not a vault
//! setting); without `--device` the remembered one is used if it is
//! connected, else the default input, and the user is told so.
//!
//! `--draft` drafts the note when the recording stops, in the same
//! process: a reader thread loads the drafting model on the first
//! transcript snapshot and reads the committed transcript into it every
//! `tacet_app::read_ahead::READ_AHEAD_EVERY` (the desktop's worker runs
//! the same code), so at stop the draft starts on a prompt already read.
//! Snapshots go over a one-slot channel that drops rather than waits:
//! sealing never waits on the drafter.

use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tacet_app::read_ahead::{read_ahead, Snapshots};
use tacet_app::recording::{self, LiveInput, LiveProgress, Recorder};
use tacet_core::ports::{RecoveryStore, SessionStore};
use tacet_core::{PatientRef, SessionId};
use tacet_runtime::live::{Heard, Microphone};

/// How long the loop waits for audio before it looks at the keys again.
const POLL: Duration = Duration::from_millis(20);

/// Set by the SIGINT handler; polled by the recording loop.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The pause state asked for on stdin; applied by the recording loop.
static PAUSE_WANTED: AtomicBool = AtomicBool::new(false);

/// What the terminal keys do, printed when recording starts.
const CONTROLS: &str =
    "Controls: type p + Enter to pause, r + Enter to resume, s + Enter (or just Enter) to stop; Ctrl-C also stops.";

/// One line typed while recording.
#[derive(Debug, PartialEq, Eq)]
enum Control {
    Pause,
    Resume,
    Stop,
    Unknown,
}

fn parse_control(line: &str) -> Control {
    match line.trim().to_ascii_lowercase().as_str() {
        "p" | "pause" => Control::Pause,
        "r" | "resume" => Control::Resume,
        "" | "s" | "stop" | "q" => Control::Stop,
        _ => Control::Unknown,
    }
}

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
    let list = tacet_runtime::live::input_devices()?;
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

/// Where committed and tentative text go: committed lines always; the
/// tentative line only on a terminal, overwritten in place. It remembers
/// which segments it printed, so that at stop the ones the final pass
/// committed (the tentative tail, or a short recording that never reached
/// agreement) are printed too: see [`unprinted`].
struct Printer {
    tty: bool,
    tentative_shown: bool,
    printed: Vec<(u64, String)>,
}

impl Printer {
    fn show(&mut self, p: &LiveProgress) {
        let mut out = std::io::stdout().lock();
        if self.tty && self.tentative_shown {
            let _ = write!(out, "\r\x1b[2K");
            self.tentative_shown = false;
        }
        for s in &p.committed {
            write_segment(&mut out, s);
            self.printed.push((s.start_ms, s.text.clone()));
        }
        if self.tty {
            let text: Vec<&str> = p.tentative.iter().map(|s| s.text.trim()).collect();
            let meter = "#".repeat(((p.level_rms.unwrap_or(0.0) * 60.0) as usize).min(10));
            let _ = write!(
                out,
                "… [{}] {:<10} {}{}",
                mm_ss(p.recorded_ms),
                meter,
                if p.paused { "(paused) " } else { "" },
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

    /// Prints the final transcript's segments not printed while recording.
    fn show_rest(&mut self, transcript: &tacet_core::Transcript) {
        let mut out = std::io::stdout().lock();
        for s in unprinted(&mut self.printed, &transcript.segments) {
            write_segment(&mut out, s);
        }
        let _ = out.flush();
    }
}

/// One committed segment as the terminal shows it: `[mm:ss] text`, unsure
/// words marked.
fn write_segment(out: &mut impl Write, s: &tacet_core::Segment) {
    let _ = writeln!(out, "[{}] {}", mm_ss(s.start_ms), s.marked_text().0);
}

/// The segments of `segments` (the final transcript) not among `printed`
/// (start and text of each segment printed live), in order. Each printed
/// entry answers for one segment, so a sentence said twice is printed
/// twice; `printed` is drained of the entries it matched.
fn unprinted<'a>(
    printed: &mut Vec<(u64, String)>,
    segments: &'a [tacet_core::Segment],
) -> Vec<&'a tacet_core::Segment> {
    let mut rest = Vec::new();
    for s in segments {
        match printed
            .iter()
            .position(|(start_ms, text)| *start_ms == s.start_ms && *text == s.text)
        {
            Some(i) => {
                printed.swap_remove(i);
            }
            None if s.text.trim().is_empty() => {}
            None => rest.push(s),
        }
    }
    rest
}

/// The device to record from: `requested`, else the remembered one if it
/// is connected, else the default input (saying so).
fn choose_device(data_dir: &Path, requested: Option<&str>) -> recording::DeviceChoice {
    let chosen = tacet_runtime::choose_input_device(data_dir, requested);
    if let Some(w) = &chosen.warning {
        eprintln!("warning: {w}");
    }
    if let Some(notice) = chosen.choice.notice() {
        eprintln!("{notice}");
    }
    chosen.choice
}

/// What `tacet session record` was asked for.
pub struct ToRecord<'a> {
    pub template: &'a str,
    pub patient: &'a str,
    pub device: Option<&'a str>,
    pub seconds: Option<f64>,
    /// Draft when the recording stops, reading the transcript ahead while
    /// it runs.
    pub draft: bool,
}

/// The drafter reading the transcript while the visit is recorded (see
/// `tacet_app::read_ahead`): a thread of its own that loads the model on
/// the first snapshot and reads each one into it.
struct Reader {
    snapshots: SyncSender<Vec<tacet_core::Segment>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Option<tacet_runtime::NoteDrafter>>,
}

impl Reader {
    fn start(
        data_dir: &Path,
        approved: crate::compose::ApprovedModels,
        template: Option<tacet_core::Template>,
    ) -> Self {
        let (snapshots, rx) = sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let data_dir = data_dir.to_path_buf();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let load = || match crate::compose::model_store(&data_dir)
                .and_then(|m| crate::compose::drafter(&m, &approved))
            {
                Ok(d) => Some(d),
                Err(e) => {
                    eprintln!("\nwarning: the drafting model could not be loaded ({e}); the draft is tried again at stop");
                    None
                }
            };
            read_ahead(None, load, template.as_ref(), rx, &flag).0
        });
        Self {
            snapshots,
            stop,
            thread,
        }
    }

    /// Stops reading (a read in progress ends at its next chunk) and hands
    /// back the drafter, if one was loaded.
    fn finish(self) -> Option<tacet_runtime::NoteDrafter> {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.snapshots);
        self.thread.join().ok().flatten()
    }
}

/// The recorder's input: what the microphone hears (the runtime's
/// [`Microphone`], shared with the desktop), with the keys, Ctrl-C and
/// `--seconds` applied in between.
struct Inputs {
    mic: Microphone,
    deadline: Option<Instant>,
}

impl Iterator for Inputs {
    type Item = LiveInput;

    fn next(&mut self) -> Option<LiveInput> {
        loop {
            if !self.mic.is_stopping() {
                let due = self.deadline.is_some_and(|d| Instant::now() >= d);
                if due || INTERRUPTED.load(Ordering::SeqCst) {
                    // Its last chunk and the end still come through `next`.
                    self.mic.stop();
                } else if PAUSE_WANTED.load(Ordering::SeqCst) {
                    self.mic.pause();
                } else if let Err(e) = self.mic.resume(None) {
                    eprintln!("\nwarning: {e}");
                }
            }
            let heard = self.mic.next(POLL);
            match &heard {
                Heard::Paused => eprintln!(
                    "\nPaused: nothing is recorded until you type r + Enter (s + Enter stops)."
                ),
                Heard::Resumed => eprintln!("\nResumed."),
                Heard::Overrun { dropped_frames } => eprintln!(
                    "\nwarning: the recorder fell behind; {dropped_frames} input frames were dropped"
                ),
                Heard::DeviceLost { message, .. } => {
                    eprintln!(
                        "\nThe input device was lost ({message}); the recording so far is kept."
                    );
                    self.mic.stop();
                    return None;
                }
                Heard::Ended => return None,
                Heard::Audio(_) | Heard::Nothing => {}
            }
            if let Some(input) = heard.into_input() {
                return Some(input);
            }
        }
    }
}

pub fn record(
    data_dir: &Path,
    store: &mut tacet_runtime::Unlocked<'_>,
    to: ToRecord<'_>,
) -> Result<ExitCode> {
    let ToRecord {
        template,
        patient,
        device,
        seconds,
        draft,
    } = to;
    let lib = crate::run::templates(data_dir)?;
    if lib.get(template).is_none() {
        anyhow::bail!("unknown template {template:?}");
    }
    let choice = choose_device(data_dir, device);
    let device = choice.device();
    for s in recording::interrupted_sessions(store)? {
        eprintln!(
            "note: session {} was interrupted while recording; finish it with `tacet session recover {}`",
            s.id.short(),
            s.id
        );
    }
    let models = crate::compose::model_store(data_dir)?;
    let approved = crate::compose::ApprovedModels::read(&models, store)?;
    let mut asr = crate::compose::transcriber(&models, &approved)?;
    asr.set_threads(tacet_runtime::live_asr_threads());
    let mut live =
        tacet_runtime::live::live_transcriber(asr).context("starting the streaming transcriber")?;
    let mic = Microphone::open(device)
        .context("starting the microphone (see `tacet session devices`)")?;
    match &choice {
        recording::DeviceChoice::Requested(id) => {
            match tacet_runtime::input::remember_input_device(data_dir, id) {
                Ok(()) => eprintln!("Input device {id} remembered for the next recording."),
                Err(e) => eprintln!("warning: {e}"),
            }
        }
        recording::DeviceChoice::Remembered(id) => {
            eprintln!("Using the remembered input device {id} (choose another with --device).")
        }
        _ => {}
    }
    mic.wait_for_audio(Duration::from_secs(10))?;

    let rec = Recorder::new_session(store, &mut live, &lib, template, &PatientRef::new(patient))?;
    let session: SessionId = rec.session();
    let (rate_hz, channels) = mic.native_format().unwrap_or_default();
    eprintln!(
        "Recording session {session} from {} ({rate_hz} Hz, {channels} ch); {}",
        mic.device_id(),
        match seconds {
            Some(s) => format!("stopping after {s} s."),
            None => "press Enter or Ctrl-C to stop.".to_string(),
        }
    );
    eprintln!("{CONTROLS}");

    INTERRUPTED.store(false, Ordering::SeqCst);
    PAUSE_WANTED.store(false, Ordering::SeqCst);
    install_sigint();
    // Lines on stdin (a terminal or a pipe) pause, resume and stop; end of
    // input changes nothing.
    std::thread::spawn(|| {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            match parse_control(&line) {
                Control::Pause => PAUSE_WANTED.store(true, Ordering::SeqCst),
                Control::Resume => PAUSE_WANTED.store(false, Ordering::SeqCst),
                Control::Stop => {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    return;
                }
                Control::Unknown => eprintln!("\n{CONTROLS}"),
            }
        }
    });
    let chunks = Inputs {
        mic,
        deadline: seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0))),
    };
    let mut printer = Printer {
        tty: std::io::stdout().is_terminal(),
        tentative_shown: false,
        printed: Vec::new(),
    };
    let reader =
        draft.then(|| Reader::start(data_dir, approved.clone(), lib.get(template).cloned()));
    let mut snapshots = Snapshots::new();
    let result = recording::record_live(rec, chunks, &mut |p| {
        printer.show(p);
        if let (Some(r), Some(so_far)) = (&reader, snapshots.push(&p.committed)) {
            // Full: the reader is still on the last snapshot.
            let _ = r.snapshots.try_send(so_far);
        }
    });
    printer.clear();
    let drafter = reader.and_then(Reader::finish);
    // A failed live transcriber is finished here, at once, from the sealed
    // audio (as the desktop does: `recording::finish_live`).
    if matches!(result, Err(tacet_app::AppError::Transcription(_))) {
        eprintln!("Live transcription failed; transcribing the sealed recording…");
    }
    let store_dyn: &mut dyn RecoveryStore = &mut *store;
    let finished = recording::finish_live(store_dyn, session, result, live.inner_mut())
        .with_context(|| {
            format!("recording session {session} (its audio is sealed; `tacet session recover {session}` finishes it)")
        })?;
    printer.show_rest(finished.transcript());
    match &finished {
        recording::Finished::Live(summary) => eprintln!(
            "Stopped: {} of audio sealed in {} chunk(s); paused {} time(s); final transcript {} ms after stop.",
            mm_ss(summary.recorded_ms),
            summary.chunks_sealed,
            summary.pauses,
            summary.stop_to_transcript.as_millis()
        ),
        recording::Finished::Recovered {
            recovered,
            live_error,
            stop_to_transcript,
        } => eprintln!(
            "Stopped: the live transcriber failed ({live_error}); {} of sealed audio in {} chunk(s) transcribed in one pass, {} ms after stop.",
            mm_ss(recovered.recovered_ms),
            recovered.chunks_recovered,
            stop_to_transcript.as_millis()
        ),
    }
    println!("Session {session} ({template})");
    if !draft {
        println!("\nNext: tacet draft {session}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut llm = match drafter {
        Some(d) => d,
        None => {
            eprintln!("Loading the drafting model…");
            crate::compose::drafter(&models, &approved)?
        }
    };
    println!();
    crate::note::draft_with(data_dir, store, session, &mut llm)
}

pub fn recover(
    data_dir: &Path,
    store: &mut tacet_runtime::Unlocked<'_>,
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
    let approved = crate::compose::ApprovedModels::read(&models, store)?;
    let mut asr = crate::compose::transcriber(&models, &approved)?;
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
    print!("{}", r.transcript.to_review_text());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_lines_map_to_controls() {
        assert_eq!(parse_control("p\n"), Control::Pause);
        assert_eq!(parse_control(" Pause "), Control::Pause);
        assert_eq!(parse_control("r\r\n"), Control::Resume);
        assert_eq!(parse_control("\n"), Control::Stop);
        assert_eq!(parse_control("s"), Control::Stop);
        assert_eq!(parse_control("x"), Control::Unknown);
    }

    fn seg(start_ms: u64, text: &str) -> tacet_core::Segment {
        tacet_core::Segment {
            id: 0,
            start_ms,
            end_ms: start_ms + 1_000,
            speaker: None,
            text: text.into(),
            confidence: 1.0,
            unsure: Vec::new(),
        }
    }

    #[test]
    fn at_stop_what_the_final_pass_committed_is_printed_once() {
        // Printed live: two segments, one of them said twice.
        let mut printed = vec![
            (0, " Good morning.".to_string()),
            (2_000, " Again.".to_string()),
        ];
        // The final transcript: the live ones, a repeat of one of them, a
        // segment the hole filling put before them, and the tail.
        let last = [
            seg(0, " Good morning."),
            seg(1_000, " Before."),
            seg(2_000, " Again."),
            seg(3_000, " Again."),
            seg(4_000, "  "),
            seg(5_000, " Chest pain when walking."),
        ];
        let rest: Vec<(u64, &str)> = unprinted(&mut printed, &last)
            .iter()
            .map(|s| (s.start_ms, s.text.as_str()))
            .collect();
        assert_eq!(
            rest,
            [
                (1_000, " Before."),
                (3_000, " Again."),
                (5_000, " Chest pain when walking.")
            ]
        );
        assert!(printed.is_empty());
        // Nothing printed live (a short recording): all of it now.
        assert_eq!(unprinted(&mut Vec::new(), &last).len(), 5);
    }
}
