//! The vault: Tacet's only writer of patient data.
//!
//! A single SQLite file (bundled SQLite, WAL, `synchronous=FULL`,
//! `secure_delete=ON`, temp store in memory) holds sessions, their sealed
//! artifacts, users, and the audit log. The key hierarchy:
//!
//! ```text
//! passphrase ─Argon2id─► user key ─seals─► clinician's X25519 secret ─ECDH─► session key (own sessions only) ─seals─► artifacts
//!                                 │                                   └ECDH─► data master ─► roster tags, legacy session keys
//!                                 └wraps─► audit master ─seals─► audit signing key, chain keys
//! ```
//! An admin's user record wraps only the audit master: an admin verifies the
//! log and the deletions but cannot open a session. A clinician's record
//! holds both. Each session key is wrapped to its owner's X25519 public key
//! alone (`sessions.key_wrap = 'owner'`, associated data binding owner,
//! session and key id), so a clinician opens only the sessions they own —
//! by the keys, not by an SQL filter: a colleague with the file and their
//! own passphrase, or with the owner column rewritten, opens nothing. A
//! session from before schema 3 was wrapped under the data master; the next
//! clinician unlock re-wraps it to its owner (public key from a verified
//! roster row) and schedules a rotation.
//!
//! ## Rotation (why key pairs)
//!
//! A legacy (master-wrapped) session's destroyed key may survive in free
//! pages, the WAL or flash remapping, where the data master would still
//! open it. Rotating the data master — a new master, every surviving
//! master-wrapped session key re-wrapped,
//! the old master dropped and every wrapped copy overwritten — makes the
//! shred complete. Rotation must hand the new master to *every* clinician
//! without their passphrases, so the data master is not wrapped under the
//! passphrase key directly: each clinician has a static X25519 key pair
//! (public half in clear, secret half sealed under the passphrase key) and
//! the master is wrapped to the public key by ephemeral-static ECDH + HKDF +
//! AES-GCM (`pk.rs`). Any clinician's unlock can therefore rotate for all;
//! nothing that could open the old master survives the rotation. A vault-wide
//! escrow copy was rejected: whoever holds it holds every past master.
//!
//! Schedule: with `rotate_after_deletions` (the default) every deletion
//! batch sets `rotation_due` in its own transaction. A clinician's
//! `destroy` (or retention run) rotates straight after; when the deleting
//! actor holds no data master (an admin's retention run) the rotation
//! happens at the next clinician unlock.
//!
//! ## Retention
//!
//! Settings live in `meta` and only an admin changes them (audited as
//! `settings.changed`). Every unlock runs retention: sessions never exported
//! within the limit (default 7 days) are destroyed with trigger `retention`;
//! exported sessions are destroyed when their grace period (default 0,
//! at most 72 h) ends. With a grace period, `destroy(id, "exported")`
//! schedules instead of destroying and returns a receipt whose id starts
//! with `scheduled-`. Destruction needs no key, so any unlock does it.
//!
//! Every change and the audit record describing it commit in one SQLite
//! transaction, so the log never misses an acknowledged change and never
//! records one that did not happen. Failed unlocks cannot reach the audit
//! keys; they are kept in `audit_pending` and folded into the log at the
//! next successful unlock.
//!
//! Destroying a session deletes its rows, sets its wrapped key to NULL
//! (`secure_delete` overwrites the freed pages), checkpoints and truncates
//! the WAL, and writes a receipt holding the SHA-256 of every destroyed
//! ciphertext.
//!
//! ## Crash safety
//!
//! A write is acknowledged only after its transaction commits
//! (`synchronous=FULL`: the WAL is fsynced at commit). A destroy deletes the
//! rows, NULLs the wrapped key, writes the receipt and inserts a
//! `pending_shred` row in one transaction; the WAL truncation (and the
//! rotation) come after. A crash in between leaves `pending_shred` set, and
//! the next [`Vault::open`] truncates the WAL and clears it (see
//! [`Vault::recovered_shreds`]); `rotation_due` stays set until a clinician
//! rotates.

mod anchor;
mod approvals;
mod chain_key;
mod covers;
mod head;
mod mac_key;
mod maintenance;
mod people;
mod pk;
mod recovery;
mod report;
mod roster;
mod schema;
mod sealed;
mod session_tags;
mod store;
mod unlock;

pub use store::decode_attestation;

pub use chain_key::AuditChainKey;
pub use maintenance::{RetentionReport, RetentionSettings, RotationReport, MAX_EXPORT_GRACE_MS};
pub use report::{PruneOutcome, RetentionFacts};

pub use schema::{describe as describe_schema, SCHEMA_VERSION};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tacet_audit::{
    AuditRecord, ChainKey, Checkpoint, MerkleLog, SigningKey, StoredRecord, VerifierKey,
    VerifyInput,
};
use tacet_core::audit::Detail;
use tacet_core::lifecycle::Transition;
use tacet_core::ports::{
    AuditVerification, DeletionEntry, DeletionReceipt, SessionStore, SessionSummary, StoreError,
};
use tacet_core::review::Attestation;
use tacet_core::{
    Actor, AttestedNote, AuditAction, AuditEvent, Draft, GateError, Outcome, PatientRef, Role,
    SessionId, SessionState, Transcript, UserName,
};
use tacet_crypto::{Aad, CryptoError, KdfParams, Key256, NonceSequence, Passphrase};

pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const DB_FILE: &str = "vault.sqlite3";
const LOCK_FILE: &str = "vault.lock";
/// Samples per sealed audio chunk: one second at 16 kHz.
pub const AUDIO_CHUNK_SAMPLES: usize = 16_000;
/// Meta key present once every clinician row carries a roster tag.
const ROSTER_SEALED: &str = "roster_sealed";
/// The schema that brought the roster tags.
const ROSTER_SINCE_SCHEMA: i64 = 3;
/// Failed unlocks allowed before a pause is enforced.
const THROTTLE_AFTER: i64 = 5;
const THROTTLE_MS: u64 = 30_000;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no vault at {0}: create one with `tacet init`")]
    Missing(PathBuf),
    #[error("a vault already exists at {0}")]
    Exists(PathBuf),
    #[error("the vault folder {0} is not writable (read-only file system or no permission); Tacet must write there even to read, since every access is recorded in the audit log — nothing was changed")]
    NotWritable(PathBuf),
    #[error("the vault at {0} is in use by another Tacet process; close it first")]
    Locked(PathBuf),
    #[error("the vault database failed its integrity check and was left untouched: {0}")]
    Corrupt(String),
    #[error("the vault has lost acknowledged writes: {acknowledged} audit records were acknowledged but the database holds {present} (a damaged write-ahead log, or an older copy of the database restored); it was left untouched — restore from a backup or keep it for investigation")]
    LostWrites { acknowledged: u64, present: u64 },
    #[error("wrong user name or passphrase")]
    BadCredentials,
    #[error("too many failed unlock attempts for this user; wait {wait_s} s and try again")]
    Throttled { wait_s: u64 },
    #[error("user {0:?} already exists")]
    UserExists(String),
    #[error("user names are 1–64 letters, digits, '.', '-' or '_'")]
    BadUserName,
    #[error("the passphrase {0}")]
    WeakPassphrase(#[from] tacet_core::passphrase::PassphraseProblem),
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    #[error("cryptography: {0}")]
    Crypto(#[from] CryptoError),
    #[error("audit log: {0}")]
    Audit(#[from] tacet_audit::AuditError),
    #[error("database: {0}")]
    Sql(rusqlite::Error),
    #[error("could not write the vault file ({0}): the disk may be full or read-only. The change was not saved and nothing stored was damaged; free space (or restore write access) and try again")]
    Storage(String),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the data key cannot be rotated until these clinicians sign in once (to upgrade their key record): {0}")]
    RotationBlocked(String),
    #[error("invalid setting: {0}")]
    BadSetting(String),
    #[error("refused: audit records are kept for {years} years (the retention floor), and this prune would reach younger ones; nothing was pruned and the attempt is in the audit log")]
    BelowRetentionFloor { years: u64 },
}

impl From<rusqlite::Error> for VaultError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            let write_failure = matches!(
                f.code,
                rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::ReadOnly
            ) || matches!(
                f.extended_code,
                ffi::SQLITE_IOERR_WRITE | ffi::SQLITE_IOERR_FSYNC | ffi::SQLITE_IOERR_TRUNCATE
            );
            if write_failure {
                return VaultError::Storage(e.to_string());
            }
        }
        VaultError::Sql(e)
    }
}

impl From<VaultError> for StoreError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Store(s) => s,
            VaultError::Crypto(CryptoError::Open) => StoreError::Integrity(
                "a sealed record failed to decrypt (altered, moved, or wrong key)".into(),
            ),
            other => StoreError::Io(other.to_string()),
        }
    }
}

fn now_ms() -> u64 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    wall.saturating_add_signed(danger::CLOCK_SHIFT_MS.with(std::cell::Cell::get))
}

/// Escape hatches for tests of the vault's time-based rules; no program
/// calls them (a tidy test in tacet-cli checks the binaries' sources).
pub mod danger {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static CLOCK_SHIFT_MS: Cell<i64> = const { Cell::new(0) };
    }

    /// Moves the vault's clock, on this thread only, by `ms` from the wall
    /// clock: records written afterwards carry the shifted time. Tests use
    /// it to write "old" records and then prune them after the retention
    /// floor, which nothing else can reach.
    pub fn shift_clock_for_tests(ms: i64) {
        CLOCK_SHIFT_MS.with(|c| c.set(ms));
    }
}

fn valid_user_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// How the vault derives user keys.
#[derive(Clone, Copy, Debug)]
pub enum KdfChoice {
    /// OWASP's floor (m = 19 MiB, t = 2): fast, for tests.
    Floor,
    /// Calibrated to about this many milliseconds on this machine.
    CalibratedMs(u64),
    /// These costs (from a calibration done beforehand, so that a caller
    /// can show it as a step of its own); each user gets a fresh salt.
    /// Below OWASP's floor is refused.
    Cost { m_cost_kib: u32, t_cost: u32 },
}

