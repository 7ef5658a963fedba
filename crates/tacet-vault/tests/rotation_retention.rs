//! Data-master rotation, retention, the export grace period, the v1→v2
//! migration and finishing an interrupted deletion.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::ports::SessionStore;
use tacet_core::{AttestedNote, PatientRef, Role, SessionState};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, RetentionSettings, Vault, VaultError};

#[path = "support/files.rs"]
mod files;
#[path = "support/crash_fixture.rs"]
mod fixture;
use files::blobs;

const DAY_MS: u64 = 86_400_000;

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

fn users<'a>(a: &'a Passphrase, c: &'a Passphrase) -> [NewUser<'a>; 2] {
    [
        NewUser {
            name: "admin",
            role: Role::Admin,
            passphrase: a,
        },
        NewUser {
            name: "drlee",
            role: Role::Clinician,
            passphrase: c,
        },
    ]
}

fn new_vault(dir: &std::path::Path) -> Vault {
    let (a, c) = (pass("admin-passphrase"), pass("clinician-passphrase"));
    Vault::create(dir, &users(&a, &c), KdfChoice::Floor).unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A session with audio, transcript, draft and attestation.
fn session(u: &mut impl SessionStore) -> tacet_core::SessionId {
    let id = u
        .create_session("soap", &PatientRef::new(fixture::PATIENT))
        .unwrap();
    u.append_audio(id, &fixture::audio(id, 0), true).unwrap();
    u.put_transcript(id, &fixture::transcript(id)).unwrap();
    u.put_draft(id, &fixture::draft(id)).unwrap();
    let note = AttestedNote::attest(
        id,
        fixture::draft(id).render_text(),
        u.actor().user.clone(),
        1,
    )
    .unwrap();
    u.put_attested(&note).unwrap();
    id
}

fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file()
            && std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        {
            hits.push(p.display().to_string());
        }
    }
    hits
}

#[test]
fn destroy_rotates_the_data_master_for_every_clinician() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let kim_pass = pass("kim-passphrase");
    let (keep, gone, kims);
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        u.add_user(
            &NewUser {
                name: "drkim",
                role: Role::Clinician,
                passphrase: &kim_pass,
            },
            KdfChoice::Floor,
        )
        .unwrap();
        keep = session(&mut u);
        gone = session(&mut u);
    }
    {
        let mut k = v.unlock("drkim", &kim_pass).unwrap();
        kims = session(&mut k);
    }
    drop(v);
    // The destroyed session's wrapped key and every wrap of the old
    // master, as stored now.
    let old_wrapped: Vec<Vec<u8>> = blobs(
        dir.path(),
        &format!(
            "SELECT wrapped_key FROM sessions WHERE hex(id) = '{}'",
            gone.to_string().to_uppercase()
        ),
    )
    .into_iter()
    .chain(blobs(
        dir.path(),
        "SELECT wrapped_data_master_pk FROM users WHERE wrapped_data_master_pk IS NOT NULL",
    ))
    .collect();
    assert_eq!(old_wrapped.len(), 3);

    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let receipt = u.destroy(gone, "discarded").unwrap();
    assert!(receipt.receipt_id.starts_with("rcpt-"));
    assert!(!u.rotation_due().unwrap(), "{:?}", u.housekeeping_problem());
    // The survivor still opens under the new master.
    assert_eq!(u.transcript(keep).unwrap(), fixture::transcript(keep));
    let r = u.rotate_data_master().unwrap();
    // Session keys are wrapped to their owners; the master wraps none.
    assert_eq!((r.session_keys_rewrapped, r.clinicians), (0, 2));
    assert_ne!(r.old_master_id_hex, r.new_master_id_hex);
    assert!(u.verify_audit(&[]).unwrap().is_ok());
    drop(u);
    drop(v);
    // No wrapped copy made under an old master is left in any file.
    for w in &old_wrapped {
        assert_eq!(
            files_containing(dir.path(), &w[w.len() - 24..]),
            Vec::<String>::new()
        );
    }
    // drkim, whose passphrase the rotation never saw, still opens their session.
    let mut v = Vault::open(dir.path()).unwrap();
    let mut k = v.unlock("drkim", &kim_pass).unwrap();
    assert_eq!(k.transcript(kims).unwrap(), fixture::transcript(kims));
    let conn_audit = k.verify_audit(&[]).unwrap();
    assert!(conn_audit.is_ok());
}

