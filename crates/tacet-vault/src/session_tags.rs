//! Sessions' records, authenticated (issue 22, "session state edited on
//! disk").
//!
//! A session's state, creation time, destroy deadline and receipt are plain
//! columns of `sessions`, and retention decides from them what to destroy
//! and when. Anyone who can write the database file could mark a live
//! session `destroyed` (retention skips it; its rows stay for good, hidden
//! from the list), move its creation time or deadline into the future (kept
//! past the practice's limit), or pull a deadline forward (destroyed before
//! the clinician exported it). So every row carries a tag, HMAC-SHA-256
//! over those columns under a key derived (HKDF-SHA-256) from the audit
//! master, which only an unlocked account holds. Every change Tacet makes
//! to a row tags it again in the same transaction.
//!
//! A row whose tag fails is refused: it opens for nobody, and every unlock
//! audits it (`session.record_refused`, denied) and says so. Retention then
//! reads such a session's age from the tamper-evident audit log (its
//! `session.created` record), never from the row, and destroys it at the
//! practice's limit for unexported sessions, so an edit can neither keep
//! patient data past that limit nor destroy it early.
//!
//! A vault from before the tags (schema 4) is sealed at the first unlock
//! after the upgrade: the rows present then are tagged and the count
//! audited (`session.records_sealed`). An edit made before that moment is
//! trusted, as it was before. A tag copied from an older copy of the same
//! row (an earlier state of that session) still verifies: the states a
//! session passed through are all Tacet's own.

use crate::mac_key::MacKey;
use crate::report::{find_in_log, LogEnd};
use crate::{set_meta, Unlocked, VaultError};
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::Sha256;
use tacet_audit::AuditRecord;
use tacet_core::audit::Detail;
use tacet_core::{AuditAction, AuditEvent, Outcome, SessionId};
use tacet_crypto::{Aad, CryptoError, Key256};

const INFO: &[u8] = b"tacet/v5/session-record-key";
/// Meta key present once every session row carries a tag.
pub(crate) const SESSIONS_SEALED: &str = "session_records_sealed";

/// The columns a tag covers.
struct Record {
    owner: String,
    state: String,
    template_id: String,
    created_at_ms: i64,
    destroy_after_ms: Option<i64>,
    receipt_id: Option<String>,
    tag: Option<Vec<u8>>,
}

pub(crate) struct SessionTagKey(MacKey);

impl SessionTagKey {
    pub fn derive(audit_master: &Key256) -> Result<Self, CryptoError> {
        Ok(Self(MacKey::derive(audit_master, INFO)?))
    }

    fn mac(&self, id: SessionId, r: &Record) -> Result<Hmac<Sha256>, CryptoError> {
        let deadline = r.destroy_after_ms.map(|d| d.to_be_bytes().to_vec());
        let aad = Aad::new("session-record")
            .field("session", id.as_bytes())
            .field("owner", r.owner.as_bytes())
            .field("state", r.state.as_bytes())
            .field("template", r.template_id.as_bytes())
            .field("created_at_ms", &r.created_at_ms.to_be_bytes())
            .field("destroy_after_ms", deadline.as_deref().unwrap_or(b"none"))
            .field(
                "receipt",
                r.receipt_id
                    .as_deref()
                    .map(str::as_bytes)
                    .unwrap_or(b"none"),
            );
        self.0.mac(&aad)
    }

    fn tag(&self, id: SessionId, r: &Record) -> Result<Vec<u8>, CryptoError> {
        Ok(self.mac(id, r)?.finalize().into_bytes().to_vec())
    }

    /// Whether the row's tag is its own (constant time). A missing tag
    /// fails.
    fn verifies(&self, id: SessionId, r: &Record) -> bool {
        match (&r.tag, self.mac(id, r)) {
            (Some(t), Ok(m)) => m.verify_slice(t).is_ok(),
            _ => false,
        }
    }
}

