//! Issue 22, item 2: a covering clinician the owner names opens the
//! session with a key wrapped to them alone; nobody else does.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::ports::{SessionStore, StoreError};
use tacet_core::{PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

#[path = "support/files.rs"]
mod files;
#[path = "support/crash_fixture.rs"]
mod fixture;
use files::{blobs, in_any_file};

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

/// An admin, drlee and drkim; drlee owns one session with a transcript.
fn practice() -> (tempfile::TempDir, tacet_core::SessionId) {
    let dir = tempfile::tempdir().unwrap();
    let (a, c, k) = (
        pass("admin-passphrase"),
        pass("clinician-passphrase"),
        pass("kim-passphrase"),
    );
    let mut v = Vault::create(
        dir.path(),
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
    .unwrap();
    let mut u = v.unlock("drlee", &c).unwrap();
    u.add_user(
        &NewUser {
            name: "drkim",
            role: Role::Clinician,
            passphrase: &k,
        },
        KdfChoice::Floor,
    )
    .unwrap();
    let id = u
        .create_session("soap", &PatientRef::new(fixture::PATIENT))
        .unwrap();
    u.append_audio(id, &fixture::audio(id, 0), true).unwrap();
    u.put_transcript(id, &fixture::transcript(id)).unwrap();
    (dir, id)
}

fn covers_rows(dir: &std::path::Path) -> i64 {
    rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE))
        .unwrap()
        .query_row("SELECT count(*) FROM session_covers", [], |r| r.get(0))
        .unwrap()
}

fn records(u: &tacet_vault::Unlocked<'_>, code: &str) -> Vec<tacet_audit::AuditRecord> {
    u.audit_records()
        .unwrap()
        .iter()
        .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
        .filter(|r| r.action == code)
        .collect()
}

#[test]
fn a_covering_colleague_finishes_the_visit_under_their_own_name() {
    let (dir, id) = practice();
    let mut v = Vault::open(dir.path()).unwrap();
    {
        let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
        assert!(k.list_sessions().unwrap().is_empty());
        assert!(matches!(
            k.transcript(id),
            Err(StoreError::NoSuchSession(_))
        ));
    }
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        u.grant_cover(id, "drkim").unwrap();
        assert_eq!(u.covers(id).unwrap(), vec!["drkim".to_string()]);
    }
    let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
    let listed = k.list_sessions().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].owner.0, "drlee");
    assert_eq!(k.transcript(id).unwrap(), fixture::transcript(id));
    k.put_draft(id, &fixture::draft(id)).unwrap();
    let receipt = k.destroy(id, "discarded").unwrap();
    assert_eq!(receipt.actor.0, "drkim");
    assert_eq!(covers_rows(dir.path()), 0, "the cover went with the key");
    let granted = records(&k, "session.cover_granted");
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].actor, "drlee");
    assert_eq!(granted[0].object.as_deref(), Some("user:drkim"));
    assert!(records(&k, "session.draft_created")
        .iter()
        .all(|r| r.actor == "drkim"));
    assert!(k.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn fail_only_the_owner_shares_and_only_with_a_clinician() {
    let (dir, id) = practice();
    let mut v = Vault::open(dir.path()).unwrap();
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        for (who, why) in [
            ("admin", "not a clinician"),
            ("nobody", "not a clinician"),
            ("drlee", "already own"),
        ] {
            let err = u.grant_cover(id, who).unwrap_err().to_string();
            assert!(err.contains(why), "{who}: {err}");
        }
        u.grant_cover(id, "drkim").unwrap();
    }
    {
        // The covering colleague cannot pass the session on or take covers back.
        let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
        let err = k.revoke_cover(id, "drkim").unwrap_err().to_string();
        assert!(err.contains("only the clinician who owns"), "{err}");
        let err = k.grant_cover(id, "drlee").unwrap_err().to_string();
        assert!(err.contains("only the clinician who owns"), "{err}");
    }
    {
        let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        assert!(a.grant_cover(id, "drkim").is_err());
    }
    assert_eq!(covers_rows(dir.path()), 1);
}

#[test]
fn a_revoked_cover_opens_nothing_and_its_wrap_is_gone() {
    let (dir, id) = practice();
    let mut v = Vault::open(dir.path()).unwrap();
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        u.grant_cover(id, "drkim").unwrap();
        assert!(u.revoke_cover(id, "drkim").unwrap());
        assert!(
            !u.revoke_cover(id, "drkim").unwrap(),
            "nothing left to revoke"
        );
        assert_eq!(records(&u, "session.cover_revoked").len(), 1);
    }
    assert_eq!(covers_rows(dir.path()), 0);
    let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
    assert!(k.list_sessions().unwrap().is_empty());
    assert!(k.transcript(id).is_err());
}

