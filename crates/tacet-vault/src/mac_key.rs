//! A MAC key for one purpose, derived (HKDF-SHA-256, the purpose as its
//! info) from a master key, and the HMAC-SHA-256 it keys. The roster's
//! tags, the model approvals and the sessions' records are each tagged
//! under one, so an editor of the database file who holds no master can
//! make none of them.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tacet_crypto::{Aad, CryptoError, Key256};
use zeroize::Zeroizing;

pub(crate) struct MacKey(Zeroizing<[u8; 32]>);

impl MacKey {
    /// The key for `purpose` under `master`.
    pub fn derive(master: &Key256, purpose: &[u8]) -> Result<Self, CryptoError> {
        let hk = Hkdf::<Sha256>::new(None, master.danger_expose());
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(purpose, okm.as_mut())
            .map_err(|_| CryptoError::Seal)?;
        Ok(Self(okm))
    }

    /// The HMAC over `data`, to finish or to verify against a stored tag.
    pub fn mac(&self, data: &Aad) -> Result<Hmac<Sha256>, CryptoError> {
        let mut m =
            Hmac::<Sha256>::new_from_slice(self.0.as_ref()).map_err(|_| CryptoError::Seal)?;
        m.update(data.as_bytes());
        Ok(m)
    }
}
