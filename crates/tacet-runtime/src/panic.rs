//! What a crash says: where, never what.
//!
//! Rust's default panic hook prints the panic's message, and a message can
//! carry whatever the code formatted into it — a sentence of a transcript, a
//! patient reference — to the terminal, the journal a desktop session logs
//! to, or a crash report. [`install_hook`] replaces it, first thing in both
//! programs, with one that names the location (file and line, which help
//! whoever supports the practice) and withholds the payload.

/// Replaces the panic hook for the rest of the process.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown place".to_owned());
        eprintln!(
            "tacet: internal error at {place}; its message is withheld because it may hold patient \
             data. Nothing more was saved after this point; report the place above to whoever \
             supports Tacet."
        );
    }));
}
