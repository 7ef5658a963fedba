//! The review gate as a property: over random sequences of commands, no
//! note is ever exported without an attestation for exactly that text, and
//! every export destroys its session. The store and engines are in-memory
//! fakes (the engines are not the point here; the rules are).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use proptest::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use tacet_app::{App, Engines, ExportFormat, ExportTo, NoteOutput, TemplateLibrary};
use tacet_core::lifecycle::Transition;
use tacet_core::ports::*;
use tacet_core::review::Attestation;
use tacet_core::*;

#[derive(Default)]
struct FakeSession {
    state: Option<SessionState>,
    transcript: Option<Transcript>,
    draft: Option<Draft>,
    attested: Option<(String, Attestation)>,
}

struct FakeStore {
    actor: Actor,
    sessions: HashMap<SessionId, FakeSession>,
    next: u8,
    events: Vec<AuditAction>,
    /// Every event the application layer recorded itself, whole.
    recorded: Vec<AuditEvent>,
    /// Every session's patient reference.
    patient: String,
}

impl FakeStore {
    fn get(&mut self, id: SessionId) -> Result<&mut FakeSession, StoreError> {
        match self.sessions.get_mut(&id) {
            Some(s) if s.state != Some(SessionState::Destroyed) => Ok(s),
            Some(_) => Err(StoreError::Denied("destroyed".into())),
            None => Err(StoreError::NoSuchSession(id.to_string())),
        }
    }
    fn step(&mut self, id: SessionId, t: Transition) -> Result<(), StoreError> {
        let s = self.get(id)?;
        s.state = Some(s.state.unwrap_or(SessionState::Created).apply(t)?);
        Ok(())
    }
}

