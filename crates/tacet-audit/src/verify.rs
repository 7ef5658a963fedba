//! The log verifier: recomputes everything from the stored records and
//! reports each discrepancy with where it is.
//!
//! The checks, and what each one catches:
//!
//! | check | catches |
//! |---|---|
//! | every record decodes | garbage or a truncated row |
//! | stored seqs are 0, 1, 2, … without gaps | deleted, duplicated or reordered rows |
//! | each record's own `seq` field equals its stored seq | a row moved under another number |
//! | stored leaf hash = `leaf_hash(bytes)` | a record edited without updating its hash |
//! | HMAC chain tags (when `k0` is given) | any edit, insertion, deletion or reordering by someone without the key |
//! | stored checkpoints: signature, root = recomputed root at their size, sizes never decrease | edits to records before a checkpoint, even with hashes and tags recomputed by a key holder |
//! | external checkpoints: signature, root matches, size ≤ log size | truncation of the tail, or restoring an older database |
//! | prune notes ([`verify_log_pruned`]): signature, root over the stored leaf hashes, chain tag of the last pruned record | rows emptied without an audited, signed prune (those are reported as modified records) |
//!
//! Problems are localised: a seq gap is reported once and counting resumes
//! after it; each chain tag is checked against the *stored* previous tag, so
//! one altered record gives one chain problem, not one per later record.
//! The Merkle tree is rebuilt from the records' bytes as stored, in stored
//! order, so the reported root is that of what is actually there.

use std::fmt;

use crate::chain::{chain_tag, tags_equal, ChainKey, GENESIS_TAG};
use crate::checkpoint::{open_checkpoint, VerifierKey};
use crate::merkle::{leaf_hash, MerkleLog};
use crate::prune::open_prune;
use crate::record::AuditRecord;

/// One record as the vault stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// The vault's sequence number for the row (must equal the position).
    pub seq: u64,
    /// [`AuditRecord::encode`] output.
    pub bytes: Vec<u8>,
    /// [`leaf_hash`] of `bytes`.
    pub leaf_hash: [u8; 32],
    /// [`chain_tag`] of `bytes` with the key of this position.
    pub chain_tag: [u8; 32],
}

impl StoredRecord {
    /// Encodes, hashes and tags `record` for storage. `key` is the writer's
    /// current chain key and `prev_tag` the previous record's tag
    /// ([`GENESIS_TAG`] for the first). Afterwards the writer must replace
    /// its key with `key.evolve()` and drop the old one.
    pub fn seal(record: &AuditRecord, key: &ChainKey, prev_tag: &[u8; 32]) -> StoredRecord {
        let bytes = record.encode();
        StoredRecord {
            seq: record.seq,
            leaf_hash: leaf_hash(&bytes),
            chain_tag: chain_tag(key, prev_tag, &bytes),
            bytes,
        }
    }

    /// Whether the record's bytes were removed by pruning (see
    /// [`crate::prune`]). Only a valid prune note makes that acceptable.
    pub fn is_pruned(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// What [`verify_log`] checks.
#[derive(Clone, Copy, Debug)]
pub struct VerifyInput<'a> {
    /// All records, in stored order.
    pub records: &'a [StoredRecord],
    /// Signed notes the log wrote itself, in the order written.
    pub stored_checkpoints: &'a [String],
    /// Signed notes kept elsewhere (by an admin, in an exported note).
    pub external_checkpoints: &'a [String],
    /// The checkpoint-signing key's public half.
    pub verifier: &'a VerifierKey,
    /// The initial chain key; without it the chain tags are not checked.
    pub chain_key0: Option<&'a ChainKey>,
}

/// The kind of a [`Problem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The record's bytes are not a valid encoding.
    RecordUndecodable,
    /// Stored seqs skip, repeat or go back.
    SequenceGap,
    /// The record's own `seq` field differs from its stored seq.
    SeqFieldMismatch,
    /// The stored leaf hash is not the hash of the stored bytes.
    LeafHashMismatch,
    /// The HMAC chain tag does not verify.
    ChainTagMismatch,
    /// A checkpoint does not parse or its signature does not verify.
    CheckpointInvalid,
    /// A checkpoint's root differs from the recomputed root at its size.
    CheckpointRootMismatch,
    /// A stored checkpoint has a smaller size than the one before it.
    CheckpointOrder,
    /// A checkpoint commits to more records than the log has.
    Truncated,
    /// A prune note does not parse or its signature does not verify.
    PruneNoteInvalid,
    /// A prune note does not match the log (root, size or chain tag).
    PruneNoteMismatch,
}

