//! The clinician roster, authenticated (issue 22, item 1).
//!
//! Rotation wraps a new data master to every clinician's public key, and
//! the public keys and roles are plain columns of `users`: anyone who can
//! write the database file (an admin, with no clinician passphrase) could
//! add a row with their own key, or turn their own row into a clinician's,
//! and receive the data master at the next rotation. So every clinician row
//! carries a tag, HMAC-SHA-256 over its name, role and public key, under a
//! key derived (HKDF-SHA-256) from the data master — a key only the
//! clinicians hold. Rotation wraps only to rows whose tag verifies under
//! the old master and tags them again under the new one; a row that fails
//! gets nothing and is audited (`user.roster_refused`, denied).
//!
//! A vault from before the tags (schema 2) is sealed at the first clinician
//! unlock after the upgrade: the rows present then are tagged and the count
//! audited (`user.roster_sealed`). A row forged before that moment is
//! trusted, as it was before; one forged after it is not.

use crate::mac_key::MacKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tacet_core::Role;
use tacet_crypto::{Aad, CryptoError, Key256};

const INFO: &[u8] = b"tacet/v3/roster-key";

/// The roster's MAC key, derived from one data master.
pub(crate) struct RosterKey(MacKey);

impl RosterKey {
    pub fn derive(data_master: &Key256) -> Result<Self, CryptoError> {
        Ok(Self(MacKey::derive(data_master, INFO)?))
    }

    fn mac(&self, name: &str, role: Role, public: &[u8]) -> Result<Hmac<Sha256>, CryptoError> {
        self.0.mac(
            &Aad::new("roster-row")
                .field("name", name.as_bytes())
                .field("role", role.as_str().as_bytes())
                .field("x25519_public", public),
        )
    }

    /// The tag stored beside a roster row.
    pub fn tag(&self, name: &str, role: Role, public: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self
            .mac(name, role, public)?
            .finalize()
            .into_bytes()
            .to_vec())
    }

    /// Whether `tag` is this row's (constant time). A missing tag fails.
    pub fn verifies(&self, name: &str, role: Role, public: &[u8], tag: Option<&[u8]>) -> bool {
        match (tag, self.mac(name, role, public)) {
            (Some(t), Ok(m)) => m.verify_slice(t).is_ok(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_verifies_its_own_row_only() {
        let m = Key256::generate().unwrap();
        let k = RosterKey::derive(&m).unwrap();
        let t = k.tag("drlee", Role::Clinician, &[7; 32]).unwrap();
        assert!(k.verifies("drlee", Role::Clinician, &[7; 32], Some(&t)));
        assert!(!k.verifies("drkim", Role::Clinician, &[7; 32], Some(&t)));
        assert!(!k.verifies("drlee", Role::Admin, &[7; 32], Some(&t)));
        assert!(!k.verifies("drlee", Role::Clinician, &[8; 32], Some(&t)));
        assert!(!k.verifies("drlee", Role::Clinician, &[7; 32], None));
        assert!(!k.verifies("drlee", Role::Clinician, &[7; 32], Some(&t[..31])));
    }

    #[test]
    fn fail_a_tag_under_another_master() {
        let t = RosterKey::derive(&Key256::generate().unwrap())
            .unwrap()
            .tag("drlee", Role::Clinician, &[7; 32])
            .unwrap();
        let other = RosterKey::derive(&Key256::generate().unwrap()).unwrap();
        assert!(!other.verifies("drlee", Role::Clinician, &[7; 32], Some(&t)));
    }
}