impl SessionStore for FakeStore {
    fn actor(&self) -> &Actor {
        &self.actor
    }
    fn create_session(&mut self, _t: &str, _p: &PatientRef) -> Result<SessionId, StoreError> {
        self.next += 1;
        let id = SessionId([self.next; 16]);
        self.sessions.insert(
            id,
            FakeSession {
                state: Some(SessionState::Created),
                ..Default::default()
            },
        );
        self.events.push(AuditAction::SessionCreated);
        Ok(id)
    }
    fn session(&self, id: SessionId) -> Result<SessionSummary, StoreError> {
        let s = self
            .sessions
            .get(&id)
            .ok_or_else(|| StoreError::NoSuchSession(id.to_string()))?;
        Ok(SessionSummary {
            id,
            owner: self.actor.user.clone(),
            state: s.state.unwrap_or(SessionState::Created),
            template_id: "soap".into(),
            created_at_unix_ms: 0,
            receipt_id: None,
        })
    }
    fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        Ok(vec![])
    }
    fn patient_ref(&mut self, _id: SessionId) -> Result<PatientRef, StoreError> {
        Ok(PatientRef::new(self.patient.clone()))
    }
    fn append_audio(&mut self, id: SessionId, _s: &[f32], _last: bool) -> Result<u64, StoreError> {
        self.step(id, Transition::StartRecording)?;
        Ok(1)
    }
    fn audio(&mut self, _id: SessionId) -> Result<Vec<f32>, StoreError> {
        Ok(vec![])
    }
    fn put_transcript(&mut self, id: SessionId, t: &Transcript) -> Result<(), StoreError> {
        self.step(id, Transition::FinishTranscript)?;
        self.get(id)?.transcript = Some(t.clone());
        Ok(())
    }
    fn transcript(&mut self, id: SessionId) -> Result<Transcript, StoreError> {
        self.get(id)?
            .transcript
            .clone()
            .ok_or(StoreError::Denied("no transcript".into()))
    }
    fn put_draft(&mut self, id: SessionId, d: &Draft) -> Result<(), StoreError> {
        self.step(id, Transition::StoreDraft)?;
        let s = self.get(id)?;
        s.draft = Some(d.clone());
        s.attested = None;
        Ok(())
    }
    fn draft(&mut self, id: SessionId) -> Result<Draft, StoreError> {
        self.get(id)?
            .draft
            .clone()
            .ok_or(StoreError::Denied("no draft".into()))
    }
    fn put_attested(&mut self, note: &AttestedNote) -> Result<(), StoreError> {
        let id = note.session();
        self.step(id, Transition::Attest)?;
        self.get(id)?.attested = Some((note.text().to_string(), note.attestation().clone()));
        self.events.push(AuditAction::ReviewAttested);
        Ok(())
    }
    fn attested(&mut self, id: SessionId) -> Result<AttestedNote, StoreError> {
        let s = self.get(id)?;
        match &s.attested {
            Some((t, a)) => Ok(AttestedNote::reopen(id, t.clone(), Some(a.clone()))?),
            None => Err(GateError::NotAttested.into()),
        }
    }
    fn mark_exported(
        &mut self,
        note: &AttestedNote,
        _f: &'static str,
    ) -> Result<String, StoreError> {
        self.step(note.session(), Transition::Export)?;
        self.events.push(AuditAction::NoteExported);
        Ok("checkpoint".into())
    }
    fn destroy(
        &mut self,
        id: SessionId,
        trigger: &'static str,
    ) -> Result<DeletionReceipt, StoreError> {
        self.step(id, Transition::Destroy)?;
        let s = self.get_any(id);
        s.transcript = None;
        s.draft = None;
        s.attested = None;
        self.events.push(AuditAction::SessionDestroyed);
        Ok(DeletionReceipt {
            receipt_id: "r".into(),
            session: id,
            key_id_hex: String::new(),
            destroyed_ciphertexts: 1,
            trigger,
            actor: self.actor.user.clone(),
            at_unix_ms: 0,
            audit_seq: 0,
        })
    }
    fn record(&mut self, ev: AuditEvent) -> Result<u64, StoreError> {
        self.events.push(ev.action);
        self.recorded.push(ev);
        Ok(0)
    }
    fn verify_audit(&mut self, _e: &[String]) -> Result<AuditVerification, StoreError> {
        unimplemented!()
    }
    fn deletions(&mut self) -> Result<Vec<DeletionEntry>, StoreError> {
        Ok(vec![])
    }
    fn checkpoint(&mut self) -> Result<String, StoreError> {
        Ok(format!("checkpoint after {} records", self.events.len()))
    }

    fn set_model_approval(
        &mut self,
        _ev: tacet_core::AuditEvent,
        _sha256: [u8; 32],
        _approved: bool,
    ) -> Result<u64, StoreError> {
        Err(StoreError::Denied("no models in this test store".into()))
    }

    fn model_approved(&self, _sha256: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(false)
    }
}

impl FakeStore {
    fn get_any(&mut self, id: SessionId) -> &mut FakeSession {
        self.sessions.entry(id).or_default()
    }
}

struct FakeAsr;
impl Transcriber for FakeAsr {
    fn transcribe(&mut self, _s: &[f32]) -> Result<Transcript, EngineError> {
        Ok(Transcript {
            language: "en".into(),
            model_sha256: String::new(),
            segments: vec![],
        })
    }
}

/// Drafts "drafted" in every section; counts what it reads ahead.
#[derive(Default)]
struct FakeLlm {
    prewarmed: Vec<(String, usize)>,
}
impl Drafter for FakeLlm {
    fn prewarm(
        &mut self,
        t: &Transcript,
        template: &Template,
        _c: &AtomicBool,
    ) -> Result<(), EngineError> {
        self.prewarmed.push((template.id.clone(), t.segments.len()));
        Ok(())
    }

