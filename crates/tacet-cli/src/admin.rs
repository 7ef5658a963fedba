//! The admin's reports over the audit log and the retention settings.
//! None of them opens patient data: they read audit records (ids, codes,
//! hashes) and settings, which admins are allowed to see.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use tacet_runtime::audit_reports;
use tacet_runtime::Unlocked;

/// Every destroyed session, each proven by an inclusion proof against the
/// latest signed checkpoint.
pub fn deletions(u: &mut Unlocked<'_>) -> Result<ExitCode> {
    print!("{}", audit_reports::deletion_log(u)?);
    Ok(ExitCode::SUCCESS)
}

pub fn access_report(u: &mut Unlocked<'_>) -> Result<ExitCode> {
    print!("{}", audit_reports::access_report(u)?);
    Ok(ExitCode::SUCCESS)
}

pub fn export_fhir(u: &mut Unlocked<'_>, out: &Path) -> Result<ExitCode> {
    let n =
        audit_reports::export_fhir(u, out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "Wrote {n} FHIR R4 AuditEvent resources to {} (NDJSON).",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn verifier_key(u: &mut Unlocked<'_>) -> Result<ExitCode> {
    println!("{}", audit_reports::verifier_key(u)?);
    Ok(ExitCode::SUCCESS)
}

pub fn show_settings(u: &Unlocked<'_>) -> Result<ExitCode> {
    let s = u.settings()?;
    println!(
        "Unexported sessions are destroyed after: {:.1} days",
        s.unexported_limit_ms as f64 / 86_400_000.0
    );
    println!(
        "Exported sessions are destroyed after:   {:.1} hours",
        s.export_grace_ms as f64 / 3_600_000.0
    );
    println!(
        "Rotate the data key after deletions:     {}",
        if s.rotate_after_deletions {
            "yes"
        } else {
            "no"
        }
    );
    match u.anchor_dir()? {
        Some(d) => println!("Audit checkpoints anchored in:           {}", d.display()),
        None => {
            println!("Audit checkpoints anchored in:           nowhere yet (--anchor-dir FOLDER)")
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn set_settings(
    u: &mut Unlocked<'_>,
    retention_days: Option<f64>,
    grace_hours: Option<f64>,
) -> Result<ExitCode> {
    // The bounds and the audit record the desktop app applies too.
    tacet_runtime::manage::set_retention(u, retention_days, grace_hours)?;
    show_settings(u)
}

pub fn prune(u: &mut Unlocked<'_>, older_than_days: Option<f64>) -> Result<ExitCode> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let p = audit_reports::prune(u, older_than_days, now)?;
    if p.pruned_records == 0 {
        println!("Nothing to prune: no audit record is older than the cutoff.");
    } else {
        println!(
            "Pruned the contents of {} audit record(s) (every record below {} is pruned); their hashes stay, and this signed prune note lets the log verify:\n{}",
            p.pruned_records, p.pruned_below, p.note
        );
    }
    Ok(ExitCode::SUCCESS)
}
