//! The clinician's and the admin's flows, driven through the real screens
//! with egui_kittest (no display, no GPU) against the fake backend. Controls
//! are found by their accessible names, the way a screen reader finds them;
//! "absent" means no node with that name exists at all.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use tacet_ui::fake::{
    FakeProbe, FAKE_ADMIN, FAKE_CHAIN_KEY, FAKE_CLINICIAN, FAKE_DOSE_SEGMENT,
    FAKE_FLAGGED_SENTENCE, FAKE_UNSURE_SEGMENT,
};
use tacet_ui::{Screen, TacetUi};

mod support;
use support::{click, texts_containing, type_into, unlock};

fn harness() -> (Harness<'static, TacetUi>, FakeProbe) {
    support::harness(CANARY, 800.0)
}

const CANARY: &str = "CANARY-patient-says-zebra-4711";

/// The fake's one flag (the planted 500 mg dose), kept with a reason.
const ACCEPT_FLAG: &str = "Accept flag 1 (dose)";
const FLAG_REASON: &str = "Reason for accepting flag 1";

fn accept_the_flag(h: &mut Harness<'_, TacetUi>) {
    click(h, ACCEPT_FLAG);
    type_into(h, FLAG_REASON, "Dose confirmed with the pharmacy");
}

/// Unlock → new session with consent → transcribe → draft → review.
fn to_review(h: &mut Harness<'_, TacetUi>) {
    unlock(h, FAKE_CLINICIAN);
    assert_eq!(h.state().state.screen, Screen::Sessions);
    click(h, "Start a new session");
    assert_eq!(h.state().state.screen, Screen::NewSession);
    // Every template is offered.
    h.get_by_label("SOAP note (soap)");
    h.get_by_label("DAP note (dap)");
    click(h, "DAP note (dap)");
    type_into(
        h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-001",
    );
    click(h, "Yes, the patient consents");
    assert_eq!(h.state().state.screen, Screen::Record);
    // Live recording is offered; this flow takes the WAV file instead.
    assert!(!h
        .get_by_label("Record from microphone")
        .accesskit_node()
        .is_disabled());
    type_into(h, "Recording file path", "/tmp/visit.wav");
    click(h, "Transcribe recording (Ctrl+R)");
    // Transcription, then drafting, streamed by the fake; the draft ends on Review.
    assert_eq!(h.state().state.screen, Screen::Review);
    assert!(
        h.state().state.work.live_draft.contains("DATA:"),
        "the tokens were shown as they came"
    );
}

#[test]
fn the_clinician_flow_from_unlock_to_destroyed_session() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    // The transcript is beside the draft.
    assert!(!texts_containing(&h, CANARY).is_empty());
    click(&mut h, "Accept DATA");
    click(&mut h, "Edit ASSESSMENT");
    type_into(&mut h, "Edit ASSESSMENT", " Stable.");
    click(&mut h, "Done editing ASSESSMENT");
    click(&mut h, "Accept PLAN");
    accept_the_flag(&mut h);
    click(&mut h, "I have reviewed this note and it is accurate.");
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    assert_eq!(h.state().state.screen, Screen::Export);
    let attested = h.state().state.work.attested.clone().unwrap();
    assert!(attested.text.contains("ASSESSMENT:\n") && attested.text.contains("Stable."));
    // Export controls exist now.
    h.get_by_label("Copy whole note");
    h.get_by_label("Copy PLAN");
    h.get_by_label("Save as text");
    h.get_by_label("Copy whole note").click();
    // Frame 1 sends the export; frame 2 receives the confirmation and copies.
    let mut copied = false;
    for _ in 0..3 {
        h.step();
        copied |= h
            .output()
            .platform_output
            .commands
            .iter()
            .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == &attested.text));
    }
    h.run();
    // The note went to the clipboard, and the session is gone with a receipt.
    assert!(copied, "the attested note was copied");
    h.get_by_label("Session destroyed");
    let receipt = h.state().state.work.receipt.clone().unwrap();
    h.get_by_label(&receipt.receipt_id);
    let log = probe.log();
    let codes: Vec<&str> = log.audit.iter().map(|(c, _)| c.as_str()).collect();
    assert!(
        codes.ends_with(&[
            "session.review_attested",
            "session.exported",
            "session.destroyed"
        ]),
        "{codes:?}"
    );
    assert!(log
        .audit
        .contains(&("session.consent".into(), "success".into())));
    drop(log);
    // Finishing shows the list: the destroyed session with its receipt, no patient text.
    click(&mut h, "Finish");
    assert_eq!(h.state().state.screen, Screen::Sessions);
    h.get_by_label(&receipt.receipt_id);
    h.get_by_label("destroyed");
    assert!(texts_containing(&h, CANARY).is_empty());
    assert!(texts_containing(&h, "MRN-001").is_empty());
}