    fn draft(
        &mut self,
        _t: &Transcript,
        template: &Template,
        _p: &mut dyn FnMut(DraftProgress<'_>),
        _c: &AtomicBool,
    ) -> Result<Draft, EngineError> {
        Ok(Draft {
            sections: template
                .sections
                .iter()
                .map(|s| DraftSection {
                    heading: s.heading.clone(),
                    text: "drafted".into(),
                })
                .collect(),
            provenance: Provenance {
                model_sha256: String::new(),
                model_id: "fake".into(),
                template_id: template.id.clone(),
                template_version: template.version,
                sampling: SamplingParams::default(),
                prompt_tokens: 0,
                omitted_transcript_chars: 0,
                section_inputs: Vec::new(),
                sentences: Vec::new(),
            },
        })
    }
}

/// An empty store for a clinician.
fn clinician_store() -> FakeStore {
    FakeStore {
        actor: Actor::new("dr", Role::Clinician),
        sessions: HashMap::new(),
        next: 0,
        events: vec![],
        recorded: vec![],
        patient: "x".into(),
    }
}

/// The export's output in memory: files by path, what went to standard
/// output, and a full disk on request.
#[derive(Default)]
struct FakeOutput {
    files: HashMap<std::path::PathBuf, Vec<u8>>,
    stdout: Vec<Vec<u8>>,
    full: bool,
}

impl NoteOutput for FakeOutput {
    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }
    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if self.full {
            return Err(std::io::Error::other("No space left on device"));
        }
        if self.files.contains_key(path) {
            return Err(std::io::ErrorKind::AlreadyExists.into());
        }
        self.files.insert(path.to_path_buf(), bytes.to_vec());
        Ok(())
    }
    fn stdout(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.full {
            return Err(std::io::Error::other("No space left on device"));
        }
        self.stdout.push(bytes.to_vec());
        Ok(())
    }
}

impl FakeOutput {
    fn stdout_texts(&self) -> Vec<String> {
        self.stdout
            .iter()
            .map(|b| String::from_utf8(b.clone()).unwrap())
            .collect()
    }
}

struct FixedClock;
impl Clock for FixedClock {
    fn now_unix_ms(&self) -> u64 {
        1
    }
}

#[derive(Clone, Debug)]
enum Op {
    New,
    Draft(usize),
    Attest(usize, u8),
    Export(usize),
    Show(usize),
    Prewarm(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::New),
        (0usize..4).prop_map(Op::Draft),
        (0usize..4, 0u8..3).prop_map(|(s, t)| Op::Attest(s, t)),
        (0usize..4).prop_map(Op::Export),
        (0usize..4).prop_map(Op::Show),
        (0usize..4).prop_map(Op::Prewarm),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn no_note_leaves_without_an_attestation_for_exactly_that_text(ops in proptest::collection::vec(op(), 1..40)) {
        let lib = TemplateLibrary::built_in().unwrap();
        let clock = FixedClock;
        let mut asr = FakeAsr;
        let mut llm = FakeLlm::default();
        let mut store = FakeStore { actor: Actor::new("dr", Role::Clinician), sessions: HashMap::new(), next: 0, events: vec![], recorded: vec![], patient: "x".into() };
        let mut ids: Vec<SessionId> = vec![];
        // What the clinician last attested per session, as the test saw it.
        let mut attested: HashMap<SessionId, String> = HashMap::new();
        let no = AtomicBool::new(false);
        for op in ops {
            let mut e = Engines { transcriber: Some(&mut asr), drafter: Some(&mut llm), clock: &clock, templates: &lib };
            let pick = |i: usize| ids.get(i % ids.len().max(1)).copied();
            match op {
                Op::New => {
                    if let Ok(tacet_app::Started { session, .. }) = App::new(&mut store, &mut e).start_from_audio("soap", &PatientRef::new("p"), &[0.0; 16]) {
                        ids.push(session);
                    }
                }
                Op::Draft(i) => if let Some(id) = pick(i) {
                    if App::new(&mut store, &mut e).draft(id, &mut |_| {}, &no).is_ok() {
                        attested.remove(&id);
                    }
                },
                Op::Attest(i, t) => if let Some(id) = pick(i) {
                    let text = format!("NOTE {t}");
                    if App::new(&mut store, &mut e).attest(id, tacet_app::Attestation { text: text.clone(), accept_flags: None, confirm_empty: false }).is_ok() {
                        attested.insert(id, text);
                    }
                },
                Op::Show(i) => if let Some(id) = pick(i) {
                    let _ = App::new(&mut store, &mut e).show_note(id);
                },
                // Reading ahead changes nothing stored: no state, no draft.
                Op::Prewarm(i) => if let Some(id) = pick(i) {
                    let before = store.sessions.get(&id).map(|s| (s.state, s.draft.clone()));
                    let _ = App::new(&mut store, &mut e).prewarm(id, &no);
                    prop_assert_eq!(before, store.sessions.get(&id).map(|s| (s.state, s.draft.clone())));
                },
                Op::Export(i) => if let Some(id) = pick(i) {
                    let mut out = FakeOutput::default();
                    let r = App::new(&mut store, &mut e).export(id, ExportFormat::Text, ExportTo::Stdout, &mut out);
                    let written = out.stdout_texts();
                    match r {
                        Ok(tacet_app::Exported { .. }) => {
                            let expected = attested.remove(&id);
                            prop_assert!(expected.is_some(), "exported without an attestation");
                            prop_assert_eq!(written, vec![expected.unwrap()]);
                            prop_assert_eq!(store.sessions[&id].state, Some(SessionState::Destroyed));
                        }
                        _ => prop_assert!(written.is_empty(), "text left although export failed"),
                    }
                },
            }
        }
    }
}

