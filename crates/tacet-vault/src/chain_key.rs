//! The audit chain's first key, kept outside the vault (issue 22, item 4).
//!
//! Every audit record carries a chain tag, HMAC-SHA-256 under a key that
//! evolves one way after each record. The vault keeps only the current key
//! (sealed under the audit master, so every account can go on appending).
//! The first key used to be sealed beside it, so any account could
//! recompute every tag and rewrite the whole log. Now it is handed to the
//! admin at setup, like the verifier key, and is not stored: an account
//! that unlocks the vault today holds a key from which no earlier key
//! follows, and the admin's copy checks every tag
//! ([`Unlocked::verify_audit_with_chain_key`]). A vault from before keeps
//! its first key until an admin takes it out
//! ([`Unlocked::hand_out_audit_chain_key`], audited).

use crate::{verify_with, Unlocked, Vault, VaultError};
use rusqlite::{params, OptionalExtension};
use tacet_audit::ChainKey;
use tacet_core::ports::{AuditVerification, StoreError};
use tacet_core::{AuditAction, AuditEvent, Role};
use tacet_crypto::Aad;

const META: &str = "audit_chain_key0";
const PREFIX: &str = "tacet-audit-chain-key-1:";

pub(crate) const CHECKED_KEPT: &str = "every chain tag checked with the first chain key this vault still keeps (an admin can take it out: tacet audit chain-key)";
pub(crate) const CHECKED_GIVEN: &str = "every chain tag checked with the admin's chain key";
pub(crate) const NOT_CHECKED_HANDED_OUT: &str = "chain tags not checked: the first chain key is kept outside the vault (give it to the verification to check them: the admin screen's field, or tacet audit verify --chain-key-stdin)";
pub(crate) const NOT_CHECKED_PUBLIC: &str =
    "chain tags not checked (a check with the public key alone)";

/// The audit chain's first key, as the admin keeps it: text of the form
/// `tacet-audit-chain-key-1:<64 hex digits>`. Zeroized on drop; `Debug`
/// never shows it.
pub struct AuditChainKey(ChainKey);

impl std::fmt::Debug for AuditChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditChainKey(<secret>)")
    }
}

impl AuditChainKey {
    pub(crate) fn new(k: ChainKey) -> Self {
        Self(k)
    }

    /// Reads the text an admin kept (surrounding space ignored).
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let bad = || {
            VaultError::BadSetting(format!(
                "that is not an audit chain key (it reads {PREFIX} and 64 hex digits)"
            ))
        };
        let hex_part = text.trim().strip_prefix(PREFIX).ok_or_else(bad)?;
        let mut k = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut k).map_err(|_| bad())?;
        let key = ChainKey(k);
        zeroize::Zeroize::zeroize(&mut k);
        Ok(Self(key))
    }

    /// The text to give the admin, once. Named so that every place that
    /// shows the secret is easy to find.
    pub fn danger_reveal(&self) -> String {
        format!("{PREFIX}{}", hex::encode(self.0 .0))
    }
}

impl Vault {
    /// The audit chain's first key of a vault this value just created, for
    /// the admin to keep outside this computer; `None` after the first call,
    /// and for a vault that was opened (the key is not stored).
    pub fn take_audit_chain_key(&mut self) -> Option<AuditChainKey> {
        self.chain_key_to_hand_out.take()
    }
}

impl Unlocked<'_> {
    /// The first chain key a vault from before the hand-out still keeps.
    pub(crate) fn kept_chain_key(&self) -> Result<Option<ChainKey>, VaultError> {
        let sealed: Option<Vec<u8>> = self
            .vault
            .conn
            .query_row("SELECT v FROM meta WHERE k = ?1", params![META], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let k0 = tacet_crypto::open(&self.audit_master, &Aad::new("audit-chain-key0"), &sealed)?;
        let k0: [u8; 32] = k0
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Corrupt("the audit chain key is malformed".into()))?;
        Ok(Some(ChainKey(k0)))
    }

    /// Verifies the audit log, every chain tag included, with the chain key
    /// the admin kept, and records that it did (`audit.verified`). A wrong
    /// key shows as a chain problem at the first record.
    pub fn verify_audit_with_chain_key(
        &mut self,
        external: &[String],
        key: &AuditChainKey,
    ) -> Result<AuditVerification, VaultError> {
        let v = verify_with(
            &self.vault.conn,
            external,
            Some(&key.0),
            CHECKED_GIVEN.to_string(),
        )?;
        self.record_verification(&v)?;
        Ok(v)
    }

    /// Takes the first chain key out of a vault from before it was handed
    /// out at setup: returned for the admin to keep outside this computer,
    /// deleted from the vault (its page overwritten, the WAL truncated) and
    /// audited. Admins only; refused where the vault no longer keeps it.
    pub fn hand_out_audit_chain_key(&mut self) -> Result<AuditChainKey, VaultError> {
        if self.actor.role != Role::Admin {
            return Err(StoreError::Denied(
                "only an admin can take the audit chain key out of the vault".into(),
            )
            .into());
        }
        let Some(k0) = self.kept_chain_key()? else {
            return Err(StoreError::Denied(
                "this vault does not keep its audit chain key: it was handed to the admin when the vault was created (or taken out before)".into(),
            )
            .into());
        };
        // Check it is the chain's key before it leaves: the log verifies.
        let check = verify_with(&self.vault.conn, &[], Some(&k0), String::new())?;
        if !check.is_ok() {
            return Err(StoreError::Integrity(format!(
                "the audit log does not verify ({} problem(s)); investigate before taking the chain key out",
                check.problems.len()
            ))
            .into());
        }
        let ev = AuditEvent::new(AuditAction::AuditChainKeyHandedOut, self.actor.clone());
        self.write(|tx, s| {
            tx.execute("DELETE FROM meta WHERE k = ?1", params![META])?;
            s.append_audit(tx, ev)
        })?;
        self.checkpoint_wal()?;
        Ok(AuditChainKey(k0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_key_reads_back_from_its_text_and_never_prints() {
        let k = AuditChainKey::new(ChainKey([0xab; 32]));
        let text = k.danger_reveal();
        assert!(text.starts_with(PREFIX) && text.len() == PREFIX.len() + 64);
        let back = AuditChainKey::parse(&format!("  {text}\n")).unwrap();
        assert_eq!(back.0 .0, [0xab; 32]);
        assert!(!format!("{k:?}").contains("ab"));
    }

    #[test]
    fn fail_text_that_is_not_a_chain_key() {
        for bad in [
            "",
            "ab".repeat(32).as_str(),
            &format!("{PREFIX}{}", "ab".repeat(31)),
            &format!("{PREFIX}{}", "zz".repeat(32)),
            &format!("tacet-audit-chain-key-2:{}", "ab".repeat(32)),
        ] {
            assert!(AuditChainKey::parse(bad).is_err(), "{bad}");
        }
    }
}