#[test]
fn a_long_session_draft_says_what_the_model_did_not_read() {
    let (mut h, _) = harness();
    to_review(&mut h);
    assert!(
        texts_containing(&h, "too long for the model").is_empty(),
        "no notice when the model read everything"
    );
    drop(h);
    let (mut h, probe) = harness();
    probe.log().long_session = true;
    to_review(&mut h);
    let shown = texts_containing(&h, "too long for the model");
    assert!(!shown.is_empty(), "the notice is shown");
    assert!(
        shown[0].contains("DATA from 40 of 412 segments"),
        "{shown:?}"
    );
    assert!(shown[0].contains("Check the transcript"), "{shown:?}");
}

#[test]
fn the_review_transcript_marks_words_the_engine_was_unsure_of() {
    let (mut h, _) = harness();
    to_review(&mut h);
    h.get_by_label(&format!("[00:06] {FAKE_UNSURE_SEGMENT} (unsure)"));
    h.get_by_label(&format!("[00:03] {FAKE_DOSE_SEGMENT}"));
}

#[test]
fn save_as_text_exports_the_attested_text_once() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    accept_the_flag(&mut h);
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run();
    assert_eq!(
        h.state().state.screen,
        Screen::Export,
        "Ctrl+Enter attests when ready"
    );
    type_into(&mut h, "Save to (path of a new file)", "/tmp/note.txt");
    click(&mut h, "Save as text");
    h.get_by_label("Session destroyed");
    // Once destroyed there is nothing left to save from the vault.
    assert!(h.query_by_label("Save as text").is_none());
    let log = probe.log();
    assert_eq!(log.files.len(), 1);
    assert_eq!(
        log.files[0].1,
        h.state().state.work.attested.as_ref().unwrap().text
    );
}

#[test]
fn fail_consent_refusal_shows_no_recording_control() {
    let (mut h, probe) = harness();
    unlock(&mut h, FAKE_CLINICIAN);
    click(&mut h, "Start a new session");
    type_into(
        &mut h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-002",
    );
    click(&mut h, "No, the patient declines");
    assert_eq!(h.state().state.screen, Screen::NewSession);
    h.get_by_label("consent declined");
    for absent in [
        "Transcribe recording (Ctrl+R)",
        "Recording file path",
        "Record from microphone",
    ] {
        assert!(
            h.query_by_label(absent).is_none(),
            "{absent} must not exist without consent"
        );
    }
    // Ctrl+R does nothing either, and the refusal was audited as denied.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    h.run();
    assert_eq!(h.state().state.screen, Screen::NewSession);
    let log = probe.log();
    assert!(log
        .audit
        .contains(&("session.consent".into(), "denied".into())));
    assert!(!log.requests.iter().any(|r| r == "transcribe"));
}

#[test]
fn fail_no_export_or_copy_control_before_attestation() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    let export_like = |h: &Harness<'_, TacetUi>| {
        h.query_all_by(|n| {
            n.label().is_some_and(|l| {
                let l = l.to_lowercase();
                l.contains("copy") || l.contains("export") || l.contains("save")
            })
        })
        .count()
    };
    assert_eq!(
        export_like(&h),
        0,
        "no copy/export/save control on the review screen"
    );
    // Still none with every section accepted but no attestation.
    for s in ["Accept DATA", "Accept ASSESSMENT", "Accept PLAN"] {
        click(&mut h, s);
    }
    assert_eq!(export_like(&h), 0);
    assert!(!probe.log().requests.iter().any(|r| r.starts_with("export")));
}

