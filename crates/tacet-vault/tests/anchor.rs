//! Issue 22, item 4 (in part): signed checkpoints anchored automatically in
//! a folder outside the data folder, read back by `verify_audit` itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::ports::SessionStore;
use tacet_core::{PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

fn new_vault(dir: &std::path::Path) -> Vault {
    let (a, c) = (pass("admin-passphrase"), pass("clinician-passphrase"));
    Vault::create(
        dir,
        &[
            NewUser {
                name: "admin",
                role: Role::Admin,
                passphrase: &a,
            },
            NewUser {
                name: "drlee",
                role: Role::Clinician,
                passphrase: &c,
            },
        ],
        KdfChoice::Floor,
    )
    .unwrap()
}

/// Some audited work by the clinician: an unlock and a new session.
fn work(v: &mut Vault) {
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    u.create_session("soap", &PatientRef::new("MRN-ANCHOR-1"))
        .unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

fn restore(backup: &std::path::Path, data: &std::path::Path) {
    for e in std::fs::read_dir(data).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::remove_file(p).unwrap();
        }
    }
    copy_dir(backup, data);
}

/// Plays the rollback: work, a copy of the whole data folder (database,
/// WAL and head marker), more work, then the copy put back to hide the
/// later records. Returns the admin's verification afterwards.
fn rollback(anchor: Option<&std::path::Path>) -> tacet_core::ports::AuditVerification {
    let data = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let mut v = new_vault(data.path());
    if let Some(a) = anchor {
        let mut admin = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        admin.set_anchor_dir(Some(a)).unwrap();
    }
    work(&mut v);
    drop(v);
    copy_dir(data.path(), backup.path());
    let mut v = Vault::open(data.path()).unwrap();
    work(&mut v);
    work(&mut v);
    drop(v);
    restore(backup.path(), data.path());
    let mut v = Vault::open(data.path()).unwrap();
    let mut admin = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    admin.verify_audit_full(&[]).unwrap()
}

#[test]
fn fail_a_rolled_back_data_folder_is_caught_by_the_anchored_checkpoints() {
    // Without an anchor folder the rollback of database and marker together
    // verifies clean: nothing in the folder remembers the hidden records.
    let unanchored = rollback(None);
    assert!(unanchored.is_ok(), "{:?}", unanchored.problems);
    assert!(unanchored
        .anchors
        .as_deref()
        .is_some_and(|a| a.contains("no anchor folder")));
    // With one, the checkpoints written there after the copy are larger
    // than the log now is: the verification fails and says so.
    let stick = tempfile::tempdir().unwrap();
    let anchored = rollback(Some(stick.path()));
    assert!(!anchored.is_ok(), "the rollback went unnoticed");
    let anchors = anchored.anchors.clone().unwrap_or_default();
    assert!(
        anchors.contains("anchored checkpoint(s) read from"),
        "{anchors}"
    );
    let n: usize = anchors.split(' ').next().unwrap().parse().unwrap();
    assert!(n >= 3, "{anchors}");
}

#[test]
fn fail_a_log_signed_again_with_another_key_does_not_match_the_pinned_key() {
    let data = tempfile::tempdir().unwrap();
    let stick = tempfile::tempdir().unwrap();
    let mut v = new_vault(data.path());
    {
        let mut admin = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        admin.set_anchor_dir(Some(stick.path())).unwrap();
        assert!(admin.verify_audit_full(&[]).unwrap().is_ok());
    }
    work(&mut v);
    // The vault's verifier key replaced by another valid one (as an
    // insider who signs the log again with a key of their own must): the
    // copy pinned on the stick disagrees, and the verification says so.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut other = new_vault(elsewhere.path());
    let other_key = other
        .unlock("admin", &pass("admin-passphrase"))
        .unwrap()
        .audit_verifier_key()
        .unwrap();
    drop(v);
    {
        let conn = rusqlite::Connection::open(data.path().join(tacet_vault::DB_FILE)).unwrap();
        conn.execute(
            "UPDATE meta SET v = ?1 WHERE k = 'audit_vkey'",
            [other_key.as_bytes()],
        )
        .unwrap();
    }
    let mut v = Vault::open(data.path()).unwrap();
    let mut admin = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let r = admin.verify_audit_full(&[]).unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("pinned")),
        "{:?}",
        r.problems
    );
}

#[test]
fn the_anchor_folder_is_an_admins_choice_outside_the_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let mut v = new_vault(data.path());
    {
        let mut c = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let stick = tempfile::tempdir().unwrap();
        assert!(c.set_anchor_dir(Some(stick.path())).is_err());
    }
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let inside = a.set_anchor_dir(Some(data.path())).unwrap_err().to_string();
    assert!(inside.contains("outside the data folder"), "{inside}");
    let missing = a
        .set_anchor_dir(Some(std::path::Path::new("/nonexistent/stick")))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("existing folder"), "{missing}");
    // A stick that is later unplugged never blocks work: the unlock says
    // so, and verification checks without it.
    let stick = tempfile::tempdir().unwrap();
    let gone = stick.path().join("usb");
    std::fs::create_dir(&gone).unwrap();
    a.set_anchor_dir(Some(&gone)).unwrap();
    drop(a);
    std::fs::remove_dir_all(&gone).unwrap();
    work(&mut v);
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    assert!(a
        .housekeeping_problem()
        .is_some_and(|p| p.contains("could not be anchored")));
    let r = a.verify_audit_full(&[]).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert!(r.anchors.unwrap().contains("could not be read"));
}
