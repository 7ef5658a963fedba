//! The program on CPUs other than the one that built it: on an AVX2 CPU
//! (`qemu-x86_64 -cpu Haswell`) it runs; below the floor (`-cpu Nehalem`,
//! no AVX2) it says which features are missing and exits before opening
//! anything, instead of dying with an illegal instruction mid-session.
//! tacet-asr's tests/portable_cpu.rs transcribes under the emulated Haswell.
//!
//! Without qemu-x86_64 it says why and returns, except with `TACET_CI=1`
//! (set by .ci/run), where a skip is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::process::{Command, Output};

fn qemu(cpu: &str, args: &[&str]) -> Option<Output> {
    qemu_env(cpu, args, &[])
}

fn qemu_env(cpu: &str, args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    let have = Command::new("qemu-x86_64").arg("--version").output();
    if !have.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("TACET_CI").is_none(),
            "CI must run this test: qemu-x86_64 is not installed"
        );
        eprintln!("skipping: qemu-x86_64 is not installed (Debian's qemu-user; scripts/setup.sh)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    Some(
        Command::new("qemu-x86_64")
            .args(["-cpu", cpu, env!("CARGO_BIN_EXE_tacet")])
            .args(args)
            .env("TACET_DATA_DIR", dir.path())
            .envs(env.iter().copied())
            .output()
            .expect("run tacet under qemu"),
    )
}

#[test]
fn below_the_cpu_floor_it_names_what_is_missing_and_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = qemu(
        "Nehalem",
        &["--data-dir", dir.path().to_str().unwrap(), "models", "list"],
    ) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("processor lacks AVX2, FMA, F16C, BMI2"),
        "{stderr}"
    );
    assert!(stderr.contains("x86-64-v3"), "{stderr}");
    assert!(!stderr.contains("Illegal instruction"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be created below the floor"
    );
}

#[test]
fn on_an_avx2_cpu_it_runs() {
    let Some(out) = qemu("Haswell", &["--version"]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}", out);
    assert!(stdout.starts_with("tacet "), "{stdout}");
}

/// The actions in a vault's audit log, oldest first.
fn audit_actions(data: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(data.join("vault.sqlite3")).unwrap();
    let mut st = c
        .prepare("SELECT record FROM audit_log ORDER BY seq")
        .unwrap();
    let all = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| {
            tacet_audit::AuditRecord::decode(&b.unwrap())
                .unwrap()
                .action
        })
        .collect();
    all
}

/// Issue 22, item 7: under `qemu-x86_64` the seccomp filter cannot be
/// installed (the emulator does not pass it on), which used to earn a
/// warning and nothing more. Now no vault unlocks there — the refusal
/// names what is missing and the override — and with the override each
/// unlock is an audit record.
#[test]
fn fail_without_its_network_filter_it_unlocks_nothing_unless_overridden() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("vault");
    let data_s = data.to_str().unwrap();
    // Created natively (hardened); nothing in it yet is patient data.
    let o = Command::new(env!("CARGO_BIN_EXE_tacet"))
        .args(["--data-dir", data_s, "init", "--fast-kdf"])
        .env("TACET_ADMIN_PASSPHRASE", "admin-passphrase-1")
        .env("TACET_CLINICIAN_PASSPHRASE", "clinician-passphrase-1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let before = audit_actions(&data);

    let args = ["--data-dir", data_s, "-u", "clinician", "session", "list"];
    let pass = ("TACET_PASSPHRASE", "clinician-passphrase-1");
    let Some(out) = qemu_env("Haswell", &args, &[pass]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("seccomp network filter not in force"),
        "the emulator is expected to refuse the filter: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("network sandbox is not in force")
            && stderr.contains("TACET_DANGER_NO_SANDBOX=1"),
        "{stderr}"
    );
    assert_eq!(
        audit_actions(&data),
        before,
        "a refused process must not even unlock (no user.unlock)"
    );

    let out = qemu_env("Haswell", &args, &[pass, ("TACET_DANGER_NO_SANDBOX", "1")]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("recorded in the audit log"), "{stderr}");
    let after = audit_actions(&data);
    assert_eq!(
        after[before.len()..],
        ["user.unlock".to_string(), "sandbox.overridden".to_string()],
        "{after:?}"
    );
}
