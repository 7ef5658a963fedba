//! Covering clinicians (issue 22, item 2): a session's owner may let a named
//! colleague open it — to finish, attest and export the note when the owner
//! is away — without any key every clinician holds.
//!
//! The owner unwraps the session key with their own secret and wraps it to
//! the colleague's X25519 public key, read from a roster row whose tag
//! verifies under the data master and whose role the audit log confirms;
//! the associated data binds the colleague's name, the session and the key
//! id (the same shape as the owner's wrap). The wrap sits in
//! `session_covers`, one row per colleague; only the owner grants or takes
//! back a cover, and each is an audit record (`session.cover_granted`,
//! `session.cover_revoked`). Taking a cover back re-keys the session, since
//! the colleague held its key unwrapped while covering. A colleague with a cover sees the session in
//! their list and acts on it as themselves (their name on every record).
//!
//! Destroying the session deletes its covers in the same transaction as its
//! key, so crypto-shredding stays whole; a passphrase change wraps the
//! colleague's covers to their new key pair; removing an account removes
//! the covers it held. A cover row planted in the file opens nothing: only
//! the session key's holder can make a wrap that opens.

use super::*;

/// The wrap of session `id`'s key for `clinician`, if the owner granted one.
pub(crate) fn cover_wrap(
    conn: &Connection,
    id: SessionId,
    clinician: &str,
) -> Result<Option<Vec<u8>>, VaultError> {
    Ok(conn
        .query_row(
            "SELECT wrapped_key FROM session_covers WHERE session_id = ?1 AND clinician = ?2",
            params![id.as_bytes().to_vec(), clinician],
            |r| r.get(0),
        )
        .optional()?)
}

