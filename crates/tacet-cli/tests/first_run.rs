//! The first run in a terminal, as the real binary: `tacet init`, then
//! `tacet models import-folder` on a folder as a practice brings it (the
//! two default models beside a file that is not a model), then `tacet
//! consent`. The desktop app's first-run walk takes the same steps through
//! the same `tacet_runtime::setup` functions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ADMIN_PASS: &str = "admin-passphrase-1";
const CLIN_PASS: &str = "clinician-passphrase-1";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tacet(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tacet"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("TACET_ADMIN_PASSPHRASE", ADMIN_PASS)
        .env("TACET_CLINICIAN_PASSPHRASE", CLIN_PASS)
        .env("TACET_PASSPHRASE", ADMIN_PASS)
        .output()
        .unwrap()
}

fn cached_models() -> Option<PathBuf> {
    let cache = std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tacet")))?
        .join("files");
    let ok = cache.join("whisper-tiny.en-ct2/model.bin").exists()
        && cache.join("SmolLM2-135M-Instruct.Q4_1.gguf").exists();
    if !ok {
        assert!(
            std::env::var_os("TACET_CI").is_none(),
            "the folder import needs the cached models in CI (scripts/fetch-models.sh)"
        );
        eprintln!("skipping: the default models are not cached (scripts/fetch-models.sh)");
        return None;
    }
    Some(cache)
}

#[test]
fn a_vault_is_set_up_and_its_models_imported_from_a_folder() {
    let Some(cache) = cached_models() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let o = tacet(&dir, &["init", "--fast-kdf"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Audit verifier key"), "{out}");
    assert!(out.contains("tacet models import-folder FOLDER"), "{out}");

    let stick = d.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    for name in ["whisper-tiny.en-ct2", "SmolLM2-135M-Instruct.Q4_1.gguf"] {
        std::os::unix::fs::symlink(cache.join(name), stick.join(name)).unwrap();
    }
    std::fs::write(stick.join("notes.gguf"), b"GGUF, but minutes of a meeting").unwrap();
    std::fs::write(stick.join("README.txt"), b"not looked at").unwrap();

    // A clinician may not import.
    let o = Command::new(env!("CARGO_BIN_EXE_tacet"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["-u", "clinician", "models", "import-folder"])
        .arg(&stick)
        .env("TACET_PASSPHRASE", CLIN_PASS)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("only an admin can import models"),
        "{}",
        text(&o)
    );

    let o = tacet(
        &dir,
        &[
            "-u",
            "admin",
            "models",
            "import-folder",
            stick.to_str().unwrap(),
        ],
    );
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a refusal is not a success: {out}"
    );
    assert!(
        out.contains("Imported whisper-tiny.en from whisper-tiny.en-ct2"),
        "{out}"
    );
    assert!(
        out.contains("Imported smollm2-135m-instruct-q4_1 from SmolLM2-135M-Instruct.Q4_1.gguf"),
        "{out}"
    );
    assert!(out.contains("Refused notes.gguf:"), "{out}");
    assert!(
        !out.contains("README.txt"),
        "other files are left alone: {out}"
    );
    assert!(out.contains("2 imported, 1 refused."), "{out}");

    let o = tacet(&dir, &["models", "list"]);
    let out = text(&o);
    assert!(
        out.contains("whisper-tiny.en") && out.contains("smollm2-135m-instruct-q4_1"),
        "{out}"
    );

    // Each import is in the audit log, the refusal too.
    let o = tacet(&dir, &["-u", "admin", "audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));

    // The consent texts follow the vault's settings.
    let o = tacet(
        &dir,
        &["compliance", "consent", "--practice", "Harbour Practice"],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("Harbour Practice"), "{out}");
    assert!(out.contains("7 days"), "{out}");
    assert!(!out.contains("no readable vault"), "{out}");
}

#[test]
fn fail_a_folder_with_no_model_in_it_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let o = tacet(&dir, &["init", "--fast-kdf"]);
    assert!(o.status.success(), "{}", text(&o));
    let empty = d.path().join("holiday-photos");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("beach.jpg"), b"\xff\xd8").unwrap();
    let o = tacet(
        &dir,
        &[
            "-u",
            "admin",
            "models",
            "import-folder",
            empty.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("no model files in") && out.contains("holiday-photos"),
        "{out}"
    );
}
