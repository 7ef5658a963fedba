//! The admin's management cards — retention and grace, the model manager,
//! users and roles — and the clinician's "Add a colleague", driven through
//! the real screens with egui_kittest against the fake backend. Controls are
//! found by their accessible names, the way a screen reader finds them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use tacet_ui::fake::{FakeProbe, FAKE_ADMIN, FAKE_CLINICIAN};
use tacet_ui::{Screen, TacetUi};

mod support;
use support::{click, texts_containing, type_into, unlock};

fn harness() -> (Harness<'static, TacetUi>, FakeProbe) {
    support::harness("CANARY-admin-never-sees-this", 4000.0)
}

/// Replaces a field's text.
fn retype(h: &mut Harness<'_, TacetUi>, label: &str, text: &str, clear: impl Fn(&mut TacetUi)) {
    clear(h.state_mut());
    h.run();
    type_into(h, label, text);
}

fn admin() -> (Harness<'static, TacetUi>, FakeProbe) {
    let (mut h, probe) = harness();
    unlock(&mut h, FAKE_ADMIN);
    assert_eq!(h.state().state.screen, Screen::Admin);
    (h, probe)
}

fn audited(probe: &FakeProbe, code: &str, outcome: &str) -> bool {
    probe
        .log()
        .audit
        .iter()
        .any(|(c, o)| c == code && o == outcome)
}

const DAYS: &str = "Destroy unexported sessions after (days)";
const HOURS: &str = "Keep exported sessions for (hours, 0 to 72)";

#[test]
fn the_admin_changes_retention_and_grace() {
    let (mut h, probe) = admin();
    // The current values and the last run are shown, and fill the form.
    assert!(!texts_containing(&h, "destroyed 7 day(s) after").is_empty());
    assert!(!texts_containing(&h, "Retention last ran").is_empty());
    assert_eq!(h.state().state.admin.retention_days_input, "7");
    retype(&mut h, DAYS, "14", |a| {
        a.state.admin.retention_days_input.clear()
    });
    retype(&mut h, HOURS, "24", |a| {
        a.state.admin.grace_hours_input.clear()
    });
    click(&mut h, "Save retention settings");
    h.run();
    let r = h.state().state.admin.retention.clone().unwrap();
    assert_eq!((r.retention_days, r.grace_hours), (14.0, 24.0));
    assert!(
        !texts_containing(&h, "Saved: unexported sessions are destroyed after 14 days").is_empty()
    );
    assert!(audited(&probe, "settings.changed", "success"));
    assert!(h.state().state.error.is_none());
}

#[test]
fn fail_an_invalid_retention_value_is_refused_with_a_message() {
    let (mut h, probe) = admin();
    for (days, hours, says) in [
        ("seven", "0", "must be a number of days"),
        ("0", "0", "at least one hour"),
        ("7", "100", "between 0 and 72 hours"),
        ("7", "-1", "between 0 and 72 hours"),
    ] {
        retype(&mut h, DAYS, days, |a| {
            a.state.admin.retention_days_input.clear()
        });
        retype(&mut h, HOURS, hours, |a| {
            a.state.admin.grace_hours_input.clear()
        });
        click(&mut h, "Save retention settings");
        let err = h.state().state.error.clone().unwrap_or_default();
        assert!(err.contains(says), "{days}/{hours}: {err}");
        h.get_by_label(&err);
    }
    // Nothing was sent, nothing changed.
    assert!(!probe.log().requests.iter().any(|r| r == "setretention"));
    assert!(!audited(&probe, "settings.changed", "success"));
    assert_eq!(
        h.state()
            .state
            .admin
            .retention
            .clone()
            .unwrap()
            .retention_days,
        7.0
    );
}

#[test]
fn the_model_manager_shows_size_hash_licence_and_verifies() {
    let (mut h, _probe) = admin();
    h.get_by_label("whisper-tiny.en");
    h.get_by_label("77.7 MB");
    h.get_by_label("MIT");
    // The hash is shortened on screen; the full value is on hover.
    h.get_by_label("1a5afae06a4d…");
    click(&mut h, "Verify whisper-tiny.en");
    h.run();
    h.get_by_label("VERIFIED");
    assert!(!texts_containing(&h, "the file is intact").is_empty());
}

/// A fake GGUF file in a new folder (returned, for removal), its path typed
/// into the import field.
fn fake_gguf_typed(h: &mut Harness<'static, TacetUi>, tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    std::fs::write(&path, b"GGUF fake model").unwrap();
    type_into(
        h,
        "Import a model from (path of a file, directory or wheel)",
        &path.display().to_string(),
    );
    dir
}

