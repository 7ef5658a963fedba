//! Faults: a full disk (RLIMIT_FSIZE on the worker process, no privileges
//! needed), flipped bytes in a sealed chunk and in the WAL, and a read-only
//! vault directory.

#[path = "support/crash_fixture.rs"]
pub mod fixture;
mod support {
    pub use super::fixture;
    pub mod acks;
}

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::acks::{check, Acks};
use tacet_core::ports::SessionStore;
use tacet_core::{PatientRef, Role};
use tacet_crypto::Passphrase;
use tacet_vault::{KdfChoice, NewUser, Vault};

fn new_vault(dir: &Path) -> Vault {
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

/// Runs the worker to its end (or `timeout`), optionally under a file-size limit.
fn run_worker(
    dir: &Path,
    max_sessions: Option<u64>,
    fsize_limit_bytes: Option<u64>,
    timeout: Duration,
) -> (String, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault_crash_worker"));
    cmd.arg(dir).stdout(Stdio::piped()).stderr(Stdio::null());
    if let Some(n) = max_sessions {
        cmd.arg(n.to_string());
    }
    if let Some(limit) = fsize_limit_bytes {
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Ignored, SIGXFSZ would kill the process; instead write()
                // fails with EFBIG, which is what a full disk looks like to SQLite.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if start.elapsed() > timeout {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (out, status)
}

fn dir_size_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn fail_disk_full_is_a_clear_error_corrupts_nothing_and_work_resumes() {
    let dir = tempfile::tempdir().unwrap();
    drop(new_vault(dir.path()));
    let mut acks = Acks::default();
    let (out, status) = run_worker(dir.path(), Some(2), None, Duration::from_secs(60));
    assert_eq!(status, Some(0), "{out}");
    assert!(acks.absorb(&out).is_none());
    let db_bytes = std::fs::metadata(dir.path().join(tacet_vault::DB_FILE))
        .unwrap()
        .len();
    let limit = db_bytes + 96 * 1024;
    let (out, status) = run_worker(dir.path(), None, Some(limit), Duration::from_secs(60));
    let err = acks
        .absorb(&out)
        .unwrap_or_else(|| panic!("the worker never hit the size limit (status {status:?})"));
    println!("with files limited to {limit} bytes the worker stopped with: {err}");
    assert_eq!(status, Some(3));
    assert!(
        err.contains("full") || err.contains("I/O") || err.contains("too large"),
        "{err}"
    );
    // Nothing acknowledged is lost and the vault verifies.
    let live = check(dir.path(), &acks);
    println!(
        "after the full disk: {} acknowledged writes all present, {live} live sessions",
        acks.total
    );
    // Space returns: work resumes.
    let (out, status) = run_worker(dir.path(), Some(2), None, Duration::from_secs(60));
    assert_eq!(status, Some(0), "{out}");
    assert!(acks.absorb(&out).is_none());
    check(dir.path(), &acks);
    println!("vault directory now {} bytes", dir_size_bytes(dir.path()));
}

#[test]
fn fail_flipped_byte_in_a_sealed_chunk_names_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    let id = {
        let mut u = v
            .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
            .unwrap();
        let id = u
            .create_session("soap", &PatientRef::new(fixture::PATIENT))
            .unwrap();
        let audio: Vec<f32> = (0..3).flat_map(|a| fixture::audio(id, a)).collect();
        u.append_audio(id, &audio, true).unwrap();
        id
    };
    drop(v);
    {
        let conn = rusqlite::Connection::open(dir.path().join(tacet_vault::DB_FILE)).unwrap();
        let mut blob: Vec<u8> = conn
            .query_row(
                "SELECT sealed FROM artifacts WHERE kind = 'audio' AND idx = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mid = blob.len() / 2;
        blob[mid] ^= 0x10;
        conn.execute(
            "UPDATE artifacts SET sealed = ?1 WHERE kind = 'audio' AND idx = 0",
            [blob],
        )
        .unwrap();
    }
    let mut v = Vault::open(dir.path()).unwrap();
    let mut u = v
        .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
        .unwrap();
    let err = u.audio(id).unwrap_err().to_string();
    assert!(err.contains("audio item 0 failed to decrypt"), "{err}");
    // The rest of the session is still readable.
    assert_eq!(u.patient_ref(id).unwrap().expose(), fixture::PATIENT);
}

/// SQLite checksums every WAL frame and stops replaying at the first bad
/// one: the transactions from there on are dropped, silently. The vault's
/// head marker (`vault.head`, rewritten after every acknowledged write)
/// turns that silence into a refusal to open that names the loss; the
/// database is left untouched. Never wrong data, never a silent loss.
#[test]
fn fail_flipped_byte_in_the_wal_never_yields_wrong_data() {
    for (label, pick) in [("last frame", 0usize), ("first frame", 1usize)] {
        let dir = tempfile::tempdir().unwrap();
        let copy = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path());
        let mut u = v
            .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
            .unwrap();
        // Truncate the WAL first, so its frames are exactly the writes below.
        let id = u
            .create_session("soap", &PatientRef::new(fixture::PATIENT))
            .unwrap();
        u.destroy(id, "discarded").unwrap();
        let id = u
            .create_session("soap", &PatientRef::new(fixture::PATIENT))
            .unwrap();
        u.append_audio(id, &fixture::audio(id, 0), true).unwrap();
        u.put_transcript(id, &fixture::transcript(id)).unwrap();
        // Copy the files while the WAL holds those commits (no checkpoint yet).
        for name in [
            tacet_vault::DB_FILE.to_string(),
            format!("{}-wal", tacet_vault::DB_FILE),
            "vault.head".to_string(),
        ] {
            std::fs::copy(dir.path().join(&name), copy.path().join(&name)).unwrap();
        }
        drop(u);
        drop(v);
        let wal_path = copy.path().join(format!("{}-wal", tacet_vault::DB_FILE));
        let mut wal = std::fs::read(&wal_path).unwrap();
        assert!(wal.len() > 32 + 24 + 4096, "the WAL should hold frames");
        let at = if pick == 0 {
            wal.len() - 100
        } else {
            32 + 24 + 100
        };
        wal[at] ^= 0x01;
        std::fs::write(&wal_path, &wal).unwrap();
        match Vault::open(copy.path()) {
            Err(e @ tacet_vault::VaultError::LostWrites { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("lost acknowledged writes"), "{msg}");
                println!("WAL flip in the {label}: open refused: {msg}");
            }
            Err(e) => panic!("WAL flip in the {label}: unexpected error {e}"),
            Ok(mut v) => {
                let public = v.verify_public(&[]).unwrap();
                assert!(public.is_ok(), "{:?}", public.problems);
                let mut u = v
                    .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
                    .unwrap();
                let transcript = u.transcript(id);
                let audio = u.audio(id);
                match (&transcript, &audio) {
                    (Ok(t), _) => {
                        assert_eq!(t, &fixture::transcript(id), "wrong data after a WAL flip")
                    }
                    (Err(e), _) => {
                        panic!(
                            "WAL flip in the {label}: transcript (acknowledged) lost silently: {e}"
                        )
                    }
                }
                match &audio {
                    Ok(a) if !a.is_empty() => {
                        assert_eq!(a, &fixture::audio(id, 0), "wrong data after a WAL flip")
                    }
                    Ok(_) => panic!("WAL flip in the {label}: audio (acknowledged) lost silently"),
                    Err(e) => panic!("WAL flip in the {label}: audio unreadable: {e}"),
                }
                assert!(u.verify_audit(&[]).unwrap().is_ok());
            }
        }
    }
}

#[test]
fn fail_read_only_vault_is_a_clear_error() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        println!("skipped: running as root, where file permissions do not bind");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    drop(new_vault(dir.path()));
    let set = |file_mode: u32, dir_mode: u32| {
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(file_mode)).unwrap();
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode)).unwrap();
    };
    set(0o444, 0o555);
    let before = std::fs::read(dir.path().join(tacet_vault::DB_FILE)).unwrap();
    let err = Vault::open(dir.path()).err().map(|e| e.to_string());
    set(0o644, 0o755);
    let err = err.expect("a read-only vault must not open for writing");
    println!("read-only vault: {err}");
    assert_eq!(
        std::fs::read(dir.path().join(tacet_vault::DB_FILE)).unwrap(),
        before
    );
    // Writable again: it opens and works.
    let mut v = Vault::open(dir.path()).unwrap();
    assert!(v
        .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
        .is_ok());
}

