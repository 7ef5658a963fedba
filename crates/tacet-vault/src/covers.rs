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
//! `session.cover_revoked`). A colleague with a cover sees the session in
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
    pub fn revoke_cover(&mut self, id: SessionId, colleague: &str) -> Result<bool, VaultError> {
        self.owned_session(id, "stop sharing")?;
        let ev = AuditEvent::new(AuditAction::CoverRevoked, self.actor.clone())
            .session(id)
            .object(format!("user:{colleague}"));
        let n = self.write(|tx, s| {
            let n = tx.execute(
                "DELETE FROM session_covers WHERE session_id = ?1 AND clinician = ?2",
                params![id.as_bytes().to_vec(), colleague],
            )?;
            if n > 0 {
                s.append_audit(tx, ev)?;
            }
            Ok(n)
        })?;
        if n > 0 {
            // The wrap leaves the WAL too, not only the table.
            self.checkpoint_wal()?;
        }
        Ok(n > 0)
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
