//! Merkle tree known answers and exhaustive proof checks.
//!
//! Known answers: the 8-leaf tree of RFC 6962 / RFC 9162 test suites, from
//! google/certificate-transparency `src/merkletree/merkle_tree_test.cc` and
//! transparency-dev/merkle `testonly/constants.go` (roots, node hashes) and
//! `proof/verify_test.go` (inclusion and consistency proofs; those list
//! leaves 1-based, converted to 0-based indices here).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_audit::merkle::EMPTY_ROOT;
use tacet_audit::{
    leaf_hash, node_hash, verify_consistency, verify_inclusion, AuditError, MerkleLog,
};

fn h(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex::decode(s).unwrap())
    .collect()
}

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn kat_log() -> MerkleLog {
    let mut log = MerkleLog::new();
    for d in inputs() {
        log.push(leaf_hash(&d));
    }
    log
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(MerkleLog::new().root(), EMPTY_ROOT);
    assert_eq!(
        hex::encode(EMPTY_ROOT),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(MerkleLog::from_leaves(vec![]).root(), EMPTY_ROOT);
}

#[test]
fn known_leaf_hashes() {
    // Level 0 of transparency-dev/merkle NodeHashes().
    assert_eq!(
        leaf_hash(b""),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaf_hash(&[0x00]),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")
    );
    assert_eq!(
        node_hash(&leaf_hash(b""), &leaf_hash(&[0x00])),
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
    );
}

#[test]
fn known_roots_for_every_size() {
    let log = kat_log();
    let leaves: Vec<[u8; 32]> = inputs().iter().map(|d| leaf_hash(d)).collect();
    for (i, root) in ROOTS.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(log.root_at(size).unwrap(), h(root), "root at size {size}");
        // Built incrementally and in one go, the trees agree.
        let partial = MerkleLog::from_leaves(leaves[..=i].to_vec());
        assert_eq!(partial.root(), h(root));
        assert_eq!(partial.size(), size);
    }
    assert_eq!(log.root(), h(ROOTS[7]));
    assert_eq!(log.root_at(0).unwrap(), EMPTY_ROOT);
}

#[test]
fn known_inclusion_proofs() {
    let log = kat_log();
    let cases: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let data = inputs();
    for (index, size, expected) in cases {
        let expected: Vec<[u8; 32]> = expected.iter().map(|s| h(s)).collect();
        let proof = log.inclusion_proof(index, size).unwrap();
        assert_eq!(proof, expected, "inclusion proof ({index}, {size})");
        let root = h(ROOTS[size as usize - 1]);
        verify_inclusion(
            index,
            size,
            &leaf_hash(&data[index as usize]),
            &proof,
            &root,
        )
        .unwrap();
    }
}

#[test]
fn known_consistency_proofs() {
    let log = kat_log();
    let cases: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (m, n, expected) in cases {
        let expected: Vec<[u8; 32]> = expected.iter().map(|s| h(s)).collect();
        let proof = log.consistency_proof(m, n).unwrap();
        assert_eq!(proof, expected, "consistency proof ({m}, {n})");
        let (r1, r2) = (h(ROOTS[m as usize - 1]), h(ROOTS[n as usize - 1]));
        verify_consistency(m, n, &r1, &r2, &proof).unwrap();
    }
}

/// Reference MTH straight from RFC 9162 §2.1.1, recursive, for cross-checking.
fn reference_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            // The largest power of two smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn flip(h: &[u8; 32], bit: usize) -> [u8; 32] {
    let mut x = *h;
    x[bit / 8] ^= 1 << (bit % 8);
    x
}

fn test_leaves(n: u64) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
        .collect()
}

