//! The worker thread behind the window: the one place the desktop app
//! touches the vault, the engines and the file system.
//!
//! The vault is `!Sync` and `Vault::unlock` hands out an `Unlocked<'_>` that
//! borrows it, so the worker owns the vault outright and its loop has two
//! levels: locked (waiting for an Unlock) and, inside the scope of one
//! `Unlocked`, serving requests until Lock. Every request goes through
//! `tacet_app::App`, the application layer the CLI also uses. Requests
//! come over a bounded channel the UI never blocks on; events go back over
//! another, and each one asks the window to repaint. A live recording runs
//! inside the worker (`live`), which reads the window's requests itself
//! until the recording stops. Engines are loaded on
//! first use and kept across locks; the drafter holds patient data only
//! while it reads a transcript ahead (below), and forgets it on lock.
//!
//! Reading ahead: once a session's transcript is final, the worker reads it
//! into the drafter (`App::prewarm`) while the clinician reads the
//! transcript, so that pressing Draft starts writing at once instead of
//! after the whole prompt is read (tens of seconds for a long visit on a
//! laptop). It runs only while no request waits: every request the window
//! sends sets a flag the prewarm polls between chunks of the prompt, the
//! request is served, and the prewarm resumes where it stopped. Anything
//! but a draft of that session, or looking at the session list, makes the
//! drafter forget what it read.

use crate::compose;

/// The admin's requests (audit, models, retention, people), served by the
/// same worker.
#[path = "worker_admin.rs"]
mod admin;
/// Live recording, driven from this worker (a child module so it can use
/// the worker's event side).
#[path = "live.rs"]
mod live;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use tacet_app::recording;
use tacet_app::{
    App, AppError, Attestation, Engines, ExportFormat, ExportTo, Exported, KeptNote, Started,
    TemplateLibrary,
};
use tacet_core::ports::{DraftProgress, Drafter, RecoveryStore, SessionStore, Transcriber};
use tacet_core::{AuditAction, AuditEvent, PatientRef};
use tacet_runtime::live::WhisperTranscriber;
use tacet_runtime::support_log as slog;
use tacet_runtime::NoteDrafter;
use tacet_runtime::NoteFiles;
use tacet_runtime::{Passphrase, PassphraseCheck, Unlocked, Vault};
use tacet_ui::{
    Backend, BackendError, Event, EvidenceView, ExportTarget, FlagView, GroundingView, ModelRow,
    Op, ReportFormat, Request, SentenceView,
};

/// Requests waiting for the worker; a full queue is "busy", never a wait.
const REQUEST_QUEUE: usize = 16;
/// Events waiting for the window (tokens stream through here).
const EVENT_QUEUE: usize = 512;

/// The UI's handle on the worker.
pub struct WorkerBackend {
    tx: SyncSender<Request>,
    rx: Receiver<Event>,
    cancel: Arc<AtomicBool>,
    /// Set with every request sent: a read-ahead yields to it.
    preempt: Arc<AtomicBool>,
}

