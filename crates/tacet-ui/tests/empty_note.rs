//! No silent empty note: a draft whose every section says "Not discussed."
//! shows a warning on the review screen and a box to tick, "I confirm this
//! note is intentionally empty"; without it "Attest and sign" is disabled
//! and Ctrl+Enter is refused, with it the note is attested and the
//! confirmation reaches the backend. The fake backend holds the application
//! layer's rule too. Driven through the real screens with egui_kittest
//! against the fake, finding controls by their accessible names.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use tacet_core::review::CONFIRM_EMPTY_STATEMENT;
use tacet_ui::fake::{FakeBackend, FakeProbe, FAKE_CLINICIAN};
use tacet_ui::{Backend, Event, Op, Request, Screen, Secret, TacetUi};

mod support;
use support::{click, texts_containing, type_into, unlock};

const CANARY: &str = "CANARY-patient-says-nothing-0815";
const ATTEST: &str = "Attest and sign (Ctrl+Enter)";
const WARNING: &str = "This note has no content";

/// Unlock → new DAP session with consent → transcribe → draft → review,
/// with the fake drafting an empty note when `empty`.
fn to_review(empty: bool) -> (Harness<'static, TacetUi>, FakeProbe) {
    let (mut h, probe) = support::harness(CANARY, 900.0);
    probe.log().empty_draft = empty;
    unlock(&mut h, FAKE_CLINICIAN);
    click(&mut h, "Start a new session");
    click(&mut h, "DAP note (dap)");
    type_into(
        &mut h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-003",
    );
    click(&mut h, "Yes, the patient consents");
    type_into(&mut h, "Recording file path", "/tmp/visit.wav");
    click(&mut h, "Transcribe recording (Ctrl+R)");
    assert_eq!(h.state().state.screen, Screen::Review);
    (h, probe)
}

fn attest_disabled(h: &Harness<'_, TacetUi>) -> bool {
    h.get_by_label(ATTEST).accesskit_node().is_disabled()
}

#[test]
fn fail_an_empty_draft_is_attested_only_once_confirmed_empty() {
    let (mut h, probe) = to_review(true);
    let warning = texts_containing(&h, WARNING);
    assert!(!warning.is_empty(), "the warning is shown");
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    // Everything else is ready: only the confirmation is missing.
    assert!(attest_disabled(&h), "attest without the confirmation");
    assert!(!texts_containing(&h, CONFIRM_EMPTY_STATEMENT).is_empty());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run();
    assert_eq!(h.state().state.screen, Screen::Review, "Ctrl+Enter refused");
    let refusal = h
        .state()
        .state
        .work
        .attest_refusal
        .clone()
        .unwrap_or_default();
    assert!(refusal.contains("no content"), "{refusal}");
    assert!(
        probe.log().confirm_empty.is_empty(),
        "nothing was sent to the backend"
    );

    click(&mut h, CONFIRM_EMPTY_STATEMENT);
    assert!(!attest_disabled(&h));
    click(&mut h, ATTEST);
    assert_eq!(h.state().state.screen, Screen::Export);
    let attested = h.state().state.work.attested.clone().unwrap();
    assert!(
        attested.text.starts_with("DATA:\nNot discussed.\n"),
        "{}",
        attested.text
    );
    let log = probe.log();
    assert_eq!(log.confirm_empty, vec![true]);
    assert_eq!(log.empty_notes_confirmed.len(), 1);
    let codes: Vec<&str> = log.audit.iter().map(|(c, _)| c.as_str()).collect();
    assert!(
        codes.ends_with(&["session.review_attested", "session.review_attested"]),
        "the attestation and its confirmation: {codes:?}"
    );
}

#[test]
fn a_note_with_content_asks_for_no_confirmation_until_it_is_emptied() {
    let (mut h, _probe) = to_review(false);
    assert!(texts_containing(&h, WARNING).is_empty());
    assert!(
        h.query_by_label(CONFIRM_EMPTY_STATEMENT).is_none(),
        "no box for a note with content"
    );
    // The clinician edits every section down to "Not discussed.": now it is
    // an empty note, and the warning and the box appear.
    for section in ["DATA", "ASSESSMENT", "PLAN"] {
        let edit = format!("Edit {section}");
        click(&mut h, &edit);
        // The button became the text field of the same name: select all
        // of it and type over it.
        click(&mut h, &edit);
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.run();
        h.get_by_label(&edit).type_text("Not discussed.");
        h.run();
        click(&mut h, &format!("Done editing {section}"));
    }
    let sections = &h.state().state.work.sections;
    assert!(
        sections.iter().all(|s| s.text == "Not discussed."),
        "{sections:?}"
    );
    assert!(!texts_containing(&h, WARNING).is_empty());
    h.get_by_label(CONFIRM_EMPTY_STATEMENT);
}

/// The fake answers an attest request as the application layer does, so a
/// front end that skipped its own check would still be refused.
#[test]
fn fail_the_fake_refuses_an_unconfirmed_empty_note_as_the_application_layer_does() {
    let (mut fake, probe) = FakeBackend::new(CANARY);
    probe.log().empty_draft = true;
    let send = |fake: &mut FakeBackend, r: Request| -> Vec<Event> {
        fake.send(r).unwrap();
        std::iter::from_fn(|| fake.try_recv()).collect()
    };
    send(
        &mut fake,
        Request::Unlock {
            user: FAKE_CLINICIAN.0.into(),
            passphrase: Secret::new(FAKE_CLINICIAN.1.into()),
        },
    );
    let session = send(
        &mut fake,
        Request::TranscribeWav {
            template_id: "dap".into(),
            patient_ref: "MRN-004".into(),
            wav_path: "/tmp/visit.wav".into(),
        },
    )
    .into_iter()
    .find_map(|e| match e {
        Event::Transcribed { session, .. } => Some(session),
        _ => None,
    })
    .expect("a session");
    send(&mut fake, Request::Draft { session });
    let empty = "DATA:\nNot discussed.\n\nASSESSMENT:\n(nothing recorded)\n\nPLAN:\nNone.\n";
    let attest = |confirm_empty| Request::Attest {
        session,
        text: empty.into(),
        passphrase: Secret::new(FAKE_CLINICIAN.1.into()),
        accept_flags: None,
        confirm_empty,
    };
    let refused = send(&mut fake, attest(false));
    assert!(
        refused.iter().any(|e| matches!(
            e,
            Event::Failed { op: Op::Attest, message } if message.contains("no content")
                && message.contains(CONFIRM_EMPTY_STATEMENT)
        )),
        "{refused:?}"
    );
    assert!(probe.log().empty_notes_confirmed.is_empty());
    let attested = send(&mut fake, attest(true));
    assert!(
        attested.iter().any(|e| matches!(e, Event::Attested { .. })),
        "{attested:?}"
    );
    assert_eq!(probe.log().empty_notes_confirmed, vec![session]);
}
