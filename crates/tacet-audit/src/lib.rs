//! tacet-audit: the tamper-evident audit log core, with no I/O.
//!
//! The vault stores what this crate produces; this crate only encodes,
//! hashes, signs and verifies. Four independent mechanisms protect the log,
//! each covering a gap the others leave:
//!
//! 1. [`record`]: a canonical, versioned binary encoding of each
//!    [`AuditRecord`], so "the same record" means "the same bytes" and a
//!    hash of the bytes is a hash of the record.
//! 2. [`merkle`]: an RFC 9162 Merkle tree over the records' leaf hashes. Its
//!    root commits to the whole history; inclusion and consistency proofs
//!    let anyone check one record, or that a later log extends an earlier
//!    one, without trusting the vault.
//! 3. [`checkpoint`]: the root and size signed with Ed25519 in the C2SP
//!    signed-note / tlog-checkpoint format. A checkpoint copied off the
//!    machine (printed, e-mailed, kept by an admin) later proves that records
//!    were removed or that an older database was restored — the one attack a
//!    self-contained log cannot detect on its own.
//! 4. [`chain`]: a forward-secure HMAC chain. Each record carries a tag made
//!    with a key that is replaced after use, so an attacker who steals the
//!    running key cannot rewrite the records written before the theft.
//!
//! [`verify::verify_log`] runs every check over what the vault stored and
//! reports each problem with the record it concerns.
//!
//! On top of these, the admin side: [`reports`] (the deletion log, each line
//! with a verified inclusion proof, and the access report), [`fhir`] (the
//! log as FHIR R4 AuditEvent NDJSON, mapped to IHE BALP) and [`prune`]
//! (six-year retention of the log itself: records' bytes may be dropped
//! under a signed prune note while every proof and checkpoint stays
//! checkable).
//!
//! # Writing (what the vault does per event)
//!
//! 1. `let rec = AuditRecord::from_event(seq, wall_ms, mono_ns, version, &event);`
//! 2. `let row = StoredRecord::seal(&rec, &current_key, &prev_tag);`
//! 3. In **one** transaction: insert `row` and replace the sealed current key
//!    with `current_key.evolve()`. If the two are not atomic, a crash
//!    between them desynchronises key and log, and the next verification
//!    reports a chain problem that is not an attack.
//! 4. `tree.push(row.leaf_hash)`; every so often, and when exporting, sign
//!    `Checkpoint { origin, size: tree.size(), root: tree.root() }` with
//!    [`sign_checkpoint`] and store the note (and offer it to the admin to
//!    keep elsewhere).

pub mod chain;
pub mod checkpoint;
pub mod fhir;
pub mod merkle;
pub mod prune;
pub mod record;
pub mod reports;
pub mod verify;

pub use chain::{chain_tag, ChainKey};
pub use checkpoint::{
    open_checkpoint, parse_vkey, sign_checkpoint, Checkpoint, SigningKey, VerifierKey,
};
pub use fhir::{to_fhir_audit_event, to_ndjson, write_ndjson};
pub use merkle::{leaf_hash, node_hash, verify_consistency, verify_inclusion, MerkleLog};
pub use prune::{
    apply_prune, open_prune, prune_plan, retention_cutoff_unix_ms, sign_prune, PrunePlan,
    PruneStatement, RETENTION_YEARS,
};
pub use record::AuditRecord;
pub use reports::{
    access_report, deletion_log, receipt_id, render_deletion_log, AccessLine, AccessReport,
    DeletionLogEntry, InclusionProof, UserAccess,
};
pub use verify::{
    verify_log, verify_log_pruned, Problem, ProblemKind, StoredRecord, VerifyInput, VerifyReport,
};

/// Everything that can go wrong in this crate. Messages describe the
/// problem and never echo record contents.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditError {
    // --- record decoding ---
    #[error("audit record is truncated: it ends inside the {field} field")]
    RecordTruncated { field: &'static str },
    #[error("audit record has {extra_bytes} unexpected byte(s) after its last field")]
    RecordTrailingBytes { extra_bytes: usize },
    #[error(
        "audit record has encoding version {found}, this build reads only version {supported}"
    )]
    RecordUnknownVersion { found: u8, supported: u8 },
    #[error("audit record field {field} is not valid UTF-8")]
    RecordNotUtf8 { field: &'static str },
    #[error("audit record field {field} has presence tag {tag}; only 0 (absent) and 1 (present) are valid")]
    RecordBadTag { field: &'static str, tag: u8 },
    #[error(
        "audit record field {field} claims {claimed} bytes/items but only {available} bytes remain"
    )]
    RecordLengthTooLarge {
        field: &'static str,
        claimed: u64,
        available: usize,
    },

    // --- Merkle tree ---
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is larger than the log, which has {log_size} leaves")]
    SizeOutOfRange { size: u64, log_size: u64 },
    #[error("consistency between sizes {old_size} and {new_size} is undefined: the old size must not exceed the new one")]
    BadConsistencySizes { old_size: u64, new_size: u64 },
    #[error("proof rejected: {0}")]
    ProofInvalid(&'static str),

    // --- keys and checkpoints ---
    #[error("could not generate an Ed25519 key (the system random source failed)")]
    KeyGeneration,
    #[error("the Ed25519 signing key is not a valid PKCS#8 document")]
    BadPkcs8,
    #[error("invalid key name: {0}")]
    BadKeyName(&'static str),
    #[error("invalid verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("invalid checkpoint origin: {0}")]
    BadOrigin(&'static str),
    #[error("malformed signed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    #[error("the checkpoint carries no signature by key {name}")]
    NoSignatureByKey { name: String },
    #[error("a signature line names key {name} but its key hash does not match that key")]
    KeyHashMismatch { name: String },
    #[error("the checkpoint signature by key {name} is invalid (the checkpoint was altered or signed by another key)")]
    BadSignature { name: String },

    // --- reports and pruning ---
    #[error("the audit log is not contiguous: row {position} has seq {seq}; run `audit verify` to see what is wrong")]
    LogNotContiguous { position: u64, seq: u64 },
    #[error("the audit log does not reproduce the checkpoint of size {size}: records were modified, removed or reordered; run `audit verify` to see where")]
    CheckpointMismatch { size: u64 },
    #[error(
        "audit record {seq} cannot be decoded ({reason}); run `audit verify` to see what is wrong"
    )]
    RecordUndecodableAt { seq: u64, reason: String },
    #[error("malformed prune note: {0}")]
    MalformedPruneNote(&'static str),
    #[error(
        "no checkpoint covers the log yet, so no record can be pruned; write a checkpoint first"
    )]
    NothingSigned,
}
