//! The tamper matrix: a log of 200 random events with a checkpoint every 50
//! records, attacked in many random ways. Every attack must be reported, and
//! an untouched log must give no problem at all.
//!
//! `random_mutations_at_scale_are_all_detected` is the same matrix at scale:
//! seeded random mutations of a 300-record log, one per trial on a fresh
//! copy, and as many untouched copies (false alarms). The number of trials
//! is `TACET_TAMPER_MUTATIONS` (500 by default, CI; 10,000 for the long
//! run) and the seed `TACET_TAMPER_SEED` (printed, so a failure reproduces).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_audit::chain::GENESIS_TAG;
use tacet_audit::{
    chain_tag, leaf_hash, open_checkpoint, sign_checkpoint, verify_log, AuditRecord, ChainKey,
    Checkpoint, MerkleLog, ProblemKind, SigningKey, StoredRecord, VerifierKey, VerifyInput,
    VerifyReport,
};
use tacet_core::audit::Detail;
use tacet_core::{Actor, AuditAction, AuditEvent, Outcome, Role, SessionId};

const ORIGIN: &str = "tacet.test/audit";
const RECORDS: usize = 200;
const EVERY: usize = 50;

/// SplitMix64: a small deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for x in b.iter_mut() {
            *x = self.next() as u8;
        }
        b
    }
}

fn random_event(rng: &mut Rng) -> AuditEvent {
    let action = AuditAction::ALL[rng.below(AuditAction::ALL.len())];
    let role = if rng.below(2) == 0 {
        Role::Clinician
    } else {
        Role::Admin
    };
    let mut ev = AuditEvent::new(action, Actor::new(format!("user{}", rng.below(5)), role))
        .outcome([Outcome::Success, Outcome::Denied, Outcome::Failed][rng.below(3)]);
    if rng.below(2) == 0 {
        ev = ev.session(SessionId(rng.bytes()));
    }
    if rng.below(3) == 0 {
        ev = ev.object(format!("obj-{}", rng.below(1000)));
    }
    if rng.below(2) == 0 {
        ev = ev.content_hash(rng.bytes());
    }
    for _ in 0..rng.below(4) {
        ev = ev.detail(match rng.below(7) {
            0 => Detail::ModelSha256(rng.bytes()),
            1 => Detail::KeyId(rng.bytes()),
            2 => Detail::DestroyedCiphertext(rng.bytes()),
            3 => Detail::Trigger("retention"),
            4 => Detail::Count(rng.next() % 100),
            5 => Detail::TemplateId("soap".into()),
            _ => Detail::Format("text"),
        });
    }
    ev
}

struct Log {
    records: Vec<StoredRecord>,
    stored: Vec<String>,
    external: Vec<String>,
    verifier: VerifierKey,
    signer: SigningKey,
    k0: ChainKey,
}

impl Log {
    fn verify(&self) -> VerifyReport {
        verify_log(&VerifyInput {
            records: &self.records,
            stored_checkpoints: &self.stored,
            external_checkpoints: &self.external,
            verifier: &self.verifier,
            chain_key0: Some(&self.k0),
        })
    }

    /// The i-th chain key, as an attacker who stole it would hold it.
    fn key_at(&self, i: usize) -> ChainKey {
        let mut k = self.k0.clone();
        for _ in 0..i {
            k = k.evolve();
        }
        k
    }
}

fn build(seed: u64) -> Log {
    build_sized(seed, RECORDS, EVERY)
}

/// A log of `records` random events with a stored checkpoint every `every`
/// records and the last one also kept externally.
fn build_sized(seed: u64, count: usize, every: usize) -> Log {
    let mut rng = Rng(seed);
    let (signer, _) = SigningKey::generate_named(ORIGIN).unwrap();
    let k0 = ChainKey(rng.bytes());
    let mut key = k0.clone();
    let mut prev = GENESIS_TAG;
    let mut tree = MerkleLog::new();
    let mut records = Vec::new();
    let mut stored = Vec::new();
    for seq in 0..count as u64 {
        let ev = random_event(&mut rng);
        let rec =
            AuditRecord::from_event(seq, 1_700_000_000_000 + seq * 1000, seq * 7, "0.1.0", &ev);
        let s = StoredRecord::seal(&rec, &key, &prev);
        key = key.evolve();
        prev = s.chain_tag;
        tree.push(s.leaf_hash);
        records.push(s);
        if (seq as usize + 1).is_multiple_of(every) {
            let cp = Checkpoint {
                origin: ORIGIN.into(),
                size: tree.size(),
                root: tree.root(),
            };
            stored.push(sign_checkpoint(&cp, &signer));
        }
    }
    let external = vec![stored[stored.len() - 1].clone()];
    Log {
        records,
        stored,
        external,
        verifier: signer.verifier(),
        signer,
        k0,
    }
}