#[test]
fn fail_export_without_attestation_is_refused_and_audited() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let no = AtomicBool::new(false);
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let Ok(tacet_app::Started { session, .. }) =
        App::new(&mut store, &mut e).start_from_audio("soap", &PatientRef::new("p"), &[0.0; 16])
    else {
        panic!("session")
    };
    App::new(&mut store, &mut e)
        .draft(session, &mut |_| {}, &no)
        .unwrap();
    let mut out = FakeOutput::default();
    let err = App::new(&mut store, &mut e)
        .export(session, ExportFormat::Text, ExportTo::Stdout, &mut out)
        .err()
        .unwrap();
    assert!(err.is_review_required());
    assert!(out.stdout.is_empty() && out.files.is_empty());
    assert_eq!(store.events.last(), Some(&AuditAction::ExportRefused));
}

#[test]
fn prewarm_reads_the_stored_transcript_with_the_sessions_template() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let no = AtomicBool::new(false);
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let Ok(tacet_app::Started { session, .. }) =
        App::new(&mut store, &mut e).start_from_audio("soap", &PatientRef::new("p"), &[0.0; 16])
    else {
        panic!("no session");
    };
    let r = App::new(&mut store, &mut e).prewarm(session, &no);
    assert!(matches!(r, Ok(())));
    let missing = SessionId([99; 16]);
    let r = App::new(&mut store, &mut e).prewarm(missing, &no);
    assert!(
        r.is_err(),
        "an unknown session is an error, not a silent read"
    );
    assert_eq!(llm.prewarmed, vec![("soap".to_string(), 0)]);
}

#[test]
fn fail_unknown_template_and_empty_audio() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let r =
        App::new(&mut store, &mut e).start_from_audio("nope", &PatientRef::new("p"), &[0.0; 16]);
    assert!(matches!(r, Err(tacet_app::AppError::UnknownTemplate(_))));
    let r = App::new(&mut store, &mut e).start_from_audio("soap", &PatientRef::new("p"), &[]);
    assert!(matches!(r, Err(tacet_app::AppError::EmptyAudio)));
}

