//! `tacet-eval`: drafts every encounter of an ACI-Bench-format CSV with a
//! GGUF model and prints ROUGE, section coverage, seconds per note and the
//! grounding flag rate as Markdown (docs/EVAL.md, "Drafting (ACI-Bench)").
//!
//! `cargo run -p tacet-eval -- [--csv PATH] [--model PATH] [--limit N]
//! [--max-tokens-per-section N] [--threads N] [--device cpu|cuda|cuda:N]`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tacet_core::SamplingParams;
use tacet_eval::{
    aci_bench_template, default_csv_path, default_model_path, evaluate_encounter, file_sha256,
    note_table_header, note_table_row, read_encounters, summarize, summary_table, ModelRow,
    NoteScorer,
};
use tacet_llm::{GgufDrafter, LlmOptions, ModelInfo};

#[derive(Parser, Debug)]
#[command(
    name = "tacet-eval",
    about = "Draft ACI-Bench encounters with a GGUF model and score the notes"
)]
struct Args {
    /// ACI-Bench-format CSV (dataset,encounter_id,dialogue,note). Default:
    /// $TACET_SHARED_DATA/aci-bench/valid.csv, else
    /// ../shared/data/aci-bench/valid.csv beside the workspace.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// GGUF model. Default: the cached SmolLM2-135M-Instruct Q4_1.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Draft only the first N encounters.
    #[arg(long)]
    limit: Option<usize>,
    /// Token budget of each section body.
    #[arg(long, default_value_t = SamplingParams::default().max_tokens_per_section)]
    max_tokens_per_section: u32,
    /// CPU threads for the model (keep below the free cores: both engines
    /// spin at barriers and collapse when oversubscribed).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Where the model runs: cpu, cuda or cuda:N (a GPU needs a build with
    /// `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: tacet_llm::LlmDevice,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let csv = args
        .csv
        .unwrap_or_else(|| default_csv_path(&workspace_root()));
    let model = match args.model.or_else(default_model_path) {
        Some(p) => p,
        None => return Err("no --model given and neither TACET_CACHE nor HOME is set".into()),
    };
    let mut encounters = read_encounters(&csv)?;
    if let Some(n) = args.limit {
        encounters.truncate(n);
    }
    let template = aci_bench_template()?;
    let scorer = NoteScorer::new()?;
    let sha256 = file_sha256(&model)?;
    let model_name = model
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| model.display().to_string());
    let sampling = SamplingParams {
        max_tokens_per_section: args.max_tokens_per_section,
        ..SamplingParams::default()
    };
    let opts = LlmOptions {
        threads: args.threads,
        sampling: sampling.clone(),
        device: args.device,
        ..LlmOptions::default()
    };
    let mut drafter = GgufDrafter::load(
        &model,
        ModelInfo {
            id: model_name.clone(),
            sha256: sha256.clone(),
        },
        opts,
    )?;
    let load = drafter.load_report().clone();

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Drafting {} encounters of {} with {} (sha256 {}), template {} v{}",
        encounters.len(),
        csv.canonicalize().unwrap_or_else(|_| csv.clone()).display(),
        model_name,
        sha256,
        template.id,
        template.version
    )?;
    writeln!(
        out,
        "architecture {}, context {}, {} tensors requantized to Q8_0, {} thread(s) on {}, loaded in {} ms; greedy, seed {}, up to {} tokens per section\n",
        load.architecture,
        load.context_length,
        load.requantized_tensors,
        load.threads,
        load.device,
        load.load_ms,
        sampling.seed,
        sampling.max_tokens_per_section
    )?;
    write!(out, "{}", note_table_header())?;
    out.flush()?;
    let mut results = Vec::with_capacity(encounters.len());
    for enc in &encounters {
        let (_, r) = evaluate_encounter(&mut drafter, enc, &template, &scorer)?;
        write!(out, "{}", note_table_row(&r, template.sections.len()))?;
        out.flush()?;
        results.push(r);
    }
    let summary = summarize(&results);
    writeln!(out)?;
    write!(
        out,
        "{}",
        summary_table(&[ModelRow::Ran {
            model: model_name,
            summary,
        }])
    )?;
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tacet-eval: {e}");
            ExitCode::FAILURE
        }
    }
}
