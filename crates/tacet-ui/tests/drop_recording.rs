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

#[test]
fn a_dropped_flac_is_transcribed() {
    let (mut h, _probe): (Harness<'static, TacetUi>, _) =
        support::harness("CANARY-dropped-visit", 800.0);
    unlock(&mut h, FAKE_CLINICIAN);
    click(&mut h, "Start a new session");
    type_into(
        &mut h,
        "Patient reference (chart number or initials; stored encrypted)",
        "MRN-002",
    );
    click(&mut h, "Yes, the patient consents");
    assert_eq!(h.state().state.screen, Screen::Record);
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
