// TEMPORARY dev helper (deleted before hand-off).
#[test]
fn dump() {
    use tacet_core::ports::Transcriber;
    let p = std::path::PathBuf::from("/tmp/tcache/files/ggml-tiny.en.bin");
    let mut asr = tacet_asr::WhisperTranscriber::load(&p, "x".into(), tacet_asr::AsrOptions { threads: 2, language: "en".into() }).unwrap();
    let wav = std::env::var("DEMO_WAV").unwrap();
    let pcm = tacet_audio::read_wav_file(std::path::Path::new(&wav)).unwrap();
    let a = tacet_audio::to_mono_16k(&pcm).unwrap();
    let t = asr.transcribe(&a).unwrap();
    for s in &t.segments { println!("{} {} {:.2} {}", s.start_ms, s.end_ms, s.confidence, s.text); }
    let txt = std::fs::read_to_string(wav.replace(".wav", ".txt")).unwrap();
    let r: String = txt.lines().map(|l| l.split_once(':').map_or(l, |(_, x)| x)).collect::<Vec<_>>().join(" ");
    println!("WER {:.2}%", 100.0 * tacet_asr::word_error_rate(&r, &t.plain_text()));
    std::fs::write("/tmp/hyp.txt", t.plain_text()).unwrap();
}
