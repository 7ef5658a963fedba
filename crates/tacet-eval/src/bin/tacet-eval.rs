//! `tacet-eval`: drafts every encounter of an ACI-Bench-format CSV and
//! prints ROUGE, section coverage, seconds per note, the grounding flag
//! rate, the fact score and (composed drafting) speaker-role accuracy as
//! Markdown (docs/EVAL.md, "Drafting (ACI-Bench)").
//!
//! `cargo run -p tacet-eval -- [--drafter composed|rephrased|model]
//! [--out DIR] [--csv PATH] [--model PATH] [--limit N]
//! [--max-tokens-per-section N] [--threads N] [--device cpu|cuda|cuda:N]`
//!
//! `composed` (the app's default) and `rephrased` read the dialogue as a
//! one-microphone recording gives it: speaker tags removed, so the roles
//! are inferred and scored against the tags. `model` is the language model
//! writing the whole note from the tagged transcript (the old way).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tacet_core::SamplingParams;
use tacet_eval::{
    aci_bench_template, default_csv_path, default_model_path, evaluate_encounter, file_sha256,
    note_table_header, note_table_row, note_text, read_encounters, summarize, summary_table,
    untagged, ModelRow, NoteScorer,
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
    /// How notes are drafted: composed (facts from the transcript, no
    /// model), rephrased (composed, then reworded by the model where the
    /// wording keeps the facts), model (the model writes the whole note).
    #[arg(long, default_value = "composed", value_parser = ["composed", "rephrased", "model"])]
    drafter: String,
    /// Write every draft (one file per encounter, `<id>.txt`) and the
    /// tables (`scores.md`) to this folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The model as the composer's rewriter.
struct Llm(GgufDrafter);

impl tacet_facts::Rewriter for Llm {
    fn rewrite(
        &mut self,
        system: &str,
        user: &str,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Option<String> {
        self.0.complete(system, user, 256, cancel).ok()
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let csv = args
        .csv
        .unwrap_or_else(|| default_csv_path(&workspace_root()));
    let mut encounters = read_encounters(&csv)?;
    if let Some(n) = args.limit {
        encounters.truncate(n);
    }
    let template = aci_bench_template()?;
    let scorer = NoteScorer::new()?;
    let composed = args.drafter != "model";
    let mut header = String::new();
    let (mut drafter, label): (Box<dyn tacet_core::ports::Drafter>, String) = if args.drafter
        == "composed"
    {
        header.push_str(&format!(
                "Composing {} encounters of {} from their facts (rules sha256 {}), template {} v{}; speaker tags removed\n\n",
                encounters.len(),
                csv.canonicalize().unwrap_or_else(|_| csv.clone()).display(),
                tacet_facts::rules_sha256(),
                template.id,
                template.version
            ));
        (
            Box::new(tacet_facts::ComposedDrafter),
            "composed".to_string(),
        )
    } else {
        let model = match args.model.clone().or_else(default_model_path) {
            Some(p) => p,
            None => return Err("no --model given and neither TACET_CACHE nor HOME is set".into()),
        };
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
        let llm = GgufDrafter::load(
            &model,
            ModelInfo {
                id: model_name.clone(),
                sha256: sha256.clone(),
            },
            opts,
        )?;
        let load = llm.load_report().clone();
        header.push_str(&format!(
            "Drafting ({}) {} encounters of {} with {} (sha256 {}), template {} v{}\n",
            args.drafter,
            encounters.len(),
            csv.canonicalize().unwrap_or_else(|_| csv.clone()).display(),
            model_name,
            sha256,
            template.id,
            template.version
        ));
        header.push_str(&format!(
                "architecture {}, context {}, {} tensors requantized to Q8_0, {} thread(s) on {}, loaded in {} ms; greedy, seed {}, up to {} tokens per section\n\n",
                load.architecture,
                load.context_length,
                load.requantized_tensors,
                load.threads,
                load.device,
                load.load_ms,
                sampling.seed,
                sampling.max_tokens_per_section
            ));
        if args.drafter == "rephrased" {
            (
                Box::new(tacet_facts::RephrasingDrafter {
                    rewriter: Llm(llm),
                    model_id: model_name.clone(),
                    model_sha256: sha256,
                }),
                format!("composed + {model_name} rephrasing"),
            )
        } else {
            (Box::new(llm), model_name)
        }
    };

    let mut out = std::io::stdout().lock();
    let mut tables = header.clone();
    write!(out, "{header}")?;
    tables.push_str(&note_table_header());
    write!(out, "{}", note_table_header())?;
    out.flush()?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
    }
    let mut results = Vec::with_capacity(encounters.len());
    for enc in &encounters {
        let (enc, truth) = if composed {
            let (t, truth) = untagged(&enc.transcript);
            (
                tacet_eval::Encounter {
                    transcript: t,
                    ..enc.clone()
                },
                Some(truth),
            )
        } else {
            (enc.clone(), None)
        };
        let (draft, mut r) = evaluate_encounter(drafter.as_mut(), &enc, &template, &scorer)?;
        if let Some(truth) = &truth {
            r.roles = Some(tacet_eval::role_accuracy(&enc.transcript, truth));
        }
        if let Some(dir) = &args.out {
            let name: String = enc
                .encounter_id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            std::fs::write(dir.join(format!("{name}.txt")), note_text(&draft) + "\n")?;
        }
        let row = note_table_row(&r, template.sections.len());
        tables.push_str(&row);
        write!(out, "{row}")?;
        out.flush()?;
        results.push(r);
    }
    let summary = summarize(&results);
    let table = summary_table(&[ModelRow::Ran {
        model: label,
        summary,
    }]);
    writeln!(out)?;
    write!(out, "{table}")?;
    tables.push('\n');
    tables.push_str(&table);
    if let Some(dir) = &args.out {
        std::fs::write(dir.join("scores.md"), tables)?;
    }
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
