//! Issue 25, part 4: a log support can read, with no patient data. The
//! real binary runs a few commands — one that succeeds, one refused for a
//! wrong passphrase, one given a patient reference on stdin — and the log
//! in the data folder says what ran, how long it took and how it ended, by
//! code; no passphrase, patient reference or file name is in it; the folder
//! is 0700 and the file 0600.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::io::Write;
use std::process::{Command, Stdio};

const ADMIN_PASS: &str = "CANARY-admin-passphrase-51";
const CLIN_PASS: &str = "CANARY-clinician-passphrase-52";
const PATIENT: &str = "CANARY-MRN-Jane-Roe-7719";

fn tacet(dir: &std::path::Path, user: &str, pass: &str, args: &[&str], stdin: Option<&str>) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tacet"));
    c.current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("TACET_DATA_DIR", dir)
        .env("TACET_USER", user)
        .env("TACET_PASSPHRASE", pass)
        .env("TACET_ADMIN_PASSPHRASE", ADMIN_PASS)
        .env("TACET_CLINICIAN_PASSPHRASE", CLIN_PASS)
        .env("TACET_CACHE", dir.join("no-cache"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        writeln!(child.stdin.as_mut().unwrap(), "{s}").unwrap();
    }
    drop(child.stdin.take());
    child.wait().unwrap();
}

#[test]
fn the_log_says_what_ran_and_how_it_ended_and_nothing_about_a_patient() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("data");
    tacet(&dir, "admin", ADMIN_PASS, &["init", "--fast-kdf"], None);
    tacet(
        &dir,
        "admin",
        "wrong-passphrase-0",
        &["users", "list"],
        None,
    );
    tacet(
        &dir,
        "clinician",
        CLIN_PASS,
        &[
            "session",
            "new",
            "--audio",
            "assets/demo/visit.wav",
            "--patient-stdin",
        ],
        Some(PATIENT),
    );
    let logs = dir.join("logs");
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let log = std::fs::read_to_string(&files[0]).unwrap();
    for expected in [
        "event=\"started\" program=\"tacet\"",
        "cpu=\"AVX2",
        "cpu_floor_met=true",
        "key_pages_locked=",
        "event=\"step.started\" step=\"init\"",
        "step=\"init\" ms=",
        "outcome=\"ok\"",
        "step=\"users\"",
        "error=\"vault.bad-credentials\"",
        "step=\"session.new\"",
    ] {
        assert!(
            log.contains(expected),
            "{expected:?} not in the log:\n{log}"
        );
    }
    for canary in [
        ADMIN_PASS,
        CLIN_PASS,
        PATIENT,
        "Jane",
        "visit.wav",
        "wrong-passphrase",
    ] {
        assert!(!log.contains(canary), "{canary:?} is in the log:\n{log}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&logs), 0o700);
        assert_eq!(mode(&files[0]), 0o600);
    }
}