fn kinds(r: &VerifyReport) -> Vec<ProblemKind> {
    r.problems.iter().map(|p| p.kind).collect()
}

fn assert_detected(r: &VerifyReport, kind: ProblemKind, what: &str) {
    assert!(
        kinds(r).contains(&kind),
        "{what}: expected {kind:?}, got {:#?}",
        r.problems
    );
}

/// A checkpoint gives the change away: its root differs, or the log is now
/// shorter than it.
fn assert_checkpoint_detects(r: &VerifyReport, what: &str) {
    assert!(
        kinds(r).iter().any(|k| matches!(
            k,
            ProblemKind::CheckpointRootMismatch | ProblemKind::Truncated
        )),
        "{what}: no checkpoint caught it: {:#?}",
        r.problems
    );
}

/// Re-encodes record `i` with a new seq (as a forger renumbering rows would).
fn renumber(rec: &mut StoredRecord, seq: u64) {
    let mut r = AuditRecord::decode(&rec.bytes).unwrap();
    r.seq = seq;
    rec.seq = seq;
    rec.bytes = r.encode();
    rec.leaf_hash = leaf_hash(&rec.bytes);
}

#[test]
fn untouched_logs_have_no_problems() {
    for seed in 0..5 {
        let log = build(seed);
        let r = log.verify();
        assert!(r.is_ok(), "false alarm: {:#?}", r.problems);
        assert_eq!(r.records, RECORDS as u64);
        // Every checkpoint, stored or external, at every size agrees.
        let mut all = log.stored.clone();
        all.extend(log.external.iter().cloned());
        let r = verify_log(&VerifyInput {
            records: &log.records,
            stored_checkpoints: &log.stored,
            external_checkpoints: &all,
            verifier: &log.verifier,
            chain_key0: None,
        });
        assert!(r.is_ok(), "false alarm without k0: {:#?}", r.problems);
    }
    // The empty log is fine too.
    let log = build(9);
    let r = verify_log(&VerifyInput {
        records: &[],
        stored_checkpoints: &[],
        external_checkpoints: &[],
        verifier: &log.verifier,
        chain_key0: Some(&log.k0),
    });
    assert!(r.is_ok());
    assert_eq!(r.root, MerkleLog::new().root());
}

#[test]
fn fail_modified_record_byte() {
    let base = build(1);
    let mut rng = Rng(100);
    for _ in 0..200 {
        let mut log = Log {
            records: base.records.clone(),
            stored: base.stored.clone(),
            ..build_shallow(&base)
        };
        let i = rng.below(RECORDS);
        let at = rng.below(log.records[i].bytes.len());
        log.records[i].bytes[at] ^= 1 + rng.below(255) as u8;
        let r = log.verify();
        assert_detected(&r, ProblemKind::LeafHashMismatch, "modified byte");
        assert_detected(&r, ProblemKind::ChainTagMismatch, "modified byte");
        assert!(r.problems.iter().any(|p| p.seq == Some(i as u64)));
        let msg = format!("record {i}: leaf hash does not match its bytes (modified?)");
        assert!(
            r.problems.iter().any(|p| p.message == msg),
            "{:#?}",
            r.problems
        );

        // The forger also fixes the stored leaf hash: the chain still tells.
        log.records[i].leaf_hash = leaf_hash(&log.records[i].bytes);
        let r = log.verify();
        assert_detected(
            &r,
            ProblemKind::ChainTagMismatch,
            "modified byte, hash fixed",
        );
        // (The last checkpoint is at 200, so it covers every record.)
        assert_detected(
            &r,
            ProblemKind::CheckpointRootMismatch,
            "modified byte, hash fixed",
        );
    }
}

