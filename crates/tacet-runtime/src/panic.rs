//! What a crash says: where, never what.
//!
//! Rust's default panic hook prints the panic's message, and a message can
//! carry whatever the code formatted into it — a sentence of a transcript, a
//! patient reference — to the terminal, the journal a desktop session logs
//! to, or a crash report. The hook both programs install right after
//! hardening prints [`report`] instead: the location (file and line, which
//! help whoever supports the practice), never the payload.

/// What the panic hook prints for `info`: the place, not the payload.
/// Both programs install `|info| eprintln!("{}", report(info))` right after
/// hardening (tests/hardening.rs checks it).
#[must_use]
pub fn report(info: &std::panic::PanicHookInfo<'_>) -> String {
    let place = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_else(|| "an unknown place".to_owned());
    format!(
        "tacet: internal error at {place}; its message is withheld because it may hold patient \
         data. Nothing more was saved after this point; report the place above to whoever \
         supports Tacet."
    )
}
