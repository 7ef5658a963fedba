//! A session left before attestation is opened again from the list, and
//! its owner shares it with a covering colleague (issue 22, item 2).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tacet_core::SessionState;
use tacet_ui::fake::FAKE_CLINICIAN;
use tacet_ui::{Screen, TacetUi};

mod support;
use support::{click, type_into, unlock};

fn a_drafted_session(h: &mut Harness<'_, TacetUi>) {
    unlock(h, FAKE_CLINICIAN);
    click(h, "Start a new session");
    type_into(
        h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-003",
    );
    click(h, "Yes, the patient consents");
    type_into(h, "Recording file path", "/tmp/visit.wav");
    click(h, "Transcribe recording (Ctrl+R)");
    assert_eq!(h.state().state.screen, Screen::Review);
    // The clinician leaves for the list before attesting.
    click(h, "Sessions");
    click(h, "Refresh");
    assert_eq!(h.state().state.screen, Screen::Sessions);
}

#[test]
fn a_session_left_before_attestation_opens_again_for_review() {
    let (mut h, probe) = support::harness("CANARY-reopened-visit", 1000.0);
    a_drafted_session(&mut h);
    let listed = h.state().state.sessions.clone();
    assert_eq!(listed.len(), 1);
    assert!(matches!(
        listed[0].state,
        SessionState::Transcribed | SessionState::Drafted
    ));
    // The owner column names the signed-in clinician as "you".
    h.get_by_label("you");
    click(&mut h, "Open");
    assert_eq!(h.state().state.screen, Screen::Review);
    assert_eq!(h.state().state.work.session, Some(listed[0].id));
    assert!(
        h.state()
            .state
            .work
            .transcript
            .as_ref()
            .is_some_and(|t| t.to_text().contains("CANARY-reopened-visit")),
        "the transcript is back beside the draft"
    );
    assert!(probe
        .log()
        .audit
        .iter()
        .any(|(code, _)| code == "session.note_viewed"));
}

#[test]
fn the_owner_shares_a_session_with_a_colleague_and_stops() {
    let (mut h, probe) = support::harness("CANARY-shared-visit", 1400.0);
    a_drafted_session(&mut h);
    // A colleague to cover: enrolled by the clinician.
    click(&mut h, "Add a colleague");
    type_into(&mut h, "New user's name", "drkim");
    type_into(&mut h, "New user's passphrase", "kim-passphrase-77");
    type_into(&mut h, "Repeat the passphrase", "kim-passphrase-77");
    click(&mut h, "Add colleague");
    click(&mut h, "Share a session with a colleague");
    // Nothing chosen yet: the form says what is missing.
    click(&mut h, "Share");
    assert_eq!(
        h.state().state.error.as_deref(),
        Some("Choose the session to share.")
    );
    let id = h.state().state.sessions[0].id;
    h.state_mut().state.share.session = Some(id);
    type_into(&mut h, "Colleague's user name", "drkim");
    click(&mut h, "Share");
    let notice = h.state().state.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("drkim can now open session") && notice.contains(&id.short()),
        "{notice}"
    );
    type_into(&mut h, "Colleague's user name", "drkim");
    click(&mut h, "Stop sharing");
    let notice = h.state().state.notice.clone().unwrap_or_default();
    assert!(notice.contains("drkim can no longer open"), "{notice}");
    // An admin is no colleague to cover a session.
    type_into(&mut h, "Colleague's user name", "admin");
    click(&mut h, "Share");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("not a colleague"), "{err}");
    let codes: Vec<String> = probe.log().audit.iter().map(|(c, _)| c.clone()).collect();
    assert!(codes.contains(&"session.cover_granted".to_string()));
    assert!(codes.contains(&"session.cover_revoked".to_string()));
}

#[test]
fn an_attested_session_left_before_export_opens_to_its_export() {
    let (mut h, _probe) = support::harness("CANARY-attested-visit", 1400.0);
    a_drafted_session(&mut h);
    click(&mut h, "Open");
    assert_eq!(h.state().state.screen, Screen::Review);
    let headings: Vec<String> = h
        .state()
        .state
        .work
        .sections
        .iter()
        .map(|s| s.heading.clone())
        .collect();
    for heading in &headings {
        click(&mut h, &format!("Accept {heading}"));
    }
    click(&mut h, "Accept flag 1 (dose)");
    type_into(
        &mut h,
        "Reason for accepting flag 1",
        "Dose confirmed with the pharmacy",
    );
    click(&mut h, "I have reviewed this note and it is accurate.");
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    assert_eq!(h.state().state.screen, Screen::Export);
    let attested = h.state().state.work.attested.clone().unwrap();
    // The clinician leaves without exporting, and comes back from the list.
    click(&mut h, "Sessions");
    click(&mut h, "Refresh");
    assert_eq!(h.state().state.sessions[0].state, SessionState::Attested);
    h.state_mut().state.work = Default::default();
    click(&mut h, "Open");
    assert_eq!(h.state().state.screen, Screen::Export);
    let reopened = h.state().state.work.attested.clone().unwrap();
    assert_eq!(reopened.text, attested.text, "exactly the attested note");
    assert_eq!(
        reopened.sections.len(),
        headings.len(),
        "{:?}",
        reopened.sections
    );
    h.get_by_label("Copy whole note");
    h.get_by_label(&format!("Copy {}", headings[0]));
}

#[test]
fn an_interrupted_recording_is_finished_from_the_list() {
    let (fake, probe) = tacet_ui::fake::FakeBackend::new("CANARY-cut-short-visit");
    let mut h = support::window(fake.with_interrupted_session(), 1000.0);
    unlock(&mut h, FAKE_CLINICIAN);
    click(&mut h, "Refresh");
    // What the clinician reads first: a recording was cut short, and how to
    // finish it.
    let said = support::texts_containing(&h, "stopped before they were finished");
    assert!(!said.is_empty());
    assert!(
        said.iter()
            .all(|t| t.starts_with("1 recording(s)") && t.contains("open it to transcribe it")),
        "{said:?}"
    );
    assert_eq!(h.state().state.sessions[0].state, SessionState::Interrupted);
    click(&mut h, "Open");
    assert_eq!(h.state().state.screen, Screen::Review);
    assert!(h
        .state()
        .state
        .work
        .transcript
        .as_ref()
        .is_some_and(|t| t.to_text().contains("CANARY-cut-short-visit")));
    assert!(probe
        .log()
        .audit
        .iter()
        .any(|(code, _)| code == "session.recording_recovered"));
    click(&mut h, "Sessions");
    click(&mut h, "Refresh");
    assert!(support::texts_containing(&h, "stopped before they were finished").is_empty());
}
