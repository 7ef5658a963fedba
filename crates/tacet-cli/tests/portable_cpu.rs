//! The program on CPUs other than the one that built it: on an AVX2 CPU
//! (`qemu-x86_64 -cpu Haswell`) it runs; below the floor (`-cpu Nehalem`,
//! no AVX2) it says which features are missing and exits before opening
//! anything, instead of dying with an illegal instruction mid-session.
//! tacet-asr's tests/portable_cpu.rs transcribes under the emulated Haswell.
//!
//! Without qemu-x86_64 it says why and returns, except with `TACET_CI=1`
//! (set by .ci/run), where a skip is a failure.

use std::process::{Command, Output};

fn qemu(cpu: &str, args: &[&str]) -> Option<Output> {
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