impl Backend for WorkerBackend {
    fn send(&mut self, request: Request) -> Result<(), BackendError> {
        match self.tx.try_send(request) {
            Ok(()) => {
                self.preempt.store(true, Ordering::SeqCst);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(BackendError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(BackendError::Stopped),
        }
    }

    fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    fn cancel_draft(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// Starts the worker for the vault in `data_dir`. `repaint` wakes the window.
pub fn spawn(
    data_dir: PathBuf,
    repaint: impl Fn() + Send + 'static,
) -> std::io::Result<WorkerBackend> {
    let (tx, req_rx) = sync_channel::<Request>(REQUEST_QUEUE);
    let (ev_tx, rx) = sync_channel::<Event>(EVENT_QUEUE);
    let cancel = Arc::new(AtomicBool::new(false));
    let worker_cancel = Arc::clone(&cancel);
    let preempt = Arc::new(AtomicBool::new(false));
    let worker_preempt = Arc::clone(&preempt);
    std::thread::Builder::new()
        .name("tacet-worker".into())
        .spawn(move || {
            let out = Out {
                tx: ev_tx,
                repaint: Box::new(repaint),
                failed: AtomicBool::new(false),
            };
            run(&data_dir, &req_rx, &out, &worker_cancel, &worker_preempt);
        })?;
    Ok(WorkerBackend {
        tx,
        rx,
        cancel,
        preempt,
    })
}

/// The event side of the worker.
struct Out {
    tx: SyncSender<Event>,
    repaint: Box<dyn Fn() + Send>,
    /// Set when a failure is reported, for the support log's outcome.
    failed: std::sync::atomic::AtomicBool,
}

impl Out {
    /// Sends an event; false when the window has gone.
    fn emit(&self, ev: Event) -> bool {
        let ok = self.tx.send(ev).is_ok();
        (self.repaint)();
        ok
    }
    fn fail(&self, op: Op, message: impl Into<String>) {
        self.failed.store(true, Ordering::Relaxed);
        self.emit(Event::Failed {
            op,
            message: message.into(),
        });
    }
}

impl live::Sink for Out {
    fn emit(&self, ev: Event) -> bool {
        Out::emit(self, ev)
    }
    fn try_emit(&self, ev: Event) {
        if self.tx.try_send(ev).is_ok() {
            (self.repaint)();
        }
    }
}

/// A request's name in the support log.
fn step_name(op: Op) -> &'static str {
    match op {
        Op::Unlock => "unlock",
        Op::Sessions => "sessions",
        Op::Consent => "consent",
        Op::Transcribe => "transcribe",
        Op::Record => "record",
        Op::Draft => "draft",
        Op::Attest => "attest",
        Op::Export => "export",
        Op::Admin => "admin",
        Op::Setup => "setup",
    }
}

/// Logs a step's start now and its end (duration, and whether a failure
/// was reported meanwhile) when dropped, however the handling returns.
struct LoggedStep<'a> {
    step: &'static str,
    started: std::time::Instant,
    out: &'a Out,
}

impl<'a> LoggedStep<'a> {
    fn start(step: &'static str, out: &'a Out) -> Self {
        out.failed.store(false, Ordering::Relaxed);
        slog::log(&slog::Event::StepStarted { step });
        Self {
            step,
            started: std::time::Instant::now(),
            out,
        }
    }
}

impl Drop for LoggedStep<'_> {
    fn drop(&mut self) {
        let outcome = if self.out.failed.load(Ordering::Relaxed) {
            slog::Outcome::Failed("reported")
        } else {
            slog::Outcome::Ok
        };
        slog::log(&slog::Event::StepEnded {
            step: self.step,
            took: self.started.elapsed(),
            outcome,
        });
    }
}

fn op_of(r: &Request) -> Op {
    match r {
        Request::CreateVault { .. } => Op::Setup,
        Request::Unlock { .. } | Request::Lock => Op::Unlock,
        Request::ListSessions | Request::OpenSession { .. } | Request::ShareSession { .. } => {
            Op::Sessions
        }
        Request::RecordConsent { .. } => Op::Consent,
        Request::TranscribeWav { .. } => Op::Transcribe,
        Request::ListInputDevices
        | Request::StartRecording { .. }
        | Request::PauseRecording
        | Request::ResumeRecording { .. }
        | Request::StopRecording => Op::Record,
        Request::Draft { .. } => Op::Draft,
        Request::Attest { .. } => Op::Attest,
        Request::Export { .. } => Op::Export,
        Request::VerifyAudit { .. }
        | Request::Deletions
        | Request::Checkpoint
        | Request::SaveCheckpoint { .. }
        | Request::Models
        | Request::ComplianceReport
        | Request::SaveComplianceReport { .. }
        | Request::SaveSupportLog { .. }
        | Request::Retention
        | Request::SetRetention { .. }
        | Request::SetAnchorDir { .. }
        | Request::VerifyModel { .. }
        | Request::ImportModel { .. }
        | Request::ImportModelsFrom { .. }
        | Request::ConsentTexts { .. }
        | Request::Users
        | Request::AddUser { .. }
        | Request::RemoveUser { .. }
        | Request::ChangePassphrase { .. } => Op::Admin,
    }
}

/// Engines, loaded on first use.
#[derive(Default)]
struct EngineCache {
    asr: Option<WhisperTranscriber>,
    llm: Option<NoteDrafter>,
}

fn run(
    data_dir: &Path,
    rx: &Receiver<Request>,
    out: &Out,
    cancel: &AtomicBool,
    preempt: &AtomicBool,
) {
    // No vault yet: the window walks the admin through creating one.
    let mut vault = if !Vault::exists(data_dir) {
        out.emit(Event::NeedsSetup {
            data_dir: data_dir.display().to_string(),
        });
        None
    } else {
        match Vault::open(data_dir) {
            Ok(v) => Some(v),
            Err(e) => {
                out.fail(Op::Unlock, format!("Cannot open the vault: {e}"));
                None
            }
        }
    };
    let templates = match tacet_runtime::compose::templates(data_dir) {
        Ok(t) => t,
        Err(e) => {
            out.fail(
                Op::Unlock,
                format!("The templates could not be loaded: {e}"),
            );
            match TemplateLibrary::built_in() {
                Ok(t) => t,
                Err(_) => return,
            }
        }
    };
    let mut engines = EngineCache::default();
    // The support log (ids, codes and durations only), for this thread's
    // steps; work goes on without it when the folder cannot hold it.
    let _log = slog::open(data_dir).ok();
    while let Ok(req) = rx.recv() {
        let step = LoggedStep::start(step_name(op_of(&req)), out);
        match req {
            Request::CreateVault {
                admin,
                admin_passphrase,
                clinician,
                clinician_passphrase,
            } => {
                if vault.is_some() || Vault::exists(data_dir) {
                    out.fail(
                        Op::Setup,
                        format!("A vault already exists in {}.", data_dir.display()),
                    );
                    continue;
                }
                let ap = Passphrase::new(admin_passphrase.expose().to_string());
                let cp = Passphrase::new(clinician_passphrase.expose().to_string());
                drop((admin_passphrase, clinician_passphrase));
                let created = tacet_runtime::setup::create_vault(
                    data_dir,
                    &tacet_runtime::setup::FirstAccounts {
                        admin: &admin,
                        admin_passphrase: &ap,
                        clinician: &clinician,
                        clinician_passphrase: &cp,
                    },
                    false,
                    &mut |fraction, label| {
                        out.emit(Event::SetupProgress {
                            fraction,
                            label: label.to_string(),
                        });
                    },
                );
                drop((ap, cp));
                match created.and_then(|c| Ok((c, Vault::open(data_dir)?))) {
                    Ok((c, v)) => {
                        vault = Some(v);
                        out.emit(Event::VaultCreated {
                            verifier_key: c.verifier_key,
                            // Shown once at the end of the walk; the vault
                            // does not keep it.
                            chain_key: c.chain_key.danger_reveal(),
                        });
                    }
                    Err(e) => out.fail(Op::Setup, capitalised(&e.to_string())),
                }
            }
            Request::Unlock { user, passphrase } => {
                let Some(vault) = vault.as_mut() else {
                    out.fail(
                        Op::Unlock,
                        format!("There is no usable vault in {}.", data_dir.display()),
                    );
                    continue;
                };
                let pass = Passphrase::new(passphrase.expose().to_string());
                drop(passphrase);
                // No key is derived in a process whose network sandbox
                // is not in force, unless overridden (and then audited).
                let (mut unlocked, posture) =
                    match tacet_runtime::posture::unlock(vault, &user, &pass) {
                        Ok(up) => up,
                        Err(tacet_runtime::RuntimeError::Vault(e)) => {
                            out.fail(Op::Unlock, e.to_string());
                            continue;
                        }
                        Err(e) => {
                            out.fail(Op::Unlock, capitalised(&e.to_string()));
                            continue;
                        }
                    };
                let Ok(check) = PassphraseCheck::new(&pass) else {
                    out.fail(
                        Op::Unlock,
                        "Could not prepare the passphrase check for attestation.",
                    );
                    continue;
                };
                drop(pass);
                let role = unlocked.role();
                if !out.emit(Event::Unlocked {
                    user,
                    role,
                    templates: templates.all().to_vec(),
                    warning: posture
                        .warning()
                        .into_iter()
                        .chain(unlocked.housekeeping_problem().map(str::to_owned))
                        .reduce(|a, b| format!("{a} {b}")),
                }) {
                    return;
                }
                // Unlocking ends here; each request served while unlocked
                // is a step of its own.
                drop(step);
                let mut s = Served {
                    store: &mut unlocked,
                    templates: &templates,
                    engines: &mut engines,
                    data_dir,
                    out,
                    cancel,
                    check: &check,
                    report: None,
                    rx,
                    deferred: None,
                    kept_export: None,
                    preempt,
                    read_ahead: None,
                    warm: None,
                };
                loop {
                    let req = match s.deferred.take() {
                        Some(req) => req,
                        None => match s.read_ahead {
                            Some(session) => {
                                // Clear first: a request sent from here on
                                // either shows in try_recv or stops the prewarm.
                                preempt.store(false, Ordering::SeqCst);
                                match rx.try_recv() {
                                    Ok(req) => req,
                                    Err(TryRecvError::Disconnected) => return,
                                    Err(TryRecvError::Empty) => {
                                        s.prewarm(session);
                                        continue;
                                    }
                                }
                            }
                            None => match rx.recv() {
                                Ok(req) => req,
                                Err(_) => return,
                            },
                        },
                    };
                    match req {
                        Request::Lock => break,
                        Request::Unlock { .. } => {
                            out.fail(Op::Unlock, "Tacet is already unlocked; lock it first.")
                        }
                        other => {
                            let _step = LoggedStep::start(step_name(op_of(&other)), out);
                            s.serve(other)
                        }
                    }
                }
                s.forget_read_ahead();
                out.emit(Event::Locked);
            }
            Request::Lock => {
                out.emit(Event::Locked);
            }
            other => out.fail(op_of(&other), "Tacet is locked; unlock it first."),
        }
    }
}

/// The installed drafting model, loaded (for a draft, or for reading a
/// transcript ahead).
/// `vault` is the unlocked vault, whose list of the models an admin
/// imported counts (issue 22, item 8).
fn load_drafter(data_dir: &Path, vault: &dyn SessionStore) -> Result<NoteDrafter, String> {
    let approved = approved_models(data_dir, vault)?;
    load_approved_drafter(data_dir, &approved)
}

/// The installed models the vault approves, read once (so that a drafter
/// can be loaded on another thread).
fn approved_models(
    data_dir: &Path,
    vault: &dyn SessionStore,
) -> Result<compose::ApprovedModels, String> {
    let models = compose::model_store(data_dir).map_err(|e| format!("{e:#}"))?;
    compose::ApprovedModels::read(&models, vault).map_err(|e| format!("{e:#}"))
}

fn load_approved_drafter(
    data_dir: &Path,
    approved: &compose::ApprovedModels,
) -> Result<NoteDrafter, String> {
    let models = compose::model_store(data_dir).map_err(|e| format!("{e:#}"))?;
    compose::drafter(&models, approved).map_err(|e| format!("{e:#}"))
}

/// The speech model, checked against the vault's approvals and loaded.
fn load_transcriber(
    data_dir: &Path,
    vault: &dyn SessionStore,
) -> Result<WhisperTranscriber, String> {
    let models = compose::model_store(data_dir).map_err(|e| format!("{e:#}"))?;
    let approved = compose::ApprovedModels::read(&models, vault).map_err(|e| format!("{e:#}"))?;
    compose::transcriber(&models, &approved).map_err(|e| format!("{e:#}"))
}

/// One unlocked user's requests.
struct Served<'a, 'v> {
    store: &'a mut Unlocked<'v>,
    templates: &'a TemplateLibrary,
    engines: &'a mut EngineCache,
    data_dir: &'a Path,
    out: &'a Out,
    cancel: &'a AtomicBool,
    check: &'a PassphraseCheck,
    /// The last installation report, which a save writes: what is saved is
    /// what was shown and audited. Forgotten on lock.
    report: Option<tacet_runtime::ComplianceReport>,
    /// The window's requests, read directly while a live recording runs.
    rx: &'a Receiver<Request>,
    /// A request that ended a live recording and is still to be served.
    deferred: Option<Request>,
    /// The attested note of the last export, kept in memory (never on
    /// disk) so the clinician can save it in another format after the
    /// session is destroyed; dropped at the next request that is not an
    /// export (finishing the session sends one) and on lock.
    kept_export: Option<KeptNote>,
    /// Set with every request the window sends (see the module docs).
    preempt: &'a AtomicBool,
    /// The session whose transcript is still to be read ahead.
    read_ahead: Option<tacet_core::SessionId>,
    /// The session whose transcript the drafter holds, read ahead.
    warm: Option<tacet_core::SessionId>,
}

impl Served<'_, '_> {
    /// The application layer over this worker's store, with the
    /// transcriber and the drafter only where `asr` and `llm` ask for them.
    fn app<R>(&mut self, asr: bool, llm: bool, f: impl FnOnce(&mut App<'_, '_>) -> R) -> R {
        let clock = compose::SystemClock;
        let mut e = Engines {
            transcriber: if asr {
                self.engines.asr.as_mut().map(|a| a as &mut dyn Transcriber)
            } else {
                None
            },
            drafter: if llm {
                self.engines.llm.as_mut().map(|d| d as &mut dyn Drafter)
            } else {
                None
            },
            clock: &clock,
            templates: self.templates,
        };
        f(&mut App::new(&mut *self.store, &mut e))
    }

