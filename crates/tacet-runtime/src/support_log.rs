//! The support log: what whoever supports the practice needs when
//! something fails, and nothing about a patient.
//!
//! One file a day in `<data folder>/logs/` (`tacet.log.YYYY-MM-DD`, the
//! last 14 kept; the folder 0700 and, under the umask both programs set
//! while hardening, each file 0600), written through `tracing` with a file
//! appender. What goes in is a closed set of [`Event`]s whose fields are
//! codes, counts, durations, ids and hashes — there is no variant and no
//! field that can hold free text, so a transcript, a note, a patient
//! reference, a file name or an error message cannot be logged by mistake:
//! the compiler refuses. Nothing else in the workspace emits tracing events
//! (tests/tidy.rs), and the offline test's canary scan reads this folder
//! with the rest of the data folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many daily files are kept.
pub const KEEP_DAYS: usize = 14;
/// The log folder's name inside the data folder.
pub const LOG_DIR: &str = "logs";

/// Where a data folder's support log lives.
#[must_use]
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Failed, with a code naming the kind of error (e.g. `vault`,
    /// `audio`), never its message.
    Failed(&'static str),
}

/// Everything the support log can say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The program started: its name and version, the CPU's SIMD
    /// extensions and whether the build's floor is met, and which sandbox
    /// layers are in force.
    Started {
        program: &'static str,
        version: &'static str,
        cpu: String,
        cpu_floor_met: bool,
        core_dumps_off: bool,
        seccomp_network: bool,
        landlock_network: bool,
        /// Whether key pages are locked out of swap (`mlock`).
        key_pages_locked: bool,
    },
    /// An installed model: its id and SHA-256 (both from the practice's
    /// own manifest, never from patient data).
    Model { id: String, sha256: String },
    /// A drafting model was loaded: the matrix-vector kernels it runs on,
    /// chosen on this CPU by timing where there is a choice
    /// (`tacet_llm::matvec_kernels`; timed then, not at every start).
    DraftingKernels { kernels: String },
    /// A step (a CLI command, a desktop operation) began.
    StepStarted { step: &'static str },
    /// A step ended, with its duration and outcome.
    StepEnded {
        step: &'static str,
        took: Duration,
        outcome: Outcome,
    },
}

impl Event {
    fn emit(&self) {
        match self {
            Event::Started {
                program,
                version,
                cpu,
                cpu_floor_met,
                core_dumps_off,
                seccomp_network,
                landlock_network,
                key_pages_locked,
            } => tracing::info!(
                event = "started",
                program,
                version,
                cpu = cpu.as_str(),
                cpu_floor_met,
                core_dumps_off,
                seccomp_network,
                landlock_network,
                key_pages_locked
            ),
            Event::Model { id, sha256 } => tracing::info!(
                event = "model",
                id = safe_token(id).as_str(),
                sha256 = safe_token(sha256).as_str()
            ),
            Event::DraftingKernels { kernels } => {
                tracing::info!(event = "drafting_kernels", kernels = kernels.as_str())
            }
            Event::StepStarted { step } => tracing::info!(event = "step.started", step),
            Event::StepEnded {
                step,
                took,
                outcome,
            } => match outcome {
                Outcome::Ok => tracing::info!(
                    event = "step.ended",
                    step,
                    ms = took.as_millis() as u64,
                    outcome = "ok"
                ),
                Outcome::Failed(code) => tracing::warn!(
                    event = "step.ended",
                    step,
                    ms = took.as_millis() as u64,
                    outcome = "failed",
                    error = *code
                ),
            },
        }
    }
}

/// Ids and hashes are letters, digits, '.', '-' and '_' only; anything else
/// is dropped, so even a model id a practice typed cannot carry a sentence.
fn safe_token(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(80)
        .collect()
}

/// Writes `event` to the support log (nothing when no log is open).
pub fn log(event: &Event) {
    event.emit();
}

/// Keeps the log open; dropping it flushes nothing (writes are direct).
pub struct Guard {
    _default: tracing::subscriber::DefaultGuard,
}

/// Opens the support log in `data_dir` for this thread's events (and, the
/// first time, the whole process's). Fails with the folder named when it
/// cannot be created.
pub fn open(data_dir: &Path) -> Result<Guard, crate::RuntimeError> {
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|cause| crate::RuntimeError::CreateDir {
        path: dir.clone(),
        cause,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(
            |cause| crate::RuntimeError::CreateDir {
                path: dir.clone(),
                cause,
            },
        )?;
    }
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("tacet.log")
        .max_log_files(KEEP_DAYS)
        .build(&dir)
        .map_err(|e| crate::RuntimeError::CreateDir {
            path: dir.clone(),
            cause: std::io::Error::other(e.to_string()),
        })?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(appender)
        .with_ansi(false)
        .with_target(false)
        .finish();
    Ok(Guard {
        _default: tracing::subscriber::set_default(subscriber),
    })
}

/// The models installed in `data_dir`'s store (ids and hashes), logged
/// once at start; nothing when the store is absent or unreadable.
pub fn log_models(data_dir: &Path) {
    let store = data_dir.join("models");
    if !store.is_dir() {
        return;
    }
    if let Ok(list) = tacet_models::store::ModelStore::open(&store).and_then(|s| s.list()) {
        for m in list {
            log(&Event::Model {
                id: m.id,
                sha256: m.sha256,
            });
        }
    }
}

/// Every kept day of the log, oldest first, as one text (for a copy sent
/// to support).
pub fn collect(data_dir: &Path) -> Result<Vec<u8>, std::io::Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir(data_dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("tacet.log"))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(std::fs::read(f)?);
    }
    Ok(out)
}

/// The facts of this start, for [`Event::Started`].
#[must_use]
pub fn started(program: &'static str, version: &'static str) -> Event {
    let report = tacet_sandbox::current();
    Event::Started {
        program,
        version,
        cpu: crate::cpu::features(),
        cpu_floor_met: crate::cpu::missing_features().is_empty(),
        core_dumps_off: report.is_some_and(|r| r.core_dumps_off()),
        seccomp_network: report.is_some_and(|r| r.network_denied()),
        landlock_network: report.is_some_and(|r| r.landlock_network.is_active()),
        key_pages_locked: tacet_crypto::key_pages_locked(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_no_sentence() {
        assert_eq!(safe_token("whisper-tiny.en"), "whisper-tiny.en");
        assert_eq!(safe_token("Jane Roe has a cough"), "JaneRoehasacough");
        assert!(safe_token(&"a".repeat(500)).len() <= 80);
    }
}
