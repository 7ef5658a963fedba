//! The admin's reports over the audit log: the deletion log with its
//! proofs, the access report, the FHIR export, the verifier key, and
//! pruning past the retention floor.
//!
//! None opens patient data: they read audit records (ids, codes, hashes),
//! which admins may see. Each reading is itself audited
//! (`audit.viewed` with what was read and how many records). The front
//! ends only show the text these return.

use crate::RuntimeError;
use std::path::Path;
use tacet_audit::{AuditRecord, VerifierKey};
use tacet_core::audit::Detail;
use tacet_core::ports::SessionStore;
use tacet_core::{AuditAction, AuditEvent};
use tacet_vault::Unlocked;

pub use tacet_vault::PruneOutcome;

fn verifier(u: &Unlocked<'_>) -> Result<VerifierKey, RuntimeError> {
    Ok(tacet_audit::parse_vkey(&u.audit_verifier_key()?)?)
}

/// The records whose contents are kept (pruned ones keep only hashes).
fn records(u: &Unlocked<'_>) -> Result<Vec<AuditRecord>, RuntimeError> {
    u.audit_records()?
        .iter()
        .filter(|r| !r.bytes.is_empty())
        .map(|r| {
            AuditRecord::decode(&r.bytes).map_err(|_| RuntimeError::AuditRecordUnreadable(r.seq))
        })
        .collect()
}

fn audited(u: &mut Unlocked<'_>, what: &str, count: u64) -> Result<(), RuntimeError> {
    let ev = AuditEvent::new(AuditAction::AuditViewed, u.actor().clone())
        .object(what.to_string())
        .detail(Detail::Count(count));
    u.record(ev)?;
    Ok(())
}

/// Every destroyed session, each proven by an inclusion proof against a
/// checkpoint signed now; the text an admin reads.
pub fn deletion_log(u: &mut Unlocked<'_>) -> Result<String, RuntimeError> {
    let note = u.write_checkpoint()?;
    let checkpoint = tacet_audit::open_checkpoint(&note, &verifier(u)?)?;
    let entries = tacet_audit::deletion_log(&u.audit_records()?, &checkpoint)?;
    let text = tacet_audit::render_deletion_log(&entries, &checkpoint);
    audited(u, "audit:deletion-log", entries.len() as u64)?;
    Ok(text)
}

/// Who opened what, per account; the text an admin reads.
pub fn access_report(u: &mut Unlocked<'_>) -> Result<String, RuntimeError> {
    let recs = records(u)?;
    let text = tacet_audit::access_report(&recs).render_text();
    audited(u, "audit:access-report", recs.len() as u64)?;
    Ok(text)
}

/// The log as FHIR R4 AuditEvent resources (NDJSON) in a new owner-only
/// file (the records name the practice's people); an existing file is
/// never overwritten. Returns how many resources were written.
pub fn export_fhir(u: &mut Unlocked<'_>, out: &Path) -> Result<usize, RuntimeError> {
    let recs = records(u)?;
    let origin = verifier(u)?.name;
    let ndjson = tacet_audit::to_ndjson(&recs, &origin);
    crate::write_new_private_file(out, ndjson.as_bytes()).map_err(|cause| {
        RuntimeError::WriteFile {
            path: out.to_path_buf(),
            cause,
        }
    })?;
    audited(u, "audit:fhir-export", recs.len() as u64)?;
    Ok(recs.len())
}

/// The public key that verifies the log's checkpoints (read, audited).
pub fn verifier_key(u: &mut Unlocked<'_>) -> Result<String, RuntimeError> {
    let key = u.audit_verifier_key()?;
    audited(u, "audit:verifier-key", 1)?;
    Ok(key)
}

/// The cutoff of a prune: records older than `older_than_days` before
/// `now_unix_ms`, or than the six-year retention period when `None`. The
/// vault refuses anything younger than its retention floor whatever this
/// says.
pub fn prune_cutoff(older_than_days: Option<f64>, now_unix_ms: u64) -> Result<u64, RuntimeError> {
    match older_than_days {
        Some(d) if d.is_finite() && d >= 0.0 => {
            Ok(now_unix_ms.saturating_sub((d * tacet_core::retention::DAY_MS as f64) as u64))
        }
        Some(_) => Err(RuntimeError::InvalidSetting(
            "--older-than-days must be zero or more".into(),
        )),
        None => Ok(tacet_audit::retention_cutoff_unix_ms(
            now_unix_ms,
            tacet_audit::RETENTION_YEARS,
        )),
    }
}

/// Prunes the contents of the records older than [`prune_cutoff`] (admins
/// only); their hashes stay, and the signed prune note lets the log verify.
pub fn prune(
    u: &mut Unlocked<'_>,
    older_than_days: Option<f64>,
    now_unix_ms: u64,
) -> Result<PruneOutcome, RuntimeError> {
    let cutoff = prune_cutoff(older_than_days, now_unix_ms)?;
    Ok(u.prune_audit(cutoff)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 400 * 365 * 86_400_000;

    #[test]
    fn a_prune_cutoff_in_days_or_the_retention_period() {
        assert_eq!(prune_cutoff(Some(0.0), NOW).unwrap(), NOW);
        assert_eq!(prune_cutoff(Some(2.0), NOW).unwrap(), NOW - 2 * 86_400_000);
        let floor = prune_cutoff(None, NOW).unwrap();
        assert!(floor < NOW - 6 * 365 * 86_400_000);
    }

    #[test]
    fn fail_a_negative_or_endless_prune_age() {
        for d in [-1.0, f64::NAN, f64::INFINITY] {
            let e = prune_cutoff(Some(d), NOW).unwrap_err();
            assert!(e.to_string().contains("zero or more"), "{e}");
        }
    }
}
