//! whisper.cpp as Tacet builds it runs on an AVX2 CPU, not only on the
//! AVX-512 machine that compiled it.
//!
//! With ggml's default `GGML_NATIVE` the library was compiled with
//! `-march=native`; built on an AVX-512 machine, transcription died with an
//! illegal instruction on an AVX2 laptop. `.cargo/config.toml` now builds
//! ggml for x86-64-v3, and the faster paths (Tacet's AVX-512 VNNI encoder
//! product, its attention's AVX-512 clone) are chosen at run time. This test
//! runs itself again under `qemu-x86_64 -cpu Haswell` (an AVX2 CPU with no
//! AVX-512; Debian's qemu-user, installed by scripts/setup.sh) and
//! transcribes the first seconds of the demo visit there with the q8_0 model
//! the app imports: an instruction Haswell lacks kills the child with
//! SIGILL, and the words must be the words.
//!
//! Without qemu-x86_64 or the cached model it says why and returns, except
//! with `TACET_CI=1` (set by .ci/run), where a skip is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::process::Command;

mod common;
use common::{model_path_q8_0, workspace_root};

const CHILD: &str = "TACET_PORTABLE_CPU_CHILD";

fn skip(why: &str) {
    assert!(
        std::env::var_os("TACET_CI").is_none(),
        "CI must run this test: {why}"
    );
    eprintln!("skipping: {why}");
}

#[test]
fn transcribes_on_an_avx2_cpu_without_avx512() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let Some(_) = model_path_q8_0() else {
        return skip("no cached whisper model (run scripts/fetch-models.sh)");
    };
    let qemu = Command::new("qemu-x86_64").arg("--version").output();
    if !qemu.is_ok_and(|o| o.status.success()) {
        return skip("qemu-x86_64 is not installed (Debian's qemu-user; scripts/setup.sh)");
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new("qemu-x86_64")
        .args(["-cpu", "Haswell"])
        .arg(exe)
        .args([
            "--exact",
            "transcribes_on_an_avx2_cpu_without_avx512",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary under qemu");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "under an emulated Haswell CPU the transcription failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let words = stdout
        .lines()
        .find_map(|l| l.split_once("TRANSCRIPT: ").map(|(_, t)| t))
        .unwrap_or_else(|| panic!("the child printed no transcript:\n{stdout}\n{stderr}"))
        .to_lowercase();
    for expected in ["my name is sam patel", "what brings you in"] {
        assert!(words.contains(expected), "{expected:?} not in {words:?}");
    }
}

/// Under qemu: the first 4.5 s of the demo visit, one thread, the encoder
/// shrunk to the audio as the live path runs it (emulated AVX2 is a few
/// hundred times slower than the real thing: a full 30 s window took over
/// ten minutes).
fn child() {
    use tacet_asr::{AsrOptions, WhisperTranscriber};
    let path = model_path_q8_0().expect("the parent found the model");
    let mut asr = WhisperTranscriber::load(&path, "q8".into(), AsrOptions::default())
        .expect("load the model");
    let pcm = tacet_audio::read_wav_file(&workspace_root().join("assets/demo/visit.wav"))
        .expect("read the demo visit");
    let audio = tacet_audio::to_mono_16k(&pcm).expect("16 kHz");
    let t = asr
        .transcribe_window(&audio[..9 * 8_000], None, true)
        .expect("transcribe under qemu");
    println!("TRANSCRIPT: {}", t.plain_text());
}
