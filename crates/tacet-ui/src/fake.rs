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

use crate::backend::{
    Backend, BackendError, Event, EvidenceView, ExportTarget, FlagView, GroundingView, ModelRow,
    Op, Request, SentenceView,
};
use crate::state::{squash, MIN_REASON_CHARS};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tacet_core::ports::{AuditVerification, DeletionEntry, DeletionReceipt, SessionSummary};
use tacet_core::{
    Draft, DraftSection, Provenance, Role, SamplingParams, Segment, SessionId, SessionState,
    Template, Transcript, UserName,
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
}

/// The sentence the fake plants in every PLAN: a dose the transcript does
/// not have.
pub const FAKE_FLAGGED_SENTENCE: &str = "Start aspirin 500 mg daily.";
/// The transcript segment that says the real dose.
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
    next_id: u8,
}

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
            next_id: 1,
        };
        (fake, FakeProbe(log))
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
        match req {
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
                if !wav_path.ends_with(".wav") {
                    return self.fail(Op::Transcribe, "That file is not a WAV recording.");
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
                        },
                        Segment {
                            id: 1,
                            start_ms: 3000,
                            end_ms: 6000,
                            speaker: None,
                            text: FAKE_DOSE_SEGMENT.into(),
                            confidence: 0.9,
                        },
                    ],
                    model_sha256: "0".repeat(64),
                };
                self.events.push_back(Event::Transcribed {
                    session: id,
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
                for s in &t.sections {
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
            } => {
                self.log().accept_flags.push(accept_flags.clone());
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
                    .is_some_and(|r| r.trim().chars().count() >= MIN_REASON_CHARS);
                if open > 0 && !reason_ok {
                    return self.fail(
                        Op::Attest,
                        &format!("{open} flagged sentence(s) in the draft are not resolved: edit or remove them, or accept them with a reason"),
                    );
                }
                self.audit("session.review_attested", "success");
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
                if self.state_of(session) != Some(SessionState::Attested) {
                    self.audit("session.export_refused", "denied");
                    return self.fail(Op::Export, "The note has not been attested.");
                }
                if let ExportTarget::TextFile(path) = &target {
                    let text = self
                        .sessions
                        .iter()
                        .find(|(s, _)| s.id == session)
                        .and_then(|(_, t)| t.clone())
                        .unwrap_or_default();
                    self.log().files.push((path.clone(), text));
                }
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
            Request::VerifyAudit => {
                self.audit("audit.verified", "success");
                self.events
                    .push_back(Event::Verification(AuditVerification {
                        records: 12,
                        root_hex: "ef".repeat(32),
                        checkpoints_checked: 2,
                        problems: Vec::new(),
                    }));
            }
            Request::Deletions => {
                self.audit("audit.viewed", "success");
                self.events
                    .push_back(Event::Deletions(self.deletions.clone()));
            }
            Request::Checkpoint => {
                self.events.push_back(Event::Checkpoint(
                    "tacet.local/audit\n12\n7+8n3lQbV0cG9pbnQ=\n\n— tacet.local/audit AAAAfakesig\n".into(),
                ));
            }
            Request::Models => self.events.push_back(Event::Models(vec![ModelRow {
                id: "whisper-tiny.en".into(),
                role: "asr".into(),
                size_bytes: 77_691_713,
                sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a".into(),
                licence: "MIT".into(),
            }])),
        }
    }
}

impl Backend for FakeBackend {
    fn send(&mut self, request: Request) -> Result<(), BackendError> {
        self.handle(request);
        Ok(())
    }

    fn try_recv(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn cancel_draft(&self) {}
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
