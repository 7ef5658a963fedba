//! People's keys change (issue 22, item 9): a passphrase change, which for
//! a clinician also replaces their X25519 key pair, and an admin's removal
//! of an account. Each is one transaction with its audit record.
//!
//! A passphrase that leaks later still opens what an old copy of the vault
//! holds (nothing can reach into a copy); it opens nothing in this one: the
//! old passphrase's salt, wraps and sealed secret are overwritten
//! (`secure_delete`, WAL truncated), and the session keys are wrapped to the
//! new key pair, whose secret only the new passphrase unseals.

use super::*;

impl<'v> Unlocked<'v> {
    /// Changes the signed-in user's passphrase. `current` is asked again
    /// (an unlocked screen left alone must not be enough). For a clinician
    /// the X25519 key pair is replaced too: every session key they own and
    /// the data master are wrapped to the new public key, and their roster
    /// row is tagged again. Returns how many session keys moved.
    pub fn change_passphrase(
        &mut self,
        current: &Passphrase,
        new: &Passphrase,
        kdf: KdfChoice,
    ) -> Result<u64, VaultError> {
        let user = self.actor.user.0.clone();
        let (m, t, p, salt, wam): (u32, u32, u32, Vec<u8>, Vec<u8>) = self.vault.conn.query_row(
            "SELECT kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master FROM users WHERE name = ?1",
            params![user],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let salt: [u8; 16] = salt
            .try_into()
            .map_err(|_| VaultError::Corrupt("a user record has a malformed salt".into()))?;
        let old_key = tacet_crypto::derive_key(
            current,
            &KdfParams {
                m_cost_kib: m,
                t_cost: t,
                p_cost: p,
                salt,
            },
        )?;
        if tacet_crypto::unwrap_key(&old_key, &user_wrap_aad("audit", &user), &wam).is_err() {
            let ev = AuditEvent::new(AuditAction::PassphraseChanged, self.actor.clone())
                .outcome(Outcome::Denied);
            self.write(|tx, s| s.append_audit(tx, ev))?;
            return Err(VaultError::BadCredentials);
        }
        drop(old_key);
        tacet_core::passphrase::check_new(new.danger_expose(), &self.actor.user.0)?;
        let params = kdf.params()?;
        let user_key = tacet_crypto::derive_key(new, &params)?;
        // A fresh salt means a fresh user key: its nonces start again.
        let mut nonces = NonceSequence::new();
        let new_wam = tacet_crypto::wrap_key(
            &user_key,
            nonces.next_nonce()?,
            &user_wrap_aad("audit", &user),
            &self.audit_master,
        )?;
        // A clinician's key pair is replaced with the passphrase.
        struct NewPair {
            pair: pk::KeyPair,
            sealed: Vec<u8>,
            wdm: Vec<u8>,
            tag: Vec<u8>,
            sessions: Vec<(Vec<u8>, Vec<u8>)>,
            covers: Vec<(Vec<u8>, Vec<u8>)>,
        }
        let replaced = match (&self.pair, &self.data_master) {
            (Some(old), Some(dm)) if self.actor.role == Role::Clinician => {
                let pair = pk::KeyPair::generate()?;
                let sealed = tacet_crypto::seal(
                    &user_key,
                    nonces.next_nonce()?,
                    &user_wrap_aad("x25519-secret", &user),
                    pair.secret.as_bytes(),
                )?;
                let master_id = get_meta(&self.vault.conn, "data_master_id")?;
                let wdm = pk::wrap_to(&pair.public, &user, &master_id, dm)?;
                let tag =
                    roster::RosterKey::derive(dm)?.tag(&user, Role::Clinician, &pair.public)?;
                let owned: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = {
                    let mut st = self.vault.conn.prepare(
                        "SELECT id, key_id, wrapped_key FROM sessions WHERE owner = ?1 AND key_wrap = 'owner' AND wrapped_key IS NOT NULL",
                    )?;
                    let r =
                        st.query_map(params![user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    r.collect::<Result<_, _>>()?
                };
                let mut sessions = Vec::with_capacity(owned.len());
                for (sid, key_id, wrapped) in owned {
                    let aad = pk::session_wrap_aad(&user, &sid, &key_id);
                    let key = pk::unwrap_with_aad(old, &aad, &wrapped).map_err(|_| {
                        VaultError::Corrupt(
                            "a session key of yours does not open; nothing was changed".into(),
                        )
                    })?;
                    sessions.push((sid, pk::wrap_to_aad(&pair.public, &aad, &key)?));
                }
                // Colleagues' sessions this clinician covers (covers.rs).
                let covered: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = {
                    let mut st = self.vault.conn.prepare(
                        "SELECT c.session_id, s.key_id, c.wrapped_key FROM session_covers c JOIN sessions s ON s.id = c.session_id WHERE c.clinician = ?1 AND s.wrapped_key IS NOT NULL",
                    )?;
                    let r =
                        st.query_map(params![user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    r.collect::<Result<_, _>>()?
                };
                let mut covers = Vec::with_capacity(covered.len());
                for (sid, key_id, wrapped) in covered {
                    let aad = pk::session_wrap_aad(&user, &sid, &key_id);
                    let key = pk::unwrap_with_aad(old, &aad, &wrapped).map_err(|_| {
                        VaultError::Corrupt(
                            "a session key you cover does not open; nothing was changed".into(),
                        )
                    })?;
                    covers.push((sid, pk::wrap_to_aad(&pair.public, &aad, &key)?));
                }
                Some(NewPair {
                    pair,
                    sealed,
                    wdm,
                    tag,
                    sessions,
                    covers,
                })
            }
            _ => None,
        };
        let moved = replaced.as_ref().map_or(0, |r| r.sessions.len() as u64);
        let ev = AuditEvent::new(AuditAction::PassphraseChanged, self.actor.clone())
            .object(format!("user:{user}"))
            .detail(Detail::Count(moved));
        self.write(|tx, s| {
            tx.execute(
                "UPDATE users SET kdf_m_kib = ?2, kdf_t = ?3, kdf_p = ?4, kdf_salt = ?5, wrapped_audit_master = ?6, wrapped_data_master = NULL, failed_attempts = 0 WHERE name = ?1",
                params![user, params.m_cost_kib, params.t_cost, params.p_cost, params.salt.to_vec(), new_wam],
            )?;
            if let Some(r) = &replaced {
                tx.execute(
                    "UPDATE users SET x25519_public = ?2, sealed_x25519_secret = ?3, wrapped_data_master_pk = ?4, roster_tag = ?5 WHERE name = ?1",
                    params![user, r.pair.public.to_vec(), r.sealed, r.wdm, r.tag],
                )?;
                for (sid, w) in &r.sessions {
                    tx.execute(
                        "UPDATE sessions SET wrapped_key = ?2 WHERE id = ?1",
                        params![sid, w],
                    )?;
                }
                for (sid, w) in &r.covers {
                    tx.execute(
                        "UPDATE session_covers SET wrapped_key = ?3 WHERE session_id = ?1 AND clinician = ?2",
                        params![sid, user, w],
                    )?;
                }
            }
            s.append_audit(tx, ev)
        })?;
        if let Some(r) = replaced {
            self.pair = Some(r.pair);
        }
        // The old salt, wraps and sealed secret leave the WAL too.
        self.checkpoint_wal()?;
        Ok(moved)
    }

    /// Removes an account (admins only, audited as `user.removed`). Refused
    /// for oneself, for the last clinician (only a clinician enrols
    /// another), and for a clinician who still owns a session that is not
    /// destroyed (its key opens only with their passphrase). A removed
    /// clinician held the data master, so it is rotated at the next
    /// clinician unlock.
    pub fn remove_user(&mut self, name: &str) -> Result<(), VaultError> {
        let refuse = |s: &mut Self, why: String| -> Result<(), VaultError> {
            let ev = AuditEvent::new(AuditAction::UserRemoved, s.actor.clone())
                .object(format!("user:{name}"))
                .outcome(Outcome::Denied);
            s.write(|tx, s| s.append_audit(tx, ev))?;
            Err(StoreError::Denied(why).into())
        };
        if self.actor.role != Role::Admin {
            return refuse(self, "only an admin can remove an account".into());
        }
        if name == self.actor.user.0 {
            return refuse(
                self,
                "you cannot remove your own account; another admin can".into(),
            );
        }
        let role: Option<String> = self
            .vault
            .conn
            .query_row(
                "SELECT role FROM users WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(role) = role.as_deref().and_then(Role::parse) else {
            return Err(StoreError::Denied(format!("there is no user {name}")).into());
        };
        if role == Role::Clinician {
            let clinicians: i64 = self.vault.conn.query_row(
                "SELECT COUNT(*) FROM users WHERE role = 'clinician'",
                [],
                |r| r.get(0),
            )?;
            if clinicians <= 1 {
                return refuse(
                    self,
                    format!("{name} is the last clinician; enrol another clinician first (only a clinician can)"),
                );
            }
            let open: i64 = self.vault.conn.query_row(
                "SELECT COUNT(*) FROM sessions WHERE owner = ?1 AND state != 'destroyed'",
                params![name],
                |r| r.get(0),
            )?;
            if open > 0 {
                return refuse(
                    self,
                    format!("{name} still owns {open} session(s) that are not destroyed; they open only with {name}'s passphrase, so export or discard them first"),
                );
            }
        }
        let ev = AuditEvent::new(AuditAction::UserRemoved, self.actor.clone())
            .object(format!("user:{name}:{role}"));
        self.write(|tx, s| {
            tx.execute("DELETE FROM users WHERE name = ?1", params![name])?;
            tx.execute(
                "DELETE FROM session_covers WHERE clinician = ?1",
                params![name],
            )?;
            if role == Role::Clinician {
                set_meta(tx, "rotation_due", &[1])?;
            }
            s.append_audit(tx, ev)
        })?;
        self.write_checkpoint()?;
        self.checkpoint_wal()?;
        Ok(())
    }
}

/// What the audit log says about an account's role: the latest successful
/// `user.added` or `user.removed` naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoggedRole {
    Added(Role),
    Removed,
    /// No record names the account. `pruned` says whether records older
    /// than the retention floor have been pruned (their content is gone, so
    /// an account that old can no longer be checked).
    Absent {
        pruned: bool,
    },
}

/// The role the audit log gave `user` (issue 22: a role raised by editing
/// the `users` table must not bring powers). Every account is added through
/// [`Unlocked::add_user_inner`], which logs `user:{name}:{role}` in the same
/// transaction, so the log (append-only, signed, anchored) is the witness
/// an editor of the row cannot rewrite without `tacet audit verify` seeing
/// it. Rows are prefiltered in SQL by the object's bytes, which the record
/// encoding stores as they are.
pub(crate) fn logged_role(conn: &Connection, user: &str) -> Result<LoggedRole, VaultError> {
    let added = AuditAction::UserAdded.code();
    let removed = AuditAction::UserRemoved.code();
    let prefix = format!("user:{user}:");
    let logged = crate::report::find_in_log(
        conn,
        prefix.as_bytes(),
        crate::report::LogEnd::Newest,
        |rec| {
            if rec.outcome != Outcome::Success.as_str() {
                return None;
            }
            let rest = rec.object.as_deref()?.strip_prefix(&prefix)?;
            if rec.action == removed {
                Some(LoggedRole::Removed)
            } else if rec.action == added {
                Some(match Role::parse(rest) {
                    Some(r) => LoggedRole::Added(r),
                    None => LoggedRole::Absent { pruned: false },
                })
            } else {
                None
            }
        },
    )?;
    if let Some(found) = logged {
        return Ok(found);
    }
    let pruned: i64 = conn.query_row(
        "SELECT count(*) FROM audit_log WHERE length(record) = 0",
        [],
        |r| r.get(0),
    )?;
    Ok(LoggedRole::Absent { pruned: pruned > 0 })
}

/// Why an account's row may not be used, if it disagrees with the log.
pub(crate) fn role_refusal(user: &str, row_role: Role, logged: LoggedRole) -> Option<String> {
    match logged {
        LoggedRole::Added(r) if r == row_role => None,
        LoggedRole::Added(r) => Some(format!(
            "the account {user} is recorded as {row_role} in the vault file but the audit log added it as {r}: the file was edited outside Tacet; the account was not signed in and the attempt is in the audit log"
        )),
        LoggedRole::Removed => Some(format!(
            "the account {user} was removed (the audit log says so) but is back in the vault file: the file was edited outside Tacet; the account was not signed in and the attempt is in the audit log"
        )),
        // An account older than the retention floor whose record was pruned.
        LoggedRole::Absent { pruned: true } => None,
        LoggedRole::Absent { pruned: false } => Some(format!(
            "the account {user} is in the vault file but the audit log never added it: the file was edited outside Tacet; the account was not signed in and the attempt is in the audit log"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_must_carry_the_role_the_log_gave() {
        let c = Role::Clinician;
        let a = Role::Admin;
        assert_eq!(role_refusal("drlee", c, LoggedRole::Added(c)), None);
        assert_eq!(role_refusal("root", a, LoggedRole::Added(a)), None);
        let raised = role_refusal("drlee", a, LoggedRole::Added(c)).unwrap_or_default();
        assert!(raised.contains("recorded as admin") && raised.contains("added it as clinician"));
        let back = role_refusal("drkim", c, LoggedRole::Removed).unwrap_or_default();
        assert!(back.contains("was removed"), "{back}");
        let planted = role_refusal("mallory", a, LoggedRole::Absent { pruned: false });
        assert!(planted.unwrap_or_default().contains("never added it"));
        // Older than the retention floor, its record pruned: not checkable.
        assert_eq!(
            role_refusal("drold", c, LoggedRole::Absent { pruned: true }),
            None
        );
    }
}
