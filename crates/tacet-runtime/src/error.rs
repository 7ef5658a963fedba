//! The one error type of the shared composition. Each variant names the
//! file or setting at fault and what to do about it; none can carry patient
//! text (the composition never reads any).
//!
//! A wrapped error's words are part of the message (the `cause` fields are
//! not `#[source]`), so `to_string()` is complete and anyhow's `{:#}` in
//! the binaries does not say the cause twice.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("this computer's processor lacks {missing}: Tacet needs a CPU with {floor} (most made since 2015); nothing was opened", floor = crate::cpu::FLOOR)]
    CpuBelowFloor { missing: String },
    #[error("cannot find a data directory: set --data-dir or TACET_DATA_DIR")]
    NoDataDir,
    #[error("cannot create {}: {cause}", path.display())]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Model(#[from] tacet_models::ModelError),
    #[error("the {role} model {id} failed verification ({status}); re-import it with `tacet models import`")]
    ModelNotVerified {
        role: String,
        id: String,
        status: String,
    },
    #[error("the model {id} (sha256 {sha256}) is not one Tacet lists nor one an admin imported through Tacet; it was not loaded. An admin imports it again (`tacet models import`, or Models in the app)")]
    ModelNotApproved { id: String, sha256: String },
    #[error("the {role} model {id} is not a {role} model; it was not loaded")]
    ModelWrongRole { role: String, id: String },
    #[error("the network sandbox is not in force in this process ({missing}), and Tacet opens no patient data without it. Where this system cannot provide it, an administrator may set TACET_DANGER_NO_SANDBOX=1 to go on; every unlock is then recorded in the audit log")]
    SandboxNotInForce { missing: String },
    #[error("loading the ASR model {id}: {cause}")]
    LoadAsr {
        id: String,
        cause: tacet_asr::AsrError,
    },
    #[error("loading the drafting model {id}: {cause}")]
    LoadLlm {
        id: String,
        cause: tacet_llm::LlmError,
    },
    #[error("the installation report is an admin's document: sign in as an admin")]
    NotAdmin,
    #[error("only an admin can {0}")]
    AdminOnly(&'static str),
    #[error("{0}")]
    InvalidSetting(String),
    #[error(transparent)]
    Vault(#[from] tacet_vault::VaultError),
    #[error(transparent)]
    Store(#[from] tacet_core::ports::StoreError),
    #[error("a vault already exists in {}: sign in to it, or choose another data folder", .0.display())]
    VaultExists(PathBuf),
    #[error("cannot read the folder {}: {cause}", path.display())]
    ReadFolder {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("no model files in {} (looked for .gguf, .bin, .whl and .zip files and CTranslate2 folders)", .0.display())]
    NoModelsInFolder(PathBuf),
    #[error("{0}")]
    Crypto(#[from] tacet_crypto::CryptoError),
    #[error("{0}")]
    Consent(#[from] tacet_compliance::consent::ConsentError),
    #[error("{0}")]
    Templates(#[from] tacet_app::TemplateLibraryError),
    #[error(transparent)]
    Audio(#[from] tacet_audio::AudioError),
    #[error("the input device {device} delivered no audio within {seconds} s; choose another input device")]
    NoAudio { device: String, seconds: u64 },
    #[error("the live transcriber could not start: {0}")]
    LiveTranscriber(tacet_asr::AsrError),
    #[error(transparent)]
    Audit(#[from] tacet_audit::AuditError),
    #[error("audit record {0} does not decode; run `tacet audit verify`")]
    AuditRecordUnreadable(u64),
    #[error("cannot write {} (it must not exist yet): {cause}", path.display())]
    WriteFile {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("no model cache: set TACET_CACHE")]
    NoModelCache,
    #[error("the default models are not in {} yet: run scripts/fetch-models.sh first", .0.display())]
    DefaultModelsMissing(PathBuf),
}
