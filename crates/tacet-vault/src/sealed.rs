//! A session's sealed rows: its row read and checked (owner, tag), its
//! key unwrapped, each artifact sealed under it with associated data that
//! binds session, kind, index and key, read back and opened, and the checks
//! that a sealed sequence was neither cut short nor swapped.

use super::*;

impl Unlocked<'_> {
    pub(crate) fn load_session(&self, id: SessionId) -> Result<SessionRow, VaultError> {
        self.load_session_as(id, true)
    }

    /// `check_owner = false` is for the system's own work (retention).
    pub(crate) fn load_session_as(
        &self,
        id: SessionId,
        check_owner: bool,
    ) -> Result<SessionRow, VaultError> {
        let row = self
            .vault
            .conn
            .query_row(
                "SELECT owner, state, template_id, created_at_ms, key_id, wrapped_key, nonce_counter, receipt_id, key_wrap FROM sessions WHERE id = ?1",
                params![id.as_bytes().to_vec()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, u64>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, Option<Vec<u8>>>(5)?,
                        r.get::<_, u64>(6)?,
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, String>(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            owner,
            state,
            template_id,
            created_at_ms,
            key_id,
            wrapped_key,
            nonce_counter,
            receipt_id,
            key_wrap,
        )) = row
        else {
            return Err(StoreError::NoSuchSession(id.to_string()).into());
        };
        // A clinician sees only their own sessions and those a colleague let
        // them cover; to them, another's does not exist.
        let cover_wrap = if self.actor.role == Role::Clinician && owner != self.actor.user.0 {
            covers::cover_wrap(&self.vault.conn, id, &self.actor.user.0)?
        } else {
            None
        };
        if check_owner
            && self.actor.role == Role::Clinician
            && owner != self.actor.user.0
            && cover_wrap.is_none()
        {
            return Err(StoreError::NoSuchSession(id.to_string()).into());
        }
        // The system's own work (retention) reads a refused row's age from
        // the audit log instead (session_tags.rs); everyone else is refused.
        if check_owner && !self.session_record_verifies(id)? {
            return Err(StoreError::Integrity(record_refused(id)).into());
        }
        let state = SessionState::parse(&state)
            .ok_or_else(|| VaultError::Corrupt("a session has an unknown state".into()))?;
        Ok(SessionRow {
            owner,
            state,
            template_id,
            created_at_ms,
            key_id,
            wrapped_key,
            owner_wrapped: key_wrap == "owner",
            cover_wrap,
            nonce_counter,
            receipt_id,
        })
    }

    /// Puts a session's key back under the data master, as a vault from
    /// before schema 3 held it. For the migration tests only.
    #[doc(hidden)]
    pub fn wrap_under_master_for_tests(&mut self, id: SessionId) -> Result<(), VaultError> {
        let row = self.load_session(id)?;
        let key = self.session_key(id, &row)?;
        let dm = self
            .data_master
            .clone()
            .ok_or_else(|| StoreError::Denied("this user holds no data key".into()))?;
        let w = tacet_crypto::wrap_key(
            &dm,
            NonceSequence::new().next_nonce()?,
            &session_key_aad(id, &row.key_id),
            &key,
        )?;
        self.write(|tx, _| {
            tx.execute(
                "UPDATE sessions SET wrapped_key = ?2, key_wrap = 'master' WHERE id = ?1",
                params![id.as_bytes().to_vec(), w],
            )?;
            Ok(())
        })
    }

    pub(crate) fn session_key(
        &self,
        id: SessionId,
        row: &SessionRow,
    ) -> Result<Key256, VaultError> {
        let denied = || {
            StoreError::Denied(
                "an admin cannot open patient data; sign in as the session's clinician".into(),
            )
        };
        let wrapped = row.wrapped_key.as_ref().ok_or_else(|| {
            StoreError::Denied(format!(
                "session {} was destroyed; its key no longer exists",
                id.short()
            ))
        })?;
        if row.owner_wrapped {
            // Wrapped to the owner's public key: only the owner's secret
            // opens it, and only under the owner's own name.
            let pair = self.pair.as_ref().ok_or_else(denied)?;
            if self.actor.role != Role::Clinician {
                return Err(denied().into());
            }
            if row.owner != self.actor.user.0 {
                // A covering colleague: the wrap the owner made for them.
                let cover = row.cover_wrap.as_ref().ok_or_else(denied)?;
                let aad = pk::session_wrap_aad(&self.actor.user.0, id.as_bytes(), &row.key_id);
                return pk::unwrap_with_aad(pair, &aad, cover).map_err(|_| {
                    VaultError::Corrupt(format!(
                        "session {}'s key does not open with {}'s key (changed outside Tacet?)",
                        id.short(),
                        self.actor.user.0
                    ))
                });
            }
            let aad = pk::session_wrap_aad(&row.owner, id.as_bytes(), &row.key_id);
            return pk::unwrap_with_aad(pair, &aad, wrapped).map_err(|_| {
                VaultError::Corrupt(format!(
                    "session {}'s key does not open with {}'s key (changed outside Tacet?)",
                    id.short(),
                    row.owner
                ))
            });
        }
        let dm = self.data_master.as_ref().ok_or_else(denied)?;
        Ok(tacet_crypto::unwrap_key(
            dm,
            &session_key_aad(id, &row.key_id),
            wrapped,
        )?)
    }

    /// Seals `items` (kind, idx, last, plaintext) under the session's key,
    /// moves the session through `transition`, and records `ev`, all in one
    /// transaction. Replaces existing items of the same kind when `replace`.
    pub(crate) fn put_sealed(
        &mut self,
        id: SessionId,
        transition: Option<Transition>,
        replace_kinds: &[&str],
        items: &[(&str, u64, bool, &[u8])],
        ev: AuditEvent,
    ) -> Result<u64, VaultError> {
        let row = self.load_session(id)?;
        let next_state = match transition {
            Some(t) => row.state.apply(t).map_err(StoreError::from)?,
            None => row.state,
        };
        let key = self.session_key(id, &row)?;
        let mut nonces = NonceSequence::resume(row.nonce_counter)?;
        let mut sealed = Vec::with_capacity(items.len());
        for (kind, idx, last, pt) in items {
            let aad = artifact_aad(id, kind, *idx, *last, &row.key_id);
            sealed.push((
                *kind,
                *idx,
                *last,
                tacet_crypto::seal(&key, nonces.next_nonce()?, &aad, pt)?,
            ));
        }
        let counter = nonces.next_counter();
        self.write(|tx, s| {
            for kind in replace_kinds {
                tx.execute(
                    "DELETE FROM artifacts WHERE session_id = ?1 AND kind = ?2",
                    params![id.as_bytes().to_vec(), kind],
                )?;
            }
            for (kind, idx, last, blob) in &sealed {
                tx.execute(
                    "INSERT INTO artifacts (session_id, kind, idx, final, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id.as_bytes().to_vec(), kind, *idx as i64, i64::from(*last), blob],
                )?;
            }
            tx.execute(
                "UPDATE sessions SET state = ?2, nonce_counter = ?3, updated_at_ms = ?4 WHERE id = ?1",
                params![id.as_bytes().to_vec(), next_state.as_str(), counter as i64, now_ms()],
            )?;
            s.audit_change(tx, id, ev)
        })
    }

    pub(crate) fn read_sealed(
        &self,
        id: SessionId,
        kind: &str,
    ) -> Result<Vec<OpenedItem>, VaultError> {
        let row = self.load_session(id)?;
        let key = self.session_key(id, &row)?;
        let mut st = self
            .vault
            .conn
            .prepare("SELECT idx, final, sealed FROM artifacts WHERE session_id = ?1 AND kind = ?2 ORDER BY idx")?;
        let rows = st.query_map(params![id.as_bytes().to_vec(), kind], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (idx, last, blob) = r?;
            let aad = artifact_aad(id, kind, idx as u64, last != 0, &row.key_id);
            let pt = tacet_crypto::open(&key, &aad, &blob).map_err(|_| {
                StoreError::Integrity(format!(
                    "session {} {kind} item {idx} failed to decrypt (altered or moved)",
                    id.short()
                ))
            })?;
            out.push((idx as u64, pt));
        }
        Ok(out)
    }

    pub(crate) fn read_one(
        &self,
        id: SessionId,
        kind: &str,
        missing: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, VaultError> {
        self.read_sealed(id, kind)?
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .ok_or_else(|| StoreError::Denied(missing.to_string()).into())
    }

    /// A finished recording ends with the chunk sealed with the final flag
    /// (bound into its associated data, so the flag cannot be set on another
    /// chunk): rows removed from the end of it are a cut, not a shorter
    /// visit. Only a recording still going (or interrupted), or one the
    /// audit log says was recovered without its final chunk, may end
    /// without one.
    pub(crate) fn check_final_chunk(
        &self,
        id: SessionId,
        last: Option<u64>,
    ) -> Result<(), VaultError> {
        let row = self.load_session(id)?;
        if matches!(
            row.state,
            SessionState::Created | SessionState::Recording | SessionState::Interrupted
        ) {
            return Ok(());
        }
        let final_idx: Option<i64> = self.vault.conn.query_row(
            "SELECT MAX(idx) FROM artifacts WHERE session_id = ?1 AND kind = 'audio' AND final = 1",
            params![id.as_bytes().to_vec()],
            |r| r.get(0),
        )?;
        if final_idx.is_some() && final_idx.map(|i| i as u64) == last {
            return Ok(());
        }
        let session = hex::encode(id.as_bytes());
        let recovered = AuditAction::RecordingRecovered.code();
        let logged = report::find_in_log(
            &self.vault.conn,
            session.as_bytes(),
            report::LogEnd::Newest,
            |rec| {
                (rec.session.as_deref() == Some(session.as_str())
                    && rec.action == recovered
                    && rec.object.as_deref() == Some("final-chunk-missing"))
                .then_some(())
            },
        )?;
        if logged.is_some() {
            return Ok(());
        }
        Err(StoreError::Integrity(format!(
            "session {}'s recording has lost its end: the chunk sealed as the last one is not there (rows removed from the vault file?)",
            id.short()
        ))
        .into())
    }

    /// The note and attestation rows are sealed under the session key with
    /// the same associated data at every attestation, so an editor of the
    /// file could put back a superseded attested note (copied from an older
    /// copy of the vault) and have it exported. The audit log says which
    /// note was attested last: the newest successful `draft_created` or
    /// `review_attested` record of this session must be an attestation of
    /// exactly this note. A redraft after it, or another note's hash, is
    /// tampering.
    pub(crate) fn check_last_attested(
        &self,
        id: SessionId,
        note_sha256: [u8; 32],
    ) -> Result<(), VaultError> {
        let session = hex::encode(id.as_bytes());
        let draft = AuditAction::DraftCreated.code();
        let attested = AuditAction::ReviewAttested.code();
        // The newest draft or attestation of the session decides.
        let last_is_this_note = report::find_in_log(
            &self.vault.conn,
            session.as_bytes(),
            report::LogEnd::Newest,
            |rec| {
                (rec.session.as_deref() == Some(session.as_str())
                    && rec.outcome == Outcome::Success.as_str()
                    && (rec.action == draft || rec.action == attested))
                    .then(|| rec.action == attested && rec.content_sha256 == Some(note_sha256))
            },
        )?;
        if last_is_this_note == Some(true) {
            return Ok(());
        }
        Err(StoreError::Integrity(format!(
            "session {}: the stored attested note is not the one the audit log says was attested last (put back from an older copy of the vault?)",
            id.short()
        ))
        .into())
    }
}