#[test]
fn fail_attestation_while_a_section_is_neither_accepted_nor_edited() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    click(&mut h, "Accept DATA");
    click(&mut h, "I have reviewed this note and it is accurate.");
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    let button = h.get_by_label("Attest and sign (Ctrl+Enter)");
    assert!(
        button.accesskit_node().is_disabled(),
        "the attest button is disabled while sections are open"
    );
    button.click();
    h.run();
    // Ctrl+Enter is refused with the reason.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run();
    assert_eq!(h.state().state.screen, Screen::Review);
    let refusal = h.state().state.work.attest_refusal.clone().unwrap();
    assert!(
        refusal.contains("2 section(s) still need review"),
        "{refusal}"
    );
    assert!(!probe.log().requests.iter().any(|r| r.starts_with("attest")));
    // F moves to the next section needing attention, Shift+F back.
    h.key_press(egui::Key::Escape);
    h.run();
    h.key_press(egui::Key::F);
    h.run();
    let first = h.state().state.work.focused;
    assert!(matches!(first, Some(1) | Some(2)), "{first:?}");
    h.key_press(egui::Key::F);
    h.run();
    assert_ne!(h.state().state.work.focused, first);
}

#[test]
fn fail_attestation_with_the_wrong_passphrase() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    accept_the_flag(&mut h);
    type_into(&mut h, "Passphrase (re-enter to sign)", "not-my-passphrase");
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    assert_eq!(h.state().state.screen, Screen::Review);
    assert!(h
        .state()
        .state
        .work
        .attest_refusal
        .as_deref()
        .unwrap()
        .contains("does not match"));
    assert!(h.query_by_label("Copy whole note").is_none());
    assert!(probe
        .log()
        .audit
        .contains(&("session.review_attested".into(), "denied".into())));
}

#[test]
fn the_admin_flow_never_shows_patient_text() {
    let (mut h, _probe) = harness();
    // A clinician finishes a session whose transcript carries the canary.
    to_review(&mut h);
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    accept_the_flag(&mut h);
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    click(&mut h, "Copy whole note");
    click(&mut h, "Lock");
    assert_eq!(h.state().state.screen, Screen::Unlock);
    assert!(
        texts_containing(&h, CANARY).is_empty(),
        "locking forgets patient text"
    );

    unlock(&mut h, FAKE_ADMIN);
    assert_eq!(h.state().state.screen, Screen::Admin);
    click(&mut h, "Verify audit log");
    h.get_by_label("VERIFIED");
    click(&mut h, "Show latest checkpoint");
    h.get_by_label("Copy checkpoint");
    click(&mut h, "Copy checkpoint");
    // The deletion log shows the receipt of the destroyed session.
    let deletions = h.state().state.admin.deletions.clone().unwrap();
    assert_eq!(deletions.len(), 1);
    h.get_by_label(&deletions[0].receipt_id);
    // ... marked verified, since the whole-log check just covered its record.
    h.get_by_label("verified");
    h.get_by_label("whisper-tiny.en");
    // The canary is nowhere: not on screen, not in the admin's view state.
    assert!(
        texts_containing(&h, CANARY).is_empty(),
        "{:?}",
        texts_containing(&h, CANARY)
    );
    assert!(texts_containing(&h, "MRN-001").is_empty());
    assert!(!format!("{:?}", h.state().state).contains(CANARY));
    // Light theme works on the admin screen too.
    click(&mut h, "Light theme");
    h.get_by_label("Dark theme");
}

#[test]
fn fail_wrong_passphrase_stays_locked() {
    let (mut h, _probe) = harness();
    unlock(&mut h, (FAKE_CLINICIAN.0, "wrong"));
    assert_eq!(h.state().state.screen, Screen::Unlock);
    h.get_by_label("Wrong user name or passphrase.");
    assert!(h.query_by_label("New session").is_none());
}

#[test]
fn the_clipboard_is_cleared_after_the_configured_time() {
    let (mut h, _probe) = harness();
    to_review(&mut h);
    h.state_mut().state.settings.clipboard_clear_s = 2;
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    accept_the_flag(&mut h);
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    click(&mut h, "Copy PLAN");
    // Kittest advances 0.25 s a frame: 2 s is 8 frames; allow a few more.
    let mut cleared = false;
    for _ in 0..16 {
        h.step();
        cleared |= h
            .output()
            .platform_output
            .commands
            .iter()
            .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t.is_empty()));
    }
    assert!(cleared, "the clipboard was overwritten with nothing");
}

