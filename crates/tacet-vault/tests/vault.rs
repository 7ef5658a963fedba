//! The vault's promises, tested on real files in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::ports::SessionStore;
use tacet_core::{
    AttestedNote, Draft, DraftSection, PatientRef, Provenance, Role, SamplingParams, Segment,
    Transcript,
};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault, VaultError};

const CANARY_SPEECH: &str = "zebra canary phrase quixotic marmalade";
const CANARY_PATIENT: &str = "Patient Canaryname 1961-04-12";

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string())
}

fn new_vault(dir: &std::path::Path) -> Vault {
    let a = pass("admin-passphrase");
    let c = pass("clinician-passphrase");
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

fn transcript() -> Transcript {
    Transcript {
        language: "en".into(),
        model_sha256: "00".repeat(32),
        segments: vec![Segment {
            id: 0,
            start_ms: 0,
            end_ms: 2000,
            speaker: None,
            text: CANARY_SPEECH.into(),
            confidence: 0.9,
            unsure: Vec::new(),
        }],
    }
}

fn draft() -> Draft {
    Draft {
        sections: vec![DraftSection {
            heading: "SUBJECTIVE".into(),
            text: format!("Says {CANARY_SPEECH}."),
        }],
        provenance: Provenance {
            model_sha256: "11".repeat(32),
            model_id: "m".into(),
            template_id: "soap".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 10,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        },
    }
}

/// Audio whose bytes are recognisable: a ramp of distinctive values.
fn canary_audio() -> Vec<f32> {
    (0..40_000)
        .map(|i| ((i % 997) as f32 / 997.0) * 0.731 - 0.2)
        .collect()
}

fn scan_dir_for(dir: &std::path::Path, needles: &[&[u8]]) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == *n) {
                    hits.push(format!(
                        "{} contains {:?}",
                        p.display(),
                        String::from_utf8_lossy(&n[..n.len().min(16)])
                    ));
                }
            }
        }
    }
    hits
}

fn full_session(v: &mut Vault) -> (tacet_core::SessionId, Vec<u8>) {
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let id = u
        .create_session("soap", &PatientRef::new(CANARY_PATIENT))
        .unwrap();
    let audio = canary_audio();
    u.append_audio(id, &audio, true).unwrap();
    u.put_transcript(id, &transcript()).unwrap();
    u.put_draft(id, &draft()).unwrap();
    assert_eq!(u.audio(id).unwrap(), audio);
    assert_eq!(u.transcript(id).unwrap(), transcript());
    assert_eq!(u.patient_ref(id).unwrap().expose(), CANARY_PATIENT);
    let audio_bytes: Vec<u8> = audio[1000..1100]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    (id, audio_bytes)
}

#[test]
fn canary_scan_finds_no_plaintext_before_or_after_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, audio_bytes) = full_session(&mut v);
    let needles: [&[u8]; 3] = [
        CANARY_SPEECH.as_bytes(),
        CANARY_PATIENT.as_bytes(),
        &audio_bytes,
    ];
    assert_eq!(scan_dir_for(dir.path(), &needles), Vec::<String>::new());

    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let d = u.draft(id).unwrap();
    let note = AttestedNote::attest(id, d.render_text(), u.actor().user.clone(), 1).unwrap();
    u.put_attested(&note).unwrap();
    let reopened = u.attested(id).unwrap();
    u.mark_exported(&reopened, "text").unwrap();
    let receipt = u.destroy(id, "exported").unwrap();
    assert!(receipt.destroyed_ciphertexts >= 5, "{receipt:?}");
    assert_eq!(scan_dir_for(dir.path(), &needles), Vec::<String>::new());
    let err = u.transcript(id).unwrap_err().to_string();
    assert!(err.contains("destroyed"), "{err}");
    let dels = u.deletions().unwrap();
    assert_eq!(dels.len(), 1);
    assert_eq!(dels[0].receipt_id, receipt.receipt_id);
    assert!(u.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn destroyed_ciphertexts_and_wrapped_key_leave_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    drop(v);
    // Collect every sealed blob and the wrapped key as stored.
    let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    let mut blobs: Vec<Vec<u8>> = conn
        .prepare("SELECT sealed FROM artifacts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let wrapped: Vec<u8> = conn
        .query_row("SELECT wrapped_key FROM sessions", [], |r| r.get(0))
        .unwrap();
    blobs.push(wrapped);
    drop(conn);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    u.destroy(id, "discarded").unwrap();
    drop(u);
    drop(v);
    let needles: Vec<&[u8]> = blobs.iter().map(|b| &b[b.len() - 24..]).collect();
    assert_eq!(scan_dir_for(dir.path(), &needles), Vec::<String>::new());
}

#[test]
fn fail_wrong_passphrase_changes_nothing_but_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let start = std::time::Instant::now();
    assert!(matches!(
        v.unlock("drlee", &pass("wrong-passphrase")),
        Err(VaultError::BadCredentials)
    ));
    assert!(start.elapsed().as_secs() < 2);
    assert!(matches!(
        v.unlock("nobody", &pass("wrong-passphrase")),
        Err(VaultError::BadCredentials)
    ));
    let mut u = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let report = u.verify_audit(&[]).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn fail_repeated_wrong_passphrases_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    for _ in 0..5 {
        assert!(matches!(
            v.unlock("drlee", &pass("wrong-passphrase")),
            Err(VaultError::BadCredentials)
        ));
    }
    assert!(matches!(
        v.unlock("drlee", &pass("clinician-passphrase")),
        Err(VaultError::Throttled { .. })
    ));
}

