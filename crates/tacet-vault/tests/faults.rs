//! Faults: a full disk (RLIMIT_FSIZE on the worker process, no privileges
//! needed), flipped bytes in a sealed chunk and in the WAL, and a read-only
//! vault directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

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

/// The tests here run one at a time. They open vaults in this process and
/// spawn workers from it; a child forked by one test holds, until its exec,
/// copies of every descriptor open at the fork, among them another test's
/// vault lock, which then reads as "in use by another Tacet process".
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

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
    let _serial = serial();
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
    let _serial = serial();
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
    let _serial = serial();
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
    let _serial = serial();
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
    let _serial = serial();
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

/// Copies the regular files of a (closed) vault directory.
fn copy_vault(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn largest_file_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap_or(0)
}

/// A full disk at every write of a session's life. The worker opens the
/// vault, unlocks it and runs two whole sessions (create, three audio
/// chunks, transcript, draft, attest; the second also export and destroy)
/// on a fresh copy of the same vault, under a file-size limit that starts
/// at one page and rises by `TACET_DISKFULL_STRIDE` bytes (default 16 KiB;
/// 4096, one WAL page, is the full sweep) until the worker gets through,
/// so the failure lands at each successive write in turn. After each
/// failure: the vault reopens, passes its integrity check and both audit
/// verifications, and holds every acknowledged write; with the limit
/// lifted, the work resumes and completes.
#[test]
fn fail_disk_full_at_every_write_of_a_session_life() {
    let _serial = serial();
    let stride_bytes: u64 = std::env::var("TACET_DISKFULL_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(16 * 1024);
    /// A limit this large not sufficing would mean the worker never stops.
    const CAP_BYTES: u64 = 64 << 20;
    let started = Instant::now();
    let base = tempfile::tempdir().unwrap();
    drop(new_vault(base.path()));
    println!(
        "disk-full sweep: largest vault file {} bytes at the start; stride {stride_bytes} bytes (TACET_DISKFULL_STRIDE)",
        largest_file_bytes(base.path())
    );
    let mut failed_at: std::collections::BTreeMap<String, u64> = Default::default();
    let mut points = 0u64;
    let mut acked_total = 0u64;
    let mut limit = 4096;
    loop {
        assert!(limit < CAP_BYTES, "the worker never got through");
        points += 1;
        let dir = tempfile::tempdir().unwrap();
        copy_vault(base.path(), dir.path());
        let mut acks = Acks::default();
        let (out, status) = run_worker(dir.path(), Some(2), Some(limit), Duration::from_secs(60));
        let step = match acks.absorb(&out) {
            Some(err) => {
                assert_eq!(status, Some(3), "limit {limit}: {err}");
                assert!(
                    err.contains("full") || err.contains("I/O") || err.contains("too large"),
                    "limit {limit}: not a clear disk-full error: {err}"
                );
                err.split_whitespace().nth(1).unwrap_or("?").to_string()
            }
            None => {
                assert_eq!(status, Some(0), "limit {limit}: the worker died: {out}");
                "finished".to_string()
            }
        };
        println!(
            "  limit {limit:>7} bytes: {:>2} acknowledged, then {step}",
            acks.total
        );
        *failed_at.entry(step.clone()).or_default() += 1;
        // Nothing acknowledged is lost and the vault verifies…
        check(dir.path(), &acks);
        if step == "finished" {
            acked_total += acks.total;
            break;
        }
        // …and with the space back, the work resumes and completes.
        let (out, status) = run_worker(dir.path(), Some(2), None, Duration::from_secs(60));
        let resumed = acks.absorb(&out);
        assert!(
            resumed.is_none() && status == Some(0),
            "limit {limit} (failed at {step}): work did not resume: {resumed:?} {out}"
        );
        check(dir.path(), &acks);
        acked_total += acks.total;
        limit += stride_bytes;
    }
    println!(
        "disk-full sweep: {points} limits in {:.1} s, {acked_total} acknowledged writes all present after each failure and resume; failures per step {failed_at:?}",
        started.elapsed().as_secs_f64()
    );
    // The sweep must have hit the session's writes, not only its start.
    for step in ["create", "audio", "transcript", "destroy"] {
        assert!(
            failed_at.contains_key(step),
            "no limit made the {step} write fail: {failed_at:?}"
        );
    }
}

/// How a fault is injected into a running worker.
#[derive(Clone, Copy, Debug)]
enum MidFault {
    /// The disk fills while the process runs: its file-size limit is
    /// clamped (prlimit) to the current largest file, so the next write
    /// that grows a file fails with EFBIG.
    DiskFillsUp,
    /// The head marker's temporary file cannot be created (a directory is
    /// in its place): the write after the database commit fails with an
    /// I/O error, so a committed write goes unacknowledged.
    MarkerWriteFails,
}

/// Runs the worker (two sessions) and injects `fault` once it has printed
/// `after_acks` acknowledgements; returns its output and exit status.
fn run_worker_with_fault(dir: &Path, fault: MidFault, after_acks: u64) -> (String, Option<i32>) {
    use std::io::BufRead;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault_crash_worker"));
    cmd.arg(dir)
        .arg("2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: only an async-signal-safe libc call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = String::new();
    let mut acked = 0;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ack = line.starts_with("ACK ");
        acked += u64::from(ack);
        out.push_str(&line);
        out.push('\n');
        if ack && acked == after_acks {
            match fault {
                MidFault::DiskFillsUp => {
                    let now = largest_file_bytes(dir);
                    let r = libc::rlimit {
                        rlim_cur: now,
                        rlim_max: now,
                    };
                    // SAFETY: plain syscall on our own child's pid.
                    let rc = unsafe {
                        libc::prlimit(
                            child.id() as libc::pid_t,
                            libc::RLIMIT_FSIZE,
                            &r,
                            std::ptr::null_mut(),
                        )
                    };
                    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
                }
                MidFault::MarkerWriteFails => {
                    // The worker may be writing the marker right now: take
                    // its temporary file's place (its rename then fails too).
                    let tmp = dir.join("vault.head.tmp");
                    let t0 = Instant::now();
                    while std::fs::create_dir(&tmp).is_err() {
                        let _ = std::fs::remove_file(&tmp);
                        assert!(
                            t0.elapsed() < Duration::from_secs(5),
                            "cannot block {tmp:?}"
                        );
                    }
                }
            }
        }
    }
    let status = child.wait().unwrap().code();
    (out, status)
}

/// I/O errors injected into a running worker in the middle of its writes
/// (the vault has no fail points of its own; these act at the file layer):
/// the disk filling up under an open connection, and the head marker's
/// write failing after a commit. The fault is injected after 2, 2 + s,
/// 2 + 2s … acknowledgements (`TACET_IOFAULT_STRIDE`, default 3; 1 for
/// every write). After each: a clear error, the vault reopens and verifies
/// with every acknowledged write, and once the fault is gone work resumes.
#[test]
fn fail_io_errors_in_the_middle_of_a_session_lose_nothing() {
    let _serial = serial();
    let stride: u64 = std::env::var("TACET_IOFAULT_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(3);
    let started = Instant::now();
    let base = tempfile::tempdir().unwrap();
    drop(new_vault(base.path()));
    let mut landed: std::collections::BTreeMap<String, u64> = Default::default();
    let mut runs = 0;
    for fault in [MidFault::DiskFillsUp, MidFault::MarkerWriteFails] {
        let mut after_acks = 2;
        // The worker acknowledges 18 writes for two sessions.
        while after_acks <= 17 {
            runs += 1;
            let dir = tempfile::tempdir().unwrap();
            copy_vault(base.path(), dir.path());
            let mut acks = Acks::default();
            let (out, status) = run_worker_with_fault(dir.path(), fault, after_acks);
            let step = match acks.absorb(&out) {
                Some(err) => {
                    assert_eq!(status, Some(3), "{fault:?} after {after_acks}: {err}");
                    assert!(
                        err.contains("full")
                            || err.contains("I/O")
                            || err.contains("too large")
                            || err.contains("file system"),
                        "{fault:?} after {after_acks}: not a clear error: {err}"
                    );
                    err.split_whitespace().nth(1).unwrap_or("?").to_string()
                }
                None => {
                    assert_eq!(status, Some(0), "{fault:?}: the worker died: {out}");
                    "finished".to_string()
                }
            };
            *landed.entry(format!("{fault:?} at {step}")).or_default() += 1;
            // The fault goes away (the space returns; the obstacle is removed).
            if let MidFault::MarkerWriteFails = fault {
                std::fs::remove_dir(dir.path().join("vault.head.tmp")).unwrap();
            }
            check(dir.path(), &acks);
            let (out, status) = run_worker(dir.path(), Some(2), None, Duration::from_secs(60));
            let resumed = acks.absorb(&out);
            assert!(
                resumed.is_none() && status == Some(0),
                "{fault:?} after {after_acks} (failed at {step}): work did not resume: {resumed:?} {out}"
            );
            check(dir.path(), &acks);
            after_acks += stride;
        }
    }
    println!(
        "mid-session I/O faults: {runs} runs in {:.1} s, every acknowledged write present; where they landed {landed:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        landed.keys().filter(|k| !k.ends_with("finished")).count() >= 4,
        "too few faults took effect: {landed:?}"
    );
}
