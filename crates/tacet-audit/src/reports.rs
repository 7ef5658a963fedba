//! Admin reports over the log: the deletion log with inclusion proofs, and
//! the access report.
//!
//! Both are pure functions over what the vault stored, so an admin can run
//! them on a copy of the database without any key that decrypts patient
//! data: the log holds only ids, codes, counts and hashes.
//!
//! **The deletion log is proven, not asserted.** Each `session.destroyed`
//! record is located in the Merkle tree rebuilt from the stored bytes, the
//! rebuilt tree must reproduce the root of a signed checkpoint the caller has
//! already opened (and, ideally, that was kept off the machine), and an RFC
//! 9162 inclusion proof of the record's leaf is generated *and verified*
//! against that root. A line of the report therefore says "this deletion is
//! in the log the checkpoint signs", which an edited database cannot fake
//! without the signing key. Records written after the checkpoint are listed
//! without a proof and say so.
//!
//! **Patients are not in the log.** The access report groups events per user
//! and per *session id*: the opaque 128-bit id that the patient-facing side
//! of the product shows. Patient references (names, MRNs) are sealed inside
//! the vault under the session key and never enter the log, so the log can
//! be kept for six years after the patient data is destroyed. To answer
//! "who accessed patient X", the clinic maps X to session ids in the vault
//! (while the data still exists) and then reads this report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use tacet_core::AuditAction;

use crate::checkpoint::Checkpoint;
use crate::merkle::{leaf_hash, verify_inclusion, MerkleLog};
use crate::record::AuditRecord;
use crate::verify::StoredRecord;
use crate::AuditError;

/// An RFC 9162 inclusion proof of one leaf in the tree of `tree_size` leaves
/// whose root is `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf index (= the record's seq).
    pub index: u64,
    pub tree_size: u64,
    pub root: [u8; 32],
    /// The audit path, leaf side first (RFC 9162 §2.1.3.1).
    pub path: Vec<[u8; 32]>,
}

/// One destroyed session, as the deletion log shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionLogEntry {
    /// The seq of the `session.destroyed` record.
    pub seq: u64,
    /// The session id (32 hex digits), empty if the record has none.
    pub session: String,
    /// Why: `exported`, `retention`, `discarded`, … (empty if not recorded).
    pub trigger: String,
    pub actor: String,
    pub role: String,
    pub outcome: String,
    /// Wall-clock time of the destruction, ms since the Unix epoch.
    pub at_unix_ms: u64,
    /// The destroyed session key's id (hex), empty if not recorded.
    pub key_id: String,
    /// Number of ciphertexts destroyed (one hash per ciphertext in the record).
    pub destroyed_ciphertexts: u64,
    /// SHA-256 of each destroyed ciphertext (hex).
    pub destroyed_ciphertext_sha256: Vec<String>,
    /// `rcpt-<seq>-<first 4 bytes of the leaf hash, hex>`, as the vault issues.
    pub receipt_id: String,
    /// The record's leaf hash.
    pub leaf_hash: [u8; 32],
    /// The verified inclusion proof, or `None` when the record was written
    /// after the checkpoint (not yet provable against it).
    pub proof: Option<InclusionProof>,
}

/// The receipt id the vault gives a deletion: `rcpt-<seq>-<hex of the first
/// 4 bytes of the record's leaf hash>`.
pub fn receipt_id(seq: u64, leaf: &[u8; 32]) -> String {
    format!("rcpt-{seq}-{}", hex::encode(&leaf[..4]))
}

/// Rebuilds the tree from `records` (leaf hashes recomputed from the bytes;
/// the stored hash only for records whose bytes were pruned), after checking
/// that stored seqs are 0, 1, 2, …
fn rebuild(records: &[StoredRecord]) -> Result<MerkleLog, AuditError> {
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
    Ok(MerkleLog::from_leaves(leaves))
}

/// Checks that `tree` reproduces `cp` (size within the log, same root).
pub(crate) fn check_against(tree: &MerkleLog, cp: &Checkpoint) -> Result<(), AuditError> {
    let root = tree.root_at(cp.size)?;
    if root != cp.root {
        return Err(AuditError::CheckpointMismatch { size: cp.size });
    }
    Ok(())
}