#[test]
fn fail_admin_cannot_rotate_and_rotation_waits_for_a_clinician() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let id = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        session(&mut u)
    };
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    assert!(a
        .rotate_data_master()
        .unwrap_err()
        .to_string()
        .contains("only a clinician"));
    // Retention as the admin: past the 7-day limit the unattested session goes.
    let report = a.run_retention(now_ms() + 8 * DAY_MS).unwrap();
    assert_eq!(report.receipts.len(), 1);
    assert_eq!(report.receipts[0].trigger, "retention");
    assert_eq!(report.receipts[0].actor.0, "system");
    assert!(report.rotation.is_none());
    assert!(a.rotation_due().unwrap());
    let dels = a.deletions().unwrap();
    assert_eq!(
        (dels[0].trigger.as_str(), dels[0].actor.as_str()),
        ("retention", "system")
    );
    drop(a);
    // The next clinician unlock finishes the rotation.
    let u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(!u.rotation_due().unwrap());
    assert_eq!(u.session(id).unwrap().state, SessionState::Destroyed);
}

#[test]
fn retention_keeps_what_is_inside_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let id = session(&mut u);
    let report = u.run_retention(now_ms() + 6 * DAY_MS).unwrap();
    assert!(report.receipts.is_empty());
    assert!(report.audit_seq.is_some());
    assert_eq!(u.session(id).unwrap().state, SessionState::Attested);
    let report = u.run_retention(now_ms() + 7 * DAY_MS + 1000).unwrap();
    assert_eq!(report.receipts.len(), 1);
    assert!(
        report.rotation.is_some(),
        "a clinician's retention run rotates at once"
    );
}

#[test]
fn export_grace_period_defers_destruction_until_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    {
        let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        assert_eq!(a.settings().unwrap(), RetentionSettings::default());
        let too_long = RetentionSettings {
            export_grace_ms: 73 * 3_600_000,
            ..Default::default()
        };
        assert!(matches!(
            a.set_settings(&too_long),
            Err(VaultError::BadSetting(_))
        ));
        a.set_settings(&RetentionSettings {
            export_grace_ms: 3_600_000,
            ..Default::default()
        })
        .unwrap();
    }
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(u
        .set_settings(&RetentionSettings::default())
        .unwrap_err()
        .to_string()
        .contains("only an admin"));
    let id = session(&mut u);
    let note = u.attested(id).unwrap();
    u.mark_exported(&note, "text").unwrap();
    let receipt = u.destroy(id, "exported").unwrap();
    assert!(receipt.receipt_id.starts_with("scheduled-"), "{receipt:?}");
    assert_eq!(receipt.destroyed_ciphertexts, 0);
    assert_eq!(u.session(id).unwrap().state, SessionState::Exported);
    assert!(u
        .run_retention(now_ms() + 1_800_000)
        .unwrap()
        .receipts
        .is_empty());
    let report = u.run_retention(now_ms() + 3_700_000).unwrap();
    assert_eq!(report.receipts.len(), 1);
    assert_eq!(report.receipts[0].trigger, "exported");
    assert!(report.receipts[0].destroyed_ciphertexts >= 5);
    assert_eq!(u.session(id).unwrap().state, SessionState::Destroyed);
    // A discard is never deferred.
    let other = session(&mut u);
    assert!(u
        .destroy(other, "discarded")
        .unwrap()
        .receipt_id
        .starts_with("rcpt-"));
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn a_v1_vault_migrates_to_the_fresh_schema_and_upgrades_its_clinicians() {
    let old = tempfile::tempdir().unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let (a, c) = (pass("admin-passphrase"), pass("clinician-passphrase"));
    drop(Vault::create_schema_v1_for_tests(old.path(), &users(&a, &c), KdfChoice::Floor).unwrap());
    drop(new_vault(fresh.path()));
    let path = old.path().join(tacet_vault::DB_FILE);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
    }
    let mut v = Vault::open(old.path()).unwrap();
    {
        let ca = rusqlite::Connection::open(&path).unwrap();
        let cb = rusqlite::Connection::open(fresh.path().join(tacet_vault::DB_FILE)).unwrap();
        assert_eq!(
            tacet_vault::describe_schema(&ca).unwrap(),
            tacet_vault::describe_schema(&cb).unwrap()
        );
    }
    // The v1 clinician unlocks through the old wrap and is upgraded.
    let mut u = v.unlock("drlee", &c).unwrap();
    let id = session(&mut u);
    let r = u.rotate_data_master().unwrap();
    assert_eq!(r.clinicians, 1);
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
    drop(u);
    let legacy = blobs(
        old.path(),
        "SELECT wrapped_data_master FROM users WHERE wrapped_data_master IS NOT NULL",
    );
    assert!(legacy.is_empty());
    let mut u = v.unlock("drlee", &c).unwrap();
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
}

