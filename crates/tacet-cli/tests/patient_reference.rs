//! Issue 22, item 10: `--patient MRN` on the command line landed in shell
//! history and in `/proc/*/cmdline`, which every account can read. The
//! reference now comes from standard input (`--patient-stdin`) or a prompt;
//! a value on the command line is refused before anything is opened, and
//! the help no longer offers it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::process::Command;

fn tacet(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tacet"))
        .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("TACET_DATA_DIR", dir)
        .env("TACET_USER", "clinician")
        .env("TACET_PASSPHRASE", "clinician-passphrase-1")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn fail_a_patient_reference_on_the_command_line_is_refused() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        &[
            "session",
            "new",
            "--audio",
            "assets/demo/visit.wav",
            "--patient",
            "MRN-ARGV-9931",
        ][..],
        &["session", "record", "--patient", "MRN-ARGV-9931"][..],
    ] {
        let o = tacet(d.path(), args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("--patient is refused"), "{stderr}");
        assert!(stderr.contains("--patient-stdin"), "{stderr}");
        assert!(!stderr.contains("MRN-ARGV-9931"), "{stderr}");
    }
    // Refused before anything was opened: the data folder holds only the
    // support log, which says the step failed and nothing of the value.
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["logs"]);
    for f in std::fs::read_dir(d.path().join("logs")).unwrap() {
        let log = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(log.contains("step=\"session.new\""), "{log}");
        assert!(!log.contains("MRN-ARGV"), "{log}");
    }
    for sub in ["new", "record"] {
        let o = tacet(d.path(), &["session", sub, "--help"]);
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.contains("--patient-stdin"), "{help}");
        assert!(!help.contains("--patient <"), "{help}");
    }
}