impl KdfChoice {
    fn params(self) -> Result<KdfParams, CryptoError> {
        match self {
            KdfChoice::Floor => KdfParams::floor(),
            KdfChoice::CalibratedMs(ms) => KdfParams::calibrate(ms),
            KdfChoice::Cost { m_cost_kib, t_cost } => {
                let p = KdfParams {
                    m_cost_kib,
                    t_cost,
                    ..KdfParams::floor()?
                };
                p.check_floor()?;
                Ok(p)
            }
        }
    }
}

/// A new user to create.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub role: Role,
    pub passphrase: &'a Passphrase,
}

fn open_connection(path: &Path) -> Result<Connection, VaultError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The vault's folder is its owner's alone (0700) and every file in it
/// (database, write-ahead log, shared memory, lock) 0600: another account
/// on the practice PC cannot even copy the ciphertext or read the audit
/// log's metadata. Applied at creation and again at every open, so a
/// folder made looser by hand (or by an older Tacet, which left 0755/0644)
/// is tightened. SQLite gives its -wal and -shm files the mode of the
/// database file, which exists before SQLite first opens it.
#[cfg(unix)]
fn make_private(dir: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let db = dir.join(DB_FILE);
    if !db.exists() {
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&db)?;
    }
    for name in [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
        LOCK_FILE.to_string(),
        head::HEAD_FILE.to_string(),
    ] {
        let p = dir.join(name);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_dir: &Path) -> Result<(), VaultError> {
    Ok(())
}

fn lock_dir(dir: &Path) -> Result<File, VaultError> {
    let mut options = File::options();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let f = options
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                VaultError::NotWritable(dir.to_path_buf())
            }
            _ => VaultError::Io(e),
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(VaultError::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(VaultError::Io(e)),
    }
}

/// An opened, verified, still locked vault.
pub struct Vault {
    conn: Connection,
    dir: PathBuf,
    _lock: File,
    recovered_shreds: usize,
    /// The audit chain's first key, held only between creating the vault
    /// and handing it to the admin.
    chain_key_to_hand_out: Option<chain_key::AuditChainKey>,
}

impl Vault {
    pub fn exists(dir: &Path) -> bool {
        dir.join(DB_FILE).exists()
    }

