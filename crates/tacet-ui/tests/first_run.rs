//! The first-run walk, driven through the real screens with egui_kittest
//! against the fake backend: with no vault in the data folder the admin
//! creates it (passphrase strength shown, a repeat that differs or a weak
//! passphrase refused before anything is sent), imports the models from a
//! folder (a file that is not a model refused by name), anchors the audit
//! log, reads the consent texts, and hands over to the clinician's sign-in.
//! No terminal at any step. The desktop's own test walks the same screens
//! on the real worker and a real vault.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use egui_kittest::Harness;
use tacet_ui::fake::{FakeBackend, FakeProbe, FAKE_CHAIN_KEY, FAKE_DATA_DIR, FAKE_VERIFIER_KEY};
use tacet_ui::state::SetupStep;
use tacet_ui::{Screen, TacetUi, UiCommand};

mod support;
use support::{click, texts_containing, type_into, unlock};

const ADMIN_PASS: &str = "larch quiet tundra forty";
const CLINICIAN: &str = "drmira";
const CLINICIAN_PASS: &str = "otter violet canyon seven";

fn harness() -> (Harness<'static, TacetUi>, FakeProbe) {
    let (fake, probe) = FakeBackend::first_run("CANARY-first-run");
    let mut h = support::window(fake, 2400.0);
    h.run();
    (h, probe)
}

fn fill_accounts(h: &mut Harness<'static, TacetUi>, admin_repeat: &str) {
    type_into(h, "Admin passphrase", ADMIN_PASS);
    type_into(h, "Repeat the admin passphrase", admin_repeat);
    type_into(h, "Clinician user name", CLINICIAN);
    type_into(h, "Clinician passphrase", CLINICIAN_PASS);
    type_into(h, "Repeat the clinician passphrase", CLINICIAN_PASS);
}

fn created(probe: &FakeProbe) -> bool {
    probe
        .log()
        .requests
        .iter()
        .any(|r| r.starts_with("createvault"))
}

