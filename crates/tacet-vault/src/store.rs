//! The vault as the application layer's [`SessionStore`]: every use case
//! of a session's life (create, seal audio and each artifact, read them
//! back, attest, export, destroy, audit) as one clinician or admin
//! unlocked it, each change and its audit record in one transaction.
//! The sealing, the keys and the checks these call live beside it in the
//! crate root and its modules.

use super::*;

/// Decodes a stored (already decrypted) attestation record. Every field
/// is required; anything else is an integrity error, never a panic (the
/// fuzz target in `fuzz/` and the property tests hold it to that).
pub fn decode_attestation(id: SessionId, bytes: &[u8]) -> Result<Attestation, StoreError> {
    let bad = || StoreError::Integrity("the stored attestation is malformed".into());
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| bad())?;
    let note_sha256: [u8; 32] = v["note_sha256"]
        .as_str()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let reviewer = v["reviewer"]
        .as_str()
        .filter(|r| valid_user_name(r))
        .ok_or_else(bad)?;
    Ok(Attestation {
        session: id,
        reviewer: UserName(reviewer.to_string()),
        note_sha256,
        attested_at_unix_ms: v["attested_at_unix_ms"].as_u64().ok_or_else(bad)?,
        statement: v["statement"].as_str().ok_or_else(bad)?.to_string(),
    })
}