fn read(conn: &Connection, id: SessionId) -> Result<Option<Record>, rusqlite::Error> {
    conn.query_row(
        "SELECT owner, state, template_id, created_at_ms, destroy_after_ms, receipt_id, record_tag FROM sessions WHERE id = ?1",
        params![id.as_bytes().to_vec()],
        |r| {
            Ok(Record {
                owner: r.get(0)?,
                state: r.get(1)?,
                template_id: r.get(2)?,
                created_at_ms: r.get(3)?,
                destroy_after_ms: r.get(4)?,
                receipt_id: r.get(5)?,
                tag: r.get(6)?,
            })
        },
    )
    .optional()
}

fn all_ids(conn: &Connection) -> Result<Vec<SessionId>, VaultError> {
    let mut st = conn.prepare("SELECT id FROM sessions ORDER BY created_at_ms")?;
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for r in rows {
        let id: [u8; 16] = r?
            .try_into()
            .map_err(|_| VaultError::Corrupt("a session id is malformed".into()))?;
        out.push(SessionId(id));
    }
    Ok(out)
}

/// Whether every row should carry a tag: the marker, or — where an editor
/// deleted the marker to have forged rows sealed as they stand — the audit
/// log (see [`logged_seal`]).
fn sealed(conn: &Connection) -> Result<bool, VaultError> {
    let marker = conn
        .query_row(
            "SELECT 1 FROM meta WHERE k = ?1",
            params![SESSIONS_SEALED],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    Ok(marker || logged_seal(conn, AuditAction::SessionRecordsSealed, SINCE_SCHEMA)?)
}

/// The schema that brought the session tags.
const SINCE_SCHEMA: i64 = 5;

/// Whether the tamper-evident audit log says a kind of tag is in force: the
/// vault was created by a schema that tags from the start (its
/// `vault.created` record names the schema), or the first unlock after an
/// upgrade sealed the rows (`seal`). A marker in `meta` says the same
/// faster, but it is a plain row: deleting it must not let the next unlock
/// seal forged rows as they stand.
pub(crate) fn logged_seal(
    conn: &Connection,
    seal: AuditAction,
    since_schema: i64,
) -> Result<bool, VaultError> {
    let success = |rec: &AuditRecord| rec.outcome == Outcome::Success.as_str();
    let sealed = find_in_log(conn, seal.code().as_bytes(), LogEnd::Oldest, |rec| {
        (success(&rec) && rec.action == seal.code()).then_some(())
    })?;
    if sealed.is_some() {
        return Ok(true);
    }
    let created = AuditAction::VaultCreated.code();
    let tagged_from_the_start = find_in_log(conn, created.as_bytes(), LogEnd::Oldest, |rec| {
        let schema = rec
            .object
            .as_deref()
            .and_then(|o| o.strip_prefix("schema:"))
            .and_then(|n| n.parse::<i64>().ok());
        (success(&rec) && rec.action == created && schema.is_some_and(|n| n >= since_schema))
            .then_some(())
    })?;
    Ok(tagged_from_the_start.is_some())
}

impl Unlocked<'_> {
    fn session_tag_key(&self) -> Result<SessionTagKey, VaultError> {
        Ok(SessionTagKey::derive(&self.audit_master)?)
    }

    /// Moves the session to `next` inside `tx`, its row tagged again in
    /// the same transaction (the one way a state changes on its own).
    pub(crate) fn set_state(
        &self,
        tx: &Transaction<'_>,
        id: SessionId,
        next: tacet_core::SessionState,
    ) -> Result<(), VaultError> {
        tx.execute(
            "UPDATE sessions SET state = ?2, updated_at_ms = ?3 WHERE id = ?1",
            params![id.as_bytes().to_vec(), next.as_str(), crate::now_ms()],
        )?;
        self.retag_session(tx, id)
    }

    /// Tags the session's row as it now stands, inside the transaction
    /// that changed it.
    pub(crate) fn retag_session(
        &self,
        tx: &Transaction<'_>,
        id: SessionId,
    ) -> Result<(), VaultError> {
        let Some(r) = read(tx, id)? else {
            return Ok(());
        };
        let tag = self.session_tag_key()?.tag(id, &r)?;
        tx.execute(
            "UPDATE sessions SET record_tag = ?2 WHERE id = ?1",
            params![id.as_bytes().to_vec(), tag],
        )?;
        Ok(())
    }

    /// Whether the session's row is as Tacet last wrote it (always, in a
    /// vault not sealed yet).
    pub(crate) fn session_record_verifies(&self, id: SessionId) -> Result<bool, VaultError> {
        let conn = &self.vault.conn;
        if !sealed(conn)? {
            return Ok(true);
        }
        let Some(r) = read(conn, id)? else {
            return Ok(true);
        };
        Ok(self.session_tag_key()?.verifies(id, &r))
    }

    /// The sessions whose rows fail their tags.
    pub(crate) fn refused_session_records(&self) -> Result<Vec<SessionId>, VaultError> {
        if !sealed(&self.vault.conn)? {
            return Ok(Vec::new());
        }
        let key = self.session_tag_key()?;
        let mut out = Vec::new();
        for id in all_ids(&self.vault.conn)? {
            if let Some(r) = read(&self.vault.conn, id)? {
                if !key.verifies(id, &r) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    /// When the audit log says the session was created (its
    /// `session.created` record), or `None` where the log holds no such
    /// record (pruned after the retention floor, or never written: a row
    /// Tacet did not create).
    pub(crate) fn logged_creation_ms(&self, id: SessionId) -> Result<Option<u64>, VaultError> {
        let session = hex::encode(id.as_bytes());
        let created = AuditAction::SessionCreated.code();
        find_in_log(
            &self.vault.conn,
            session.as_bytes(),
            LogEnd::Oldest,
            |rec| {
                (rec.session.as_deref() == Some(session.as_str())
                    && rec.action == created
                    && rec.outcome == Outcome::Success.as_str())
                .then_some(rec.wall_unix_ms)
            },
        )
    }
}

/// Tags every session row present now, once, for a vault from before the
/// tags: trust on first use, audited with the count.
pub(crate) fn seal_once(tx: &Transaction<'_>, s: &Unlocked<'_>) -> Result<(), VaultError> {
    if sealed(tx)? {
        // Put back a marker an editor deleted; the log kept the seal.
        set_meta(tx, SESSIONS_SEALED, &[1])?;
        return Ok(());
    }
    let ids = all_ids(tx)?;
    for id in &ids {
        s.retag_session(tx, *id)?;
    }
    set_meta(tx, SESSIONS_SEALED, &[1])?;
    s.append_audit(
        tx,
        AuditEvent::new(AuditAction::SessionRecordsSealed, s.actor.clone())
            .detail(Detail::Count(ids.len() as u64)),
    )?;
    Ok(())
}

/// The audit event for a refused row.
pub(crate) fn refusal(s: &Unlocked<'_>, id: SessionId) -> AuditEvent {
    AuditEvent::new(AuditAction::SessionRecordRefused, s.actor.clone())
        .session(id)
        .outcome(Outcome::Denied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            owner: "drlee".into(),
            state: "attested".into(),
            template_id: "soap".into(),
            created_at_ms: 1_700_000_000_000,
            destroy_after_ms: None,
            receipt_id: None,
            tag: None,
        }
    }

    #[test]
    fn a_tag_verifies_its_own_row_only() {
        let k = SessionTagKey::derive(&Key256::generate().unwrap()).unwrap();
        let id = SessionId([7; 16]);
        let mut r = record();
        r.tag = Some(k.tag(id, &r).unwrap());
        assert!(k.verifies(id, &r));
        assert!(!k.verifies(SessionId([8; 16]), &r));
        for change in [
            |r: &mut Record| r.state = "destroyed".into(),
            |r: &mut Record| r.owner = "drkim".into(),
            |r: &mut Record| r.created_at_ms += 1,
            |r: &mut Record| r.destroy_after_ms = Some(1),
            |r: &mut Record| r.receipt_id = Some("rcpt-1-00".into()),
            |r: &mut Record| r.template_id = "dap".into(),
            |r: &mut Record| r.tag = None,
        ] {
            let mut c = Record { ..record() };
            c.tag = r.tag.clone();
            change(&mut c);
            assert!(!k.verifies(id, &c));
        }
        let other = SessionTagKey::derive(&Key256::generate().unwrap()).unwrap();
        assert!(!other.verifies(id, &r));
    }
}
