//! Benchmark driver for benches/asr/run.sh (not a test).
//!
//! `asr_bench batch <clip.wav> <threads> <runs>`: transcribes the clip with
//! the f16 ggml and the q8_0 import (both converted from the cached
//! CTranslate2 tiny.en by tacet-models when absent), best of `runs`, and
//! prints `engine<TAB>seconds<TAB>audio_seconds<TAB>hypothesis` lines.
//!
//! `asr_bench stream <long.wav> <threads> <speed>`: feeds the file in
//! one-second chunks at `speed` × real time from a feeder thread; a worker
//! streams them into `StreamingTranscriber`. For every committed segment the
//! lag is (live audio at the moment it was committed) − (segment end). It
//! prints the lag percentiles, the stop-to-final latency (`finish()` after
//! the last chunk) and the final hypothesis.
//!
//! `asr_bench stream-sync <long.wav> <threads> -`: the same transcriber fed
//! one second at a time with a pass after each, no clock: the windows, and
//! so the transcript, are the same on every run, for comparing accuracy
//! (`TACET_WHISPER_STOCK_ATTN=1 TACET_WHISPER_STOCK_Q8=1` for whisper.cpp's
//! own kernels). `ASR_BENCH_TRACE=1` prints every pass's committed and
//! tentative segments to stderr, `ASR_BENCH_SEGMENTS=1` the final ones.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};
use tacet_asr::{AsrOptions, StreamingConfig, StreamingTranscriber, WhisperTranscriber};
use tacet_models::store::Quantization;

fn cache_files() -> PathBuf {
    std::env::var_os("TACET_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/tacet")
        })
        .join("files")
}

fn ggml(quant: Option<Quantization>) -> PathBuf {
    let files = cache_files();
    let name = match quant {
        None => "ggml-tiny.en.bin",
        Some(_) => "ggml-tiny.en-q8_0.bin",
    };
    let path = files.join(name);
    if !path.is_file() {
        let ct2 = files.join("whisper-tiny.en-ct2");
        let read = |f: &str| std::fs::read(ct2.join(f)).expect("cached CTranslate2 tiny.en");
        let bytes = tacet_models::convert::ct2_to_ggml(
            &read("model.bin"),
            &read("config.json"),
            &read("vocabulary.txt"),
            quant,
        )
        .expect("convert");
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).expect("write model");
        std::fs::rename(&tmp, &path).expect("rename model");
    }
    path
}

fn load(path: &Path, threads: usize) -> WhisperTranscriber {
    let opts = AsrOptions {
        threads,
        language: "en".into(),
    };
    WhisperTranscriber::load(path, "bench".into(), opts).expect("load model")
}

