//! Issue 22, item 4: the audit chain's first key leaves the vault for the
//! admin, so an account that unlocks the vault later holds no key from
//! which the chain's earlier tags follow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_core::ports::SessionStore;
use tacet_core::{PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{AuditChainKey, KdfChoice, NewUser, Vault};

#[path = "support/files.rs"]
mod files;
#[path = "support/crash_fixture.rs"]
mod fixture;
use files::in_any_file;

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

fn some_work(v: &mut Vault) {
    let mut u = v.unlock("drlee", &pass("clinician-passphrase")).unwrap();
    let id = u
        .create_session("soap", &PatientRef::new(fixture::PATIENT))
        .unwrap();
    u.append_audio(id, &fixture::audio(id, 0), true).unwrap();
    u.put_transcript(id, &fixture::transcript(id)).unwrap();
}

fn key_bytes(k: &AuditChainKey) -> Vec<u8> {
    let text = k.danger_reveal();
    hex::decode(text.rsplit(':').next().unwrap()).unwrap()
}

#[test]
fn the_first_chain_key_goes_to_the_admin_and_checks_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let (a, c) = (pass("admin-passphrase"), pass("clinician-passphrase"));
    let mut v = Vault::create(dir.path(), &users(&a, &c), KdfChoice::Floor).unwrap();
    let key = v.take_audit_chain_key().expect("handed out at creation");
    assert!(v.take_audit_chain_key().is_none(), "handed out once");
    some_work(&mut v);
    drop(v);
    // Not in the vault: no file holds it, and an opened vault has none.
    assert!(!in_any_file(dir.path(), &key_bytes(&key)));
    let mut v = Vault::open(dir.path()).unwrap();
    assert!(v.take_audit_chain_key().is_none());
    let mut u = v.unlock("admin", &a).unwrap();
    let plain = u.verify_audit_full(&[]).unwrap();
    assert!(plain.is_ok(), "{:?}", plain.problems);
    assert!(plain.chain.unwrap().contains("not checked"));
    let full = u.verify_audit_with_chain_key(&[], &key).unwrap();
    assert!(full.is_ok(), "{:?}", full.problems);
    assert!(full
        .chain
        .unwrap()
        .contains("checked with the admin's chain key"));
    // The check is recorded like any other.
    let n = u
        .audit_records()
        .unwrap()
        .iter()
        .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
        .filter(|r| r.action == "audit.verified")
        .count();
    assert_eq!(n, 1);
    // A clinician has no key to hand out.
    drop(u);
    let mut k = v.unlock("drlee", &c).unwrap();
    assert!(k.hand_out_audit_chain_key().is_err());
}

#[test]
fn fail_a_wrong_chain_key_or_a_rewritten_tag_shows_as_a_chain_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (a, c) = (pass("admin-passphrase"), pass("clinician-passphrase"));
    let mut v = Vault::create(dir.path(), &users(&a, &c), KdfChoice::Floor).unwrap();
    let key = v.take_audit_chain_key().unwrap();
    some_work(&mut v);
    let wrong =
        AuditChainKey::parse(&format!("tacet-audit-chain-key-1:{}", "ab".repeat(32))).unwrap();
    {
        let mut u = v.unlock("admin", &a).unwrap();
        let r = u.verify_audit_with_chain_key(&[], &wrong).unwrap();
        assert!(!r.is_ok());
    }
    drop(v);
    // An editor of the file replaces an early record's chain tag (anything
    // they could compute without the first key): the admin's key finds it,
    // while the Merkle tree and signatures, which do not cover the tag, do
    // not.
    let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    conn.execute(
        "UPDATE audit_log SET chain_tag = zeroblob(32) WHERE seq = 1",
        [],
    )
    .unwrap();
    drop(conn);
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v.unlock("admin", &a).unwrap();
    assert!(u.verify_audit_full(&[]).unwrap().is_ok());
    let r = u.verify_audit_with_chain_key(&[], &key).unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("record 1")),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_vault_that_kept_its_chain_key_hands_it_to_an_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, c) = (pass("admin-passphrase"), pass("clinician-passphrase"));
    let mut v =
        Vault::create_schema_v1_for_tests(dir.path(), &users(&a, &c), KdfChoice::Floor).unwrap();
    assert!(
        v.take_audit_chain_key().is_none(),
        "the first release kept it"
    );
    drop(v);
    let mut v = Vault::open(dir.path()).unwrap();
    some_work(&mut v);
    let sealed: Vec<u8> = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE))
        .unwrap()
        .query_row("SELECT v FROM meta WHERE k = 'audit_chain_key0'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut u = v.unlock("admin", &a).unwrap();
    let kept = u.verify_audit_full(&[]).unwrap();
    assert!(kept.is_ok() && kept.chain.unwrap().contains("still keeps"));
    let key = u.hand_out_audit_chain_key().unwrap();
    let again = u.hand_out_audit_chain_key().unwrap_err().to_string();
    assert!(again.contains("does not keep"), "{again}");
    let after = u.verify_audit_full(&[]).unwrap();
    assert!(after.is_ok() && after.chain.unwrap().contains("not checked"));
    assert!(u.verify_audit_with_chain_key(&[], &key).unwrap().is_ok());
    assert!(u
        .audit_records()
        .unwrap()
        .iter()
        .map(|r| tacet_audit::AuditRecord::decode(&r.bytes).unwrap())
        .any(|r| r.action == "audit.chain_key_handed_out" && r.actor == "admin"));
    drop(u);
    drop(v);
    assert!(!in_any_file(dir.path(), &sealed[sealed.len() - 32..]));
}