#[test]
fn fail_rotation_is_blocked_by_a_clinician_not_yet_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let (a, c, k) = (
        pass("admin-passphrase"),
        pass("clinician-passphrase"),
        pass("kim-passphrase"),
    );
    let users = [
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
        NewUser {
            name: "drkim",
            role: Role::Clinician,
            passphrase: &k,
        },
    ];
    drop(Vault::create_schema_v1_for_tests(dir.path(), &users, KdfChoice::Floor).unwrap());
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &c).unwrap();
    let err = u.rotate_data_master().unwrap_err();
    assert!(
        matches!(err, VaultError::RotationBlocked(ref who) if who == "drkim"),
        "{err}"
    );
    let id = session(&mut u);
    // The deletion itself still completes; the rotation stays due.
    u.destroy(id, "discarded").unwrap();
    assert!(u.rotation_due().unwrap());
    drop(u);
    drop(v.unlock("drkim", &k).unwrap());
    let u = v.unlock("drlee", &c).unwrap();
    assert!(!u.rotation_due().unwrap(), "{:?}", u.housekeeping_problem());
}

#[test]
fn an_interrupted_shred_is_finished_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(new_vault(dir.path()));
    {
        let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
        conn.execute(
            "INSERT INTO pending_shred (session_id, since_ms) VALUES (x'00', 0)",
            [],
        )
        .unwrap();
    }
    let v = Vault::open(dir.path()).unwrap();
    assert_eq!(v.recovered_shreds(), 1);
    drop(v);
    assert_eq!(Vault::open(dir.path()).unwrap().recovered_shreds(), 0);
}

/// A process killed after the export was recorded but before the note was
/// written (found by crates/tacet-cli/tests/durability.rs): the next unlock
/// must not destroy the session, or the attested note is lost for good. It
/// stays exportable and retention ends it at the unexported-session limit.
#[test]
fn fail_an_export_cut_off_before_the_write_does_not_lose_the_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let id = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let id = session(&mut u);
        let note = u.attested(id).unwrap();
        u.mark_exported(&note, "text").unwrap();
        // ... and the process dies here: no write, no destroy.
        id
    };
    drop(v);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(u.session(id).unwrap().state, SessionState::Exported);
    let note = u.attested(id).unwrap();
    u.mark_exported(&note, "text").unwrap();
    assert!(u
        .run_retention(now_ms() + 6 * DAY_MS)
        .unwrap()
        .receipts
        .is_empty());
    let report = u.run_retention(now_ms() + 7 * DAY_MS + 1000).unwrap();
    assert_eq!(report.receipts.len(), 1);
    assert_eq!(report.receipts[0].trigger, "retention");
    assert_eq!(u.session(id).unwrap().state, SessionState::Destroyed);
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}

/// The audit records with this action code, decoded.
fn audited(u: &tacet_vault::Unlocked<'_>, action: &str) -> Vec<tacet_audit::AuditRecord> {
    u.audit_records()
        .unwrap()
        .iter()
        .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
        .filter(|r| r.action == action)
        .collect()
}

/// Someone with write access to the file and no clinician passphrase (an
/// admin, an insider) plants a key of their own in the roster.
fn forge_roster(dir: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    let n = conn
        .execute(sql, rusqlite::params![[0x42u8; 32].to_vec()])
        .unwrap();
    assert_eq!(n, 1, "{sql}");
}

fn wrap_of(dir: &std::path::Path, name: &str) -> Vec<Vec<u8>> {
    blobs(
        dir,
        &format!("SELECT wrapped_data_master_pk FROM users WHERE name = '{name}' AND wrapped_data_master_pk IS NOT NULL"),
    )
}

/// Plays issue 22's first attack: a row added or turned into a clinician's
/// outside Tacet, then a destroy, whose rotation used to wrap the new data
/// master to the planted key.
fn planted_row_gets_nothing(plant: &str, who: &str) {
    planted_row_gets_nothing_after(plant, who, None)
}