#[test]
fn fail_an_older_copy_of_the_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let old = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path());
    {
        let mut u = v
            .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
            .unwrap();
        u.create_session("soap", &PatientRef::new(fixture::PATIENT))
            .unwrap();
    }
    drop(v);
    // Keep a copy of the database as it is now…
    for name in [
        tacet_vault::DB_FILE.to_string(),
        format!("{}-wal", tacet_vault::DB_FILE),
    ] {
        if dir.path().join(&name).exists() {
            std::fs::copy(dir.path().join(&name), old.path().join(&name)).unwrap();
        }
    }
    // …do more work…
    let mut v = Vault::open(dir.path()).unwrap();
    {
        let mut u = v
            .unlock(fixture::USER, &Passphrase::new(fixture::PASS.into()))
            .unwrap();
        u.create_session("soap", &PatientRef::new(fixture::PATIENT))
            .unwrap();
    }
    drop(v);
    // …then put the old database back beside the current marker.
    std::fs::remove_file(dir.path().join(format!("{}-wal", tacet_vault::DB_FILE))).ok();
    for name in [
        tacet_vault::DB_FILE.to_string(),
        format!("{}-wal", tacet_vault::DB_FILE),
    ] {
        if old.path().join(&name).exists() {
            std::fs::copy(old.path().join(&name), dir.path().join(&name)).unwrap();
        }
    }
    match Vault::open(dir.path()) {
        Err(e @ tacet_vault::VaultError::LostWrites { .. }) => {
            assert!(e.to_string().contains("older copy"), "{e}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a rolled-back database opened as if nothing happened"),
    }
}
