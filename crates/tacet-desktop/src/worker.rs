//! The worker thread behind the window: the one place the desktop app
//! touches the vault, the engines and the file system.
//!
//! The vault is `!Sync` and `Vault::unlock` hands out an `Unlocked<'_>` that
//! borrows it, so the worker owns the vault outright and its loop has two
//! levels: locked (waiting for an Unlock) and, inside the scope of one
//! `Unlocked`, serving requests until Lock. Every request goes through
//! `tacet_app::execute`, the application layer the CLI also uses. Requests
//! come over a bounded channel the UI never blocks on; events go back over
//! another, and each one asks the window to repaint. Engines are loaded on
//! first use and kept across locks (they hold no patient data).

use crate::compose;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use tacet_app::{execute, AppError, Command, Engines, Outcome, TemplateLibrary};
use tacet_asr::WhisperTranscriber;
use tacet_core::ports::{DraftProgress, Drafter, SessionStore, Transcriber};
use tacet_core::{AuditAction, AuditEvent, PatientRef};
use tacet_crypto::{derive_key, KdfParams, Key256, Passphrase};
use tacet_llm::GgufDrafter;
use tacet_ui::{
    Backend, BackendError, Event, EvidenceView, ExportTarget, FlagView, GroundingView, ModelRow,
    Op, Request, SentenceView,
};
use tacet_vault::{Unlocked, Vault};

/// Requests waiting for the worker; a full queue is "busy", never a wait.
const REQUEST_QUEUE: usize = 16;
/// Events waiting for the window (tokens stream through here).
const EVENT_QUEUE: usize = 512;

/// The UI's handle on the worker.
pub struct WorkerBackend {
    tx: SyncSender<Request>,
    rx: Receiver<Event>,
    cancel: Arc<AtomicBool>,
}

impl Backend for WorkerBackend {
    fn send(&mut self, request: Request) -> Result<(), BackendError> {
        match self.tx.try_send(request) {
            Ok(()) => Ok(()),
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
    std::thread::Builder::new()
        .name("tacet-worker".into())
        .spawn(move || {
            let out = Out {
                tx: ev_tx,
                repaint: Box::new(repaint),
            };
            run(&data_dir, &req_rx, &out, &worker_cancel);
        })?;
    Ok(WorkerBackend { tx, rx, cancel })
}

/// The event side of the worker.
struct Out {
    tx: SyncSender<Event>,
    repaint: Box<dyn Fn() + Send>,
}

impl Out {
    /// Sends an event; false when the window has gone.
    fn emit(&self, ev: Event) -> bool {
        let ok = self.tx.send(ev).is_ok();
        (self.repaint)();
        ok
    }
    fn fail(&self, op: Op, message: impl Into<String>) {
        self.emit(Event::Failed {
            op,
            message: message.into(),
        });
    }
}

fn op_of(r: &Request) -> Op {
    match r {
        Request::Unlock { .. } | Request::Lock => Op::Unlock,
        Request::ListSessions => Op::Sessions,
        Request::RecordConsent { .. } => Op::Consent,
        Request::TranscribeWav { .. } => Op::Transcribe,
        Request::Draft { .. } => Op::Draft,
        Request::Attest { .. } => Op::Attest,
        Request::Export { .. } => Op::Export,
        Request::VerifyAudit | Request::Deletions | Request::Checkpoint | Request::Models => {
            Op::Admin
        }
    }
}

/// Engines, loaded on first use.
#[derive(Default)]
struct EngineCache {
    asr: Option<WhisperTranscriber>,
    llm: Option<GgufDrafter>,
}

/// Checks a re-entered passphrase without touching the vault: a key is
/// derived (Argon2id, fresh salt) from the passphrase at unlock and kept only
/// while unlocked; attestation derives again and compares.
struct PassCheck {
    params: KdfParams,
    key: Key256,
}

impl PassCheck {
    fn new(pass: &Passphrase) -> Option<Self> {
        let params = KdfParams::floor().ok()?;
        let key = derive_key(pass, &params).ok()?;
        Some(Self { params, key })
    }
    fn matches(&self, pass: &Passphrase) -> bool {
        match derive_key(pass, &self.params) {
            Ok(k) => {
                let diff = k
                    .danger_expose()
                    .iter()
                    .zip(self.key.danger_expose())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b));
                diff == 0
            }
            Err(_) => false,
        }
    }
}

