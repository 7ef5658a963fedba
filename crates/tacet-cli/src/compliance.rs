//! `tacet compliance`: gathers facts from the running system (the vault,
//! the model store, the audit log) and hands them to tacet-compliance to
//! write down. A fact that cannot be read is reported as unknown.

use crate::compose;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use tacet_compliance::{AuditFact, EncryptionFact, Fact, Facts, FlowStage, ModelFact, NetworkFact};
use tacet_core::ports::SessionStore;
use tacet_core::SessionState;
use tacet_vault::Vault;

pub fn report(
    data_dir: &Path,
    user: Option<String>,
    out: Option<&Path>,
    pdf: Option<&Path>,
) -> Result<ExitCode> {
    let mut vault = Vault::open(data_dir)?;
    let user = compose::user(user)?;
    let pass = compose::passphrase("TACET_PASSPHRASE", &format!("Passphrase for {user}: "))?;
    let mut u = vault.unlock(&user, &pass)?;
    drop(pass);
    if u.actor().role != tacet_core::Role::Admin {
        anyhow::bail!("the installation report is an admin's document: sign in as an admin");
    }

    let models = match compose::model_store(data_dir).and_then(|s| Ok((s, compose::manifest()?))) {
        Ok((store, manifest)) => match store.list() {
            Ok(list) => Fact::Known(
                list.into_iter()
                    .map(|m| ModelFact {
                        verified: match store.verify(&m.id, &manifest) {
                            Ok(v) => Fact::Known(v.ok()),
                            Err(e) => Fact::Unknown(e.to_string()),
                        },
                        file: m
                            .path
                            .file_name()
                            .map(|f| f.to_string_lossy().to_string())
                            .unwrap_or_default(),
                        id: m.id,
                        role: m.role.to_string(),
                        size_bytes: m.size_bytes,
                        sha256: m.sha256,
                        licence: m.licence,
                        source: m.source,
                    })
                    .collect(),
            ),
            Err(e) => Fact::Unknown(e.to_string()),
        },
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let users = match u.users() {
        Ok(us) => Fact::Known(us.into_iter().map(|(n, r)| (n, r.to_string())).collect()),
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let kdf = match u.kdf_parameters() {
        Ok(ks) => Fact::Known(
            ks.into_iter()
                .map(|(user, m, t, p)| tacet_compliance::KdfFact {
                    user,
                    algorithm: "Argon2id".into(),
                    m_cost_kib: m,
                    t_cost: t,
                    p_cost: p,
                })
                .collect(),
        ),
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let database_settings = u.database_settings().unwrap_or_default();
    let retention = match u.retention_facts() {
        Ok(r) => Fact::Known(tacet_compliance::RetentionFact {
            unexported_limit_days: r.settings.unexported_limit_ms as f64 / 86_400_000.0,
            grace_after_export_hours: r.settings.export_grace_ms as f64 / 3_600_000.0,
            rotate_after_deletions: r.settings.rotate_after_deletions,
            last_run: r.last_run_unix_ms.map(crate::run::format_ms),
            last_rotation: r.last_rotation_unix_ms.map(crate::run::format_ms),
        }),
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let audit = (|| -> Result<AuditFact> {
        let v = u.verify_audit_full(&[])?;
        let checkpoint = u.write_checkpoint()?;
        let destroyed = u.deletions()?.len() as u64;
        Ok(AuditFact {
            records: v.records,
            root_hex: v.root_hex,
            latest_checkpoint: checkpoint,
            problems: v.problems,
            sessions_destroyed: destroyed,
        })
    })();
    let audit = match audit {
        Ok(a) => Fact::Known(a),
        Err(e) => Fact::Unknown(format!("{e:#}")),
    };
    let open_sessions = match u.list_sessions() {
        Ok(l) => Fact::Known(
            l.iter()
                .filter(|s| s.state != SessionState::Destroyed)
                .count() as u64,
        ),
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let chunk_s = tacet_vault::AUDIO_CHUNK_SAMPLES as f64 / 16_000.0;
    let facts = Facts {
        generated_at_utc: crate::run::format_ms(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        ),
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        data_dir: data_dir.display().to_string(),
        models,
        users,
        kdf,
        encryption: EncryptionFact {
            cipher: "AES-256-GCM".into(),
            key_hierarchy: vec![
                "passphrase → Argon2id → user key, which wraps the data master key (clinicians only) and the audit master key".into(),
                "data master key → one random key per session → seals every audio chunk, transcript, draft, note and patient reference".into(),
                "audit master key → seals the audit signing key (Ed25519) and the forward-secure chain key".into(),
            ],
            nonce_policy: format!(
                "96-bit nonces from a per-key counter, persisted with each write; a key stops at {} nonces",
                tacet_crypto::NONCE_LIMIT
            ),
            database_settings,
        },
        retention,
        audit,
        network: NetworkFact {
            controls: vec![
                "No HTTP or model-hub client is linked into this program (checked on every build by tests/architecture.rs)".into(),
                "Models are installed from local files and verified by SHA-256; nothing is downloaded at run time".into(),
            ],
            gaps: vec!["a run-time filter that refuses network sockets (seccomp or Landlock) is not in place yet".into()],
        },
        data_flow: vec![
            FlowStage {
                stage: "microphone or WAV file → 16 kHz mono".into(),
                component: "tacet-audio".into(),
                plaintext: "in memory only".into(),
            },
            FlowStage {
                stage: "encrypted audio chunks".into(),
                component: "tacet-vault".into(),
                plaintext: format!("sealed in chunks of at most {chunk_s:.0} s before they reach the disk"),
            },
            FlowStage {
                stage: "transcription".into(),
                component: "tacet-asr (whisper.cpp)".into(),
                plaintext: "in memory while transcribing; the transcript is sealed when done".into(),
            },
            FlowStage {
                stage: "draft".into(),
                component: "tacet-llm (candle)".into(),
                plaintext: "in memory while drafting; the draft is sealed when done".into(),
            },
            FlowStage {
                stage: "review and attestation".into(),
                component: "tacet-app, shown to the session's clinician only".into(),
                plaintext: "on screen while reviewing; the attested note is sealed".into(),
            },
            FlowStage {
                stage: "export".into(),
                component: "tacet-cli (file or stdout, as the clinician asks)".into(),
                plaintext: "the exported note leaves Tacet's control: the EHR holds it from then on".into(),
            },
            FlowStage {
                stage: "destruction".into(),
                component: "tacet-vault".into(),
                plaintext: "session key and rows deleted (secure_delete, WAL truncated); a receipt stays in the audit log".into(),
            },
        ],
        open_sessions,
    };
    let md = tacet_compliance::render_markdown(&facts);
    // Writing the report reads the audit log: that use is itself audited.
    let ev = tacet_core::AuditEvent::new(tacet_core::AuditAction::AuditViewed, u.actor().clone())
        .object("compliance:report")
        .content(md.as_bytes());
    u.record(ev)?;
    match out {
        Some(p) => {
            std::fs::write(p, &md).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => print!("{md}"),
    }
    if let Some(p) = pdf {
        std::fs::write(
            p,
            tacet_compliance::pdf::render_pdf(&md, "Tacet installation report"),
        )
        .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let verified = matches!(&facts.audit, Fact::Known(a) if a.problems.is_empty());
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub fn consent(practice: &str, data_dir: &Path) -> Result<ExitCode> {
    // Settings are read without unlocking: retention is not secret.
    let (retention_days, grace_hours) =
        match Vault::open(data_dir).and_then(|v| v.public_retention_settings()) {
            Ok(r) => (
                r.unexported_limit_ms as f64 / 86_400_000.0,
                r.export_grace_ms as f64 / 3_600_000.0,
            ),
            Err(_) => {
                eprintln!("(no readable vault here: using the defaults, 7 days and 0 hours)");
                (7.0, 0.0)
            }
        };
    let facts = tacet_compliance::consent::ConsentFacts {
        practice_name: practice.to_string(),
        retention_days,
        grace_hours,
    };
    println!(
        "{}",
        tacet_compliance::consent::render(tacet_compliance::consent::AI_CLAUSE_TEMPLATE, &facts)?
    );
    println!("---\nSpoken consent script:\n");
    println!(
        "{}",
        tacet_compliance::consent::render(
            tacet_compliance::consent::SPOKEN_SCRIPT_TEMPLATE,
            &facts
        )?
    );
    Ok(ExitCode::SUCCESS)
}
