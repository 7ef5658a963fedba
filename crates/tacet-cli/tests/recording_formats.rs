//! Issue 25, part 2: the recordings people have. The real binary starts a
//! session from the demo visit's first 3.5 s as FLAC, MP3, M4A (AAC), OGG
//! Vorbis, Opus and stereo 44.1 kHz MP3 (tacet-audio's test recordings), and
//! each transcript holds the visit's first words; a text file named `.mp3`
//! is refused naming the file and the formats Tacet reads. Needs the cached
//! default ASR model (skipped with a message without it, except under
//! `TACET_CI=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

mod support;
use std::path::Path;
use std::process::Output;
use support::Tacet;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_session_starts_from_each_kind_of_recording() {
    let Some(asr) = tacet_tests::models::asr() else {
        tacet_tests::skip("the default ASR model is not cached (scripts/fetch-models.sh)");
        return;
    };
    let t = Tacet::new();
    let o = t.run("admin", &["init", "--fast-kdf"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = t.run(
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
        let o = t.run(
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
    let fake = t.data.path().join("notes.mp3");
    std::fs::write(&fake, "Dear Dr Lee, this is not audio.").unwrap();
    let o = t.run(
        "clinician",
        &["session", "new", "--audio", fake.to_str().unwrap()],
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("notes.mp3"), "{out}");
    assert!(out.contains("FLAC") && out.contains("Opus"), "{out}");
}
