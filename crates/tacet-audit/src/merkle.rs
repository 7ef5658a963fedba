//! The RFC 9162 (Certificate Transparency v2, §2.1) Merkle tree.
//!
//! Leaves are the SHA-256 of `0x00 ‖ record bytes` and interior nodes the
//! SHA-256 of `0x01 ‖ left ‖ right`; the distinct prefixes stop a leaf from
//! being passed off as a node (second-preimage attacks). The tree over `n`
//! leaves splits at the largest power of two below `n`, so the tree of any
//! prefix of the log is well defined: a checkpoint signed at size `m` stays
//! checkable, and a consistency proof shows a larger log extends it.
//!
//! [`MerkleLog`] keeps every *complete, aligned* subtree hash, level by level
//! (level 0 = leaves, level `h` = subtrees of `2^h` leaves). Appending a leaf
//! is amortised O(1) and builds levels iteratively, so a million-leaf tree
//! costs about a million node hashes in total, without recursion per leaf.
//! The hash of any prefix `root_at(m)` then needs only the O(log m) complete
//! subtrees that make up `m`, and proofs are O(log n) look-ups. Memory is
//! about twice the leaf hashes (64 MB per million records).
//!
//! The verification functions follow RFC 9162 §2.1.3.2 (inclusion) and
//! §2.1.4.2 (consistency) step by step. One addition: a consistency proof
//! from size 0 is the empty proof, accepted only if the old root is the
//! empty-tree hash (RFC 9162 defines proofs for `0 < m < n` and `m == n`).

use sha2::{Digest, Sha256};

use crate::AuditError;

/// SHA-256 of the empty string: the root of the empty tree.
pub const EMPTY_ROOT: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// RFC 9162 leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The largest power of two strictly less than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// An append-only Merkle tree over leaf hashes.
#[derive(Clone, Debug, Default)]
pub struct MerkleLog {
    /// `levels[h][i]` = hash of leaves `[i·2^h, (i+1)·2^h)`.
    levels: Vec<Vec<[u8; 32]>>,
}

impl MerkleLog {
    /// An empty log.
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }

    /// A log over the given leaf hashes, built level by level.
    pub fn from_leaves(leaves: Vec<[u8; 32]>) -> Self {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last() {
            if below.len() < 2 {
                break;
            }
            let next: Vec<[u8; 32]> = below
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    /// Appends one leaf hash (see [`leaf_hash`]).
    pub fn push(&mut self, leaf: [u8; 32]) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut h = 0;
        while self.levels[h].len() & 1 == 0 {
            let n = self.levels[h].len();
            let node = node_hash(&self.levels[h][n - 2], &self.levels[h][n - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(node);
            h += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<[u8; 32]> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// The root of the whole tree (the empty-tree hash when empty).
    pub fn root(&self) -> [u8; 32] {
        self.subtree(0, self.size())
    }

    /// The root of the tree over the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<[u8; 32], AuditError> {
        self.check_size(size)?;
        Ok(self.subtree(0, size))
    }

    /// The inclusion proof (RFC 9162 §2.1.3.1 PATH) of leaf `index` in the
    /// tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>, AuditError> {
        self.check_size(size)?;
        if index >= size {
            return Err(AuditError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    /// The consistency proof (RFC 9162 §2.1.4.1 PROOF) that the tree of
    /// `new_size` leaves extends the tree of `old_size` leaves. Empty when
    /// `old_size` is 0 or equals `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<[u8; 32]>, AuditError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(AuditError::BadConsistencySizes { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size > 0 && old_size < new_size {
            self.subproof(old_size, 0, new_size, true, &mut proof);
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), AuditError> {
        if size > self.size() {
            return Err(AuditError::SizeOutOfRange {
                size,
                log_size: self.size(),
            });
        }
        Ok(())
    }

    /// MTH of leaves `[start, start + len)`; the range must lie in the log.
    fn subtree(&self, start: u64, len: u64) -> [u8; 32] {
        if len == 0 {
            return EMPTY_ROOT;
        }
        if len.is_power_of_two() && start & (len - 1) == 0 {
            let h = len.trailing_zeros() as usize;
            if let Some(hash) = self
                .levels
                .get(h)
                .and_then(|l| l.get((start / len) as usize))
            {
                return *hash;
            }
        }
        if len == 1 {
            // Unreachable for in-range calls: leaves live in level 0.
            return EMPTY_ROOT;
        }
        let k = split_point(len);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, len - k))
    }

    /// PATH(m, D[start .. start+n]).
    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<[u8; 32]>) {
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    /// SUBPROOF(m, D[start .. start+n], b).
    fn subproof(&self, m: u64, start: u64, n: u64, b: bool, out: &mut Vec<[u8; 32]>) {
        if m == n {
            if !b {
                out.push(self.subtree(start, m));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, k, b, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &[u8; 32],
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> Result<(), AuditError> {
    // Step 1.
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    // Steps 2–3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(AuditError::ProofInvalid(
                "the inclusion proof is longer than the tree is deep",
            ));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(AuditError::ProofInvalid(
            "the inclusion proof is shorter than the tree is deep",
        ));
    }
    if r != *root {
        return Err(AuditError::ProofInvalid(
            "the inclusion proof does not lead to the expected root",
        ));
    }
    Ok(())
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<(), AuditError> {
    if old_size > new_size {
        return Err(AuditError::BadConsistencySizes { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(AuditError::ProofInvalid(
                "a consistency proof between equal sizes must be empty",
            ));
        }
        if old_root != new_root {
            return Err(AuditError::ProofInvalid(
                "two trees of the same size have different roots",
            ));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(AuditError::ProofInvalid(
                "a consistency proof from the empty tree must be empty",
            ));
        }
        if *old_root != EMPTY_ROOT {
            return Err(AuditError::ProofInvalid(
                "the old root is not the empty-tree hash",
            ));
        }
        return Ok(());
    }
    // Step 1.
    let Some((first, rest)) = proof.split_first() else {
        return Err(AuditError::ProofInvalid("the consistency proof is empty"));
    };
    // Step 2: prepend old_root when old_size is a power of two.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    // Steps 3–4.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let mut fr = *seed;
    let mut sr = *seed;
    // Step 6.
    for c in rest {
        if sn == 0 {
            return Err(AuditError::ProofInvalid(
                "the consistency proof is longer than the tree is deep",
            ));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(AuditError::ProofInvalid(
            "the consistency proof is shorter than the tree is deep",
        ));
    }
    if fr != *old_root {
        return Err(AuditError::ProofInvalid(
            "the consistency proof does not lead to the old root",
        ));
    }
    if sr != *new_root {
        return Err(AuditError::ProofInvalid(
            "the consistency proof does not lead to the new root",
        ));
    }
    Ok(())
}
