//! The window's libraries are installed where the program will run.
//!
//! winit, glutin and xkbcommon load X11, xcb, xkbcommon, EGL/GL and Wayland
//! by name at start (`dlopen`), so the linker never lists them and a machine
//! missing one builds and tests fine — then the app panics at start ("Library
//! libxkbcommon-x11.so could not be loaded"). This reads every versioned
//! library name the built binary carries and asks the dynamic linker's cache
//! for each; `scripts/setup.sh`'s `runtime` list is what installs them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn every_library_the_window_loads_by_name_is_installed() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_tacet-desktop")).expect("read the built binary");
    let names = sonames(&bin);
    for expected in ["libxkbcommon-x11.so.0", "libEGL.so.1", "libX11.so.6"] {
        assert!(
            names.contains(expected),
            "the scan should find {expected} in the binary (found {names:?})"
        );
    }
    let out = Command::new("ldconfig")
        .arg("-p")
        .output()
        .or_else(|_| Command::new("/sbin/ldconfig").arg("-p").output())
        .expect("run ldconfig -p");
    let cache = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| {
            !cache
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{n} ")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "libraries the desktop app loads at start are not installed: {missing:?} \
         (add their Debian packages to `runtime` in scripts/setup.sh)"
    );
}

/// `libNAME.so.N` strings in a binary (the form `dlopen` is given).
fn sonames(bin: &[u8]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+');
    let mut i = 0;
    while let Some(pos) = find(&bin[i..], b".so.") {
        let dot = i + pos;
        let mut start = dot;
        while start > 0 && is_name(bin[start - 1]) {
            start -= 1;
        }
        let mut end = dot + 4;
        while end < bin.len() && bin[end].is_ascii_digit() {
            end += 1;
        }
        // A name glued to the end of a longer string (string tables run
        // names together) starts at its last "lib".
        let text = String::from_utf8_lossy(&bin[start..end]).into_owned();
        if end > dot + 4 {
            if let Some(from) = text.rfind("lib") {
                found.insert(text[from..].to_owned());
            }
        }
        i = dot + 4;
    }
    found
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
