//! The patient reference reaches `tacet session new|record` on standard
//! input (`--patient-stdin`), never on the command line, where it would stay
//! in shell history and the process list (issue 22; `--patient VALUE` is
//! refused). The tests' argument lists still say `--patient VALUE` where a
//! session gets one, for reading; [`on_stdin`] turns that into
//! `--patient-stdin` with VALUE as the first line of the command's stdin.

use std::io::{Seek, Write};
use std::process::{Command, Stdio};

/// `args` with `--patient VALUE` replaced by `--patient-stdin`; when it was
/// there, `cmd`'s stdin becomes a file holding `VALUE\n`.
pub fn on_stdin<S: AsRef<str>>(cmd: &mut Command, args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter().map(AsRef::as_ref);
    while let Some(a) = it.next() {
        if a == "--patient" {
            let value = it.next().expect("--patient VALUE");
            let mut f = tempfile::tempfile().expect("a temporary file for stdin");
            writeln!(f, "{value}").expect("write the patient reference");
            f.rewind().expect("rewind");
            cmd.stdin(Stdio::from(f));
            out.push("--patient-stdin".to_owned());
        } else {
            out.push(a.to_owned());
        }
    }
    out
}
