//! Wiring: where the data lives and which concrete engines serve the
//! application layer's ports. It is `tacet-runtime`, the composition the
//! CLI shares — the same model checks (re-hashed, header checked before an
//! engine parses it), the same thread policy, the same installation report
//! — so the desktop and the CLI cannot describe the installation
//! differently. Only the window's own wiring lives in this binary.

pub use tacet_runtime::{data_dir, drafter, model_store, transcriber, ApprovedModels, SystemClock};