/// The deletion log: every `session.destroyed` record, each with an
/// inclusion proof verified against `latest_checkpoint` (which the caller
/// must already have opened with [`crate::open_checkpoint`], i.e. its
/// signature is checked).
///
/// Fails if the stored seqs have a gap, a record (other than a pruned one)
/// does not decode, or the log does not reproduce the checkpoint's root —
/// in those cases run [`crate::verify_log`] to see what is wrong. Records
/// whose bytes were pruned are skipped: their deletion receipts ended with
/// the log's own retention period.
pub fn deletion_log(
    records: &[StoredRecord],
    latest_checkpoint: &Checkpoint,
) -> Result<Vec<DeletionLogEntry>, AuditError> {
    let tree = rebuild(records)?;
    check_against(&tree, latest_checkpoint)?;
    let code = AuditAction::SessionDestroyed.code();
    let mut out = Vec::new();
    for r in records {
        if r.is_pruned() {
            continue;
        }
        let rec = AuditRecord::decode(&r.bytes).map_err(|e| AuditError::RecordUndecodableAt {
            seq: r.seq,
            reason: e.to_string(),
        })?;
        if rec.action != code {
            continue;
        }
        let leaf = leaf_hash(&r.bytes);
        let proof = if r.seq < latest_checkpoint.size {
            let path = tree.inclusion_proof(r.seq, latest_checkpoint.size)?;
            verify_inclusion(
                r.seq,
                latest_checkpoint.size,
                &leaf,
                &path,
                &latest_checkpoint.root,
            )?;
            Some(InclusionProof {
                index: r.seq,
                tree_size: latest_checkpoint.size,
                root: latest_checkpoint.root,
                path,
            })
        } else {
            None
        };
        let detail = |k: &str| {
            rec.details
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let hashes: Vec<String> = rec
            .details
            .iter()
            .filter(|(n, _)| n == "destroyed_ciphertext_sha256")
            .map(|(_, v)| v.clone())
            .collect();
        out.push(DeletionLogEntry {
            seq: r.seq,
            session: rec.session.clone().unwrap_or_default(),
            trigger: detail("trigger"),
            actor: rec.actor.clone(),
            role: rec.role.clone(),
            outcome: rec.outcome.clone(),
            at_unix_ms: rec.wall_unix_ms,
            key_id: detail("key_id"),
            destroyed_ciphertexts: hashes.len() as u64,
            destroyed_ciphertext_sha256: hashes,
            receipt_id: receipt_id(r.seq, &leaf),
            leaf_hash: leaf,
            proof,
        });
    }
    Ok(out)
}

/// Renders the deletion log for a terminal, one line per destroyed session.
pub fn render_deletion_log(entries: &[DeletionLogEntry], checkpoint: &Checkpoint) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Deletion log: {} destroyed session(s); proofs against checkpoint {} size {} root {}",
        entries.len(),
        clean(&checkpoint.origin),
        checkpoint.size,
        hex::encode(checkpoint.root)
    );
    for e in entries {
        let status = match &e.proof {
            Some(p) => format!("proven in the verified log ({} hashes)", p.path.len()),
            None => "written after the checkpoint: not yet proven".to_string(),
        };
        let _ = writeln!(
            s,
            "{} {} session {} trigger {} by {} ({}) key {} {} ciphertext(s) destroyed, record {}: {}",
            iso8601_utc(e.at_unix_ms),
            clean(&e.receipt_id),
            clean(&e.session),
            clean(&e.trigger),
            clean(&e.actor),
            clean(&e.role),
            clean(&e.key_id),
            e.destroyed_ciphertexts,
            e.seq,
            status
        );
    }
    s
}

/// One event in a session's access history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLine {
    pub seq: u64,
    pub at_unix_ms: u64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub outcome: String,
}

