//! The report follows the system: a real vault in a temporary folder, its
//! settings changed between two reports, the second one says so. The same
//! approach as the CLI's end-to-end compliance tests, one layer down (no
//! binary, no models needed).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_compliance::Fact;
use tacet_core::ports::Clock;
use tacet_core::Role;
use tacet_crypto::Passphrase;
use tacet_runtime::{compliance_facts, compliance_report, RuntimeError};
use tacet_vault::{KdfChoice, NewUser, Vault};

const ADMIN: (&str, &str) = ("admin", "admin-passphrase-1");
const CLINICIAN: (&str, &str) = ("clinician", "clinician-passphrase-1");

struct FixedClock(u64);

impl Clock for FixedClock {
    fn now_unix_ms(&self) -> u64 {
        self.0
    }
}

fn vault(dir: &std::path::Path) -> Vault {
    let ap = Passphrase::new(ADMIN.1.into());
    let cp = Passphrase::new(CLINICIAN.1.into());
    Vault::create(
        dir,
        &[
            NewUser {
                name: ADMIN.0,
                role: Role::Admin,
                passphrase: &ap,
            },
            NewUser {
                name: CLINICIAN.0,
                role: Role::Clinician,
                passphrase: &cp,
            },
        ],
        KdfChoice::Floor,
    )
    .unwrap()
}

#[test]
fn a_changed_retention_setting_shows_in_the_next_report() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vault(d.path());
    let mut u = v.unlock(ADMIN.0, &Passphrase::new(ADMIN.1.into())).unwrap();
    let clock = FixedClock(1_700_000_000_000);

    let before = compliance_report(&mut u, d.path(), &clock).unwrap();
    assert!(before.audit_verified, "{}", before.markdown);
    assert!(before
        .markdown
        .contains("Generated 2023-11-14 22:13:20 UTC"));
    assert!(before.markdown.contains("No models are installed"));
    assert!(!before.markdown.contains("after 3 day(s)"));
    for section in [
        "## AI systems that touch patient data",
        "## Data flow",
        "## Retention and deletion",
        "## Users and roles",
        "## Audit log",
        "## Network posture",
        "- clinician: clinician",
        "Verification at the time of this report: **passed**",
    ] {
        assert!(before.markdown.contains(section), "lacks {section:?}");
    }
    assert!(before.pdf().starts_with(b"%PDF-1.4"));

    let mut s = u.settings().unwrap();
    s.unexported_limit_ms = 3 * 86_400_000;
    s.export_grace_ms = 2 * 3_600_000;
    u.set_settings(&s).unwrap();

    let facts = compliance_facts(&mut u, d.path(), &clock);
    match &facts.retention {
        Fact::Known(r) => {
            assert_eq!(r.unexported_limit_days, 3.0);
            assert_eq!(r.grace_after_export_hours, 2.0);
        }
        Fact::Unknown(why) => panic!("retention unknown: {why}"),
    }
    let after = compliance_report(&mut u, d.path(), &clock).unwrap();
    assert!(
        after.markdown.contains("after 3 day(s)"),
        "{}",
        after.markdown
    );
    assert!(after.markdown.contains("2 hour(s) after export"));
    // Each report wrote a checkpoint and was audited: the log grew.
    let records = |f: &tacet_compliance::Facts| match &f.audit {
        Fact::Known(a) => a.records,
        Fact::Unknown(why) => panic!("audit unknown: {why}"),
    };
    assert!(records(&after.facts) > records(&before.facts));
}

#[test]
fn fail_a_clinician_gets_no_report() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vault(d.path());
    let mut u = v
        .unlock(CLINICIAN.0, &Passphrase::new(CLINICIAN.1.into()))
        .unwrap();
    let err = compliance_report(&mut u, d.path(), &FixedClock(0)).unwrap_err();
    assert!(matches!(err, RuntimeError::NotAdmin), "{err}");
    assert!(err.to_string().contains("admin"));
}

#[test]
fn fail_a_tampered_audit_log_is_the_reports_first_word() {
    let d = tempfile::tempdir().unwrap();
    drop(vault(d.path()));
    {
        let c = rusqlite::Connection::open(d.path().join("vault.sqlite3")).unwrap();
        let rec: Vec<u8> = c
            .query_row("SELECT record FROM audit_log WHERE seq = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        let mut bad = rec.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        c.execute("UPDATE audit_log SET record = ?1 WHERE seq = 1", [bad])
            .unwrap();
    }
    let mut v = Vault::open(d.path()).unwrap();
    let mut u = v.unlock(ADMIN.0, &Passphrase::new(ADMIN.1.into())).unwrap();
    let r = compliance_report(&mut u, d.path(), &FixedClock(0)).unwrap();
    assert!(!r.audit_verified);
    assert!(
        r.markdown
            .lines()
            .find(|l| l.starts_with("> "))
            .is_some_and(|l| l.contains("THE AUDIT LOG FAILED VERIFICATION")),
        "{}",
        r.markdown
    );
}
