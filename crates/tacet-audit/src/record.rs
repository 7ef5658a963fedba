//! The audit record and its canonical binary encoding.
//!
//! A record is what the log stores for one [`AuditEvent`]: the event's
//! fields flattened to strings, ids and hashes, plus the sequence number and
//! clocks the vault assigns. Its hash goes into the Merkle tree and its
//! bytes into the HMAC chain, so the encoding must be canonical: one record
//! has exactly one encoding, and every byte string decodes to at most one
//! record (and re-encodes to the same bytes).
//!
//! Layout, version 1 (all integers big-endian):
//!
//! ```text
//! u8  version = 1
//! u64 seq, u64 wall_unix_ms, u64 mono_ns
//! str actor, str role, str action, str outcome
//! opt<str> session, opt<str> object
//! opt<[u8;32]> content_sha256
//! u32 detail count, then count × (str key, str value)
//! str app_version
//!
//! str      = u32 byte length ‖ UTF-8 bytes
//! opt<T>   = u8 0 (absent) | u8 1 ‖ T
//! ```
//!
//! Length-prefixing every variable field makes the encoding unambiguous
//! without escaping. The fixed field order and the version byte leave room
//! to change the layout later (a new version number) without any old record
//! changing meaning. Decoding is strict: unknown versions, presence tags other
//! than 0/1, non-UTF-8 text, lengths larger than the bytes that remain, and
//! trailing bytes are all errors, and no input can make it panic or allocate
//! more than the input's own size.

use tacet_core::audit::Detail;
use tacet_core::AuditEvent;

use crate::AuditError;

/// The encoding version this build writes and reads.
pub const RECORD_VERSION: u8 = 1;

/// One entry of the audit log, as stored and hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log, from 0, without gaps.
    pub seq: u64,
    /// Wall-clock time, milliseconds since the Unix epoch (may jump).
    pub wall_unix_ms: u64,
    /// Monotonic clock, nanoseconds (only ordered within one process run).
    pub mono_ns: u64,
    /// The user name of the actor.
    pub actor: String,
    /// The role the actor acted in (`clinician`, `admin`).
    pub role: String,
    /// The [`tacet_core::AuditAction`] code, e.g. `session.exported`.
    pub action: String,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    /// The session id as 32 lowercase hex digits.
    pub session: Option<String>,
    /// Another opaque object id.
    pub object: Option<String>,
    /// SHA-256 of the object's content.
    pub content_sha256: Option<[u8; 32]>,
    /// Typed details flattened to `(key, value)` pairs; see [`encode_detail`].
    pub details: Vec<(String, String)>,
    /// The version of the application that wrote the record.
    pub app_version: String,
}

/// The detail key of [`Detail::SessionRecord`].
pub const SESSION_RECORD: &str = "session_record";

/// Flattens one typed detail to the `(key, value)` pair a record stores.
pub fn encode_detail(d: &Detail) -> (String, String) {
    match d {
        Detail::ModelSha256(h) => ("model_sha256".into(), hex::encode(h)),
        Detail::KeyId(id) => ("key_id".into(), hex::encode(id)),
        Detail::DestroyedCiphertext(h) => ("destroyed_ciphertext_sha256".into(), hex::encode(h)),
        Detail::Trigger(w) => ("trigger".into(), (*w).to_string()),
        Detail::Count(n) => ("count".into(), n.to_string()),
        Detail::TemplateId(id) => ("template".into(), id.clone()),
        Detail::Format(w) => ("format".into(), (*w).to_string()),
        Detail::SessionRecord(n) => (SESSION_RECORD.into(), n.to_string()),
    }
}

impl AuditRecord {
    /// Builds the record for `ev` at position `seq`.
    pub fn from_event(
        seq: u64,
        wall_unix_ms: u64,
        mono_ns: u64,
        app_version: &str,
        ev: &AuditEvent,
    ) -> AuditRecord {
        AuditRecord {
            seq,
            wall_unix_ms,
            mono_ns,
            actor: ev.actor.user.0.clone(),
            role: ev.actor.role.as_str().to_string(),
            action: ev.action.code().to_string(),
            outcome: ev.outcome.as_str().to_string(),
            session: ev.session.map(|s| s.to_string()),
            object: ev.object.clone(),
            content_sha256: ev.content_sha256,
            details: ev.details.iter().map(encode_detail).collect(),
            app_version: app_version.to_string(),
        }
    }

