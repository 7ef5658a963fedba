//! Drafts a note from a plain-text transcript (one utterance a line) with a
//! GGUF model: for trying prompts and models by hand.
//!
//! `cargo run -p tacet-llm --example draft_file -- MODEL.gguf TRANSCRIPT.txt [soap|dap|…] [N]`
//!
//! With `N`, the first `N` lines are read ahead first (`Drafter::prewarm`,
//! as the desktop does while recording) and only the draft after it is
//! timed: the wait a clinician sees at stop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::sync::atomic::AtomicBool;
use tacet_core::ports::{DraftProgress, Drafter};
use tacet_core::{Segment, Template, Transcript};
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: draft_file MODEL.gguf TRANSCRIPT.txt [template-id]".into());
    }
    let text = std::fs::read_to_string(&args[2])?;
    let segments = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| Segment {
            id: i as u32,
            start_ms: i as u64 * 4000,
            end_ms: i as u64 * 4000 + 3500,
            speaker: None,
            text: l.split_once(": ").map(|(_, r)| r).unwrap_or(l).to_string(),
            confidence: 0.9,
            unsure: Vec::new(),
        })
        .collect();
    let transcript = Transcript {
        language: "en".into(),
        segments,
        model_sha256: String::new(),
    };
    let id = args.get(3).map(String::as_str).unwrap_or("soap");
    let path = format!(
        "{}/../../assets/templates/{id}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let template = Template::from_toml(&std::fs::read_to_string(path)?)?;
    let mut d = GgufDrafter::load(
        std::path::Path::new(&args[1]),
        ModelInfo {
            id: "manual".into(),
            sha256: String::new(),
        },
        LlmOptions::default(),
    )?;
    if let Some(n) = args.get(4).map(|n| n.parse::<usize>()).transpose()? {
        let early = Transcript {
            segments: transcript.segments[..n.min(transcript.segments.len())].to_vec(),
            ..transcript.clone()
        };
        let t0 = std::time::Instant::now();
        d.prewarm(&early, &template, &AtomicBool::new(false))?;
        eprintln!(
            "read ahead {n} lines in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }
    let started = std::time::Instant::now();
    let draft = d.draft(
        &transcript,
        &template,
        &mut |p| {
            if let DraftProgress::Section(h) = p {
                eprintln!("[{h}]");
            }
        },
        &AtomicBool::new(false),
    )?;
    print!("{}", draft.render_text());
    eprintln!(
        "({:.1} s; {} of {} prompt tokens read ahead)",
        started.elapsed().as_secs_f64(),
        d.reused_prompt_tokens(),
        draft.provenance.prompt_tokens
    );
    for s in &draft.provenance.section_inputs {
        eprintln!(
            "{}: {} segments read, {} left out ({} characters)",
            s.heading, s.segments_used, s.segments_left_out, s.chars_left_out
        );
    }
    if let Some(notice) = draft.provenance.coverage_notice() {
        eprintln!("NOTE: {notice}");
    }
    Ok(())
}
