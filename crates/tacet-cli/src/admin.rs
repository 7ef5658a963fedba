//! The admin's reports over the audit log and the retention settings.
//! None of them opens patient data: they read audit records (ids, codes,
//! hashes) and settings, which admins are allowed to see.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use tacet_core::audit::Detail;
use tacet_core::ports::SessionStore;
use tacet_core::{AuditAction, AuditEvent};
use tacet_vault::Unlocked;

fn origin_and_key(u: &Unlocked<'_>) -> Result<(String, tacet_audit::VerifierKey)> {
    let vkey = tacet_audit::parse_vkey(&u.audit_verifier_key()?)?;
    Ok((vkey.name.clone(), vkey))
}

fn records(u: &Unlocked<'_>) -> Result<Vec<tacet_audit::AuditRecord>> {
    u.audit_records()?
        .iter()
        .filter(|r| !r.bytes.is_empty()) // pruned records keep only their hashes
        .map(|r| {
            tacet_audit::AuditRecord::decode(&r.bytes).with_context(|| {
                format!(
                    "audit record {} does not decode; run `tacet audit verify`",
                    r.seq
                )
            })
        })
        .collect()
}

fn audited(u: &mut Unlocked<'_>, what: &str, count: u64) -> Result<()> {
    let ev = AuditEvent::new(AuditAction::AuditViewed, u.actor().clone())
        .object(what.to_string())
        .detail(Detail::Count(count));
    u.record(ev)?;
    Ok(())
}

/// Every destroyed session, each proven by an inclusion proof against the
/// latest signed checkpoint.
pub fn deletions(u: &mut Unlocked<'_>) -> Result<ExitCode> {
    let note = u.write_checkpoint()?;
    let (_, key) = origin_and_key(u)?;
    let checkpoint = tacet_audit::open_checkpoint(&note, &key)?;
    let stored = u.audit_records()?;
    let entries = tacet_audit::deletion_log(&stored, &checkpoint)?;
    print!(
        "{}",
        tacet_audit::render_deletion_log(&entries, &checkpoint)
    );
    audited(u, "audit:deletion-log", entries.len() as u64)?;
    Ok(ExitCode::SUCCESS)
}

pub fn access_report(u: &mut Unlocked<'_>) -> Result<ExitCode> {
    let recs = records(u)?;
    print!("{}", tacet_audit::access_report(&recs).render_text());
    audited(u, "audit:access-report", recs.len() as u64)?;
    Ok(ExitCode::SUCCESS)
}

pub fn export_fhir(u: &mut Unlocked<'_>, out: &Path) -> Result<ExitCode> {
    let recs = records(u)?;
    let (origin, _) = origin_and_key(u)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    // Owner-only, like every file Tacet writes for a person: the records
    // name the practice's people.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts
        .open(out)
        .with_context(|| format!("cannot create {} (it must not exist yet)", out.display()))?;
    tacet_audit::write_ndjson(&recs, &origin, std::io::BufWriter::new(f))
        .with_context(|| format!("writing {}", out.display()))?;
    audited(u, "audit:fhir-export", recs.len() as u64)?;
    eprintln!(
        "Wrote {} FHIR R4 AuditEvent resources to {} (NDJSON).",
        recs.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn verifier_key(u: &mut Unlocked<'_>) -> Result<ExitCode> {
    println!("{}", u.audit_verifier_key()?);
    audited(u, "audit:verifier-key", 1)?;
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
    let cutoff = match older_than_days {
        Some(d) if d.is_finite() && d >= 0.0 => now.saturating_sub((d * 86_400_000.0) as u64),
        Some(_) => bail!("--older-than-days must be zero or more"),
        None => tacet_audit::retention_cutoff_unix_ms(now, tacet_audit::RETENTION_YEARS),
    };
    let p = u.prune_audit(cutoff)?;
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