fn run(data_dir: &Path, rx: &Receiver<Request>, out: &Out, cancel: &AtomicBool) {
    let mut vault = match Vault::open(data_dir) {
        Ok(v) => Some(v),
        Err(e) => {
            out.fail(Op::Unlock, format!("Cannot open the vault: {e}"));
            None
        }
    };
    let templates = match TemplateLibrary::with_custom_dir(&data_dir.join("templates")) {
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
    while let Ok(req) = rx.recv() {
        match req {
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
                let mut unlocked = match vault.unlock(&user, &pass) {
                    Ok(u) => u,
                    Err(e) => {
                        out.fail(Op::Unlock, e.to_string());
                        continue;
                    }
                };
                let Some(check) = PassCheck::new(&pass) else {
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
                }) {
                    return;
                }
                let mut s = Served {
                    store: &mut unlocked,
                    templates: &templates,
                    engines: &mut engines,
                    data_dir,
                    out,
                    cancel,
                    check: &check,
                };
                loop {
                    let Ok(req) = rx.recv() else { return };
                    match req {
                        Request::Lock => break,
                        Request::Unlock { .. } => {
                            out.fail(Op::Unlock, "Tacet is already unlocked; lock it first.")
                        }
                        other => s.serve(other),
                    }
                }
                out.emit(Event::Locked);
            }
            Request::Lock => {
                out.emit(Event::Locked);
            }
            other => out.fail(op_of(&other), "Tacet is locked; unlock it first."),
        }
    }
}

/// One unlocked user's requests.
struct Served<'a, 'v> {
    store: &'a mut Unlocked<'v>,
    templates: &'a TemplateLibrary,
    engines: &'a mut EngineCache,
    data_dir: &'a Path,
    out: &'a Out,
    cancel: &'a AtomicBool,
    check: &'a PassCheck,
}