/// A copy of the keys of `base` (records and checkpoints filled by the caller).
fn build_shallow(base: &Log) -> Log {
    Log {
        records: Vec::new(),
        stored: Vec::new(),
        external: base.external.clone(),
        verifier: base.verifier.clone(),
        signer: SigningKey::generate_named("unused").unwrap().0,
        k0: base.k0.clone(),
    }
}

fn clone_log(base: &Log) -> Log {
    Log {
        records: base.records.clone(),
        stored: base.stored.clone(),
        ..build_shallow(base)
    }
}

#[test]
fn fail_deleted_record() {
    let base = build(2);
    for i in 0..RECORDS {
        let mut log = clone_log(&base);
        log.records.remove(i);
        let r = log.verify();
        assert!(!r.is_ok(), "deleting record {i} went unnoticed");
        if i + 1 < RECORDS {
            assert_detected(&r, ProblemKind::SequenceGap, "delete");
            let msg = format!(
                "record {}: record {i} is missing before it (deleted?)",
                i + 1
            );
            assert!(
                r.problems.iter().any(|p| p.message == msg),
                "{:#?}",
                r.problems
            );
        } else {
            assert_detected(&r, ProblemKind::Truncated, "delete last");
        }
        assert_checkpoint_detects(&r, "delete");
    }
}

#[test]
fn fail_deleted_record_with_renumbering() {
    let base = build(3);
    let mut rng = Rng(7);
    for _ in 0..30 {
        let mut log = clone_log(&base);
        let i = rng.below(RECORDS - 1);
        log.records.remove(i);
        for (pos, rec) in log.records.iter_mut().enumerate().skip(i) {
            renumber(rec, pos as u64);
        }
        let r = log.verify();
        assert_detected(&r, ProblemKind::ChainTagMismatch, "renumbered delete");
        assert_checkpoint_detects(&r, "renumbered delete");
    }
}

#[test]
fn fail_inserted_forged_record() {
    let base = build(4);
    let mut rng = Rng(8);
    for _ in 0..50 {
        let mut log = clone_log(&base);
        let i = rng.below(RECORDS + 1);
        let forged = AuditRecord::from_event(i as u64, 1, 1, "0.1.0", &random_event(&mut rng));
        // Without the key, the forger can only guess a tag.
        let guess = ChainKey(rng.bytes());
        let prev = if i == 0 {
            GENESIS_TAG
        } else {
            log.records[i - 1].chain_tag
        };
        log.records
            .insert(i, StoredRecord::seal(&forged, &guess, &prev));
        for (pos, rec) in log.records.iter_mut().enumerate().skip(i + 1) {
            renumber(rec, pos as u64);
        }
        let r = log.verify();
        assert_detected(&r, ProblemKind::ChainTagMismatch, "insert");
        assert!(r
            .problems
            .iter()
            .any(|p| p.seq == Some(i as u64) && p.kind == ProblemKind::ChainTagMismatch));
        if i < RECORDS {
            // (Appended after the last checkpoint, only the chain can tell.)
            assert_checkpoint_detects(&r, "insert");
        }

        // Plain insertion without renumbering: the seqs tell at once.
        let mut log = clone_log(&base);
        let mut plain = StoredRecord::seal(&forged, &guess, &prev);
        plain.seq = i as u64;
        log.records.insert(i, plain);
        let r = log.verify();
        if i < RECORDS {
            assert_detected(&r, ProblemKind::SequenceGap, "plain insert");
        } else {
            assert_detected(&r, ProblemKind::ChainTagMismatch, "plain append");
        }
    }
}

