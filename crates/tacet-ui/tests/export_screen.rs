//! The export screen: every output of the one attested note — the whole
//! note or one section to the clipboard, a text, PDF or FHIR file — is
//! offered only after attestation, and all of them stay available after
//! the first export destroys the session, until the clinician presses
//! Finish. Driven through the real screens with egui_kittest against the
//! fake backend; the clipboard is read from the frames' `CopyText`
//! commands.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tacet_core::draft::render_sections;
use tacet_ui::fake::{FakeProbe, FAKE_CLINICIAN};
use tacet_ui::{Screen, TacetUi};

mod support;
use support::{click, type_into};

fn harness() -> (Harness<'static, TacetUi>, FakeProbe) {
    support::harness("the patient reports knee pain", 900.0)
}

const SAVE_BUTTONS: [&str; 3] = ["Save as text", "Save as PDF", "Save as FHIR"];

/// Unlock → consent → transcribe → draft → every section accepted → the
/// review screen, not yet attested.
fn to_review(h: &mut Harness<'_, TacetUi>) {
    h.run();
    h.state_mut().state.unlock.user.clear();
    type_into(h, "User name", FAKE_CLINICIAN.0);
    type_into(h, "Passphrase", FAKE_CLINICIAN.1);
    click(h, "Unlock");
    click(h, "Start a new session");
    click(h, "DAP note (dap)");
    type_into(
        h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-001",
    );
    click(h, "Yes, the patient consents");
    type_into(h, "Recording file path", "/tmp/visit.wav");
    click(h, "Transcribe recording (Ctrl+R)");
    assert_eq!(h.state().state.screen, Screen::Review);
    for s in ["Accept DATA", "Accept ASSESSMENT", "Accept PLAN"] {
        click(h, s);
    }
    click(h, "Accept flag 1 (dose)");
    type_into(
        h,
        "Reason for accepting flag 1",
        "Dose confirmed with the pharmacy",
    );
}

fn attest(h: &mut Harness<'_, TacetUi>) {
    click(h, "I have reviewed this note and it is accurate.");
    type_into(h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(h, "Attest and sign (Ctrl+Enter)");
    assert_eq!(h.state().state.screen, Screen::Export);
}

/// Runs frames until the app settles, collecting what it copied.
fn copied_after(h: &mut Harness<'_, TacetUi>, steps: usize) -> Vec<String> {
    let mut copied = Vec::new();
    for _ in 0..steps {
        h.step();
        for c in &h.output().platform_output.commands {
            if let egui::OutputCommand::CopyText(t) = c {
                copied.push(t.clone());
            }
        }
    }
    copied
}

fn exports_requested(probe: &FakeProbe) -> usize {
    probe
        .log()
        .requests
        .iter()
        .filter(|r| r.starts_with("export"))
        .count()
}

#[test]
fn the_formats_are_offered_only_after_attestation() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    for absent in SAVE_BUTTONS
        .into_iter()
        .chain(["Copy whole note", "Copy DATA", "Copy PLAN"])
    {
        assert!(
            h.query_by_label(absent).is_none(),
            "{absent} before attestation"
        );
    }
    attest(&mut h);
    for present in SAVE_BUTTONS.into_iter().chain([
        "Copy whole note",
        "Copy DATA",
        "Copy ASSESSMENT",
        "Copy PLAN",
    ]) {
        h.get_by_label(present);
    }
    assert_eq!(exports_requested(&probe), 0, "nothing exported by looking");
}

#[test]
fn copying_a_section_puts_exactly_that_section_on_the_clipboard() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    let attested = h.state().state.work.attested.clone().unwrap();
    let section = |heading: &str| {
        let (h, t) = attested
            .sections
            .iter()
            .find(|(h, _)| h == heading)
            .unwrap();
        render_sections(std::iter::once((h.as_str(), t.as_str())))
    };
    h.get_by_label("Copy PLAN").click();
    let copied = copied_after(&mut h, 4);
    assert_eq!(copied, [section("PLAN")]);
    assert!(copied[0].starts_with("PLAN:\n") && !copied[0].contains("DATA:"));
    assert!(
        attested.text.contains(&copied[0]),
        "a slice of the attested text"
    );
    h.run();
    h.get_by_label("Session destroyed");
    // The next section comes from the attested note on screen: no second export.
    h.get_by_label("Copy DATA").click();
    let copied = copied_after(&mut h, 3);
    assert_eq!(copied, [section("DATA")]);
    assert_eq!(exports_requested(&probe), 1);
}

