//! Signed checkpoints: the C2SP `tlog-checkpoint` body inside a C2SP
//! `signed-note`, signed with Ed25519.
//!
//! A checkpoint commits to the log's size and Merkle root:
//!
//! ```text
//! <origin>\n<size in decimal>\n<base64 root>\n
//! \n
//! — <key name> <base64(key hash ‖ Ed25519 signature)>\n
//! ```
//!
//! Using the standard format rather than an ad-hoc one means a checkpoint
//! that an admin copies off the machine can be checked with any signed-note
//! tool (e.g. Go's `golang.org/x/mod/sumdb/note`), and the key hash lets a
//! verifier tell keys apart without trying each one. The key hash is the
//! first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), 0x01 being the
//! signed-note algorithm byte for Ed25519.
//!
//! Parsing is strict: the note must be plain text without control
//! characters (other than `\n`), the body exactly three lines (this log
//! writes no extension lines, so any are refused), the size canonical
//! decimal, every base64 string canonical, and the named key's signature
//! must verify. Signature lines by *other* keys (e.g. a witness cosigning
//! the checkpoint) are allowed, as the signed-note spec requires, but must
//! be well formed.

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};

use crate::AuditError;

/// Signed-note algorithm identifier for Ed25519.
pub const ALG_ED25519: u8 = 0x01;
/// The key name [`SigningKey::generate`] gives a new key.
pub const DEFAULT_KEY_NAME: &str = "tacet-audit";
/// Notes larger than this are refused before parsing (a checkpoint is ~150 bytes).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// At most this many signature lines are examined (as the signed-note spec allows).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// The statement a checkpoint signs: the log `origin` had `size` records
/// with Merkle root `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log (e.g. `tacet.local/<vault id>`): non-empty, no control
    /// characters. A checkpoint with an invalid origin signs fine but
    /// [`open_checkpoint`] refuses it; [`Checkpoint::check_origin`] tells early.
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

impl Checkpoint {
    /// The checkpoint body, exactly as signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64_encode(&self.root)
        )
    }

    /// Whether the origin can appear in a note.
    pub fn check_origin(&self) -> Result<(), AuditError> {
        if self.origin.is_empty() {
            return Err(AuditError::BadOrigin("it is empty"));
        }
        if self.origin.chars().any(char::is_control) {
            return Err(AuditError::BadOrigin(
                "it contains a control character or line break",
            ));
        }
        Ok(())
    }
}

/// Checks a signed-note key name: non-empty, no spaces, no `+`, no control
/// characters.
fn check_key_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty() {
        return Err(AuditError::BadKeyName("it is empty"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(AuditError::BadKeyName(
            "it contains a space, a '+' or a control character",
        ));
    }
    Ok(())
}

/// An Ed25519 key that signs checkpoints. Its secret never prints: `Debug`
/// shows only the name and public key.
pub struct SigningKey {
    name: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("public", &hex::encode(self.pair.public_key().as_ref()))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key named [`DEFAULT_KEY_NAME`], and its PKCS#8 document
    /// (which contains the secret: the caller must store it sealed).
    pub fn generate() -> Result<(SigningKey, Vec<u8>), AuditError> {
        Self::generate_named(DEFAULT_KEY_NAME)
    }

    /// As [`SigningKey::generate`], with a chosen key name.
    pub fn generate_named(name: &str) -> Result<(SigningKey, Vec<u8>), AuditError> {
        check_key_name(name)?;
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| AuditError::KeyGeneration)?;
        let pkcs8 = doc.as_ref().to_vec();
        let key = Self::from_pkcs8(&pkcs8, name)?;
        Ok((key, pkcs8))
    }

    /// Loads a key from its PKCS#8 document under the given name.
    pub fn from_pkcs8(pkcs8: &[u8], name: &str) -> Result<SigningKey, AuditError> {
        check_key_name(name)?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| AuditError::BadPkcs8)?;
        Ok(SigningKey {
            name: name.to_string(),
            pair,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, for verifying.
    pub fn verifier(&self) -> VerifierKey {
        let mut public = [0u8; 32];
        public.copy_from_slice(self.pair.public_key().as_ref());
        VerifierKey {
            name: self.name.clone(),
            public,
        }
    }
}

/// A public checkpoint-verification key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub public: [u8; 32],
}

impl VerifierKey {
    /// The signed-note key hash: SHA-256(name ‖ "\n" ‖ 0x01 ‖ public)[..4].
    pub fn key_hash(&self) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update(b"\n");
        h.update([ALG_ED25519]);
        h.update(self.public);
        let d = h.finalize();
        [d[0], d[1], d[2], d[3]]
    }

    /// The signed-note verifier key text: `<name>+<hex key hash>+<base64(0x01 ‖ public)>`.
    pub fn to_vkey_string(&self) -> String {
        let mut alg_pub = Vec::with_capacity(33);
        alg_pub.push(ALG_ED25519);
        alg_pub.extend_from_slice(&self.public);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_hash()),
            b64_encode(&alg_pub)
        )
    }
}

