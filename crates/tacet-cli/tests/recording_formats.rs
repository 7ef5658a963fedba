//! Issue 25, part 2: the recordings people have. The real binary starts a
//! session from the demo visit's first 3.5 s as FLAC, MP3, M4A (AAC), OGG
//! Vorbis, Opus and stereo 44.1 kHz MP3 (tacet-audio's test recordings), and
//! each transcript holds the visit's first words; a text file named `.mp3`
//! is refused naming the file and the formats Tacet reads. Needs the cached
//! default ASR model (skipped with a message without it, except under
//! `TACET_CI=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tacet(data: &Path, user: &str, args: &[&str]) -> Output {
    let pass = if user == "admin" {
        "admin-passphrase-1"
    } else {
        "clinician-passphrase-1"
    };
    Command::new(env!("CARGO_BIN_EXE_tacet"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("TACET_DATA_DIR", data)
        .env("TACET_USER", user)
        .env("TACET_PASSPHRASE", pass)
        .env("TACET_ADMIN_PASSPHRASE", "admin-passphrase-1")
        .env("TACET_CLINICIAN_PASSPHRASE", "clinician-passphrase-1")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("run tacet")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn cached_asr() -> Option<PathBuf> {
    let root = std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tacet")))?;
    let ct2 = root.join("files/whisper-tiny.en-ct2");
    ct2.join("model.bin").exists().then_some(ct2)
}

#[test]
fn a_session_starts_from_each_kind_of_recording() {
    let Some(asr) = cached_asr() else {
        assert!(
            std::env::var_os("TACET_CI").is_none(),
            "CI must run this test: the ASR model is not cached"
        );
        eprintln!("skipping: the default ASR model is not cached (scripts/fetch-models.sh)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let o = tacet(&data, "admin", &["init", "--fast-kdf"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = tacet(
        &data,
        "admin",
        &["models", "import", asr.to_str().unwrap(), "--q8-0"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tacet-audio/tests/data");
    for name in [
        "visit.flac",
        "visit.mp3",
        "visit.m4a",
        "visit.ogg",
        "visit.opus",
        "visit_stereo_44k.mp3",
    ] {
        let path = fixtures.join(name);
        let o = tacet(
            &data,
            "clinician",
            &["session", "new", "--audio", path.to_str().unwrap()],
        );
        let out = text(&o);
        assert!(o.status.success(), "{name}: {out}");
        let lower = out.to_lowercase();
        assert!(
            lower.contains("sam patel") || lower.contains("my name is"),
            "{name}: the transcript lacks the visit's first words:\n{out}"
        );
    }
    let fake = d.path().join("notes.mp3");
    std::fs::write(&fake, "Dear Dr Lee, this is not audio.").unwrap();
    let o = tacet(
        &data,
        "clinician",
        &["session", "new", "--audio", fake.to_str().unwrap()],
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("notes.mp3"), "{out}");
    assert!(out.contains("FLAC") && out.contains("Opus"), "{out}");
}
