//! kill -9 at random moments while a worker process records, drafts,
//! attests, exports and destroys: the vault must reopen, pass its integrity
//! check and both audit verifications, and hold every acknowledged write.
//! `TACET_CRASH_ITERATIONS` sets the number of kills (default 50).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

#[path = "support/crash_fixture.rs"]
pub mod fixture;
mod support {
    pub use super::fixture;
    pub mod acks;
}

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::acks::{check, Acks};
use tacet_core::Role;
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[test]
fn kill_9_at_random_points_loses_no_acknowledged_write() {
    let iterations: u64 = std::env::var("TACET_CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let (a, c) = (
        Passphrase::new(fixture::ADMIN_PASS.into()),
        Passphrase::new(fixture::PASS.into()),
    );
    drop(
        Vault::create(
            dir.path(),
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
        .unwrap(),
    );
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}");
    let started = Instant::now();
    let mut acks = Acks::default();
    let mut live = 0;
    for i in 0..iterations {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vault_crash_worker"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay_ms = 20 + xorshift(&mut seed) % 700;
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        if let Some(err) = acks.absorb(&out) {
            panic!("iteration {i}: the worker failed: {err}");
        }
        live = check(dir.path(), &acks);
    }
    println!(
        "{iterations} kills in {:.1} s: {} acknowledged writes, {} sessions ({} destroyed by acknowledged destroys, {live} live), all present",
        started.elapsed().as_secs_f64(),
        acks.total,
        acks.created.len(),
        acks.destroyed.len()
    );
    println!("where the kills landed: {:?}", acks.last_steps);
    assert!(
        acks.created.len() >= 5,
        "the worker made too little progress to test anything"
    );
}