    /// [`Self::app`] with no engine loaded.
    fn plain<R>(&mut self, f: impl FnOnce(&mut App<'_, '_>) -> R) -> R {
        self.app(false, false, f)
    }

    /// Reads `session`'s transcript ahead into the drafter, loading it if
    /// needed; stops early when a request arrives and is resumed after it.
    /// Silent: a read-ahead that fails costs only the time it would have
    /// saved, and the draft reports its own errors.
    fn prewarm(&mut self, session: tacet_core::SessionId) {
        if self.engines.llm.is_none() {
            match load_drafter(self.data_dir, &*self.store) {
                Ok(d) => self.engines.llm = Some(d),
                Err(_) => {
                    self.read_ahead = None;
                    return;
                }
            }
        }
        self.warm = Some(session);
        let preempt = self.preempt;
        let done = self.app(false, true, |a| a.prewarm(session, preempt));
        if done.is_err() || !self.preempt.load(Ordering::SeqCst) {
            self.read_ahead = None;
        }
    }

    /// Loads the speech model if it is not yet, saying so, and leaves the
    /// window a core while whisper.cpp works, as live recording does.
    fn ready_transcriber(&mut self) -> Result<(), String> {
        if self.engines.asr.is_none() {
            self.out
                .emit(Event::Progress("Loading the speech model…".into()));
            self.engines.asr = Some(load_transcriber(self.data_dir, &*self.store)?);
        }
        if let Some(asr) = self.engines.asr.as_mut() {
            asr.set_threads(tacet_runtime::live_asr_threads());
        }
        Ok(())
    }

