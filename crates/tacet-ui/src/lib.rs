//! Tacet's desktop screens, in egui: a library that renders state and sends
//! commands, and nothing else.
//!
//! The design follows the immediate-mode apps that stay responsive under
//! load (rerun's among them): screens are functions of a plain
//! [`ViewState`] that emit a closed set of [`UiCommand`]s; [`TacetUi`]
//! handles each command once, turning it into view-state changes and
//! [`Request`]s for a [`Backend`]; the backend answers with [`Event`]s that
//! the UI drains once a frame. The real backend (in the `tacet-desktop`
//! binary) is a worker thread that owns the vault and the engines and calls
//! the same application layer as the CLI; this crate cannot reach storage,
//! crypto, ASR or the LLM at all (an architecture test holds it to that).
//!
//! Colours, spacing and text sizes come only from [`Tokens`] (dark and light
//! themes). Every control has an accessible name, so AccessKit screen
//! readers — and the kittest tests — find it by its label.

pub mod app;
pub mod backend;
/// The in-memory backend the interaction tests drive; not in the shipped
/// program (the `fake` feature, which only this crate's tests turn on).
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod picker;
mod screens;
pub mod state;
pub mod tokens;

pub use app::TacetUi;
pub use backend::{
    Backend, BackendError, Event, EvidenceView, ExportTarget, FlagView, GroundingView, ModelRow,
    Op, ReportFormat, Request, Secret, SentenceView,
};
pub use screens::clinician::CONSENT_SCRIPT;
pub use state::{Screen, UiCommand, ViewState};
pub use tokens::{ThemeKind, Tokens};
