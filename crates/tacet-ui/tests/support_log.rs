//! Issue 25, part 4: the admin sees where the support log is and saves a
//! copy for support from the admin screen.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::Queryable;
use tacet_ui::fake::FAKE_ADMIN;
use tacet_ui::Screen;

mod support;
use support::{click, type_into, unlock};

#[test]
fn the_admin_saves_a_copy_of_the_support_log() {
    let (mut h, probe) = support::harness("CANARY-support", 1800.0);
    h.state_mut().state.settings.support_log_dir = "/var/lib/tacet/logs".into();
    unlock(&mut h, FAKE_ADMIN);
    assert_eq!(h.state().state.screen, Screen::Admin);
    assert!(!support::texts_containing(&h, "/var/lib/tacet/logs").is_empty());
    click(&mut h, "Save a copy for support");
    assert!(h
        .state()
        .state
        .error
        .as_deref()
        .is_some_and(|e| e.contains("Enter where to save")));
    type_into(
        &mut h,
        "Save a copy of the support log to (path of a new file)",
        "/tmp/for-support.log",
    );
    click(&mut h, "Save a copy for support");
    let saved = h.state().state.admin.support_log_saved.clone().unwrap();
    assert!(saved.contains("/tmp/for-support.log"), "{saved}");
    assert!(probe
        .log()
        .files
        .iter()
        .any(|(p, c)| p == "/tmp/for-support.log" && c.contains("step.ended")));
    h.get_by_label("Save a copy for support");
}