#[test]
fn fail_admin_cannot_open_patient_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    let mut admin = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let err = admin.transcript(id).unwrap_err().to_string();
    assert!(err.contains("admin cannot open patient data"), "{err}");
    assert!(admin.create_session("soap", &PatientRef::new("x")).is_err());
    // But the admin sees the session exists (no patient text) and verifies.
    assert_eq!(admin.list_sessions().unwrap().len(), 1);
    assert!(admin.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn fail_clinician_sees_only_own_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let other = pass("other-passphrase");
    u.add_user(
        &NewUser {
            name: "drkim",
            role: Role::Clinician,
            passphrase: &other,
        },
        KdfChoice::Floor,
    )
    .unwrap();
    drop(u);
    let mut kim = v.unlock("drkim", &other).unwrap();
    assert!(kim.list_sessions().unwrap().is_empty());
    assert!(kim
        .transcript(id)
        .unwrap_err()
        .to_string()
        .contains("no such session"));
}

#[test]
fn fail_export_before_attestation() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let err = u.attested(id).unwrap_err().to_string();
    assert!(err.contains("must review and attest"), "{err}");
}

#[test]
fn fail_second_instance_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _v = new_vault(dir.path());
    assert!(matches!(
        Vault::open(dir.path()),
        Err(VaultError::Locked(_))
    ));
}

#[test]
fn fail_tampered_audit_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let _ = full_session(&mut v);
    drop(v);
    let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    let rec: Vec<u8> = conn
        .query_row("SELECT record FROM audit_log WHERE seq = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut bad = rec.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    conn.execute("UPDATE audit_log SET record = ?1 WHERE seq = 3", [bad])
        .unwrap();
    drop(conn);
    let v = Vault::open(dir.path()).unwrap();
    let report = v.verify_public(&[]).unwrap();
    assert!(!report.is_ok());
    assert!(
        report.problems.iter().any(|p| p.contains('3')),
        "{:?}",
        report.problems
    );
}

/// Verification and the admin's reports read the log one way: a leaf
/// hash cut short on disk is corruption named with its record for both
/// (one of them used to read it as zeros and go on).
#[test]
fn fail_a_malformed_leaf_hash_is_named_by_verification_and_reports_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let _ = full_session(&mut v);
    drop(v);
    let cut = |dir: &std::path::Path| {
        let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
        conn.execute(
            "UPDATE audit_log SET leaf_hash = substr(leaf_hash, 1, 31) WHERE seq = 3",
            [],
        )
        .unwrap();
    };
    let named = |e: VaultError| {
        let m = e.to_string();
        assert!(
            m.contains("audit record 3 has a malformed leaf hash"),
            "{m}"
        );
    };
    // An admin signed in before the damage: the reports name it.
    let mut v = Vault::open(dir.path()).unwrap();
    let admin = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    cut(dir.path());
    named(admin.audit_records().unwrap_err());
    drop(admin);
    drop(v);
    // Afterwards: verification names it, and so does the next sign-in,
    // whose checkpoint would sign over it.
    let mut v = Vault::open(dir.path()).unwrap();
    named(v.verify_public(&[]).unwrap_err());
    match v.unlock("admin", &pass("admin-passphrase")) {
        Ok(_) => panic!("signed in over a damaged log"),
        Err(e) => named(e),
    };
}

