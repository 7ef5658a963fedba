//! The admin's management operations, shared by the `tacet` CLI and the
//! desktop worker: retention settings, model import and verification, and
//! users.
//!
//! Each front end used to own one of these (the CLI its `settings` bounds
//! and its audited `models import`); a second copy in the desktop app would
//! drift — a grace period one accepts and the other refuses, an import one
//! audits and the other does not. So the rules live here once: the bounds a
//! setting must meet ([`check_retention`]), the audit record an import
//! writes ([`import_model`]), the plain words a verification is reported in
//! ([`describe_verification`]). Nothing here reads patient data: settings,
//! model metadata and user names are all an admin may see.

use crate::RuntimeError;
use std::path::Path;
use tacet_core::audit::Detail;
use tacet_core::ports::SessionStore;
use tacet_core::{AuditAction, AuditEvent, Role};
use tacet_crypto::Passphrase;
use tacet_models::{
    ImportOptions, InstalledModel, ManifestMatch, ModelStore, VerifyOutcome, VerifyStatus,
};
use tacet_vault::{KdfChoice, NewUser, RetentionSettings, Unlocked};

const DAY_MS: f64 = tacet_core::retention::DAY_MS as f64;
const HOUR_MS: f64 = tacet_core::retention::HOUR_MS as f64;
pub use tacet_core::retention::{MAX_GRACE_HOURS, MIN_RETENTION_DAYS};

/// The retention settings in the units people set them in.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionView {
    /// Unexported sessions are destroyed this many days after creation.
    pub retention_days: f64,
    /// Exported sessions are destroyed this many hours after export.
    pub grace_hours: f64,
    pub rotate_after_deletions: bool,
    /// When retention last ran (from the audit log), if it has.
    pub last_run_unix_ms: Option<u64>,
    /// Where signed audit checkpoints are anchored outside the data
    /// folder, if an admin chose a folder.
    pub anchor_dir: Option<std::path::PathBuf>,
}

/// Checks a requested change against the bounds `tacet settings` applies;
/// the error says which value is wrong and what is allowed.
pub fn check_retention(
    retention_days: Option<f64>,
    grace_hours: Option<f64>,
) -> Result<(), RuntimeError> {
    let bad =
        |p: tacet_core::retention::RetentionProblem| RuntimeError::InvalidSetting(p.to_string());
    if let Some(d) = retention_days {
        tacet_core::retention::check_retention_days(d).map_err(bad)?;
    }
    if let Some(h) = grace_hours {
        tacet_core::retention::check_grace_hours(h).map_err(bad)?;
    }
    Ok(())
}

/// The current settings and the last retention run.
pub fn retention(u: &Unlocked<'_>) -> Result<RetentionView, RuntimeError> {
    let f = u.retention_facts()?;
    Ok(RetentionView {
        retention_days: f.settings.unexported_limit_ms as f64 / DAY_MS,
        grace_hours: f.settings.export_grace_ms as f64 / HOUR_MS,
        rotate_after_deletions: f.settings.rotate_after_deletions,
        last_run_unix_ms: f.last_run_unix_ms,
        anchor_dir: u.anchor_dir()?,
    })
}

/// Sets (or clears) the folder outside the data folder where every signed
/// audit checkpoint is anchored (admins only; audited as
/// `settings.changed`); the current checkpoint and the verifier key are
/// written there at once.
pub fn set_anchor_dir(
    u: &mut Unlocked<'_>,
    dir: Option<&std::path::Path>,
) -> Result<RetentionView, RuntimeError> {
    if u.role() != Role::Admin {
        return Err(RuntimeError::AdminOnly("choose the audit anchor folder"));
    }
    let dir = match dir {
        Some(d) => Some(std::path::absolute(d).map_err(|e| {
            RuntimeError::InvalidSetting(format!("cannot resolve {}: {e}", d.display()))
        })?),
        None => None,
    };
    if let (Some(d), Some(fence)) = (&dir, tacet_sandbox::write_fence()) {
        if d.is_dir() && !fence.allows(d) {
            // The setting would be saved but nothing written there until
            // the program starts again with the folder inside its fence.
            return Err(RuntimeError::InvalidSetting(format!(
                "this program may write only in the folders it could when it started, and {} is not \
                 one of them; choose a folder on a removable disk or a share (under /media or \
                 /mnt), or set it with `tacet settings --anchor-dir`",
                d.display()
            )));
        }
    }
    u.set_anchor_dir(dir.as_deref())?;
    retention(u)
}

/// Changes the settings given (admins only); the vault audits the change
/// as `settings.changed` and writes a checkpoint.
pub fn set_retention(
    u: &mut Unlocked<'_>,
    retention_days: Option<f64>,
    grace_hours: Option<f64>,
) -> Result<RetentionView, RuntimeError> {
    if u.role() != Role::Admin {
        return Err(RuntimeError::AdminOnly("change retention settings"));
    }
    check_retention(retention_days, grace_hours)?;
    let mut s: RetentionSettings = u.settings()?;
    if let Some(d) = retention_days {
        s.unexported_limit_ms = (d * DAY_MS).round() as u64;
    }
    if let Some(h) = grace_hours {
        s.export_grace_ms = (h * HOUR_MS).round() as u64;
    }
    u.set_settings(&s)?;
    retention(u)
}