#[test]
fn consent_is_audited_either_way_and_needs_a_known_template() {
    let lib = TemplateLibrary::built_in().unwrap();
    let clock = FixedClock;
    let mut store = clinician_store();
    let mut e = Engines {
        transcriber: None,
        drafter: None,
        clock: &clock,
        templates: &lib,
    };
    for given in [true, false] {
        let r = App::new(&mut store, &mut e).record_consent("soap", given);
        assert!(r.is_ok());
    }
    assert_eq!(
        store.events,
        vec![AuditAction::ConsentRecorded, AuditAction::ConsentRecorded]
    );
    let outcomes: Vec<tacet_core::Outcome> = store.recorded.iter().map(|ev| ev.outcome).collect();
    assert_eq!(
        outcomes,
        vec![tacet_core::Outcome::Success, tacet_core::Outcome::Denied],
        "a yes and a no, each as given"
    );
    assert!(store.sessions.is_empty(), "consent creates no session");
    let r = App::new(&mut store, &mut e).record_consent("nope", true);
    assert!(matches!(r, Err(tacet_app::AppError::UnknownTemplate(_))));
}

/// A full disk (or a folder gone) while the note is written out loses
/// nothing: the session is not destroyed, and the clinician can export again.
#[test]
fn fail_a_failed_export_write_keeps_the_session_and_a_retry_succeeds() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let no = AtomicBool::new(false);
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let Ok(tacet_app::Started { session, .. }) =
        App::new(&mut store, &mut e).start_from_audio("soap", &PatientRef::new("p"), &[0.0; 16])
    else {
        panic!("session")
    };
    App::new(&mut store, &mut e)
        .draft(session, &mut |_| {}, &no)
        .unwrap();
    App::new(&mut store, &mut e)
        .attest(
            session,
            tacet_app::Attestation {
                text: "SUBJECTIVE:\nReviewed.\n".into(),
                accept_flags: Some("reviewed with the patient".into()),
                confirm_empty: false,
            },
        )
        .unwrap();
    let mut out = FakeOutput {
        full: true,
        ..FakeOutput::default()
    };
    let err = App::new(&mut store, &mut e).export(
        session,
        ExportFormat::Text,
        ExportTo::Stdout,
        &mut out,
    );
    assert!(err.is_err());
    assert_ne!(
        store.sessions[&session].state,
        Some(SessionState::Destroyed)
    );
    out.full = false;
    let ok = App::new(&mut store, &mut e).export(
        session,
        ExportFormat::Text,
        ExportTo::Stdout,
        &mut out,
    );
    assert!(matches!(ok, Ok(tacet_app::Exported { .. })));
    assert_eq!(
        out.stdout_texts(),
        vec!["SUBJECTIVE:\nReviewed.\n".to_string()]
    );
    assert_eq!(
        store.sessions[&session].state,
        Some(SessionState::Destroyed)
    );
}

/// A drafted session of the SOAP template, ready to attest.
fn drafted(store: &mut FakeStore, e: &mut Engines<'_>) -> SessionId {
    let no = AtomicBool::new(false);
    let Ok(tacet_app::Started { session, .. }) =
        App::new(store, e).start_from_audio("soap", &PatientRef::new("p"), &[0.0; 16])
    else {
        panic!("session")
    };
    App::new(store, e).draft(session, &mut |_| {}, &no).unwrap();
    session
}

fn attest(
    store: &mut FakeStore,
    e: &mut Engines<'_>,
    session: SessionId,
    text: &str,
    confirm_empty: bool,
) -> Result<String, tacet_app::AppError> {
    App::new(store, e).attest(
        session,
        tacet_app::Attestation {
            text: text.into(),
            accept_flags: None,
            confirm_empty,
        },
    )
}

/// The SOAP note with nothing in it: two sections left empty (the renderer
/// writes "(nothing recorded)"), two that say only "Not discussed.".
fn empty_soap_note() -> String {
    tacet_core::draft::render_sections(
        [
            ("SUBJECTIVE", "Not discussed."),
            ("OBJECTIVE", ""),
            ("ASSESSMENT", "not discussed"),
            ("PLAN", " "),
        ]
        .into_iter(),
    )
}

fn empty_note_events(store: &FakeStore) -> Vec<&AuditEvent> {
    store
        .recorded
        .iter()
        .filter(|ev| ev.object.as_deref() == Some(tacet_core::audit::EMPTY_NOTE_CONFIRMED))
        .collect()
}