#[test]
fn it_locks_itself_after_inactivity() {
    let (mut h, _probe) = harness();
    to_review(&mut h);
    h.state_mut().state.settings.auto_lock_minutes = 1;
    // One minute without input is 240 frames of 0.25 s.
    h.run_steps(250);
    assert_eq!(h.state().state.screen, Screen::Unlock);
    assert!(
        h.state().state.work.transcript.is_none(),
        "patient text is forgotten on lock"
    );
    h.get_by_label("Locked after 1 minute(s) without activity.");
}

#[test]
fn fail_an_unresolved_flag_blocks_attestation() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    // The flagged sentence stands out with its flag and its detail.
    h.get_by_label(FAKE_FLAGGED_SENTENCE);
    h.get_by_label("dose");
    h.get_by_label("dose: dose 500 mg is not in the transcript (transcript says 81 mg)");
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    h.get_by_label("1 flag unresolved");
    assert!(h
        .get_by_label("Attest and sign (Ctrl+Enter)")
        .accesskit_node()
        .is_disabled());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run();
    assert_eq!(h.state().state.screen, Screen::Review);
    let refusal = h.state().state.work.attest_refusal.clone().unwrap();
    assert!(refusal.contains("1 flag unresolved"), "{refusal}");
    assert!(!probe.log().requests.iter().any(|r| r.starts_with("attest")));
    // Every section is accepted, yet F still finds PLAN: its flag is open.
    h.key_press(egui::Key::Escape);
    h.run();
    h.key_press(egui::Key::F);
    h.run();
    assert_eq!(h.state().state.work.focused, Some(2));
    // Ticking "Accept flag" without a reason is not enough.
    click(&mut h, ACCEPT_FLAG);
    type_into(&mut h, FLAG_REASON, "ok");
    assert!(h
        .get_by_label("Attest and sign (Ctrl+Enter)")
        .accesskit_node()
        .is_disabled());
    assert_eq!(h.state().state.work.open_flags(), 1);
}

#[test]
fn accepting_the_flag_with_a_reason_unblocks_attestation() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    accept_the_flag(&mut h);
    h.get_by_label("accepted with a reason");
    h.get_by_label("no open flags");
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    assert!(!h
        .get_by_label("Attest and sign (Ctrl+Enter)")
        .accesskit_node()
        .is_disabled());
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    assert_eq!(h.state().state.screen, Screen::Export);
    // The sentence was kept as written, and the reason went with the request.
    let attested = h.state().state.work.attested.clone().unwrap();
    assert!(attested.text.contains(FAKE_FLAGGED_SENTENCE));
    let log = probe.log();
    assert_eq!(
        log.accept_flags,
        vec![Some("dose: Dose confirmed with the pharmacy".to_string())]
    );
}

#[test]
fn editing_the_flagged_sentence_away_unblocks_attestation() {
    let (mut h, probe) = harness();
    to_review(&mut h);
    click(&mut h, "Accept DATA");
    click(&mut h, "Accept ASSESSMENT");
    click(&mut h, "Edit PLAN");
    // The flag stays beside the text while it is being edited.
    h.get_by_label(ACCEPT_FLAG);
    h.get_by_label("Edit PLAN").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_label("Edit PLAN")
        .type_text("Continue aspirin 81 mg daily.");
    h.run();
    assert_eq!(
        h.state().state.work.sections[2].text,
        "Continue aspirin 81 mg daily."
    );
    // The sentence is gone, and with it the flag and its controls.
    assert!(h.query_by_label(ACCEPT_FLAG).is_none());
    click(&mut h, "Done editing PLAN");
    assert_eq!(h.state().state.work.open_flags(), 0);
    click(&mut h, "I have reviewed this note and it is accurate.");
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    assert_eq!(h.state().state.screen, Screen::Export);
    let attested = h.state().state.work.attested.clone().unwrap();
    assert!(!attested.text.contains("500 mg"));
    assert_eq!(probe.log().accept_flags, vec![None]);
}

