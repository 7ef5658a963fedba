//! Tacet's cryptography behind a narrow interface: bytes in, bytes out.
//!
//! * [`Key256`] and [`Passphrase`] are the only secret types. They zeroize on
//!   drop, never print (their `Debug` says `<redacted>`), and give up their
//!   bytes only through methods named `danger_…`, so a reviewer can grep for
//!   every place a secret leaves its box.
//! * [`seal`]/[`open`] are AES-256-GCM with associated data built by [`Aad`],
//!   a canonical length-prefixed encoding of named fields (table, row, column,
//!   chunk index, key id…). A ciphertext moved to another row, column or
//!   session fails to open.
//! * Nonces are never chosen by callers and never derived from state on
//!   disk: a [`NonceSequence`] hands out fresh random 96-bit nonces from the
//!   operating system's generator, and counts them per key so that one key
//!   seals at most [`NONCE_LIMIT`] (2^31) messages, under the 2^32 bound NIST
//!   SP 800-38D sets for random GCM nonces (a collision chance below 2^-33
//!   even at the limit). The count is persisted beside the ciphertext only
//!   as that usage bound: resetting it, or restoring an old copy of the
//!   vault, cannot make a nonce repeat (issue 22: a counter-derived nonce
//!   did, and a known JSON prefix then revealed what had been sealed
//!   earlier under the same nonce).
//! * [`derive_key`] is Argon2id with parameters stored beside the record,
//!   never below OWASP's floor (m = 19 MiB, t = 2).

mod locked;

pub use locked::key_pages_locked;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce as GcmNonce};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Largest counter a [`NonceSequence`] will issue (exclusive).
pub const NONCE_LIMIT: u64 = 1 << 31;
/// Format version byte in front of every sealed blob.
const SEALED_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes a sealed blob adds to its plaintext.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("decryption failed: the data was altered, moved, or the key is wrong")]
    Open,
    #[error("sealed data is malformed (too short or unknown version)")]
    Malformed,
    #[error("this key has issued its last nonce; rotate the key")]
    NonceExhausted,
    #[error("key derivation parameters are below the safe floor (m ≥ 19456 KiB, t ≥ 2, p ≥ 1)")]
    WeakKdf,
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("encryption failed")]
    Seal,
}

/// Fills a fresh array from the operating system's generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|_| CryptoError::Random)?;
    Ok(b)
}

/// A 256-bit secret key. Zeroized on drop; never printed; kept in a
/// locked page of its own, out of swap and core dumps (`locked.rs`).
#[derive(Clone)]
pub struct Key256(locked::KeyCell);

impl Key256 {
    pub fn generate() -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(random_bytes::<32>()?);
        Ok(Self(locked::KeyCell::new(&bytes)))
    }

    /// Wraps existing key bytes (the caller's copy should be zeroized).
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let k = Self(locked::KeyCell::new(&bytes));
        bytes.zeroize();
        k
    }

    /// The raw key. Named so every use stands out in review.
    pub fn danger_expose(&self) -> &[u8; 32] {
        self.0.get()
    }
}

impl fmt::Debug for Key256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key256(<redacted>)")
    }
}

/// A passphrase typed by a user. Zeroized on drop; never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }
    pub fn danger_expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Argon2id parameters, stored in clear beside what they protect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt: [u8; 16],
}

impl KdfParams {
    /// OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
    pub const FLOOR_M_KIB: u32 = 19 * 1024;
    pub const FLOOR_T: u32 = 2;

    /// The floor with a fresh salt (fast; for tests and low-end machines).
    pub fn floor() -> Result<Self, CryptoError> {
        Ok(Self {
            m_cost_kib: Self::FLOOR_M_KIB,
            t_cost: Self::FLOOR_T,
            p_cost: 1,
            salt: random_bytes()?,
        })
    }

    /// Parameters that take about `target_ms` on this machine: 64 MiB of
    /// memory, and passes added until the target is met (at least the floor).
    pub fn calibrate(target_ms: u64) -> Result<Self, CryptoError> {
        let mut p = Self {
            m_cost_kib: 64 * 1024,
            t_cost: Self::FLOOR_T,
            p_cost: 1,
            salt: random_bytes()?,
        };
        let probe = Passphrase::new("calibration".into());
        let start = std::time::Instant::now();
        derive_key(&probe, &p)?;
        let per_pass_ms = (start.elapsed().as_millis() as u64 / u64::from(p.t_cost)).max(1);
        p.t_cost = ((target_ms / per_pass_ms) as u32).clamp(Self::FLOOR_T, 20);
        Ok(p)
    }