#[test]
fn fail_an_empty_note_is_not_attested_without_an_explicit_confirmation() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let session = drafted(&mut store, &mut e);
    let text = empty_soap_note();
    assert!(text.contains("(nothing recorded)"), "{text}");
    let err = attest(&mut store, &mut e, session, &text, false)
        .expect_err("an empty note needs a confirmation");
    assert!(
        matches!(err, tacet_app::AppError::EmptyNoteNotConfirmed),
        "{err}"
    );
    let words = err.to_string();
    assert!(words.contains("no content"), "{words}");
    assert!(words.contains("--confirm-empty"), "{words}");
    assert!(
        words.contains(tacet_core::review::CONFIRM_EMPTY_STATEMENT),
        "{words}"
    );
    // Nothing was attested, nothing audited as attested, nothing exportable.
    assert!(matches!(
        store.attested(session),
        Err(StoreError::Gate(GateError::NotAttested))
    ));
    assert!(!store.events.contains(&AuditAction::ReviewAttested));
    assert!(empty_note_events(&store).is_empty());
    // A blank text is refused by the gate itself, confirmed or not.
    let blank = attest(&mut store, &mut e, session, "  \n", true).err();
    assert!(
        matches!(
            blank,
            Some(tacet_app::AppError::Store(StoreError::Gate(
                GateError::Empty
            )))
        ),
        "{blank:?}"
    );
}

#[test]
fn an_empty_note_confirmed_explicitly_is_attested_and_the_confirmation_audited() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let session = drafted(&mut store, &mut e);
    let text = empty_soap_note();
    let ok = attest(&mut store, &mut e, session, &text, true);
    assert!(ok.is_ok());
    assert_eq!(store.attested(session).unwrap().text(), text);
    let confirmed = empty_note_events(&store);
    assert_eq!(confirmed.len(), 1);
    let ev = confirmed[0];
    assert_eq!(ev.action, AuditAction::ReviewAttested);
    assert_eq!(ev.outcome, tacet_core::Outcome::Success);
    assert_eq!(ev.session, Some(session));
    assert_eq!(ev.content_sha256, Some(sha256(text.as_bytes())));
    assert_eq!(
        ev.details,
        vec![tacet_core::audit::Detail::Count(4)],
        "the number of sections, no text"
    );
    // The attestation itself is recorded as for any note, before the
    // confirmation.
    assert!(store
        .events
        .ends_with(&[AuditAction::ReviewAttested, AuditAction::ReviewAttested]));
}

#[test]
fn a_note_with_one_real_sentence_needs_no_confirmation_and_records_none() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let text = tacet_core::draft::render_sections(
        [
            ("SUBJECTIVE", "Not discussed."),
            ("OBJECTIVE", ""),
            ("ASSESSMENT", "None."),
            ("PLAN", "Rest the knee for a week."),
        ]
        .into_iter(),
    );
    for confirm_empty in [false, true] {
        let session = drafted(&mut store, &mut e);
        let ok = attest(&mut store, &mut e, session, &text, confirm_empty);
        assert!(ok.is_ok(), "{confirm_empty}");
        assert_eq!(store.attested(session).unwrap().text(), text);
    }
    assert!(
        empty_note_events(&store).is_empty(),
        "a note with content is not recorded as empty, even when the box was ticked"
    );
}

/// A SOAP session attested with one real sentence, and its engines' parts.
fn attested_soap(store: &mut FakeStore, e: &mut Engines<'_>) -> SessionId {
    let session = drafted(store, e);
    App::new(store, e)
        .attest(
            session,
            tacet_app::Attestation {
                text: "SUBJECTIVE:\nReports a cough for 5 days.\n".into(),
                accept_flags: Some("said in the visit".into()),
                confirm_empty: false,
            },
        )
        .unwrap();
    session
}

