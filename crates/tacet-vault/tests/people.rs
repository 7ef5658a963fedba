//! Issue 22, item 9: a passphrase change (with a new key pair for a
//! clinician) and an admin's removal of an account, each audited.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::ports::SessionStore;
use tacet_core::{PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault, VaultError};

#[path = "support/files.rs"]
mod files;
#[path = "support/crash_fixture.rs"]
mod fixture;
use files::blobs as column;

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

fn vault(dir: &std::path::Path) -> Vault {
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

fn session(u: &mut impl SessionStore) -> tacet_core::SessionId {
    let id = u
        .create_session("soap", &PatientRef::new(fixture::PATIENT))
        .unwrap();
    u.append_audio(id, &fixture::audio(id, 0), true).unwrap();
    u.put_transcript(id, &fixture::transcript(id)).unwrap();
    id
}

fn actions(u: &tacet_vault::Unlocked<'_>, code: &str) -> Vec<tacet_audit::AuditRecord> {
    u.audit_records()
        .unwrap()
        .iter()
        .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
        .filter(|r| r.action == code)
        .collect()
}

#[test]
fn a_clinician_changes_their_passphrase_and_keeps_their_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    let (id, old_public, old_wrap) = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let id = session(&mut u);
        let p = column(
            dir.path(),
            "SELECT x25519_public FROM users WHERE name = 'drlee'",
        );
        let w = column(dir.path(), "SELECT wrapped_key FROM sessions");
        let moved = u
            .change_passphrase(
                &pass("clinician-passphrase"),
                &pass("a new long passphrase"),
                KdfChoice::Floor,
            )
            .unwrap();
        assert_eq!(moved, 1);
        // Still works in the same sign-in, with the new key pair.
        assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
        let rec = actions(&u, "user.passphrase_changed");
        assert_eq!(rec.len(), 1);
        assert!(rec[0].details.contains(&("count".into(), "1".into())));
        (id, p, w)
    };
    // The key pair and the session's wrap are new; the old passphrase
    // opens nothing, the new one opens everything.
    assert_ne!(
        column(
            dir.path(),
            "SELECT x25519_public FROM users WHERE name = 'drlee'"
        ),
        old_public
    );
    assert_ne!(
        column(dir.path(), "SELECT wrapped_key FROM sessions"),
        old_wrap
    );
    assert!(matches!(
        v.unlock("drlee", &pass("clinician-passphrase")),
        Err(VaultError::BadCredentials)
    ));
    let mut u = v.unlock("drlee", &pass("a new long passphrase")).unwrap();
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
    // A rotation still finds the roster row valid.
    let r = u.rotate_data_master().unwrap();
    assert!(r.refused.is_empty());
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn fail_a_passphrase_change_needs_the_current_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let err = a
        .change_passphrase(
            &pass("guessed-wrong"),
            &pass("a new long passphrase"),
            KdfChoice::Floor,
        )
        .unwrap_err();
    assert!(matches!(err, VaultError::BadCredentials), "{err}");
    assert_eq!(actions(&a, "user.passphrase_changed")[0].outcome, "denied");
    let short = a
        .change_passphrase(&pass("admin-passphrase"), &pass("short"), KdfChoice::Floor)
        .unwrap_err();
    assert!(matches!(short, VaultError::WeakPassphrase(_)), "{short}");
    a.change_passphrase(
        &pass("admin-passphrase"),
        &pass("admin passphrase two"),
        KdfChoice::Floor,
    )
    .unwrap();
    drop(a);
    assert!(v.unlock("admin", &pass("admin-passphrase")).is_err());
    assert!(v
        .unlock("admin", &pass("admin passphrase two"))
        .unwrap()
        .verify_audit(&[])
        .unwrap()
        .is_ok());
}

#[test]
fn an_admin_removes_an_account_with_the_rules_that_keep_data_safe() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    let kim = pass("kim-passphrase");
    let kims = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        u.add_user(
            &NewUser {
                name: "drkim",
                role: Role::Clinician,
                passphrase: &kim,
            },
            KdfChoice::Floor,
        )
        .unwrap();
        // A clinician cannot remove anyone.
        assert!(u.remove_user("drkim").is_err());
        drop(u);
        let mut k = v.unlock("drkim", &kim).unwrap();
        session(&mut k)
    };
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let own = a.remove_user("admin").unwrap_err().to_string();
    assert!(own.contains("your own account"), "{own}");
    let busy = a.remove_user("drkim").unwrap_err().to_string();
    assert!(busy.contains("still owns 1 session"), "{busy}");
    drop(a);
    {
        let mut k = v.unlock("drkim", &kim).unwrap();
        k.destroy(kims, "discarded").unwrap();
    }
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    a.remove_user("drkim").unwrap();
    let last = a.remove_user("drlee").unwrap_err().to_string();
    assert!(last.contains("last clinician"), "{last}");
    let removed = actions(&a, "user.removed");
    assert_eq!(
        removed
            .iter()
            .map(|r| (r.object.clone().unwrap_or_default(), r.outcome.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("user:drkim".to_string(), "denied".to_string()),
            ("user:admin".to_string(), "denied".to_string()),
            ("user:drkim".to_string(), "denied".to_string()),
            ("user:drkim:clinician".to_string(), "success".to_string()),
            ("user:drlee".to_string(), "denied".to_string()),
        ]
    );
    assert!(a.rotation_due().unwrap());
    drop(a);
    assert!(matches!(
        v.unlock("drkim", &kim),
        Err(VaultError::BadCredentials)
    ));
    // The next clinician unlock rotates the master drkim held.
    let u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(!u.rotation_due().unwrap(), "{:?}", u.housekeeping_problem());
}

/// Issue 22 (low): `rotation_due` is a plain row in `meta`. An editor of the
/// file deletes it after a clinician's removal so the removed clinician's
/// old copy of the data master stays useful; the audit log still says a
/// rotation is due, and the next clinician unlock rotates.
#[test]
fn fail_a_rotation_flag_deleted_on_disk_does_not_skip_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    let kim = pass("kim-passphrase");
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        u.add_user(
            &NewUser {
                name: "drkim",
                role: Role::Clinician,
                passphrase: &kim,
            },
            KdfChoice::Floor,
        )
        .unwrap();
    }
    let master_before = column(dir.path(), "SELECT v FROM meta WHERE k = 'data_master_id'");
    {
        let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        a.remove_user("drkim").unwrap();
        assert!(a.rotation_due().unwrap());
    }
    drop(v);
    let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    assert_eq!(
        conn.execute("DELETE FROM meta WHERE k = 'rotation_due'", [])
            .unwrap(),
        1
    );
    drop(conn);

    let mut v = Vault::open(dir.path()).unwrap();
    let u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(!u.rotation_due().unwrap(), "{:?}", u.housekeeping_problem());
    let rotations = actions(&u, "key.rotated");
    assert_eq!(
        rotations.last().and_then(|r| r.object.clone()).as_deref(),
        Some("data-master")
    );
    drop(u);
    let master_after = column(dir.path(), "SELECT v FROM meta WHERE k = 'data_master_id'");
    assert_ne!(master_before, master_after, "the data master was replaced");
}
