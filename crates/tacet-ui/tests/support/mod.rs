//! What the kittest suites share: a harness around the real screens and the
//! fake backend, and the way a person (or a screen reader) finds and uses a
//! control — by its accessible name.
#![allow(dead_code)] // each suite uses its own subset

use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use tacet_ui::fake::{FakeBackend, FakeProbe};
use tacet_ui::TacetUi;

/// The app on the fake backend, whose transcript holds `canary`, in a
/// window `height_px` tall (tall enough that a test needs no scrolling).
pub fn harness(canary: &str, height_px: f32) -> (Harness<'static, TacetUi>, FakeProbe) {
    let (fake, probe) = FakeBackend::new(canary);
    (window(fake, height_px), probe)
}

/// The app on a fake backend set up by the test, in a window `height_px`
/// tall.
pub fn window(fake: FakeBackend, height_px: f32) -> Harness<'static, TacetUi> {
    let app = TacetUi::new(Box::new(fake));
    Harness::builder()
        .with_size(egui::vec2(1280.0, height_px))
        .build_ui_state(|ui, app: &mut TacetUi| app.ui(ui), app)
}

pub fn type_into(h: &mut Harness<'_, TacetUi>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

pub fn click(h: &mut Harness<'_, TacetUi>, label: &str) {
    h.get_by_label(label).click();
    h.run();
}

pub fn unlock(h: &mut Harness<'_, TacetUi>, who: (&str, &str)) {
    h.run();
    h.state_mut().state.unlock.user.clear();
    type_into(h, "User name", who.0);
    type_into(h, "Passphrase", who.1);
    click(h, "Unlock");
    h.run();
}

/// Every accessible name and value on screen that contains `needle`.
pub fn texts_containing(h: &Harness<'_, TacetUi>, needle: &str) -> Vec<String> {
    h.root()
        .children_recursive()
        .filter_map(|n| {
            let a = n.accesskit_node();
            let found: Vec<String> = [a.label(), a.value()]
                .into_iter()
                .flatten()
                .filter(|t| t.contains(needle))
                .collect();
            (!found.is_empty()).then(|| found.join(" | "))
        })
        .collect()
}