#[test]
fn fail_reordered_records() {
    let base = build(5);
    let mut rng = Rng(9);
    for _ in 0..100 {
        let i = rng.below(RECORDS);
        let mut j = rng.below(RECORDS);
        if i == j {
            j = (i + 1) % RECORDS;
        }
        // Whole rows swapped.
        let mut log = clone_log(&base);
        log.records.swap(i, j);
        let r = log.verify();
        assert_detected(&r, ProblemKind::SequenceGap, "swap rows");
        assert_detected(&r, ProblemKind::ChainTagMismatch, "swap rows");

        // Contents swapped under the original row numbers.
        let mut log = clone_log(&base);
        let (a, b) = (log.records[i].clone(), log.records[j].clone());
        log.records[i] = StoredRecord { seq: i as u64, ..b };
        log.records[j] = StoredRecord { seq: j as u64, ..a };
        let r = log.verify();
        assert_detected(&r, ProblemKind::SeqFieldMismatch, "swap contents");
        assert_detected(&r, ProblemKind::ChainTagMismatch, "swap contents");
        assert_detected(&r, ProblemKind::CheckpointRootMismatch, "swap contents");

        // Contents swapped and renumbered to fit.
        let mut log = clone_log(&base);
        log.records.swap(i, j);
        renumber(&mut log.records[i], i as u64);
        renumber(&mut log.records[j], j as u64);
        let r = log.verify();
        assert_detected(&r, ProblemKind::ChainTagMismatch, "swap renumbered");
        assert_detected(&r, ProblemKind::CheckpointRootMismatch, "swap renumbered");
    }
}

#[test]
fn fail_truncated_tail_against_external_checkpoint() {
    let base = build(6);
    for keep in [0, 1, 49, 50, 51, 120, 150, 199] {
        let mut log = clone_log(&base);
        log.records.truncate(keep);
        // The forger also drops the checkpoints that would give them away,
        // as restoring an older copy of the database would.
        log.stored.retain(|_| false);
        for cp in &base.stored {
            let size: usize = cp.lines().nth(1).unwrap().parse().unwrap();
            if size <= keep {
                log.stored.push(cp.clone());
            }
        }
        let r = log.verify();
        assert!(!r.is_ok(), "truncation to {keep} went unnoticed");
        assert_eq!(kinds(&r), vec![ProblemKind::Truncated], "{:#?}", r.problems);
        let msg = format!(
            "the log has {keep} records but external checkpoint 1 commits to {RECORDS}: records were removed or an older copy of the database was restored"
        );
        assert_eq!(r.problems[0].message, msg);
        assert_eq!(r.problems[0].seq, None);
    }
}

#[test]
fn fail_truncation_is_invisible_without_an_external_checkpoint() {
    // Documents the limit: cutting the tail back to a checkpoint boundary,
    // with the later checkpoints removed, leaves a self-consistent log.
    let base = build(6);
    let mut log = clone_log(&base);
    log.external.clear();
    log.records.truncate(150);
    log.stored.truncate(3);
    assert!(log.verify().is_ok());
}

#[test]
fn fail_altered_or_swapped_checkpoints() {
    let base = build(7);
    let mut rng = Rng(11);
    // Swap two stored checkpoints.
    for (a, b) in [(0, 1), (1, 3), (0, 3), (2, 3)] {
        let mut log = clone_log(&base);
        log.stored.swap(a, b);
        let r = log.verify();
        assert_detected(&r, ProblemKind::CheckpointOrder, "swap checkpoints");
    }
    // Alter a character of a stored or external checkpoint.
    for _ in 0..100 {
        let mut log = clone_log(&base);
        let external = rng.below(2) == 0;
        let list = if external {
            &mut log.external
        } else {
            &mut log.stored
        };
        let k = rng.below(list.len());
        let mut bytes = list[k].clone().into_bytes();
        let at = rng.below(bytes.len());
        bytes[at] =
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/=\n "[rng.below(66)];
        let Ok(altered) = String::from_utf8(bytes) else {
            continue;
        };
        if altered == list[k] {
            continue;
        }
        list[k] = altered;
        let r = log.verify();
        assert_detected(&r, ProblemKind::CheckpointInvalid, "altered checkpoint");
    }
    // A checkpoint signed by another key, and one lying about the root.
    let mut log = clone_log(&base);
    let (other, _) = SigningKey::generate_named(ORIGIN).unwrap();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: 100,
        root: [0; 32],
    };
    log.stored[1] = sign_checkpoint(&cp, &other);
    assert_detected(&log.verify(), ProblemKind::CheckpointInvalid, "foreign key");
    let mut log = clone_log(&base);
    log.external.push(sign_checkpoint(&cp, &base.signer));
    let r = log.verify();
    assert_eq!(kinds(&r), vec![ProblemKind::CheckpointRootMismatch]);
}

