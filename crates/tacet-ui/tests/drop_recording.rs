//! Issue 25, part 2: a recording dropped on the window becomes the file to
//! transcribe — the path field shows it and Transcribe starts the session —
//! and a FLAC is taken like a WAV.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tacet_ui::fake::FAKE_CLINICIAN;
use tacet_ui::{Screen, TacetUi};

mod support;
use support::{click, type_into, unlock};

/// Signed in as the clinician, consent given for `patient`: the Record
/// screen, whose transcripts say `canary`.
fn record_screen(canary: &str, patient: &str) -> Harness<'static, TacetUi> {
    let (mut h, _probe) = support::harness(canary, 900.0);
    unlock(&mut h, FAKE_CLINICIAN);
    click(&mut h, "Start a new session");
    type_into(
        &mut h,
        "Patient reference (chart number or initials; stored encrypted)",
        patient,
    );
    click(&mut h, "Yes, the patient consents");
    assert_eq!(h.state().state.screen, Screen::Record);
    h
}

#[test]
fn a_dropped_flac_is_transcribed() {
    let mut h = record_screen("CANARY-dropped-visit", "MRN-002");
    h.get_by_label("Recording file path");
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(
            "/tmp/visit from the phone.flac".into(),
        )));
    h.run();
    assert_eq!(
        h.state().state.new_session.wav_path,
        "/tmp/visit from the phone.flac"
    );
    assert!(h
        .state()
        .state
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("Recording chosen")));
    click(&mut h, "Transcribe recording (Ctrl+R)");
    assert_eq!(h.state().state.screen, Screen::Review);
}

/// A file as the window system hands it over (the path only).
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Err("not read in this test".into())
    }
}

/// Issue 25, part 2: the recording is chosen in the window's own picker,
/// which lists folders and recordings only, and fills the path field as if
/// it had been typed.
#[test]
fn a_recording_is_chosen_in_the_picker() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("visit from the phone.m4a"), b"not read").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a recording").unwrap();
    std::fs::create_dir(dir.path().join("older visits")).unwrap();
    let mut h = record_screen("CANARY-picked-visit", "MRN-004");
    // The picker starts in the folder of what was typed so far.
    let folder = format!("{}/", dir.path().display());
    type_into(&mut h, "Recording file path", &folder);
    click(&mut h, "Choose a recording…");
    h.run();
    // What the picker lists: the folder and the recording, not the notes.
    assert!(!support::texts_containing(&h, "visit from the phone.m4a").is_empty());
    assert!(!support::texts_containing(&h, "older visits").is_empty());
    assert!(support::texts_containing(&h, "notes.txt").is_empty());
    // A folder opens with one click, and "Up one folder" comes back.
    click(&mut h, "older visits/");
    assert!(!support::texts_containing(&h, "No recordings or folders here.").is_empty());
    click(&mut h, "Up one folder");
    click(&mut h, "visit from the phone.m4a");
    click(&mut h, "Choose");
    let chosen = dir.path().join("visit from the phone.m4a");
    assert_eq!(
        h.state().state.new_session.wav_path,
        chosen.display().to_string()
    );
    // The picker is gone; the screen says what to do next.
    assert!(support::texts_containing(&h, "older visits").is_empty());
    assert!(h
        .state()
        .state
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("Recording chosen")));
    click(&mut h, "Transcribe recording (Ctrl+R)");
    assert_eq!(h.state().state.screen, Screen::Review);
}