#[test]
fn the_admin_imports_a_model_from_a_file() {
    let (mut h, probe) = admin();
    let dir = fake_gguf_typed(&mut h, "tacet-admin-manage");
    click(&mut h, "Import from file…");
    h.run();
    assert!(
        h.state().state.error.is_none(),
        "{:?}",
        h.state().state.error
    );
    assert!(!texts_containing(&h, "Imported SmolLM2-135M-Instruct.Q4_1").is_empty());
    // The list was refreshed with the new model.
    h.get_by_label("SmolLM2-135M-Instruct.Q4_1");
    h.get_by_label("Verify SmolLM2-135M-Instruct.Q4_1");
    assert!(audited(&probe, "model.imported", "success"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fail_the_8_bit_choice_on_a_gguf_file_is_refused_in_the_stores_words() {
    let (mut h, probe) = admin();
    let dir = fake_gguf_typed(&mut h, "tacet-admin-q8");
    click(
        &mut h,
        "8-bit speech model (q8_0, for a CTranslate2 whisper export)",
    );
    assert!(h.state().state.admin.import_q8_0);
    click(&mut h, "Import from file…");
    h.run();
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("CTranslate2 export"), "{err}");
    assert!(audited(&probe, "model.imported", "failed"));
    assert_eq!(h.state().state.admin.models.clone().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fail_importing_a_missing_file_shows_the_error() {
    let (mut h, probe) = admin();
    let missing = "/nonexistent/tacet/model.gguf";
    type_into(
        &mut h,
        "Import a model from (path of a file, directory or wheel)",
        missing,
    );
    click(&mut h, "Import from file…");
    h.run();
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains(missing), "{err}");
    h.get_by_label(&err);
    assert!(audited(&probe, "model.imported", "failed"));
    assert_eq!(h.state().state.admin.models.clone().unwrap().len(), 1);
}

#[test]
fn fail_an_empty_import_path_is_refused() {
    let (mut h, probe) = admin();
    click(&mut h, "Import from file…");
    assert!(h
        .state()
        .state
        .error
        .clone()
        .unwrap()
        .contains("Enter the path"));
    assert!(!probe.log().requests.iter().any(|r| r == "importmodel"));
}

#[test]
fn the_admin_adds_an_admin_and_is_told_how_clinicians_are_enrolled() {
    let (mut h, probe) = admin();
    // Names and roles are listed.
    h.get_by_label("drlee");
    h.get_by_label("clinician");
    type_into(&mut h, "New user's name", "admin2");
    type_into(&mut h, "New user's passphrase", "second-admin-pass");
    type_into(&mut h, "Repeat the passphrase", "second-admin-pass");
    click(&mut h, "Add user");
    h.run();
    assert!(
        h.state().state.error.is_none(),
        "{:?}",
        h.state().state.error
    );
    h.get_by_label("admin2");
    h.get_by_label("Added admin2 as an admin.");
    assert!(audited(&probe, "user.added", "success"));
    // The form was emptied; the passphrase is nowhere in the view state.
    assert!(!format!("{:?}", h.state().state).contains("second-admin-pass"));
    // Choosing "Clinician" explains who enrols clinicians, with no form.
    click(&mut h, "Clinician");
    assert!(!texts_containing(&h, "enrolled by an existing clinician").is_empty());
    assert!(h.query_by_label("Add user").is_none());
}

#[test]
fn fail_a_passphrase_mismatch_is_refused() {
    let (mut h, probe) = admin();
    type_into(&mut h, "New user's name", "admin2");
    type_into(&mut h, "New user's passphrase", "second-admin-pass");
    type_into(&mut h, "Repeat the passphrase", "second-admin-typo");
    click(&mut h, "Add user");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("passphrases differ"), "{err}");
    assert!(!probe.log().requests.iter().any(|r| r == "adduser"));
    assert!(h.query_by_label("admin2").is_none());
}

#[test]
fn fail_a_short_passphrase_is_refused() {
    let (mut h, probe) = admin();
    type_into(&mut h, "New user's name", "admin2");
    type_into(&mut h, "New user's passphrase", "short");
    type_into(&mut h, "Repeat the passphrase", "short");
    click(&mut h, "Add user");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("at least 8 characters"), "{err}");
    assert!(!probe.log().requests.iter().any(|r| r == "adduser"));
}

/// The one passphrase rule (`tacet_core::passphrase`), the same as the
/// first-run walk's and the vault's: a common passphrase is refused with
/// the reason before anything is sent.
#[test]
fn fail_a_guessable_passphrase_is_refused() {
    let (mut h, probe) = admin();
    type_into(&mut h, "New user's name", "admin2");
    type_into(&mut h, "New user's passphrase", "qwertyuiop");
    type_into(&mut h, "Repeat the passphrase", "qwertyuiop");
    click(&mut h, "Add user");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("too easy to guess"), "{err}");
    assert!(!probe.log().requests.iter().any(|r| r == "adduser"));
}

