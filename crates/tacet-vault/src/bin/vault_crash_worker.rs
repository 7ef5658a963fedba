//! Crash-test worker: opens (or creates) the vault in the directory given as
//! its first argument and runs full sessions in a loop — create, audio,
//! transcript, draft, attest, and for every other session export + destroy —
//! printing `ACK <step> <session>` after each write has committed. The
//! kill -9 test (tests/crash.rs) kills it at random moments and checks that
//! every acknowledged write survived. On an error it prints `ERR <step>
//! <message>` and exits with status 3 (the disk-full test looks for it).
//! Not part of the product; built with the crate so the test can spawn it.

#[path = "../../tests/support/crash_fixture.rs"]
mod fixture;

use std::path::PathBuf;
use tacet_core::ports::SessionStore;
use tacet_core::{AttestedNote, PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

fn fail(step: &str, e: impl std::fmt::Display) -> ! {
    println!("ERR {step} {e}");
    std::process::exit(3)
}

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: vault_crash_worker <vault-dir> [max-sessions]");
        std::process::exit(2)
    };
    let max_sessions: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let pass = Passphrase::new(fixture::PASS.into());
    let admin_pass = Passphrase::new(fixture::ADMIN_PASS.into());
    let mut vault = if Vault::exists(&dir) {
        Vault::open(&dir).unwrap_or_else(|e| fail("open", e))
    } else {
        let users = [
            NewUser {
                name: fixture::ADMIN,
                role: Role::Admin,
                passphrase: &admin_pass,
            },
            NewUser {
                name: fixture::USER,
                role: Role::Clinician,
                passphrase: &pass,
            },
        ];
        // The test creates the vault before its first kill: a vault killed
        // half-created is reported by `open`, never replaced.
        Vault::create(&dir, &users, KdfChoice::Floor).unwrap_or_else(|e| fail("create", e))
    };
    println!("ACK open -");
    let mut u = vault
        .unlock(fixture::USER, &pass)
        .unwrap_or_else(|e| fail("unlock", e));
    println!("ACK unlock -");
    for n in 0..max_sessions {
        let id = u
            .create_session("soap", &PatientRef::new(fixture::PATIENT))
            .unwrap_or_else(|e| fail("create", e));
        println!("ACK create {id}");
        for a in 0..fixture::APPENDS {
            u.append_audio(id, &fixture::audio(id, a), a + 1 == fixture::APPENDS)
                .unwrap_or_else(|e| fail("audio", e));
            println!("ACK audio {id} {}", a + 1);
        }
        u.put_transcript(id, &fixture::transcript(id))
            .unwrap_or_else(|e| fail("transcript", e));
        println!("ACK transcript {id}");
        u.put_draft(id, &fixture::draft(id))
            .unwrap_or_else(|e| fail("draft", e));
        println!("ACK draft {id}");
        let note = AttestedNote::attest(
            id,
            fixture::draft(id).render_text(),
            u.actor().user.clone(),
            1,
        )
        .unwrap_or_else(|e| fail("attest", e));
        u.put_attested(&note).unwrap_or_else(|e| fail("attest", e));
        println!("ACK attest {id}");
        if n % 2 == 1 {
            u.mark_exported(&note, "text")
                .unwrap_or_else(|e| fail("export", e));
            println!("ACK export {id}");
            println!("BEGIN destroy {id}");
            u.destroy(id, "exported")
                .unwrap_or_else(|e| fail("destroy", e));
            println!("ACK destroy {id}");
        }
    }
}
