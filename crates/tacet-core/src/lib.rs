//! The domain core of Tacet: types and rules, no I/O.
//!
//! Everything a session is — its lifecycle, its transcript, the template its
//! note follows, the draft with its provenance, and the review gate that turns
//! a draft into something exportable — lives here as plain data and pure
//! functions. Adapters (audio, ASR, LLM, vault, audit) implement the ports in
//! [`ports`]; the application layer drives them. Nothing in this crate opens a
//! file, a socket or a thread, so every rule is testable with plain values.

pub mod audit;
pub mod draft;
pub mod export_format;
pub mod ids;
pub mod lifecycle;
pub mod loops;
pub mod passphrase;
pub mod ports;
pub mod retention;
pub mod review;
pub mod template;
pub mod time;
pub mod transcript;

pub use audit::{AuditAction, AuditEvent, Outcome};
pub use draft::{
    Draft, DraftSection, Provenance, SamplingParams, SectionInput, SentenceOrigin, SentenceSource,
};
pub use export_format::ExportFormat;
pub use ids::{Actor, PatientRef, Role, SessionId, UserName};
pub use lifecycle::{LifecycleError, SessionState};
pub use review::{AttestedNote, GateError};
pub use template::{Template, TemplateError, TemplateSection};
pub use transcript::{text_pieces, Segment, Speaker, TextSpan, Transcript};

/// SHA-256 of some bytes, the one content hash the whole system uses.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