fn read_16k(path: &Path) -> Vec<f32> {
    tacet_audio::to_mono_16k(&tacet_audio::read_wav_file(path).expect("read wav")).expect("16k")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn batch(clip: &Path, threads: usize, runs: usize) {
    let audio = read_16k(clip);
    let audio_s = audio.len() as f64 / 16_000.0;
    for (name, quant) in [
        ("whisper-rs f16 (ours)", None),
        ("whisper-rs q8_0 (ours)", Some(Quantization::Q8_0)),
    ] {
        // `ASR_BENCH_ONLY=q8_0` (or `f16`) runs one model, for profiling.
        if let Ok(only) = std::env::var("ASR_BENCH_ONLY") {
            if !name.contains(only.as_str()) {
                continue;
            }
        }
        let mut asr = load(&ggml(quant), threads);
        let mut best = f64::MAX;
        let mut text = String::new();
        for _ in 0..runs {
            let t0 = Instant::now();
            let t = asr.transcribe_channel(&audio, None).expect("transcribe");
            best = best.min(t0.elapsed().as_secs_f64());
            text = t.plain_text();
        }
        println!("{name}\t{best:.3}\t{audio_s:.2}\t{}", one_line(&text));
    }
}

fn stream(path: &Path, threads: usize, speed: f64) {
    let audio = read_16k(path);
    let audio_s = audio.len() as f64 / 16_000.0;
    let asr = load(&ggml(Some(Quantization::Q8_0)), threads);
    let mut st = StreamingTranscriber::new(asr, StreamingConfig::default()).expect("config");
    let (tx, rx) = sync_channel::<Vec<f32>>(1024);
    let chunks: Vec<Vec<f32>> = audio.chunks(16_000).map(<[f32]>::to_vec).collect();
    let start = Instant::now();
    let feeder = std::thread::spawn(move || {
        let mut fed_s = 0.0;
        for c in chunks {
            fed_s += c.len() as f64 / 16_000.0;
            let due = Duration::from_secs_f64(fed_s / speed);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            if tx.send(c).is_err() {
                return;
            }
        }
    });
    let mut lags_ms: Vec<f64> = Vec::new();
    let mut pass_s: Vec<f64> = Vec::new();
    // Block for one chunk, then take whatever else has arrived.
    while let Ok(first) = rx.recv() {
        st.append(&first).expect("append");
        while let Ok(more) = rx.try_recv() {
            st.append(&more).expect("append");
        }
        let t0 = Instant::now();
        if let Some(update) = st.update().expect("pass") {
            if update.ran {
                pass_s.push(t0.elapsed().as_secs_f64());
            }
            // Live audio now (what has been spoken, at `speed`).
            let live_ms = (start.elapsed().as_secs_f64() * speed * 1000.0).min(audio_s * 1000.0);
            for s in &update.committed {
                lags_ms.push(live_ms - s.end_ms as f64);
            }
        }
    }
    feeder.join().expect("feeder");
    let t_stop = Instant::now();
    let t = st.finish().expect("finish");
    let stop_to_final_ms = t_stop.elapsed().as_secs_f64() * 1000.0;
    lags_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| lags_ms[((lags_ms.len() - 1) as f64 * p).round() as usize];
    pass_s.sort_by(f64::total_cmp);
    let (passes, skipped) = st.pass_counts();
    println!(
        "stream\t{audio_s:.1}\t{speed}\t{:.0}\t{:.0}\t{stop_to_final_ms:.0}\t{}\t{passes}\t{skipped}\t{:.3}\t{}",
        pct(0.5),
        pct(0.95),
        lags_ms.len(),
        pass_s.get(pass_s.len() / 2).copied().unwrap_or(0.0),
        one_line(&t.plain_text())
    );
}

/// The same streaming transcriber fed one second at a time with a pass
/// after each (no clock, no feeder thread), so the windows, and so the
/// transcript, do not depend on timing: for comparing engines' accuracy.
fn stream_sync(path: &Path, threads: usize) {
    let audio = read_16k(path);
    let asr = load(&ggml(Some(Quantization::Q8_0)), threads);
    let mut st = StreamingTranscriber::new(asr, StreamingConfig::default()).expect("config");
    let t0 = Instant::now();
    let trace = std::env::var_os("ASR_BENCH_TRACE").is_some();
    for chunk in audio.chunks(16_000) {
        let update = st.push(chunk).expect("pass");
        if let (true, Some(u)) = (trace, update) {
            let committed = u.committed.iter().map(|s| ("commit", s));
            for (kind, s) in committed.chain(u.tentative.iter().map(|s| ("tent", s))) {
                eprintln!(
                    "{:>7} {kind:<6} {:>7}-{:<7} {}",
                    u.audio_ms,
                    s.start_ms,
                    s.end_ms,
                    s.text.trim()
                );
            }
        }
    }
    let t = st.finish().expect("finish");
    if std::env::var_os("ASR_BENCH_SEGMENTS").is_some() {
        for s in &t.segments {
            eprintln!("{:>7} {:>7} {}", s.start_ms, s.end_ms, s.text.trim());
        }
    }
    let (passes, _) = st.pass_counts();
    println!(
        "stream-sync\t{:.1}\t{passes}\t{:.1}\t{}",
        audio.len() as f64 / 16_000.0,
        t0.elapsed().as_secs_f64(),
        one_line(&t.plain_text())
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: asr_bench batch <clip.wav> <threads> <runs> | stream <long.wav> <threads> <speed> | stream-sync <long.wav> <threads> -";
    if args.len() != 5 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let threads: usize = args[3].parse().expect("threads");
    match args[1].as_str() {
        "batch" => batch(Path::new(&args[2]), threads, args[4].parse().expect("runs")),
        "stream" => stream(
            Path::new(&args[2]),
            threads,
            args[4].parse().expect("speed"),
        ),
        "stream-sync" => stream_sync(Path::new(&args[2]), threads),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
