//! What the CLI's tests share: the `tacet` binary driven over a throwaway
//! data folder as one of the two accounts `tacet init` makes, from the
//! repository root, with the passphrases in the environment (never on the
//! command line) and a session's patient reference on standard input
//! ([`patient::on_stdin`]). A change in how the binary is driven is made
//! here once, not in every test file.
#![allow(dead_code)] // each test file uses part of it

pub mod files;
pub mod patient;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};

/// The passphrases `tacet init` gives the admin and the clinician here.
pub const ADMIN_PASS: &str = "admin-passphrase-1";
pub const CLINICIAN_PASS: &str = "clinician-passphrase-1";

/// The repository root, where the binary runs (it finds `assets/` there).
pub fn repo_root() -> PathBuf {
    tacet_tests::workspace_root()
}

/// The passphrase of `user` ("admin", else the clinician's).
pub fn passphrase_of(user: &str) -> &'static str {
    if user == "admin" {
        ADMIN_PASS
    } else {
        CLINICIAN_PASS
    }
}

/// A throwaway data folder and the binary run over it.
pub struct Tacet {
    pub data: tempfile::TempDir,
}

impl Tacet {
    pub fn new() -> Self {
        Self {
            data: tempfile::tempdir().expect("a temporary data folder"),
        }
    }

    /// The binary as `user`, with its own passphrase, ready to run; a
    /// `--patient VALUE` in `args` goes to standard input instead.
    pub fn command(&self, user: &str, args: &[&str]) -> Command {
        self.command_as(user, passphrase_of(user), args)
    }

    /// [`Tacet::command`] with a passphrase of the test's choosing.
    pub fn command_as(&self, user: &str, pass: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tacet"));
        let args = patient::on_stdin(&mut c, args);
        c.current_dir(repo_root())
            .env("TACET_DATA_DIR", self.data.path())
            .env("TACET_USER", user)
            .env("TACET_PASSPHRASE", pass)
            .env("TACET_ADMIN_PASSPHRASE", ADMIN_PASS)
            .env("TACET_CLINICIAN_PASSPHRASE", CLINICIAN_PASS)
            .args(&args);
        c
    }

    pub fn run(&self, user: &str, args: &[&str]) -> Output {
        self.command(user, args).output().expect("run tacet")
    }

    /// [`Tacet::run`] with a passphrase of the test's choosing.
    pub fn run_as(&self, user: &str, pass: &str, args: &[&str]) -> Output {
        self.command_as(user, pass, args)
            .output()
            .expect("run tacet")
    }

    /// Standard output of a run that must succeed.
    pub fn ok(&self, user: &str, args: &[&str]) -> String {
        ok(&self.run(user, args))
    }

    /// `tacet init` (the KDF at its floor), then the admin imports the
    /// default models from the cache's `files` folder.
    pub fn init_with_models(&self, files: &std::path::Path) {
        self.ok("admin", &["init", "--fast-kdf"]);
        for m in [tacet_tests::models::ASR, tacet_tests::models::LLM] {
            let path = files.join(m);
            self.ok("admin", &["models", "import", &path.to_string_lossy()]);
        }
    }

    pub fn admin(&self, args: &[&str]) -> Output {
        self.run("admin", args)
    }

    pub fn clinician(&self, args: &[&str]) -> Output {
        self.run("clinician", args)
    }
}

/// Standard output of a run that must have succeeded; else the test fails
/// showing both streams.
pub fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        out,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// The session id in what `session new` or `session record` printed (its
/// "Session <id> …" line).
pub fn session_id(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Session "))
        .and_then(|r| r.split_whitespace().next())
        .expect("the session id is printed")
        .to_string()
}

/// Starts `cmd` with its output piped (its input is the caller's to set);
/// each line it writes to standard error arrives on the receiver as it is
/// written (a recording says what it does there).
pub fn spawn_reading_stderr(mut cmd: Command) -> (Child, Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tacet");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}
