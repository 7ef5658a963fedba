//! Deletion, retention and data-master rotation. The design (why X25519
//! key pairs, when rotation runs, how a crash mid-deletion is finished) is
//! in the crate documentation; this module is its implementation.

use super::*;
use crate::roster::RosterKey;

use tacet_core::retention::DAY_MS;
pub use tacet_core::retention::MAX_EXPORT_GRACE_MS;
const SETTINGS_KEY: &str = "settings";

/// Retention and rotation settings, stored in `meta`; only an admin changes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Sessions not exported within this long after creation are destroyed.
    pub unexported_limit_ms: u64,
    /// How long an exported session is kept before it is destroyed (0 = at once).
    pub export_grace_ms: u64,
    /// Rotate the data master after every deletion batch.
    pub rotate_after_deletions: bool,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            unexported_limit_ms: 7 * DAY_MS,
            export_grace_ms: 0,
            rotate_after_deletions: true,
        }
    }
}

impl RetentionSettings {
    fn validate(&self) -> Result<(), VaultError> {
        tacet_core::retention::check_ms(self.unexported_limit_ms, self.export_grace_ms)
            .map_err(|p| VaultError::BadSetting(p.to_string()))
    }

    pub(crate) fn load(conn: &Connection) -> Result<Self, VaultError> {
        let Some(bytes) = conn
            .query_row(
                "SELECT v FROM meta WHERE k = ?1",
                params![SETTINGS_KEY],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()?
        else {
            return Ok(Self::default());
        };
        let bad = || VaultError::Corrupt("the stored retention settings are malformed".into());
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(Self {
            unexported_limit_ms: v["unexported_limit_ms"].as_u64().ok_or_else(bad)?,
            export_grace_ms: v["export_grace_ms"].as_u64().ok_or_else(bad)?,
            rotate_after_deletions: v["rotate_after_deletions"].as_bool().ok_or_else(bad)?,
        })
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::json!({
            "unexported_limit_ms": self.unexported_limit_ms,
            "export_grace_ms": self.export_grace_ms,
            "rotate_after_deletions": self.rotate_after_deletions,
        })
        .to_string()
        .into_bytes()
    }
}

/// What a data-master rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    pub old_master_id_hex: String,
    pub new_master_id_hex: String,
    /// Surviving session keys re-wrapped under the new master.
    pub session_keys_rewrapped: u64,
    /// Clinicians the new master was wrapped for.
    pub clinicians: u64,
    /// Clinician rows whose roster tag failed (added or changed outside
    /// Tacet): they got no wrap, lost the old one and were audited
    /// `user.roster_refused`.
    pub refused: Vec<String>,
    pub audit_seq: u64,
}

/// What a retention run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub receipts: Vec<DeletionReceipt>,
    /// Set when the run rotated the data master afterwards.
    pub rotation: Option<RotationReport>,
    /// The `retention.run` audit record, when one was written.
    pub audit_seq: Option<u64>,
}

fn system_actor() -> Actor {
    Actor::new("system", Role::Admin)
}

fn session_id_from(bytes: Vec<u8>) -> Result<SessionId, VaultError> {
    let id: [u8; 16] = bytes
        .try_into()
        .map_err(|_| VaultError::Corrupt("a session id is malformed".into()))?;
    Ok(SessionId(id))
}