impl SessionStore for Unlocked<'_> {
    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn create_session(
        &mut self,
        template_id: &str,
        patient: &PatientRef,
    ) -> Result<SessionId, StoreError> {
        if self.actor.role != Role::Clinician {
            return Err(StoreError::Denied(
                "only a clinician can start a session".into(),
            ));
        }
        store((|| {
            let id = SessionId(tacet_crypto::random_bytes()?);
            let key_id: [u8; 16] = tacet_crypto::random_bytes()?;
            let key = Key256::generate()?;
            // The key is wrapped to the owner's public key only: no other
            // clinician, and not the data master, opens it.
            let pair = self
                .pair
                .as_ref()
                .ok_or_else(|| StoreError::Denied("this user holds no data key".into()))?;
            let wrapped = pk::wrap_to_aad(
                &pair.public,
                &pk::session_wrap_aad(&self.actor.user.0, id.as_bytes(), &key_id),
                &key,
            )?;
            let mut sn = NonceSequence::new();
            let sealed_ref = tacet_crypto::seal(
                &key,
                sn.next_nonce()?,
                &artifact_aad(id, "patient_ref", 0, true, &key_id),
                patient.expose().as_bytes(),
            )?;
            let owner = self.actor.user.0.clone();
            let actor = self.actor.clone();
            let tid = template_id.to_string();
            self.write(|tx, s| {
                let now = now_ms();
                tx.execute(
                    "INSERT INTO sessions (id, owner, state, template_id, created_at_ms, updated_at_ms, key_id, wrapped_key, nonce_counter, key_wrap) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, 'owner')",
                    params![id.as_bytes().to_vec(), owner, SessionState::Created.as_str(), tid, now, key_id.to_vec(), wrapped, sn.next_counter() as i64],
                )?;
                tx.execute(
                    "INSERT INTO artifacts (session_id, kind, idx, final, sealed) VALUES (?1, 'patient_ref', 0, 1, ?2)",
                    params![id.as_bytes().to_vec(), sealed_ref],
                )?;
                s.audit_change(
                    tx,
                    id,
                    AuditEvent::new(AuditAction::SessionCreated, actor)
                        .session(id)
                        .detail(Detail::KeyId(key_id))
                        .detail(Detail::TemplateId(tid.clone())),
                )
            })?;
            Ok(id)
        })())
    }

    fn session(&self, id: SessionId) -> Result<SessionSummary, StoreError> {
        let row = store(self.load_session(id))?;
        Ok(SessionSummary {
            id,
            owner: UserName(row.owner),
            state: row.state,
            template_id: row.template_id,
            created_at_unix_ms: row.created_at_ms,
            receipt_id: row.receipt_id,
        })
    }

    fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        store((|| {
            let mut st = self
                .vault
                .conn
                .prepare("SELECT s.id, s.owner, s.state, s.template_id, s.created_at_ms, s.receipt_id, c.clinician IS NOT NULL FROM sessions s LEFT JOIN session_covers c ON c.session_id = s.id AND c.clinician = ?1 ORDER BY s.created_at_ms")?;
            let rows = st.query_map(params![self.actor.user.0], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, bool>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (id, owner, state, template_id, created, receipt, covered) = r?;
                if self.actor.role == Role::Clinician && owner != self.actor.user.0 && !covered {
                    continue;
                }
                let id: [u8; 16] = id
                    .try_into()
                    .map_err(|_| VaultError::Corrupt("a session id is malformed".into()))?;
                out.push(SessionSummary {
                    id: SessionId(id),
                    owner: UserName(owner),
                    state: SessionState::parse(&state).ok_or_else(|| {
                        VaultError::Corrupt("a session has an unknown state".into())
                    })?,
                    template_id,
                    created_at_unix_ms: created,
                    receipt_id: receipt,
                });
            }
            Ok(out)
        })())
    }

    fn patient_ref(&mut self, id: SessionId) -> Result<PatientRef, StoreError> {
        let bytes =
            store(self.read_one(id, "patient_ref", "this session has no patient reference"))?;
        let s = String::from_utf8(bytes.to_vec())
            .map_err(|_| StoreError::Integrity("patient reference is not text".into()))?;
        Ok(PatientRef::new(s))
    }

    fn append_audio(
        &mut self,
        id: SessionId,
        samples_16k: &[f32],
        last: bool,
    ) -> Result<u64, StoreError> {
        store((|| {
            let row = self.load_session(id)?;
            let transition = match row.state {
                SessionState::Created => Some(Transition::StartRecording),
                SessionState::Recording => None,
                other => {
                    return Err(StoreError::Lifecycle(tacet_core::LifecycleError {
                        from: other,
                        action: "take more audio",
                    })
                    .into())
                }
            };
            let start: i64 = self.vault.conn.query_row(
                "SELECT COALESCE(MAX(idx) + 1, 0) FROM artifacts WHERE session_id = ?1 AND kind = 'audio'",
                params![id.as_bytes().to_vec()],
                |r| r.get(0),
            )?;
            let mut chunks: Vec<Vec<u8>> = samples_16k
                .chunks(AUDIO_CHUNK_SAMPLES)
                .map(|c| c.iter().flat_map(|s| s.to_le_bytes()).collect())
                .collect();
            if chunks.is_empty() && last {
                // A live recording stops with an empty final chunk: the
                // flag alone says "nothing was cut off after this".
                chunks.push(Vec::new());
            }
            let n = chunks.len();
            let items: Vec<(&str, u64, bool, &[u8])> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        "audio",
                        start as u64 + i as u64,
                        last && i + 1 == n,
                        c.as_slice(),
                    )
                })
                .collect();
            let all: Vec<u8> = chunks.concat();
            let ev = AuditEvent::new(AuditAction::AudioImported, self.actor.clone())
                .session(id)
                .content(&all)
                .detail(Detail::Count(n as u64));
            drop(all);
            self.put_sealed(id, transition, &[], &items, ev)?;
            Ok(n as u64)
        })())
    }

    fn audio(&mut self, id: SessionId) -> Result<Vec<f32>, StoreError> {
        let chunks = store(self.read_sealed(id, "audio"))?;
        let mut out = Vec::new();
        for (i, (idx, _)) in chunks.iter().enumerate() {
            if *idx != i as u64 {
                return Err(StoreError::Integrity(format!("audio chunk {i} is missing")));
            }
        }
        store(self.check_final_chunk(id, chunks.last().map(|(idx, _)| *idx)))?;
        for (_, c) in &chunks {
            out.extend(
                c.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        Ok(out)
    }

    fn put_transcript(&mut self, id: SessionId, t: &Transcript) -> Result<(), StoreError> {
        let bytes = t.to_bytes();
        let mut ev = AuditEvent::new(AuditAction::TranscriptCreated, self.actor.clone())
            .session(id)
            .content(&bytes)
            .detail(Detail::Count(t.segments.len() as u64));
        if let Ok(h) = hex::decode(&t.model_sha256) {
            if let Ok(arr) = <[u8; 32]>::try_from(h.as_slice()) {
                ev = ev.detail(Detail::ModelSha256(arr));
            }
        }
        store(self.put_sealed(
            id,
            Some(Transition::FinishTranscript),
            &["transcript"],
            &[("transcript", 0, true, &bytes)],
            ev,
        ))?;
        Ok(())
    }

    fn transcript(&mut self, id: SessionId) -> Result<Transcript, StoreError> {
        let bytes = store(self.read_one(id, "transcript", "this session has no transcript yet"))?;
        Transcript::from_bytes(&bytes)
            .map_err(|_| StoreError::Integrity("the stored transcript is malformed".into()))
    }

    fn put_draft(&mut self, id: SessionId, d: &Draft) -> Result<(), StoreError> {
        let bytes = d.to_bytes();
        let mut ev = AuditEvent::new(AuditAction::DraftCreated, self.actor.clone())
            .session(id)
            .content(&bytes)
            .detail(Detail::TemplateId(d.provenance.template_id.clone()));
        if let Ok(h) = hex::decode(&d.provenance.model_sha256) {
            if let Ok(arr) = <[u8; 32]>::try_from(h.as_slice()) {
                ev = ev.detail(Detail::ModelSha256(arr));
            }
        }
        // A new draft voids any earlier note and attestation, in the same
        // transaction as the draft: a crash between the two can no longer
        // leave a new draft beside an old attested note.
        store(self.put_sealed(
            id,
            Some(Transition::StoreDraft),
            &["draft", "note", "attestation"],
            &[("draft", 0, true, &bytes)],
            ev,
        ))
        .map(|_| ())
    }

    fn draft(&mut self, id: SessionId) -> Result<Draft, StoreError> {
        let bytes = store(self.read_one(id, "draft", "this session has no draft yet"))?;
        Draft::from_bytes(&bytes)
            .map_err(|_| StoreError::Integrity("the stored draft is malformed".into()))
    }

    fn put_attested(&mut self, note: &AttestedNote) -> Result<(), StoreError> {
        let id = note.session();
        if note.attestation().reviewer != self.actor.user || self.actor.role != Role::Clinician {
            return Err(StoreError::Denied(
                "only the reviewing clinician can record their attestation".into(),
            ));
        }
        let a = note.attestation();
        let att = serde_json::json!({
            "reviewer": a.reviewer.0,
            "note_sha256": hex::encode(a.note_sha256),
            "attested_at_unix_ms": a.attested_at_unix_ms,
            "statement": a.statement,
        })
        .to_string();
        let ev = AuditEvent::new(AuditAction::ReviewAttested, self.actor.clone())
            .session(id)
            .content_hash(a.note_sha256);
        store(self.put_sealed(
            id,
            Some(Transition::Attest),
            &["note", "attestation"],
            &[
                ("note", 0, true, note.text().as_bytes()),
                ("attestation", 0, true, att.as_bytes()),
            ],
            ev,
        ))?;
        Ok(())
    }

    fn attested(&mut self, id: SessionId) -> Result<AttestedNote, StoreError> {
        let notes = store(self.read_sealed(id, "note"))?;
        let atts = store(self.read_sealed(id, "attestation"))?;
        let (Some((_, text)), Some((_, att))) = (notes.first(), atts.first()) else {
            return Err(GateError::NotAttested.into());
        };
        let text = String::from_utf8(text.to_vec())
            .map_err(|_| StoreError::Integrity("the stored note is not text".into()))?;
        let a = decode_attestation(id, att)?;
        let note = AttestedNote::reopen(id, text, Some(a))?;
        store(self.check_last_attested(id, note.attestation().note_sha256))?;
        Ok(note)
    }

    fn mark_exported(
        &mut self,
        note: &AttestedNote,
        format: &'static str,
    ) -> Result<String, StoreError> {
        let id = note.session();
        store((|| {
            let row = self.load_session(id)?;
            let next = row
                .state
                .apply(Transition::Export)
                .map_err(StoreError::from)?;
            let ev = AuditEvent::new(AuditAction::NoteExported, self.actor.clone())
                .session(id)
                .content_hash(note.attestation().note_sha256)
                .detail(Detail::Format(format));
            self.write(|tx, s| s.set_state(tx, id, next, ev))?;
            self.write_checkpoint()
        })())
    }

    /// Destroys the session now, or — for trigger `exported` with an export
    /// grace period set — schedules it (the receipt id then starts with
    /// `scheduled-` and nothing is destroyed until retention runs).
    fn destroy(
        &mut self,
        id: SessionId,
        trigger: &'static str,
    ) -> Result<DeletionReceipt, StoreError> {
        store(self.destroy_or_schedule(id, trigger))
    }

    fn record(&mut self, ev: AuditEvent) -> Result<u64, StoreError> {
        store(self.write(|tx, s| s.append_audit(tx, ev)))
    }

    fn set_model_approval(
        &mut self,
        ev: AuditEvent,
        sha256: [u8; 32],
        approved: bool,
    ) -> Result<u64, StoreError> {
        store(Unlocked::set_model_approval(self, ev, sha256, approved))
    }

    fn model_approved(&self, sha256: &[u8; 32]) -> Result<bool, StoreError> {
        store(Unlocked::model_approved(self, sha256))
    }

    fn verify_audit(
        &mut self,
        external_checkpoints: &[String],
    ) -> Result<AuditVerification, StoreError> {
        let v = store(self.verify_audit_full(external_checkpoints))?;
        store(self.record_verification(&v))?;
        Ok(v)
    }

    fn deletions(&mut self) -> Result<Vec<DeletionEntry>, StoreError> {
        store((|| {
            let mut st = self
                .vault
                .conn
                .prepare("SELECT seq, record FROM audit_log ORDER BY seq")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
            let mut out = Vec::new();
            for r in rows {
                let (seq, bytes) = r?;
                if bytes.is_empty() {
                    continue; // pruned after six years; its leaf hash stays in the log
                }
                let rec = AuditRecord::decode(&bytes)?;
                if rec.action != AuditAction::SessionDestroyed.code() {
                    continue;
                }
                let get = |k: &str| {
                    rec.details
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let destroyed = rec
                    .details
                    .iter()
                    .filter(|(n, _)| n == "destroyed_ciphertext_sha256")
                    .count() as u64;
                let leaf = tacet_audit::leaf_hash(&bytes);
                out.push(DeletionEntry {
                    audit_seq: seq as u64,
                    session_hex: rec.session.clone().unwrap_or_default(),
                    actor: rec.actor.clone(),
                    trigger: get("trigger"),
                    at_unix_ms: rec.wall_unix_ms,
                    destroyed_ciphertexts: destroyed,
                    key_id_hex: get("key_id"),
                    receipt_id: format!("rcpt-{seq}-{}", hex::encode(&leaf[..4])),
                });
            }
            Ok(out)
        })())
    }

    fn checkpoint(&mut self) -> Result<String, StoreError> {
        store(self.write_checkpoint())
    }
}
