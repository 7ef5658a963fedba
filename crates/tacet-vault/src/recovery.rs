//! Recovery of recordings a crash left behind.
//!
//! A live recording seals every chunk in its own transaction as it arrives
//! and marks the last one with the final flag (bound into the AAD, so it
//! cannot be added or removed without the key). A session still in
//! `recording` when the vault is opened therefore lost at most the audio
//! that had not reached the vault yet; everything sealed is intact. The
//! vault is locked to one process, so no such session can still be live in
//! another one.
//!
//! Recovery walks the lifecycle `recording → interrupted → recording` and
//! records one `session.recording_recovered` event with counts only
//! (chunks recovered, then indexes missing) and the hash of the recovered
//! audio, in the same transaction; the caller then stores the transcript
//! (`recording → transcribed`). Nothing is written until every chunk has
//! opened: a chunk that fails its check is an integrity error, never
//! silently skipped.

use crate::{store, Unlocked, VaultError};
use rusqlite::params;
use sha2::Digest;
use tacet_core::audit::Detail;
use tacet_core::lifecycle::Transition;
use tacet_core::ports::{RecoveredAudio, RecoveryStore, SessionStore, SessionSummary, StoreError};
use tacet_core::{AuditAction, AuditEvent, LifecycleError, SessionId, SessionState};

impl RecoveryStore for Unlocked<'_> {
    fn interrupted_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        Ok(self
            .list_sessions()?
            .into_iter()
            .filter(|s| matches!(s.state, SessionState::Recording | SessionState::Interrupted))
            .collect())
    }

    fn recover_audio(&mut self, id: SessionId) -> Result<RecoveredAudio, StoreError> {
        store(self.recover_inner(id))
    }
}