#[test]
fn every_inclusion_proof_up_to_64_verifies_and_every_flip_fails() {
    let all = test_leaves(64);
    let log = MerkleLog::from_leaves(all.clone());
    for size in 1..=64u64 {
        let root = log.root_at(size).unwrap();
        assert_eq!(
            root,
            reference_root(&all[..size as usize]),
            "root at {size}"
        );
        for index in 0..size {
            let leaf = all[index as usize];
            let proof = log.inclusion_proof(index, size).unwrap();
            verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
            for bit in 0..256 {
                assert!(verify_inclusion(index, size, &flip(&leaf, bit), &proof, &root).is_err());
                assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, bit)).is_err());
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
                }
            }
            // Wrong position, wrong size, extra or missing elements.
            if index + 1 < size {
                assert!(verify_inclusion(index + 1, size, &leaf, &proof, &root).is_err());
            }
            // (size + 1 can share the path's shape, so, as transparency-dev's
            // tests do, change the depth instead.)
            assert!(verify_inclusion(index, size * 2, &leaf, &proof, &root).is_err());
            if index < size / 2 {
                assert!(verify_inclusion(index, size / 2, &leaf, &proof, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(index, size, &leaf, &longer, &root).is_err());
            if !proof.is_empty() {
                assert!(verify_inclusion(index, size, &leaf, &proof[1..], &root).is_err());
            }
        }
    }
}

#[test]
fn every_consistency_proof_up_to_64_verifies_and_every_flip_fails() {
    let all = test_leaves(64);
    let log = MerkleLog::from_leaves(all);
    for n in 1..=64u64 {
        let new_root = log.root_at(n).unwrap();
        for m in 0..=n {
            let old_root = log.root_at(m).unwrap();
            let proof = log.consistency_proof(m, n).unwrap();
            verify_consistency(m, n, &old_root, &new_root, &proof).unwrap();
            for bit in 0..256 {
                if old_root != new_root {
                    assert!(
                        verify_consistency(m, n, &flip(&old_root, bit), &new_root, &proof).is_err(),
                        "old flip {m} {n} {bit}"
                    );
                    // Every tree extends the empty one, so from size 0 the
                    // new root is unconstrained.
                    if m > 0 {
                        assert!(
                            verify_consistency(m, n, &old_root, &flip(&new_root, bit), &proof)
                                .is_err()
                        );
                    }
                } else {
                    assert!(
                        verify_consistency(m, n, &flip(&old_root, bit), &new_root, &proof).is_err()
                    );
                }
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert!(
                        verify_consistency(m, n, &old_root, &new_root, &bad).is_err(),
                        "flip accepted m={m} n={n} i={i} bit={bit}"
                    );
                }
            }
            let mut longer = proof.clone();
            longer.push(new_root);
            assert!(verify_consistency(m, n, &old_root, &new_root, &longer).is_err());
            if !proof.is_empty() {
                assert!(
                    verify_consistency(m, n, &old_root, &new_root, &proof[..proof.len() - 1])
                        .is_err()
                );
                assert!(verify_consistency(m, n, &old_root, &new_root, &[]).is_err());
            }
            if m > 0 && m < n {
                assert!(
                    verify_consistency(m, n, &new_root, &old_root, &proof).is_err(),
                    "swapped roots"
                );
            }
        }
    }
}

#[test]
fn incremental_and_batch_trees_agree() {
    let all = test_leaves(300);
    let mut log = MerkleLog::new();
    for (i, l) in all.iter().enumerate() {
        log.push(*l);
        assert_eq!(log.root(), reference_root(&all[..=i]));
    }
    let batch = MerkleLog::from_leaves(all);
    for size in 0..=300 {
        assert_eq!(log.root_at(size).unwrap(), batch.root_at(size).unwrap());
    }
}

#[test]
fn fail_out_of_range_requests() {
    let log = MerkleLog::from_leaves(test_leaves(5));
    assert_eq!(
        log.root_at(6),
        Err(AuditError::SizeOutOfRange {
            size: 6,
            log_size: 5
        })
    );
    assert_eq!(
        log.inclusion_proof(5, 5),
        Err(AuditError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert!(log.inclusion_proof(0, 6).is_err());
    assert!(log.consistency_proof(3, 2).is_err());
    assert!(log.consistency_proof(3, 6).is_err());
    let r = log.root();
    assert!(verify_inclusion(0, 0, &r, &[], &r).is_err());
    assert!(verify_consistency(3, 2, &r, &r, &[]).is_err());
    // A non-empty "from nothing" proof, and a non-empty old root for size 0.
    assert!(verify_consistency(0, 5, &EMPTY_ROOT, &r, &[r]).is_err());
    assert!(verify_consistency(0, 5, &r, &r, &[]).is_err());
}