    /// The canonical encoding (see the module docs). Same record, same bytes.
    ///
    /// Lengths are u32, so a string of 4 GiB or more cannot be encoded
    /// faithfully (its prefix saturates at `u32::MAX`). The fields of an
    /// event are ids, hashes and words of a few dozen bytes, far from that.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.details.len() * 48);
        out.push(RECORD_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.wall_unix_ms.to_be_bytes());
        out.extend_from_slice(&self.mono_ns.to_be_bytes());
        put_str(&mut out, &self.actor);
        put_str(&mut out, &self.role);
        put_str(&mut out, &self.action);
        put_str(&mut out, &self.outcome);
        put_opt_str(&mut out, self.session.as_deref());
        put_opt_str(&mut out, self.object.as_deref());
        match &self.content_sha256 {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                out.extend_from_slice(h);
            }
        }
        put_u32(&mut out, self.details.len());
        for (k, v) in &self.details {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        put_str(&mut out, &self.app_version);
        out
    }

    /// Strictly decodes [`AuditRecord::encode`]'s output. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<AuditRecord, AuditError> {
        let mut r = Reader { buf: bytes };
        let version = r.u8("version")?;
        if version != RECORD_VERSION {
            return Err(AuditError::RecordUnknownVersion {
                found: version,
                supported: RECORD_VERSION,
            });
        }
        let seq = r.u64("seq")?;
        let wall_unix_ms = r.u64("wall_unix_ms")?;
        let mono_ns = r.u64("mono_ns")?;
        let actor = r.string("actor")?;
        let role = r.string("role")?;
        let action = r.string("action")?;
        let outcome = r.string("outcome")?;
        let session = r.opt_string("session")?;
        let object = r.opt_string("object")?;
        let content_sha256 = match r.tag("content_sha256")? {
            false => None,
            true => Some(r.array32("content_sha256")?),
        };
        let count = r.u32("details")?;
        // Each pair needs at least 8 bytes (two empty strings); refuse counts
        // the remaining input cannot possibly hold before allocating.
        if u64::from(count) * 8 > r.buf.len() as u64 {
            return Err(AuditError::RecordLengthTooLarge {
                field: "details",
                claimed: u64::from(count),
                available: r.buf.len(),
            });
        }
        let mut details = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let k = r.string("detail key")?;
            let v = r.string("detail value")?;
            details.push((k, v));
        }
        let app_version = r.string("app_version")?;
        if !r.buf.is_empty() {
            return Err(AuditError::RecordTrailingBytes {
                extra_bytes: r.buf.len(),
            });
        }
        Ok(AuditRecord {
            seq,
            wall_unix_ms,
            mono_ns,
            actor,
            role,
            action,
            outcome,
            session,
            object,
            content_sha256,
            details,
            app_version,
        })
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], AuditError> {
        if n > self.buf.len() {
            return Err(AuditError::RecordTruncated { field });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], AuditError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }
    fn array32(&mut self, field: &'static str) -> Result<[u8; 32], AuditError> {
        self.array::<32>(field)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, AuditError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, AuditError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, AuditError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    fn tag(&mut self, field: &'static str) -> Result<bool, AuditError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(AuditError::RecordBadTag { field, tag }),
        }
    }
    fn string(&mut self, field: &'static str) -> Result<String, AuditError> {
        let len = self.u32(field)?;
        if u64::from(len) > self.buf.len() as u64 {
            return Err(AuditError::RecordLengthTooLarge {
                field,
                claimed: u64::from(len),
                available: self.buf.len(),
            });
        }
        let bytes = self.take(len as usize, field)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => Err(AuditError::RecordNotUtf8 { field }),
        }
    }
    fn opt_string(&mut self, field: &'static str) -> Result<Option<String>, AuditError> {
        if self.tag(field)? {
            Ok(Some(self.string(field)?))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tacet_core::{Actor, AuditAction, Outcome, Role, SessionId};

    fn sample() -> AuditRecord {
        let ev = AuditEvent::new(
            AuditAction::SessionDestroyed,
            Actor::new("dr_a", Role::Clinician),
        )
        .outcome(Outcome::Success)
        .session(SessionId([0xab; 16]))
        .object("receipt-1")
        .content(b"ciphertext")
        .detail(Detail::ModelSha256([1; 32]))
        .detail(Detail::KeyId([2; 16]))
        .detail(Detail::DestroyedCiphertext([3; 32]))
        .detail(Detail::Trigger("exported"))
        .detail(Detail::Count(7))
        .detail(Detail::TemplateId("soap_v1".into()))
        .detail(Detail::Format("text"));
        AuditRecord::from_event(5, 1_700_000_000_000, 42, "0.1.0", &ev)
    }

    #[test]
    fn from_event_flattens_every_detail() {
        let r = sample();
        assert_eq!(r.action, "session.destroyed");
        assert_eq!(r.role, "clinician");
        assert_eq!(r.outcome, "success");
        assert_eq!(
            r.session.as_deref(),
            Some("abababababababababababababababab")
        );
        let keys: Vec<&str> = r.details.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "model_sha256",
                "key_id",
                "destroyed_ciphertext_sha256",
                "trigger",
                "count",
                "template",
                "format"
            ]
        );
        assert_eq!(r.details[1].1, hex::encode([2u8; 16]));
        assert_eq!(r.details[4].1, "7");
    }

    #[test]
    fn encoding_is_stable() {
        let r = sample();
        assert_eq!(r.encode(), r.clone().encode());
        assert_eq!(AuditRecord::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn fail_unknown_version() {
        let mut b = sample().encode();
        b[0] = 2;
        assert_eq!(
            AuditRecord::decode(&b),
            Err(AuditError::RecordUnknownVersion {
                found: 2,
                supported: 1
            })
        );
    }

    #[test]
    fn fail_trailing_bytes() {
        let mut b = sample().encode();
        b.push(0);
        assert_eq!(
            AuditRecord::decode(&b),
            Err(AuditError::RecordTrailingBytes { extra_bytes: 1 })
        );
    }

    #[test]
    fn fail_every_truncation() {
        let b = sample().encode();
        for n in 0..b.len() {
            assert!(
                AuditRecord::decode(&b[..n]).is_err(),
                "prefix of {n} bytes accepted"
            );
        }
    }

    #[test]
    fn fail_absurd_length() {
        let mut b = sample().encode();
        // The actor length prefix sits right after version + 3 × u64.
        b[25..29].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            AuditRecord::decode(&b),
            Err(AuditError::RecordLengthTooLarge { field: "actor", .. })
        ));
    }

    #[test]
    fn fail_absurd_detail_count() {
        let r = AuditRecord {
            details: vec![],
            ..sample()
        };
        let mut b = r.encode();
        let app_len = 4 + r.app_version.len();
        let at = b.len() - app_len - 4;
        b[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            AuditRecord::decode(&b),
            Err(AuditError::RecordLengthTooLarge {
                field: "details",
                ..
            })
        ));
    }

    #[test]
    fn fail_non_utf8() {
        let r = AuditRecord {
            actor: "ab".into(),
            ..sample()
        };
        let mut b = r.encode();
        b[29] = 0xff;
        assert_eq!(
            AuditRecord::decode(&b),
            Err(AuditError::RecordNotUtf8 { field: "actor" })
        );
    }

    #[test]
    fn fail_bad_presence_tag() {
        let r = AuditRecord {
            session: None,
            ..sample()
        };
        let mut b = r.encode();
        let at = 25
            + [&r.actor, &r.role, &r.action, &r.outcome]
                .iter()
                .map(|s| 4 + s.len())
                .sum::<usize>();
        assert_eq!(b[at], 0);
        b[at] = 2;
        assert_eq!(
            AuditRecord::decode(&b),
            Err(AuditError::RecordBadTag {
                field: "session",
                tag: 2
            })
        );
    }

    fn any_string() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", "[a-z0-9_.-]{0,12}"]
    }

    prop_compose! {
        fn any_record()(
            seq in any::<u64>(), wall in any::<u64>(), mono in any::<u64>(),
            actor in any_string(), role in any_string(), action in any_string(), outcome in any_string(),
            session in proptest::option::of(any_string()), object in proptest::option::of(any_string()),
            content in proptest::option::of(any::<[u8; 32]>()),
            details in proptest::collection::vec((any_string(), any_string()), 0..6),
            app_version in any_string(),
        ) -> AuditRecord {
            AuditRecord { seq, wall_unix_ms: wall, mono_ns: mono, actor, role, action, outcome,
                session, object, content_sha256: content, details, app_version }
        }
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(r in any_record()) {
            prop_assert_eq!(AuditRecord::decode(&r.encode()), Ok(r));
        }

        #[test]
        fn decode_never_panics_and_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(r) = AuditRecord::decode(&bytes) {
                prop_assert_eq!(r.encode(), bytes);
            }
        }

        #[test]
        fn mutated_encodings_never_panic(r in any_record(), at in any::<usize>(), byte in any::<u8>()) {
            let mut b = r.encode();
            let i = at % b.len();
            b[i] = byte;
            if let Ok(d) = AuditRecord::decode(&b) {
                prop_assert_eq!(d.encode(), b);
            }
        }
    }
}
