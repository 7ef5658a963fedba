//! Issue 22, low: a panic message can carry patient text to the terminal or
//! the journal. With the hook both programs install, a panic whose message
//! holds a canary prints its place and not the canary. The test runs itself
//! again as a child that installs the hook and panics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::process::Command;

const CHILD: &str = "TACET_PANIC_HOOK_CHILD";
const CANARY: &str = "CANARY-PATIENT-Jane-Roe-MRN-77341";

#[test]
fn a_panic_names_its_place_and_withholds_its_message() {
    if std::env::var_os(CHILD).is_some() {
        // The hook as both programs install it.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("{}", tacet_runtime::panic::report(info));
        }));
        let text = String::from(CANARY);
        panic!("failed while handling {text}");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_names_its_place_and_withholds_its_message",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("tacet: internal error at"), "{all}");
    assert!(all.contains("panic_hook.rs:"), "{all}");
    assert!(!all.contains("CANARY-PATIENT"), "{all}");
}
