//! Vault and crypto figures for docs/BENCHMARKS.md:
//! AES-256-GCM seal/open throughput through tacet-crypto against the raw
//! `aes-gcm` crate (in place, no allocation: this machine's AES-NI ceiling
//! for that implementation), Argon2id unlock time at the calibrated
//! parameters, and the time to write and to destroy a 60-second session.
//!
//! `cargo run --release -p tacet-vault --example vault_bench`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::time::{Duration, Instant};
use tacet_core::ports::SessionStore;
use tacet_core::{
    Draft, DraftSection, PatientRef, Provenance, Role, SamplingParams, Segment, Transcript,
};
use tacet_crypto::{Aad, KdfParams, Key256, NonceSequence, Passphrase};
use tacet_vault::{KdfChoice, NewUser, Vault};

const SIZES: [usize; 3] = [1024, 64 * 1024, 1024 * 1024];

/// Runs `f` repeatedly for at least `min`; returns GB/s over `bytes` per call.
fn gbps(bytes: usize, min: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < min {
        f();
        n += 1;
    }
    (bytes as f64 * n as f64) / start.elapsed().as_secs_f64() / 1e9
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile = if cfg!(debug_assertions) {
        "dev (debug assertions on)"
    } else {
        "release"
    };
    println!("profile: {profile}");
    let min = Duration::from_millis(700);
    let key = Key256::generate()?;
    let aad = Aad::new("artifact")
        .field("session", &[7; 16])
        .field("kind", b"audio")
        .u64("idx", 3);
    let raw = Aes256Gcm::new_from_slice(key.danger_expose())?;
    println!("| size | seal GB/s | open GB/s | raw aes-gcm in place GB/s | seal / raw |");
    println!("|---|---|---|---|---|");
    for size in SIZES {
        let pt = vec![0x5au8; size];
        let mut seq = NonceSequence::new();
        let seal = gbps(size, min, || {
            let s = tacet_crypto::seal(&key, seq.next_nonce().expect("nonce"), &aad, &pt)
                .expect("seal");
            std::hint::black_box(s);
        });
        let sealed = tacet_crypto::seal(&key, NonceSequence::new().next_nonce()?, &aad, &pt)?;
        let open = gbps(size, min, || {
            let p = tacet_crypto::open(&key, &aad, &sealed).expect("open");
            std::hint::black_box(p);
        });
        let mut buf = pt.clone();
        let nonce = Nonce::from([0u8; 12]);
        let ceiling = gbps(size, min, || {
            let tag = raw
                .encrypt_in_place_detached(&nonce, aad.as_bytes(), &mut buf)
                .expect("raw");
            std::hint::black_box(tag);
        });
        println!(
            "| {} KiB | {seal:.2} | {open:.2} | {ceiling:.2} | {:.2} |",
            size / 1024,
            seal / ceiling
        );
    }

    let t = Instant::now();
    let params = KdfParams::calibrate(500)?;
    println!(
        "\nArgon2id calibrate(500): m = {} KiB, t = {}, p = {} (calibration took {:.0} ms)",
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        t.elapsed().as_secs_f64() * 1e3
    );
    let pass = Passphrase::new("a long enough passphrase".into());
    let mut kdf_ms = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(tacet_crypto::derive_key(&pass, &params)?);
        kdf_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    kdf_ms.sort_by(f64::total_cmp);
    println!(
        "Argon2id derive at those parameters: median {:.0} ms of 3",
        kdf_ms[1]
    );

    let dir = tempfile::tempdir()?;
    let (ap, cp) = (
        Passphrase::new("admin-passphrase".into()),
        Passphrase::new("clinician-passphrase".into()),
    );
    let t = Instant::now();
    let mut v = Vault::create(
        dir.path(),
        &[
            NewUser {
                name: "admin",
                role: Role::Admin,
                passphrase: &ap,
            },
            NewUser {
                name: "drlee",
                role: Role::Clinician,
                passphrase: &cp,
            },
        ],
        KdfChoice::CalibratedMs(500),
    )?;
    println!(
        "vault create (2 users, calibrated): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut unlock_ms = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        drop(v.unlock("drlee", &cp)?);
        unlock_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    unlock_ms.sort_by(f64::total_cmp);
    println!(
        "unlock (Argon2id + audit + housekeeping): median {:.0} ms of 3",
        unlock_ms[1]
    );

    let mut u = v.unlock("drlee", &cp)?;
    let transcript = Transcript {
        language: "en".into(),
        model_sha256: "00".repeat(32),
        segments: (0..30)
            .map(|i| Segment {
                id: i,
                start_ms: i as u64 * 2000,
                end_ms: i as u64 * 2000 + 2000,
                speaker: None,
                text: "the patient reports a mild cough for three days and no fever".into(),
                confidence: 0.9,
                unsure: Vec::new(),
            })
            .collect(),
    };
    let draft = Draft {
        sections: vec![DraftSection {
            heading: "SUBJECTIVE".into(),
            text: "Cough for three days.".repeat(20),
        }],
        provenance: Provenance {
            model_sha256: "11".repeat(32),
            model_id: "m".into(),
            template_id: "soap".into(),
            template_version: 1,
            sampling: SamplingParams::default(),
            prompt_tokens: 10,
            omitted_transcript_chars: 0,
            section_inputs: Vec::new(),
            sentences: Vec::new(),
        },
    };
    let second: Vec<f32> = (0..16_000)
        .map(|i| ((i % 400) as f32 / 400.0) - 0.5)
        .collect();
    let mut write_ms = Vec::new();
    let mut destroy_ms = Vec::new();
    for round in 0..5 {
        let t = Instant::now();
        let id = u.create_session("soap", &PatientRef::new("Patient Bench"))?;
        for s in 0..60 {
            u.append_audio(id, &second, s == 59)?;
        }
        u.put_transcript(id, &transcript)?;
        u.put_draft(id, &draft)?;
        write_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        u.destroy(id, "discarded")?;
        destroy_ms.push(t.elapsed().as_secs_f64() * 1e3);
        // Keep some sessions alive so rotation has keys to re-wrap.
        if round < 4 {
            let keep = u.create_session("soap", &PatientRef::new("Patient Kept"))?;
            u.append_audio(keep, &second, true)?;
        }
    }
    write_ms.sort_by(f64::total_cmp);
    destroy_ms.sort_by(f64::total_cmp);
    println!(
        "60-s session write (60 one-second appends, each a committed fsynced transaction, + transcript + draft): median {:.0} ms of 5 (min {:.0}, max {:.0})",
        write_ms[2], write_ms[0], write_ms[4]
    );
    println!(
        "destroy (rows + key + receipt, rotation of the data master over up to 4 surviving sessions, checkpoint, WAL truncate): median {:.0} ms of 5 (min {:.0}, max {:.0})",
        destroy_ms[2], destroy_ms[0], destroy_ms[4]
    );
    let t = Instant::now();
    let r = u.rotate_data_master()?;
    println!(
        "explicit rotation ({} session keys, {} clinicians): {:.0} ms",
        r.session_keys_rewrapped,
        r.clinicians,
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