/// One thing wrong with the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The stored seq of the record concerned, if it is about one record.
    pub seq: Option<u64>,
    pub kind: ProblemKind,
    /// What is wrong and where, for a person.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The outcome of [`verify_log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of records examined.
    pub records: u64,
    /// Merkle root recomputed over the stored bytes (the stored leaf hash
    /// for records pruned under a valid prune note).
    pub root: [u8; 32],
    /// Records whose bytes were pruned under a valid prune note.
    pub pruned_records: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs every check described in the module docs, on a log that has
/// never been pruned (a pruned record is reported as modified).
pub fn verify_log(input: &VerifyInput) -> VerifyReport {
    verify_log_pruned(input, &[])
}

/// [`verify_log`] for a log that may have been pruned: records below the
/// largest `pruned_below` of a valid `prune_notes` entry may lack their
/// bytes (see [`crate::prune`]). Each note must be signed by the verifier
/// key, its root must match the stored leaf hashes at its size, and the
/// stored chain tag of the last pruned record must be the one it names;
/// otherwise the note is reported and grants nothing.
pub fn verify_log_pruned(input: &VerifyInput, prune_notes: &[String]) -> VerifyReport {
    let mut problems = Vec::new();
    let mut push = |seq: Option<u64>, kind: ProblemKind, message: String| {
        problems.push(Problem { seq, kind, message });
    };

    // Prune notes first: they decide which empty rows are legitimate. They
    // are checked against the tree of the *stored* leaf hashes of empty
    // rows (the only hash such a row has); empty rows they do not cover are
    // then treated as modified records below, as always.
    let mut pruned_below: u64 = 0;
    if !prune_notes.is_empty() {
        let tentative = MerkleLog::from_leaves(
            input
                .records
                .iter()
                .map(|r| {
                    if r.is_pruned() {
                        r.leaf_hash
                    } else {
                        leaf_hash(&r.bytes)
                    }
                })
                .collect(),
        );
        for (i, note) in prune_notes.iter().enumerate() {
            let label = format!("prune note {}", i + 1);
            let st = match open_prune(note, input.verifier) {
                Ok(st) => st,
                Err(e) => {
                    push(
                        None,
                        ProblemKind::PruneNoteInvalid,
                        format!("{label}: rejected: {e}"),
                    );
                    continue;
                }
            };
            match tentative.root_at(st.size) {
                Err(_) => {
                    push(
                        None,
                        ProblemKind::Truncated,
                        format!(
                            "the log has {} records but {label} commits to {}: records were removed or an older copy of the database was restored",
                            tentative.size(),
                            st.size
                        ),
                    );
                    continue;
                }
                Ok(root) if root != st.root => {
                    push(
                        None,
                        ProblemKind::PruneNoteMismatch,
                        format!("{label} (size {}) does not match the stored leaf hashes: one of records 0 to {} was modified, removed, inserted or reordered; pruned records are not accepted under it", st.size, st.size.saturating_sub(1)),
                    );
                    continue;
                }
                Ok(_) => {}
            }
            let tag_ok = match st.pruned_below {
                0 => true,
                n => input.records.get((n - 1) as usize).is_some_and(|r| {
                    r.seq == n - 1 && tags_equal(&r.chain_tag, &st.last_pruned_chain_tag)
                }),
            };
            if !tag_ok {
                push(
                    Some(st.pruned_below.saturating_sub(1)),
                    ProblemKind::PruneNoteMismatch,
                    format!("{label}: the chain tag of record {} is not the one the note names (modified?); pruned records are not accepted under it", st.pruned_below.saturating_sub(1)),
                );
                continue;
            }
            pruned_below = pruned_below.max(st.pruned_below);
        }
    }
    let mut pruned_records = 0u64;

    let mut leaves = Vec::with_capacity(input.records.len());
    let mut expected_seq: u64 = 0;
    let mut key = input.chain_key0.cloned();
    let mut prev_tag = GENESIS_TAG;
    for rec in input.records {
        let s = rec.seq;
        // Sequence numbers.
        if s != expected_seq {
            if s > expected_seq {
                let missing = if s - expected_seq == 1 {
                    format!("record {expected_seq} is missing")
                } else {
                    format!("records {expected_seq} to {} are missing", s - 1)
                };
                push(
                    Some(s),
                    ProblemKind::SequenceGap,
                    format!("record {s}: {missing} before it (deleted?)"),
                );
            } else {
                push(
                    Some(s),
                    ProblemKind::SequenceGap,
                    format!(
                        "record {s}: appears after record {} (duplicated or reordered?)",
                        expected_seq - 1
                    ),
                );
            }
        }
        expected_seq = s.saturating_add(1);

        // A row pruned under a valid note: only its stored hashes remain.
        if rec.is_pruned() && s < pruned_below {
            pruned_records += 1;
            leaves.push(rec.leaf_hash);
            if let Some(k) = key.take() {
                key = Some(k.evolve());
            }
            prev_tag = rec.chain_tag;
            continue;
        }

        // Leaf hash.
        let leaf = leaf_hash(&rec.bytes);
        if leaf != rec.leaf_hash {
            push(
                Some(s),
                ProblemKind::LeafHashMismatch,
                format!("record {s}: leaf hash does not match its bytes (modified?)"),
            );
        }
        leaves.push(leaf);

        // Contents.
        match AuditRecord::decode(&rec.bytes) {
            Ok(r) if r.seq != s => push(
                Some(s),
                ProblemKind::SeqFieldMismatch,
                format!(
                    "record {s}: its bytes say it is record {} (moved or replaced?)",
                    r.seq
                ),
            ),
            Ok(_) => {}
            Err(e) => push(
                Some(s),
                ProblemKind::RecordUndecodable,
                format!("record {s}: cannot be decoded: {e}"),
            ),
        }

        // Chain.
        if let Some(k) = key.take() {
            let tag = chain_tag(&k, &prev_tag, &rec.bytes);
            if !tags_equal(&tag, &rec.chain_tag) {
                push(
                    Some(s),
                    ProblemKind::ChainTagMismatch,
                    format!("record {s}: chain tag does not verify (modified, inserted, deleted before it or reordered?)"),
                );
            }
            key = Some(k.evolve());
        }
        prev_tag = rec.chain_tag;
    }

    let tree = MerkleLog::from_leaves(leaves);
    let n = tree.size();
    let mut check = |label: String, note: &str, last_size: &mut Option<u64>, ordered: bool| {
        let cp = match open_checkpoint(note, input.verifier) {
            Ok(cp) => cp,
            Err(e) => {
                push(
                    None,
                    ProblemKind::CheckpointInvalid,
                    format!("{label}: rejected: {e}"),
                );
                return;
            }
        };
        if ordered {
            if let Some(prev) = *last_size {
                if cp.size < prev {
                    push(
                        None,
                        ProblemKind::CheckpointOrder,
                        format!("{label}: commits to {} records, fewer than the {prev} of the checkpoint before it (checkpoints reordered or replaced?)", cp.size),
                    );
                }
            }
            *last_size = Some(cp.size.max(last_size.unwrap_or(0)));
        }
        match tree.root_at(cp.size) {
            Err(_) => push(
                None,
                ProblemKind::Truncated,
                format!(
                    "the log has {n} records but {label} commits to {}: records were removed or an older copy of the database was restored",
                    cp.size
                ),
            ),
            Ok(root) if root != cp.root => push(
                None,
                ProblemKind::CheckpointRootMismatch,
                format!(
                    "{label} (size {}) does not match the log: one of records 0 to {} was modified, removed, inserted or reordered",
                    cp.size,
                    cp.size.saturating_sub(1)
                ),
            ),
            Ok(_) => {}
        }
    };
    let mut last_size = None;
    for (i, note) in input.stored_checkpoints.iter().enumerate() {
        check(
            format!("stored checkpoint {}", i + 1),
            note,
            &mut last_size,
            true,
        );
    }
    let mut unused = None;
    for (i, note) in input.external_checkpoints.iter().enumerate() {
        check(
            format!("external checkpoint {}", i + 1),
            note,
            &mut unused,
            false,
        );
    }

    VerifyReport {
        records: n,
        root: tree.root(),
        pruned_records,
        problems,
    }
}
