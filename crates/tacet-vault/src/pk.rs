//! Wrapping the data master to a clinician's X25519 public key.
//!
//! Rotation must re-wrap a fresh data master for *every* clinician, but the
//! vault never holds another clinician's passphrase. So each clinician has a
//! static X25519 key pair: the public half is stored in clear, the secret
//! half sealed (AES-256-GCM) under the clinician's passphrase-derived key.
//! The data master is wrapped to each public key with an ephemeral-static
//! ECDH (a fresh ephemeral secret per wrap), HKDF-SHA-256 over the shared
//! secret and both public keys, and AES-256-GCM with AAD binding the user
//! name and the data master's id:
//!
//! ```text
//! blob = ephemeral_public (32) ‖ seal(HKDF(ECDH(e, P_user), e_pub ‖ P_user), nonce 0, aad(user, master_id), data_master)
//! ```
//! Nonce 0 is safe because every wrap derives a new single-use key from a
//! new ephemeral secret. Anyone who holds the data master can wrap it for
//! everyone; only the clinician (through their passphrase) can unwrap it.

use hkdf::Hkdf;
use sha2::Sha256;
use tacet_crypto::{Aad, CryptoError, Key256, NonceSequence};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

const INFO: &[u8] = b"tacet/v2/data-master-wrap";
const EPH_LEN: usize = 32;

/// A clinician's static key pair; the secret half zeroizes on drop.
pub(crate) struct KeyPair {
    pub secret: StaticSecret,
    pub public: [u8; 32],
}

impl KeyPair {
    pub fn generate() -> Result<Self, CryptoError> {
        let secret = StaticSecret::from(tacet_crypto::random_bytes::<32>()?);
        let public = PublicKey::from(&secret).to_bytes();
        Ok(Self { secret, public })
    }

    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.try_into().map_err(|_| CryptoError::Malformed)?);
        let secret = StaticSecret::from(*arr);
        let public = PublicKey::from(&secret).to_bytes();
        Ok(Self { secret, public })
    }
}

fn wrap_aad(user: &str, master_id: &[u8]) -> Aad {
    Aad::new("data-master-pk")
        .field("user", user.as_bytes())
        .field("master_id", master_id)
}

/// What a session key wrapped to its owner is bound to: the owner's name,
/// the session and the key id. Renaming the owner in the database, or
/// moving the blob to another session, makes it fail to open.
pub(crate) fn session_wrap_aad(owner: &str, session: &[u8], key_id: &[u8]) -> Aad {
    Aad::new("session-key-pk")
        .field("owner", owner.as_bytes())
        .field("session", session)
        .field("key_id", key_id)
}

fn kek(shared: &[u8; 32], eph_pub: &[u8; 32], recipient: &[u8; 32]) -> Result<Key256, CryptoError> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(eph_pub);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(INFO, okm.as_mut())
        .map_err(|_| CryptoError::Seal)?;
    Ok(Key256::from_bytes(*okm))
}

/// Wraps `master` so that only the holder of `recipient`'s secret opens it.
pub(crate) fn wrap_to(
    recipient: &[u8; 32],
    user: &str,
    master_id: &[u8],
    master: &Key256,
) -> Result<Vec<u8>, CryptoError> {
    wrap_to_aad(recipient, &wrap_aad(user, master_id), master)
}

/// Opens what [`wrap_to`] made for this key pair.
pub(crate) fn unwrap_with(
    pair: &KeyPair,
    user: &str,
    master_id: &[u8],
    blob: &[u8],
) -> Result<Key256, CryptoError> {
    unwrap_with_aad(pair, &wrap_aad(user, master_id), blob)
}

/// Wraps `key` to `recipient` under associated data `aad`.
pub(crate) fn wrap_to_aad(
    recipient: &[u8; 32],
    aad: &Aad,
    master: &Key256,
) -> Result<Vec<u8>, CryptoError> {
    let eph = StaticSecret::from(tacet_crypto::random_bytes::<32>()?);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(CryptoError::Seal);
    }
    let k = kek(shared.as_bytes(), &eph_pub, recipient)?;
    let wrapped = tacet_crypto::wrap_key(&k, NonceSequence::new().next_nonce()?, aad, master)?;
    let mut out = Vec::with_capacity(EPH_LEN + wrapped.len());
    out.extend_from_slice(&eph_pub);
    out.extend_from_slice(&wrapped);
    Ok(out)
}

/// Opens what [`wrap_to_aad`] made for this key pair under `aad`.
pub(crate) fn unwrap_with_aad(
    pair: &KeyPair,
    aad: &Aad,
    blob: &[u8],
) -> Result<Key256, CryptoError> {
    if blob.len() < EPH_LEN + tacet_crypto::SEAL_OVERHEAD {
        return Err(CryptoError::Malformed);
    }
    let eph_pub: [u8; 32] = blob[..EPH_LEN]
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    let shared = pair.secret.diffie_hellman(&PublicKey::from(eph_pub));
    if !shared.was_contributory() {
        return Err(CryptoError::Open);
    }
    let k = kek(shared.as_bytes(), &eph_pub, &pair.public)?;
    tacet_crypto::unwrap_key(&k, aad, &blob[EPH_LEN..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_round_trip() {
        let pair = KeyPair::generate().unwrap();
        let m = Key256::generate().unwrap();
        let blob = wrap_to(&pair.public, "drlee", b"id1", &m).unwrap();
        assert_eq!(
            unwrap_with(&pair, "drlee", b"id1", &blob)
                .unwrap()
                .danger_expose(),
            m.danger_expose()
        );
        let again = KeyPair::from_secret_bytes(pair.secret.as_bytes()).unwrap();
        assert_eq!(again.public, pair.public);
    }

    #[test]
    fn fail_unwrap_for_other_user_master_or_pair() {
        let pair = KeyPair::generate().unwrap();
        let other = KeyPair::generate().unwrap();
        let m = Key256::generate().unwrap();
        let blob = wrap_to(&pair.public, "drlee", b"id1", &m).unwrap();
        assert!(unwrap_with(&pair, "drkim", b"id1", &blob).is_err());
        assert!(unwrap_with(&pair, "drlee", b"id2", &blob).is_err());
        assert!(unwrap_with(&other, "drlee", b"id1", &blob).is_err());
        assert!(unwrap_with(&pair, "drlee", b"id1", &blob[..40]).is_err());
    }
}
