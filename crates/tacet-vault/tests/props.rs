//! Property tests at the vault level: random artifacts of random sizes
//! round-trip through seal/open; a sealed row moved to another session or
//! with any byte flipped fails to open; the decoders of stored records
//! reject arbitrary bytes without panicking (a quick stand-in, in every
//! test run, for the cargo-fuzz target in `fuzz/`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

#[path = "support/crash_fixture.rs"]
mod fixture;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tacet_core::ports::SessionStore;
use tacet_core::{PatientRef, Role, SessionId, Transcript};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

fn vault(dir: &std::path::Path) -> Vault {
    let (a, c) = (
        Passphrase::new(fixture::ADMIN_PASS.into()),
        Passphrase::new(fixture::PASS.into()),
    );
    Vault::create(
        dir,
        &[
            NewUser {
                name: fixture::ADMIN,
                role: Role::Admin,
                passphrase: &a,
            },
            NewUser {
                name: fixture::USER,
                role: Role::Clinician,
                passphrase: &c,
            },
        ],
        KdfChoice::Floor,
    )
    .unwrap()
}

fn transcript(text: String) -> Transcript {
    let mut t = fixture::transcript(SessionId([0; 16]));
    t.segments[0].text = text;
    t
}

#[test]
fn prop_artifacts_round_trip_and_moved_or_flipped_rows_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vault(dir.path());
    let raw = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    let u = v
        .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
        .unwrap();
    // `TestRunner::run` takes an `Fn`; the unlocked vault is shared mutably.
    let u = std::cell::RefCell::new(u);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(any::<i16>(), 0..40_000),
        "[ -~]{0,600}",
        "[ -~]{1,100}",
        any::<usize>(),
    );
    runner
        .run(&strategy, |(samples, text, other_text, flip)| {
            let mut u = u.borrow_mut();
            let audio: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
            let a = u.create_session("soap", &PatientRef::new(text.clone())).unwrap();
            let b = u.create_session("soap", &PatientRef::new(other_text.clone())).unwrap();
            u.append_audio(a, &audio, true).unwrap();
            u.append_audio(b, &[0.25; 10], true).unwrap();
            u.put_transcript(a, &transcript(text.clone())).unwrap();
            u.put_transcript(b, &transcript(other_text.clone())).unwrap();
            prop_assert_eq!(u.audio(a).unwrap(), audio);
            prop_assert_eq!(u.transcript(a).unwrap(), transcript(text.clone()));
            let patient = u.patient_ref(a).unwrap();
            prop_assert_eq!(patient.expose(), text.as_str());
            // Swap the two sessions' sealed transcripts: neither opens.
            raw.execute_batch(&format!(
                "UPDATE artifacts SET session_id = x'00' WHERE session_id = x'{a}' AND kind = 'transcript';
                 UPDATE artifacts SET session_id = x'{a}' WHERE session_id = x'{b}' AND kind = 'transcript';
                 UPDATE artifacts SET session_id = x'{b}' WHERE session_id = x'00' AND kind = 'transcript';"
            ))
            .unwrap();
            prop_assert!(u.transcript(a).unwrap_err().to_string().contains("failed to decrypt"));
            prop_assert!(u.transcript(b).unwrap_err().to_string().contains("failed to decrypt"));
            // One flipped byte anywhere in a sealed patient reference: refused.
            let mut blob: Vec<u8> = raw
                .query_row(&format!("SELECT sealed FROM artifacts WHERE session_id = x'{b}' AND kind = 'patient_ref'"), [], |r| r.get(0))
                .unwrap();
            let i = flip % blob.len();
            blob[i] ^= 1 << (flip % 8);
            raw.execute(&format!("UPDATE artifacts SET sealed = ?1 WHERE session_id = x'{b}' AND kind = 'patient_ref'"), [blob])
                .unwrap();
            prop_assert!(u.patient_ref(b).is_err());
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn prop_record_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = tacet_audit::AuditRecord::decode(&bytes);
        let _ = tacet_vault::decode_attestation(SessionId([0; 16]), &bytes);
        let _ = Transcript::from_bytes(&bytes);
        let _ = tacet_core::Draft::from_bytes(&bytes);
    }

    #[test]
    fn prop_mutated_attestations_never_panic(i in any::<usize>(), b in any::<u8>()) {
        let good = br#"{"reviewer":"drlee","note_sha256":"0000000000000000000000000000000000000000000000000000000000000000","attested_at_unix_ms":1,"statement":"s"}"#;
        let mut bytes = good.to_vec();
        let at = i % bytes.len();
        bytes[at] = b;
        let _ = tacet_vault::decode_attestation(SessionId([0; 16]), &bytes);
    }
}