    /// Creates a new vault in `dir` with its first users (at least one
    /// clinician, who holds the data master key).
    pub fn create(dir: &Path, users: &[NewUser<'_>], kdf: KdfChoice) -> Result<Vault, VaultError> {
        Self::create_inner(dir, users, kdf, false)
    }

    /// Creates a vault as the first release (schema 1) wrote it: the data
    /// master wrapped symmetrically under each clinician's passphrase key.
    /// For the migration tests only.
    #[doc(hidden)]
    pub fn create_schema_v1_for_tests(
        dir: &Path,
        users: &[NewUser<'_>],
        kdf: KdfChoice,
    ) -> Result<Vault, VaultError> {
        Self::create_inner(dir, users, kdf, true)
    }

    fn create_inner(
        dir: &Path,
        users: &[NewUser<'_>],
        kdf: KdfChoice,
        schema_v1: bool,
    ) -> Result<Vault, VaultError> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_dir(dir)?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            return Err(VaultError::Exists(path));
        }
        make_private(dir)?;
        for u in users {
            if !valid_user_name(u.name) {
                return Err(VaultError::BadUserName);
            }
            tacet_core::passphrase::check_new(u.passphrase.danger_expose(), u.name)?;
        }
        let mut conn = open_connection(&path)?;
        schema::migrate_to(&mut conn, if schema_v1 { 1 } else { SCHEMA_VERSION })?;
        let data_master = Key256::generate()?;
        let audit_master = Key256::generate()?;
        let vault_id: [u8; 16] = tacet_crypto::random_bytes()?;
        let origin = format!("tacet.local/vault/{}", hex::encode(vault_id));
        let (_, pkcs8) = SigningKey::generate()?;
        let chain0 = ChainKey(tacet_crypto::random_bytes()?);

        let tx = conn.transaction()?;
        set_meta(&tx, "vault_id", &vault_id)?;
        set_meta(&tx, "origin", origin.as_bytes())?;
        set_meta(&tx, "created_at_ms", &now_ms().to_be_bytes())?;
        let mut audit_seq = NonceSequence::new();
        let sealed_pkcs8 = tacet_crypto::seal(
            &audit_master,
            audit_seq.next_nonce()?,
            &Aad::new("audit-signing-key"),
            &pkcs8,
        )?;
        set_meta(&tx, "audit_signing_key", &sealed_pkcs8)?;
        // The chain's first key is not kept in the vault: it goes to the
        // admin (`take_audit_chain_key`), so that an account that can unlock
        // the vault later cannot recompute the tags of what came before
        // (chain_key.rs). The first release kept it, sealed.
        if schema_v1 {
            let sealed_k0 = tacet_crypto::seal(
                &audit_master,
                audit_seq.next_nonce()?,
                &Aad::new("audit-chain-key0"),
                &chain0.0,
            )?;
            set_meta(&tx, "audit_chain_key0", &sealed_k0)?;
        }
        let sealed_cur = tacet_crypto::seal(
            &audit_master,
            audit_seq.next_nonce()?,
            &Aad::new("audit-chain-key").u64("next_seq", 0),
            &chain0.0,
        )?;
        set_meta(&tx, "audit_chain_key", &sealed_cur)?;
        set_meta(
            &tx,
            "audit_nonce_counter",
            &audit_seq.next_counter().to_be_bytes(),
        )?;
        set_meta(&tx, "data_nonce_counter", &0u64.to_be_bytes())?;
        set_meta(&tx, "data_master_id", &tacet_crypto::random_bytes::<16>()?)?;
        if !schema_v1 {
            // Every clinician row is tagged as it is added (roster.rs).
            set_meta(&tx, ROSTER_SEALED, &[1])?;
            // Every session row is tagged as it is written (session_tags.rs).
            set_meta(&tx, session_tags::SESSIONS_SEALED, &[1])?;
        }
        let verifier = SigningKey::from_pkcs8(&pkcs8, &origin)?.verifier();
        set_meta(&tx, "audit_vkey", verifier.to_vkey_string().as_bytes())?;
        tx.commit()?;
        drop(pkcs8);

        let mut v = Vault {
            conn,
            dir: dir.to_path_buf(),
            _lock: lock,
            recovered_shreds: 0,
            chain_key_to_hand_out: (!schema_v1)
                .then(|| chain_key::AuditChainKey::new(chain0.clone())),
        };
        let system = Actor::new("system", Role::Admin);
        let mut session = Unlocked {
            vault: &mut v,
            actor: system.clone(),
            data_master: Some(data_master.clone()),
            pair: None,
            audit_master: audit_master.clone(),
            started: Instant::now(),
            housekeeping_problem: None,
            generations: Default::default(),
        };
        session.write(|tx, s| {
            s.append_audit(
                tx,
                // The schema it was created at says which tags are in force
                // from the start (session_tags::logged_seal).
                AuditEvent::new(AuditAction::VaultCreated, system.clone()).object(format!(
                    "schema:{}",
                    if schema_v1 { 1 } else { SCHEMA_VERSION }
                )),
            )
        })?;
        for u in users {
            session.add_user_inner(u, kdf, schema_v1, true)?;
        }
        session.write_checkpoint()?;
        drop(session);
        Ok(v)
    }

    /// Opens an existing vault: takes the single-instance lock, checks the
    /// database's integrity and migrates its schema.
    pub fn open(dir: &Path) -> Result<Vault, VaultError> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(VaultError::Missing(dir.to_path_buf()));
        }
        let lock = lock_dir(dir)?;
        make_private(dir)?;
        let mut conn = open_connection(&path).map_err(|e| VaultError::Corrupt(e.to_string()))?;
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| VaultError::Corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(VaultError::Corrupt(check));
        }
        schema::migrate(&mut conn)?;
        head::check(&conn, dir)?;
        let recovered_shreds = finish_pending_shreds(&conn)?;
        Ok(Vault {
            conn,
            dir: dir.to_path_buf(),
            _lock: lock,
            recovered_shreds,
            chain_key_to_hand_out: None,
        })
    }

    /// The audit anchor folder the vault in `dir` names, read without
    /// opening it for work (no lock, no checks): for fencing the process's
    /// writes before any command runs. `None` when there is no vault, no
    /// folder set, or the setting cannot be read (the command's own open
    /// says why).
    pub fn peek_anchor_dir(dir: &Path) -> Option<PathBuf> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return None;
        }
        let conn =
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
        anchor_dir(&conn).ok().flatten()
    }

    /// How many interrupted deletions this open finished (WAL truncated
    /// after a crash between a destroy's commit and its shred).
    /// The public key that verifies the audit log's checkpoints (C2SP
    /// vkey text): public, readable without unlocking, to be pinned
    /// outside this computer at setup.
    pub fn audit_verifier_key(&self) -> Result<String, VaultError> {
        String::from_utf8(get_meta(&self.conn, "audit_vkey")?)
            .map_err(|_| VaultError::Corrupt("the audit verifier key is not text".into()))
    }

    pub fn recovered_shreds(&self) -> usize {
        self.recovered_shreds
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Verifies the audit log with nothing but the public verifier key
    /// stored in clear: no passphrase needed, no patient data opened. The
    /// forward-secure chain is checked only by [`Unlocked::verify_audit`].
    pub fn verify_public(
        &self,
        external_checkpoints: &[String],
    ) -> Result<AuditVerification, VaultError> {
        verify_with(
            &self.conn,
            external_checkpoints,
            None,
            chain_key::NOT_CHECKED_PUBLIC.to_string(),
        )
    }
}