/// Parses the text form of [`VerifierKey::to_vkey_string`], checking that
/// the key hash matches the name and key.
pub fn parse_vkey(s: &str) -> Result<VerifierKey, AuditError> {
    // The base64 key may itself contain '+': split at the first two only.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hash_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(AuditError::BadVerifierKey(
            "expected three '+'-separated parts: name, key hash, key",
        ));
    };
    check_key_name(name)
        .map_err(|_| AuditError::BadVerifierKey("the key name is empty or contains a space"))?;
    if hash_hex.len() != 8
        || !hash_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(AuditError::BadVerifierKey(
            "the key hash is not 8 lowercase hexadecimal digits",
        ));
    }
    let alg_pub = b64_decode(key_b64).ok_or(AuditError::BadVerifierKey(
        "the key is not canonical base64",
    ))?;
    let Some((&alg, public)) = alg_pub.split_first() else {
        return Err(AuditError::BadVerifierKey("the key is empty"));
    };
    if alg != ALG_ED25519 {
        return Err(AuditError::BadVerifierKey(
            "the key is not an Ed25519 key (algorithm byte is not 0x01)",
        ));
    }
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| AuditError::BadVerifierKey("an Ed25519 public key is 32 bytes"))?;
    let key = VerifierKey {
        name: name.to_string(),
        public,
    };
    if hex::encode(key.key_hash()) != hash_hex {
        return Err(AuditError::BadVerifierKey(
            "the key hash does not match the name and key",
        ));
    }
    Ok(key)
}

/// Signs a checkpoint, giving the complete signed note.
pub fn sign_checkpoint(cp: &Checkpoint, key: &SigningKey) -> String {
    sign_note(&cp.body(), key)
}

/// Signs any note text (which must end with a line break).
pub(crate) fn sign_note(body: &str, key: &SigningKey) -> String {
    let sig = key.pair.sign(body.as_bytes());
    let mut blob = Vec::with_capacity(4 + 64);
    blob.extend_from_slice(&key.verifier().key_hash());
    blob.extend_from_slice(sig.as_ref());
    format!("{body}\n{SIG_PREFIX}{} {}\n", key.name, b64_encode(&blob))
}

/// Parses a signed checkpoint and verifies `key`'s signature on it.
pub fn open_checkpoint(note: &str, key: &VerifierKey) -> Result<Checkpoint, AuditError> {
    use AuditError::MalformedCheckpoint as Bad;
    let body = open_note(note, key)?;
    // Body.
    let Some(body) = body.strip_suffix('\n') else {
        return Err(Bad("the checkpoint body does not end with a line break"));
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let [origin, size, root] = lines.as_slice() else {
        return Err(if lines.len() < 3 {
            Bad("the checkpoint body has fewer than three lines (origin, size, root)")
        } else {
            Bad("the checkpoint body has extra lines after origin, size and root")
        });
    };
    let cp = Checkpoint {
        origin: (*origin).to_string(),
        size: parse_size(size).ok_or(Bad("the tree size is not a canonical decimal number"))?,
        root: b64_decode(root)
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or(Bad("the root hash is not 32 bytes of canonical base64"))?,
    };
    cp.check_origin()?;
    Ok(cp)
}

/// Checks a signed note's framing and `key`'s signature; returns the
/// signed text (ending with its line break).
pub(crate) fn open_note<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, AuditError> {
    use AuditError::MalformedCheckpoint as Bad;
    if note.len() > MAX_NOTE_BYTES {
        return Err(Bad("the note is larger than any checkpoint"));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Bad(
            "the note contains a control character other than a line break",
        ));
    }
    let Some(split) = note.find("\n\n") else {
        return Err(Bad(
            "no blank line separates the checkpoint from its signatures",
        ));
    };
    let body = &note[..=split];
    let sig_block = &note[split + 2..];
    let Some(sig_block) = sig_block.strip_suffix('\n') else {
        return Err(Bad(
            "the signature block is missing or does not end with a line break",
        ));
    };
    if sig_block.is_empty() {
        return Err(Bad("the note carries no signature"));
    }

    let expected_hash = key.key_hash();
    let mut ours = Vec::new();
    let mut name_matched = false;
    for (i, line) in sig_block.split('\n').enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(Bad("the note carries too many signatures"));
        }
        let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
            return Err(Bad(
                "a signature line does not start with an em dash and a space",
            ));
        };
        let Some((name, blob_b64)) = rest.split_once(' ') else {
            return Err(Bad(
                "a signature line has no space between key name and signature",
            ));
        };
        check_key_name(name).map_err(|_| Bad("a signature line has an invalid key name"))?;
        let blob = b64_decode(blob_b64).ok_or(Bad("a signature is not canonical base64"))?;
        if blob.len() < 5 {
            return Err(Bad("a signature is shorter than a key hash and one byte"));
        }
        if name == key.name {
            name_matched = true;
            if blob[..4] == expected_hash {
                ours.push(blob);
            }
        }
    }
    if ours.is_empty() {
        return Err(if name_matched {
            AuditError::KeyHashMismatch {
                name: key.name.clone(),
            }
        } else {
            AuditError::NoSignatureByKey {
                name: key.name.clone(),
            }
        });
    }
    let verifier = UnparsedPublicKey::new(&ED25519, key.public);
    for blob in &ours {
        if blob.len() != 4 + 64 || verifier.verify(body.as_bytes(), &blob[4..]).is_err() {
            return Err(AuditError::BadSignature {
                name: key.name.clone(),
            });
        }
    }
    Ok(body)
}