#[test]
fn a_file_export_carries_its_checkpoint_and_a_later_save_is_audited_again() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let session = attested_soap(&mut store, &mut e);
    let mut out = FakeOutput::default();
    let first = Path::new("/notes/visit.txt");
    let exported = App::new(&mut store, &mut e)
        .export(session, ExportFormat::Text, ExportTo::File(first), &mut out)
        .unwrap();
    let text = String::from_utf8(out.files[first].clone()).unwrap();
    assert!(text.starts_with("SUBJECTIVE:\nReports a cough for 5 days.\n"));
    assert!(text.ends_with("\ncheckpoint"), "{text}");
    assert_eq!(
        exported.kept.text(),
        "SUBJECTIVE:\nReports a cough for 5 days.\n"
    );
    assert_eq!(
        store.sessions[&session].state,
        Some(SessionState::Destroyed)
    );
    assert_eq!(exported.kept.receipt().session, session);
    assert_eq!(exported.kept.receipt().trigger, "exported");

    // The same place again is refused before anything is recorded.
    let before = store.events.len();
    let again = App::new(&mut store, &mut e).export_again(
        &exported.kept,
        ExportFormat::Text,
        ExportTo::File(first),
        &mut out,
    );
    assert!(matches!(again, Err(tacet_app::AppError::ExportExists(_))));
    assert_eq!(store.events.len(), before);

    // A PDF of the same note, its session destroyed: one more export record,
    // and the PDF carries the checkpoint that includes it.
    let pdf = Path::new("/notes/visit.pdf");
    let checkpoint = App::new(&mut store, &mut e)
        .export_again(
            &exported.kept,
            ExportFormat::Pdf,
            ExportTo::File(pdf),
            &mut out,
        )
        .unwrap();
    assert!(out.files[pdf].starts_with(b"%PDF-"));
    let last = store.recorded.last().unwrap();
    assert_eq!(last.action, AuditAction::NoteExported);
    assert_eq!(last.session, Some(session));
    assert_eq!(last.details, vec![tacet_core::audit::Detail::Format("pdf")]);
    assert_eq!(
        checkpoint,
        format!("checkpoint after {} records", before + 1)
    );
}

#[test]
fn fail_a_fhir_export_without_a_patient_and_a_taken_file_name_record_nothing() {
    let lib = TemplateLibrary::built_in().unwrap();
    let (mut asr, mut llm, clock) = (FakeAsr, FakeLlm::default(), FixedClock);
    let mut store = clinician_store();
    store.patient = "  ".into();
    let mut e = Engines {
        transcriber: Some(&mut asr),
        drafter: Some(&mut llm),
        clock: &clock,
        templates: &lib,
    };
    let session = attested_soap(&mut store, &mut e);
    let before = store.events.len();
    let mut out = FakeOutput::default();
    let err = App::new(&mut store, &mut e)
        .export(
            session,
            ExportFormat::Fhir,
            ExportTo::File(Path::new("/notes/visit.json")),
            &mut out,
        )
        .err()
        .unwrap();
    assert!(err.to_string().contains("no patient reference"), "{err}");
    let taken = Path::new("/notes/taken.txt");
    out.files
        .insert(taken.to_path_buf(), b"someone else's".to_vec());
    let err = App::new(&mut store, &mut e)
        .export(session, ExportFormat::Text, ExportTo::File(taken), &mut out)
        .err()
        .unwrap();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(out.files[taken], b"someone else's");
    assert_eq!(store.events.len(), before, "nothing recorded");
    assert_eq!(store.sessions[&session].state, Some(SessionState::Attested));
    // As text the same session exports.
    let ok = App::new(&mut store, &mut e).export(
        session,
        ExportFormat::Text,
        ExportTo::Clipboard,
        &mut out,
    );
    assert!(ok.is_ok());
    assert!(out.stdout.is_empty(), "the window copies the note itself");
    assert_eq!(out.files.len(), 1);
    assert_eq!(
        store.sessions[&session].state,
        Some(SessionState::Destroyed)
    );
}