#[test]
fn fail_moved_ciphertext_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    drop(v);
    let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    // Swap two audio chunks: reordering must be detected, never read as audio.
    conn.execute_batch(
        "UPDATE artifacts SET idx = 99 WHERE kind = 'audio' AND idx = 0;
         UPDATE artifacts SET idx = 0 WHERE kind = 'audio' AND idx = 1;
         UPDATE artifacts SET idx = 1 WHERE kind = 'audio' AND idx = 99;",
    )
    .unwrap();
    drop(conn);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let err = u.audio(id).unwrap_err().to_string();
    assert!(err.contains("failed to decrypt"), "{err}");
}

#[test]
fn fail_corrupt_database_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    drop(new_vault(dir.path()));
    let path = dir.path().join(tacet_vault::DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(100).take(4000) {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Vault::open(dir.path())
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        err.contains("integrity") || err.contains("database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file must be left untouched"
    );
}

#[test]
fn migrating_from_the_first_schema_equals_a_fresh_one() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    drop(new_vault(a.path()));
    // An empty database at user_version 0 migrated by opening.
    let path = b.path().join(tacet_vault::DB_FILE);
    rusqlite::Connection::open(&path).unwrap();
    drop(Vault::open(b.path()).unwrap());
    let ca = rusqlite::Connection::open(a.path().join(tacet_vault::DB_FILE)).unwrap();
    let cb = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        tacet_vault::describe_schema(&ca).unwrap(),
        tacet_vault::describe_schema(&cb).unwrap()
    );
}

/// Issue 22, item 6: who may create whom is the vault's rule, the same for
/// every front end: a clinician cannot create an admin, an admin cannot
/// create a clinician, and each refusal is audited.
#[test]
fn fail_neither_role_creates_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let p = pass("new-user-passphrase");
    for (who, who_pass, role, why) in [
        (
            "drlee",
            "clinician-passphrase",
            Role::Admin,
            "only an admin can add an admin",
        ),
        (
            "admin",
            "admin-passphrase",
            Role::Clinician,
            "enrolled by an existing clinician",
        ),
    ] {
        let mut u = v.unlock(who, &pass(who_pass)).unwrap();
        let e = u
            .add_user(
                &NewUser {
                    name: "eve",
                    role,
                    passphrase: &p,
                },
                KdfChoice::Floor,
            )
            .unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
        assert!(!u.users().unwrap().iter().any(|(n, _)| n == "eve"));
        let denied = u
            .audit_records()
            .unwrap()
            .iter()
            .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
            .filter(|r| r.action == "user.added" && r.outcome == "denied")
            .count();
        assert!(denied >= 1);
    }
    assert!(v.unlock("eve", &p).is_err());
}

/// Every sealed artifact blob in the vault (version ‖ nonce ‖ ciphertext ‖ tag).
fn artifact_blobs(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    let mut st = conn.prepare("SELECT sealed FROM artifacts").unwrap();
    let rows = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    rows
}

