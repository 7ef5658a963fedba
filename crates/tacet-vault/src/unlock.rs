//! Unlocking: the passphrase checked (a wrong one only counts and is
//! throttled), the user's keys unwrapped, and the housekeeping that runs
//! under the same lock — a legacy roster sealed, legacy session keys
//! re-wrapped to their owners, retention, a rotation left due.

use super::*;

impl Vault {
    /// Unlocks as `user`. A wrong passphrase changes nothing but the failure
    /// count (and a pending audit record), and is throttled after repeats.
    ///
    /// After a successful unlock the vault does its housekeeping under the
    /// same lock: sessions past the retention limit or their export grace
    /// period are destroyed (actor `system`, trigger `retention` or
    /// `exported`), and a clinician finishes a master-key rotation left due
    /// by an earlier deletion. A v1 clinician record is upgraded to a key
    /// pair here, the only moment its passphrase key is at hand.
    pub fn unlock(&mut self, user: &str, pass: &Passphrase) -> Result<Unlocked<'_>, VaultError> {
        let row = self
            .conn
            .query_row(
                "SELECT role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_data_master, wrapped_audit_master, failed_attempts, last_failed_at_ms, sealed_x25519_secret, wrapped_data_master_pk FROM users WHERE name = ?1",
                params![user],
                |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, u32>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, u32>(3)?,
                            r.get::<_, Vec<u8>>(4)?,
                        ),
                        r.get::<_, Option<Vec<u8>>>(5)?,
                        r.get::<_, Vec<u8>>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, u64>(8)?,
                        r.get::<_, Option<Vec<u8>>>(9)?,
                        r.get::<_, Option<Vec<u8>>>(10)?,
                    ))
                },
            )
            .optional()?;
        let Some(((role, m, t, p, salt), wdm, wam, failed, last_failed, sealed_secret, wdm_pk)) =
            row
        else {
            self.note_failed_unlock(user, false)?;
            return Err(VaultError::BadCredentials);
        };
        if failed >= THROTTLE_AFTER {
            let elapsed = now_ms().saturating_sub(last_failed);
            if elapsed < THROTTLE_MS {
                return Err(VaultError::Throttled {
                    wait_s: (THROTTLE_MS - elapsed).div_ceil(1000),
                });
            }
        }
        let salt: [u8; 16] = salt
            .try_into()
            .map_err(|_| VaultError::Corrupt("a user record has a malformed salt".into()))?;
        let params = KdfParams {
            m_cost_kib: m,
            t_cost: t,
            p_cost: p,
            salt,
        };
        let user_key = tacet_crypto::derive_key(pass, &params)?;
        let audit_master =
            match tacet_crypto::unwrap_key(&user_key, &user_wrap_aad("audit", user), &wam) {
                Ok(k) => k,
                Err(CryptoError::Open) => {
                    self.note_failed_unlock(user, true)?;
                    return Err(VaultError::BadCredentials);
                }
                Err(e) => return Err(e.into()),
            };
        let role = Role::parse(&role)
            .ok_or_else(|| VaultError::Corrupt("a user record has an unknown role".into()))?;
        // The data master: through the key pair (v2), or the v1 symmetric
        // wrap, which is then upgraded in the unlock transaction below.
        let mut upgrade: Option<(pk::KeyPair, Vec<u8>)> = None;
        let mut own_pair: Option<pk::KeyPair> = None;
        let data_master = match (sealed_secret, wdm_pk, wdm) {
            (Some(sealed), Some(w), _) => {
                let secret =
                    tacet_crypto::open(&user_key, &user_wrap_aad("x25519-secret", user), &sealed)?;
                let pair = pk::KeyPair::from_secret_bytes(&secret)?;
                let master_id = get_meta(&self.conn, "data_master_id")?;
                let dm = pk::unwrap_with(&pair, user, &master_id, &w).map_err(|_| {
                    VaultError::Corrupt(format!(
                        "the data key wrapped for user {user} does not open"
                    ))
                })?;
                own_pair = (role == Role::Clinician).then_some(pair);
                Some(dm)
            }
            (_, _, Some(w)) if role == Role::Clinician => {
                let dm = tacet_crypto::unwrap_key(&user_key, &user_wrap_aad("data", user), &w)?;
                let pair = pk::KeyPair::generate()?;
                // Nonce 2 under this user key: 0 and 1 went to the v1 wraps.
                let sealed = tacet_crypto::seal(
                    &user_key,
                    NonceSequence::resume(2)?.next_nonce()?,
                    &user_wrap_aad("x25519-secret", user),
                    pair.secret.as_bytes(),
                )?;
                own_pair = Some(pk::KeyPair::from_secret_bytes(pair.secret.as_bytes())?);
                upgrade = Some((pair, sealed));
                Some(dm)
            }
            _ => None,
        };
        drop(user_key);
        // Only a clinician acts with the data key: a clinician row edited
        // to `admin` in the file gets none (issue 22, item 2).
        let data_master = data_master.filter(|_| role == Role::Clinician);
        let actor = Actor::new(user, role);
        let mut u = Unlocked {
            vault: self,
            actor: actor.clone(),
            data_master,
            pair: own_pair,
            audit_master,
            started: Instant::now(),
            housekeeping_problem: None,
            generations: Default::default(),
        };
        // The row's role must be the one the audit log gave the account: a
        // role raised (or an account inserted or put back) by editing the
        // file brings no powers; the attempt is audited as tampering.
        let logged = people::logged_role(&u.vault.conn, user)?;
        if let Some(why) = people::role_refusal(user, role, logged) {
            let ev = AuditEvent::new(AuditAction::RosterRowRefused, actor.clone())
                .object(format!("user:{user}:{role}"))
                .outcome(Outcome::Denied);
            u.write(|tx, s| s.append_audit(tx, ev))?;
            return Err(StoreError::Integrity(why).into());
        }
        u.write(|tx, s| {
            tx.execute("UPDATE users SET failed_attempts = 0 WHERE name = ?1", params![user])?;
            if let (Some((pair, sealed)), Some(dm)) = (&upgrade, &s.data_master) {
                let master_id = match get_meta(tx, "data_master_id") {
                    Ok(id) => id,
                    Err(_) => {
                        let id = tacet_crypto::random_bytes::<16>()?.to_vec();
                        set_meta(tx, "data_master_id", &id)?;
                        id
                    }
                };
                let w = pk::wrap_to(&pair.public, user, &master_id, dm)?;
                let tag = roster::RosterKey::derive(dm)?.tag(user, Role::Clinician, &pair.public)?;
                tx.execute(
                    "UPDATE users SET x25519_public = ?2, sealed_x25519_secret = ?3, wrapped_data_master_pk = ?4, wrapped_data_master = NULL, roster_tag = ?5 WHERE name = ?1",
                    params![user, pair.public.to_vec(), sealed, w, tag],
                )?;
            }
            session_tags::seal_once(tx, s)?;
            if let Some(dm) = &s.data_master {
                seal_roster_once(tx, s, dm)?;
                wrap_sessions_to_owners(tx, s, dm)?;
            }
            // Fold failed attempts recorded while no key was at hand.
            let pending: Vec<(i64, String, String)> = {
                let mut st = tx.prepare("SELECT id, user_name, action FROM audit_pending ORDER BY id")?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (_, name, action) in &pending {
                let who = if valid_user_name(name) { name.as_str() } else { "unknown" };
                let act = AuditAction::from_code(action).unwrap_or(AuditAction::UnlockFailed);
                s.append_audit(tx, AuditEvent::new(act, Actor::new(who, Role::Clinician)).outcome(Outcome::Denied))?;
            }
            tx.execute("DELETE FROM audit_pending", [])?;
            s.append_audit(tx, AuditEvent::new(AuditAction::Unlock, actor.clone()))
        })?;
        u.write_checkpoint()?;
        u.housekeeping_at_unlock();
        Ok(u)
    }

    fn note_failed_unlock(&mut self, user: &str, known: bool) -> Result<(), VaultError> {
        let tx = self.conn.transaction()?;
        if known {
            tx.execute(
                "UPDATE users SET failed_attempts = failed_attempts + 1, last_failed_at_ms = ?2 WHERE name = ?1",
                params![user, now_ms()],
            )?;
        }
        let name = if valid_user_name(user) {
            user
        } else {
            "unknown"
        };
        tx.execute(
            "INSERT INTO audit_pending (user_name, action, at_ms) VALUES (?1, ?2, ?3)",
            params![name, AuditAction::UnlockFailed.code(), now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Tags every clinician row present now, once, for a vault from before the
/// roster tags (roster.rs): trust on first use, audited with the count.
pub(crate) fn seal_roster_once(
    tx: &Transaction<'_>,
    s: &Unlocked<'_>,
    dm: &Key256,
) -> Result<(), VaultError> {
    let sealed: Option<Vec<u8>> = tx
        .query_row(
            "SELECT v FROM meta WHERE k = ?1",
            params![ROSTER_SEALED],
            |r| r.get(0),
        )
        .optional()?;
    if sealed.is_some()
        || session_tags::logged_seal(tx, AuditAction::RosterSealed, ROSTER_SINCE_SCHEMA)?
    {
        // A marker deleted by an editor of the file is not a reason to
        // trust the rows as they stand now: the log kept the seal.
        set_meta(tx, ROSTER_SEALED, &[1])?;
        return Ok(());
    }
    let rows: Vec<(String, Vec<u8>)> = {
        let mut st = tx.prepare(
            "SELECT name, x25519_public FROM users WHERE role = 'clinician' AND x25519_public IS NOT NULL ORDER BY name",
        )?;
        let r = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        r.collect::<Result<_, _>>()?
    };
    let key = roster::RosterKey::derive(dm)?;
    for (name, public) in &rows {
        let tag = key.tag(name, Role::Clinician, public)?;
        tx.execute(
            "UPDATE users SET roster_tag = ?2 WHERE name = ?1",
            params![name, tag],
        )?;
    }
    set_meta(tx, ROSTER_SEALED, &[1])?;
    s.append_audit(
        tx,
        AuditEvent::new(AuditAction::RosterSealed, s.actor.clone())
            .detail(Detail::Count(rows.len() as u64)),
    )?;
    Ok(())
}

/// Re-wraps every live session key still under the data master (a session
/// from before schema 3) to its owner's public key, read from a roster row
/// whose tag verifies; a session whose owner has no verified key stays as
/// it is and is tried again at the next unlock. Marks the data master for
/// rotation when it moved any, so the master that opened the old wraps is
/// replaced too.
pub(crate) fn wrap_sessions_to_owners(
    tx: &Transaction<'_>,
    s: &Unlocked<'_>,
    dm: &Key256,
) -> Result<(), VaultError> {
    type Row = (
        Vec<u8>,
        String,
        Vec<u8>,
        Vec<u8>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
    );
    let rows: Vec<Row> = {
        let mut st = tx.prepare(
            "SELECT s.id, s.owner, s.key_id, s.wrapped_key, u.x25519_public, u.roster_tag FROM sessions s LEFT JOIN users u ON u.name = s.owner AND u.role = 'clinician' WHERE s.key_wrap = 'master' AND s.wrapped_key IS NOT NULL",
        )?;
        let r = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        r.collect::<Result<_, _>>()?
    };
    if rows.is_empty() {
        return Ok(());
    }
    let roster = roster::RosterKey::derive(dm)?;
    let mut moved = 0u64;
    for (sid, owner, key_id, wrapped, public, tag) in rows {
        let Some(public) = public else { continue };
        if !roster.verifies(&owner, Role::Clinician, &public, tag.as_deref()) {
            continue;
        }
        let Ok(public) = <[u8; 32]>::try_from(public.as_slice()) else {
            continue;
        };
        let id = session_id_of(&sid)?;
        let key = tacet_crypto::unwrap_key(dm, &session_key_aad(id, &key_id), &wrapped).map_err(
            |_| {
                VaultError::Corrupt(format!(
                    "session {}'s wrapped key does not open",
                    id.short()
                ))
            },
        )?;
        let to_owner =
            pk::wrap_to_aad(&public, &pk::session_wrap_aad(&owner, &sid, &key_id), &key)?;
        tx.execute(
            "UPDATE sessions SET wrapped_key = ?2, key_wrap = 'owner' WHERE id = ?1",
            params![sid, to_owner],
        )?;
        moved += 1;
    }
    if moved > 0 {
        set_meta(tx, "rotation_due", &[1])?;
        s.append_audit(
            tx,
            AuditEvent::new(AuditAction::KeyRotated, s.actor.clone())
                .object("session-keys:to-owners")
                .detail(Detail::Count(moved)),
        )?;
    }
    Ok(())
}
