//! The models the engines may load (issue 22, item 8).
//!
//! The models folder's index (`installed.toml`) is a plain file that anyone
//! who can write the data folder can edit: point a role at another file,
//! with its hash, and the engines would load it. So the list that counts is
//! kept here: the SHA-256 of every model an admin imported through Tacet,
//! each entry tagged with HMAC-SHA-256 under a key derived (HKDF-SHA-256)
//! from the audit master, which only an unlocked account holds. The
//! manifest compiled into the binary approves its own models; anything else
//! loads only when its entry here verifies. An entry is written in the same
//! transaction as the import's audit record, and withdrawn with the
//! removal's.

use crate::mac_key::MacKey;
use crate::{Unlocked, VaultError};
use hmac::{Hmac, Mac};
use rusqlite::params;
use sha2::Sha256;
use tacet_core::ports::StoreError;
use tacet_core::{AuditEvent, Outcome, Role};
use tacet_crypto::{Aad, CryptoError, Key256};

const INFO: &[u8] = b"tacet/v3/model-approval-key";
const META_PREFIX: &str = "model-approved:";

struct ApprovalKey(MacKey);

impl ApprovalKey {
    fn derive(audit_master: &Key256) -> Result<Self, CryptoError> {
        Ok(Self(MacKey::derive(audit_master, INFO)?))
    }

    fn mac(&self, sha256: &[u8; 32]) -> Result<Hmac<Sha256>, CryptoError> {
        self.0
            .mac(&Aad::new("model-approval").field("sha256", sha256))
    }
}

fn meta_key(sha256: &[u8; 32]) -> String {
    format!("{META_PREFIX}{}", hex::encode(sha256))
}

impl Unlocked<'_> {
    /// Records `ev` and, in the same transaction, adds the model with this
    /// SHA-256 to the approved list (`approved`) or withdraws it. Admins
    /// only; a refusal is audited as denied.
    pub fn set_model_approval(
        &mut self,
        ev: AuditEvent,
        sha256: [u8; 32],
        approved: bool,
    ) -> Result<u64, VaultError> {
        if self.actor.role != Role::Admin {
            let denied = ev.outcome(Outcome::Denied);
            self.write(|tx, s| s.append_audit(tx, denied))?;
            return Err(
                StoreError::Denied("only an admin can approve or remove models".into()).into(),
            );
        }
        let tag = ApprovalKey::derive(&self.audit_master)?
            .mac(&sha256)?
            .finalize()
            .into_bytes()
            .to_vec();
        self.write(|tx, s| {
            let seq = s.append_audit(tx, ev)?;
            if approved {
                tx.execute(
                    "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
                    params![meta_key(&sha256), tag],
                )?;
            } else {
                tx.execute("DELETE FROM meta WHERE k = ?1", params![meta_key(&sha256)])?;
            }
            Ok(seq)
        })
    }

    /// Whether an admin approved the model with this SHA-256 through Tacet:
    /// its entry exists and its tag verifies (a row written into the file
    /// by hand does not).
    pub fn model_approved(&self, sha256: &[u8; 32]) -> Result<bool, VaultError> {
        let tag: Option<Vec<u8>> = match self.vault.conn.query_row(
            "SELECT v FROM meta WHERE k = ?1",
            params![meta_key(sha256)],
            |r| r.get(0),
        ) {
            Ok(v) => Some(v),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(tag) = tag else {
            return Ok(false);
        };
        let mac = ApprovalKey::derive(&self.audit_master)?.mac(sha256)?;
        Ok(mac.verify_slice(&tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_bound_to_its_hash_and_key() {
        let k = ApprovalKey::derive(&Key256::generate().unwrap()).unwrap();
        let t = k.mac(&[1; 32]).unwrap().finalize().into_bytes();
        assert!(k.mac(&[1; 32]).unwrap().verify_slice(&t).is_ok());
        assert!(k.mac(&[2; 32]).unwrap().verify_slice(&t).is_err());
        let other = ApprovalKey::derive(&Key256::generate().unwrap()).unwrap();
        assert!(other.mac(&[1; 32]).unwrap().verify_slice(&t).is_err());
    }
}
