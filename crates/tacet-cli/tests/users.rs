//! `tacet users list` and `tacet users add`, run as the real binary on a
//! fresh vault: an admin adds an admin but is told a clinician enrols
//! clinicians; a clinician enrols a colleague, who can then unlock; and
//! the passphrase is never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::Path;
use std::process::{Command, Output};

const ADMIN_PASS: &str = "admin-passphrase-1";
const CLIN_PASS: &str = "clinician-passphrase-1";
const NEW_PASS: &str = "new-user-passphrase-7";

fn tacet(dir: &Path, user: &str, pass: &str, args: &[&str], new_pass: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tacet"));
    c.arg("--data-dir")
        .arg(dir)
        .arg("--user")
        .arg(user)
        .args(args)
        .env("TACET_PASSPHRASE", pass)
        .env_remove("TACET_NEW_USER_PASSPHRASE");
    if let Some(p) = new_pass {
        c.env("TACET_NEW_USER_PASSPHRASE", p);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn init(dir: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_tacet"))
        .arg("--data-dir")
        .arg(dir)
        .args(["init", "--fast-kdf"])
        .env("TACET_ADMIN_PASSPHRASE", ADMIN_PASS)
        .env("TACET_CLINICIAN_PASSPHRASE", CLIN_PASS)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn users_are_listed_and_added_by_the_role_that_may() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    init(&dir);

    let o = tacet(&dir, "admin", ADMIN_PASS, &["users", "list"], None);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("admin") && out.contains("clinician"), "{out}");

    // An admin adds an admin.
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &["users", "add", "admin2", "--role", "admin", "--fast-kdf"],
        Some(NEW_PASS),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(NEW_PASS));
    let o = tacet(&dir, "admin2", NEW_PASS, &["users", "list"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("admin2"));

    // A clinician enrols a colleague, who can then unlock.
    let o = tacet(
        &dir,
        "clinician",
        CLIN_PASS,
        &[
            "users",
            "add",
            "drpatel",
            "--role",
            "clinician",
            "--fast-kdf",
        ],
        Some(NEW_PASS),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tacet(&dir, "drpatel", NEW_PASS, &["session", "list"], None);
    assert!(o.status.success(), "{}", text(&o));

    // Both additions are in the audit log, and it verifies.
    let o = tacet(&dir, "admin", ADMIN_PASS, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn fail_an_admin_cannot_enrol_a_clinician() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    init(&dir);
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &[
            "users",
            "add",
            "drpatel",
            "--role",
            "clinician",
            "--fast-kdf",
        ],
        Some(NEW_PASS),
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("enrolled by an existing clinician"),
        "{}",
        text(&o)
    );
    let o = tacet(&dir, "admin", ADMIN_PASS, &["users", "list"], None);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("drpatel"));
}

/// Issue 22, item 6: a clinician could create admin accounts, contrary to
/// the README. The binary refuses; so does the vault itself, whatever front
/// end asks, and the attempt is in the audit log.
#[test]
fn fail_a_clinician_cannot_create_an_admin() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    init(&dir);
    let o = tacet(
        &dir,
        "clinician",
        CLIN_PASS,
        &["users", "add", "eve", "--role", "admin", "--fast-kdf"],
        Some(NEW_PASS),
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("only an admin can add an admin"),
        "{}",
        text(&o)
    );
    let o = tacet(&dir, "admin", ADMIN_PASS, &["users", "list"], None);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("eve"));
    // Eve cannot sign in.
    let o = tacet(&dir, "eve", NEW_PASS, &["users", "list"], None);
    assert!(!o.status.success());
}