#[test]
fn fail_flipped_bits_in_stored_hashes() {
    let base = build(8);
    let mut rng = Rng(12);
    for _ in 0..200 {
        let i = rng.below(RECORDS);
        let bit = rng.below(256);
        let mut log = clone_log(&base);
        log.records[i].leaf_hash[bit / 8] ^= 1 << (bit % 8);
        let r = log.verify();
        assert_eq!(kinds(&r), vec![ProblemKind::LeafHashMismatch]);
        assert_eq!(r.problems[0].seq, Some(i as u64));

        let mut log = clone_log(&base);
        log.records[i].chain_tag[bit / 8] ^= 1 << (bit % 8);
        let r = log.verify();
        // The tag of i fails, and so does i+1, which was chained on the real one.
        assert!(kinds(&r)
            .iter()
            .all(|k| *k == ProblemKind::ChainTagMismatch));
        assert!(r.problems.iter().any(|p| p.seq == Some(i as u64)));
    }
}

#[test]
fn key_holder_rewrite_is_caught_by_checkpoints() {
    // Someone with k0 can rebuild every tag and leaf hash, but not re-sign
    // the checkpoints.
    let base = build(10);
    let mut log = clone_log(&base);
    let mut r = AuditRecord::decode(&log.records[30].bytes).unwrap();
    r.outcome = "success".into();
    r.actor = "someone_else".into();
    log.records[30].bytes = r.encode();
    let mut key = log.k0.clone();
    let mut prev = GENESIS_TAG;
    for rec in log.records.iter_mut() {
        rec.leaf_hash = leaf_hash(&rec.bytes);
        rec.chain_tag = chain_tag(&key, &prev, &rec.bytes);
        prev = rec.chain_tag;
        key = key.evolve();
    }
    let report = log.verify();
    assert!(kinds(&report)
        .iter()
        .all(|k| *k == ProblemKind::CheckpointRootMismatch));
    assert_eq!(
        report.problems.len(),
        5,
        "4 stored + 1 external: {:#?}",
        report.problems
    );
}

#[test]
fn stolen_key_cannot_rewrite_the_past() {
    // An attacker holding k_120 (the key after record 119) rewrites record
    // 100 and re-tags it with every key they can derive: none verifies.
    let base = build(11);
    let stolen = base.key_at(120);
    let mut log = clone_log(&base);
    let mut r = AuditRecord::decode(&log.records[100].bytes).unwrap();
    r.actor = "forger".into();
    log.records[100].bytes = r.encode();
    log.records[100].leaf_hash = leaf_hash(&log.records[100].bytes);
    let prev = log.records[99].chain_tag;
    let mut k = stolen.clone();
    for _ in 0..50 {
        log.records[100].chain_tag = chain_tag(&k, &prev, &log.records[100].bytes);
        let rep = log.verify();
        assert!(rep
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::ChainTagMismatch && p.seq == Some(100)));
        k = k.evolve();
    }
    // Records from 120 on, however, can be re-tagged consistently: only the
    // checkpoints (here the one at 150) reveal the change. This is the
    // documented limit of forward security.
    let mut log = clone_log(&base);
    let mut r = AuditRecord::decode(&log.records[130].bytes).unwrap();
    r.actor = "forger".into();
    log.records[130].bytes = r.encode();
    let mut k = stolen;
    let mut prev = log.records[119].chain_tag;
    for rec in log.records.iter_mut().skip(120) {
        rec.leaf_hash = leaf_hash(&rec.bytes);
        rec.chain_tag = chain_tag(&k, &prev, &rec.bytes);
        prev = rec.chain_tag;
        k = k.evolve();
    }
    let rep = log.verify();
    assert!(
        kinds(&rep)
            .iter()
            .all(|k| *k == ProblemKind::CheckpointRootMismatch),
        "{:#?}",
        rep.problems
    );
    assert!(!rep.is_ok());
}

#[test]
fn fail_undecodable_record() {
    let base = build(12);
    let mut log = clone_log(&base);
    log.records[5].bytes.push(0);
    log.records[5].leaf_hash = leaf_hash(&log.records[5].bytes);
    let r = log.verify();
    assert_detected(&r, ProblemKind::RecordUndecodable, "trailing byte");
    let p = r
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::RecordUndecodable)
        .unwrap();
    assert_eq!(
        p.message,
        "record 5: cannot be decoded: audit record has 1 unexpected byte(s) after its last field"
    );
}

