//! No silent empty note: `tacet review <id> --attest` refuses a note whose
//! every section is empty or says "Not discussed." unless the clinician adds
//! `--confirm-empty`, and the confirmation is audited (object
//! `empty-note-confirmed`, a count, no text). The flag's parsing needs no
//! model; the whole way (a real session, drafted, then attested as an empty
//! note) needs the default models and is skipped, with a message, without
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

#[path = "support/patient.rs"]
mod patient;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    data: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            data: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, user: &str, args: &[&str]) -> Output {
        let pass = if user == "admin" {
            "admin-passphrase-1"
        } else {
            "clinician-passphrase-1"
        };
        let mut c = Command::new(env!("CARGO_BIN_EXE_tacet"));
        let args = patient::on_stdin(&mut c, args);
        c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .env("TACET_DATA_DIR", self.data.path())
            .env("TACET_USER", user)
            .env("TACET_PASSPHRASE", pass)
            .env("TACET_ADMIN_PASSPHRASE", "admin-passphrase-1")
            .env("TACET_CLINICIAN_PASSPHRASE", "clinician-passphrase-1")
            .args(&args)
            .output()
            .expect("run tacet")
    }

    fn ok(&self, user: &str, args: &[&str]) -> String {
        let o = self.run(user, args);
        assert!(
            o.status.success(),
            "tacet {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The audit records as stored (pruned ones left out).
    fn audit(&self) -> Vec<tacet_audit::AuditRecord> {
        let c = rusqlite::Connection::open(self.data.path().join("vault.sqlite3")).unwrap();
        let mut st = c
            .prepare("SELECT record FROM audit_log ORDER BY seq")
            .unwrap();
        let records: Vec<Vec<u8>> = st
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        records
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| tacet_audit::AuditRecord::decode(b).unwrap())
            .collect()
    }
}

fn cached_models() -> Option<PathBuf> {
    let root = std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tacet")))?;
    let files = root.join("files");
    (files.join("SmolLM2-135M-Instruct.Q4_1.gguf").exists()
        && files.join("whisper-tiny.en-ct2/model.bin").exists())
    .then_some(files)
}

#[test]
fn fail_confirm_empty_is_only_taken_with_attest_and_is_documented() {
    let env = Env::new();
    let help = env.ok("clinician", &["review", "--help"]);
    assert!(help.contains("--confirm-empty"), "{help}");
    let o = env.run(
        "clinician",
        &[
            "review",
            "0123456789abcdef0123456789abcdef",
            "--confirm-empty",
        ],
    );
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("--attest"), "{stderr}");
}

#[test]
fn an_empty_note_is_attested_only_with_confirm_empty_and_the_confirmation_is_audited() {
    let Some(files) = cached_models() else {
        tacet_tests::skip("the default models are not cached (scripts/fetch-models.sh)");
        return;
    };
    let env = Env::new();
    env.ok("admin", &["init", "--fast-kdf"]);
    for m in ["whisper-tiny.en-ct2", "SmolLM2-135M-Instruct.Q4_1.gguf"] {
        env.ok(
            "admin",
            &["models", "import", files.join(m).to_str().unwrap()],
        );
    }
    let out = env.ok(
        "clinician",
        &[
            "session",
            "new",
            "--audio",
            "assets/demo/visit.wav",
            "--template",
            "soap",
            "--patient",
            "MRN-EMPTY-5150",
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
    env.ok("clinician", &["draft", &id]);

    // The clinician empties the note: two sections say "Not discussed.",
    // two are left as the renderer writes an empty one.
    let empty = "SUBJECTIVE:\nNot discussed.\n\nOBJECTIVE:\n(nothing recorded)\n\n\
                 ASSESSMENT:\nnot discussed\n\nPLAN:\n(nothing recorded)\n";
    let edited = env.data.path().join("empty.txt");
    std::fs::write(&edited, empty).unwrap();
    let edited = edited.to_str().unwrap();
    let refused = env.run(
        "clinician",
        &["review", &id, "--attest", "--edited", edited],
    );
    assert!(
        !refused.status.success(),
        "an empty note was attested silently"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no content"), "{stderr}");
    assert!(stderr.contains("--confirm-empty"), "{stderr}");
    assert!(
        !env.audit()
            .iter()
            .any(|r| r.action == "session.review_attested"),
        "nothing was attested"
    );
    // Still a draft: nothing to export.
    let export = env.run("clinician", &["export", &id]);
    assert!(!export.status.success());

    // The drafted note has content: no warning when it is shown.
    let shown = env.ok("clinician", &["review", &id]);
    assert!(shown.contains("DRAFT (not reviewed):"), "{shown}");

    let attested = env.ok(
        "clinician",
        &[
            "review",
            &id,
            "--attest",
            "--edited",
            edited,
            "--confirm-empty",
        ],
    );
    assert!(attested.contains("Attested by clinician"), "{attested}");
    assert!(
        attested.contains("I confirm this note is intentionally empty"),
        "{attested}"
    );
    let audit = env.audit();
    let confirmed: Vec<_> = audit
        .iter()
        .filter(|r| r.object.as_deref() == Some("empty-note-confirmed"))
        .collect();
    assert_eq!(confirmed.len(), 1, "{audit:?}");
    assert_eq!(confirmed[0].action, "session.review_attested");
    assert_eq!(confirmed[0].outcome, "success");
    assert!(confirmed[0].content_sha256.is_some(), "the note's hash");
    assert_eq!(
        confirmed[0].details,
        vec![("count".to_string(), "4".to_string())],
        "the number of sections, no text"
    );
    // The attested empty note exports like any other.
    let note = env.ok("clinician", &["export", &id]);
    assert!(note.starts_with(empty), "{note}");
}