/// A model event names the model by id and carries its SHA-256.
pub fn model_event(ev: AuditEvent, m: &InstalledModel) -> AuditEvent {
    let ev = ev.object(format!("model:{}", m.id));
    match sha_bytes(&m.sha256) {
        Some(h) => ev.detail(Detail::ModelSha256(h)),
        None => ev,
    }
}

fn sha_bytes(hex_str: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut out).ok()?;
    Some(out)
}

/// Imports a model (admins only), verified by SHA-256 before anything
/// parses it, and audited as `model.imported` — `failed` when the store
/// refused the file, as `tacet models import` records it.
pub fn import_model(
    store: &mut dyn SessionStore,
    models: &ModelStore,
    source: &Path,
    opts: &ImportOptions,
) -> Result<InstalledModel, RuntimeError> {
    if store.actor().role != Role::Admin {
        return Err(RuntimeError::AdminOnly("import models"));
    }
    let manifest = crate::manifest()?;
    let ev = AuditEvent::new(AuditAction::ModelImported, store.actor().clone());
    match models.import(source, &manifest, opts) {
        Ok(m) => {
            // The import's record and the model's place on the approved
            // list, in one transaction: the engines load nothing else
            // that the manifest does not list.
            let sha = sha_bytes(&m.sha256).ok_or_else(|| RuntimeError::ModelNotApproved {
                id: m.id.clone(),
                sha256: m.sha256.clone(),
            })?;
            store.set_model_approval(model_event(ev, &m), sha, true)?;
            Ok(m)
        }
        Err(e) => {
            store.record(ev.outcome(tacet_core::Outcome::Failed))?;
            Err(e.into())
        }
    }
}

/// Removes an installed model (admins only) and withdraws it from the
/// approved list, audited as `model.removed`.
pub fn remove_model(
    store: &mut dyn SessionStore,
    models: &ModelStore,
    id: &str,
) -> Result<InstalledModel, RuntimeError> {
    if store.actor().role != Role::Admin {
        return Err(RuntimeError::AdminOnly("remove models"));
    }
    let m = models.remove(id)?;
    let ev = model_event(
        AuditEvent::new(AuditAction::ModelRemoved, store.actor().clone()),
        &m,
    );
    // The same file may be installed under another id: it stays approved.
    let still_installed = models.list()?.iter().any(|o| o.sha256 == m.sha256);
    match sha_bytes(&m.sha256) {
        Some(sha) => store.set_model_approval(ev, sha, still_installed)?,
        None => store.record(ev)?,
    };
    Ok(m)
}

/// Re-hashes one installed model against its record and the manifest.
pub fn verify_model(models: &ModelStore, id: &str) -> Result<VerifyOutcome, RuntimeError> {
    Ok(models.verify(id, &crate::manifest()?)?)
}

/// A verification in plain words.
pub fn describe_verification(v: &VerifyOutcome) -> String {
    let file = match &v.status {
        VerifyStatus::Intact => "the file is intact (its SHA-256 matches the import record)",
        VerifyStatus::Modified { .. } => {
            "the file has CHANGED since it was imported (its SHA-256 no longer matches); re-import it"
        }
        VerifyStatus::Missing => "the file is MISSING; re-import it",
    };
    let listed = match &v.manifest {
        ManifestMatch::Matches => "and it is the model Tacet's manifest lists".to_string(),
        ManifestMatch::Differs { .. } => {
            "but it is NOT the file Tacet's manifest lists under this id".to_string()
        }
        ManifestMatch::DerivedFrom { manifest_id } => {
            format!("and it was quantised by Tacet from the listed model {manifest_id}")
        }
        ManifestMatch::NotListed => {
            "and it was imported by an admin (the manifest does not list it)".to_string()
        }
    };
    format!("{}: {file}, {listed}.", v.id)
}

/// Adds a user, audited as `user.added`. An admin may add admins; a new
/// clinician must be enrolled by a clinician, who holds the data key that
/// is wrapped for them (the vault refuses otherwise, and says so).
pub fn add_user(
    u: &mut Unlocked<'_>,
    name: &str,
    role: Role,
    passphrase: &Passphrase,
    kdf: KdfChoice,
) -> Result<(), RuntimeError> {
    u.add_user(
        &NewUser {
            name,
            role,
            passphrase,
        },
        kdf,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_out_of_bounds_settings_are_refused() {
        for (d, h) in [
            (Some(0.0), None),
            (Some(-1.0), None),
            (Some(f64::NAN), None),
            (None, Some(-0.5)),
            (None, Some(72.5)),
            (None, Some(f64::INFINITY)),
        ] {
            assert!(check_retention(d, h).is_err(), "{d:?} {h:?}");
        }
        assert!(check_retention(Some(7.0), Some(72.0)).is_ok());
        assert!(check_retention(Some(MIN_RETENTION_DAYS), Some(0.0)).is_ok());
    }

    #[test]
    fn sha_bytes_reads_hex() {
        let hex = "ab".repeat(32);
        assert_eq!(sha_bytes(&hex), Some([0xab; 32]));
        assert_eq!(sha_bytes("ab"), None);
    }
}