/// The mutations of the scale test, one per trial.
const MUTATIONS: [&str; 17] = [
    "flip a record byte",
    "flip a record byte, fix its leaf hash",
    "delete a record",
    "delete a record, renumber the rest",
    "insert a forged record, renumber the rest",
    "insert a forged record under a taken seq",
    "swap two rows",
    "swap two records' contents under their seqs",
    "swap two records and renumber them",
    "truncate the tail (external checkpoint kept)",
    "swap two stored checkpoints",
    "flip a checkpoint signature byte",
    "alter a checkpoint body character",
    "flip a stored leaf-hash bit",
    "flip a stored chain-tag bit",
    "rewrite a record with k0 and re-tag the log",
    "replace a checkpoint with one signed by another key",
];

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

/// Applies mutation `kind` to `log` (a fresh copy).
fn mutate(log: &mut Log, kind: usize, rng: &mut Rng) {
    let n = log.records.len();
    let two = |rng: &mut Rng| {
        let i = rng.below(n);
        let j = (i + 1 + rng.below(n - 1)) % n;
        (i, j)
    };
    match kind {
        0 | 1 => {
            let i = rng.below(n);
            let at = rng.below(log.records[i].bytes.len());
            log.records[i].bytes[at] ^= 1 + rng.below(255) as u8;
            if kind == 1 {
                log.records[i].leaf_hash = leaf_hash(&log.records[i].bytes);
            }
        }
        2 => {
            log.records.remove(rng.below(n));
        }
        3 => {
            let i = rng.below(n);
            log.records.remove(i);
            for (pos, rec) in log.records.iter_mut().enumerate().skip(i) {
                renumber(rec, pos as u64);
            }
        }
        4 | 5 => {
            let i = rng.below(n + 1);
            let forged = AuditRecord::from_event(i as u64, 1, 1, "0.1.0", &random_event(rng));
            let guess = ChainKey(rng.bytes());
            let prev = if i == 0 {
                GENESIS_TAG
            } else {
                log.records[i - 1].chain_tag
            };
            log.records
                .insert(i, StoredRecord::seal(&forged, &guess, &prev));
            if kind == 4 {
                for (pos, rec) in log.records.iter_mut().enumerate().skip(i + 1) {
                    renumber(rec, pos as u64);
                }
            }
        }
        6 => {
            let (i, j) = two(rng);
            log.records.swap(i, j);
        }
        7 => {
            let (i, j) = two(rng);
            let (a, b) = (log.records[i].clone(), log.records[j].clone());
            log.records[i] = StoredRecord { seq: i as u64, ..b };
            log.records[j] = StoredRecord { seq: j as u64, ..a };
        }
        8 => {
            let (i, j) = two(rng);
            log.records.swap(i, j);
            renumber(&mut log.records[i], i as u64);
            renumber(&mut log.records[j], j as u64);
        }
        9 => {
            let keep = rng.below(n);
            log.records.truncate(keep);
            // As restoring an older copy would: later checkpoints go too.
            log.stored
                .retain(|cp| cp.lines().nth(1).unwrap().parse::<usize>().unwrap() <= keep);
        }
        10 => {
            let m = log.stored.len();
            let a = rng.below(m);
            let b = (a + 1 + rng.below(m - 1)) % m;
            log.stored.swap(a, b);
        }
        11 | 12 => {
            let external = rng.below(2) == 0;
            let list = if external {
                &mut log.external
            } else {
                &mut log.stored
            };
            let k = rng.below(list.len());
            let (body, sig) = list[k].split_once("\n\n").unwrap();
            if kind == 11 {
                let (prefix, b64) = sig.trim_end().rsplit_once(' ').unwrap();
                use base64ct::{Base64, Encoding};
                let mut blob = Base64::decode_vec(b64).unwrap();
                let at = rng.below(blob.len());
                blob[at] ^= 1 + rng.below(255) as u8;
                list[k] = format!("{body}\n\n{prefix} {}\n", Base64::encode_string(&blob));
            } else {
                let mut bytes = body.as_bytes().to_vec();
                let at = rng.below(bytes.len());
                let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/=";
                let mut c = alphabet[rng.below(alphabet.len())];
                if c == bytes[at] {
                    c = if c == b'0' { b'1' } else { b'0' };
                }
                bytes[at] = c;
                list[k] = format!("{}\n\n{sig}", String::from_utf8(bytes).unwrap());
            }
        }
        13 | 14 => {
            let i = rng.below(n);
            let bit = rng.below(256);
            let field = if kind == 13 {
                &mut log.records[i].leaf_hash
            } else {
                &mut log.records[i].chain_tag
            };
            field[bit / 8] ^= 1 << (bit % 8);
        }
        15 => {
            let i = rng.below(n);
            let mut r = AuditRecord::decode(&log.records[i].bytes).unwrap();
            r.actor = format!("forger{}", rng.below(1000));
            log.records[i].bytes = r.encode();
            let mut key = log.k0.clone();
            let mut prev = GENESIS_TAG;
            for rec in log.records.iter_mut() {
                rec.leaf_hash = leaf_hash(&rec.bytes);
                rec.chain_tag = chain_tag(&key, &prev, &rec.bytes);
                prev = rec.chain_tag;
                key = key.evolve();
            }
        }
        _ => {
            let k = rng.below(log.stored.len());
            let cp = open_checkpoint(&log.stored[k], &log.verifier).unwrap();
            let (other, _) = SigningKey::generate_named(ORIGIN).unwrap();
            log.stored[k] = sign_checkpoint(&cp, &other);
        }
    }
}