#[test]
fn fail_a_cover_row_planted_in_the_file_opens_nothing() {
    // An insider copies the owner's wrap into a cover row for drkim (or
    // makes one up): it does not open with drkim's key.
    let (dir, id) = practice();
    {
        let c = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
        c.execute(
            "INSERT INTO session_covers (session_id, clinician, wrapped_key, granted_at_ms) \
             SELECT id, 'drkim', wrapped_key, 0 FROM sessions",
            [],
        )
        .unwrap();
    }
    let mut v = Vault::open(dir.path()).unwrap();
    let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
    let err = k.transcript(id).unwrap_err().to_string();
    assert!(err.contains("does not open"), "{err}");
    assert!(k.patient_ref(id).is_err() && k.audio(id).is_err());
}

#[test]
fn a_colleague_keeps_their_covers_through_a_passphrase_change_and_loses_them_on_removal() {
    let (dir, id) = practice();
    let mut v = Vault::open(dir.path()).unwrap();
    v.unlock("drlee", &pass("clinician-passphrase"))
        .unwrap()
        .grant_cover(id, "drkim")
        .unwrap();
    {
        let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
        k.change_passphrase(
            &pass("kim-passphrase"),
            &pass("a brand new kim passphrase"),
            KdfChoice::Floor,
        )
        .unwrap();
    }
    {
        let mut k = v
            .unlock("drkim", &pass("a brand new kim passphrase"))
            .unwrap();
        assert_eq!(k.transcript(id).unwrap(), fixture::transcript(id));
    }
    // drkim owns nothing, so an admin may remove her; her cover goes too.
    v.unlock("admin", &pass("admin-passphrase"))
        .unwrap()
        .remove_user("drkim")
        .unwrap();
    assert_eq!(covers_rows(dir.path()), 0);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
    assert!(u.covers(id).unwrap().is_empty());
}

#[test]
fn fail_a_key_kept_while_covering_opens_nothing_after_the_cover_is_revoked() {
    // drkim held the session key unwrapped while covering and could have
    // kept it. Revoking re-keys the session: every ciphertext she could open
    // is gone from the files, the key id is new, and the owner and the
    // colleague still covering (drpat) open it as before.
    let (dir, id) = practice();
    let mut v = Vault::open(dir.path()).unwrap();
    let pat = pass("pat-passphrase-for-covers");
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        u.add_user(
            &NewUser {
                name: "drpat",
                role: Role::Clinician,
                passphrase: &pat,
            },
            KdfChoice::Floor,
        )
        .unwrap();
        u.grant_cover(id, "drkim").unwrap();
        u.grant_cover(id, "drpat").unwrap();
    }
    {
        let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
        assert_eq!(k.transcript(id).unwrap(), fixture::transcript(id));
    }
    let old_sealed = blobs(dir.path(), "SELECT sealed FROM artifacts");
    let old_key_id = blobs(dir.path(), "SELECT key_id FROM sessions");
    let old_wraps = blobs(dir.path(), "SELECT wrapped_key FROM session_covers");
    assert!(
        old_sealed.len() >= 3,
        "patient reference, audio, transcript"
    );
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        assert!(u.revoke_cover(id, "drkim").unwrap());
        assert_eq!(u.covers(id).unwrap(), vec!["drpat".to_string()]);
        assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
        assert_eq!(u.audio(id).unwrap().len(), fixture::audio(id, 0).len());
        let revoked = records(&u, "session.cover_revoked");
        let new_key_id = blobs(dir.path(), "SELECT key_id FROM sessions");
        assert_ne!(new_key_id, old_key_id);
        assert!(revoked[0]
            .details
            .iter()
            .any(|(k, v)| k == "key_id" && *v == hex::encode(&new_key_id[0])));
        assert!(u.verify_audit(&[]).unwrap().is_ok());
    }
    for blob in old_sealed.iter().chain(&old_wraps) {
        assert!(
            !in_any_file(dir.path(), &blob[blob.len() - 32..]),
            "an old ciphertext or wrap is still in the vault's files"
        );
    }
    {
        let mut p = v.unlock("drpat", &pat).unwrap();
        assert_eq!(p.transcript(id).unwrap(), fixture::transcript(id));
    }
    let mut k = v.unlock("drkim", &pass("kim-passphrase")).unwrap();
    assert!(k.transcript(id).is_err());
}
