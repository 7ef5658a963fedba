//! `tacet users`: who may unlock the vault, and enrolling someone new.
//!
//! Listing shows names and roles only. Adding follows the vault's key
//! rule rather than an org chart: an admin may add admins, and a new
//! clinician is enrolled by an existing clinician, because only a
//! clinician holds the data key that is wrapped for the newcomer (an admin
//! never does). The vault refuses the other case and says so; the
//! addition is audited as `user.added` by the vault itself, through
//! `tacet_runtime::manage::add_user`, the call the desktop app makes too.

use crate::compose;
use crate::run::with_unlocked;
use anyhow::{bail, Result};
use std::path::Path;
use std::process::ExitCode;
use tacet_core::Role;
use tacet_crypto::Passphrase;
use tacet_vault::KdfChoice;

/// The environment variable a new user's passphrase may come from (for
/// scripts; otherwise it is asked twice on the terminal).
pub const NEW_USER_PASSPHRASE_VAR: &str = "TACET_NEW_USER_PASSPHRASE";

/// Users and roles.
pub fn list(data_dir: &Path, user: Option<String>) -> Result<ExitCode> {
    with_unlocked(data_dir, user, |u| {
        for (name, role) in u.users()? {
            println!("{name:<32} {role}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The role named on the command line.
pub fn parse_role(s: &str) -> Result<Role> {
    match s {
        "clinician" => Ok(Role::Clinician),
        "admin" => Ok(Role::Admin),
        other => bail!("unknown role {other:?}: use clinician or admin"),
    }
}

fn new_passphrase(name: &str) -> Result<Passphrase> {
    if std::env::var_os(NEW_USER_PASSPHRASE_VAR).is_some() {
        return compose::passphrase(NEW_USER_PASSPHRASE_VAR, "");
    }
    let a = compose::passphrase(
        NEW_USER_PASSPHRASE_VAR,
        &format!("New passphrase for {name}: "),
    )?;
    let b = compose::passphrase(
        NEW_USER_PASSPHRASE_VAR,
        &format!("Repeat the passphrase for {name}: "),
    )?;
    if a.danger_expose() != b.danger_expose() {
        bail!("the two passphrases differ");
    }
    Ok(a)
}

/// Adds `name` with `role`; `fast_kdf` uses the OWASP floor instead of
/// calibrating the key derivation to about half a second.
pub fn add(
    data_dir: &Path,
    user: Option<String>,
    name: &str,
    role: &str,
    fast_kdf: bool,
) -> Result<ExitCode> {
    let role = parse_role(role)?;
    with_unlocked(data_dir, user, |u| {
        // Said before asking for the new passphrase; the vault refuses (and
        // audits) the same attempt whatever front end makes it.
        if !u.role().may_add(role) {
            bail!("{}", u.role().may_not_add_reason(role));
        }
        let pass = new_passphrase(name)?;
        let kdf = if fast_kdf {
            KdfChoice::Floor
        } else {
            KdfChoice::CalibratedMs(500)
        };
        tacet_runtime::manage::add_user(u, name, role, &pass, kdf)?;
        drop(pass);
        println!("Added {name} ({role}).");
        Ok(ExitCode::SUCCESS)
    })
}
