//! A problem or a note that appears does not move the screen's controls:
//! it sits in a bar along the bottom, so the button a person is about to
//! click stays under the pointer (a banner above the screen used to push
//! everything down — and made a test click the wrong place).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::Queryable;
use tacet_ui::fake::FAKE_CLINICIAN;

mod support;
use support::unlock;

#[test]
fn a_message_appearing_moves_no_control() {
    let (mut h, _probe) = support::harness("CANARY-messages", 900.0);
    unlock(&mut h, FAKE_CLINICIAN);
    let before = h.get_by_label("Start a new session").rect();
    h.state_mut().state.notice = Some("The clipboard was cleared.".into());
    h.state_mut().state.error = Some("The recording could not start.".into());
    h.run();
    // The messages are on screen, below the screen's controls.
    let note = h.get_by_label("The clipboard was cleared.").rect();
    assert_eq!(h.get_by_label("Start a new session").rect(), before);
    assert!(note.min.y > before.max.y, "{note:?} {before:?}");
    // Dismissed, they go, and still nothing moves.
    h.get_all_by_label("Dismiss").next().unwrap().click();
    h.run();
    assert_eq!(h.get_by_label("Start a new session").rect(), before);
}
