//! Builds a log of 1,000,000 records (checkpoint every 10,000) and times
//! `verify_log` over it, with and without the HMAC chain.
//!
//! `cargo run -p tacet-audit --example verify_speed [records]`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::time::Instant;

use tacet_audit::chain::GENESIS_TAG;
use tacet_audit::{
    sign_checkpoint, verify_log, AuditRecord, ChainKey, Checkpoint, MerkleLog, SigningKey,
    StoredRecord, VerifyInput,
};
use tacet_core::audit::Detail;
use tacet_core::{Actor, AuditAction, AuditEvent, Role, SessionId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1_000_000,
    };
    let every = 10_000;
    let (signer, _) = SigningKey::generate_named("tacet.bench/audit")?;
    let k0 = ChainKey([7; 32]);

    let t = Instant::now();
    let mut key = k0.clone();
    let mut prev = GENESIS_TAG;
    let mut tree = MerkleLog::new();
    let mut records = Vec::with_capacity(n as usize);
    let mut checkpoints = Vec::new();
    for seq in 0..n {
        let ev = AuditEvent::new(
            AuditAction::ALL[(seq % 23) as usize],
            Actor::new("dr_example", Role::Clinician),
        )
        .session(SessionId([(seq % 251) as u8; 16]))
        .content_hash([(seq % 13) as u8; 32])
        .detail(Detail::ModelSha256([3; 32]))
        .detail(Detail::Count(seq));
        let rec = AuditRecord::from_event(seq, 1_700_000_000_000 + seq, seq * 1_000, "0.1.0", &ev);
        let stored = StoredRecord::seal(&rec, &key, &prev);
        key = key.evolve();
        prev = stored.chain_tag;
        tree.push(stored.leaf_hash);
        records.push(stored);
        if (seq + 1) % every == 0 {
            let cp = Checkpoint {
                origin: "tacet.bench/audit".into(),
                size: tree.size(),
                root: tree.root(),
            };
            checkpoints.push(sign_checkpoint(&cp, &signer));
        }
    }
    let avg_bytes = records.iter().map(|r| r.bytes.len()).sum::<usize>() as f64 / n.max(1) as f64;
    println!(
        "built {n} records (avg {avg_bytes:.0} bytes) and {} checkpoints in {:.2} s",
        checkpoints.len(),
        t.elapsed().as_secs_f64()
    );

    let external = checkpoints.last().cloned().into_iter().collect::<Vec<_>>();
    let verifier = signer.verifier();
    for (label, k) in [("with HMAC chain", Some(&k0)), ("without chain", None)] {
        let t = Instant::now();
        let report = verify_log(&VerifyInput {
            records: &records,
            stored_checkpoints: &checkpoints,
            external_checkpoints: &external,
            verifier: &verifier,
            chain_key0: k,
        });
        let secs = t.elapsed().as_secs_f64();
        println!(
            "verify_log {label}: {} records, {} problems, {secs:.2} s ({:.0} records/s)",
            report.records,
            report.problems.len(),
            report.records as f64 / secs
        );
        if !report.is_ok() {
            return Err("the freshly built log did not verify".into());
        }
    }
    Ok(())
}
