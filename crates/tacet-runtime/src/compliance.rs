//! The installation report's facts, gathered from the running system (the
//! vault, the model store, the audit log) for `tacet-compliance` to write
//! down. Both front ends call [`compliance_report`], so `tacet compliance
//! report` and the desktop's admin screen state the same facts in the same
//! words. A fact that cannot be read is reported as unknown, never guessed.
//!
//! Gathering the facts verifies the audit log and writes a fresh signed
//! checkpoint (the report quotes it); producing the report reads the log,
//! so that reading is itself audited (`audit.viewed`, object
//! `compliance:report`, with the report's hash). The report is an admin's
//! document: a clinician is refused before anything is read.

use crate::{compose, RuntimeError};
use std::path::Path;
use tacet_compliance::{
    AuditFact, EncryptionFact, Fact, Facts, FlowStage, KdfFact, ModelFact, NetworkFact,
    RetentionFact,
};
use tacet_core::ports::{Clock, SessionStore};
use tacet_core::{AuditAction, AuditEvent, Role, SessionState};
use tacet_vault::Unlocked;

/// The title the PDF carries.
pub const REPORT_TITLE: &str = "Tacet installation report";

/// A rendered report and what it found.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplianceReport {
    pub facts: Facts,
    pub markdown: String,
    /// True only when the audit log was read and every check passed.
    pub audit_verified: bool,
}

/// The file format of a saved report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFile {
    Markdown,
    Pdf,
}

impl ComplianceReport {
    /// The same report as a PDF.
    pub fn pdf(&self) -> Vec<u8> {
        tacet_compliance::pdf::render_pdf(&self.markdown, REPORT_TITLE)
    }

    /// Saves the report to a new file, readable by its owner only: a
    /// report names the practice's people and settings, so it is kept like
    /// an export and never overwrites a file. Both front ends save it here.
    pub fn save(&self, path: &Path, format: ReportFile) -> Result<(), ReportSaveError> {
        let bytes = match format {
            ReportFile::Markdown => self.markdown.clone().into_bytes(),
            ReportFile::Pdf => self.pdf(),
        };
        write_new_private_file(path, &bytes).map_err(|e| {
            let path = path.display().to_string();
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ReportSaveError::Exists(path)
            } else {
                ReportSaveError::Io(path, e)
            }
        })
    }
}

/// Why a report was not saved.
#[derive(Debug, thiserror::Error)]
pub enum ReportSaveError {
    #[error("{0} already exists; choose a new file name (a report never overwrites a file).")]
    Exists(String),
    #[error("The report could not be saved to {0}: {1}")]
    Io(String, std::io::Error),
}

/// UTC date and time ("2023-11-14 22:13:20 UTC") from Unix milliseconds.
pub fn format_utc_ms(ms: u64) -> String {
    tacet_core::time::format_utc_seconds(ms)
}

fn models_fact(data_dir: &Path) -> Fact<Vec<ModelFact>> {
    let (store, manifest) =
        match compose::model_store(data_dir).and_then(|s| Ok((s, compose::manifest()?))) {
            Ok(sm) => sm,
            Err(e) => return Fact::Unknown(e.to_string()),
        };
    match store.list() {
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
    }
}

fn audit_fact(u: &mut Unlocked<'_>) -> Result<AuditFact, RuntimeError> {
    let v = u.verify_audit_full(&[])?;
    let checkpoint = u.write_checkpoint()?;
    let destroyed = u.deletions()?.len() as u64;
    Ok(AuditFact {
        records: v.records,
        root_hex: v.root_hex,
        latest_checkpoint: checkpoint,
        problems: v.problems,
        sessions_destroyed: destroyed,
        anchors: v.anchors.unwrap_or_default(),
        chain: v.chain.unwrap_or_default(),
        verifier_key: u.audit_verifier_key()?,
    })
}