#[test]
fn clicking_a_sentence_highlights_its_evidence_in_the_transcript() {
    let (mut h, _probe) = harness();
    to_review(&mut h);
    assert!(h.query_all_by_label("evidence").next().is_none());
    click(&mut h, FAKE_FLAGGED_SENTENCE);
    let work = &h.state().state.work;
    let selected = work.selected_sentence.unwrap();
    assert_eq!(
        work.grounding.as_ref().unwrap().sentences[selected].text,
        FAKE_FLAGGED_SENTENCE
    );
    assert_eq!(work.highlighted_segments(), vec![1]);
    // One transcript segment is marked, and it is the one that says 81 mg.
    assert_eq!(h.query_all_by_label("evidence").count(), 1);
    h.get_by_label(&format!("[00:03] {FAKE_DOSE_SEGMENT}"));
    // Another sentence moves the highlight to its own evidence.
    click(&mut h, &format!("data (from: {CANARY})."));
    assert_eq!(h.state().state.work.highlighted_segments(), vec![0]);
    assert_eq!(h.query_all_by_label("evidence").count(), 1);
}

/// The admin screen, with the installation report written.
fn admin_with_report(h: &mut Harness<'_, TacetUi>) {
    unlock(h, FAKE_ADMIN);
    assert_eq!(h.state().state.screen, Screen::Admin);
    click(h, "Write compliance report");
    assert!(h.state().state.admin.report.is_some());
}

#[test]
fn an_admin_reads_and_saves_the_compliance_report() {
    let (mut h, probe) = harness();
    // Nothing to save before a report exists.
    unlock(&mut h, FAKE_ADMIN);
    assert!(h.query_by_label("Save as Markdown…").is_none());
    assert!(h.query_by_label("Save as PDF…").is_none());
    click(&mut h, "Write compliance report");
    // Its sections, as headings, and the verdict.
    for section in [
        "Tacet installation report",
        "AI systems that touch patient data",
        "Data flow",
        "Where data lives and how it is encrypted",
        "Retention and deletion",
        "Users and roles",
        "Network posture",
        "Risk-analysis input",
        "• drlee: clinician",
    ] {
        h.get_by_label(section);
    }
    // "Audit log" heads the audit card and the report's section.
    assert_eq!(h.query_all_by_label("Audit log").count(), 2);
    h.get_by_label("audit log verified");
    assert!(h.query_by_label(AUDIT_FAILED).is_none());
    assert!(probe
        .log()
        .audit
        .contains(&("audit.viewed".into(), "success".into())));

    // Saved as Markdown and as PDF, each to a new file.
    type_into(
        &mut h,
        "Save report to (path of a new file)",
        "/tmp/report.md",
    );
    click(&mut h, "Save as Markdown…");
    h.get_by_label("The report was saved as Markdown to /tmp/report.md.");
    h.state_mut().state.admin.report_path = "/tmp/report.pdf".into();
    h.run();
    click(&mut h, "Save as PDF…");
    h.get_by_label("The report was saved as PDF to /tmp/report.pdf.");
    {
        let log = probe.log();
        assert_eq!(log.files.len(), 2);
        let md = &h.state().state.admin.report.as_ref().unwrap().markdown;
        assert_eq!(&log.files[0], &("/tmp/report.md".to_string(), md.clone()));
        assert!(log.files[1].1.starts_with("%PDF-1.4"));
    }
    // An existing file is never overwritten.
    click(&mut h, "Save as PDF…");
    assert!(h
        .state()
        .state
        .error
        .as_deref()
        .unwrap()
        .contains("already exists"));
    assert_eq!(probe.log().files.len(), 2);
}

const AUDIT_FAILED: &str = "The audit log FAILED verification";

#[test]
fn fail_a_tampered_audit_log_is_the_reports_first_word() {
    let (mut h, probe) = harness();
    probe.log().audit_tampered = true;
    admin_with_report(&mut h);
    // Said prominently, above the report, and in the report's first quote.
    h.get_by_label(AUDIT_FAILED);
    assert!(h.query_by_label("audit log verified").is_none());
    assert!(
        !h.state()
            .state
            .admin
            .report
            .as_ref()
            .unwrap()
            .audit_verified
    );
    assert!(!texts_containing(&h, "WARNING: THE AUDIT LOG FAILED VERIFICATION").is_empty());
    h.get_by_label("– record 1: the signature does not verify");
    // The light theme shows it too.
    click(&mut h, "Light theme");
    h.get_by_label(AUDIT_FAILED);
}

