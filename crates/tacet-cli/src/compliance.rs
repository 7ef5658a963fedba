//! `tacet compliance`: the installation report and the consent texts.
//! The report's facts are gathered by `tacet-runtime` (the composition the
//! desktop app shares, so both state the same facts) and written down by
//! tacet-compliance; this module only unlocks, writes the files and picks
//! the exit code. A fact that cannot be read is reported as unknown.

use crate::compose;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use tacet_runtime::ReportFile;
use tacet_runtime::Vault;

pub fn report(
    data_dir: &Path,
    user: Option<String>,
    out: Option<&Path>,
    pdf: Option<&Path>,
) -> Result<ExitCode> {
    let mut vault = Vault::open(data_dir)?;
    let user = compose::user(user)?;
    let pass = compose::passphrase("TACET_PASSPHRASE", &format!("Passphrase for {user}: "))?;
    let mut u = crate::run::unlock(&mut vault, &user, &pass)?;
    drop(pass);
    // Refuses a clinician; reading the audit log for the report is audited.
    let report = tacet_runtime::compliance_report(&mut u, data_dir, &compose::SystemClock)?;
    match out {
        Some(p) => report.save(p, ReportFile::Markdown)?,
        None => print!("{}", report.markdown),
    }
    if let Some(p) = pdf {
        report.save(p, ReportFile::Pdf)?;
    }
    Ok(if report.audit_verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub fn consent(practice: &str, data_dir: &Path) -> Result<ExitCode> {
    let texts = tacet_runtime::setup::consent_texts(data_dir, practice)?;
    if texts.defaults_used {
        eprintln!("(no readable vault here: using the defaults, 7 days and 0 hours)");
    }
    println!("{}", texts.clause);
    println!("---\nSpoken consent script:\n");
    println!("{}", texts.script);
    Ok(ExitCode::SUCCESS)
}