impl Served<'_, '_> {
    fn exec(
        &mut self,
        cmd: Command<'_>,
        asr: bool,
        llm: bool,
        progress: &mut dyn FnMut(DraftProgress<'_>),
    ) -> Result<Outcome, AppError> {
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
        execute(&mut *self.store, &mut e, cmd, progress, self.cancel)
    }

    fn plain(&mut self, cmd: Command<'_>) -> Result<Outcome, AppError> {
        self.exec(cmd, false, false, &mut |_| {})
    }

    fn serve(&mut self, req: Request) {
        let op = op_of(&req);
        if let Err(message) = self.try_serve(req) {
            self.out.fail(op, message);
        }
    }

    /// Serves one request; an `Err` is the one message the UI shows.
    fn try_serve(&mut self, req: Request) -> Result<(), String> {
        let out = self.out;
        match req {
            Request::Unlock { .. } | Request::Lock => {}
            Request::ListSessions => {
                if let Outcome::Sessions(list) = self.plain(Command::ListSessions).map_err(words)? {
                    out.emit(Event::Sessions(list));
                }
            }
            Request::RecordConsent { template_id, given } => {
                if let Outcome::ConsentRecorded { given, .. } = self
                    .plain(Command::RecordConsent { template_id, given })
                    .map_err(words)?
                {
                    out.emit(Event::ConsentRecorded { given });
                }
            }
            Request::TranscribeWav {
                template_id,
                patient_ref,
                wav_path,
            } => {
                out.emit(Event::Progress("Reading the recording…".into()));
                let pcm =
                    tacet_audio::read_wav_file(Path::new(&wav_path)).map_err(|e| e.to_string())?;
                let samples = tacet_audio::to_mono_16k(&pcm).map_err(|e| e.to_string())?;
                if self.engines.asr.is_none() {
                    out.emit(Event::Progress("Loading the speech model…".into()));
                    let models =
                        compose::model_store(self.data_dir).map_err(|e| format!("{e:#}"))?;
                    self.engines.asr =
                        Some(compose::transcriber(&models).map_err(|e| format!("{e:#}"))?);
                }
                out.emit(Event::Progress(format!(
                    "Transcribing {:.1} s of audio on this computer…",
                    samples.len() as f64 / 16_000.0
                )));
                let cmd = Command::NewSessionFromAudio {
                    template_id,
                    patient: PatientRef::new(patient_ref),
                    samples_16k: samples,
                };
                if let Outcome::SessionStarted {
                    session,
                    transcript,
                } = self.exec(cmd, true, false, &mut |_| {}).map_err(words)?
                {
                    out.emit(Event::Transcribed {
                        session,
                        transcript,
                    });
                }
            }
            Request::Draft { session } => {
                self.cancel.store(false, Ordering::Relaxed);
                if self.engines.llm.is_none() {
                    out.emit(Event::Progress("Loading the drafting model…".into()));
                    let models =
                        compose::model_store(self.data_dir).map_err(|e| format!("{e:#}"))?;
                    self.engines.llm =
                        Some(compose::drafter(&models).map_err(|e| format!("{e:#}"))?);
                }
                out.emit(Event::Progress("Reading the transcript…".into()));
                let mut progress = |p: DraftProgress<'_>| {
                    let ev = match p {
                        DraftProgress::Section(h) => Event::DraftSection(h.to_string()),
                        DraftProgress::Token(t) => Event::DraftToken(t.to_string()),
                    };
                    out.emit(ev);
                };
                match self.exec(Command::Draft { session }, false, true, &mut progress) {
                    Ok(Outcome::Drafted { draft }) => {
                        out.emit(Event::Drafted { draft });
                        // The review screen needs the draft checked against
                        // the transcript: its flags gate attestation.
                        let grounding =
                            self.plain(Command::Grounding { session }).map_err(|e| {
                                format!(
                                    "The draft could not be checked against the transcript: {e}"
                                )
                            })?;
                        if let Some(grounding) = grounding_view(grounding) {
                            out.emit(Event::Grounding { session, grounding });
                        }
                    }
                    Ok(_) => {}
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
                if let Outcome::Attested { note_sha256_hex } = self
                    .plain(Command::Attest {
                        session,
                        text,
                        accept_flags,
                    })
                    .map_err(words)?
                {
                    out.emit(Event::Attested { note_sha256_hex });
                }
            }
            Request::Export { session, target } => {
                let format = match target {
                    ExportTarget::Clipboard => "clipboard",
                    ExportTarget::TextFile(_) => "text",
                };
                let mut write = |note: &str, checkpoint: &str| -> std::io::Result<()> {
                    match &target {
                        // The window copies the attested text it showed;
                        // nothing is written here.
                        ExportTarget::Clipboard => Ok(()),
                        ExportTarget::TextFile(path) => {
                            write_export_file(Path::new(path), note, checkpoint)
                                .map_err(|e| std::io::Error::new(e.kind(), format!("{path}: {e}")))
                        }
                    }
                };
                let outcome = self.plain(Command::Export {
                    session,
                    format,
                    write: &mut write,
                });
                if let Outcome::Exported {
                    checkpoint,
                    receipt,
                } = outcome.map_err(words)?
                {
                    out.emit(Event::Exported {
                        receipt,
                        checkpoint,
                    });
                }
            }
            Request::VerifyAudit => {
                let cmd = Command::VerifyAudit {
                    external_checkpoints: Vec::new(),
                };
                if let Outcome::Verification(v) = self.plain(cmd).map_err(words)? {
                    out.emit(Event::Verification(v));
                }
            }
            Request::Deletions => {
                if let Outcome::Deletions(d) = self.plain(Command::Deletions).map_err(words)? {
                    out.emit(Event::Deletions(d));
                }
            }
            Request::Checkpoint => {
                if let Outcome::Checkpoint(c) = self.plain(Command::Checkpoint).map_err(words)? {
                    out.emit(Event::Checkpoint(c));
                }
            }
            Request::Models => {
                let models = compose::model_store(self.data_dir).map_err(|e| format!("{e:#}"))?;
                let list = models.list().map_err(|e| e.to_string())?;
                out.emit(Event::Models(
                    list.into_iter()
                        .map(|m| ModelRow {
                            id: m.id,
                            role: m.role.to_string(),
                            size_bytes: m.size_bytes,
                            sha256: m.sha256,
                            licence: m.licence,
                        })
                        .collect(),
                ));
            }
        }
        Ok(())
    }
}

/// The grounding as the review screen's view type (tacet-ui does not
/// depend on the grounding crate); `None` for any other outcome.
fn grounding_view(outcome: Outcome) -> Option<GroundingView> {
    let Outcome::Grounding(g) = outcome else {
        return None;
    };
    Some(GroundingView {
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
    })
}

/// An application error in the words the window shows.
fn words(e: AppError) -> String {
    if e.is_review_required() {
        return format!("Refused: {e}");
    }
    e.to_string()
}

/// The note file: the note, then the audit checkpoint that witnesses it.
/// Created new (never overwriting), readable by its owner only.
pub fn write_export_file(path: &Path, note: &str, checkpoint: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    write!(
        f,
        "{note}\n-----\nTacet audit checkpoint at export (keep it with the note; `tacet audit verify` checks the log against it):\n{checkpoint}"
    )?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacet_core::{Draft, DraftSection, Provenance, SamplingParams, Segment, Transcript};

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
            },
        };
        let g = tacet_ground::ground(&draft, &transcript);
        let view = grounding_view(Outcome::Grounding(g)).unwrap();
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
        assert!(grounding_view(Outcome::Checkpoint(String::new())).is_none());
    }
}