/// Everything the installation report states, read now. Never fails: a
/// fact that cannot be read is a [`Fact::Unknown`] saying why. Writes a
/// signed audit checkpoint (quoted in the report); it does not check the
/// caller's role — [`compliance_report`] does.
pub fn compliance_facts(u: &mut Unlocked<'_>, data_dir: &Path, clock: &dyn Clock) -> Facts {
    let models = models_fact(data_dir);
    let users = match u.users() {
        Ok(us) => Fact::Known(us.into_iter().map(|(n, r)| (n, r.to_string())).collect()),
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let kdf = match u.kdf_parameters() {
        Ok(ks) => Fact::Known(
            ks.into_iter()
                .map(|(user, m, t, p)| KdfFact {
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
        Ok(r) => Fact::Known(RetentionFact {
            unexported_limit_days: r.settings.unexported_limit_ms as f64 / 86_400_000.0,
            grace_after_export_hours: r.settings.export_grace_ms as f64 / 3_600_000.0,
            rotate_after_deletions: r.settings.rotate_after_deletions,
            last_run: r.last_run_unix_ms.map(format_utc_ms),
            last_rotation: r.last_rotation_unix_ms.map(format_utc_ms),
        }),
        Err(e) => Fact::Unknown(e.to_string()),
    };
    let audit = match audit_fact(u) {
        Ok(a) => Fact::Known(a),
        Err(e) => Fact::Unknown(e.to_string()),
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
    let (llm_device, on_gpu) = match crate::compose::llm_device() {
        Ok(d) => (d.to_string(), d != tacet_llm::LlmDevice::Cpu),
        Err(e) => (format!("an unusable setting: {e}"), false),
    };
    Facts {
        generated_at_utc: format_utc_ms(clock.now_unix_ms()),
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
            controls: network_controls(tacet_sandbox::current()),
            gaps: network_gaps(tacet_sandbox::current()),
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
                component: format!("tacet-llm (candle, on {llm_device})"),
                plaintext: if on_gpu {
                    "in CPU and GPU memory while drafting (the GPU's KV cache is zeroed after each draft); the draft is sealed when done"
                } else {
                    "in memory while drafting; the draft is sealed when done"
                }
                .into(),
            },
            FlowStage {
                stage: "review and attestation".into(),
                component: "tacet-app, shown to the session's clinician only".into(),
                plaintext: "on screen while reviewing; the attested note is sealed".into(),
            },
            FlowStage {
                stage: "export".into(),
                component: "tacet-cli or tacet-desktop (a file, stdout or the clipboard, as the clinician asks)".into(),
                plaintext: "the exported note leaves Tacet's control: the EHR holds it from then on".into(),
            },
            FlowStage {
                stage: "destruction".into(),
                component: "tacet-vault".into(),
                plaintext: "session key and rows deleted (secure_delete, WAL truncated); a receipt stays in the audit log".into(),
            },
        ],
        open_sessions,
    }
}

/// The installation report for an admin: the facts read now, rendered as
/// Markdown, the reading audited. A clinician gets
/// [`RuntimeError::NotAdmin`] and nothing is read.
pub fn compliance_report(
    u: &mut Unlocked<'_>,
    data_dir: &Path,
    clock: &dyn Clock,
) -> Result<ComplianceReport, RuntimeError> {
    if u.actor().role != Role::Admin {
        return Err(RuntimeError::NotAdmin);
    }
    let facts = compliance_facts(u, data_dir, clock);
    let markdown = tacet_compliance::render_markdown(&facts);
    let ev = AuditEvent::new(AuditAction::AuditViewed, u.actor().clone())
        .object("compliance:report")
        .content(markdown.as_bytes());
    u.record(ev)?;
    let audit_verified = matches!(&facts.audit, Fact::Known(a) if a.problems.is_empty());
    Ok(ComplianceReport {
        facts,
        markdown,
        audit_verified,
    })
}

/// Writes `bytes` to a new file at `path`, readable by its owner only;
/// an existing file is never overwritten (the error says it exists).
pub fn write_new_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_known_time() {
        assert_eq!(format_utc_ms(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc_ms(0), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn fail_a_private_file_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("report.md");
        write_new_private_file(&p, b"first").unwrap();
        let err = write_new_private_file(&p, b"second").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

/// The network posture of the process writing the report, read from what
/// `tacet_sandbox::harden` put in place at its start, plus the build-time
/// and provisioning controls that hold for every process.
fn network_controls(hardening: Option<&tacet_sandbox::HardeningReport>) -> Vec<String> {
    let mut out = vec![
        "No HTTP or model-hub client is linked into this program (checked on every build by tests/architecture.rs)".to_string(),
        "Models are installed from local files and verified by SHA-256; nothing is downloaded at run time".to_string(),
    ];
    if let Some(h) = hardening {
        out.extend(
            h.lines()
                .into_iter()
                .map(|l| format!("In this process at start: {l}")),
        );
    }
    if let Some(f) = tacet_sandbox::write_fence() {
        out.push(format!("In this process: {}", f.line()));
    }
    out.push("Tested on every CI run: a whole session (live capture, transcription, drafting, review, export, deletion) in an empty network namespace under strace opens zero IP sockets (crates/tacet-cli/tests/offline.rs)".to_string());
    out
}

fn network_gaps(hardening: Option<&tacet_sandbox::HardeningReport>) -> Vec<String> {
    match hardening {
        None => vec!["the process writing this report did not harden itself at start (it was not started as tacet or tacet-desktop), so its run-time network filter could not be determined".to_string()],
        Some(h) => h.warnings(),
    }
}

#[cfg(test)]
mod network_posture_tests {
    use super::*;
    use tacet_sandbox::{HardeningReport, LayerStatus};

    #[test]
    fn an_unhardened_process_says_it_could_not_determine_its_filter() {
        let gaps = network_gaps(None);
        assert_eq!(gaps.len(), 1);
        assert!(gaps[0].contains("could not be determined"));
    }

    #[test]
    fn a_hardened_process_lists_each_layer_and_reports_the_missing_one() {
        let report = HardeningReport {
            core_limit_zero: LayerStatus::Active,
            not_dumpable: LayerStatus::Active,
            landlock_abi: None,
            landlock_network: LayerStatus::NotSupported {
                reason: "kernel without Landlock".into(),
            },
            landlock_scopes: LayerStatus::NotSupported {
                reason: "kernel without Landlock".into(),
            },
            abstract_sockets_open_for_display: false,
            seccomp_network: LayerStatus::Active,
            seccomp_process: LayerStatus::Active,
            threads_at_start: 1,
        };
        let controls = network_controls(Some(&report));
        assert!(controls.iter().any(|c| c.contains("seccomp filter")));
        assert!(controls.iter().any(|c| c.contains("Landlock")));
        let gaps = network_gaps(Some(&report));
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].contains("Landlock network rules not in force"));
    }
}
