//! The forward-secure HMAC chain.
//!
//! Each record `i` carries a tag
//! `t_i = HMAC-SHA256(k_i, t_{i-1} ‖ bytes_i)` (with `t_{-1}` = 32 zero
//! bytes), and after writing it the writer replaces its key with
//! `k_{i+1} = HMAC-SHA256(k_i, "tacet-audit-chain-evolve")` and forgets
//! `k_i`. The vault keeps two keys, both sealed under the master key: the
//! *current* key (replaced after every record) and the *initial* key `k_0`,
//! from which a verifier walks forward and recomputes every tag.
//!
//! What this buys, honestly stated:
//!
//! * An attacker who edits the database without any key cannot produce a
//!   valid tag for a changed, inserted or reordered record; the verifier
//!   reports the first record whose tag fails (and, because each tag is
//!   checked against the *stored* previous tag, every other altered record
//!   separately, without a cascade of false alarms).
//! * Forward security: an attacker who steals the running key `k_i` (for
//!   example from a compromised process after record `i-1`) learns nothing
//!   about `k_0 … k_{i-1}`, because HMAC cannot be run backwards. They can
//!   forge records from position `i` on, but cannot rewrite records before
//!   `i` without the forgery being detected.
//!
//! And its limits:
//!
//! * Whoever holds `k_0` (the vault, under the master key) can recompute and
//!   therefore forge the whole chain. The chain protects against tampering
//!   by someone without the master key, not against the key holder; signed
//!   checkpoints copied off the machine cover that case.
//! * Deleting records from the *end* of the log leaves a valid chain. Only a
//!   checkpoint (or a record count) kept elsewhere shows the truncation.
//! * Restoring an older copy of the whole database restores an older,
//!   consistent chain and key; again only an external checkpoint detects it.
//! * Erasing the old key is best effort: the vault must overwrite the sealed
//!   current key in place, and the storage may keep old copies (journals,
//!   SSD wear levelling). In memory, [`ChainKey`] is zeroized on drop.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

type HmacSha256 = Hmac<Sha256>;

/// The label mixed into key evolution.
pub const EVOLVE_LABEL: &[u8] = b"tacet-audit-chain-evolve";

/// The tag that precedes the first record.
pub const GENESIS_TAG: [u8; 32] = [0u8; 32];

/// A chain key. Zeroized on drop; `Debug` never shows its bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ChainKey(pub [u8; 32]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(<secret>)")
    }
}

fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; a 32-byte key cannot fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC-SHA256 accepts every key length")
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl ChainKey {
    /// The next key: HMAC-SHA256(k, "tacet-audit-chain-evolve").
    pub fn evolve(&self) -> ChainKey {
        ChainKey(hmac(&self.0, &[EVOLVE_LABEL]))
    }
}

/// The tag of a record: HMAC-SHA256(k, prev_tag ‖ record_bytes).
pub fn chain_tag(key: &ChainKey, prev_tag: &[u8; 32], record_bytes: &[u8]) -> [u8; 32] {
    hmac(&key.0, &[prev_tag, record_bytes])
}

/// Constant-time comparison of two tags.
pub(crate) fn tags_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evolve_matches_hmac_definition() {
        let k = ChainKey([9; 32]);
        let mut mac = HmacSha256::new_from_slice(&[9; 32]).unwrap();
        mac.update(b"tacet-audit-chain-evolve");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(k.evolve().0, expected);
        assert_ne!(k.evolve().0, k.0);
        assert_ne!(k.evolve().evolve().0, k.evolve().0);
    }

    /// RFC 4231 test case 2 (key "Jefe"), to pin the HMAC construction.
    #[test]
    fn hmac_known_answer() {
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tag_binds_prev_tag_and_bytes() {
        let k = ChainKey([1; 32]);
        let t = chain_tag(&k, &GENESIS_TAG, b"abc");
        assert_ne!(t, chain_tag(&k, &[1; 32], b"abc"));
        assert_ne!(t, chain_tag(&k, &GENESIS_TAG, b"abd"));
        assert_ne!(t, chain_tag(&k.evolve(), &GENESIS_TAG, b"abc"));
        assert!(tags_equal(&t, &t));
        assert!(!tags_equal(&t, &GENESIS_TAG));
    }

    #[test]
    fn debug_hides_key() {
        assert_eq!(format!("{:?}", ChainKey([0xaa; 32])), "ChainKey(<secret>)");
    }
}
