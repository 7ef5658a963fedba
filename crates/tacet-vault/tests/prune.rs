//! Pruning the audit log after its retention period: an audited admin
//! action that keeps the log verifiable, and cannot hide tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

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
    // The records are written "seven years ago" (the vault's clock moved
    // back on this thread), then pruned today at the six-year floor.
    tacet_vault::danger::shift_clock_for_tests(-SEVEN_YEARS_MS);
    let mut v = vault(dir.path());
    {
        let mut c = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let id = c.create_session("soap", &PatientRef::new("p")).unwrap();
        c.destroy(id, "discarded").unwrap();
    }
    tacet_vault::danger::shift_clock_for_tests(0);
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let before = a.audit_records().unwrap().len();
    let floor = six_years_ago();
    let p = a.prune_audit(floor).unwrap();
    assert!(
        p.pruned_records > 0 && p.pruned_records as usize <= before,
        "{p:?}"
    );
    assert!(p.note.contains("tacet-audit-prune/v1"));
    let report = a.verify_audit(&[]).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // Pruning again finds only the records written since.
    let again = a.prune_audit(floor).unwrap();
    assert_eq!(again.pruned_records, 0);
    assert!(a.verify_audit(&[]).unwrap().is_ok());
}

const SEVEN_YEARS_MS: i64 = 7 * 366 * 86_400_000;

fn six_years_ago() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    tacet_audit::retention_cutoff_unix_ms(now, tacet_audit::RETENTION_YEARS)
}

/// Issue 22, item 5: `tacet audit prune --older-than-days 0` emptied every
/// record. The vault itself refuses any cutoff after the six-year floor,
/// whoever asks, and records the refusal.
#[test]
fn fail_an_admin_cannot_prune_records_younger_than_six_years() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    {
        let mut c = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
        let id = c.create_session("soap", &PatientRef::new("p")).unwrap();
        c.destroy(id, "discarded").unwrap();
    }
    let mut a = v.unlock("admin", &pass("admin-passphrase")).unwrap();
    let before = a.audit_records().unwrap();
    let now = six_years_ago() + tacet_audit::RETENTION_YEARS * 366 * 86_400_000;
    for cutoff in [now, six_years_ago() + 86_400_000, u64::MAX / 2] {
        let e = a.prune_audit(cutoff).unwrap_err();
        assert!(
            matches!(e, tacet_vault::VaultError::BelowRetentionFloor { years: 6 }),
            "{e}"
        );
        assert!(e.to_string().contains("kept for 6 years"), "{e}");
    }
    let after = a.audit_records().unwrap();
    // Every record's content is still there, and each refusal is recorded.
    for r in &before {
        let same = after.iter().find(|x| x.seq == r.seq).unwrap();
        assert_eq!(same.bytes, r.bytes, "record {} was changed", r.seq);
    }
    let refused = after
        .iter()
        .filter(|r| !r.bytes.is_empty())
        .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
        .filter(|r| r.action == "retention.run" && r.outcome == "denied")
        .count();
    assert_eq!(refused, 3);
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
