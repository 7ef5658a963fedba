//! Retention of the log itself: pruning records older than six years
//! without breaking later verification.
//!
//! The Merkle tree and the chain need only each record's *leaf hash* and
//! *chain tag*, not its bytes, to stay checkable: a checkpoint's root is
//! recomputed from leaf hashes, and the chain resumes from the last stored
//! tag. So pruning the first `k` records means: **drop their bytes, keep
//! their rows** (seq, leaf hash, chain tag). A pruned row is one whose
//! `bytes` are empty — an empty byte string is never a valid record (it
//! lacks even the version byte), so the two cannot be confused.
//!
//! An attacker could empty rows too, so a pruned row is accepted only under
//! a **signed prune note** (the checkpoint key signs it, in the signed-note
//! format, with a body distinct from a checkpoint's):
//!
//! ```text
//! tacet-audit-prune/v1
//! <origin>
//! <pruned_below>          records 0 … pruned_below-1 may lack their bytes
//! <size>                  the log's size when the note was signed
//! <base64 root>           the Merkle root at that size
//! <base64 chain tag>      the tag of record pruned_below-1 (zeros if 0)
//! ```
//!
//! [`crate::verify::verify_log_pruned`] checks the note's signature, that
//! the stored leaf hashes still give its root, and that the stored tag of
//! the last pruned record is the one it names; then it skips the byte checks
//! of pruned rows below `pruned_below` and verifies the chain from there on
//! (the key is evolved through the pruned positions). An emptied row that no
//! valid note covers is reported exactly like any other modified record.
//! Every checkpoint, stored or kept elsewhere, stays verifiable, because the
//! leaf hashes it commits to are all still there.
//!
//! What the vault must do (an admin action, itself audited):
//! 1. run `verify_log`; refuse to prune a log with problems;
//! 2. `let plan = prune_plan(&records, &checkpoints, cutoff)?` with
//!    `cutoff = retention_cutoff_unix_ms(now, RETENTION_YEARS)`;
//! 3. `let note = sign_prune(&plan.statement, &key)`; store it;
//! 4. in one transaction, empty the bytes of `plan.drop_bytes`, and append
//!    an audit event (e.g. `retention.run` with object `audit-log`, a
//!    `Count` of pruned records and the note's SHA-256 as content hash);
//! 5. write a new checkpoint.
//!
//! Limits: the pruned records' contents are gone for good (that is the
//! point); their deletion receipts are no longer listed. Whoever holds the
//! signing key can sign a prune note, as they can sign checkpoints: the
//! note cannot hide records (leaf hashes stay, so external checkpoints still
//! bind them), but it can authorise dropping old bytes early. The audited
//! event and the note's `pruned_below` make that visible.

use crate::chain::GENESIS_TAG;
use crate::checkpoint::{b64_decode, b64_encode, open_note, parse_size, sign_note};
use crate::checkpoint::{Checkpoint, SigningKey, VerifierKey};
use crate::merkle::{leaf_hash, MerkleLog};
use crate::record::AuditRecord;
use crate::reports::check_against;
use crate::verify::StoredRecord;
use crate::AuditError;

/// The default retention of the log: six years (45 CFR 164.316(b)(2)).
pub const RETENTION_YEARS: u64 = 6;
/// The first line of every prune note.
pub const PRUNE_NOTE_LABEL: &str = "tacet-audit-prune/v1";

/// 365.2425 days.
const MS_PER_YEAR: u64 = 31_556_952_000;

/// The time before which records may be pruned: `now - years` (average
/// Gregorian years), saturating at 0.
pub fn retention_cutoff_unix_ms(now_unix_ms: u64, years: u64) -> u64 {
    now_unix_ms.saturating_sub(years.saturating_mul(MS_PER_YEAR))
}

/// What a prune note signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PruneStatement {
    pub origin: String,
    /// Records `0 .. pruned_below` may have their bytes removed.
    pub pruned_below: u64,
    /// The log size the note commits to (`>= pruned_below`).
    pub size: u64,
    /// The Merkle root at `size`.
    pub root: [u8; 32],
    /// The chain tag of record `pruned_below - 1` (zeros when 0).
    pub last_pruned_chain_tag: [u8; 32],
}

impl PruneStatement {
    /// The note body, exactly as signed.
    pub fn body(&self) -> String {
        format!(
            "{PRUNE_NOTE_LABEL}\n{}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.pruned_below,
            self.size,
            b64_encode(&self.root),
            b64_encode(&self.last_pruned_chain_tag)
        )
    }
}

/// Signs a prune statement as a signed note.
pub fn sign_prune(st: &PruneStatement, key: &SigningKey) -> String {
    sign_note(&st.body(), key)
}

