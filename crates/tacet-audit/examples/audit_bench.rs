//! Audit log benchmark: append throughput, verification of a million
//! events, and the admin reports over them.
//!
//! `cargo run --release -p tacet-audit --example audit_bench [records]`
//!
//! Append = what the vault does per event besides the database write:
//! canonical encode + leaf hash + HMAC chain tag + key evolution + Merkle
//! push. The log has a signed checkpoint every 10,000 records, about one
//! deletion in 23 events (one of each action code in turn), and a clinician
//! working through 251 sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::time::Instant;

use tacet_audit::chain::GENESIS_TAG;
use tacet_audit::{
    access_report, apply_prune, deletion_log, prune_plan, sign_checkpoint, sign_prune, verify_log,
    verify_log_pruned, write_ndjson, AuditRecord, ChainKey, Checkpoint, MerkleLog, SigningKey,
    StoredRecord, VerifyInput,
};
use tacet_core::audit::Detail;
use tacet_core::{Actor, AuditAction, AuditEvent, Role, SessionId};

const ORIGIN: &str = "tacet.bench/audit";

/// Counts bytes written and drops them.
struct CountingSink(usize);
impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1_000_000,
    };
    let every = 10_000;
    let (signer, _) = SigningKey::generate_named(ORIGIN)?;
    let verifier = signer.verifier();
    let k0 = ChainKey([7; 32]);

    // Events (not timed: the application builds them anyway).
    let t0_ms = 1_600_000_000_000u64;
    let step_ms = 6 * 365 * 86_400_000 / n.max(1); // spread over six years
    let recs: Vec<AuditRecord> = (0..n)
        .map(|seq| {
            let action = AuditAction::ALL[(seq % 23) as usize];
            let mut ev = AuditEvent::new(action, Actor::new("dr_example", Role::Clinician))
                .session(SessionId([(seq % 251) as u8; 16]))
                .content_hash([(seq % 13) as u8; 32])
                .detail(Detail::ModelSha256([3; 32]))
                .detail(Detail::Count(seq));
            if action == AuditAction::SessionDestroyed {
                ev = ev
                    .detail(Detail::Trigger("exported"))
                    .detail(Detail::KeyId([9; 16]))
                    .detail(Detail::DestroyedCiphertext([1; 32]))
                    .detail(Detail::DestroyedCiphertext([2; 32]));
            }
            AuditRecord::from_event(seq, t0_ms + seq * step_ms, seq * 1_000, "0.1.0", &ev)
        })
        .collect();

    // Append.
    let t = Instant::now();
    let mut key = k0.clone();
    let mut prev = GENESIS_TAG;
    let mut tree = MerkleLog::new();
    let mut records = Vec::with_capacity(n as usize);
    let mut checkpoints = Vec::new();
    let mut sign_s = 0.0;
    for rec in &recs {
        let stored = StoredRecord::seal(rec, &key, &prev);
        key = key.evolve();
        prev = stored.chain_tag;
        tree.push(stored.leaf_hash);
        records.push(stored);
        if tree.size().is_multiple_of(every) {
            let ts = Instant::now();
            let cp = Checkpoint {
                origin: ORIGIN.into(),
                size: tree.size(),
                root: tree.root(),
            };
            checkpoints.push(sign_checkpoint(&cp, &signer));
            sign_s += ts.elapsed().as_secs_f64();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let avg_bytes = records.iter().map(|r| r.bytes.len()).sum::<usize>() as f64 / n.max(1) as f64;
    println!(
        "append: {n} records (avg {avg_bytes:.0} bytes) in {secs:.2} s = {:.0} records/s ({:.2} µs each); {} checkpoints signed, {:.3} ms each",
        n as f64 / secs,
        secs * 1e6 / n.max(1) as f64,
        checkpoints.len(),
        sign_s * 1e3 / checkpoints.len().max(1) as f64
    );

    // Verify.
    let external = checkpoints.last().cloned().into_iter().collect::<Vec<_>>();
    let input = VerifyInput {
        records: &records,
        stored_checkpoints: &checkpoints,
        external_checkpoints: &external,
        verifier: &verifier,
        chain_key0: Some(&k0),
    };
    for (label, chain) in [("with HMAC chain", true), ("without chain", false)] {
        let t = Instant::now();
        let report = verify_log(&VerifyInput {
            chain_key0: chain.then_some(&k0),
            ..input
        });
        let secs = t.elapsed().as_secs_f64();
        println!(
            "verify_log {label}: {} records, {} checkpoints, {} problems in {secs:.2} s",
            report.records,
            checkpoints.len() + external.len(),
            report.problems.len()
        );
        if !report.is_ok() {
            return Err("the freshly built log did not verify".into());
        }
    }

    // Reports.
    let opened: Vec<Checkpoint> = checkpoints
        .iter()
        .map(|c| tacet_audit::open_checkpoint(c, &verifier))
        .collect::<Result<_, _>>()?;
    let Some(latest) = opened.last() else {
        return Err("no checkpoint was written (fewer than 10,000 records?)".into());
    };
    let t = Instant::now();
    let del = deletion_log(&records, latest)?;
    println!(
        "deletion_log: {} entries, each with a verified inclusion proof, in {:.2} s",
        del.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let rep = access_report(&recs);
    println!(
        "access_report: {} users, {} sessions in {:.2} s",
        rep.users.len(),
        rep.sessions.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut counter = CountingSink(0);
    write_ndjson(&recs, ORIGIN, std::io::BufWriter::new(&mut counter))?;
    println!(
        "write_ndjson: {} MB of FHIR AuditEvents in {:.2} s",
        counter.0 / 1_000_000,
        t.elapsed().as_secs_f64()
    );

    // Prune the older half, then verify the pruned log.
    let cutoff = t0_ms + (n / 2) * step_ms;
    let t = Instant::now();
    let plan = prune_plan(&records, &opened, cutoff)?;
    let note = sign_prune(&plan.statement, &signer);
    apply_prune(&mut records, &plan);
    println!(
        "prune_plan + apply: {} records pruned in {:.2} s",
        plan.drop_bytes.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let report = verify_log_pruned(
        &VerifyInput {
            records: &records,
            stored_checkpoints: &checkpoints,
            external_checkpoints: &external,
            verifier: &verifier,
            chain_key0: Some(&k0),
        },
        &[note],
    );
    println!(
        "verify_log_pruned with HMAC chain: {} records ({} pruned), {} problems in {:.2} s",
        report.records,
        report.pruned_records,
        report.problems.len(),
        t.elapsed().as_secs_f64()
    );
    if !report.is_ok() {
        return Err("the pruned log did not verify".into());
    }
    Ok(())
}