/// The same, with a second edit of the file (`also`) made beside the plant.
fn planted_row_gets_nothing_after(plant: &str, who: &str, also: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (keep, gone) = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        (session(&mut u), session(&mut u))
    };
    drop(v);
    forge_roster(dir.path(), plant);
    if let Some(sql) = also {
        exec(dir.path(), sql);
    }
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    u.destroy(gone, "discarded").unwrap();
    assert!(!u.rotation_due().unwrap(), "{:?}", u.housekeeping_problem());
    let problem = u.housekeeping_problem().unwrap_or_default().to_string();
    assert!(problem.contains(who), "{problem}");
    let refused = audited(&u, "user.roster_refused");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].object.as_deref(), Some(&*format!("user:{who}")));
    assert_eq!(refused[0].outcome, "denied");
    // The planted key got no copy of the new master; the clinician's work
    // still opens, now and after signing in again.
    assert!(wrap_of(dir.path(), who).is_empty());
    assert_eq!(u.transcript(keep).unwrap(), fixture::transcript(keep));
    // A second rotation refuses it again, and still wraps for drlee.
    let r = u.rotate_data_master().unwrap();
    assert_eq!(
        (r.clinicians, r.refused.clone()),
        (1, vec![who.to_string()])
    );
    assert!(u.verify_audit(&[]).unwrap().is_ok());
    drop(u);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(u.transcript(keep).unwrap(), fixture::transcript(keep));
    assert!(wrap_of(dir.path(), who).is_empty());
}

#[test]
fn fail_a_clinician_row_inserted_outside_tacet_gets_no_data_key() {
    planted_row_gets_nothing(
        "INSERT INTO users (name, role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, x25519_public) \
         SELECT 'mallory', 'clinician', kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, ?1 FROM users WHERE name = 'admin'",
        "mallory",
    );
}

#[test]
fn fail_deleting_the_roster_marker_does_not_get_a_planted_row_sealed() {
    // The marker that says the roster is tagged is a plain row: deleted, the
    // first clinician unlock used to tag every row as it stood, planted one
    // included. The audit log says the roster was tagged from the start.
    planted_row_gets_nothing_after(
        "INSERT INTO users (name, role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, x25519_public) \
         SELECT 'mallory', 'clinician', kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, ?1 FROM users WHERE name = 'admin'",
        "mallory",
        Some("DELETE FROM meta WHERE k = 'roster_sealed'"),
    );
}

#[test]
fn fail_an_admin_row_turned_clinician_outside_tacet_gets_no_data_key() {
    planted_row_gets_nothing(
        "UPDATE users SET role = 'clinician', x25519_public = ?1 WHERE name = 'admin'",
        "admin",
    );
}

#[test]
fn fail_a_clinician_row_whose_key_was_swapped_gets_no_data_key() {
    // drkim is real; the insider replaces only her public key.
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let kim = pass("kim-passphrase");
    let id = {
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
        session(&mut u)
    };
    drop(v);
    forge_roster(
        dir.path(),
        "UPDATE users SET x25519_public = ?1 WHERE name = 'drkim'",
    );
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let r = u.rotate_data_master().unwrap();
    assert_eq!((r.clinicians, r.refused), (1, vec!["drkim".to_string()]));
    assert!(wrap_of(dir.path(), "drkim").is_empty());
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
}

#[test]
fn fail_rotation_stops_when_the_signed_in_clinicians_own_row_was_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let id = session(&mut v.unlock("drlee", &pass("clinician-passphrase")).unwrap());
    drop(v);
    {
        let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
        conn.execute(
            "UPDATE users SET roster_tag = zeroblob(32) WHERE name = 'drlee'",
            [],
        )
        .unwrap();
    }
    let before = wrap_of(dir.path(), "drlee");
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let err = u.rotate_data_master().unwrap_err();
    assert!(err.to_string().contains("changed outside Tacet"), "{err}");
    // Nothing changed: the old wrap still opens everything.
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
    drop(u);
    assert_eq!(wrap_of(dir.path(), "drlee"), before);
}