    /// Makes the drafter forget a transcript it read ahead.
    fn forget_read_ahead(&mut self) {
        self.read_ahead = None;
        if self.warm.take().is_some() {
            if let Some(d) = self.engines.llm.as_mut() {
                d.forget();
            }
        }
    }

    fn serve(&mut self, req: Request) {
        let op = op_of(&req);
        if !matches!(req, Request::Export { .. }) {
            self.kept_export = None;
        }
        match &req {
            // The draft the read-ahead was for: it uses and then drops it.
            Request::Draft { session } if self.warm == Some(*session) => {
                self.read_ahead = None;
                self.warm = None;
            }
            Request::ListSessions | Request::ListInputDevices => {}
            _ => self.forget_read_ahead(),
        }
        if let Err(message) = self.try_serve(req) {
            self.out.fail(op, message);
        }
    }

    /// A new session's recording (from `try_serve`): the input devices, a
    /// live recording, or a recording from a file transcribed.
    fn serve_recording(&mut self, req: Request) -> Result<(), String> {
        let out = self.out;
        match req {
            Request::ListInputDevices => {
                out.emit(live::input_devices(self.data_dir)?);
            }
            Request::StartRecording {
                template_id,
                patient_ref,
                device,
            } => {
                let mut asr = match self.engines.asr.take() {
                    Some(asr) => asr,
                    None => load_transcriber(self.data_dir, &*self.store)?,
                };
                asr.set_threads(tacet_runtime::live_asr_threads());
                let start = live::Start {
                    template_id,
                    patient_ref,
                    device,
                };
                let recorded = live::record(
                    self.store,
                    self.templates,
                    self.data_dir,
                    asr,
                    self.engines.llm.take(),
                    start,
                    self.rx,
                    out,
                );
                self.engines.asr = recorded.asr;
                self.engines.llm = recorded.drafter;
                self.deferred = recorded.deferred;
                // Catch up with what was committed after the last read.
                self.read_ahead = recorded.transcribed;
                if recorded.read_ahead {
                    self.warm = recorded.transcribed;
                }
            }
            Request::PauseRecording | Request::ResumeRecording { .. } | Request::StopRecording => {
                return Err("Nothing is recording.".into());
            }
            Request::TranscribeWav {
                template_id,
                patient_ref,
                wav_path,
            } => {
                out.emit(Event::Progress("Reading the recording…".into()));
                let samples = tacet_runtime::live::read_visit_audio(Path::new(&wav_path))
                    .map_err(|e| e.to_string())?
                    .samples_16k;
                self.ready_transcriber()?;
                out.emit(Event::Progress(format!(
                    "Transcribing {:.1} s of audio on this computer…",
                    samples.len() as f64 / 16_000.0
                )));
                let patient = PatientRef::new(patient_ref);
                let Started {
                    session,
                    transcript,
                } = self
                    .app(true, false, |a| {
                        a.start_from_audio(&template_id, &patient, &samples)
                    })
                    .map_err(words)?;
                out.emit(Event::Transcribed {
                    session,
                    transcript,
                });
                self.read_ahead = Some(session);
            }
            other => return Err(format!("The worker has no step for {:?}.", op_of(&other))),
        }
        Ok(())
    }