/// What one user did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAccess {
    /// Roles the user acted in.
    pub roles: BTreeSet<String>,
    /// Number of events per action code.
    pub by_action: BTreeMap<String, u64>,
    /// Events whose outcome was not `success`.
    pub not_successful: u64,
    pub total: u64,
    /// Distinct sessions the user touched.
    pub sessions: BTreeSet<String>,
}

/// Who did what: per user, and per session id (see the module docs on why
/// sessions, not patients).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessReport {
    pub records: u64,
    pub first_unix_ms: Option<u64>,
    pub last_unix_ms: Option<u64>,
    pub users: BTreeMap<String, UserAccess>,
    /// Session id → its events in log order.
    pub sessions: BTreeMap<String, Vec<AccessLine>>,
}

/// Builds the [`AccessReport`] of `records` (in log order).
pub fn access_report(records: &[AuditRecord]) -> AccessReport {
    let mut rep = AccessReport::default();
    for r in records {
        rep.records += 1;
        rep.first_unix_ms = Some(
            rep.first_unix_ms
                .map_or(r.wall_unix_ms, |t| t.min(r.wall_unix_ms)),
        );
        rep.last_unix_ms = Some(
            rep.last_unix_ms
                .map_or(r.wall_unix_ms, |t| t.max(r.wall_unix_ms)),
        );
        let u = rep.users.entry(r.actor.clone()).or_default();
        u.roles.insert(r.role.clone());
        *u.by_action.entry(r.action.clone()).or_default() += 1;
        u.total += 1;
        if r.outcome != "success" {
            u.not_successful += 1;
        }
        if let Some(s) = &r.session {
            u.sessions.insert(s.clone());
            rep.sessions.entry(s.clone()).or_default().push(AccessLine {
                seq: r.seq,
                at_unix_ms: r.wall_unix_ms,
                actor: r.actor.clone(),
                role: r.role.clone(),
                action: r.action.clone(),
                outcome: r.outcome.clone(),
            });
        }
    }
    rep
}

impl AccessReport {
    /// The report as text for the CLI.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let span = match (self.first_unix_ms, self.last_unix_ms) {
            (Some(a), Some(b)) => format!(" from {} to {}", iso8601_utc(a), iso8601_utc(b)),
            _ => String::new(),
        };
        let _ = writeln!(s, "Access report: {} event(s){span}", self.records);
        let _ = writeln!(
            s,
            "(sessions are opaque ids; patient references are sealed in the vault and never in the log)"
        );
        let _ = writeln!(s, "\nPer user:");
        for (user, u) in &self.users {
            let roles: Vec<String> = u.roles.iter().map(|r| clean(r)).collect();
            let _ = writeln!(
                s,
                "  {} ({}): {} event(s), {} not successful, {} session(s)",
                clean(user),
                roles.join(", "),
                u.total,
                u.not_successful,
                u.sessions.len()
            );
            for (action, n) in &u.by_action {
                let _ = writeln!(s, "    {:<28} {n}", clean(action));
            }
        }
        let _ = writeln!(s, "\nPer session:");
        for (session, lines) in &self.sessions {
            let _ = writeln!(s, "  session {}:", clean(session));
            for l in lines {
                let _ = writeln!(
                    s,
                    "    {} #{} {} ({}) {} {}",
                    iso8601_utc(l.at_unix_ms),
                    l.seq,
                    clean(&l.actor),
                    clean(&l.role),
                    clean(&l.action),
                    clean(&l.outcome)
                );
            }
        }
        s
    }
}

/// Replaces control characters so a crafted user name cannot drive the
/// terminal (escape sequences) or fake report lines (line breaks).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `ms` since the Unix epoch as an ISO 8601 / FHIR `instant` in UTC with
/// milliseconds, e.g. `2023-11-14T22:13:20.000Z`. Years past 9999 are
/// clamped to the last millisecond of 9999 (FHIR instants have four-digit
/// years).
pub fn iso8601_utc(ms: u64) -> String {
    tacet_core::time::format_instant(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_known_answers() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        // 2000-02-29 (leap day in a century leap year).
        assert_eq!(iso8601_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601_utc(u64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn clean_removes_control_characters() {
        assert_eq!(clean("a\nb\u{1b}[2J"), "a?b?[2J");
    }
}
