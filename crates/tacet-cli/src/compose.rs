//! Wiring: who is acting and how the passphrase is asked. Where the data
//! lives and which concrete engines serve the application layer's ports
//! come from `tacet-runtime`, the composition the desktop app shares, so
//! the two front ends cannot describe (or run) the installation
//! differently; only the terminal's part stays here.

use anyhow::{Context, Result};
use tacet_runtime::Passphrase;

pub use tacet_runtime::{
    data_dir, drafter, manifest, model_store, transcriber, ApprovedModels, SystemClock,
};

pub fn user(flag: Option<String>) -> Result<String> {
    flag.or_else(|| std::env::var("TACET_USER").ok())
        .context("who is acting? pass --user NAME (or set TACET_USER)")
}

/// The passphrase from `env_var`, else asked on the terminal.
pub fn passphrase(env_var: &str, prompt: &str) -> Result<Passphrase> {
    if let Ok(p) = std::env::var(env_var) {
        return Ok(Passphrase::new(p));
    }
    let p = rpassword::prompt_password(prompt)
        .with_context(|| format!("no terminal to ask for a passphrase: set {env_var}"))?;
    Ok(Passphrase::new(p))
}

/// A new passphrase for the account `who`: from `env_var` (scripts), else
/// asked twice on the terminal. Refused before any key is derived when it
/// breaks the one rule (`tacet_core::passphrase`), which the vault enforces
/// again whatever the front end.
pub fn new_passphrase(env_var: &str, who: &str) -> Result<Passphrase> {
    let p = if std::env::var_os(env_var).is_some() {
        passphrase(env_var, "")?
    } else {
        let a = passphrase(env_var, &format!("New passphrase for {who}: "))?;
        let b = passphrase(env_var, &format!("Repeat the passphrase for {who}: "))?;
        if a.danger_expose() != b.danger_expose() {
            anyhow::bail!("the two passphrases differ");
        }
        a
    };
    if let Err(problem) = tacet_core::passphrase::check_new(p.danger_expose(), who) {
        anyhow::bail!("the passphrase for {who} {problem}");
    }
    Ok(p)
}

/// The patient reference for a new session, from standard input's first
/// line (`--patient-stdin`) or asked on a terminal; empty when neither
/// (a session with no reference). Never from the command line: a value
/// given with `--patient` is refused, because it stays in the shell's
/// history and any account can read it in the process list.
pub fn patient(from_stdin: bool, on_command_line: Option<&str>) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    if on_command_line.is_some() {
        anyhow::bail!(
            "--patient is refused: a patient reference on the command line stays in the shell's \
             history and any account on this computer can read it in the process list. Run \
             without it to be asked, or give it on standard input with --patient-stdin"
        );
    }
    let stdin = std::io::stdin();
    let ask = !from_stdin && stdin.is_terminal();
    if !from_stdin && !ask {
        return Ok(String::new());
    }
    if ask {
        eprint!("Patient reference (the practice's record number; Enter for none): ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the patient reference from standard input")?;
    Ok(line.trim().to_owned())
}
