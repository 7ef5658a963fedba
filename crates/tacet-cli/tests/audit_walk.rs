//! Every state-changing command of the CLI emits its audit event: this test
//! walks them all, reading the audit log straight from the vault file after
//! each command and checking that the new records carry the expected action
//! codes. The model-dependent commands run when the default models are
//! cached (scripts/fetch-models.sh) and are skipped, with a message, when not.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::Path;
use std::process::{Command, Output};

struct Walk {
    data: tempfile::TempDir,
    seen: usize,
}

impl Walk {
    fn command(&self, user: &str, pass: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tacet"));
        c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .env("TACET_DATA_DIR", self.data.path())
            .env("TACET_USER", user)
            .env("TACET_PASSPHRASE", pass)
            .env("TACET_ADMIN_PASSPHRASE", "admin-passphrase-1")
            .env("TACET_CLINICIAN_PASSPHRASE", "clinician-passphrase-1")
            .args(args);
        c
    }

    fn run(&self, user: &str, pass: &str, args: &[&str]) -> Output {
        self.command(user, pass, args).output().expect("run tacet")
    }

    /// Runs a command with `input` on its standard input.
    fn run_with_input(&self, user: &str, pass: &str, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(user, pass, args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run tacet");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Action codes of the records appended since the last call.
    fn new_actions(&mut self) -> Vec<String> {
        let c = rusqlite::Connection::open(self.data.path().join("vault.sqlite3")).unwrap();
        let mut st = c
            .prepare("SELECT record FROM audit_log ORDER BY seq")
            .unwrap();
        let all: Vec<String> = st
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|b| b.unwrap())
            .map(|b| {
                if b.is_empty() {
                    "(pruned)".to_string()
                } else {
                    tacet_audit::AuditRecord::decode(&b).unwrap().action
                }
            })
            .collect();
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        new
    }

    /// Runs a command (expecting `success`) and checks the events it left.
    fn step(&mut self, who: &str, args: &[&str], success: bool, expect: &[&str]) -> String {
        let pass = if who == "admin" {
            "admin-passphrase-1"
        } else {
            "clinician-passphrase-1"
        };
        let o = self.run(who, pass, args);
        assert_eq!(
            o.status.success(),
            success,
            "{args:?}\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let actions = self.new_actions();
        for code in expect {
            assert!(
                actions.iter().any(|a| a == code),
                "{args:?} left {actions:?}, without {code}"
            );
        }
        String::from_utf8_lossy(&o.stdout).to_string()
    }
}

#[test]
fn every_state_changing_command_is_audited() {
    let mut w = Walk {
        data: tempfile::tempdir().unwrap(),
        seen: 0,
    };
    let init = w.step(
        "admin",
        &["init", "--fast-kdf"],
        true,
        &["vault.created", "user.added"],
    );
    // The audit chain's first key is printed once for the admin to keep;
    // the vault does not keep it.
    let chain_key = init
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tacet-audit-chain-key-1:"))
        .unwrap_or_else(|| panic!("init printed no chain key:\n{init}"))
        .to_string();
    w.step(
        "admin",
        &["settings", "--retention-days", "5"],
        true,
        &["user.unlock", "settings.changed"],
    );
    // A failed unlock cannot reach the audit keys; it is folded in at the next unlock.
    let o = w.run("clinician", "wrong-passphrase", &["session", "list"]);
    assert!(!o.status.success());
    w.step(
        "clinician",
        &["session", "list"],
        true,
        &["user.unlock_failed", "user.unlock"],
    );
    let plain = w.step("admin", &["audit", "verify"], true, &["audit.verified"]);
    assert!(plain.contains("Chain: chain tags not checked"), "{plain}");
    // With the admin's chain key on standard input, every tag is checked.
    let o = w.run_with_input(
        "admin",
        "admin-passphrase-1",
        &["audit", "verify", "--chain-key-stdin"],
        &format!("{chain_key}\n"),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("Chain: every chain tag checked with the admin's chain key")
            && out.contains("VERIFIED"),
        "{out}"
    );
    assert!(w.new_actions().contains(&"audit.verified".to_string()));
    let wrong = format!("tacet-audit-chain-key-1:{}\n", "ab".repeat(32));
    let o = w.run_with_input(
        "admin",
        "admin-passphrase-1",
        &["audit", "verify", "--chain-key-stdin"],
        &wrong,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAILED"));
    w.new_actions();
    // Nothing to take out of a vault that never kept it.
    let o = w.run("admin", "admin-passphrase-1", &["audit", "chain-key"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not keep"));
    w.new_actions();
    w.step("admin", &["audit", "deletions"], true, &["audit.viewed"]);
    w.step(
        "admin",
        &["audit", "access-report"],
        true,
        &["audit.viewed"],
    );
    let fhir = w.data.path().join("log.ndjson");
    w.step(
        "admin",
        &["audit", "export-fhir", "--out", fhir.to_str().unwrap()],
        true,
        &["audit.viewed"],
    );
    w.step("admin", &["compliance", "report"], true, &["audit.viewed"]);
    w.step("admin", &["audit", "checkpoint"], true, &["audit.viewed"]);
    w.step("admin", &["audit", "verifier-key"], true, &["audit.viewed"]);
    // Issue 22, item 5: pruning records younger than the six-year floor is
    // refused by the vault (and the attempt audited); at the floor there is
    // nothing to prune in a new vault.
    w.step(
        "admin",
        &["audit", "prune", "--older-than-days", "0"],
        false,
        &["retention.run"],
    );
    let out = w.step("admin", &["audit", "prune"], true, &[]);
    assert!(out.contains("Nothing to prune"), "{out}");
    w.step("admin", &["audit", "verify"], true, &["audit.verified"]);

    let Some(files) = tacet_tests::models::both() else {
        tacet_tests::skip("the model-dependent commands: the default models are not cached");
        return;
    };
    let asr = files.join("whisper-tiny.en-ct2");
    let llm = files.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    w.step(
        "admin",
        &["models", "import", asr.to_str().unwrap()],
        true,
        &["model.imported"],
    );
    w.step(
        "admin",
        &["models", "import", llm.to_str().unwrap()],
        true,
        &["model.imported"],
    );
    let out = w.step(
        "clinician",
        &["session", "new", "--audio", "assets/demo/visit.wav"],
        true,
        &[
            "session.created",
            "session.audio_imported",
            "session.transcript_created",
        ],
    );
    let id = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("Session ")
                .and_then(|r| r.split_whitespace().next())
        })
        .expect("a session id")
        .to_string();
    w.step(
        "clinician",
        &["export", &id],
        false,
        &["session.export_refused"],
    );
    w.step(
        "clinician",
        &["draft", &id],
        true,
        &["session.draft_created"],
    );
    w.step(
        "clinician",
        &["review", &id],
        true,
        &["session.note_viewed"],
    );
    w.step(
        "clinician",
        &[
            "review",
            &id,
            "--attest",
            "--accept-flags",
            "checked against the recording",
        ],
        true,
        &["session.review_attested"],
    );
    let note = w.data.path().join("note.txt");
    w.step(
        "clinician",
        &["export", &id, "--out", note.to_str().unwrap()],
        true,
        &["session.exported", "session.destroyed", "key.rotated"],
    );
    w.step(
        "admin",
        &["models", "remove", "smollm2-135m-instruct-q4_1"],
        true,
        &["model.removed"],
    );
}
