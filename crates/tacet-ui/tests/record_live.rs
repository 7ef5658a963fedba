//! The Record screen's live recording, driven through the real screens
//! with egui_kittest against the fake backend: record → pause → resume →
//! stop (by button and by keyboard), the live transcript with its committed
//! and tentative text, the device picker pre-selected to the remembered
//! device, a lost microphone shown as a warning with a Resume, and consent
//! still gating all of it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use tacet_ui::fake::{
    FakeProbe, FAKE_CLINICIAN, FAKE_LIVE_AFTER_RESUME, FAKE_LIVE_COMMITTED, FAKE_LIVE_TENTATIVE,
};
use tacet_ui::state::LivePhase;
use tacet_ui::{Screen, TacetUi};

mod support;
use support::{click, type_into};

fn harness() -> (Harness<'static, TacetUi>, FakeProbe) {
    support::harness(CANARY, 900.0)
}

const CANARY: &str = "CANARY-patient-says-zebra-4711";

fn shortcut(h: &mut Harness<'_, TacetUi>, key: egui::Key) {
    h.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, key);
    h.run();
}

/// Unlock → new session → consent: the Record screen.
fn to_record(h: &mut Harness<'_, TacetUi>) {
    h.run();
    h.state_mut().state.unlock.user.clear();
    type_into(h, "User name", FAKE_CLINICIAN.0);
    type_into(h, "Passphrase", FAKE_CLINICIAN.1);
    click(h, "Unlock");
    click(h, "Start a new session");
    type_into(
        h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-LIVE-1",
    );
    click(h, "Yes, the patient consents");
    assert_eq!(h.state().state.screen, Screen::Record);
}

fn has_text(h: &Harness<'_, TacetUi>, needle: &str) -> bool {
    h.root().children_recursive().any(|n| {
        let a = n.accesskit_node();
        [a.label(), a.value()]
            .into_iter()
            .flatten()
            .any(|t| t.contains(needle))
    })
}

fn phase(h: &Harness<'_, TacetUi>) -> LivePhase {
    h.state().state.live.phase
}

#[test]
fn record_pause_resume_stop_with_the_live_transcript() {
    let (mut h, probe) = harness();
    to_record(&mut h);
    // The picker is filled and the secondary WAV path is still there.
    assert!(h.state().state.live.devices_loaded);
    h.get_by_label("Input device");
    h.get_by_label("Recording file path");
    h.get_by_label("Transcribe recording (Ctrl+R)");
    assert!(has_text(&h, "Input level: not recording"));

    click(&mut h, "Record from microphone");
    assert_eq!(phase(&h), LivePhase::Recording);
    h.get_by_label("recording");
    assert!(has_text(&h, "00:04"), "the elapsed time is shown");
    assert!(
        has_text(&h, "Input level -20 dBFS"),
        "the level meter moves"
    );
    // Committed and tentative text are both on screen, and apart.
    assert!(has_text(&h, FAKE_LIVE_COMMITTED));
    assert!(has_text(&h, FAKE_LIVE_TENTATIVE));
    h.get_by_label("tentative");
    let live = &h.state().state.live;
    assert_eq!(live.committed.len(), 1);
    assert_eq!(live.tentative[0].text, FAKE_LIVE_TENTATIVE);
    assert!(live.tentative[0].low_confidence, "marked as unsure");
    // While recording, neither the WAV path nor another start is offered.
    assert!(h
        .get_by_label("Transcribe recording (Ctrl+R)")
        .accesskit_node()
        .is_disabled());
    assert!(h.query_by_label("Record from microphone").is_none());

    // No way off the Record screen while recording, but Lock.
    assert!(h.query_by_label("New session").is_none());
    h.state_mut().handle(tacet_ui::UiCommand::StartNewSession);
    h.run();
    assert_eq!(h.state().state.screen, Screen::Record);
    h.state_mut().state.error = None;
    h.run();

    click(&mut h, "Pause");
    assert_eq!(phase(&h), LivePhase::Paused);
    h.get_by_label("paused");
    assert!(has_text(&h, "Input level: not recording"));
    assert!(h.query_by_label("Pause").is_none());

    click(&mut h, "Resume");
    assert_eq!(phase(&h), LivePhase::Recording);
    assert!(has_text(&h, FAKE_LIVE_AFTER_RESUME));
    assert!(
        !has_text(&h, FAKE_LIVE_TENTATIVE),
        "tentative text is replaced, not kept"
    );
    assert!(has_text(&h, "00:06"));

    click(&mut h, "Stop");
    // The transcript is ready: drafting starts, as after a WAV file.
    assert_eq!(phase(&h), LivePhase::Idle);
    assert!(h.state().state.work.session.is_some());
    assert!(h
        .state()
        .state
        .work
        .transcript
        .as_ref()
        .unwrap()
        .plain_text()
        .contains(FAKE_LIVE_AFTER_RESUME));
    assert_eq!(h.state().state.screen, Screen::Review);

    let log = probe.log();
    let recording: Vec<&str> = log
        .requests
        .iter()
        .map(String::as_str)
        .filter(|r| r.contains("recording") || r.contains("device"))
        .collect();
    assert_eq!(
        recording,
        [
            "listinputdevices",
            "startrecording",
            "pauserecording",
            "resumerecording",
            "stoprecording"
        ]
    );
    for code in [
        "session.recording_started",
        "session.recording_paused",
        "session.recording_resumed",
        "session.recording_stopped",
    ] {
        assert!(
            log.audit.iter().any(|(c, _)| c == code),
            "{code} not audited"
        );
    }
}