#[test]
fn a_vault_from_before_the_roster_tags_is_sealed_once_at_the_first_clinician_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let (a, c, k) = (
        pass("admin-passphrase"),
        pass("clinician-passphrase"),
        pass("kim-passphrase"),
    );
    let users = [
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
        NewUser {
            name: "drkim",
            role: Role::Clinician,
            passphrase: &k,
        },
    ];
    drop(Vault::create_schema_v1_for_tests(dir.path(), &users, KdfChoice::Floor).unwrap());
    let mut v = Vault::open(dir.path()).unwrap();
    // Both clinicians sign in once (the v1 → v2 key upgrade), the first
    // of them seals the roster: one row has a public key at that moment.
    drop(v.unlock("drlee", &c).unwrap());
    drop(v.unlock("drkim", &k).unwrap());
    let mut u = v.unlock("drlee", &c).unwrap();
    let sealed = audited(&u, "user.roster_sealed");
    assert_eq!(sealed.len(), 1, "sealed once only");
    assert_eq!(sealed[0].actor, "drlee");
    assert!(sealed[0]
        .details
        .contains(&("count".to_string(), "1".to_string())));
    let r = u.rotate_data_master().unwrap();
    assert_eq!((r.clinicians, r.refused.len()), (2, 0));
    drop(u);
    drop(v.unlock("drkim", &k).unwrap());
}

/// Two clinicians; drlee has one session. Returns the vault's folder,
/// drkim's passphrase and the session.
fn two_clinicians() -> (tempfile::TempDir, Passphrase, tacet_core::SessionId) {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let kim = pass("kim-passphrase");
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
    let id = session(&mut u);
    drop(u);
    drop(v);
    (dir, kim, id)
}

fn exec(dir: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    conn.execute(sql, []).unwrap();
}

#[test]
fn fail_a_colleague_who_rewrites_the_owner_column_still_cannot_open_the_session() {
    // Issue 22, item 2: the owner check was an SQL filter and every
    // clinician held the key that opened every session key. drkim edits the
    // file so that drlee's session is hers, and signs in.
    let (dir, kim, id) = two_clinicians();
    let db = dir.path().join(tacet_vault::DB_FILE);
    let tag: Vec<u8> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT record_tag FROM sessions", [], |r| r.get(0))
        .unwrap();
    exec(dir.path(), "UPDATE sessions SET owner = 'drkim'");
    let mut v = Vault::open(dir.path()).unwrap();
    let mut k = v.unlock("drkim", &kim).unwrap();
    assert!(k.list_sessions().unwrap().iter().any(|s| s.id == id));
    // The row's tag covers its owner, so the session is refused before any
    // key is tried (session_tags.rs).
    let err = k.transcript(id).unwrap_err().to_string();
    assert!(err.contains("changed outside Tacet"), "{err}");
    assert!(k.draft(id).is_err() && k.patient_ref(id).is_err());
    drop(k);
    // Deleting the tags and the marker that says they are in force does not
    // get the edited row sealed as it stands: the audit log keeps the seal.
    exec(dir.path(), "UPDATE sessions SET record_tag = NULL");
    exec(
        dir.path(),
        "DELETE FROM meta WHERE k = 'session_records_sealed'",
    );
    let mut k = v.unlock("drkim", &kim).unwrap();
    let err = k.transcript(id).unwrap_err().to_string();
    assert!(err.contains("changed outside Tacet"), "{err}");
    drop(k);
    // Put back with its tag, the owner opens it as before.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE sessions SET owner = 'drlee', record_tag = ?1",
            rusqlite::params![tag],
        )
        .unwrap();
    }
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
}

#[test]
fn fail_a_clinician_row_edited_to_admin_is_refused_at_sign_in() {
    // drlee turns their own row into an admin's in the file. The audit log
    // added drlee as a clinician, so the sign-in is refused (no admin
    // powers, no data key) and the attempt is audited as tampering.
    let (dir, kim, id) = two_clinicians();
    exec(
        dir.path(),
        "UPDATE users SET role = 'admin' WHERE name = 'drlee'",
    );
    let mut v = Vault::open(dir.path()).unwrap();
    let err = v
        .unlock("drlee", &pass("clinician-passphrase"))
        .err()
        .expect("a raised role is refused")
        .to_string();
    assert!(
        err.contains("recorded as admin in the vault file")
            && err.contains("added it as clinician"),
        "{err}"
    );
    // A wrong passphrase gets the ordinary answer: the check comes after it.
    let wrong = v.unlock("drlee", &pass("not drlee's passphrase")).err();
    assert!(
        matches!(wrong, Some(VaultError::BadCredentials)),
        "{wrong:?}"
    );
    {
        let mut k = v.unlock("drkim", &kim).unwrap();
        let refused = audited(&k, "user.roster_refused");
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].object.as_deref(), Some("user:drlee:admin"));
        assert_eq!(refused[0].outcome, "denied");
        assert!(audited(&k, "unlock")
            .iter()
            .all(|r| r.actor != "drlee" || r.role != "admin"));
        assert!(k.verify_audit(&[]).unwrap().is_ok());
    }
    // Put back, drlee signs in as the clinician the log says and opens the
    // session as before.
    exec(
        dir.path(),
        "UPDATE users SET role = 'clinician' WHERE name = 'drlee'",
    );
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(u.role(), Role::Clinician);
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
}