    pub fn check_floor(&self) -> Result<(), CryptoError> {
        if self.m_cost_kib < Self::FLOOR_M_KIB || self.t_cost < Self::FLOOR_T || self.p_cost < 1 {
            return Err(CryptoError::WeakKdf);
        }
        Ok(())
    }
}

/// Argon2id(passphrase, params) → a 256-bit key-encryption key.
pub fn derive_key(pass: &Passphrase, params: &KdfParams) -> Result<Key256, CryptoError> {
    params.check_floor()?;
    let p = argon2::Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; 32]);
    a.hash_password_into(pass.danger_expose().as_bytes(), &params.salt, out.as_mut())
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    Ok(Key256(locked::KeyCell::new(&out)))
}

/// A passphrase held only as a key derived from it, to check a re-entry
/// against (a clinician attesting re-enters theirs) without keeping the
/// passphrase or touching the vault: Argon2id at the floor with a fresh
/// salt, compared in constant time.
pub struct PassphraseCheck {
    params: KdfParams,
    key: Key256,
}

impl std::fmt::Debug for PassphraseCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassphraseCheck(..)")
    }
}

impl PassphraseCheck {
    pub fn new(pass: &Passphrase) -> Result<Self, CryptoError> {
        let params = KdfParams::floor()?;
        let key = derive_key(pass, &params)?;
        Ok(Self { params, key })
    }

    /// Whether `pass` is the passphrase this check was made from.
    pub fn matches(&self, pass: &Passphrase) -> bool {
        use subtle::ConstantTimeEq;
        match derive_key(pass, &self.params) {
            Ok(k) => bool::from(k.danger_expose().ct_eq(self.key.danger_expose())),
            Err(_) => false,
        }
    }
}

/// A 96-bit nonce, obtainable only from a [`NonceSequence`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nonce([u8; NONCE_LEN]);

/// Issues random nonces for one key and counts them. The count is the
/// caller's to persist ([`Self::next_counter`]) and to resume
/// ([`Self::resume`]); it bounds how many messages one key seals and plays
/// no part in the nonces themselves.
#[derive(Debug)]
pub struct NonceSequence {
    next: u64,
}

impl NonceSequence {
    pub fn new() -> Self {
        Self { next: 0 }
    }

    pub fn resume(next_counter: u64) -> Result<Self, CryptoError> {
        if next_counter >= NONCE_LIMIT {
            return Err(CryptoError::NonceExhausted);
        }
        Ok(Self { next: next_counter })
    }

    pub fn next_nonce(&mut self) -> Result<Nonce, CryptoError> {
        if self.next >= NONCE_LIMIT {
            return Err(CryptoError::NonceExhausted);
        }
        let n = random_bytes::<NONCE_LEN>()?;
        self.next += 1;
        Ok(Nonce(n))
    }

    /// The counter to store so that a later [`Self::resume`] continues safely.
    pub fn next_counter(&self) -> u64 {
        self.next
    }
}

impl Default for NonceSequence {
    fn default() -> Self {
        Self::new()
    }
}

/// Associated data: a domain and named fields, canonically encoded
/// (u16 length ‖ name ‖ u32 length ‖ value for each), so no two different
/// field lists share an encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aad(Vec<u8>);

impl Aad {
    pub fn new(domain: &str) -> Self {
        let mut a = Self(Vec::with_capacity(96));
        a.push_field("domain", domain.as_bytes());
        a
    }

    pub fn field(mut self, name: &str, value: &[u8]) -> Self {
        self.push_field(name, value);
        self
    }

    pub fn u64(self, name: &str, value: u64) -> Self {
        self.field(name, &value.to_be_bytes())
    }