impl Unlocked<'_> {
    /// Lets `colleague`, a clinician, open session `id`. Only the session's
    /// owner may, while the session exists; audited.
    pub fn grant_cover(&mut self, id: SessionId, colleague: &str) -> Result<(), VaultError> {
        let row = self.owned_session(id, "share")?;
        if colleague == self.actor.user.0 {
            return Err(StoreError::Denied("you already own this session".into()).into());
        }
        let public = self.verified_clinician_key(colleague)?;
        let key = self.session_key(id, &row)?;
        let aad = pk::session_wrap_aad(colleague, id.as_bytes(), &row.key_id);
        let wrapped = pk::wrap_to_aad(&public, &aad, &key)?;
        drop(key);
        let ev = AuditEvent::new(AuditAction::CoverGranted, self.actor.clone())
            .session(id)
            .object(format!("user:{colleague}"));
        self.write(|tx, s| {
            tx.execute(
                "INSERT INTO session_covers (session_id, clinician, wrapped_key, granted_at_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(session_id, clinician) DO UPDATE SET wrapped_key = excluded.wrapped_key, granted_at_ms = excluded.granted_at_ms",
                params![id.as_bytes().to_vec(), colleague, wrapped, now_ms()],
            )?;
            s.append_audit(tx, ev)
        })?;
        Ok(())
    }

    /// Takes back `colleague`'s cover of session `id` (owner only; audited).
    /// Returns whether there was one.
    ///
    /// Removing the wrap is not enough: while covering, the colleague held
    /// the session key unwrapped and could have kept it. So the session is
    /// re-keyed in the same transaction: every sealed row is opened and
    /// sealed again under a new key with a new key id, wrapped to the owner
    /// and to the colleagues still covering; the old ciphertexts and wraps
    /// are overwritten (`secure_delete`) and the WAL truncated. A key kept
    /// from before opens nothing left in the file.
    pub fn revoke_cover(&mut self, id: SessionId, colleague: &str) -> Result<bool, VaultError> {
        let row = self.owned_session(id, "stop sharing")?;
        if cover_wrap(&self.vault.conn, id, colleague)?.is_none() {
            return Ok(false);
        }
        let old = self.session_key(id, &row)?;
        let pair = self
            .pair
            .as_ref()
            .ok_or_else(|| StoreError::Denied("this user holds no data key".into()))?;
        let key_id: [u8; 16] = tacet_crypto::random_bytes()?;
        let key = Key256::generate()?;
        let mut nonces = NonceSequence::new();
        type Sealed = (String, i64, i64, Vec<u8>);
        let rows: Vec<Sealed> = {
            let mut st = self.vault.conn.prepare(
                "SELECT kind, idx, final, sealed FROM artifacts WHERE session_id = ?1 ORDER BY kind, idx",
            )?;
            let r = st.query_map(params![id.as_bytes().to_vec()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            r.collect::<Result<_, _>>()?
        };
        let mut resealed = Vec::with_capacity(rows.len());
        for (kind, idx, last, blob) in rows {
            let pt = tacet_crypto::open(
                &old,
                &artifact_aad(id, &kind, idx as u64, last != 0, &row.key_id),
                &blob,
            )
            .map_err(|_| {
                StoreError::Integrity(format!(
                    "session {} {kind} item {idx} failed to decrypt (altered or moved)",
                    id.short()
                ))
            })?;
            let sealed = tacet_crypto::seal(
                &key,
                nonces.next_nonce()?,
                &artifact_aad(id, &kind, idx as u64, last != 0, &key_id),
                &pt,
            )?;
            resealed.push((kind, idx, sealed));
        }
        drop(old);
        let owner_wrap = pk::wrap_to_aad(
            &pair.public,
            &pk::session_wrap_aad(&self.actor.user.0, id.as_bytes(), &key_id),
            &key,
        )?;
        // The colleagues still covering keep their cover, under the new key.
        let others: Vec<(String, i64)> = {
            let mut st = self.vault.conn.prepare(
                "SELECT clinician, granted_at_ms FROM session_covers WHERE session_id = ?1 AND clinician != ?2 ORDER BY clinician",
            )?;
            let r = st.query_map(params![id.as_bytes().to_vec(), colleague], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            r.collect::<Result<_, _>>()?
        };
        let mut kept = Vec::with_capacity(others.len());
        for (name, granted) in others {
            // A colleague whose account was changed outside Tacet loses the
            // cover (the refusal is audited where it is found).
            if let Ok(public) = self.verified_clinician_key(&name) {
                let aad = pk::session_wrap_aad(&name, id.as_bytes(), &key_id);
                kept.push((name, pk::wrap_to_aad(&public, &aad, &key)?, granted));
            }
        }
        drop(key);
        let counter = nonces.next_counter();
        let ev = AuditEvent::new(AuditAction::CoverRevoked, self.actor.clone())
            .session(id)
            .object(format!("user:{colleague}"))
            .detail(Detail::KeyId(key_id));
        self.write(|tx, s| {
            let idb = id.as_bytes().to_vec();
            for (kind, idx, sealed) in &resealed {
                tx.execute(
                    "UPDATE artifacts SET sealed = ?4 WHERE session_id = ?1 AND kind = ?2 AND idx = ?3",
                    params![idb, kind, idx, sealed],
                )?;
            }
            tx.execute(
                "UPDATE sessions SET key_id = ?2, wrapped_key = ?3, nonce_counter = ?4, key_wrap = 'owner' WHERE id = ?1",
                params![idb, key_id.to_vec(), owner_wrap, counter as i64],
            )?;
            tx.execute("DELETE FROM session_covers WHERE session_id = ?1", params![idb])?;
            for (name, wrap, granted) in &kept {
                tx.execute(
                    "INSERT INTO session_covers (session_id, clinician, wrapped_key, granted_at_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![idb, name, wrap, granted],
                )?;
            }
            s.append_audit(tx, ev)
        })?;
        // The old ciphertexts and wraps leave the WAL too, not only the
        // tables.
        self.checkpoint_wal()?;
        Ok(true)
    }

    /// The colleagues who may open session `id` besides its owner (the
    /// owner and every coverer may ask).
    pub fn covers(&self, id: SessionId) -> Result<Vec<String>, VaultError> {
        self.load_session(id)?;
        let mut st = self.vault.conn.prepare(
            "SELECT clinician FROM session_covers WHERE session_id = ?1 ORDER BY clinician",
        )?;
        let rows = st.query_map(params![id.as_bytes().to_vec()], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn owned_session(&self, id: SessionId, what: &str) -> Result<SessionRow, VaultError> {
        let row = self.load_session(id)?;
        if self.actor.role != Role::Clinician || row.owner != self.actor.user.0 {
            return Err(StoreError::Denied(format!(
                "only the clinician who owns a session can {what} it"
            ))
            .into());
        }
        if row.wrapped_key.is_none() {
            return Err(StoreError::Denied(format!(
                "session {} was destroyed; there is nothing to {what}",
                id.short()
            ))
            .into());
        }
        Ok(row)
    }

    /// A colleague's public key, from a roster row that is a clinician's by
    /// its tag (under the data master) and by the audit log.
    fn verified_clinician_key(&self, name: &str) -> Result<[u8; 32], VaultError> {
        let dm = self
            .data_master
            .as_ref()
            .ok_or_else(|| StoreError::Denied("this user holds no data key".into()))?;
        type Row = (String, Option<Vec<u8>>, Option<Vec<u8>>);
        let row: Option<Row> = self
            .vault
            .conn
            .query_row(
                "SELECT role, x25519_public, roster_tag FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let not_a_clinician =
            || StoreError::Denied(format!("{name} is not a clinician of this practice"));
        let Some((role, Some(public), tag)) = row else {
            return Err(not_a_clinician().into());
        };
        if Role::parse(&role) != Some(Role::Clinician) {
            return Err(not_a_clinician().into());
        }
        let tag_ok =
            roster::RosterKey::derive(dm)?.verifies(name, Role::Clinician, &public, tag.as_deref());
        let logged = people::logged_role(&self.vault.conn, name)?;
        if !tag_ok || people::role_refusal(name, Role::Clinician, logged).is_some() {
            let ev = AuditEvent::new(AuditAction::RosterRowRefused, self.actor.clone())
                .object(format!("user:{name}"))
                .outcome(Outcome::Denied);
            self.write(|tx, s| s.append_audit(tx, ev))?;
            return Err(StoreError::Integrity(format!(
                "{name}'s account was changed outside Tacet; the session was not shared and the attempt is in the audit log"
            ))
            .into());
        }
        <[u8; 32]>::try_from(public.as_slice())
            .map_err(|_| VaultError::Corrupt(format!("{name}'s public key is malformed")))
    }
}