#[test]
fn fail_an_account_put_back_after_its_removal_is_refused() {
    let (dir, kim, _id) = two_clinicians();
    // An admin removes drkim; an insider puts her row back from a copy.
    let copy = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE))
        .unwrap()
        .query_row(
            "SELECT role, kdf_m_kib, kdf_t, kdf_p, quote(kdf_salt), quote(wrapped_audit_master), created_at_ms FROM users WHERE name = 'drkim'",
            [],
            |r| {
                Ok(format!(
                    "INSERT INTO users (name, role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms) VALUES ('drkim', '{}', {}, {}, {}, {}, {}, {})",
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            },
        )
        .unwrap();
    let mut v = Vault::open(dir.path()).unwrap();
    {
        let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        // drkim owns nothing yet, so she may be removed.
        a.remove_user("drkim").unwrap();
    }
    drop(v);
    exec(dir.path(), &copy);
    let mut v = Vault::open(dir.path()).unwrap();
    let err = v.unlock("drkim", &kim).err().expect("refused").to_string();
    assert!(err.contains("was removed"), "{err}");
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn sessions_from_before_schema_3_move_to_their_owners_keys_at_the_next_unlock() {
    let (dir, kim, id) = two_clinicians();
    let master = || {
        blobs(
            dir.path(),
            "SELECT id FROM sessions WHERE key_wrap = 'master' AND wrapped_key IS NOT NULL",
        )
        .len()
    };
    let mut v = Vault::open(dir.path()).unwrap();
    let kims = {
        let mut k = v.unlock("drkim", &kim).unwrap();
        let kims = session(&mut k);
        k.wrap_under_master_for_tests(kims).unwrap();
        kims
    };
    assert_eq!(master(), 1);
    // drlee's unlock moves drkim's session to drkim's key (wrapping needs
    // only her public key, read from a verified roster row) and rotates the
    // master that opened the old wrap.
    {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        assert_eq!(master(), 0);
        assert!(!u.rotation_due().unwrap(), "{:?}", u.housekeeping_problem());
        let moved = audited(&u, "key.rotated");
        assert!(moved
            .iter()
            .any(|r| r.object.as_deref() == Some("session-keys:to-owners")
                && r.details.contains(&("count".to_string(), "1".to_string()))));
        u.wrap_under_master_for_tests(id).unwrap();
    }
    assert_eq!(master(), 1);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(master(), 0);
    assert_eq!(u.transcript(id).unwrap(), fixture::transcript(id));
    drop(u);
    let mut k = v.unlock("drkim", &kim).unwrap();
    assert_eq!(k.transcript(kims).unwrap(), fixture::transcript(kims));
}

#[test]
fn fail_a_legacy_session_is_not_moved_to_a_swapped_public_key() {
    let (dir, kim, id) = two_clinicians();
    let mut v = Vault::open(dir.path()).unwrap();
    let kims = {
        let mut k = v.unlock("drkim", &kim).unwrap();
        let kims = session(&mut k);
        k.wrap_under_master_for_tests(kims).unwrap();
        kims
    };
    drop(v);
    // The insider swaps drkim's public key for their own before anyone
    // signs in again: the roster tag fails and her session is not moved.
    forge_roster(
        dir.path(),
        "UPDATE users SET x25519_public = ?1 WHERE name = 'drkim'",
    );
    let mut v = Vault::open(dir.path()).unwrap();
    let u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let still: Vec<Vec<u8>> = blobs(
        dir.path(),
        "SELECT id FROM sessions WHERE key_wrap = 'master'",
    );
    assert_eq!(still, vec![kims.0.to_vec()]);
    drop(u);
    let _ = id;
}

#[test]
fn fail_retention_settings_edited_on_disk_pause_retention_and_are_audited() {
    // Issue 22, low: the settings row is plain JSON in `meta`. Someone with
    // the file shortens the limit to an hour to have sessions destroyed.
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let id = {
        let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
        a.set_settings(&RetentionSettings {
            unexported_limit_ms: 30 * DAY_MS,
            ..RetentionSettings::default()
        })
        .unwrap();
        drop(a);
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        // Set through Tacet, the settings hold: nothing is due yet.
        assert!(u
            .run_retention(now_ms() + 8 * DAY_MS)
            .unwrap()
            .receipts
            .is_empty());
        session(&mut u)
    };
    drop(v);
    exec(
        dir.path(),
        r#"UPDATE meta SET v = CAST('{"unexported_limit_ms":3600000,"export_grace_ms":0,"rotate_after_deletions":true}' AS BLOB) WHERE k = 'settings'"#,
    );
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let problem = u.housekeeping_problem().unwrap_or_default().to_string();
    assert!(problem.contains("changed outside Tacet"), "{problem}");
    let err = u
        .run_retention(now_ms() + 2 * DAY_MS)
        .unwrap_err()
        .to_string();
    assert!(err.contains("retention is paused"), "{err}");
    assert_eq!(u.session(id).unwrap().state, SessionState::Attested);
    assert!(audited(&u, "settings.changed")
        .iter()
        .any(
            |r| r.object.as_deref() == Some("settings:changed-outside-tacet")
                && r.outcome == "failed"
        ));
    drop(u);
    // An admin saves settings again: retention resumes on those.
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    a.set_settings(&RetentionSettings::default()).unwrap();
    drop(a);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(
        u.housekeeping_problem().is_none(),
        "{:?}",
        u.housekeeping_problem()
    );
    assert_eq!(
        u.run_retention(now_ms() + 8 * DAY_MS)
            .unwrap()
            .receipts
            .len(),
        1
    );
}

fn artifact_rows(dir: &std::path::Path, id: tacet_core::SessionId) -> i64 {
    rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM artifacts WHERE session_id = ?1",
            rusqlite::params![id.as_bytes().to_vec()],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn fail_a_live_session_marked_destroyed_on_disk_is_refused_and_still_destroyed_at_the_limit() {
    // Issue 22, low: a session's state is a plain column, and retention
    // passes over rows that say "destroyed". Someone with the file marks an
    // attested session destroyed, receipt and all: it vanishes from the
    // clinician's work and its sealed rows would stay for good.
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let id = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        session(&mut u)
    };
    drop(v);
    exec(
        dir.path(),
        "UPDATE sessions SET state = 'destroyed', receipt_id = 'rcpt-9-00000000'",
    );
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let problem = u.housekeeping_problem().unwrap_or_default().to_string();
    assert!(
        problem.contains("changed outside Tacet") && problem.contains(&id.short()),
        "{problem}"
    );
    assert!(audited(&u, "session.record_refused")
        .iter()
        .any(|r| r.session.as_deref() == Some(id.to_string().as_str()) && r.outcome == "denied"));
    let err = u.session(id).unwrap_err().to_string();
    assert!(err.contains("changed outside Tacet"), "{err}");
    // Inside the limit (reckoned from the audit log) it is kept...
    assert!(u
        .run_retention(now_ms() + 6 * DAY_MS)
        .unwrap()
        .receipts
        .is_empty());
    assert!(artifact_rows(dir.path(), id) > 0);
    // ...and past it, destroyed like any unexported session, with a receipt.
    let report = u.run_retention(now_ms() + 7 * DAY_MS + 1000).unwrap();
    assert_eq!(report.receipts.len(), 1, "{report:?}");
    assert_eq!(report.receipts[0].session, id);
    assert_eq!(artifact_rows(dir.path(), id), 0);
    assert_eq!(u.session(id).unwrap().state, SessionState::Destroyed);
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn fail_a_creation_time_or_deadline_edited_on_disk_neither_keeps_nor_ends_a_session() {
    // The creation time moved a year on would keep an unexported session
    // past the limit; a deadline pulled forward would destroy it at the
    // next unlock, before the clinician exported it.
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (kept, ended) = {
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        (session(&mut u), session(&mut u))
    };
    drop(v);
    let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    conn.execute(
        "UPDATE sessions SET created_at_ms = created_at_ms + ?2 WHERE id = ?1",
        rusqlite::params![kept.as_bytes().to_vec(), (365 * DAY_MS) as i64],
    )
    .unwrap();
    conn.execute(
        "UPDATE sessions SET destroy_after_ms = 1 WHERE id = ?1",
        rusqlite::params![ended.as_bytes().to_vec()],
    )
    .unwrap();
    drop(conn);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    // The unlock's retention destroyed nothing early.
    assert!(artifact_rows(dir.path(), ended) > 0);
    assert!(artifact_rows(dir.path(), kept) > 0);
    assert_eq!(audited(&u, "session.record_refused").len(), 2);
    assert!(u
        .run_retention(now_ms() + 6 * DAY_MS)
        .unwrap()
        .receipts
        .is_empty());
    // At the limit from their logged creation, both go.
    let report = u.run_retention(now_ms() + 7 * DAY_MS + 1000).unwrap();
    let mut gone: Vec<_> = report.receipts.iter().map(|r| r.session).collect();
    gone.sort_by_key(|s| *s.as_bytes());
    let mut want = vec![kept, ended];
    want.sort_by_key(|s| *s.as_bytes());
    assert_eq!(gone, want);
    assert_eq!(artifact_rows(dir.path(), kept), 0);
    assert_eq!(artifact_rows(dir.path(), ended), 0);
}

/// A session row's columns that its tag covers, and the tag, as a copy of
/// the file holds them.
type RowCopy = (String, Option<i64>, i64, Vec<u8>);

fn copy_row(dir: &std::path::Path, id: tacet_core::SessionId) -> RowCopy {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    conn.query_row(
        "SELECT state, destroy_after_ms, record_generation, record_tag FROM sessions WHERE id = ?1",
        rusqlite::params![id.as_bytes().to_vec()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .unwrap()
}

fn put_back(dir: &std::path::Path, id: tacet_core::SessionId, row: &RowCopy) {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    conn.execute(
        "UPDATE sessions SET state = ?2, destroy_after_ms = ?3, record_generation = ?4, record_tag = ?5 WHERE id = ?1",
        rusqlite::params![id.as_bytes().to_vec(), row.0, row.1, row.2, row.3],
    )
    .unwrap();
}

#[test]
fn fail_a_session_row_put_back_from_an_older_copy_is_refused() {
    // Issue 22, low: a row's tag covers its columns, so an edit fails; but
    // a whole row copied from an older copy of the file, tag and all, was
    // Tacet's own once. Put back, it would make an exported session
    // "attested" again, or take away the deadline its export set.
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    v.unlock("admin", &pass("admin-passphrase"))
        .unwrap()
        .set_settings(&RetentionSettings {
            export_grace_ms: 3_600_000,
            ..Default::default()
        })
        .unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let id = session(&mut u);
    let attested = copy_row(dir.path(), id);
    let note = u.attested(id).unwrap();
    u.mark_exported(&note, "text").unwrap();
    let exported = copy_row(dir.path(), id);
    assert!(u
        .destroy(id, "exported")
        .unwrap()
        .receipt_id
        .starts_with("scheduled-"));
    let scheduled = copy_row(dir.path(), id);
    assert_eq!(
        (
            attested.0.as_str(),
            exported.0.as_str(),
            scheduled.0.as_str()
        ),
        ("attested", "exported", "exported")
    );
    assert!(exported.1.is_none() && scheduled.1.is_some());
    drop(u);
    for (what, older) in [
        ("the attested state", &attested),
        ("the export without its deadline", &exported),
    ] {
        put_back(dir.path(), id, older);
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let err = u.session(id).map(|s| s.state).unwrap_err().to_string();
        assert!(err.contains("changed outside Tacet"), "{what}: {err}");
        assert!(u.attested(id).is_err(), "{what}");
        let problem = u.housekeeping_problem().unwrap_or_default().to_string();
        assert!(problem.contains(&id.short()), "{what}: {problem}");
        drop(u);
    }
    assert!(
        audited(
            &v.unlock("admin", &pass("admin-passphrase")).unwrap(),
            "session.record_refused"
        )
        .len()
            >= 2
    );
    // The newest copy is the one that verifies.
    put_back(dir.path(), id, &scheduled);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert_eq!(u.session(id).unwrap().state, SessionState::Exported);
    let report = u.run_retention(now_ms() + 3_700_000).unwrap();
    assert_eq!(report.receipts.len(), 1, "{report:?}");
    assert_eq!(u.session(id).unwrap().state, SessionState::Destroyed);
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}
