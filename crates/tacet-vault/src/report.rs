//! Facts about the vault for the practice's compliance report: key
//! derivation parameters per user, the database's protective settings as
//! SQLite reports them now, the retention settings and the last retention
//! run. Read-only, and never a byte of patient data.

use super::*;

/// What the report states about retention, read from the vault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionFacts {
    pub settings: RetentionSettings,
    /// Wall-clock time (Unix ms) of the last `retention.run` audit record.
    pub last_run_unix_ms: Option<u64>,
    /// Wall-clock time (Unix ms) of the last data-master rotation.
    pub last_rotation_unix_ms: Option<u64>,
}

impl Vault {
    /// The retention settings, readable without unlocking (they are not
    /// secret; the consent text quotes them).
    pub fn public_retention_settings(&self) -> Result<RetentionSettings, VaultError> {
        RetentionSettings::load(&self.conn)
    }
}

impl Unlocked<'_> {
    /// (user, m_cost_kib, t_cost, p_cost) for every user.
    pub fn kdf_parameters(&self) -> Result<Vec<(String, u32, u32, u32)>, VaultError> {
        let mut st = self
            .vault
            .conn
            .prepare("SELECT name, kdf_m_kib, kdf_t, kdf_p FROM users ORDER BY name")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The protective settings of the database connection, as SQLite reports them.
    pub fn database_settings(&self) -> Result<Vec<(String, String)>, VaultError> {
        let mut out = Vec::new();
        for pragma in [
            "journal_mode",
            "synchronous",
            "secure_delete",
            "temp_store",
            "user_version",
        ] {
            let v: String = self
                .vault
                .conn
                .query_row(&format!("PRAGMA {pragma}"), [], |r| {
                    Ok(match r.get_ref(0)? {
                        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).to_string()
                        }
                        _ => "?".to_string(),
                    })
                })?;
            let meaning = match (pragma, v.as_str()) {
                ("synchronous", "2") => {
                    "2 (FULL: a write is acknowledged only when durable)".to_string()
                }
                ("secure_delete", "1") => {
                    "1 (deleted content is overwritten with zeros)".to_string()
                }
                ("temp_store", "2") => "2 (MEMORY: no temporary files)".to_string(),
                _ => v,
            };
            out.push((pragma.to_string(), meaning));
        }
        Ok(out)
    }

    /// Retention settings and when retention last ran.
    pub fn retention_facts(&self) -> Result<RetentionFacts, VaultError> {
        let settings = self.settings()?;
        let mut st = self
            .vault
            .conn
            .prepare("SELECT record FROM audit_log ORDER BY seq DESC")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut last_run_unix_ms = None;
        let mut last_rotation_unix_ms = None;
        for r in rows {
            let bytes = r?;
            if bytes.is_empty() {
                continue; // pruned
            }
            let rec = AuditRecord::decode(&bytes)?;
            if rec.action == AuditAction::RetentionRun.code()
                && rec.outcome == Outcome::Success.as_str()
                && last_run_unix_ms.is_none()
            {
                last_run_unix_ms = Some(rec.wall_unix_ms);
            }
            if rec.action == AuditAction::KeyRotated.code() && last_rotation_unix_ms.is_none() {
                last_rotation_unix_ms = Some(rec.wall_unix_ms);
            }
            if last_run_unix_ms.is_some() && last_rotation_unix_ms.is_some() {
                break;
            }
        }
        Ok(RetentionFacts {
            settings,
            last_run_unix_ms,
            last_rotation_unix_ms,
        })
    }

    /// Every audit record as stored, for the admin's reports (deletion log
    /// with proofs, access report, FHIR export). Holds no patient text.
    pub fn audit_records(&self) -> Result<Vec<StoredRecord>, VaultError> {
        stored_records(&self.vault.conn)
    }

    /// The public verifier key (C2SP vkey text) admins give to verifiers.
    pub fn audit_verifier_key(&self) -> Result<String, VaultError> {
        String::from_utf8(get_meta(&self.vault.conn, "audit_vkey")?)
            .map_err(|_| VaultError::Corrupt("the audit verifier key is not text".into()))
    }
}

const PRUNE_NOTES_KEY: &str = "audit_prune_notes";

/// The signed prune notes, oldest first (empty when the log was never pruned).
/// Every audit record as stored, in order: the one reading of the log that
/// verification and the admin's reports share. A leaf hash or chain tag
/// that is not 32 bytes is corruption, named with its record.
/// Which end of the audit log a search starts from.
#[derive(Clone, Copy)]
pub(crate) enum LogEnd {
    Oldest,
    Newest,
}

/// Reads the audit records whose bytes hold `needle` (a session's hex id,
/// an object, an action code: the record encoding stores them as they
/// are), from one end of the log, until `f` gives an answer. Pruned
/// records hold nothing and never match. The checks that read what the
/// tamper-evident log says happened (a role, a recovery, an attestation, a
/// creation, a seal) all search it this one way.
pub(crate) fn find_in_log<T>(
    conn: &Connection,
    needle: &[u8],
    from: LogEnd,
    mut f: impl FnMut(AuditRecord) -> Option<T>,
) -> Result<Option<T>, VaultError> {
    let sql = match from {
        LogEnd::Oldest => "SELECT record FROM audit_log WHERE instr(record, ?1) > 0 ORDER BY seq",
        LogEnd::Newest => {
            "SELECT record FROM audit_log WHERE instr(record, ?1) > 0 ORDER BY seq DESC"
        }
    };
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map(params![needle], |r| r.get::<_, Vec<u8>>(0))?;
    for row in rows {
        if let Some(t) = f(AuditRecord::decode(&row?)?) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

pub(crate) fn stored_records(conn: &Connection) -> Result<Vec<StoredRecord>, VaultError> {
    let mut st =
        conn.prepare("SELECT seq, record, leaf_hash, chain_tag FROM audit_log ORDER BY seq")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, bytes, leaf, tag) = row?;
        out.push(StoredRecord {
            seq: seq as u64,
            bytes,
            leaf_hash: leaf_hash(seq, leaf)?,
            chain_tag: tag.try_into().map_err(|_| {
                VaultError::Corrupt(format!("audit record {seq} has a malformed chain tag"))
            })?,
        });
    }
    Ok(out)
}