#[test]
fn the_admin_sets_tacet_up_in_the_window_with_no_terminal() {
    let (mut h, probe) = harness();
    assert_eq!(h.state().state.screen, Screen::Setup);
    assert!(!texts_containing(&h, &format!("There is no vault in {FAKE_DATA_DIR} yet")).is_empty());
    // The admin's name is offered; the passphrases are the admin's to choose.
    assert_eq!(h.state().state.setup.admin, "admin");

    // A repeat that differs is refused before anything is sent.
    fill_accounts(&mut h, "larch quiet tundra fifty");
    assert!(
        !texts_containing(&h, "Strength: ").is_empty(),
        "each passphrase's strength is shown"
    );
    click(&mut h, "Create the vault");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(
        err.contains("admin's passphrase and its repetition differ"),
        "{err}"
    );
    assert!(!created(&probe));

    h.state_mut().state.setup.admin_confirm.clear();
    h.run();
    type_into(&mut h, "Repeat the admin passphrase", ADMIN_PASS);
    click(&mut h, "Create the vault");
    h.run();
    assert!(created(&probe));
    let st = &h.state().state;
    assert_eq!(st.error, None);
    assert_eq!(
        st.setup.step,
        SetupStep::Models,
        "the walk goes on as the admin"
    );
    assert_eq!(
        st.signed_in.as_ref().map(|s| s.user.as_str()),
        Some("admin")
    );
    assert!(st.setup.admin_passphrase.is_empty() && st.setup.clinician_confirm.is_empty());
    assert_eq!(st.setup.verifier_key.as_deref(), Some(FAKE_VERIFIER_KEY));
    assert_eq!(
        probe
            .log()
            .requests
            .iter()
            .filter(|r| *r == "unlock admin")
            .count(),
        1
    );
    // Nothing is installed yet, and the screen says so.
    assert!(!texts_containing(&h, "missing").is_empty());

    // Models from a folder: two model files and one that is not a model.
    let media = tempfile::tempdir().unwrap();
    let stick = media.path().join("USB STICK");
    std::fs::create_dir(&stick).unwrap();
    std::fs::write(stick.join("whisper-tiny.en.gguf"), b"GGUF speech").unwrap();
    std::fs::write(stick.join("smollm2.gguf"), b"GGUF drafting").unwrap();
    std::fs::write(stick.join("notes.gguf"), b"minutes of the staff meeting").unwrap();
    // The folder is chosen in the window's picker, from the folder above
    // it (where the typed text points), as a person would find a stick.
    let above = media.path();
    type_into(
        &mut h,
        "Folder with the model files",
        &format!("{}/", above.display()),
    );
    click(&mut h, "Choose the models folder…");
    click(&mut h, "USB STICK/");
    // A folder picker lists folders only: the model files are not offered.
    assert!(texts_containing(&h, "smollm2.gguf").is_empty());
    click(&mut h, "Choose this folder");
    assert_eq!(
        h.state().state.setup.models_folder,
        stick.display().to_string()
    );
    click(&mut h, "Import the models in this folder");
    h.run();
    let rows = h.state().state.setup.imported.clone();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let refused = texts_containing(&h, "Refused");
    assert!(
        refused
            .iter()
            .any(|t| t.contains("notes.gguf") && t.contains("SHA-256")),
        "the file that is not a model is named with why: {refused:?}"
    );
    assert!(!texts_containing(&h, "installed: whisper-tiny.en").is_empty());
    assert!(!texts_containing(&h, "installed: smollm2").is_empty());
    assert!(texts_containing(&h, "missing").is_empty());

    // The audit anchor.
    click(&mut h, "Next: audit anchor");
    assert!(!texts_containing(&h, "not anchored yet").is_empty());
    type_into(
        &mut h,
        "Anchor folder (outside the data folder)",
        "/media/usb/tacet-anchor",
    );
    click(&mut h, "Anchor the audit log here");
    h.run();
    assert!(!texts_containing(&h, "anchored in /media/usb/tacet-anchor").is_empty());

    // The consent texts, with the practice's name.
    click(&mut h, "Next: consent texts");
    h.run();
    assert!(!texts_containing(&h, "Our practice uses Tacet").is_empty());
    type_into(&mut h, "Practice name", "Harbour Family Practice");
    click(&mut h, "Fill in the practice name");
    h.run();
    assert!(!texts_containing(&h, "Harbour Family Practice uses Tacet").is_empty());
    assert!(!texts_containing(&h, "Is it all right with you").is_empty());

    // The summary, with the verifier key to keep elsewhere.
    click(&mut h, "Next: finish");
    assert!(!texts_containing(&h, FAKE_VERIFIER_KEY).is_empty());
    // The chain key is shown once, here, since the vault does not keep it.
    assert!(!texts_containing(&h, FAKE_CHAIN_KEY).is_empty());
    assert!(!texts_containing(&h, "/media/usb/tacet-anchor").is_empty());
    click(&mut h, &format!("Finish: sign in as {CLINICIAN}"));
    h.run();
    let st = &h.state().state;
    assert_eq!(st.screen, Screen::Unlock);
    assert_eq!(st.signed_in, None);
    assert_eq!(st.unlock.user, CLINICIAN);
    assert!(st
        .notice
        .as_deref()
        .unwrap_or_default()
        .contains("Tacet is ready"));

    // The clinician signs in with the passphrase chosen in the walk.
    unlock(&mut h, (CLINICIAN, CLINICIAN_PASS));
    assert_eq!(h.state().state.screen, Screen::Sessions);
    let audit = probe.log().audit.clone();
    for (code, outcome) in [
        ("vault.created", "success"),
        ("model.imported", "success"),
        ("model.imported", "failed"),
    ] {
        assert!(
            audit.iter().any(|(c, o)| c == code && o == outcome),
            "{code} {outcome}: {audit:?}"
        );
    }
}

#[test]
fn fail_a_passphrase_easy_to_guess_is_refused_before_the_vault_is_created() {
    let (mut h, probe) = harness();
    type_into(&mut h, "Admin passphrase", "password1");
    assert!(!texts_containing(&h, "Strength: very weak").is_empty());
    type_into(&mut h, "Repeat the admin passphrase", "password1");
    type_into(&mut h, "Clinician user name", CLINICIAN);
    type_into(&mut h, "Clinician passphrase", CLINICIAN_PASS);
    type_into(&mut h, "Repeat the clinician passphrase", CLINICIAN_PASS);
    click(&mut h, "Create the vault");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("too easy to guess"), "{err}");
    assert!(!created(&probe));
    assert_eq!(h.state().state.setup.step, SetupStep::Accounts);
}

#[test]
fn fail_no_later_step_opens_before_the_vault_exists() {
    let (mut h, probe) = harness();
    for step in [SetupStep::Models, SetupStep::Anchor, SetupStep::Done] {
        h.state_mut().handle(UiCommand::SetupGoTo(step));
        h.state_mut().handle(UiCommand::FinishSetup);
        h.run();
        assert_eq!(h.state().state.setup.step, SetupStep::Accounts);
        assert_eq!(h.state().state.screen, Screen::Setup);
    }
    assert!(
        probe.log().requests.is_empty(),
        "{:?}",
        probe.log().requests
    );
}

#[test]
fn fail_the_same_name_for_both_accounts_is_refused() {
    let (mut h, probe) = harness();
    h.state_mut().state.setup.admin.clear();
    h.run();
    type_into(&mut h, "Admin user name", CLINICIAN);
    fill_accounts(&mut h, ADMIN_PASS);
    click(&mut h, "Create the vault");
    let err = h.state().state.error.clone().unwrap_or_default();
    assert!(err.contains("different user names"), "{err}");
    assert!(!created(&probe));
}
