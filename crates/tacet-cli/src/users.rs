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
use tacet_runtime::KdfChoice;

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

/// The environment variable a changed passphrase may come from (for
/// scripts; otherwise it is asked twice on the terminal).
pub const NEW_PASSPHRASE_VAR: &str = "TACET_NEW_PASSPHRASE";

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
        let pass = compose::new_passphrase(NEW_USER_PASSPHRASE_VAR, name)?;
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

/// Changes the signed-in user's own passphrase (the current one is asked,
/// or read from TACET_PASSPHRASE; the new one from TACET_NEW_PASSPHRASE or
/// asked twice). A clinician's key pair is replaced with it.
pub fn passwd(data_dir: &Path, user: Option<String>, fast_kdf: bool) -> Result<ExitCode> {
    let mut vault = tacet_runtime::Vault::open(data_dir)?;
    let user = compose::user(user)?;
    let current = compose::passphrase(
        "TACET_PASSPHRASE",
        &format!("Current passphrase for {user}: "),
    )?;
    let mut u = crate::run::unlock(&mut vault, &user, &current)?;
    let new = compose::new_passphrase(NEW_PASSPHRASE_VAR, &user)?;
    let kdf = if fast_kdf {
        KdfChoice::Floor
    } else {
        KdfChoice::CalibratedMs(500)
    };
    let moved = u.change_passphrase(&current, &new, kdf)?;
    drop((current, new));
    if u.role() == Role::Clinician {
        println!(
            "Changed the passphrase for {user}, with a new key pair: {moved} session key(s) now open only with the new passphrase."
        );
    } else {
        println!("Changed the passphrase for {user}.");
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes an account (admins only; the vault refuses and audits the
/// cases that would lose data or lock the practice out).
pub fn remove(data_dir: &Path, user: Option<String>, name: &str) -> Result<ExitCode> {
    with_unlocked(data_dir, user, |u| {
        u.remove_user(name)?;
        println!("Removed {name}. Their passphrase opens nothing in this vault any more.");
        Ok(ExitCode::SUCCESS)
    })
}
