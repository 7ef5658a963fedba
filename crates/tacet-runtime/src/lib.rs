//! `tacet-runtime`: the composition both front ends share.
//!
//! Tacet has two composition roots, the `tacet` CLI and the `tacet-desktop`
//! app. Each used to wire the installation up itself — where the data
//! lives, how the model store and the embedded manifest are opened, which
//! checks a model file passes before an engine parses it, how many threads
//! an engine gets — and, for the installation report, which facts are
//! gathered and how. Two copies of that wiring can drift apart, and then the
//! desktop and the CLI describe (and run) the same installation differently:
//! a report from one would say something the other does not do. So there is
//! one composition, here, and the binaries keep only what is theirs: the
//! CLI its flags and passphrase prompts, the desktop its window and worker.
//!
//! * [`compose`]: the data directory, the model store and manifest, the
//!   checked engine loaders, the system clock.
//! * [`compliance`]: the facts of the installation report, read from the
//!   running system ([`compliance_facts`]), and the admin-only report built
//!   from them ([`compliance_report`]), whose reading is itself audited.
//! * [`cpu`]: the CPU floor of the one portable build, checked first.
//! * [`panic`]: a panic hook that names the place and withholds the message.
//! * [`support_log`]: the support log, a closed set of events with no text.
//! * [`drafting`]: the drafter both front ends use — the note composed
//!   from the visit's facts, reworded by the installed model only when the
//!   drafting mode (`TACET_DRAFTER`) says so.
//! * [`input`]: the input device a live recording uses (asked for,
//!   remembered and connected, or the default).
//! * [`manage`]: the admin's management (retention bounds, the audited
//!   model import, verification in plain words, adding users).
//! * [`NoteFiles`]: where an exported note's bytes go (files new and
//!   owner-only, standard output), the port `tacet-app`'s export writes to.
//! * [`live`]: the microphone of a live recording ([`live::Microphone`]),
//!   the live transcriber over a loaded model, and a visit read from an
//!   audio file.
//! * [`audit_reports`]: the admin's audited readings of the audit log
//!   (deletion log, access report, FHIR export, verifier key, prune).
//! * [`setup`]: first run — the vault with its first two accounts, the
//!   models from a folder or removable disk, the consent texts; the demo
//!   vault.
//!
//! The binaries name no other tacet crate than this one, `tacet-app`,
//! `tacet-ui`, `tacet-sandbox` and `tacet-core` (tests/architecture.rs):
//! the types they hold from the stores and engines — the vault, a
//! passphrase, a model's description — come re-exported from here.
//!
//! This is a library: it returns a typed [`RuntimeError`] and never prints;
//! the binaries decide what a person sees. Nothing here handles patient
//! text: the report's [`tacet_compliance::Facts`] has no field for any.

pub mod audit_reports;
pub mod compliance;
pub mod compose;
pub mod cpu;
pub mod drafting;
mod error;
pub mod input;
pub mod live;
pub mod manage;
mod note_files;
pub mod panic;
pub mod posture;
pub mod setup;
pub mod support_log;
mod write_fence;

pub use compliance::{
    compliance_facts, compliance_report, format_utc_ms, write_new_private_file, ComplianceReport,
    ReportFile, ReportSaveError, REPORT_TITLE,
};
pub use compose::{
    data_dir, engine_threads, live_asr_threads, llm_device, llm_drafter, manifest, model_store,
    transcriber, ApprovedModels, SystemClock, ASR_THREADS_VAR, LLM_DEVICE_VAR, LLM_THREADS_VAR,
};
pub use drafting::{draft_mode, drafter, DraftMode, NoteDrafter, DRAFTER_VAR};
pub use error::RuntimeError;
pub use input::{choose_input_device, ChosenDevice};
pub use note_files::NoteFiles;
pub use write_fence::fence_writes;

// The types the front ends hold, from the stores and engines composed
// here; the binaries name those crates nowhere else.
pub use tacet_crypto::{Passphrase, PassphraseCheck};
pub use tacet_models::{ImportOptions, InstalledModel, ModelRole, Quantization};
pub use tacet_vault::{AuditChainKey, KdfChoice, NewUser, Unlocked, Vault, VaultError};

/// Whether this CPU runs whisper's Q8_0 kernels faster than F16 (then a
/// speech model imported unquantized is worth importing again as Q8_0).
pub fn q8_0_is_fast_here() -> bool {
    tacet_asr::q8_0_is_fast_here()
}