    /// The note (from `try_serve`): drafted, then attested.
    fn serve_note(&mut self, req: Request) -> Result<(), String> {
        let out = self.out;
        match req {
            Request::Draft { session } => {
                self.cancel.store(false, Ordering::Relaxed);
                if self.engines.llm.is_none() {
                    out.emit(Event::Progress("Loading the drafting model…".into()));
                    self.engines.llm = Some(load_drafter(self.data_dir, &*self.store)?);
                }
                out.emit(Event::Progress("Reading the transcript…".into()));
                let mut progress = |p: DraftProgress<'_>| {
                    let ev = match p {
                        DraftProgress::Section(h) => Event::DraftSection(h.to_string()),
                        DraftProgress::Token(t) => Event::DraftToken(t.to_string()),
                    };
                    out.emit(ev);
                };
                let cancel = self.cancel;
                match self.app(false, true, |a| a.draft(session, &mut progress, cancel)) {
                    Ok(draft) => {
                        out.emit(Event::Drafted { draft });
                        // The review screen needs the draft checked against
                        // the transcript: its flags gate attestation.
                        let grounding = self.plain(|a| a.grounding(session)).map_err(|e| {
                            format!("The draft could not be checked against the transcript: {e}")
                        })?;
                        out.emit(Event::Grounding {
                            session,
                            grounding: grounding_view(grounding),
                        });
                    }
                    Err(_) if self.cancel.load(Ordering::Relaxed) => {
                        out.emit(Event::DraftCancelled);
                    }
                    Err(e) => return Err(words(e)),
                }
            }
            Request::Attest {
                session,
                text,
                passphrase,
                accept_flags,
                confirm_empty,
            } => {
                let pass = Passphrase::new(passphrase.expose().to_string());
                drop(passphrase);
                if !self.check.matches(&pass) {
                    let actor = self.store.actor().clone();
                    self.store
                        .record(
                            AuditEvent::new(AuditAction::ReviewAttested, actor)
                                .session(session)
                                .outcome(tacet_core::Outcome::Denied),
                        )
                        .map_err(|e| e.to_string())?;
                    return Err(
                        "The passphrase does not match yours, so the note was not attested.".into(),
                    );
                }
                let attestation = Attestation {
                    text,
                    accept_flags,
                    confirm_empty,
                };
                let note_sha256_hex = self
                    .plain(|a| a.attest(session, attestation))
                    .map_err(words)?;
                out.emit(Event::Attested { note_sha256_hex });
            }
            other => return Err(format!("The worker has no step for {:?}.", op_of(&other))),
        }
        Ok(())
    }

    /// Serves one request; an `Err` is the one message the UI shows.
    fn try_serve(&mut self, req: Request) -> Result<(), String> {
        let out = self.out;
        match req {
            Request::Unlock { .. } | Request::Lock => {}
            Request::CreateVault { .. } => {
                return Err(format!(
                    "A vault already exists in {}.",
                    self.data_dir.display()
                ))
            }
            Request::ListSessions => {
                let list = self.plain(|a| a.list_sessions()).map_err(words)?;
                out.emit(Event::Sessions(list));
            }
            Request::OpenSession { session } => {
                let summary = self
                    .store
                    .list_sessions()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .find(|s| s.id == session)
                    .ok_or("There is no such session.")?;
                match summary.state {
                    tacet_core::SessionState::Transcribed | tacet_core::SessionState::Drafted => {}
                    tacet_core::SessionState::Recording | tacet_core::SessionState::Interrupted => {
                        // A recording that never stopped cleanly (the app or
                        // the computer stopped mid-visit): what was sealed is
                        // transcribed in one pass, and the draft follows as
                        // after any recording (the CLI's `session recover`).
                        self.ready_transcriber()?;
                        let asr = self
                            .engines
                            .asr
                            .as_mut()
                            .ok_or("The speech model could not be loaded.")?;
                        out.emit(Event::Progress(
                            "Transcribing what was sealed of the interrupted recording…".into(),
                        ));
                        let store: &mut dyn RecoveryStore = &mut *self.store;
                        let r = recording::recover(store, session, asr).map_err(words)?;
                        out.emit(Event::Transcribed {
                            session,
                            transcript: r.transcript,
                        });
                        self.read_ahead = Some(session);
                        return Ok(());
                    }
                    tacet_core::SessionState::Attested => {
                        let note = self.store.attested(session).map_err(|e| e.to_string())?;
                        let actor = self.store.actor().clone();
                        self.store
                            .record(
                                AuditEvent::new(AuditAction::NoteViewed, actor)
                                    .session(session)
                                    .content(note.text().as_bytes()),
                            )
                            .map_err(|e| e.to_string())?;
                        out.emit(Event::AttestedOpened {
                            session,
                            text: note.text().to_string(),
                            note_sha256_hex: hex::encode(note.attestation().note_sha256),
                        });
                        return Ok(());
                    }
                    other => {
                        return Err(format!(
                            "Session {} is {}: only an interrupted recording (to finish), a session with a transcript (to draft) or an attested note (to export) can be opened.",
                            session.short(),
                            other.as_str()
                        ))
                    }
                }
                let transcript = self.store.transcript(session).map_err(|e| e.to_string())?;
                let actor = self.store.actor().clone();
                self.store
                    .record(
                        AuditEvent::new(AuditAction::NoteViewed, actor)
                            .session(session)
                            .content(&transcript.to_bytes()),
                    )
                    .map_err(|e| e.to_string())?;
                out.emit(Event::Transcribed {
                    session,
                    transcript,
                });
            }
            Request::ShareSession {
                session,
                with,
                stop,
            } => {
                let message = if stop {
                    if self
                        .store
                        .revoke_cover(session, &with)
                        .map_err(|e| capitalised(&e.to_string()))?
                    {
                        format!("{with} can no longer open session {}.", session.short())
                    } else {
                        format!("Session {} was not shared with {with}.", session.short())
                    }
                } else {
                    self.store
                        .grant_cover(session, &with)
                        .map_err(|e| capitalised(&e.to_string()))?;
                    format!(
                        "{with} can now open session {} until you stop sharing it or it is destroyed.",
                        session.short()
                    )
                };
                out.emit(Event::Shared { message });
            }
            Request::RecordConsent { template_id, given } => {
                self.plain(|a| a.record_consent(&template_id, given))
                    .map_err(words)?;
                out.emit(Event::ConsentRecorded { given });
            }
            req @ (Request::ListInputDevices
            | Request::StartRecording { .. }
            | Request::PauseRecording
            | Request::TranscribeWav { .. }
            | Request::ResumeRecording { .. }
            | Request::StopRecording) => self.serve_recording(req)?,
            req @ (Request::Draft { .. } | Request::Attest { .. }) => self.serve_note(req)?,
            Request::Export { session, target } => self.export(session, target)?,
            // The admin's requests (`op_of` says which they are).
            req if op_of(&req) == Op::Admin => self.serve_admin(req)?,
            other => return Err(format!("The worker has no step for {:?}.", op_of(&other))),
        }
        Ok(())
    }
}

/// How long a new user's key derivation takes on this machine (the CLI's
/// `tacet init` calibrates to the same).
const NEW_USER_KDF_MS: u64 = 500;

