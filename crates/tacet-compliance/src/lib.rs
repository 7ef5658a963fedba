//! The paperwork a practice needs, written from facts, never from memory.
//!
//! The composition root (the CLI, later the desktop app) gathers
//! [`Facts`] from the running system — the vault's users and key
//! parameters, the installed models and their hashes, the retention
//! settings, the audit log's verification — and this crate renders them:
//! a dated Markdown report ([`render_markdown`]), the same as a PDF
//! ([`pdf::render_pdf`]), the consent texts ([`consent`]) and the
//! risk-analysis table. Nothing here knows a fact of its own: every
//! sentence that states something about the installation interpolates a
//! field of [`Facts`], and a fact the root could not read is an
//! `Unknown` that the report names instead of guessing.
//!
//! No patient text can reach these documents: [`Facts`] has no field
//! that could hold any (users are staff names and roles; sessions appear
//! only as counts).

pub mod consent;
pub mod pdf;

use std::fmt::Write;

/// A fact, or why it could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact<T> {
    Known(T),
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelFact {
    pub id: String,
    pub role: String,
    pub file: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub licence: String,
    pub source: String,
    /// Whether the file still hashes to what was installed.
    pub verified: Fact<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KdfFact {
    pub user: String,
    pub algorithm: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetentionFact {
    pub unexported_limit_days: f64,
    pub grace_after_export_hours: f64,
    pub rotate_after_deletions: bool,
    /// Time of the last retention run (UTC text), if any.
    pub last_run: Option<String>,
    /// Time of the last rotation of the data master key (UTC text), if any.
    pub last_rotation: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditFact {
    pub records: u64,
    pub root_hex: String,
    pub latest_checkpoint: String,
    pub problems: Vec<String>,
    pub sessions_destroyed: u64,
    /// Where checkpoints are anchored outside the data folder (one line).
    pub anchors: String,
    /// Whether the chain tags were checked, or why not (one line).
    pub chain: String,
    /// The public key that verifies the log's checkpoints (C2SP vkey).
    pub verifier_key: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EncryptionFact {
    pub cipher: String,
    pub key_hierarchy: Vec<String>,
    pub nonce_policy: String,
    pub database_settings: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkFact {
    /// How the absence of network access is enforced and tested, each a line.
    pub controls: Vec<String>,
    /// What is not enforced (yet), said plainly.
    pub gaps: Vec<String>,
}

/// A stage of the data flow and who sees plaintext there.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowStage {
    pub stage: String,
    pub component: String,
    pub plaintext: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub generated_at_utc: String,
    pub app_version: String,
    pub data_dir: String,
    pub models: Fact<Vec<ModelFact>>,
    pub users: Fact<Vec<(String, String)>>,
    pub kdf: Fact<Vec<KdfFact>>,
    pub encryption: EncryptionFact,
    pub retention: Fact<RetentionFact>,
    pub audit: Fact<AuditFact>,
    pub network: NetworkFact,
    pub data_flow: Vec<FlowStage>,
    pub open_sessions: Fact<u64>,
}

fn unknown_line(out: &mut String, what: &str, why: &str) {
    let _ = writeln!(out, "**Could not determine {what}:** {why}\n");
}

/// The report as Markdown.
pub fn render_markdown(f: &Facts) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Tacet installation report\n");
    let _ = writeln!(
        o,
        "Generated {} by Tacet {} for the data directory `{}`.\n",
        f.generated_at_utc, f.app_version, f.data_dir
    );

    // The verdict that matters most comes first.
    match &f.audit {
        Fact::Known(a) if !a.problems.is_empty() => {
            let _ = writeln!(
                o,
                "> **WARNING: THE AUDIT LOG FAILED VERIFICATION ({} problem(s)).** Treat this installation as possibly tampered with until an administrator has investigated. Details under *Audit log*.\n",
                a.problems.len()
            );
        }
        Fact::Unknown(why) => {
            let _ = writeln!(
                o,
                "> **WARNING: the audit log could not be verified:** {why}\n"
            );
        }
        _ => {}
    }

    let _ = writeln!(o, "## AI systems that touch patient data\n");
    match &f.models {
        Fact::Known(ms) if ms.is_empty() => {
            let _ = writeln!(o, "No models are installed.\n");
        }
        Fact::Known(ms) => {
            let _ = writeln!(o, "| id | role | file | size | SHA-256 | licence | source | file intact |\n|---|---|---|---|---|---|---|---|");
            for m in ms {
                let v = match &m.verified {
                    Fact::Known(true) => "yes".to_string(),
                    Fact::Known(false) => "**NO — re-import it**".to_string(),
                    Fact::Unknown(w) => format!("unknown ({w})"),
                };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {:.1} MB | `{}` | {} | {} | {} |",
                    m.id,
                    m.role,
                    m.file,
                    m.size_bytes as f64 / 1e6,
                    m.sha256,
                    m.licence,
                    m.source,
                    v
                );
            }
            let _ = writeln!(o, "\nEvery model runs on this machine only; each draft records the SHA-256 of the model that wrote it.\n");
        }
        Fact::Unknown(why) => unknown_line(&mut o, "the installed models", why),
    }

    let _ = writeln!(
        o,
        "## Data flow\n\n| stage | component | plaintext exposure |\n|---|---|---|"
    );
    for s in &f.data_flow {
        let _ = writeln!(o, "| {} | {} | {} |", s.stage, s.component, s.plaintext);
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Where data lives and how it is encrypted\n");
    let _ = writeln!(o, "- Data directory: `{}`", f.data_dir);
    let _ = writeln!(o, "- Cipher: {}", f.encryption.cipher);
    let _ = writeln!(o, "- Nonces: {}", f.encryption.nonce_policy);
    for k in &f.encryption.key_hierarchy {
        let _ = writeln!(o, "- Key hierarchy: {k}");
    }
    for (k, v) in &f.encryption.database_settings {
        let _ = writeln!(o, "- Database `{k}`: {v}");
    }
    match &f.kdf {
        Fact::Known(ks) => {
            for k in ks {
                let _ = writeln!(
                    o,
                    "- Passphrase key derivation for `{}`: {} with m = {} KiB, t = {}, p = {}",
                    k.user, k.algorithm, k.m_cost_kib, k.t_cost, k.p_cost
                );
            }
        }
        Fact::Unknown(why) => {
            let _ = writeln!(
                o,
                "- Passphrase key derivation: could not determine ({why})"
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Retention and deletion\n");
    match &f.retention {
        Fact::Known(r) => {
            let _ = writeln!(
                o,
                "- Unexported sessions are destroyed after {} day(s).",
                r.unexported_limit_days
            );
            let _ = writeln!(
                o,
                "- Exported sessions are destroyed {} hour(s) after export.",
                r.grace_after_export_hours
            );
            let _ = writeln!(
                o,
                "- The data master key is {}rotated after deletions.",
                if r.rotate_after_deletions { "" } else { "NOT " }
            );
            let _ = writeln!(
                o,
                "- Last retention run: {}.",
                r.last_run.as_deref().unwrap_or("none recorded")
            );
            let _ = writeln!(
                o,
                "- Last rotation of the data master key: {}.",
                r.last_rotation.as_deref().unwrap_or("none recorded")
            );
        }
        Fact::Unknown(why) => unknown_line(&mut o, "the retention settings", why),
    }
    match &f.open_sessions {
        Fact::Known(n) => {
            let _ = writeln!(o, "- Sessions currently holding patient data: {n}.");
        }
        Fact::Unknown(why) => {
            let _ = writeln!(
                o,
                "- Sessions currently holding patient data: unknown ({why})."
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Users and roles\n");
    match &f.users {
        Fact::Known(us) => {
            for (n, r) in us {
                let _ = writeln!(o, "- {n}: {r}");
            }
            let _ = writeln!(o);
        }
        Fact::Unknown(why) => unknown_line(&mut o, "the users", why),
    }

    let _ = writeln!(o, "## Audit log\n");
    match &f.audit {
        Fact::Known(a) => {
            let _ = writeln!(o, "- Records: {}; Merkle root `{}`", a.records, a.root_hex);
            let _ = writeln!(
                o,
                "- Sessions destroyed (deletion receipts): {}",
                a.sessions_destroyed
            );
            if a.problems.is_empty() {
                let _ = writeln!(o, "- Verification at the time of this report: **passed** (records, hash chain, signed checkpoints).");
            } else {
                let _ = writeln!(o, "- Verification at the time of this report: **FAILED**:");
                for p in &a.problems {
                    let _ = writeln!(o, "  - {p}");
                }
            }
            let _ = writeln!(o, "- Anchoring: {}.", a.anchors);
            let _ = writeln!(o, "- Chain: {}.", a.chain);
            let _ = writeln!(o, "\nVerifier key (pin it outside this computer; a log signed again with another key no longer matches it):\n\n```\n{}\n```\n", a.verifier_key.trim());
            let _ = writeln!(o, "Latest signed checkpoint (keep a copy elsewhere; later verification proves the log still contains it):\n\n```\n{}```\n", a.latest_checkpoint);
        }
        Fact::Unknown(why) => unknown_line(&mut o, "the audit log's state", why),
    }

    let _ = writeln!(o, "## Network posture\n");
    for c in &f.network.controls {
        let _ = writeln!(o, "- {c}");
    }
    for g in &f.network.gaps {
        let _ = writeln!(o, "- Not yet enforced: {g}");
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Risk-analysis input\n");
    o.push_str(&risk_table(f));
    o
}

/// Threats Tacet addresses and those it leaves to the practice, with the
/// control in place and its current setting, as a Markdown table.
pub fn risk_table(f: &Facts) -> String {
    let kdf = match &f.kdf {
        Fact::Known(ks) if !ks.is_empty() => {
            let min_m = ks.iter().map(|k| k.m_cost_kib).min().unwrap_or(0);
            let min_t = ks.iter().map(|k| k.t_cost).min().unwrap_or(0);
            format!("Argon2id, weakest user m = {min_m} KiB, t = {min_t}")
        }
        _ => "unknown".to_string(),
    };
    let retention = match &f.retention {
        Fact::Known(r) => format!(
            "unexported sessions destroyed after {} day(s); exported after {} h",
            r.unexported_limit_days, r.grace_after_export_hours
        ),
        Fact::Unknown(_) => "unknown".to_string(),
    };
    let audit = match &f.audit {
        Fact::Known(a) if a.problems.is_empty() => format!("{} records, verified", a.records),
        Fact::Known(a) => format!("{} records, VERIFICATION FAILED", a.records),
        Fact::Unknown(_) => "unknown".to_string(),
    };
    let rows: Vec<[String; 4]> = vec![
        [
            "Lost or stolen computer".into(),
            "Tacet".into(),
            format!("Every patient byte sealed with {}; keys wrapped by passphrase-derived keys", f.encryption.cipher),
            kdf.clone(),
        ],
        [
            "Device theft with a weak passphrase".into(),
            "Practice".into(),
            "Passphrase length ≥ 8 enforced; throttling after 5 failures; the strength of the passphrase is the practice's".into(),
            kdf,
        ],
        [
            "Data kept longer than needed".into(),
            "Tacet".into(),
            "Crypto-shredding after export and on retention; deletion receipts in the audit log".into(),
            retention,
        ],
        [
            "Unreviewed AI text entering the record".into(),
            "Tacet".into(),
            "Export requires an attestation for exactly the exported text".into(),
            "always on".into(),
        ],
        [
            "Tampering with the access history".into(),
            "Tacet".into(),
            "Merkle log, signed checkpoints, forward-secure chain; checkpoints carried in exported notes".into(),
            audit,
        ],
        [
            "Patient data sent to a cloud".into(),
            "Tacet".into(),
            "No network client in the application; models are local files".into(),
            f.network.controls.first().cloned().unwrap_or_else(|| "unknown".into()),
        ],
        [
            "Screen visible to others".into(),
            "Practice".into(),
            "Position screens; lock the session when away".into(),
            "—".into(),
        ],
        [
            "Copy-paste into the EHR (clipboard, EHR access)".into(),
            "Practice".into(),
            "The EHR's own controls govern the note once exported".into(),
            "—".into(),
        ],
        [
            "Backups of the data directory".into(),
            "Practice".into(),
            "Backups hold only ciphertext, but a restored old copy brings back destroyed sessions' ciphertext and older keys; keep backups encrypted and short-lived".into(),
            "—".into(),
        ],
    ];
    let mut o =
        String::from("| threat | addressed by | control | current setting |\n|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(o, "| {} | {} | {} | {} |", r[0], r[1], r[2], r[3]);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Facts {
        Facts {
            generated_at_utc: "2026-11-23 12:00:00 UTC".into(),
            app_version: "0.1.0".into(),
            data_dir: "/data".into(),
            models: Fact::Known(vec![ModelFact {
                id: "whisper-tiny.en".into(),
                role: "ASR".into(),
                file: "whisper-tiny.en.bin".into(),
                size_bytes: 77_704_698,
                sha256: "ab".repeat(32),
                licence: "MIT".into(),
                source: "wheel".into(),
                verified: Fact::Known(true),
            }]),
            users: Fact::Known(vec![("admin".into(), "admin".into())]),
            kdf: Fact::Known(vec![KdfFact {
                user: "admin".into(),
                algorithm: "Argon2id".into(),
                m_cost_kib: 65536,
                t_cost: 3,
                p_cost: 1,
            }]),
            encryption: EncryptionFact {
                cipher: "AES-256-GCM".into(),
                key_hierarchy: vec!["passphrase → user key".into()],
                nonce_policy: "counter".into(),
                database_settings: vec![("secure_delete".into(), "1".into())],
            },
            retention: Fact::Known(RetentionFact {
                unexported_limit_days: 7.0,
                grace_after_export_hours: 0.0,
                rotate_after_deletions: true,
                last_run: None,
                last_rotation: None,
            }),
            audit: Fact::Known(AuditFact {
                records: 10,
                root_hex: "00".repeat(32),
                latest_checkpoint: "origin\n10\nroot\n".into(),
                problems: vec![],
                sessions_destroyed: 1,
                anchors: "no anchor folder is set".into(),
                chain: "chain tags not checked".into(),
                verifier_key: "tacet.local/vault/00+abcd+key".into(),
            }),
            network: NetworkFact {
                controls: vec!["no HTTP client in the dependency graph (tested)".into()],
                gaps: vec!["no seccomp filter yet".into()],
            },
            data_flow: vec![FlowStage {
                stage: "capture".into(),
                component: "tacet-audio".into(),
                plaintext: "in memory, ≤ 1 s".into(),
            }],
            open_sessions: Fact::Known(0),
        }
    }

    #[test]
    fn the_report_states_the_facts_it_was_given() {
        let md = render_markdown(&sample());
        assert!(
            md.contains("77.7 MB") && md.contains("m = 65536 KiB") && md.contains("after 7 day(s)")
        );
        assert!(!md.contains("WARNING"));
    }

    #[test]
    fn a_failed_audit_log_is_said_first_and_loudly() {
        let mut f = sample();
        if let Fact::Known(a) = &mut f.audit {
            a.problems.push("record 3: leaf hash does not match".into());
        }
        let md = render_markdown(&f);
        let warn = md.find("AUDIT LOG FAILED VERIFICATION").expect("warning");
        assert!(warn < md.find("## AI systems").unwrap());
    }

    #[test]
    fn unknown_facts_are_named_not_guessed() {
        let mut f = sample();
        f.retention = Fact::Unknown("the vault is locked".into());
        let md = render_markdown(&f);
        assert!(md.contains("Could not determine the retention settings:** the vault is locked"));
    }
}
