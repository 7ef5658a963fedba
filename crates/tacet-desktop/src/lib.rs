//! The desktop app's parts, as a library its thin `main` composes (and its
//! tests in `tests/` drive): the worker thread that owns the vault and the
//! engines and serves the window's requests through the session API
//! ([`worker`]), the demo vault ([`demo`]), the wiring it shares with the
//! CLI ([`compose`]), and the screenshot script and frame timing that
//! `main` turns on by flag ([`script`], [`frames`]). The window itself is
//! `tacet-ui`'s.

pub mod compose;
pub mod demo;
pub mod frames;
pub mod script;
pub mod worker;