impl Unlocked<'_> {
    /// The current retention settings (defaults when none were stored).
    pub fn settings(&self) -> Result<RetentionSettings, VaultError> {
        RetentionSettings::load(&self.vault.conn)
    }

    /// Changes the retention settings (admins only), audited as `settings.changed`.
    pub fn set_settings(&mut self, new: &RetentionSettings) -> Result<(), VaultError> {
        if self.actor.role != Role::Admin {
            return Err(
                StoreError::Denied("only an admin can change retention settings".into()).into(),
            );
        }
        new.validate()?;
        let object = format!(
            "settings:unexported_limit_ms={};export_grace_ms={};rotate_after_deletions={}",
            new.unexported_limit_ms, new.export_grace_ms, new.rotate_after_deletions
        );
        let ev = AuditEvent::new(AuditAction::SettingsChanged, self.actor.clone()).object(object);
        self.write(|tx, s| {
            set_meta(tx, SETTINGS_KEY, &new.to_bytes())?;
            s.append_audit(tx, ev)
        })?;
        self.write_checkpoint()?;
        Ok(())
    }

    /// Whether a deletion, a clinician's removal or the move of session
    /// keys to their owners left a rotation of the data master to be done.
    ///
    /// The `rotation_due` flag in `meta` is a plain row an editor of the
    /// file could delete (keeping a removed clinician's old copy of the
    /// master useful). So the audit log decides as well: a rotation is due
    /// when, since the last `key.rotated` of the data master, the log holds
    /// a destroyed session (with `rotate_after_deletions`), a removed
    /// clinician or session keys moved to their owners. The flag alone can
    /// only add a rotation, never skip one.
    pub fn rotation_due(&self) -> Result<bool, VaultError> {
        let flagged = self
            .vault
            .conn
            .query_row(
                "SELECT 1 FROM meta WHERE k = 'rotation_due'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        Ok(flagged || self.rotation_due_by_log()?)
    }

    fn rotation_due_by_log(&self) -> Result<bool, VaultError> {
        let after_deletions = self.settings()?.rotate_after_deletions;
        let rotated = AuditAction::KeyRotated.code();
        let destroyed = AuditAction::SessionDestroyed.code();
        let removed = AuditAction::UserRemoved.code();
        let mut st = self
            .vault
            .conn
            .prepare("SELECT record FROM audit_log ORDER BY seq DESC")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        for row in rows {
            let bytes = row?;
            if bytes.is_empty() {
                continue; // pruned
            }
            let rec = AuditRecord::decode(&bytes)?;
            if rec.outcome != Outcome::Success.as_str() {
                continue;
            }
            let object = rec.object.as_deref().unwrap_or("");
            if rec.action == rotated {
                return Ok(object != "data-master");
            }
            if (rec.action == destroyed && after_deletions)
                || (rec.action == removed && object.ends_with(":clinician"))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A problem met by the housekeeping done at unlock (retention,
    /// rotation), which never blocks the unlock itself; it is retried at
    /// the next one.
    pub fn housekeeping_problem(&self) -> Option<&str> {
        self.housekeeping_problem.as_deref()
    }

    pub(crate) fn destroy_or_schedule(
        &mut self,
        id: SessionId,
        trigger: &'static str,
    ) -> Result<DeletionReceipt, VaultError> {
        let settings = self.settings()?;
        let row = self.load_session(id)?;
        if trigger == "exported"
            && settings.export_grace_ms > 0
            && row.state == SessionState::Exported
        {
            let deadline = now_ms().saturating_add(settings.export_grace_ms);
            let key_id: [u8; 16] = row
                .key_id
                .clone()
                .try_into()
                .map_err(|_| VaultError::Corrupt("a session key id is malformed".into()))?;
            let ev = AuditEvent::new(AuditAction::DestroyScheduled, self.actor.clone())
                .session(id)
                .detail(Detail::Trigger(trigger))
                .detail(Detail::KeyId(key_id))
                .detail(Detail::Count(settings.export_grace_ms / 1000));
            let seq = self.write(|tx, s| {
                tx.execute(
                    "UPDATE sessions SET destroy_after_ms = ?2 WHERE id = ?1",
                    params![id.as_bytes().to_vec(), deadline],
                )?;
                s.audit_change(tx, id, ev)
            })?;
            self.write_checkpoint()?;
            return Ok(DeletionReceipt {
                receipt_id: format!("scheduled-{seq}"),
                session: id,
                key_id_hex: hex::encode(key_id),
                destroyed_ciphertexts: 0,
                trigger,
                actor: self.actor.user.clone(),
                at_unix_ms: deadline,
                audit_seq: seq,
            });
        }
        let receipt = self.destroy_committed(id, trigger, false, false)?;
        // The deletion is committed and its receipt logged; what follows
        // (rotation, WAL truncation) is finished at the next open/unlock if
        // it fails here, so it does not turn a done deletion into an error.
        let _ = self.finish_deletions();
        Ok(receipt)
    }

    /// Deletes the session's rows and key and writes its receipt, all in
    /// one transaction that also marks the shred pending. `refused_row`: the
    /// system destroys a session whose row failed its tag (its state column
    /// says nothing, not even "destroyed").
    pub(crate) fn destroy_committed(
        &mut self,
        id: SessionId,
        trigger: &'static str,
        as_system: bool,
        refused_row: bool,
    ) -> Result<DeletionReceipt, VaultError> {
        let row = self.load_session_as(id, !as_system)?;
        if !(as_system && refused_row) {
            row.state
                .apply(Transition::Destroy)
                .map_err(StoreError::from)?;
        }
        let hashes: Vec<[u8; 32]> = {
            let mut st = self
                .vault
                .conn
                .prepare("SELECT sealed FROM artifacts WHERE session_id = ?1 ORDER BY kind, idx")?;
            let rows = st.query_map(params![id.as_bytes().to_vec()], |r| r.get::<_, Vec<u8>>(0))?;
            let mut out = Vec::new();
            for r in rows {
                out.push(tacet_crypto::sha256(&r?));
            }
            out
        };
        let key_id: [u8; 16] = row
            .key_id
            .clone()
            .try_into()
            .map_err(|_| VaultError::Corrupt("a session key id is malformed".into()))?;
        let actor = if as_system {
            system_actor()
        } else {
            self.actor.clone()
        };
        let mut ev = AuditEvent::new(AuditAction::SessionDestroyed, actor.clone())
            .session(id)
            .detail(Detail::Trigger(trigger))
            .detail(Detail::KeyId(key_id))
            .detail(Detail::Count(hashes.len() as u64));
        for h in &hashes {
            ev = ev.detail(Detail::DestroyedCiphertext(*h));
        }
        let rotate = self.settings()?.rotate_after_deletions;
        let at = now_ms();
        let (seq, receipt_id) = self.write(|tx, s| {
            let idb = id.as_bytes().to_vec();
            tx.execute("DELETE FROM artifacts WHERE session_id = ?1", params![idb])?;
            // Covering colleagues' wraps go with the owner's (covers.rs).
            tx.execute("DELETE FROM session_covers WHERE session_id = ?1", params![idb])?;
            // The record comes first (the receipt is made from it), so it
            // names the generation the row is about to reach.
            let generation = s.next_generation(tx, id)?;
            let seq = s.append_audit(tx, ev.detail(Detail::SessionRecord(generation)))?;
            let leaf: Vec<u8> = tx.query_row("SELECT leaf_hash FROM audit_log WHERE seq = ?1", params![seq as i64], |r| r.get(0))?;
            let receipt = format!("rcpt-{seq}-{}", hex::encode(&leaf[..4.min(leaf.len())]));
            tx.execute(
                "UPDATE sessions SET state = 'destroyed', wrapped_key = NULL, nonce_counter = 0, destroy_after_ms = NULL, receipt_id = ?2, updated_at_ms = ?3 WHERE id = ?1",
                params![idb, receipt, at],
            )?;
            if s.retag_session(tx, id)? != generation {
                return Err(VaultError::Corrupt(
                    "a session row changed twice in one deletion".into(),
                ));
            }
            tx.execute(
                "INSERT INTO pending_shred (session_id, since_ms) VALUES (?1, ?2) ON CONFLICT(session_id) DO NOTHING",
                params![idb, at],
            )?;
            if rotate {
                set_meta(tx, "rotation_due", &[1])?;
            }
            Ok((seq, receipt))
        })?;
        Ok(DeletionReceipt {
            receipt_id,
            session: id,
            key_id_hex: hex::encode(key_id),
            destroyed_ciphertexts: hashes.len() as u64,
            trigger,
            actor: actor.user,
            at_unix_ms: at,
            audit_seq: seq,
        })
    }

    /// After a deletion batch: rotate if due and possible, sign a
    /// checkpoint, truncate the WAL, clear the pending shreds.
    fn finish_deletions(&mut self) -> Result<Option<RotationReport>, VaultError> {
        let rotation = if self.data_master.is_some() && self.rotation_due()? {
            match self.rotate_data_master() {
                Ok(r) => {
                    if !r.refused.is_empty() {
                        self.housekeeping_problem = Some(format!(
                            "the key rotation refused roster entries changed outside Tacet: {}",
                            r.refused.join(", ")
                        ));
                    }
                    Some(r)
                }
                Err(e) => {
                    self.housekeeping_problem = Some(e.to_string());
                    None
                }
            }
        } else {
            None
        };
        self.write_checkpoint()?;
        self.checkpoint_wal()?;
        self.vault.conn.execute("DELETE FROM pending_shred", [])?;
        self.checkpoint_wal()?;
        Ok(rotation)
    }

    /// Replaces the data master: a new random master, every surviving
    /// session key still under the master (a session from before schema 3
    /// whose owner has no verified key yet; keys wrapped to their owners
    /// need nothing) re-wrapped under it (a fresh nonce sequence, its counter
    /// persisted), the new master wrapped to every clinician's public key,
    /// the old wrapped copies overwritten (`secure_delete`), the WAL
    /// truncated and the old master dropped (zeroized). One transaction: a
    /// crash leaves either the old master everywhere or the new one.
    pub fn rotate_data_master(&mut self) -> Result<RotationReport, VaultError> {
        let old = self.data_master.clone().ok_or_else(|| {
            StoreError::Denied(
                "only a clinician holds the data key; sign in as a clinician to rotate it".into(),
            )
        })?;
        let conn = &self.vault.conn;
        type Row = (String, Option<Vec<u8>>, Option<Vec<u8>>);
        let clinicians: Vec<Row> = {
            let mut st = conn.prepare(
                "SELECT name, x25519_public, roster_tag FROM users WHERE role = 'clinician' ORDER BY name",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let blocked: Vec<&str> = clinicians
            .iter()
            .filter(|(_, p, _)| p.is_none())
            .map(|(n, _, _)| n.as_str())
            .collect();
        if !blocked.is_empty() {
            return Err(VaultError::RotationBlocked(blocked.join(", ")));
        }
        let old_id = get_meta(conn, "data_master_id")?;
        let sessions: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = {
            let mut st = conn.prepare(
                "SELECT id, key_id, wrapped_key FROM sessions WHERE wrapped_key IS NOT NULL AND key_wrap = 'master'",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let new = Key256::generate()?;
        let new_id: [u8; 16] = tacet_crypto::random_bytes()?;
        let mut nonces = NonceSequence::new();
        let mut rewrapped = Vec::with_capacity(sessions.len());
        for (sid, key_id, wrapped) in &sessions {
            let id = session_id_from(sid.clone())?;
            let aad = session_key_aad(id, key_id);
            let k = tacet_crypto::unwrap_key(&old, &aad, wrapped).map_err(|_| {
                VaultError::Corrupt(format!(
                    "session {}'s wrapped key does not open; rotation stopped, nothing changed",
                    id.short()
                ))
            })?;
            rewrapped.push((
                sid.clone(),
                tacet_crypto::wrap_key(&new, nonces.next_nonce()?, &aad, &k)?,
            ));
        }
        // Only rows whose roster tag verifies under the old master get the
        // new one (roster.rs); the signed-in clinician's own row must, or
        // nothing changes: refusing it would leave the new master with no
        // one to open it.
        let old_roster = RosterKey::derive(&old)?;
        let new_roster = RosterKey::derive(&new)?;
        let mut for_users = Vec::with_capacity(clinicians.len());
        let mut refused = Vec::new();
        for (name, public, tag) in &clinicians {
            let public = public.clone().unwrap_or_default();
            if !old_roster.verifies(name, Role::Clinician, &public, tag.as_deref()) {
                if *name == self.actor.user.0 {
                    return Err(VaultError::Corrupt(format!(
                        "the roster entry for {name} was changed outside Tacet; rotation stopped, nothing changed"
                    )));
                }
                refused.push(name.clone());
                continue;
            }
            let public: [u8; 32] = public.try_into().map_err(|_| {
                VaultError::Corrupt(format!("user {name}'s public key is malformed"))
            })?;
            let tag = new_roster.tag(name, Role::Clinician, &public)?;
            for_users.push((
                name.clone(),
                pk::wrap_to(&public, name, &new_id, &new)?,
                tag,
            ));
        }
        let ev = AuditEvent::new(AuditAction::KeyRotated, self.actor.clone())
            .object("data-master")
            .detail(Detail::KeyId(new_id))
            .detail(Detail::Count(rewrapped.len() as u64));
        let counter = nonces.next_counter();
        let seq = self.write(|tx, s| {
            for (sid, w) in &rewrapped {
                tx.execute("UPDATE sessions SET wrapped_key = ?2 WHERE id = ?1", params![sid, w])?;
            }
            for (name, w, tag) in &for_users {
                tx.execute(
                    "UPDATE users SET wrapped_data_master_pk = ?2, wrapped_data_master = NULL, roster_tag = ?3 WHERE name = ?1",
                    params![name, w, tag],
                )?;
            }
            for name in &refused {
                tx.execute(
                    "UPDATE users SET wrapped_data_master_pk = NULL, wrapped_data_master = NULL, roster_tag = NULL WHERE name = ?1",
                    params![name],
                )?;
                s.append_audit(
                    tx,
                    AuditEvent::new(AuditAction::RosterRowRefused, s.actor.clone())
                        .object(format!("user:{name}"))
                        .outcome(Outcome::Denied),
                )?;
            }
            set_meta(tx, "data_master_id", &new_id)?;
            set_meta(tx, "data_nonce_counter", &counter.to_be_bytes())?;
            tx.execute("DELETE FROM meta WHERE k = 'rotation_due'", [])?;
            s.append_audit(tx, ev)
        })?;
        // The old master (and our clone of it) zeroize as they drop here.
        self.data_master = Some(new);
        drop(old);
        self.write_checkpoint()?;
        self.checkpoint_wal()?;
        Ok(RotationReport {
            old_master_id_hex: hex::encode(old_id),
            new_master_id_hex: hex::encode(new_id),
            session_keys_rewrapped: rewrapped.len() as u64,
            clinicians: for_users.len() as u64,
            refused,
            audit_seq: seq,
        })
    }

    /// Destroys every session past its limit at `now_unix_ms` (trigger
    /// `retention` for unexported sessions, `exported` for those whose grace
    /// period ended), as actor `system`, and records `retention.run`.
    /// Needs no data key: any unlocked user may run it.
    pub fn run_retention(&mut self, now_unix_ms: u64) -> Result<RetentionReport, VaultError> {
        self.retention_inner(now_unix_ms, true)
    }

    /// Whether the retention settings on disk are the ones the audit log
    /// last recorded (`settings.changed` names the values; the defaults
    /// when no change was ever made). The log is tamper-evident and the
    /// settings row is not, so an edit of the row outside Tacet shows here.
    /// `None` when the record that set them was pruned (nothing to compare).
    fn settings_as_audited(&self) -> Result<Option<bool>, VaultError> {
        let current = self.settings()?;
        let mut st = self.vault.conn.prepare(
            "SELECT record FROM audit_log WHERE length(record) = 0 OR instr(record, CAST('settings:unexported_limit_ms=' AS BLOB)) > 0 ORDER BY seq DESC",
        )?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut pruned = false;
        for r in rows {
            let bytes = r?;
            if bytes.is_empty() {
                pruned = true;
                continue;
            }
            let rec = AuditRecord::decode(&bytes)?;
            if rec.action != AuditAction::SettingsChanged.code()
                || rec.outcome != Outcome::Success.as_str()
            {
                continue;
            }
            let Some(values) = rec
                .object
                .as_deref()
                .and_then(|o| o.strip_prefix("settings:"))
            else {
                continue;
            };
            let field = |k: &str| {
                values
                    .split(';')
                    .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
            };
            let recorded = RetentionSettings {
                unexported_limit_ms: field("unexported_limit_ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u64::MAX),
                export_grace_ms: field("export_grace_ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u64::MAX),
                rotate_after_deletions: field("rotate_after_deletions") == Some("true"),
            };
            return Ok(Some(recorded == current));
        }
        if pruned {
            return Ok(None);
        }
        Ok(Some(current == RetentionSettings::default()))
    }

    fn retention_inner(
        &mut self,
        now_unix_ms: u64,
        always_audit: bool,
    ) -> Result<RetentionReport, VaultError> {
        if self.settings_as_audited()? == Some(false) {
            // Fail safe: destroy nothing on settings nobody set through
            // Tacet; say so, and record that it was seen.
            let ev = AuditEvent::new(AuditAction::SettingsChanged, self.actor.clone())
                .object("settings:changed-outside-tacet")
                .outcome(Outcome::Failed);
            self.write(|tx, s| s.append_audit(tx, ev))?;
            return Err(VaultError::BadSetting(
                "the retention settings were changed outside Tacet (they are not what the audit log last recorded); retention is paused until an admin saves them again".into(),
            ));
        }
        let settings = self.settings()?;
        // A row that fails its tag says nothing about the session: its age
        // comes from the audit log, and it is destroyed at the limit for
        // unexported sessions (at once where the log has no creation left:
        // pruned after the floor, or a row Tacet never made).
        let refused = self.refused_session_records()?;
        let mut due: Vec<(SessionId, &'static str, bool)> = Vec::new();
        for id in &refused {
            let created = self.logged_creation_ms(*id)?;
            if created.is_none_or(|c| c.saturating_add(settings.unexported_limit_ms) <= now_unix_ms)
            {
                due.push((*id, "retention", true));
            }
        }
        due.extend({
            let mut st = self.vault.conn.prepare(
                "SELECT id, state, created_at_ms, updated_at_ms, destroy_after_ms FROM sessions WHERE state != 'destroyed' ORDER BY created_at_ms",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u64>(2)?,
                    r.get::<_, u64>(3)?,
                    r.get::<_, Option<u64>>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (id, _state, created, _updated, after) = r?;
                let trigger = match after {
                    Some(t) if t <= now_unix_ms => Some("exported"),
                    Some(_) => None,
                    // Exported but never destroyed nor scheduled: the process
                    // died between recording the export and confirming the
                    // note was written (the destroy follows a successful
                    // write). Whether the note reached its file is unknown,
                    // so the session is kept like an unexported one: the
                    // clinician can export again, and retention still ends
                    // it at the unexported-session limit. Destroying it here
                    // could lose an attested note for good.
                    None if created.saturating_add(settings.unexported_limit_ms) <= now_unix_ms => {
                        Some("retention")
                    }
                    None => None,
                };
                if let Some(t) = trigger {
                    let id = session_id_from(id)?;
                    if !refused.contains(&id) {
                        out.push((id, t, false));
                    }
                }
            }
            out
        });
        let mut report = RetentionReport::default();
        for (id, trigger, refused_row) in due {
            report
                .receipts
                .push(self.destroy_committed(id, trigger, true, refused_row)?);
        }
        if always_audit || !report.receipts.is_empty() {
            let ev = AuditEvent::new(AuditAction::RetentionRun, system_actor())
                .detail(Detail::Count(report.receipts.len() as u64));
            report.audit_seq = Some(self.write(|tx, s| s.append_audit(tx, ev))?);
        }
        if !report.receipts.is_empty() {
            report.rotation = self.finish_deletions()?;
        } else {
            self.write_checkpoint()?;
        }
        Ok(report)
    }

    /// Retention, then a rotation left due, at every unlock. Problems are
    /// kept in [`Self::housekeeping_problem`], never fatal to the unlock.
    pub(crate) fn housekeeping_at_unlock(&mut self) {
        if let Err(e) = self.audit_refused_session_records() {
            self.housekeeping_problem = Some(e.to_string());
            return;
        }
        if let Err(e) = self.retention_inner(now_ms(), false) {
            self.housekeeping_problem = Some(e.to_string());
            return;
        }
        if self.data_master.is_some() && matches!(self.rotation_due(), Ok(true)) {
            if let Err(e) = self.rotate_data_master() {
                self.housekeeping_problem = Some(e.to_string());
            }
        }
    }

    /// Audits every session row that fails its tag, and says so at sign-in
    /// (session_tags.rs). Retention then decides such a session's end from
    /// the audit log.
    fn audit_refused_session_records(&mut self) -> Result<(), VaultError> {
        let refused = self.refused_session_records()?;
        if refused.is_empty() {
            return Ok(());
        }
        self.write(|tx, s| {
            for id in &refused {
                s.append_audit(tx, crate::session_tags::refusal(s, *id))?;
            }
            Ok(())
        })?;
        let names: Vec<String> = refused.iter().map(|id| id.short()).collect();
        self.housekeeping_problem = Some(format!(
            "{} session record(s) were changed outside Tacet ({}): they open for nobody, and retention destroys them at the limit for unexported sessions, reckoned from the audit log",
            refused.len(),
            names.join(", ")
        ));
        Ok(())
    }
}
