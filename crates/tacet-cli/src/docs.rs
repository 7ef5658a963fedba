//! Man pages and shell completions generated from the clap definitions,
//! for the Debian package: `scripts/package.sh` runs the hidden
//! `tacet package-docs DIR`, so the pages never drift from the flags.

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;
use std::process::ExitCode;

/// Writes `DIR/man/tacet.1` (and one page per subcommand) and
/// `DIR/completions/` for bash, zsh and fish.
pub fn write(out: &Path) -> Result<ExitCode> {
    let man = out.join("man");
    let completions = out.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let cmd = crate::Cli::command();
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("cannot write the man pages to {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "tacet", &completions)
            .with_context(|| format!("cannot write the {shell} completions"))?;
    }
    println!(
        "Man pages in {}, completions in {}",
        man.display(),
        completions.display()
    );
    Ok(ExitCode::SUCCESS)
}
