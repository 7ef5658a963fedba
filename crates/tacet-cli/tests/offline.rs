//! "No patient data leaves the machine", as a test: a full headless
//! session (import, transcription, drafting, review, export, deletion,
//! audit verification) runs inside an empty network namespace under
//! `strace -f`, and not one AF_INET/AF_INET6 socket is even attempted.
//! Needs root (for `unshare -n`), strace, and the cached models; skips with
//! a message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn a_whole_session_opens_no_network_socket() {
    let cache = std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tacet")));
    let models_ok = cache.as_ref().is_some_and(|c| {
        c.join("files/SmolLM2-135M-Instruct.Q4_1.gguf").exists()
            && c.join("files/whisper-tiny.en-ct2/model.bin").exists()
    });
    if !models_ok || !have("strace") || !have("unshare") {
        eprintln!("skipping: needs the cached models, strace and unshare");
        return;
    }
    if Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("skipping: cannot create a network namespace here (not root?)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let vault = dir.path().join("vault");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("strace")
        .current_dir(&repo)
        .args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
        .arg(&log)
        .args(["unshare", "-n"])
        .arg(env!("CARGO_BIN_EXE_tacet"))
        .args(["demo", "--keep"])
        .arg(&vault)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the demo failed offline:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("VERIFIED"), "{stdout}");
    let trace = std::fs::read_to_string(&log).unwrap();
    let ip: Vec<&str> = trace.lines().filter(|l| l.contains("AF_INET")).collect();
    assert!(
        ip.is_empty(),
        "IP sockets were attempted:\n{}",
        ip.join("\n")
    );
}
