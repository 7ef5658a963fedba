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
//! trusted, as it was before.
//!
//! A tag alone would still verify an older copy of the same row, put back
//! whole (an exported session made "attested" again, a destroy deadline
//! taken away). So each change Tacet makes to a row also counts its
//! generation, which the tag covers, and the audit record written in the
//! same transaction names it ([`Detail::SessionRecord`]). A row verifies
//! only when its generation is the one the newest such record of the
//! session names (0, a row untouched since before the generations, where
//! the log names none): the tamper-evident log, not the row, says which
//! copy is the latest.

use crate::mac_key::MacKey;
use crate::report::{find_in_log, LogEnd};
use crate::{set_meta, Unlocked, VaultError};
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::Sha256;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
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
    /// How many changes Tacet made to the row since the generations (0 for
    /// a row untouched since; its tag then covers no generation, as the
    /// tags before them did).
    generation: i64,
    tag: Option<Vec<u8>>,
}

pub(crate) struct SessionTagKey(MacKey);

impl SessionTagKey {
    pub fn derive(audit_master: &Key256) -> Result<Self, CryptoError> {
        Ok(Self(MacKey::derive(audit_master, INFO)?))
    }

    fn mac(&self, id: SessionId, r: &Record) -> Result<Hmac<Sha256>, CryptoError> {
        let deadline = r.destroy_after_ms.map(|d| d.to_be_bytes().to_vec());
        let mut aad = Aad::new("session-record")
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
        if r.generation != 0 {
            aad = aad.field("generation", &r.generation.to_be_bytes());
        }
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
        "SELECT owner, state, template_id, created_at_ms, destroy_after_ms, receipt_id, record_generation, record_tag FROM sessions WHERE id = ?1",
        params![id.as_bytes().to_vec()],
        |r| {
            Ok(Record {
                owner: r.get(0)?,
                state: r.get(1)?,
                template_id: r.get(2)?,
                created_at_ms: r.get(3)?,
                destroy_after_ms: r.get(4)?,
                receipt_id: r.get(5)?,
                generation: r.get(6)?,
                tag: r.get(7)?,
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

    /// Moves the session to `next` inside `tx`, its row tagged again and
    /// the change audited (`ev`) in the same transaction (the one way a
    /// state changes on its own). Returns the record's sequence number.
    pub(crate) fn set_state(
        &self,
        tx: &Transaction<'_>,
        id: SessionId,
        next: tacet_core::SessionState,
        ev: AuditEvent,
    ) -> Result<u64, VaultError> {
        tx.execute(
            "UPDATE sessions SET state = ?2, updated_at_ms = ?3 WHERE id = ?1",
            params![id.as_bytes().to_vec(), next.as_str(), crate::now_ms()],
        )?;
        self.audit_change(tx, id, ev)
    }

    /// Tags the session's row as it now stands, one generation on, and
    /// appends `ev` naming that generation ([`Detail::SessionRecord`]),
    /// inside the transaction that changed the row. Returns the record's
    /// sequence number.
    pub(crate) fn audit_change(
        &self,
        tx: &Transaction<'_>,
        id: SessionId,
        ev: AuditEvent,
    ) -> Result<u64, VaultError> {
        let generation = self.retag_session(tx, id)?;
        self.append_audit(tx, ev.detail(Detail::SessionRecord(generation)))
    }

    /// The generation the next change of the session's row gets (for a
    /// record written before the row changes in the same transaction).
    pub(crate) fn next_generation(
        &self,
        tx: &Transaction<'_>,
        id: SessionId,
    ) -> Result<u64, VaultError> {
        Ok(read(tx, id)?.map_or(0, |r| r.generation.clamp(0, i64::MAX - 1) as u64) + 1)
    }

    /// Tags the session's row as it now stands, one generation on, inside
    /// the transaction that changed it; the audit record of that change
    /// must name the generation returned ([`Detail::SessionRecord`]).
    pub(crate) fn retag_session(
        &self,
        tx: &Transaction<'_>,
        id: SessionId,
    ) -> Result<u64, VaultError> {
        let next = self.next_generation(tx, id)?;
        tx.execute(
            "UPDATE sessions SET record_generation = ?2 WHERE id = ?1",
            params![id.as_bytes().to_vec(), next as i64],
        )?;
        self.tag_as_it_stands(tx, id)?;
        Ok(next)
    }

    /// Tags the row as it stands, generation unchanged.
    fn tag_as_it_stands(&self, tx: &Transaction<'_>, id: SessionId) -> Result<(), VaultError> {
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

    /// Whether the row's tag is its own and its generation the one the
    /// audit log names last. A destroyed row is past replaying: its tag
    /// verifies only if Tacet destroyed the session, which happens once, and
    /// the log is not searched for it (rows of destroyed sessions pile up
    /// over the years; live ones are few and their last change is recent).
    fn record_verifies(
        &self,
        key: &SessionTagKey,
        id: SessionId,
        r: &Record,
    ) -> Result<bool, VaultError> {
        if !key.verifies(id, r) {
            return Ok(false);
        }
        if r.state == tacet_core::SessionState::Destroyed.as_str() {
            return Ok(true);
        }
        Ok(self.generations.of(&self.vault.conn, id)? == r.generation)
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
        self.record_verifies(&self.session_tag_key()?, id, &r)
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
                if !self.record_verifies(&key, id, &r)? {
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

/// The session rows' generations as the audit log names them: the newest
/// successful record of each session that names one. The live sessions'
/// are read in one pass at the first check after an unlock, from the newest
/// record back to the oldest of their last changes (recent: retention ends
/// old sessions); any other session's is searched for alone when asked.
/// Then the records this process appends keep them up to date, once their
/// transaction commits (the vault is open in one process at a time:
/// `vault.lock`).
#[derive(Default)]
pub(crate) struct Generations {
    logged: RefCell<HashMap<String, i64>>,
    live_read: Cell<bool>,
    /// Named by records of the transaction under way.
    pending: RefCell<Vec<(String, i64)>>,
}

impl Generations {
    /// A transaction starts.
    pub(crate) fn begin(&self) {
        self.pending.borrow_mut().clear();
    }

    /// A record is appended in the transaction under way.
    pub(crate) fn appended(&self, ev: &AuditEvent) {
        let (Some(session), Outcome::Success) = (ev.session, ev.outcome) else {
            return;
        };
        for d in &ev.details {
            if let Detail::SessionRecord(g) = d {
                self.pending
                    .borrow_mut()
                    .push((hex::encode(session.as_bytes()), *g as i64));
            }
        }
    }

    /// The transaction under way committed.
    pub(crate) fn committed(&self) {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        self.logged.borrow_mut().extend(pending);
    }

    /// The generation the log names last for the session (0 where none
    /// does: a row untouched since before the generations, or whose records
    /// were pruned after the retention floor).
    fn of(&self, conn: &Connection, id: SessionId) -> Result<i64, VaultError> {
        let session = hex::encode(id.as_bytes());
        if !self.live_read.get() {
            let live = read_live(conn)?;
            self.logged.borrow_mut().extend(live);
            self.live_read.set(true);
        }
        if let Some(g) = self.logged.borrow().get(&session) {
            return Ok(*g);
        }
        let named = find_in_log(conn, session.as_bytes(), LogEnd::Newest, |rec| {
            named_generation(rec).and_then(|(s, g)| (s == session).then_some(g))
        })?
        .unwrap_or(0);
        self.logged.borrow_mut().insert(session, named);
        Ok(named)
    }
}

/// The session (hex) and row generation a successful record names, if it
/// names one. A value that does not parse matches no row (-1).
fn named_generation(rec: AuditRecord) -> Option<(String, i64)> {
    if rec.outcome != Outcome::Success.as_str() {
        return None;
    }
    let session = rec.session?;
    let (_, v) = rec
        .details
        .iter()
        .find(|(k, _)| k == tacet_audit::record::SESSION_RECORD)?;
    Some((session, v.parse::<i64>().unwrap_or(-1)))
}

/// The logged generation of every session whose row is not destroyed, in
/// one pass from the newest record back, ending once each is found.
fn read_live(conn: &Connection) -> Result<HashMap<String, i64>, VaultError> {
    let mut need: std::collections::HashSet<String> = {
        let mut st = conn.prepare("SELECT id FROM sessions WHERE state != 'destroyed'")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = std::collections::HashSet::new();
        for r in rows {
            out.insert(hex::encode(r?));
        }
        out
    };
    let mut found = HashMap::new();
    if need.is_empty() {
        return Ok(found);
    }
    let key = tacet_audit::record::SESSION_RECORD;
    let mut st =
        conn.prepare("SELECT record FROM audit_log WHERE instr(record, ?1) > 0 ORDER BY seq DESC")?;
    let mut rows = st.query(params![key.as_bytes()])?;
    while let Some(row) = rows.next()? {
        let rec = AuditRecord::decode(&row.get::<_, Vec<u8>>(0)?)?;
        let Some((session, generation)) = named_generation(rec) else {
            continue;
        };
        if need.remove(&session) {
            found.insert(session, generation);
            if need.is_empty() {
                break;
            }
        }
    }
    // What the whole log never named is at generation 0.
    found.extend(need.into_iter().map(|s| (s, 0)));
    Ok(found)
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
        // Generation 0: no record names one yet.
        s.tag_as_it_stands(tx, *id)?;
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
            generation: 3,
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
            |r: &mut Record| r.generation = 2,
            |r: &mut Record| r.generation = 0,
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
