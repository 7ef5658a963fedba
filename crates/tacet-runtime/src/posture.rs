//! The sandbox gate (issue 22, item 7; issue 25, part 5): no vault is
//! unlocked in a process whose network filter is not in force.
//!
//! Both binaries call `tacet_sandbox::harden` first in `main`; where a
//! layer cannot be installed (a kernel without seccomp, an emulator such
//! as `qemu-x86_64`, an operating system with no sandbox here yet) the
//! program used to warn and carry on with patient data. Now it refuses to
//! unlock, naming what is missing, unless the operator sets
//! [`NO_SANDBOX_VAR`]` = 1`; then every unlock in that process is an audit
//! record (`sandbox.overridden`), so the choice is visible afterwards.
//!
//! The front ends call [`require`] before they derive any key and
//! [`record`] once unlocked.

use crate::RuntimeError;
use tacet_core::ports::SessionStore;
use tacet_core::{AuditAction, AuditEvent};
use tacet_sandbox::HardeningReport;

/// Set to `1` to unlock a vault although the network sandbox is not in
/// force (audited at every unlock).
pub const NO_SANDBOX_VAR: &str = "TACET_DANGER_NO_SANDBOX";

/// Whether this process may open patient data, and on what terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posture {
    /// The seccomp network filter is in force.
    Hardened,
    /// It is not, and the operator overrode the gate; `missing` says what
    /// is not in force, in words.
    Overridden { missing: String },
}

impl Posture {
    /// What to tell the person signed in, if anything.
    pub fn warning(&self) -> Option<String> {
        match self {
            Posture::Hardened => None,
            Posture::Overridden { missing } => Some(format!(
                "The network sandbox is not in force ({missing}); {NO_SANDBOX_VAR} allowed this, and it is recorded in the audit log."
            )),
        }
    }
}

/// This process's posture: refused (an error naming what is missing and
/// the override) unless the network filter is in force or overridden.
pub fn require() -> Result<Posture, RuntimeError> {
    let overridden = std::env::var_os(NO_SANDBOX_VAR).is_some_and(|v| v == "1");
    posture_of(tacet_sandbox::current(), overridden)
}

/// [`require`] for a given report and override (what the tests drive).
pub fn posture_of(
    report: Option<&HardeningReport>,
    overridden: bool,
) -> Result<Posture, RuntimeError> {
    let missing = match report {
        Some(r) if r.network_denied() => return Ok(Posture::Hardened),
        Some(r) => format!("seccomp network filter: {}", r.seccomp_network),
        None => "this process did not harden itself at start".to_string(),
    };
    if overridden {
        Ok(Posture::Overridden { missing })
    } else {
        Err(RuntimeError::SandboxNotInForce { missing })
    }
}

/// After an unlock: records an overridden posture in the audit log (ids
/// only: which layer, never why in free text).
pub fn record(store: &mut dyn SessionStore, posture: &Posture) -> Result<(), RuntimeError> {
    if let Posture::Overridden { .. } = posture {
        let ev = AuditEvent::new(AuditAction::SandboxOverridden, store.actor().clone())
            .object("sandbox:network-filter");
        store.record(ev)?;
    }
    Ok(())
}

/// Unlocks `user`, but only in a process whose network sandbox is in
/// force (or overridden, which the audit log then records): the one way
/// either front end opens a vault's keys. The posture comes back for its
/// warning, if any.
pub fn unlock<'v>(
    vault: &'v mut tacet_vault::Vault,
    user: &str,
    pass: &tacet_crypto::Passphrase,
) -> Result<(tacet_vault::Unlocked<'v>, Posture), RuntimeError> {
    let posture = require()?;
    let mut unlocked = vault.unlock(user, pass)?;
    record(&mut unlocked, &posture)?;
    Ok((unlocked, posture))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_without_a_report_or_a_filter_nothing_unlocks() {
        let e = posture_of(None, false).unwrap_err().to_string();
        assert!(e.contains(NO_SANDBOX_VAR), "{e}");
        assert!(e.contains("did not harden"), "{e}");
    }

    #[test]
    fn the_override_is_named_in_the_warning() {
        let p = posture_of(None, true).unwrap();
        let w = p.warning().unwrap();
        assert!(
            w.contains("not in force") && w.contains(NO_SANDBOX_VAR),
            "{w}"
        );
    }
}
