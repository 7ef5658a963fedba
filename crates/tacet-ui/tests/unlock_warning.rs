//! Issue 22, item 1: when the key rotation done at unlock refuses a roster
//! entry changed outside Tacet, the person signing in is told, in words.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_ui::fake::{FakeBackend, FAKE_CLINICIAN};
use tacet_ui::Screen;

mod support;
use support::unlock;

#[test]
fn a_refused_roster_entry_is_shown_at_sign_in() {
    let (mut fake, _probe) = FakeBackend::new("CANARY-roster");
    fake.unlock_warning =
        Some("the key rotation refused roster entries changed outside Tacet: mallory".into());
    let mut h = support::window(fake, 900.0);
    unlock(&mut h, FAKE_CLINICIAN);
    assert_eq!(h.state().state.screen, Screen::Sessions);
    let shown = support::texts_containing(&h, "mallory");
    assert!(
        shown
            .iter()
            .any(|t| t.contains("Warning:") && t.contains("changed outside Tacet")),
        "{shown:?}"
    );
}