    fn push_field(&mut self, name: &str, value: &[u8]) {
        self.0.extend_from_slice(&(name.len() as u16).to_be_bytes());
        self.0.extend_from_slice(name.as_bytes());
        self.0
            .extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.0.extend_from_slice(value);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// AES-256-GCM: version ‖ nonce ‖ ciphertext ‖ tag.
pub fn seal(
    key: &Key256,
    nonce: Nonce,
    aad: &Aad,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new_from_slice(key.danger_expose()).map_err(|_| CryptoError::Seal)?;
    let ct = cipher
        .encrypt(
            GcmNonce::from_slice(&nonce.0),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Seal)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(SEALED_VERSION);
    out.extend_from_slice(&nonce.0);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens what [`seal`] made under the same key and exactly the same AAD.
pub fn open(key: &Key256, aad: &Aad, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < SEAL_OVERHEAD || sealed[0] != SEALED_VERSION {
        return Err(CryptoError::Malformed);
    }
    let cipher = Aes256Gcm::new_from_slice(key.danger_expose()).map_err(|_| CryptoError::Open)?;
    let pt = cipher
        .decrypt(
            GcmNonce::from_slice(&sealed[1..1 + NONCE_LEN]),
            Payload {
                msg: &sealed[1 + NONCE_LEN..],
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Open)?;
    Ok(Zeroizing::new(pt))
}

/// Seals one key under another (key wrapping).
pub fn wrap_key(
    kek: &Key256,
    nonce: Nonce,
    aad: &Aad,
    key: &Key256,
) -> Result<Vec<u8>, CryptoError> {
    seal(kek, nonce, aad, key.danger_expose())
}

/// Opens a wrapped key.
pub fn unwrap_key(kek: &Key256, aad: &Aad, wrapped: &[u8]) -> Result<Key256, CryptoError> {
    let pt = open(kek, aad, wrapped)?;
    let arr: [u8; 32] = pt
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    Ok(Key256::from_bytes(arr))
}

/// SHA-256, re-exported so adapters hash with the same function.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> Key256 {
        Key256::from_bytes([9; 32])
    }

    #[test]
    fn fail_a_passphrase_check_refuses_any_other_passphrase() {
        let check = PassphraseCheck::new(&Passphrase::new("correct horse".into())).unwrap();
        assert!(check.matches(&Passphrase::new("correct horse".into())));
        assert!(!check.matches(&Passphrase::new("correct hors".into())));
        assert!(!check.matches(&Passphrase::new(String::new())));
        assert_eq!(format!("{check:?}"), "PassphraseCheck(..)");
    }

    #[test]
    fn seal_open_round_trip() {
        let mut seq = NonceSequence::new();
        let aad = Aad::new("t").field("row", b"1");
        let s = seal(&key(), seq.next_nonce().unwrap(), &aad, b"hello").unwrap();
        assert_eq!(open(&key(), &aad, &s).unwrap().as_slice(), b"hello");
        assert_eq!(s.len(), 5 + SEAL_OVERHEAD);
    }

    #[test]
    fn fail_open_with_other_aad() {
        let mut seq = NonceSequence::new();
        let s = seal(
            &key(),
            seq.next_nonce().unwrap(),
            &Aad::new("t").u64("row", 1),
            b"x",
        )
        .unwrap();
        assert_eq!(
            open(&key(), &Aad::new("t").u64("row", 2), &s),
            Err(CryptoError::Open)
        );
    }

    #[test]
    fn fail_open_with_other_key() {
        let mut seq = NonceSequence::new();
        let aad = Aad::new("t");
        let s = seal(&key(), seq.next_nonce().unwrap(), &aad, b"x").unwrap();
        assert_eq!(
            open(&Key256::from_bytes([8; 32]), &aad, &s),
            Err(CryptoError::Open)
        );
    }

    #[test]
    fn fail_open_truncated_or_unknown_version() {
        let aad = Aad::new("t");
        assert_eq!(open(&key(), &aad, &[1u8; 10]), Err(CryptoError::Malformed));
        let mut s = seal(
            &key(),
            NonceSequence::new().next_nonce().unwrap(),
            &aad,
            b"x",
        )
        .unwrap();
        s[0] = 2;
        assert_eq!(open(&key(), &aad, &s), Err(CryptoError::Malformed));
    }

    #[test]
    fn fail_nonce_sequence_past_its_limit() {
        let mut seq = NonceSequence::resume(NONCE_LIMIT - 1).unwrap();
        assert!(seq.next_nonce().is_ok());
        assert_eq!(seq.next_nonce(), Err(CryptoError::NonceExhausted));
        assert!(NonceSequence::resume(NONCE_LIMIT).is_err());
    }

    #[test]
    fn nonces_never_repeat_in_a_sequence() {
        let mut seq = NonceSequence::new();
        let a = seq.next_nonce().unwrap();
        let b = seq.next_nonce().unwrap();
        assert_ne!(a, b);
        assert_eq!(seq.next_counter(), 2);
    }

    /// Issue 22, item 3: the count a vault stores on disk can be reset or
    /// restored from a backup. A sequence resumed from the same count must
    /// still never give a nonce it gave before.
    #[test]
    fn fail_a_restored_count_does_not_repeat_a_nonce() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..64 {
            let mut seq = NonceSequence::resume(5).unwrap();
            for _ in 0..16 {
                assert!(seen.insert(seq.next_nonce().unwrap()), "a nonce repeated");
            }
        }
        assert_eq!(seen.len(), 64 * 16);
    }

    #[test]
    fn aad_fields_are_unambiguous() {
        assert_ne!(
            Aad::new("t").field("a", b"bc").as_bytes(),
            Aad::new("t").field("ab", b"c").as_bytes()
        );
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", key()), "Key256(<redacted>)");
        assert_eq!(
            format!("{:?}", Passphrase::new("hunter2".into())),
            "Passphrase(<redacted>)"
        );
    }

    #[test]
    fn wrap_unwrap_round_trip() {
        let inner = Key256::generate().unwrap();
        let aad = Aad::new("wrap");
        let w = wrap_key(
            &key(),
            NonceSequence::new().next_nonce().unwrap(),
            &aad,
            &inner,
        )
        .unwrap();
        assert_eq!(
            unwrap_key(&key(), &aad, &w).unwrap().danger_expose(),
            inner.danger_expose()
        );
    }

    #[test]
    fn derive_is_deterministic_and_passphrase_sensitive() {
        let p = KdfParams::floor().unwrap();
        let a = derive_key(&Passphrase::new("correct horse".into()), &p).unwrap();
        let b = derive_key(&Passphrase::new("correct horse".into()), &p).unwrap();
        let c = derive_key(&Passphrase::new("correct horsf".into()), &p).unwrap();
        assert_eq!(a.danger_expose(), b.danger_expose());
        assert_ne!(a.danger_expose(), c.danger_expose());
    }

    #[test]
    fn fail_kdf_below_floor() {
        let mut p = KdfParams::floor().unwrap();
        p.t_cost = 1;
        assert_eq!(
            derive_key(&Passphrase::new("x".into()), &p).unwrap_err(),
            CryptoError::WeakKdf
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn prop_round_trip(pt in proptest::collection::vec(any::<u8>(), 0..2048), row in any::<u64>()) {
            let aad = Aad::new("p").u64("row", row);
            let s = seal(&key(), NonceSequence::resume(row % NONCE_LIMIT).unwrap().next_nonce().unwrap(), &aad, &pt).unwrap();
            let opened = open(&key(), &aad, &s).unwrap();
            prop_assert_eq!(opened.as_slice(), pt.as_slice());
        }

        #[test]
        fn prop_any_flipped_bit_fails(pt in proptest::collection::vec(any::<u8>(), 1..256), bit in any::<usize>()) {
            let aad = Aad::new("p");
            let mut s = seal(&key(), NonceSequence::new().next_nonce().unwrap(), &aad, &pt).unwrap();
            let i = bit % (s.len() * 8);
            s[i / 8] ^= 1 << (i % 8);
            prop_assert!(open(&key(), &aad, &s).is_err());
        }

        #[test]
        fn prop_aad_misuse_fails(pt in proptest::collection::vec(any::<u8>(), 0..64), a in any::<u64>(), b in any::<u64>()) {
            prop_assume!(a != b);
            let s = seal(&key(), NonceSequence::new().next_nonce().unwrap(), &Aad::new("p").u64("row", a), &pt).unwrap();
            prop_assert!(open(&key(), &Aad::new("p").u64("row", b), &s).is_err());
        }
    }
}