/// Parses a prune note and verifies `key`'s signature on it.
pub fn open_prune(note: &str, key: &VerifierKey) -> Result<PruneStatement, AuditError> {
    use AuditError::MalformedPruneNote as Bad;
    let body = open_note(note, key)?;
    let Some(body) = body.strip_suffix('\n') else {
        return Err(Bad("the body does not end with a line break"));
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let [label, origin, below, size, root, tag] = lines.as_slice() else {
        return Err(Bad("the body does not have exactly six lines"));
    };
    if *label != PRUNE_NOTE_LABEL {
        return Err(Bad(
            "the first line is not the prune-note label (is it a checkpoint?)",
        ));
    }
    let hash = |s: &str, what| {
        b64_decode(s)
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or(Bad(what))
    };
    let st = PruneStatement {
        origin: (*origin).to_string(),
        pruned_below: parse_size(below).ok_or(Bad("pruned_below is not a canonical decimal"))?,
        size: parse_size(size).ok_or(Bad("the size is not a canonical decimal"))?,
        root: hash(root, "the root is not 32 bytes of canonical base64")?,
        last_pruned_chain_tag: hash(tag, "the chain tag is not 32 bytes of canonical base64")?,
    };
    Checkpoint {
        origin: st.origin.clone(),
        size: st.size,
        root: st.root,
    }
    .check_origin()?;
    if st.pruned_below > st.size {
        return Err(Bad("pruned_below exceeds the size"));
    }
    Ok(st)
}

/// What [`prune_plan`] decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrunePlan {
    /// Records `0 .. prune_below` are older than the cutoff (and covered by
    /// a checkpoint); their bytes may go.
    pub prune_below: u64,
    /// The seqs below `prune_below` that still have bytes: empty these.
    pub drop_bytes: Vec<u64>,
    /// Keep, for every row including pruned ones: seq, leaf hash, chain tag.
    /// Keep the signed note of `statement`, every checkpoint and `k0`.
    pub statement: PruneStatement,
}

impl PrunePlan {
    /// True when there is nothing (new) to prune.
    pub fn is_empty(&self) -> bool {
        self.drop_bytes.is_empty()
    }
}

/// Plans pruning the leading records written before `older_than_unix_ms`.
///
/// `checkpoints` are the log's checkpoints, already opened (signatures
/// checked); every one must match the log (else nothing is planned: a
/// log that does not verify must be investigated, not pruned), and only
/// records some checkpoint covers may be pruned — a record nobody has
/// signed a root over is never dropped. Pruning stops at the first record
/// at or after the cutoff, even if later ones are older (clocks can jump).
pub fn prune_plan(
    records: &[StoredRecord],
    checkpoints: &[Checkpoint],
    older_than_unix_ms: u64,
) -> Result<PrunePlan, AuditError> {
    let mut leaves = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.seq != i as u64 {
            return Err(AuditError::LogNotContiguous {
                position: i as u64,
                seq: r.seq,
            });
        }
        leaves.push(if r.is_pruned() {
            r.leaf_hash
        } else {
            leaf_hash(&r.bytes)
        });
    }
    let tree = MerkleLog::from_leaves(leaves);
    let Some(latest) = checkpoints.iter().max_by_key(|c| c.size) else {
        return Err(AuditError::NothingSigned);
    };
    for cp in checkpoints {
        check_against(&tree, cp)?;
    }
    let mut prune_below = 0u64;
    let mut drop_bytes = Vec::new();
    for r in records.iter().take_while(|r| r.seq < latest.size) {
        if !r.is_pruned() {
            let rec =
                AuditRecord::decode(&r.bytes).map_err(|e| AuditError::RecordUndecodableAt {
                    seq: r.seq,
                    reason: e.to_string(),
                })?;
            if rec.wall_unix_ms >= older_than_unix_ms {
                break;
            }
            drop_bytes.push(r.seq);
        }
        prune_below = r.seq + 1;
    }
    let last_pruned_chain_tag = match prune_below {
        0 => GENESIS_TAG,
        n => records[(n - 1) as usize].chain_tag,
    };
    Ok(PrunePlan {
        prune_below,
        drop_bytes,
        statement: PruneStatement {
            origin: latest.origin.clone(),
            pruned_below: prune_below,
            size: tree.size(),
            root: tree.root(),
            last_pruned_chain_tag,
        },
    })
}

/// Applies a plan to records in memory (the vault does the same in SQL):
/// empties the bytes of `plan.drop_bytes`, keeping everything else.
pub fn apply_prune(records: &mut [StoredRecord], plan: &PrunePlan) {
    for &seq in &plan.drop_bytes {
        if let Some(r) = usize::try_from(seq).ok().and_then(|i| records.get_mut(i)) {
            if r.seq == seq {
                r.bytes = Vec::new();
            }
        }
    }
}