#[test]
fn a_copy_is_cleared_from_the_clipboard_after_the_configured_time() {
    let (mut h, _probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    h.state_mut().state.settings.clipboard_clear_s = 1;
    h.get_by_label("Copy ASSESSMENT").click();
    // Frames are 0.25 s apart: the copy, then an empty clipboard about 1 s on.
    let copied = copied_after(&mut h, 12);
    assert_eq!(copied.len(), 2, "{copied:?}");
    assert!(copied[0].starts_with("ASSESSMENT:\n"));
    assert_eq!(copied[1], "");
    h.get_by_label("The clipboard was cleared.");
}

#[test]
fn copy_sections_then_save_pdf_and_fhir_of_the_same_note() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    let attested = h.state().state.work.attested.clone().unwrap();
    // The first copy exports the note and destroys the session.
    h.get_by_label("Copy DATA").click();
    h.run();
    h.get_by_label("Session destroyed");
    let receipt = h.state().state.work.receipt.clone().unwrap();
    // Saving still works, from the note the backend kept: another copy each.
    assert!(h.query_by_label("Save as PDF").is_none());
    type_into(&mut h, "Save to (path of a new file)", "/tmp/note.pdf");
    click(&mut h, "Save another copy as PDF");
    h.state_mut().state.work.save_path = "/tmp/note.fhir.json".into();
    h.run();
    click(&mut h, "Save another copy as FHIR");
    let log = probe.log();
    assert_eq!(log.files.len(), 2, "{:?}", log.files);
    assert_eq!(log.files[0].0, "/tmp/note.pdf");
    assert!(log.files[0].1.starts_with("%PDF-1.4"));
    assert!(log.files[0].1.ends_with(&attested.text));
    assert_eq!(log.files[1].0, "/tmp/note.fhir.json");
    assert!(log.files[1].1.contains("DocumentReference"));
    assert!(log.files[1].1.ends_with(&attested.text));
    let codes: Vec<&str> = log.audit.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "session.exported").count(),
        3
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "session.destroyed").count(),
        1
    );
    drop(log);
    // Still the same session, the same receipt; the last save is described.
    assert_eq!(h.state().state.work.receipt.as_ref(), Some(&receipt));
    let last = h.state().state.work.last_export.clone().unwrap();
    assert!(
        last.contains("FHIR") && last.contains("/tmp/note.fhir.json"),
        "{last}"
    );
    assert!(h.state().state.error.is_none());
}

#[test]
fn fail_saving_over_an_existing_file() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    type_into(&mut h, "Save to (path of a new file)", "/tmp/note.txt");
    click(&mut h, "Save as text");
    h.get_by_label("Session destroyed");
    click(&mut h, "Save another copy as text");
    let error = h.state().state.error.clone().unwrap_or_default();
    assert!(error.contains("already exists"), "{error}");
    assert_eq!(probe.log().files.len(), 1);
}

#[test]
fn fail_no_save_without_a_path() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    click(&mut h, "Save as PDF");
    assert!(h
        .state()
        .state
        .error
        .clone()
        .unwrap_or_default()
        .contains("Enter where to save"));
    assert_eq!(exports_requested(&probe), 0);
    assert!(h.state().state.work.receipt.is_none(), "nothing destroyed");
}

#[test]
fn the_file_to_save_is_named_in_the_picker() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("yesterday.pdf"), b"an older note").unwrap();
    let (mut h, probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    type_into(
        &mut h,
        "Save to (path of a new file)",
        &format!("{}/", dir.path().display()),
    );
    click(&mut h, "Choose where to save the note…");
    // The folder's files are listed, so a taken name is seen before saving.
    assert!(!support::texts_containing(&h, "yesterday.pdf").is_empty());
    type_into(&mut h, "File name", "visit-note.pdf");
    click(&mut h, "Choose");
    let chosen = dir.path().join("visit-note.pdf");
    assert_eq!(h.state().state.work.save_path, chosen.display().to_string());
    click(&mut h, "Save as PDF");
    assert_eq!(exports_requested(&probe), 1);
}

/// The save buttons are the core's list of formats: a format added there
/// (Markdown was the first, with no change to any screen) is offered and
/// sent with the request.
#[test]
fn every_format_the_core_lists_is_offered_and_sent() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    attest(&mut h);
    for f in tacet_core::ExportFormat::ALL {
        h.get_by_label(&format!("Save as {}", f.short_label()));
    }
    type_into(&mut h, "Save to (path of a new file)", "/tmp/visit-note.md");
    click(&mut h, "Save as Markdown");
    let log = probe.log();
    let export = log
        .requests
        .iter()
        .find(|r| r.starts_with("export"))
        .expect("an export request");
    assert!(
        export.contains("Markdown") && export.contains("visit-note.md"),
        "{export}"
    );
}