/// Truncates the WAL if a destroy committed but did not finish its shred.
fn finish_pending_shreds(conn: &Connection) -> Result<usize, VaultError> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM pending_shred", [], |r| r.get(0))?;
    if n > 0 {
        truncate_wal(conn)?;
        conn.execute("DELETE FROM pending_shred", [])?;
        truncate_wal(conn)?;
    }
    Ok(n as usize)
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`, failing loudly if the checkpoint
/// could not complete (a reader held it back).
fn truncate_wal(conn: &Connection) -> Result<(), VaultError> {
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        return Err(VaultError::Io(std::io::Error::other(
            "the write-ahead log could not be truncated (the database is busy); deleted data may linger until the next start",
        )));
    }
    Ok(())
}

fn user_wrap_aad(which: &str, user: &str) -> Aad {
    Aad::new("user-wrap")
        .field("key", which.as_bytes())
        .field("user", user.as_bytes())
}

fn set_meta(tx: &Transaction<'_>, k: &str, v: &[u8]) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT INTO meta (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
        params![k, v],
    )?;
    Ok(())
}

fn session_id_of(bytes: &[u8]) -> Result<SessionId, VaultError> {
    let id: [u8; 16] = bytes
        .try_into()
        .map_err(|_| VaultError::Corrupt("a session id is malformed".into()))?;
    Ok(SessionId(id))
}

fn get_meta(conn: &Connection, k: &str) -> Result<Vec<u8>, VaultError> {
    conn.query_row("SELECT v FROM meta WHERE k = ?1", params![k], |r| r.get(0))
        .optional()?
        .ok_or_else(|| VaultError::Corrupt(format!("the vault has lost its {k} record")))
}

fn get_counter(conn: &Connection, k: &str) -> Result<u64, VaultError> {
    let v = get_meta(conn, k)?;
    let arr: [u8; 8] = v
        .try_into()
        .map_err(|_| VaultError::Corrupt(format!("the {k} record is malformed")))?;
    Ok(u64::from_be_bytes(arr))
}

fn anchor_dir(conn: &Connection) -> Result<Option<PathBuf>, VaultError> {
    let v: Option<Vec<u8>> = conn
        .query_row(
            "SELECT v FROM meta WHERE k = ?1",
            params![anchor::META],
            |r| r.get(0),
        )
        .optional()?;
    v.map(|b| {
        String::from_utf8(b)
            .map(PathBuf::from)
            .map_err(|_| VaultError::Corrupt("the anchor folder setting is not text".into()))
    })
    .transpose()
}

fn verify_with(
    conn: &Connection,
    external: &[String],
    k0: Option<&ChainKey>,
    chain: String,
) -> Result<AuditVerification, VaultError> {
    let vkey = String::from_utf8(get_meta(conn, "audit_vkey")?)
        .map_err(|_| VaultError::Corrupt("the audit verifier key is not text".into()))?;
    // Checkpoints anchored outside the data folder count as external ones.
    let mut external = external.to_vec();
    let mut anchor_problems = Vec::new();
    let anchors = match anchor_dir(conn)? {
        None => "no anchor folder is set (tacet settings --anchor-dir)".to_string(),
        Some(dir) => {
            let origin = String::from_utf8(get_meta(conn, "origin")?)
                .map_err(|_| VaultError::Corrupt("the vault origin is not text".into()))?;
            match anchor::read(&dir, &origin) {
                Ok(a) => {
                    if let Some(pinned) = &a.pinned_vkey {
                        if *pinned != vkey.trim() {
                            anchor_problems.push(format!(
                                "the audit verifier key in the vault is not the one pinned in {} when anchoring began: the log was signed again with another key",
                                dir.display()
                            ));
                        }
                    }
                    let n = a.notes.len();
                    external.extend(a.notes);
                    format!("{n} anchored checkpoint(s) read from {}", dir.display())
                }
                Err(e) => format!(
                    "the anchor folder {} could not be read ({e}); checked without its anchors",
                    dir.display()
                ),
            }
        }
    };
    let external = external.as_slice();
    let verifier: VerifierKey = tacet_audit::parse_vkey(&vkey)?;
    let records: Vec<StoredRecord> = report::stored_records(conn)?;
    let stored: Vec<String> = {
        let mut st = conn.prepare("SELECT note FROM checkpoints ORDER BY size")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let prune_notes = report::prune_notes(conn)?;
    let report = tacet_audit::verify_log_pruned(
        &VerifyInput {
            records: &records,
            stored_checkpoints: &stored,
            external_checkpoints: external,
            verifier: &verifier,
            chain_key0: k0,
        },
        &prune_notes,
    );
    Ok(AuditVerification {
        records: report.records,
        root_hex: hex::encode(report.root),
        checkpoints_checked: (stored.len() + external.len()) as u64,
        problems: report
            .problems
            .iter()
            .map(|p| p.message.clone())
            .chain(anchor_problems)
            .collect(),
        anchors: Some(anchors),
        chain: Some(chain),
    })
}

/// An unlocked vault acting for one user.
pub struct Unlocked<'v> {
    vault: &'v mut Vault,
    actor: Actor,
    data_master: Option<Key256>,
    /// The signed-in clinician's X25519 key pair: opens the session keys
    /// wrapped to them (`key_wrap = 'owner'`). The secret zeroizes on drop.
    pair: Option<pk::KeyPair>,
    audit_master: Key256,
    started: Instant,
    housekeeping_problem: Option<String>,
    /// The session rows' generations as the audit log names them, read
    /// once per unlock (`session_tags.rs`).
    generations: session_tags::Generations,
}

struct SessionRow {
    owner: String,
    state: SessionState,
    template_id: String,
    created_at_ms: u64,
    key_id: Vec<u8>,
    wrapped_key: Option<Vec<u8>>,
    /// `key_wrap = 'owner'`: the key is wrapped to the owner's public key.
    owner_wrapped: bool,
    /// The signed-in clinician's cover of a colleague's session, if the
    /// owner granted one (`covers.rs`).
    cover_wrap: Option<Vec<u8>>,
    nonce_counter: u64,
    receipt_id: Option<String>,
}

/// One opened artifact: its index and plaintext (zeroized on drop).
type OpenedItem = (u64, zeroize::Zeroizing<Vec<u8>>);

/// Signing out (dropping the unlocked vault) signs a checkpoint if the log
/// grew, so every session of use ends with a signed head; best effort, since
/// a drop cannot report an error (the next unlock signs one anyway).
impl Drop for Unlocked<'_> {
    fn drop(&mut self) {
        let _ = self.write_checkpoint();
    }
}

fn artifact_aad(id: SessionId, kind: &str, idx: u64, last: bool, key_id: &[u8]) -> Aad {
    Aad::new("artifact")
        .field("session", id.as_bytes())
        .field("kind", kind.as_bytes())
        .u64("idx", idx)
        .u64("final", u64::from(last))
        .field("key_id", key_id)
}

fn session_key_aad(id: SessionId, key_id: &[u8]) -> Aad {
    Aad::new("session-key")
        .field("session", id.as_bytes())
        .field("key_id", key_id)
}

impl<'v> Unlocked<'v> {
    pub fn role(&self) -> Role {
        self.actor.role
    }

    /// Runs `f` in one transaction; commits only if it succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &Self) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        // An unchecked transaction borrows the connection shared, so the
        // closure may still use the keys held beside it.
        let tx = self.vault.conn.unchecked_transaction()?;
        self.generations.begin();
        let out = f(&tx, self)?;
        tx.commit()?;
        self.generations.committed();
        // Acknowledge only once the head marker says so too.
        head::write(&self.vault.conn, &self.vault.dir)?;
        Ok(out)
    }

    fn append_audit(&self, tx: &Transaction<'_>, ev: AuditEvent) -> Result<u64, VaultError> {
        self.generations.appended(&ev);
        let next: i64 =
            tx.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_log", [], |r| {
                r.get(0)
            })?;
        let seq = next as u64;
        let prev_tag: [u8; 32] = if seq == 0 {
            [0u8; 32]
        } else {
            let v: Vec<u8> = tx.query_row(
                "SELECT chain_tag FROM audit_log WHERE seq = ?1",
                params![next - 1],
                |r| r.get(0),
            )?;
            v.try_into()
                .map_err(|_| VaultError::Corrupt("an audit chain tag is malformed".into()))?
        };
        let mono_ns = self.started.elapsed().as_nanos() as u64;
        let rec = AuditRecord::from_event(seq, now_ms(), mono_ns, APP_VERSION, &ev);
        let bytes = rec.encode();
        let leaf = tacet_audit::leaf_hash(&bytes);
        // The chain key for this record, then evolve and keep only the next.
        let sealed = get_meta(tx, "audit_chain_key")?;
        let cur = tacet_crypto::open(
            &self.audit_master,
            &Aad::new("audit-chain-key").u64("next_seq", seq),
            &sealed,
        )?;
        let cur: [u8; 32] = cur
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Corrupt("the audit chain key is malformed".into()))?;
        let key = ChainKey(cur);
        let tag = tacet_audit::chain_tag(&key, &prev_tag, &bytes);
        let next_key = key.evolve();
        let mut nonces = NonceSequence::resume(get_counter(tx, "audit_nonce_counter")?)?;
        let sealed_next = tacet_crypto::seal(
            &self.audit_master,
            nonces.next_nonce()?,
            &Aad::new("audit-chain-key").u64("next_seq", seq + 1),
            &next_key.0,
        )?;
        set_meta(tx, "audit_chain_key", &sealed_next)?;
        set_meta(
            tx,
            "audit_nonce_counter",
            &nonces.next_counter().to_be_bytes(),
        )?;
        tx.execute(
            "INSERT INTO audit_log (seq, record, leaf_hash, chain_tag) VALUES (?1, ?2, ?3, ?4)",
            params![next, bytes, leaf.to_vec(), tag.to_vec()],
        )?;
        Ok(seq)
    }

    /// Signs a checkpoint over the whole log if it has grown since the last.
    pub fn write_checkpoint(&mut self) -> Result<String, VaultError> {
        let conn = &self.vault.conn;
        let leaves: Vec<[u8; 32]> = report::leaf_hashes(conn)?;
        let size = leaves.len() as u64;
        if let Some(note) = conn
            .query_row(
                "SELECT note FROM checkpoints WHERE size = ?1",
                params![size as i64],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            return Ok(note);
        }
        let log = MerkleLog::from_leaves(leaves);
        let origin = String::from_utf8(get_meta(conn, "origin")?)
            .map_err(|_| VaultError::Corrupt("the vault origin is not text".into()))?;
        let sealed = get_meta(conn, "audit_signing_key")?;
        let pkcs8 =
            tacet_crypto::open(&self.audit_master, &Aad::new("audit-signing-key"), &sealed)?;
        let key = SigningKey::from_pkcs8(&pkcs8, &origin)?;
        let root = log.root();
        let note = tacet_audit::sign_checkpoint(
            &Checkpoint {
                origin: origin.clone(),
                size,
                root,
            },
            &key,
        );
        conn.execute(
            "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
            params![size as i64, note],
        )?;
        if let Some(dir) = anchor_dir(conn)? {
            let vkey = String::from_utf8(get_meta(conn, "audit_vkey")?)
                .map_err(|_| VaultError::Corrupt("the audit verifier key is not text".into()))?;
            if let Err(e) = anchor::write(&dir, &origin, size, &root, &note, &vkey) {
                // Never blocks work; said at the unlock and by `audit verify`.
                self.housekeeping_problem = Some(format!(
                    "the audit checkpoint could not be anchored in {}: {e}",
                    dir.display()
                ));
            }
        }
        Ok(note)
    }

    /// The folder outside the data folder where checkpoints are anchored,
    /// if the practice chose one.
    pub fn anchor_dir(&self) -> Result<Option<PathBuf>, VaultError> {
        anchor_dir(&self.vault.conn)
    }

    /// Sets (or, with `None`, clears) the anchor folder: admins only,
    /// audited as `settings.changed`. The folder must exist; the current
    /// checkpoint and the verifier key are written there at once.
    pub fn set_anchor_dir(&mut self, dir: Option<&Path>) -> Result<(), VaultError> {
        if self.actor.role != Role::Admin {
            return Err(
                StoreError::Denied("only an admin can choose the anchor folder".into()).into(),
            );
        }
        let value = match dir {
            Some(d) => {
                if !d.is_absolute() || !d.is_dir() {
                    return Err(VaultError::BadSetting(format!(
                        "the anchor folder must be an existing folder given by its full path ({} is not)",
                        d.display()
                    )));
                }
                if d.starts_with(&self.vault.dir) {
                    return Err(VaultError::BadSetting(
                        "the anchor folder must be outside the data folder (a second disk, a share, a USB stick)".into(),
                    ));
                }
                Some(
                    d.to_str()
                        .ok_or_else(|| {
                            VaultError::BadSetting(
                                "the anchor folder's path is not valid text".into(),
                            )
                        })?
                        .to_string(),
                )
            }
            None => None,
        };
        let ev = AuditEvent::new(AuditAction::SettingsChanged, self.actor.clone()).object(
            if value.is_some() {
                "settings:anchor_dir=set"
            } else {
                "settings:anchor_dir=cleared"
            },
        );
        self.write(|tx, s| {
            match &value {
                Some(v) => set_meta(tx, anchor::META, v.as_bytes())?,
                None => {
                    tx.execute("DELETE FROM meta WHERE k = ?1", params![anchor::META])?;
                }
            }
            s.append_audit(tx, ev)
        })?;
        self.housekeeping_problem = None;
        self.write_checkpoint()?;
        match self.housekeeping_problem.take() {
            Some(p) => Err(VaultError::BadSetting(p)),
            None => Ok(()),
        }
    }

    fn add_user_inner(
        &mut self,
        u: &NewUser<'_>,
        kdf: KdfChoice,
        schema_v1: bool,
        bootstrap: bool,
    ) -> Result<(), VaultError> {
        if !valid_user_name(u.name) {
            return Err(VaultError::BadUserName);
        }
        // `Vault::create` enrols the first users itself (`bootstrap`); after
        // that, who may add whom is the one rule in tacet-core.
        if !bootstrap && !self.actor.role.may_add(u.role) {
            // Audited: an attempt to create an account of the other role.
            let ev = AuditEvent::new(AuditAction::UserAdded, self.actor.clone())
                .object(format!("user:{}:{}", u.name, u.role))
                .outcome(Outcome::Denied);
            self.write(|tx, s| s.append_audit(tx, ev))?;
            return Err(
                StoreError::Denied(self.actor.role.may_not_add_reason(u.role).into()).into(),
            );
        }
        tacet_core::passphrase::check_new(u.passphrase.danger_expose(), u.name)?;
        let params = kdf.params()?;
        let user_key = tacet_crypto::derive_key(u.passphrase, &params)?;
        // A fresh salt means a fresh user key: its nonce sequence starts at 0.
        let mut nonces = NonceSequence::new();
        let wam = tacet_crypto::wrap_key(
            &user_key,
            nonces.next_nonce()?,
            &user_wrap_aad("audit", u.name),
            &self.audit_master,
        )?;
        let pair = match (u.role, &self.data_master) {
            (Role::Clinician, Some(dm)) if schema_v1 => {
                let w = tacet_crypto::wrap_key(
                    &user_key,
                    nonces.next_nonce()?,
                    &user_wrap_aad("data", u.name),
                    dm,
                )?;
                Some((None, w, None))
            }
            (Role::Clinician, Some(dm)) => {
                let pair = pk::KeyPair::generate()?;
                let sealed = tacet_crypto::seal(
                    &user_key,
                    nonces.next_nonce()?,
                    &user_wrap_aad("x25519-secret", u.name),
                    pair.secret.as_bytes(),
                )?;
                let master_id = get_meta(&self.vault.conn, "data_master_id")?;
                let wrapped = pk::wrap_to(&pair.public, u.name, &master_id, dm)?;
                let tag =
                    roster::RosterKey::derive(dm)?.tag(u.name, Role::Clinician, &pair.public)?;
                Some((Some(pair.public), sealed, Some((wrapped, tag))))
            }
            (Role::Clinician, None) => {
                return Err(StoreError::Denied(
                    "only a clinician (who holds the data key) can add another clinician".into(),
                )
                .into())
            }
            (Role::Admin, _) => None,
        };
        let (public, sealed_secret, wdm_pk, tag) = match pair {
            Some((p, s, w)) => {
                let (w, t) = w.map_or((None, None), |(w, t)| (Some(w), Some(t)));
                (p.map(|p| p.to_vec()), Some(s), w, t)
            }
            None => (None, None, None, None),
        };
        let actor = self.actor.clone();
        let name = u.name.to_string();
        let role = u.role;
        self.write(|tx, s| {
            let exists: Option<String> = tx
                .query_row("SELECT name FROM users WHERE name = ?1", params![name], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(VaultError::UserExists(name.clone()));
            }
            if schema_v1 {
                // The v1 row: the data master wrapped under the passphrase key.
                tx.execute(
                    "INSERT INTO users (name, role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_data_master, wrapped_audit_master, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![name, role.as_str(), params.m_cost_kib, params.t_cost, params.p_cost, params.salt.to_vec(), sealed_secret, wam, now_ms()],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO users (name, role, kdf_m_kib, kdf_t, kdf_p, kdf_salt, wrapped_audit_master, created_at_ms, x25519_public, sealed_x25519_secret, wrapped_data_master_pk, roster_tag) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![name, role.as_str(), params.m_cost_kib, params.t_cost, params.p_cost, params.salt.to_vec(), wam, now_ms(), public, sealed_secret, wdm_pk, tag],
                )?;
            }
            s.append_audit(tx, AuditEvent::new(AuditAction::UserAdded, actor.clone()).object(format!("user:{name}:{role}")))
        })?;
        Ok(())
    }

    /// Adds a user: an admin may add admins, a clinician clinicians
    /// ([`Role::may_add`]); any other attempt is refused and audited.
    pub fn add_user(&mut self, u: &NewUser<'_>, kdf: KdfChoice) -> Result<(), VaultError> {
        self.add_user_inner(u, kdf, false, false)
    }

    /// Users and roles (names and roles only).
    pub fn users(&self) -> Result<Vec<(String, Role)>, VaultError> {
        let mut st = self
            .vault
            .conn
            .prepare("SELECT name, role FROM users ORDER BY name")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            let (n, role) = r?;
            out.push((n, Role::parse(&role).unwrap_or(Role::Clinician)));
        }
        Ok(out)
    }

    /// Verifies the audit log: the Merkle tree, the signed and anchored
    /// checkpoints, and — in a vault from before the chain key was handed
    /// out at setup, which still keeps it — every chain tag. With the
    /// admin's copy of the chain key, [`Self::verify_audit_with_chain_key`]
    /// checks the chain of any vault.
    pub fn verify_audit_full(
        &mut self,
        external: &[String],
    ) -> Result<AuditVerification, VaultError> {
        match self.kept_chain_key()? {
            Some(k0) => verify_with(
                &self.vault.conn,
                external,
                Some(&k0),
                chain_key::CHECKED_KEPT.to_string(),
            ),
            None => verify_with(
                &self.vault.conn,
                external,
                None,
                chain_key::NOT_CHECKED_HANDED_OUT.to_string(),
            ),
        }
    }

    /// Records a verification and its outcome (`audit.verified`).
    pub(crate) fn record_verification(&mut self, v: &AuditVerification) -> Result<(), VaultError> {
        let outcome = if v.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failed
        };
        let ev = AuditEvent::new(AuditAction::AuditVerified, self.actor.clone())
            .outcome(outcome)
            .detail(Detail::Count(v.records));
        self.write(|tx, s| s.append_audit(tx, ev))?;
        Ok(())
    }

    /// Truncates the WAL so deleted pages do not linger in it.
    fn checkpoint_wal(&self) -> Result<(), VaultError> {
        truncate_wal(&self.vault.conn)
    }
}

/// Why a session whose row fails its tag is refused.
pub(crate) fn record_refused(id: SessionId) -> String {
    format!(
        "session {}'s record (state, times or receipt) was changed outside Tacet; it opens for nobody, and retention keeps to the age the audit log gives it",
        id.short()
    )
}

/// A vault error as the session port says it.
fn store<T>(r: Result<T, VaultError>) -> Result<T, StoreError> {
    r.map_err(StoreError::from)
}
