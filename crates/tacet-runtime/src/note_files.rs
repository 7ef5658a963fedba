//! Where an exported note's bytes go: [`tacet_app::NoteOutput`] over the
//! real disk and standard output.

use std::io::Write;
use std::path::Path;

/// Files created new (never overwriting), readable by their owner only and
/// synced; standard output flushed.
pub struct NoteFiles;

impl tacet_app::NoteOutput for NoteFiles {
    fn exists(&self, path: &Path) -> bool {
        // A dangling link is a name taken too: create_new would refuse it.
        path.symlink_metadata().is_ok()
    }

    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        crate::write_new_private_file(path, bytes)
    }

    fn stdout(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut o = std::io::stdout().lock();
        o.write_all(bytes)?;
        o.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tacet_app::NoteOutput;

    #[test]
    fn a_note_file_is_new_and_private() {
        let dir = std::env::temp_dir().join(format!("tacet-note-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("note.txt");
        let _ = std::fs::remove_file(&p);
        let mut out = NoteFiles;
        assert!(!out.exists(&p));
        out.write_new(&p, b"NOTE").unwrap();
        assert!(out.exists(&p));
        assert!(out.write_new(&p, b"again").is_err(), "never overwrites");
        assert_eq!(std::fs::read(&p).unwrap(), b"NOTE");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
