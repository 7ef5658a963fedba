//! `tacet export --format text|pdf|fhir`: the FHIR attachment decodes to
//! the attested text byte for byte, files are created new and owner-only,
//! and the checks that can refuse (no file for a PDF, an existing file, an
//! unknown format) refuse before anything is marked exported, so the
//! session can still be exported. (The renderings themselves are tested in
//! tacet-export.) Needs the default models (it transcribes and drafts real
//! sessions); skipped with a message when they are not cached.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

#[path = "support/files.rs"]
mod files;
use files::assert_owner_only;
#[path = "support/patient.rs"]
mod patient;
use base64ct::{Base64, Encoding};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    data: tempfile::TempDir,
}

impl Env {
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

    fn refused(&self, args: &[&str], why: &str) {
        let o = self.run("clinician", args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "tacet {args:?} succeeded");
        assert!(stderr.contains(why), "tacet {args:?}: {stderr}");
    }

    /// A session from the demo audio, drafted, attested as `text`.
    fn attested(&self, template: &str, patient: &str, text: &str) -> String {
        let out = self.ok(
            "clinician",
            &[
                "session",
                "new",
                "--audio",
                "assets/demo/visit.wav",
                "--template",
                template,
                "--patient",
                patient,
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
        self.ok("clinician", &["draft", &id]);
        let edited = self.data.path().join(format!("edited-{id}.txt"));
        std::fs::write(&edited, text).unwrap();
        self.ok(
            "clinician",
            &[
                "review",
                &id,
                "--attest",
                "--edited",
                edited.to_str().unwrap(),
                "--accept-flags",
                "checked against the recording",
            ],
        );
        id
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
fn a_fhir_export_carries_the_attested_note_and_refusals_change_nothing() {
    let Some(files) = cached_models() else {
        tacet_tests::skip("the default models are not cached (scripts/fetch-models.sh)");
        return;
    };
    let env = Env {
        data: tempfile::tempdir().unwrap(),
    };
    env.ok("admin", &["init", "--fast-kdf"]);
    for m in ["whisper-tiny.en-ct2", "SmolLM2-135M-Instruct.Q4_1.gguf"] {
        env.ok(
            "admin",
            &["models", "import", files.join(m).to_str().unwrap()],
        );
    }

    // One session (drafting is slow on a small machine): first every
    // refusal, each before anything is marked exported, then FHIR.
    let hp_text = "CHIEF COMPLAINT:\nCough for a week.\n\nASSESSMENT AND PLAN:\nViral bronchitis; fluids, review in 7 days. Temp ≥ 38 °C: call.\n";
    let a = env.attested("hp", "MRN-0042", hp_text);
    env.refused(&["export", &a, "--format", "pdf"], "--out");
    let existing = env.data.path().join("existing.json");
    std::fs::write(&existing, b"keep me").unwrap();
    env.refused(
        &[
            "export",
            &a,
            "--format",
            "fhir",
            "--out",
            existing.to_str().unwrap(),
        ],
        "already exists",
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    env.refused(&["export", &a, "--format", "docx"], "docx");
    let fhir = env.data.path().join("a.fhir.json");
    let o = env.run(
        "clinician",
        &[
            "export",
            &a,
            "--format",
            "fhir",
            "--out",
            fhir.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("as FHIR DocumentReference"));
    assert_owner_only(&fhir);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&fhir).unwrap()).unwrap();
    assert_eq!(v["resourceType"], "DocumentReference");
    assert_eq!(v["type"]["coding"][0]["code"], "34117-2");
    assert_eq!(v["subject"]["identifier"]["value"], "MRN-0042");
    assert_eq!(v["identifier"][0]["value"], a.as_str());
    let data = v["content"][0]["attachment"]["data"].as_str().unwrap();
    assert_eq!(Base64::decode_vec(data).unwrap(), hp_text.as_bytes());
    let checkpoint = v["meta"]["extension"][0]["valueString"].as_str().unwrap();
    assert!(checkpoint.lines().count() >= 3, "a signed checkpoint");
    // The session was destroyed after the export, as before.
    assert!(!env.run("clinician", &["review", &a]).status.success());
}