/// The log's leaf hashes in order (what a checkpoint signs over), read and
/// checked as [`stored_records`] reads them.
pub(crate) fn leaf_hashes(conn: &Connection) -> Result<Vec<[u8; 32]>, VaultError> {
    let mut st = conn.prepare("SELECT seq, leaf_hash FROM audit_log ORDER BY seq")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, leaf) = row?;
        out.push(leaf_hash(seq, leaf)?);
    }
    Ok(out)
}

fn leaf_hash(seq: i64, bytes: Vec<u8>) -> Result<[u8; 32], VaultError> {
    bytes
        .try_into()
        .map_err(|_| VaultError::Corrupt(format!("audit record {seq} has a malformed leaf hash")))
}

pub(crate) fn prune_notes(conn: &Connection) -> Result<Vec<String>, VaultError> {
    let Some(bytes) = conn
        .query_row(
            "SELECT v FROM meta WHERE k = ?1",
            params![PRUNE_NOTES_KEY],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
    else {
        return Ok(Vec::new());
    };
    serde_json::from_slice(&bytes)
        .map_err(|_| VaultError::Corrupt("the stored audit prune notes are malformed".into()))
}

/// What an audit-log prune did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PruneOutcome {
    /// Records whose bytes were dropped now (their leaf hashes and chain tags stay).
    pub pruned_records: u64,
    /// Every record below this sequence number has been pruned.
    pub pruned_below: u64,
    /// The signed prune note later verification relies on.
    pub note: String,
}

impl Unlocked<'_> {
    /// Drops the bytes of audit records written before `older_than_unix_ms`
    /// (six years by policy), keeping their leaf hashes and chain tags, under
    /// a signed prune note that later verification accepts. Admins only; the
    /// log must verify first; the prune is itself audited and followed by a
    /// new checkpoint.
    pub fn prune_audit(&mut self, older_than_unix_ms: u64) -> Result<PruneOutcome, VaultError> {
        if self.actor.role != Role::Admin {
            return Err(StoreError::Denied("only an admin can prune the audit log".into()).into());
        }
        // The retention floor is the vault's rule, not the caller's: no
        // account, front end or flag prunes a record younger than six years
        // (`audit prune --older-than-days 0` used to empty every record).
        // The refusal is itself audited.
        let floor = tacet_audit::retention_cutoff_unix_ms(now_ms(), tacet_audit::RETENTION_YEARS);
        if older_than_unix_ms > floor {
            let ev = AuditEvent::new(AuditAction::RetentionRun, self.actor.clone())
                .object("audit-log")
                .outcome(Outcome::Denied);
            self.write(|tx, s| s.append_audit(tx, ev))?;
            return Err(VaultError::BelowRetentionFloor {
                years: tacet_audit::RETENTION_YEARS,
            });
        }
        let check = self.verify_audit_full(&[])?;
        if !check.is_ok() {
            return Err(StoreError::Integrity(format!(
                "the audit log does not verify ({} problem(s)); investigate before pruning",
                check.problems.len()
            ))
            .into());
        }
        self.write_checkpoint()?;
        let conn = &self.vault.conn;
        let verifier = tacet_audit::parse_vkey(&self.audit_verifier_key()?)?;
        let checkpoints: Vec<Checkpoint> = {
            let mut st = conn.prepare("SELECT note FROM checkpoints ORDER BY size")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for n in rows {
                out.push(tacet_audit::open_checkpoint(&n?, &verifier)?);
            }
            out
        };
        let records = self.audit_records()?;
        let plan = tacet_audit::prune_plan(&records, &checkpoints, older_than_unix_ms)?;
        if plan.is_empty() {
            return Ok(PruneOutcome {
                pruned_records: 0,
                pruned_below: plan.prune_below,
                note: String::new(),
            });
        }
        let origin = String::from_utf8(get_meta(conn, "origin")?)
            .map_err(|_| VaultError::Corrupt("the vault origin is not text".into()))?;
        let sealed = get_meta(conn, "audit_signing_key")?;
        let pkcs8 =
            tacet_crypto::open(&self.audit_master, &Aad::new("audit-signing-key"), &sealed)?;
        let key = SigningKey::from_pkcs8(&pkcs8, &origin)?;
        let note = tacet_audit::sign_prune(&plan.statement, &key);
        let mut notes = prune_notes(conn)?;
        notes.push(note.clone());
        let notes_json = serde_json::to_vec(&notes)
            .map_err(|_| VaultError::Corrupt("cannot encode prune notes".into()))?;
        let ev = AuditEvent::new(AuditAction::RetentionRun, self.actor.clone())
            .object("audit-log")
            .detail(Detail::Count(plan.drop_bytes.len() as u64));
        let drop = plan.drop_bytes.clone();
        self.write(|tx, s| {
            set_meta(tx, PRUNE_NOTES_KEY, &notes_json)?;
            for seq in &drop {
                tx.execute(
                    "UPDATE audit_log SET record = x'' WHERE seq = ?1",
                    params![*seq as i64],
                )?;
            }
            s.append_audit(tx, ev)
        })?;
        self.write_checkpoint()?;
        Ok(PruneOutcome {
            pruned_records: plan.drop_bytes.len() as u64,
            pruned_below: plan.prune_below,
            note,
        })
    }
}
