//! The schema and its migrations over `PRAGMA user_version`.
//!
//! Only opaque ids, states, times, sizes and hashes are stored in clear.
//! Every patient byte lives in `artifacts.sealed`, AES-256-GCM under the
//! session's key; the session key lives wrapped in `sessions.wrapped_key`
//! and is set to NULL (with `secure_delete` zeroing the page) when the
//! session is destroyed.
//!
//! Version 2 adds what rotation, retention and crash-safe deletion need:
//! per-clinician X25519 key pairs (public half in clear, secret half sealed
//! under the passphrase key) and the data master wrapped to the public key;
//! a per-session destroy deadline (export grace period); and
//! `pending_shred`, written in the same transaction that deletes a
//! session's rows so a crash before the WAL is truncated is detected and
//! finished at the next open. A v1 clinician row keeps its symmetric
//! `wrapped_data_master` until that clinician's next unlock upgrades it.
//!
//! Version 3 adds `users.roster_tag`: each clinician row authenticated under
//! a key derived from the data master (see `roster.rs`); and
//! `sessions.key_wrap`: `owner` when the session key is wrapped to its
//! owner's X25519 public key (issue 22, item 2: the data master no longer
//! opens a colleague's session), `master` for a session from before, until
//! the next clinician unlock re-wraps it to its owner.
//!
//! Version 4 adds `session_covers`: a session key wrapped to a covering
//! clinician's public key, which the owner chose (see `covers.rs`).
//!
//! Version 5 adds `sessions.record_tag`, version 6
//! `sessions.record_generation` (see `session_tags.rs`).

use rusqlite::Connection;

pub const SCHEMA_VERSION: i64 = 6;

const V1: &str = r#"
CREATE TABLE meta (
    k TEXT PRIMARY KEY,
    v BLOB NOT NULL
) STRICT;
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('clinician', 'admin')),
    kdf_m_kib INTEGER NOT NULL,
    kdf_t INTEGER NOT NULL,
    kdf_p INTEGER NOT NULL,
    kdf_salt BLOB NOT NULL,
    wrapped_data_master BLOB,
    wrapped_audit_master BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    last_failed_at_ms INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    template_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    key_id BLOB NOT NULL,
    wrapped_key BLOB,
    nonce_counter INTEGER NOT NULL DEFAULT 0,
    receipt_id TEXT
) STRICT;
CREATE TABLE artifacts (
    session_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    idx INTEGER NOT NULL,
    final INTEGER NOT NULL DEFAULT 0,
    sealed BLOB NOT NULL,
    PRIMARY KEY (session_id, kind, idx)
) STRICT;
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    record BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    chain_tag BLOB NOT NULL
) STRICT;
CREATE TABLE audit_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
) STRICT;
"#;

const V2: &str = r#"
ALTER TABLE users ADD COLUMN x25519_public BLOB;
ALTER TABLE users ADD COLUMN sealed_x25519_secret BLOB;
ALTER TABLE users ADD COLUMN wrapped_data_master_pk BLOB;
ALTER TABLE sessions ADD COLUMN destroy_after_ms INTEGER;
CREATE TABLE pending_shred (
    session_id BLOB PRIMARY KEY,
    since_ms INTEGER NOT NULL
) STRICT;
"#;

const V3: &str = r#"
ALTER TABLE users ADD COLUMN roster_tag BLOB;
ALTER TABLE sessions ADD COLUMN key_wrap TEXT NOT NULL DEFAULT 'master' CHECK (key_wrap IN ('master', 'owner'));
"#;

const V4: &str = r#"
CREATE TABLE session_covers (
    session_id BLOB NOT NULL,
    clinician TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    granted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, clinician)
) STRICT;
"#;

const V5: &str = r#"
ALTER TABLE sessions ADD COLUMN record_tag BLOB;
"#;

/// Version 6 counts each session row's generation, which its tag covers and
/// the audit record of each change names (`session_tags.rs`): a whole row put
/// back from an older copy no longer verifies.
const V6: &str = r#"
ALTER TABLE sessions ADD COLUMN record_generation INTEGER NOT NULL DEFAULT 0;
"#;

/// Each entry migrates from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the vault was written by a newer Tacet (schema {found}, this build knows up to {known}); refusing to open it")]
    TooNew { found: i64, known: i64 },
    #[error("database error during migration: {0}")]
    Sql(#[from] rusqlite::Error),
}

pub fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Migrates up to `target` (tests build older schemas with it).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), SchemaError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(SchemaError::TooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        if i as i64 >= target {
            break;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema as SQLite reports it, for the test that migrating from the
/// first version equals a fresh one.
pub fn describe(conn: &Connection) -> Result<Vec<String>, rusqlite::Error> {
    let mut st = conn.prepare(
        "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY name",
    )?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}