#[test]
fn the_keyboard_records_pauses_resumes_and_stops() {
    let (mut h, probe) = harness();
    to_record(&mut h);
    shortcut(&mut h, egui::Key::R);
    assert_eq!(phase(&h), LivePhase::Recording);
    shortcut(&mut h, egui::Key::P);
    assert_eq!(phase(&h), LivePhase::Paused);
    shortcut(&mut h, egui::Key::P);
    assert_eq!(phase(&h), LivePhase::Recording, "Ctrl+Shift+P toggles");
    shortcut(&mut h, egui::Key::S);
    assert_eq!(phase(&h), LivePhase::Idle);
    assert_eq!(h.state().state.screen, Screen::Review);
    // Ctrl+Shift+R is not also taken as Ctrl+R (transcribe a WAV).
    assert!(!probe.log().requests.iter().any(|r| r == "transcribe"));
}

#[test]
fn the_remembered_device_is_preselected_and_used() {
    let (mut h, probe) = harness();
    probe.log().remembered_device = Some("alsa:usb-headset".into());
    to_record(&mut h);
    assert_eq!(
        h.state().state.live.selected.as_deref(),
        Some("alsa:usb-headset")
    );
    assert!(has_text(&h, "USB headset"), "the picker shows it");
    click(&mut h, "Record from microphone");
    assert_eq!(
        h.state().state.live.device.as_deref(),
        Some("alsa:usb-headset")
    );
    assert!(has_text(&h, "from alsa:usb-headset"));
}

#[test]
fn fail_a_remembered_device_that_is_gone_is_said_and_the_default_used() {
    let (mut h, probe) = harness();
    probe.log().remembered_device = Some("alsa:gone-mic".into());
    to_record(&mut h);
    assert_eq!(h.state().state.live.selected, None, "the default input");
    assert!(has_text(
        &h,
        "The remembered device alsa:gone-mic is not connected; the default input will be used."
    ));
    click(&mut h, "Record from microphone");
    assert_eq!(phase(&h), LivePhase::Recording);
    assert!(h
        .state()
        .state
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("not connected")));
}

#[test]
fn fail_a_lost_microphone_is_a_warning_and_the_recording_resumes() {
    let (mut h, probe) = harness();
    to_record(&mut h);
    click(&mut h, "Record from microphone");
    probe.log().lose_device = true;
    h.run();
    h.run();
    assert_eq!(phase(&h), LivePhase::DeviceLost);
    h.get_by_label("The microphone was lost");
    h.get_by_label("microphone lost");
    assert!(
        h.state().state.error.is_none(),
        "a warning, not an error banner"
    );
    // What was said before the loss is still on screen.
    assert!(has_text(&h, FAKE_LIVE_COMMITTED));
    // Choose the other device, then resume from the banner.
    h.state_mut().state.live.selected = Some("alsa:usb-headset".into());
    click(&mut h, "Resume from the chosen device");
    assert_eq!(phase(&h), LivePhase::Recording);
    assert!(h.query_by_label("The microphone was lost").is_none());
    assert_eq!(
        h.state().state.live.device.as_deref(),
        Some("alsa:usb-headset")
    );
    click(&mut h, "Stop");
    assert_eq!(h.state().state.screen, Screen::Review);
}

#[test]
fn fail_no_recording_without_consent() {
    let (mut h, probe) = harness();
    h.run();
    h.state_mut().state.unlock.user.clear();
    type_into(&mut h, "User name", FAKE_CLINICIAN.0);
    type_into(&mut h, "Passphrase", FAKE_CLINICIAN.1);
    click(&mut h, "Unlock");
    click(&mut h, "Start a new session");
    type_into(
        &mut h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-LIVE-2",
    );
    click(&mut h, "No, the patient declines");
    assert!(h.query_by_label("Record from microphone").is_none());
    // Neither the shortcut nor the command records anything.
    shortcut(&mut h, egui::Key::R);
    h.state_mut().handle(tacet_ui::UiCommand::StartRecording);
    h.run();
    assert_eq!(phase(&h), LivePhase::Idle);
    assert!(!probe.log().requests.iter().any(|r| r == "startrecording"));
}

#[test]
fn a_recording_is_not_auto_locked_but_a_paused_one_is() {
    let (mut h, _probe) = harness();
    to_record(&mut h);
    click(&mut h, "Record from microphone");
    h.state_mut().state.settings.auto_lock_minutes = 1;
    // Two minutes without input (frames of 0.25 s) while recording.
    h.run_steps(500);
    assert!(h.state().state.signed_in.is_some(), "locked mid-visit");
    assert_eq!(phase(&h), LivePhase::Recording);
    // Paused and left alone: it locks (the worker then stops and seals it).
    click(&mut h, "Pause");
    h.run_steps(250);
    assert_eq!(h.state().state.screen, Screen::Unlock);
    assert_eq!(
        phase(&h),
        LivePhase::Idle,
        "nothing of it is left on screen"
    );
}