#[test]
fn random_mutations_at_scale_are_all_detected() {
    const SCALE_RECORDS: usize = 300;
    const SCALE_EVERY: usize = 50;
    /// Trials per base log before a new one (new events, keys and signer).
    const PER_BASE: u64 = 100;
    let trials = env_u64("TACET_TAMPER_MUTATIONS").unwrap_or(500);
    let seed = env_u64("TACET_TAMPER_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    println!("tamper at scale: {trials} mutations + {trials} untouched copies, seed {seed} (TACET_TAMPER_SEED)");
    let started = std::time::Instant::now();
    let mut rng = Rng(seed);
    let mut per_kind = [(0u64, 0u64); MUTATIONS.len()];
    let mut missed = Vec::new();
    let mut false_alarms = Vec::new();
    let mut base = build_sized(seed, SCALE_RECORDS, SCALE_EVERY);
    for t in 0..trials {
        if t > 0 && t % PER_BASE == 0 {
            base = build_sized(seed.wrapping_add(t), SCALE_RECORDS, SCALE_EVERY);
        }
        // A mutated copy must fail verification.
        let kind = rng.below(MUTATIONS.len());
        let mut log = clone_log(&base);
        mutate(&mut log, kind, &mut rng);
        let r = log.verify();
        per_kind[kind].0 += 1;
        if r.is_ok() {
            missed.push(format!("trial {t}: {}", MUTATIONS[kind]));
        } else {
            per_kind[kind].1 += 1;
        }
        // An untouched copy, checked against a random set of its own
        // checkpoints, with or without the chain key, must pass.
        let mut log = clone_log(&base);
        log.external = log
            .stored
            .iter()
            .filter(|_| rng.below(2) == 0)
            .cloned()
            .chain(base.external.iter().cloned())
            .collect();
        let with_key = rng.below(2) == 0;
        let r = verify_log(&VerifyInput {
            records: &log.records,
            stored_checkpoints: &log.stored,
            external_checkpoints: &log.external,
            verifier: &log.verifier,
            chain_key0: with_key.then_some(&log.k0),
        });
        if !r.is_ok() {
            false_alarms.push(format!("trial {t}: {:?}", r.problems));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    for (name, (n, caught)) in MUTATIONS.iter().zip(per_kind) {
        println!("  {name}: {caught}/{n} detected");
    }
    let detected: u64 = per_kind.iter().map(|(_, c)| c).sum();
    println!(
        "tamper at scale: detected {detected}/{trials} ({:.1}%), false alarms {}/{trials}, {secs:.1} s, seed {seed}",
        100.0 * detected as f64 / trials.max(1) as f64,
        false_alarms.len()
    );
    assert!(
        missed.is_empty(),
        "undetected mutations (seed {seed}): {missed:#?}"
    );
    assert!(
        false_alarms.is_empty(),
        "false alarms (seed {seed}): {false_alarms:#?}"
    );
}
