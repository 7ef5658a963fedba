//! Prints the grounding evaluation table (docs/EVAL.md, "Grounding checks"):
//! `cargo run -p tacet-ground --example grounding_eval [-- [--misses] [CSV]]`.
//!
//! Without a path it reads ACI-Bench `valid.csv` (see `eval::data_path`);
//! with one (for example `…/aci-bench/train.csv`) it reads that file.
//! `--misses` also lists the injected sentences no check flagged and the
//! untouched sentences that were flagged, for inspection (patient text from
//! the public data set; never run it on real notes).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

#[path = "../tests/support/eval.rs"]
mod eval;

use std::path::PathBuf;

fn main() {
    let mut show_misses = false;
    let mut explicit: Option<PathBuf> = None;
    for arg in std::env::args().skip(1) {
        if arg == "--misses" {
            show_misses = true;
        } else {
            explicit = Some(PathBuf::from(arg));
        }
    }
    let path = match explicit {
        Some(p) if p.is_file() => p,
        Some(p) => {
            eprintln!("{} not found", p.display());
            std::process::exit(1);
        }
        None => match eval::data_path() {
            Ok(p) => p,
            Err(why) => {
                println!("skipping the grounding evaluation: {why}");
                return;
            }
        },
    };
    let encounters = match eval::load(&path) {
        Ok(e) => e,
        Err(why) => {
            eprintln!("cannot read the evaluation set: {why}");
            std::process::exit(1);
        }
    };
    let started = std::time::Instant::now();
    let counts = eval::run(&encounters);
    println!(
        "Grounding checks on {} (seed {:#x}, up to {} injections per note and type)\n",
        path.canonicalize().unwrap_or(path.clone()).display(),
        eval::SEED,
        eval::PER_NOTE
    );
    print!("{}", eval::table(&counts));
    println!("\n{:.1} s", started.elapsed().as_secs_f64());
    if show_misses {
        println!("\nMissed injections:");
        for (k, s) in &counts.missed {
            println!("- {}: {s}", k.name());
        }
        println!("\nFlagged untouched sentences:");
        for enc in &encounters {
            let g = tacet_ground::ground(&enc.draft, &enc.transcript);
            for s in g.sentences.iter().filter(|s| !s.flags.is_empty()) {
                let kinds: Vec<&str> = s.flags.iter().map(|f| f.kind.label()).collect();
                println!("- [{}] ({}) {}", enc.id, kinds.join(", "), s.text);
                for f in &s.flags {
                    println!("    {}", f.detail);
                }
            }
        }
    }
}
