//! Pruning the audit log after its retention period: an audited admin
//! action that keeps the log verifiable, and cannot hide tampering.

use tacet_core::ports::SessionStore;
use tacet_core::{PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

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

#[test]
fn a_pruned_log_still_verifies_and_keeps_its_deletion_receipts_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    {
        let mut c = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let id = c.create_session("soap", &PatientRef::new("p")).unwrap();
        c.destroy(id, "discarded").unwrap();
    }
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let before = a.audit_records().unwrap().len();
    let far_future = u64::MAX / 2;
    let p = a.prune_audit(far_future).unwrap();
    assert!(
        p.pruned_records > 0 && p.pruned_records as usize <= before,
        "{p:?}"
    );
    assert!(p.note.contains("tacet-audit-prune/v1"));
    let report = a.verify_audit(&[]).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // Pruning again finds only the records written since.
    let again = a.prune_audit(far_future).unwrap();
    assert!(again.pruned_records < before as u64);
    assert!(a.verify_audit(&[]).unwrap().is_ok());
}

#[test]
fn fail_a_clinician_cannot_prune() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    let mut c = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    assert!(c.prune_audit(u64::MAX / 2).is_err());
}

#[test]
fn fail_bytes_dropped_without_a_prune_note_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let v = vault(dir.path());
    drop(v);
    let c = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    c.execute("UPDATE audit_log SET record = x'' WHERE seq = 1", [])
        .unwrap();
    drop(c);
    let v = Vault::open(dir.path()).unwrap();
    assert!(!v.verify_public(&[]).unwrap().is_ok());
}