#[test]
fn a_clinician_adds_a_colleague() {
    let (mut h, probe) = harness();
    unlock(&mut h, FAKE_CLINICIAN);
    assert_eq!(h.state().state.screen, Screen::Sessions);
    click(&mut h, "Add a colleague");
    type_into(&mut h, "New user's name", "drpatel");
    type_into(&mut h, "New user's passphrase", "colleague-pass-1");
    type_into(&mut h, "Repeat the passphrase", "colleague-pass-1");
    click(&mut h, "Add colleague");
    h.run();
    assert!(
        h.state().state.error.is_none(),
        "{:?}",
        h.state().state.error
    );
    h.get_by_label("Added drpatel as a clinician.");
    assert!(audited(&probe, "user.added", "success"));
}

#[test]
fn the_admin_saves_a_signed_checkpoint_and_never_overwrites_a_file() {
    let (mut h, probe) = admin();
    type_into(
        &mut h,
        "Save checkpoint to (path of a new file)",
        "/tmp/cp.txt",
    );
    click(&mut h, "Save checkpoint…");
    h.run();
    assert!(
        h.state()
            .state
            .notice
            .as_deref()
            .unwrap_or("")
            .contains("/tmp/cp.txt"),
        "{:?}",
        h.state().state.notice
    );
    let saved = probe.log().files.clone();
    assert_eq!(saved.len(), 1);
    assert!(saved[0].1.contains("tacet.local/audit"));
    // The checkpoint just saved is also shown.
    assert!(h.state().state.admin.checkpoint.is_some());
    click(&mut h, "Save checkpoint…");
    h.run();
    let error = h.state().state.error.clone().unwrap_or_default();
    assert!(error.contains("already exists"), "{error}");
    assert_eq!(probe.log().files.len(), 1);
}

#[test]
fn fail_a_checkpoint_without_a_path_is_not_sent() {
    let (mut h, probe) = admin();
    click(&mut h, "Save checkpoint…");
    let error = h.state().state.error.clone().unwrap_or_default();
    assert!(error.contains("where to save the checkpoint"), "{error}");
    assert!(probe.log().files.is_empty());
}

#[test]
fn the_admin_anchors_the_audit_log_in_a_folder_elsewhere() {
    let (mut h, probe) = admin();
    assert!(!texts_containing(&h, "not anchored outside this computer").is_empty());
    click(&mut h, "Anchor the audit log here");
    assert!(h
        .state()
        .state
        .error
        .as_deref()
        .is_some_and(|e| e.contains("outside the data folder")));
    type_into(
        &mut h,
        "Anchor folder (outside the data folder)",
        "/media/usb-stick",
    );
    click(&mut h, "Anchor the audit log here");
    assert_eq!(probe.log().anchor_dir.as_deref(), Some("/media/usb-stick"));
    assert!(
        !texts_containing(&h, "anchored in /media/usb-stick; verification reads them").is_empty()
    );
    assert!(!texts_containing(&h, "verifier key is pinned there").is_empty());
}

#[test]
fn the_admin_removes_an_account_and_changes_their_own_passphrase() {
    // Issue 22, item 9, on the admin screen.
    let (mut h, probe) = admin();
    type_into(&mut h, "New user's name", "admin2");
    type_into(&mut h, "New user's passphrase", "second-admin-pass");
    type_into(&mut h, "Repeat the passphrase", "second-admin-pass");
    click(&mut h, "Add user");
    h.run();
    // No remove button on one's own row; the last clinician is refused.
    assert!(h.query_by_label("Remove admin").is_none());
    click(&mut h, "Remove drlee");
    assert!(h
        .state()
        .state
        .error
        .as_deref()
        .is_some_and(|e| e.contains("last clinician")));
    click(&mut h, "Remove admin2");
    h.run();
    assert!(h.query_by_label("Remove admin2").is_none());
    assert!(!texts_containing(&h, "Removed admin2").is_empty());
    assert!(audited(&probe, "user.removed", "success"));
    assert!(audited(&probe, "user.removed", "denied"));

    click(&mut h, "My passphrase");
    type_into(&mut h, "Current passphrase", "not-the-passphrase");
    type_into(&mut h, "New passphrase", "admin passphrase two");
    type_into(&mut h, "Repeat the new passphrase", "admin passphrase two");
    click(&mut h, "Change my passphrase");
    h.run();
    assert!(h
        .state()
        .state
        .error
        .as_deref()
        .is_some_and(|e| e.contains("current passphrase is not right")));
    assert!(audited(&probe, "user.passphrase_changed", "denied"));
    type_into(&mut h, "Current passphrase", FAKE_ADMIN.1);
    type_into(&mut h, "New passphrase", "admin passphrase two");
    type_into(&mut h, "Repeat the new passphrase", "admin passphrase two");
    click(&mut h, "Change my passphrase");
    h.run();
    assert!(!texts_containing(&h, "Your passphrase changed").is_empty());
    assert!(audited(&probe, "user.passphrase_changed", "success"));
    // The form is empty again: nothing typed stays on screen.
    assert_eq!(h.state().state.admin.passwd, Default::default());
}