impl Unlocked<'_> {
    fn recover_inner(&mut self, id: SessionId) -> Result<RecoveredAudio, VaultError> {
        let row = self.load_session(id)?;
        let interrupted = match row.state {
            SessionState::Recording => row
                .state
                .apply(Transition::Interrupt)
                .map_err(StoreError::from)?,
            SessionState::Interrupted => SessionState::Interrupted,
            other => {
                return Err(StoreError::Lifecycle(LifecycleError {
                    from: other,
                    action: "be recovered (only an interrupted recording can)",
                })
                .into())
            }
        };
        let next = interrupted
            .apply(Transition::Recover)
            .map_err(StoreError::from)?;
        let chunks = self.read_sealed(id, "audio")?;
        let finals: i64 = self.vault.conn.query_row(
            "SELECT COUNT(*) FROM artifacts WHERE session_id = ?1 AND kind = 'audio' AND final = 1",
            params![id.as_bytes().to_vec()],
            |r| r.get(0),
        )?;
        let mut samples = Vec::new();
        let mut hash = sha2::Sha256::new();
        let mut expected = 0u64;
        let mut missing = 0u64;
        for (idx, bytes) in &chunks {
            missing += idx.saturating_sub(expected);
            expected = idx + 1;
            hash.update(bytes.as_slice());
            samples.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        let recovered = chunks.len() as u64;
        let had_final = finals > 0;
        let ev = AuditEvent::new(AuditAction::RecordingRecovered, self.actor.clone())
            .session(id)
            .object(if had_final {
                "final-chunk-sealed"
            } else {
                "final-chunk-missing"
            })
            .content_hash(hash.finalize().into())
            .detail(Detail::Count(recovered))
            .detail(Detail::Count(missing));
        self.write(|tx, s| s.set_state(tx, id, next, ev))?;
        Ok(RecoveredAudio {
            samples_16k: samples,
            chunks_recovered: recovered,
            chunks_missing: missing,
            had_final_chunk: had_final,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{KdfChoice, NewUser, Vault};
    use tacet_core::ports::{RecoveryStore, SessionStore};
    use tacet_core::{PatientRef, Role, SessionState, Transcript};
    use tacet_crypto::Passphrase;

    fn new_vault(dir: &std::path::Path) -> Vault {
        let a = Passphrase::new("admin-passphrase".to_string());
        let c = Passphrase::new("clinician-passphrase".to_string());
        Vault::create(
            dir,
            &[
                NewUser {
                    name: "admin",
                    role: Role::Admin,
                    passphrase: &a,
                },
                NewUser {
                    name: "drlee",
                    role: Role::Clinician,
                    passphrase: &c,
                },
            ],
            KdfChoice::Floor,
        )
        .unwrap()
    }

    #[test]
    fn a_recording_without_its_final_chunk_is_found_and_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let mut v = new_vault(dir.path());
            let mut u = v
                .unlock("drlee", &Passphrase::new("clinician-passphrase".into()))
                .unwrap();
            let done = u.create_session("soap", &PatientRef::new("p1")).unwrap();
            u.append_audio(done, &[0.1; 8_000], false).unwrap();
            u.append_audio(done, &[], true).unwrap();
            let id = u.create_session("soap", &PatientRef::new("p2")).unwrap();
            for i in 0..3 {
                u.append_audio(id, &[i as f32 / 10.0; 16_000], false)
                    .unwrap();
            }
            // The process dies here: no final chunk, no transcript.
            id
        };
        let mut v = Vault::open(dir.path()).unwrap();
        let mut u = v
            .unlock("drlee", &Passphrase::new("clinician-passphrase".into()))
            .unwrap();
        let found = u.interrupted_sessions().unwrap();
        // The cleanly stopped one has its final chunk but no transcript yet,
        // so both are still `recording`.
        assert_eq!(found.len(), 2);
        assert!(found.iter().any(|s| s.id == id));
        let audio = u.recover_audio(id).unwrap();
        assert_eq!(audio.chunks_recovered, 3);
        assert_eq!(audio.chunks_missing, 0);
        assert!(!audio.had_final_chunk);
        assert_eq!(audio.samples_16k.len(), 48_000);
        assert_eq!(audio.samples_16k[16_000], 0.1);
        assert_eq!(u.session(id).unwrap().state, SessionState::Recording);
        u.put_transcript(id, &Transcript::default()).unwrap();
        assert_eq!(u.session(id).unwrap().state, SessionState::Transcribed);
        assert!(
            u.recover_audio(id).is_err(),
            "a transcribed session is not recoverable"
        );
        assert!(u.verify_audit_full(&[]).unwrap().is_ok());
        let count: i64 = u
            .vault
            .conn
            .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
            .unwrap();
        assert!(count > 0);
    }

    #[test]
    fn an_empty_final_chunk_closes_a_recording() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        let mut u = v
            .unlock("drlee", &Passphrase::new("clinician-passphrase".into()))
            .unwrap();
        let id = u.create_session("soap", &PatientRef::new("p")).unwrap();
        u.append_audio(id, &[0.5; 20_000], false).unwrap();
        assert_eq!(u.append_audio(id, &[], true).unwrap(), 1);
        assert_eq!(u.audio(id).unwrap().len(), 20_000);
        let audio = u.recover_audio(id).unwrap();
        assert!(audio.had_final_chunk);
        assert_eq!(audio.chunks_recovered, 3);
    }

    #[test]
    fn fail_recovering_with_a_chunk_missing_reports_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        let mut u = v
            .unlock("drlee", &Passphrase::new("clinician-passphrase".into()))
            .unwrap();
        let id = u.create_session("soap", &PatientRef::new("p")).unwrap();
        u.append_audio(id, &[0.5; 48_000], false).unwrap();
        u.vault
            .conn
            .execute("DELETE FROM artifacts WHERE kind = 'audio' AND idx = 1", [])
            .unwrap();
        assert!(u.audio(id).is_err(), "the plain reader refuses a gap");
        let audio = u.recover_audio(id).unwrap();
        assert_eq!(audio.chunks_recovered, 2);
        assert_eq!(audio.chunks_missing, 1);
    }

    #[test]
    fn fail_a_finished_recording_cut_at_its_end_is_refused() {
        // Issue 22, low: rows removed from the end of a finished recording
        // must not read as a shorter visit.
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        let mut u = v
            .unlock("drlee", &Passphrase::new("clinician-passphrase".into()))
            .unwrap();
        let id = u.create_session("soap", &PatientRef::new("p")).unwrap();
        assert_eq!(u.append_audio(id, &[0.5; 48_000], true).unwrap(), 3);
        u.put_transcript(id, &Transcript::default()).unwrap();
        assert_eq!(u.audio(id).unwrap().len(), 48_000);
        u.vault
            .conn
            .execute("DELETE FROM artifacts WHERE kind = 'audio' AND idx = 2", [])
            .unwrap();
        let err = u.audio(id).unwrap_err().to_string();
        assert!(err.contains("has lost its end"), "{err}");
        // The flag is bound into the sealed chunk: setting it on the chunk
        // that is now last makes that chunk fail to open instead.
        u.vault
            .conn
            .execute(
                "UPDATE artifacts SET final = 1 WHERE kind = 'audio' AND idx = 1",
                [],
            )
            .unwrap();
        let err = u.audio(id).unwrap_err().to_string();
        assert!(err.contains("failed to decrypt"), "{err}");
    }

    #[test]
    fn a_recording_recovered_without_its_final_chunk_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        let mut u = v
            .unlock("drlee", &Passphrase::new("clinician-passphrase".into()))
            .unwrap();
        let id = u.create_session("soap", &PatientRef::new("p")).unwrap();
        u.append_audio(id, &[0.5; 48_000], false).unwrap();
        assert_eq!(u.audio(id).unwrap().len(), 48_000, "still recording");
        assert!(!u.recover_audio(id).unwrap().had_final_chunk);
        u.put_transcript(id, &Transcript::default()).unwrap();
        assert_eq!(u.audio(id).unwrap().len(), 48_000);
    }
}