pub(crate) fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64::encode_string(bytes)
}

/// Strict standard base64 (with padding): `None` unless `s` is exactly the
/// encoding this crate would produce for the decoded bytes.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    let bytes = base64ct::Base64::decode_vec(s).ok()?;
    (b64_encode(&bytes) == s).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::generate_named("tacet.test/log").unwrap().0
    }

    fn cp() -> Checkpoint {
        Checkpoint {
            origin: "tacet.test/log".into(),
            size: 1234,
            root: [7; 32],
        }
    }

    #[test]
    fn sign_then_open_round_trips() {
        let k = key();
        let note = sign_checkpoint(&cp(), &k);
        assert!(note.starts_with("tacet.test/log\n1234\nBwcH"));
        assert!(note.contains("\n\n\u{2014} tacet.test/log "));
        assert_eq!(open_checkpoint(&note, &k.verifier()), Ok(cp()));
    }

    #[test]
    fn pkcs8_reload_gives_same_key() {
        let (k, pkcs8) = SigningKey::generate().unwrap();
        let k2 = SigningKey::from_pkcs8(&pkcs8, DEFAULT_KEY_NAME).unwrap();
        assert_eq!(k.verifier(), k2.verifier());
        let note = sign_checkpoint(&cp(), &k2);
        assert!(open_checkpoint(&note, &k.verifier()).is_ok());
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let (k, pkcs8) = SigningKey::generate().unwrap();
        let dbg = format!("{k:?}");
        // The seed is the 32 bytes after the 16-byte PKCS#8 v2 prefix.
        assert!(!dbg.contains(&hex::encode(&pkcs8[16..48])));
        assert!(dbg.contains(&hex::encode(k.verifier().public)));
    }

    #[test]
    fn vkey_round_trips() {
        let v = key().verifier();
        let s = v.to_vkey_string();
        assert!(s.starts_with("tacet.test/log+"));
        assert_eq!(parse_vkey(&s), Ok(v));
    }

    /// Known answer from the signed-note spec / Go `note` package: the key
    /// `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`.
    #[test]
    fn vkey_known_answer() {
        let s = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let v = parse_vkey(s).unwrap();
        assert_eq!(v.name, "PeterNeumann");
        assert_eq!(hex::encode(v.key_hash()), "c74f20a3");
        assert_eq!(v.to_vkey_string(), s);
    }

    /// Known answer from Go's `golang.org/x/mod/sumdb/note` documentation
    /// (also the C2SP signed-note examples): the key with seed
    /// `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`
    /// signs this text to exactly this note (Ed25519 is deterministic).
    #[test]
    fn signed_note_known_answer() {
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let expected = format!(
            "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        let vkey = parse_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap();
        assert_eq!(open_note(&expected, &vkey), Ok(text));

        let seed = b64_decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz").unwrap();
        assert_eq!(seed[0], ALG_ED25519);
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed[1..]).unwrap();
        let key = SigningKey {
            name: "PeterNeumann".into(),
            pair,
        };
        assert_eq!(key.verifier(), vkey);
        assert_eq!(sign_note(text, &key), expected);
        // A generic note is not a checkpoint.
        assert!(matches!(
            open_checkpoint(&expected, &vkey),
            Err(AuditError::MalformedCheckpoint(_))
        ));
    }

    #[test]
    fn fail_vkey_malformed() {
        let s = key().verifier().to_vkey_string();
        let (name, rest) = s.split_once('+').unwrap();
        let (hash, b64) = rest.split_once('+').unwrap();
        for bad in [
            format!("{name}+{hash}"),
            format!("{name}+{hash}+{b64}+x"),
            format!("+{hash}+{b64}"),
            format!("{name}+{}+{b64}", hash.to_uppercase()),
            format!("{name}+00000000+{b64}"),
            format!("other+{hash}+{b64}"),
            format!("{name}+{hash}+{}", &b64[..b64.len() - 4]),
            format!("{name}+{hash}+{b64}="),
        ] {
            assert!(parse_vkey(&bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn fail_wrong_key() {
        let note = sign_checkpoint(&cp(), &key());
        let other = key().verifier();
        assert_eq!(
            open_checkpoint(&note, &other),
            Err(AuditError::KeyHashMismatch {
                name: other.name.clone()
            })
        );
        let renamed = VerifierKey {
            name: "someone-else".into(),
            ..other
        };
        assert!(matches!(
            open_checkpoint(&note, &renamed),
            Err(AuditError::NoSignatureByKey { .. })
        ));
    }

    #[test]
    fn fail_altered_body() {
        let k = key();
        let note = sign_checkpoint(&cp(), &k).replacen("1234", "1235", 1);
        assert_eq!(
            open_checkpoint(&note, &k.verifier()),
            Err(AuditError::BadSignature {
                name: k.name.clone()
            })
        );
    }

    #[test]
    fn fail_malformed_notes() {
        let k = key();
        let v = k.verifier();
        let good = sign_checkpoint(&cp(), &k);
        let sig_line = good.split("\n\n").nth(1).unwrap().to_string();
        let resign = |body: &str| {
            // Sign an arbitrary body with the real key, to test body parsing.
            let sig = k.pair.sign(body.as_bytes());
            let mut blob = v.key_hash().to_vec();
            blob.extend_from_slice(sig.as_ref());
            format!("{body}\n\u{2014} {} {}\n", v.name, b64_encode(&blob))
        };
        let root = b64_encode(&[7; 32]);
        let bad_bodies = [
            format!("tacet.test/log\n1234\n{root}\next\n"),
            "tacet.test/log\n1234\n".to_string(),
            format!("tacet.test/log\n01234\n{root}\n"),
            format!("tacet.test/log\n+1234\n{root}\n"),
            format!("tacet.test/log\n18446744073709551616\n{root}\n"),
            format!("tacet.test/log\n1234\n{}\n", b64_encode(&[7; 31])),
            format!("tacet.test/log\n1234\n{}\n", &root[..root.len() - 1]),
            format!("\n1234\n{root}\n"),
        ];
        for body in bad_bodies {
            assert!(
                open_checkpoint(&resign(&body), &v).is_err(),
                "accepted body {body:?}"
            );
        }
        // Non-canonical base64 root: flip the padding bits of the last char.
        let mut noncanon = root.clone();
        noncanon.replace_range(root.len() - 2..root.len() - 1, "d");
        assert_ne!(noncanon, root);
        let body = format!("tacet.test/log\n1234\n{noncanon}\n");
        assert!(open_checkpoint(&resign(&body), &v).is_err());

        let bad_notes = [
            good.trim_end().to_string(),
            good.replace("\n\n", "\n"),
            format!("{good}\n"),
            format!("{good}extra\n"),
            good.replace('\u{2014}', "-"),
            good.replace("\n\n", "\r\n\n"),
            good.replacen(&sig_line, &sig_line.replacen(' ', "  ", 2), 1),
            good.replacen(&sig_line, &format!("{}=\n", sig_line.trim_end())[..], 1),
            format!("{}\n\n", good.split("\n\n").next().unwrap()),
            good.replace("\n\n", "\n\n\n"),
        ];
        for note in bad_notes {
            assert!(open_checkpoint(&note, &v).is_err(), "accepted {note:?}");
        }
    }

    #[test]
    fn cosignatures_by_other_keys_are_allowed() {
        let k = key();
        let witness = SigningKey::generate_named("witness.example").unwrap().0;
        let note = sign_checkpoint(&cp(), &k);
        let wnote = sign_checkpoint(&cp(), &witness);
        let wline = wnote.split("\n\n").nth(1).unwrap();
        let both = format!("{note}{wline}");
        assert_eq!(open_checkpoint(&both, &k.verifier()), Ok(cp()));
        assert_eq!(open_checkpoint(&both, &witness.verifier()), Ok(cp()));
    }

    #[test]
    fn fail_bad_key_names() {
        for bad in ["", "a b", "a+b", "a\nb"] {
            assert!(SigningKey::generate_named(bad).is_err());
        }
        assert_eq!(
            SigningKey::from_pkcs8(b"not pkcs8", "x").unwrap_err(),
            AuditError::BadPkcs8
        );
    }
}
