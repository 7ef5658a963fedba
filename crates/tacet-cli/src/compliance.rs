//! `tacet compliance`: the installation report and the consent texts.
//! The report's facts are gathered by `tacet-runtime` (the composition the
//! desktop app shares, so both state the same facts) and written down by
//! tacet-compliance; this module only unlocks, writes the files and picks
//! the exit code. A fact that cannot be read is reported as unknown.

use crate::compose;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use tacet_vault::Vault;

pub fn report(
    data_dir: &Path,
    user: Option<String>,
    out: Option<&Path>,
    pdf: Option<&Path>,
) -> Result<ExitCode> {
    let mut vault = Vault::open(data_dir)?;
    let user = compose::user(user)?;
    let pass = compose::passphrase("TACET_PASSPHRASE", &format!("Passphrase for {user}: "))?;
    let mut u = vault.unlock(&user, &pass)?;
    drop(pass);
    // Refuses a clinician; reading the audit log for the report is audited.
    let report = tacet_runtime::compliance_report(&mut u, data_dir, &compose::SystemClock)?;
    match out {
        Some(p) => std::fs::write(p, &report.markdown)
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => print!("{}", report.markdown),
    }
    if let Some(p) = pdf {
        std::fs::write(p, report.pdf()).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(if report.audit_verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub fn consent(practice: &str, data_dir: &Path) -> Result<ExitCode> {
    // Settings are read without unlocking: retention is not secret.
    let (retention_days, grace_hours) =
        match Vault::open(data_dir).and_then(|v| v.public_retention_settings()) {
            Ok(r) => (
                r.unexported_limit_ms as f64 / 86_400_000.0,
                r.export_grace_ms as f64 / 3_600_000.0,
            ),
            Err(_) => {
                eprintln!("(no readable vault here: using the defaults, 7 days and 0 hours)");
                (7.0, 0.0)
            }
        };
    let facts = tacet_compliance::consent::ConsentFacts {
        practice_name: practice.to_string(),
        retention_days,
        grace_hours,
    };
    println!(
        "{}",
        tacet_compliance::consent::render(tacet_compliance::consent::AI_CLAUSE_TEMPLATE, &facts)?
    );
    println!("---\nSpoken consent script:\n");
    println!(
        "{}",
        tacet_compliance::consent::render(
            tacet_compliance::consent::SPOKEN_SCRIPT_TEMPLATE,
            &facts
        )?
    );
    Ok(ExitCode::SUCCESS)
}