#[test]
fn fail_a_short_passphrase_or_a_taken_name_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    init(&dir);
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &["users", "add", "admin2", "--role", "admin", "--fast-kdf"],
        Some("short"),
    );
    assert!(!o.status.success());
    assert!(!text(&o).contains("short\n"));
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &["users", "add", "clinician", "--role", "admin", "--fast-kdf"],
        Some(NEW_PASS),
    );
    assert!(!o.status.success(), "{}", text(&o));
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &["users", "add", "x", "--role", "owner"],
        Some(NEW_PASS),
    );
    assert!(!o.status.success());
}

fn with_new(dir: &Path, user: &str, pass: &str, args: &[&str], new: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tacet"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--user")
        .arg(user)
        .args(args)
        .env("TACET_PASSPHRASE", pass)
        .env("TACET_NEW_PASSPHRASE", new)
        .env("TACET_NEW_USER_PASSPHRASE", new)
        .output()
        .unwrap()
}

#[test]
fn a_passphrase_is_changed_and_an_account_removed_through_the_binary() {
    // Issue 22, item 9.
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    init(&dir);
    let changed = "a changed passphrase 9";
    let o = with_new(
        &dir,
        "clinician",
        CLIN_PASS,
        &["users", "passwd", "--fast-kdf"],
        changed,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("with a new key pair"), "{}", text(&o));
    assert!(!text(&o).contains(changed));
    let old = tacet(&dir, "clinician", CLIN_PASS, &["users", "list"], None);
    assert!(
        !old.status.success(),
        "the old passphrase still opens the vault"
    );
    let wrong = with_new(
        &dir,
        "admin",
        "not-the-passphrase",
        &["users", "passwd"],
        changed,
    );
    assert!(!wrong.status.success());

    // The clinician enrols a colleague; the admin removes her.
    let o = with_new(
        &dir,
        "clinician",
        changed,
        &["users", "add", "drkim", "--role", "clinician", "--fast-kdf"],
        NEW_PASS,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tacet(
        &dir,
        "clinician",
        changed,
        &["users", "remove", "drkim"],
        None,
    );
    assert!(!o.status.success(), "a clinician removed an account");
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &["users", "remove", "drkim"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Removed drkim"), "{}", text(&o));
    let o = tacet(
        &dir,
        "admin",
        ADMIN_PASS,
        &["users", "remove", "clinician"],
        None,
    );
    assert!(text(&o).contains("last clinician"), "{}", text(&o));
    let o = tacet(&dir, "drkim", NEW_PASS, &["users", "list"], None);
    assert!(!o.status.success());
    let o = tacet(&dir, "admin", ADMIN_PASS, &["users", "list"], None);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!out.contains("drkim"), "{out}");
    let o = tacet(&dir, "admin", ADMIN_PASS, &["audit", "access-report"], None);
    let report = text(&o);
    assert!(
        report.contains("user.passphrase_changed") && report.contains("user.removed"),
        "{report}"
    );
}

/// One passphrase rule for both front ends (the first-run walk already
/// showed and enforced it): `tacet init` and `tacet users add` refuse a
/// guessable passphrase before deriving any key, say why, and create
/// nothing.
#[test]
fn fail_a_guessable_passphrase_is_refused_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let o = Command::new(env!("CARGO_BIN_EXE_tacet"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["init", "--fast-kdf"])
        .env("TACET_ADMIN_PASSPHRASE", "password1")
        .env("TACET_CLINICIAN_PASSPHRASE", CLIN_PASS)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let said = text(&o);
    assert!(
        said.contains("the passphrase for admin is too easy to guess"),
        "{said}"
    );
    assert!(!said.contains("password1"), "{said}");
    assert!(
        !dir.join(tacet_vault::DB_FILE).exists(),
        "no vault was made"
    );

    init(&dir);
    let o = tacet(
        &dir,
        "clinician",
        CLIN_PASS,
        &["users", "add", "drkim", "--role", "clinician", "--fast-kdf"],
        Some("qwertyuiop"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("too easy to guess"), "{}", text(&o));
    let o = tacet(&dir, "clinician", CLIN_PASS, &["users", "list"], None);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("drkim"));
}