fn retention_row(r: tacet_runtime::manage::RetentionView) -> tacet_ui::backend::RetentionRow {
    tacet_ui::backend::RetentionRow {
        retention_days: r.retention_days,
        grace_hours: r.grace_hours,
        last_run_unix_ms: r.last_run_unix_ms,
        anchor_dir: r.anchor_dir.map(|d| d.display().to_string()),
    }
}

fn model_row(m: tacet_runtime::InstalledModel) -> ModelRow {
    ModelRow {
        id: m.id,
        role: m.role.to_string(),
        size_bytes: m.size_bytes,
        sha256: m.sha256,
        licence: m.licence,
    }
}

/// Names and roles only.
fn users(u: &Unlocked<'_>) -> Result<Vec<tacet_ui::backend::UserRow>, String> {
    Ok(u.users()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(name, role)| tacet_ui::backend::UserRow { name, role })
        .collect())
}

/// A library message ("only an admin can …") as a sentence.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The grounding as the review screen's view type (tacet-ui does not
/// depend on the grounding crate).
fn grounding_view(g: tacet_app::Grounding) -> GroundingView {
    GroundingView {
        sentences: g
            .sentences
            .into_iter()
            .map(|s| SentenceView {
                section: s.section,
                index_in_section: s.index_in_section,
                text: s.text,
                evidence: s
                    .evidence
                    .into_iter()
                    .map(|e| EvidenceView {
                        segment_id: e.segment_id,
                        start_ms: e.start_ms,
                        end_ms: e.end_ms,
                        score: e.score,
                    })
                    .collect(),
                flags: s
                    .flags
                    .into_iter()
                    .map(|f| FlagView {
                        label: f.kind.label().to_string(),
                        detail: f.detail,
                        evidence_segment: f.evidence_segment,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// An application error in the words the window shows.
fn words(e: AppError) -> String {
    if e.is_review_required() {
        return format!("Refused: {e}");
    }
    e.to_string()
}

impl Served<'_, '_> {
    /// Exports the attested note to `target`. The first export goes through
    /// the application layer's export (gate, audit, destruction); a later
    /// save of the same note, its session destroyed, through its
    /// `export_again` from the note kept in memory.
    fn export(
        &mut self,
        session: tacet_core::SessionId,
        target: ExportTarget,
    ) -> Result<(), String> {
        let (format, to) = match &target {
            ExportTarget::Clipboard => (ExportFormat::Text, ExportTo::Clipboard),
            ExportTarget::File { path, format } => (*format, ExportTo::File(Path::new(path))),
        };
        if let Some(kept) = self.kept_export.take_if(|k| k.session() == session) {
            let again = self.plain(|a| a.export_again(&kept, format, to, &mut NoteFiles));
            let receipt = kept.receipt().clone();
            self.kept_export = Some(kept);
            let checkpoint = again.map_err(words)?;
            self.out.emit(Event::Exported {
                receipt,
                checkpoint,
            });
            return Ok(());
        }
        let Exported { checkpoint, kept } = self
            .plain(|a| a.export(session, format, to, &mut NoteFiles))
            .map_err(words)?;
        self.out.emit(Event::Exported {
            receipt: kept.receipt().clone(),
            checkpoint,
        });
        self.kept_export = Some(kept);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Segment, Transcript};

    /// The next event that is not progress, waiting up to 30 s.
    fn next_event(b: &mut WorkerBackend) -> Event {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < until {
            match b.try_recv() {
                Some(Event::Progress(_)) => {}
                Some(ev) => return ev,
                None => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        panic!("the worker did not answer in 30 s");
    }

    fn unlock(b: &mut WorkerBackend, user: &str, pass: &str) {
        b.send(Request::Unlock {
            user: user.into(),
            passphrase: tacet_ui::Secret::new(pass.into()),
        })
        .unwrap();
        let e = next_event(b);
        assert!(matches!(e, Event::Unlocked { .. }), "{e:?}");
    }

    /// A fresh vault with users `admin` (admin-passphrase-1) and
    /// `clinician` (clinician-passphrase-1).
    fn admin_and_clinician_vault() -> tempfile::TempDir {
        admin_and_clinician_vault_with_chain_key().0
    }

    /// [`admin_and_clinician_vault`], with the audit chain key its admin
    /// was handed at creation.
    fn admin_and_clinician_vault_with_chain_key() -> (tempfile::TempDir, String) {
        let d = tempfile::tempdir().unwrap();
        let ap = Passphrase::new("admin-passphrase-1".into());
        let cp = Passphrase::new("clinician-passphrase-1".into());
        let users = [
            tacet_runtime::NewUser {
                name: "admin",
                role: tacet_core::Role::Admin,
                passphrase: &ap,
            },
            tacet_runtime::NewUser {
                name: "clinician",
                role: tacet_core::Role::Clinician,
                passphrase: &cp,
            },
        ];
        let mut v = Vault::create(d.path(), &users, tacet_runtime::KdfChoice::Floor).unwrap();
        let key = v.take_audit_chain_key().unwrap().danger_reveal();
        (d, key)
    }

    #[test]
    fn the_worker_verifies_every_chain_tag_with_the_admins_chain_key() {
        let (d, key) = admin_and_clinician_vault_with_chain_key();
        tacet_sandbox::danger_harden_allowing_exec();
        let mut b = spawn(d.path().to_path_buf(), || {}).unwrap();
        unlock(&mut b, "admin", "admin-passphrase-1");
        let mut verify = |chain_key: Option<&str>| {
            b.send(Request::VerifyAudit {
                chain_key: chain_key.map(|k| tacet_ui::backend::Secret::new(k.to_string())),
            })
            .unwrap();
            match next_event(&mut b) {
                Event::Verification(v) => v,
                other => panic!("expected a verification, got {other:?}"),
            }
        };
        let plain = verify(None);
        assert!(plain.is_ok() && plain.chain.unwrap().contains("not checked"));
        let full = verify(Some(&key));
        assert!(full.is_ok(), "{:?}", full.problems);
        assert!(full.chain.unwrap().contains("admin's chain key"));
        let wrong = verify(Some(&format!(
            "tacet-audit-chain-key-1:{}",
            "ab".repeat(32)
        )));
        assert!(!wrong.is_ok());
    }

    #[test]
    fn the_worker_writes_and_saves_the_compliance_report_for_an_admin_only() {
        let d = admin_and_clinician_vault();
        // The worker unlocks only in a hardened process, as in `main`.
        tacet_sandbox::danger_harden_allowing_exec();
        let mut b = spawn(d.path().to_path_buf(), || {}).unwrap();

        // A clinician is refused.
        unlock(&mut b, "clinician", "clinician-passphrase-1");
        b.send(Request::ComplianceReport).unwrap();
        match next_event(&mut b) {
            Event::Failed { op, message } => {
                assert_eq!(op, Op::Admin);
                assert!(message.contains("admin's document"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        b.send(Request::Lock).unwrap();
        assert!(matches!(next_event(&mut b), Event::Locked));

        // An admin gets the CLI's report, verified, and saves it.
        unlock(&mut b, "admin", "admin-passphrase-1");
        b.send(Request::ComplianceReport).unwrap();
        let markdown = match next_event(&mut b) {
            Event::ComplianceReport {
                markdown,
                audit_verified,
            } => {
                assert!(audit_verified, "{markdown}");
                markdown
            }
            other => panic!("expected the report, got {other:?}"),
        };
        assert!(markdown.starts_with("# Tacet installation report"));
        assert!(markdown.contains("- clinician: clinician"));
        let md_path = d.path().join("report.md");
        let pdf_path = d.path().join("report.pdf");
        for (path, format) in [
            (&md_path, ReportFormat::Markdown),
            (&pdf_path, ReportFormat::Pdf),
        ] {
            b.send(Request::SaveComplianceReport {
                path: path.display().to_string(),
                format,
            })
            .unwrap();
            assert!(matches!(next_event(&mut b), Event::ComplianceSaved { .. }));
        }
        assert_eq!(std::fs::read_to_string(&md_path).unwrap(), markdown);
        assert!(std::fs::read(&pdf_path).unwrap().starts_with(b"%PDF-1.4"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&pdf_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Never overwritten.
        b.send(Request::SaveComplianceReport {
            path: md_path.display().to_string(),
            format: ReportFormat::Pdf,
        })
        .unwrap();
        match next_event(&mut b) {
            Event::Failed { message, .. } => {
                assert!(message.contains("already exists"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&md_path).unwrap(), markdown);
    }

    fn failed(b: &mut WorkerBackend) -> String {
        match next_event(b) {
            Event::Failed { op, message } => {
                assert_eq!(op, Op::Admin);
                message
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_worker_manages_retention_users_and_model_imports_on_a_real_vault() {
        let d = admin_and_clinician_vault();
        // The worker unlocks only in a hardened process, as in `main`.
        tacet_sandbox::danger_harden_allowing_exec();
        let mut b = spawn(d.path().to_path_buf(), || {}).unwrap();
        unlock(&mut b, "admin", "admin-passphrase-1");

        // Retention: the defaults, then a change, then out-of-bounds values.
        b.send(Request::Retention).unwrap();
        match next_event(&mut b) {
            Event::Retention(r) => {
                assert_eq!((r.retention_days, r.grace_hours), (7.0, 0.0));
            }
            other => panic!("expected the settings, got {other:?}"),
        }
        b.send(Request::SetRetention {
            retention_days: 14.0,
            grace_hours: 24.0,
        })
        .unwrap();
        match next_event(&mut b) {
            Event::Retention(r) => assert_eq!((r.retention_days, r.grace_hours), (14.0, 24.0)),
            other => panic!("expected the new settings, got {other:?}"),
        }
        // The audit anchor: refused inside the data folder, then set on a
        // folder elsewhere, where the verifier key and checkpoints appear.
        b.send(Request::SetAnchorDir {
            path: d.path().display().to_string(),
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("outside the data folder"), "{m}");
        let stick = tempfile::tempdir().unwrap();
        b.send(Request::SetAnchorDir {
            path: stick.path().display().to_string(),
        })
        .unwrap();
        match next_event(&mut b) {
            Event::Retention(r) => {
                assert_eq!(r.anchor_dir, Some(stick.path().display().to_string()));
            }
            other => panic!("expected the settings with the anchor, got {other:?}"),
        }
        let anchored: Vec<String> = std::fs::read_dir(stick.path())
            .unwrap()
            .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            anchored.iter().any(|n| n == "verifier.vkey"),
            "{anchored:?}"
        );
        assert!(
            anchored.iter().any(|n| n.ends_with(".checkpoint")),
            "{anchored:?}"
        );
        for (days, hours, says) in [(7.0, 100.0, "72 hours"), (0.0, 0.0, "at least one hour")] {
            b.send(Request::SetRetention {
                retention_days: days,
                grace_hours: hours,
            })
            .unwrap();
            let m = failed(&mut b);
            assert!(m.contains(says), "{m}");
        }

        // Users: names and roles; an admin adds an admin, not a clinician.
        b.send(Request::Users).unwrap();
        match next_event(&mut b) {
            Event::Users(u) => assert_eq!(
                u.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
                ["admin", "clinician"]
            ),
            other => panic!("expected the users, got {other:?}"),
        }
        b.send(Request::AddUser {
            name: "admin2".into(),
            role: tacet_core::Role::Admin,
            passphrase: tacet_ui::Secret::new("second-admin-pass".into()),
        })
        .unwrap();
        assert!(matches!(next_event(&mut b), Event::UserAdded { .. }));
        match next_event(&mut b) {
            Event::Users(u) => assert!(u
                .iter()
                .any(|u| u.name == "admin2" && u.role == tacet_core::Role::Admin)),
            other => panic!("expected the users, got {other:?}"),
        }
        b.send(Request::AddUser {
            name: "drpatel".into(),
            role: tacet_core::Role::Clinician,
            passphrase: tacet_ui::Secret::new("colleague-pass-1".into()),
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("enrolled by an existing clinician"), "{m}");
        // Removing: the last clinician is refused, a third admin goes.
        b.send(Request::RemoveUser {
            name: "clinician".into(),
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("last clinician"), "{m}");
        b.send(Request::AddUser {
            name: "admin3".into(),
            role: tacet_core::Role::Admin,
            passphrase: tacet_ui::Secret::new("third-admin-pass".into()),
        })
        .unwrap();
        assert!(matches!(next_event(&mut b), Event::UserAdded { .. }));
        assert!(matches!(next_event(&mut b), Event::Users(_)));
        b.send(Request::RemoveUser {
            name: "admin3".into(),
        })
        .unwrap();
        assert!(matches!(next_event(&mut b), Event::UserRemoved { .. }));
        match next_event(&mut b) {
            Event::Users(u) => assert!(!u.iter().any(|u| u.name == "admin3")),
            other => panic!("expected the users, got {other:?}"),
        }
        // A passphrase change needs the current passphrase.
        b.send(Request::ChangePassphrase {
            current: tacet_ui::Secret::new("not-the-passphrase".into()),
            new: tacet_ui::Secret::new("admin passphrase two".into()),
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("current passphrase is not right"), "{m}");

        // A missing file is refused with the store's words, naming it.
        let missing = d.path().join("no-such-model.gguf");
        b.send(Request::ImportModel {
            path: missing.display().to_string(),
            q8_0: false,
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("no-such-model.gguf"), "{m}");
        // A truncated model file: not what the manifest lists.
        let truncated = d.path().join("truncated.gguf");
        std::fs::write(&truncated, b"GGUF\x03\x00\x00\x00").unwrap();
        b.send(Request::ImportModel {
            path: truncated.display().to_string(),
            q8_0: false,
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("truncated.gguf"), "{m}");
        // The 8-bit choice reaches the store: the cached CTranslate2 tiny.en
        // (when this machine has it) is installed quantised.
        let ct2 = tacet_models::cache_root()
            .map(|c| c.join("files/whisper-tiny.en-ct2"))
            .filter(|d| d.join("model.bin").is_file());
        if let Some(ct2) = ct2 {
            b.send(Request::ImportModel {
                path: ct2.display().to_string(),
                q8_0: true,
            })
            .unwrap();
            match next_event(&mut b) {
                Event::ModelImported { id } => assert_eq!(id, "whisper-tiny.en-q8_0"),
                other => panic!("expected the import, got {other:?}"),
            }
            match next_event(&mut b) {
                Event::Models(list) => {
                    assert!(list.iter().any(|m| m.id == "whisper-tiny.en-q8_0"))
                }
                other => panic!("expected the model list, got {other:?}"),
            }
        } else {
            eprintln!("q8_0 import skipped: the CTranslate2 tiny.en is not cached");
        }
        b.send(Request::Lock).unwrap();
        assert!(matches!(next_event(&mut b), Event::Locked));

        // A clinician may not change settings, and enrols a colleague, who
        // can then unlock.
        unlock(&mut b, "clinician", "clinician-passphrase-1");
        b.send(Request::SetRetention {
            retention_days: 1.0,
            grace_hours: 0.0,
        })
        .unwrap();
        let m = failed(&mut b);
        assert!(m.contains("Only an admin"), "{m}");
        b.send(Request::AddUser {
            name: "drpatel".into(),
            role: tacet_core::Role::Clinician,
            passphrase: tacet_ui::Secret::new("colleague-pass-1".into()),
        })
        .unwrap();
        assert!(matches!(next_event(&mut b), Event::UserAdded { .. }));
        assert!(matches!(next_event(&mut b), Event::Users(_)));
        b.send(Request::Lock).unwrap();
        assert!(matches!(next_event(&mut b), Event::Locked));
        unlock(&mut b, "drpatel", "colleague-pass-1");
        b.send(Request::Lock).unwrap();
        assert!(matches!(next_event(&mut b), Event::Locked));
        unlock(&mut b, "admin2", "second-admin-pass");
    }

    #[test]
    fn a_planted_dose_reaches_the_review_screen_as_a_flag_with_evidence() {
        let transcript = Transcript {
            language: "en".into(),
            segments: [
                "[doctor] are you taking any medications ?",
                "[patient] just aspirin , eighty one milligrams every day .",
            ]
            .iter()
            .enumerate()
            .map(|(i, t)| Segment {
                id: i as u32,
                start_ms: i as u64 * 4000,
                end_ms: i as u64 * 4000 + 3900,
                speaker: None,
                text: (*t).to_string(),
                confidence: 0.9,
                unsure: Vec::new(),
            })
            .collect(),
            model_sha256: String::new(),
        };
        let draft = Draft {
            sections: vec![DraftSection {
                heading: "PLAN".into(),
                text: "Continue aspirin 500 mg daily.".into(),
            }],
            provenance: Provenance {
                model_sha256: String::new(),
                model_id: "test".into(),
                template_id: "soap".into(),
                template_version: 1,
                sampling: SamplingParams::default(),
                prompt_tokens: 0,
                omitted_transcript_chars: 0,
                section_inputs: Vec::new(),
                sentences: Vec::new(),
            },
        };
        let g = tacet_ground::ground(&draft, &transcript);
        let view = grounding_view(g);
        assert_eq!(view.sentences.len(), 1);
        let s = &view.sentences[0];
        assert_eq!(
            (s.section.as_str(), s.text.as_str()),
            ("PLAN", "Continue aspirin 500 mg daily.")
        );
        assert!(s.flags.iter().any(|f| f.label == "dose"), "{:?}", s.flags);
        assert!(
            s.evidence.iter().any(|e| e.segment_id == 1),
            "{:?}",
            s.evidence
        );
    }
}