#[test]
fn fail_a_clinician_gets_no_compliance_report() {
    let (mut h, probe) = harness();
    unlock(&mut h, FAKE_CLINICIAN);
    // No screen of the clinician's offers it…
    assert!(h.query_by_label("Write compliance report").is_none());
    // …and asking anyway is refused before the backend is asked.
    h.state_mut().handle(tacet_ui::UiCommand::ComplianceReport);
    h.run();
    assert!(h.state().state.admin.report.is_none());
    assert!(h
        .state()
        .state
        .error
        .as_deref()
        .unwrap()
        .contains("admin's document"));
    assert!(!probe
        .log()
        .requests
        .iter()
        .any(|r| r.contains("compliance")));
}

#[test]
fn the_compliance_report_holds_no_patient_text() {
    let (mut h, _probe) = harness();
    // A clinician finishes a session whose transcript carries the canary.
    to_review(&mut h);
    for s in [
        "Accept DATA",
        "Accept ASSESSMENT",
        "Accept PLAN",
        "I have reviewed this note and it is accurate.",
    ] {
        click(&mut h, s);
    }
    accept_the_flag(&mut h);
    type_into(&mut h, "Passphrase (re-enter to sign)", FAKE_CLINICIAN.1);
    click(&mut h, "Attest and sign (Ctrl+Enter)");
    click(&mut h, "Copy whole note");
    click(&mut h, "Lock");
    admin_with_report(&mut h);
    h.get_by_label("• Sessions destroyed (deletion receipts): 1");
    assert!(texts_containing(&h, CANARY).is_empty());
    assert!(texts_containing(&h, "MRN-001").is_empty());
    let md = &h.state().state.admin.report.as_ref().unwrap().markdown;
    assert!(!md.contains(CANARY) && !md.contains("MRN-001"));
}

#[test]
fn the_consent_script_read_aloud_is_the_practices_filled_in_from_the_vault() {
    let (mut h, _probe) = harness();
    unlock(&mut h, FAKE_CLINICIAN);
    click(&mut h, "Start a new session");
    // The backend's script (the practice's template with the vault's
    // settings), not the built-in fallback.
    assert!(!texts_containing(
        &h,
        "Before we start: I'd like to use a note-taking assistant"
    )
    .is_empty());
    assert!(texts_containing(&h, tacet_ui::CONSENT_SCRIPT).is_empty());
}

/// An edit nobody can see (a zero-width space inside the flagged dose)
/// leaves the flag open on the screen, as it does at the gate: the screen
/// and the application layer compare text the same way
/// (`tacet_core::review::visible_text`).
#[test]
fn fail_an_invisible_edit_leaves_the_flag_open_on_the_screen() {
    let (mut h, _probe) = harness();
    to_review(&mut h);
    let plan = h.state().state.work.sections[2].text.clone();
    assert!(plan.contains("500"), "{plan}");
    h.state_mut().state.work.sections[2].text = plan.replacen("500", "5\u{200B}00", 1);
    h.run();
    assert_eq!(h.state().state.work.open_flags(), 1);
    h.get_by_label(ACCEPT_FLAG);
}

#[test]
fn the_admin_checks_every_chain_tag_with_the_chain_key_kept_at_setup() {
    let (mut h, _probe) = harness();
    unlock(&mut h, FAKE_ADMIN);
    // Without the key: verified, and the screen says the chain was not
    // checked.
    click(&mut h, "Verify audit log");
    h.get_by_label("VERIFIED");
    assert!(!texts_containing(&h, "chain tags not checked").is_empty());
    // With it: every tag, and the typed key is not kept on the screen.
    type_into(&mut h, "Audit chain key", FAKE_CHAIN_KEY);
    click(&mut h, "Verify audit log");
    h.get_by_label("VERIFIED");
    assert!(!texts_containing(&h, "every chain tag checked with the admin's chain key").is_empty());
    assert!(h.state().state.admin.chain_key_input.is_empty());
    // A wrong key shows as a problem at the first record.
    type_into(
        &mut h,
        "Audit chain key",
        &format!("tacet-audit-chain-key-1:{}", "ab".repeat(32)),
    );
    click(&mut h, "Verify audit log");
    h.get_by_label("FAILED");
    assert!(!texts_containing(&h, "the chain tag does not verify").is_empty());
}