/// Issue 22, item 3: the per-key nonce counter was stored in clear, and a
/// nonce was made from it: resetting it (or restoring a backup) made
/// AES-GCM reuse a nonce under the same session key. The attack is played
/// on a real vault: the counter is set back to 0 on disk and more is
/// sealed, three times; no two different blobs may share a nonce.
#[test]
fn fail_a_reset_nonce_counter_does_not_reuse_a_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    drop(v);
    let mut blobs: std::collections::BTreeSet<Vec<u8>> =
        artifact_blobs(dir.path()).into_iter().collect();
    for round in 0..3 {
        let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
        conn.execute("UPDATE sessions SET nonce_counter = 0", [])
            .unwrap();
        drop(conn);
        let mut v = Vault::open(dir.path()).unwrap();
        let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let mut d = draft();
        d.sections[0].text = format!("Edited draft, round {round}.");
        u.put_draft(id, &d).unwrap();
        assert_eq!(u.draft(id).unwrap().sections[0].text, d.sections[0].text);
        drop(u);
        drop(v);
        blobs.extend(artifact_blobs(dir.path()));
    }
    let mut nonces: Vec<&[u8]> = blobs.iter().map(|b| &b[1..13]).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(
        nonces.len(),
        blobs.len(),
        "two different sealed blobs share a nonce"
    );
    assert!(blobs.len() > 4, "{}", blobs.len());
}

/// Issue 22, low: the vault folder and database were created 0755/0644,
/// so any account on the PC could copy them. Now 0700/0600, at creation and
/// again at every open (a loosened folder is tightened).
#[cfg(unix)]
#[test]
fn fail_the_vault_is_readable_by_no_other_account() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("vault");
    let mut v = new_vault(&dir);
    full_session(&mut v);
    let check = |dir: &std::path::Path| {
        assert_eq!(mode(dir), 0o700, "the vault folder");
        let mut files = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                files += 1;
            }
        }
        assert!(files >= 3, "{files} files");
    };
    check(&dir);
    drop(v);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join(tacet_vault::DB_FILE),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let v = Vault::open(&dir).unwrap();
    check(&dir);
    drop(v);
}

/// The note and attestation rows as stored: (kind, sealed) pairs.
fn attested_rows(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    let mut st = conn
        .prepare("SELECT kind, sealed FROM artifacts WHERE kind IN ('note', 'attestation') ORDER BY kind")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Writes `rows` back as the session's note and attestation, as an editor
/// of the file would from an older copy of the vault.
fn put_back(dir: &std::path::Path, id: tacet_core::SessionId, rows: &[(String, Vec<u8>)]) {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    for (kind, sealed) in rows {
        conn.execute(
            "INSERT OR REPLACE INTO artifacts (session_id, kind, idx, final, sealed) VALUES (?1, ?2, 0, 1, ?3)",
            rusqlite::params![id.as_bytes().to_vec(), kind, sealed],
        )
        .unwrap();
    }
}

/// Issue 22 (low): a superseded attested note, put back from an older copy
/// of the vault, opened under the same key with the same associated data
/// and could be exported. The audit log now says which note was attested
/// last; the put-back note is refused, both after a later attestation and
/// after a redraft that voided it.
#[test]
fn fail_a_superseded_attested_note_put_back_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let (id, _) = full_session(&mut v);
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let first = format!(
        "{}\nFirst version, superseded.",
        u.draft(id).unwrap().render_text()
    );
    let reviewer = u.actor().user.clone();
    u.put_attested(&AttestedNote::attest(id, first.clone(), reviewer.clone(), 1).unwrap())
        .unwrap();
    assert_eq!(u.attested(id).unwrap().text(), first);
    drop(u);
    drop(v);
    let old = attested_rows(dir.path());
    assert_eq!(old.len(), 2);

    // The clinician redrafts (voiding the first note) and attests again.
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    u.put_draft(id, &draft()).unwrap();
    assert!(u.attested(id).is_err(), "a redraft voids the attested note");
    drop(u);
    drop(v);

    // Put back after the redraft: refused, not exported.
    put_back(dir.path(), id, &old);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let err = u.attested(id).unwrap_err().to_string();
    assert!(
        err.contains("not the one the audit log says was attested last"),
        "{err}"
    );
    let second = format!("{}\nSecond version.", u.draft(id).unwrap().render_text());
    u.put_attested(&AttestedNote::attest(id, second.clone(), reviewer, 2).unwrap())
        .unwrap();
    assert_eq!(u.attested(id).unwrap().text(), second);
    drop(u);
    drop(v);

    // Put back after a later attestation: refused as well.
    put_back(dir.path(), id, &old);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let err = u.attested(id).unwrap_err().to_string();
    assert!(err.contains("put back from an older copy"), "{err}");
    assert!(u.list_sessions().is_ok());
}
