//! Where the data folder is when nothing names it: the platform's data
//! folder for Tacet (issue 25, part 5). On Linux that is `$XDG_DATA_HOME/tacet`,
//! else `~/.local/share/tacet`, as before the `directories` crate named it.
//! Each case runs in a child process with its own environment.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::PathBuf;
use std::process::Command;

const CHILD: &str = "TACET_DATA_DIR_TEST_CHILD";

fn in_child(env: &[(&str, &str)]) -> PathBuf {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("TACET_DATA_DIR")
        .env_remove("XDG_DATA_HOME");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("DATA_DIR=").map(|(_, d)| d.to_owned()))
        .unwrap_or_else(|| panic!("no answer: {stdout}"));
    PathBuf::from(line)
}

#[test]
fn child() {
    if std::env::var_os(CHILD).is_some() {
        println!(
            "DATA_DIR={}",
            tacet_runtime::data_dir(None).unwrap().display()
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_data_folder_follows_the_platform_and_tacet_data_dir_wins() {
    assert_eq!(
        in_child(&[("HOME", "/home/drlee")]),
        PathBuf::from("/home/drlee/.local/share/tacet")
    );
    assert_eq!(
        in_child(&[("HOME", "/home/drlee"), ("XDG_DATA_HOME", "/srv/data")]),
        PathBuf::from("/srv/data/tacet")
    );
    assert_eq!(
        in_child(&[
            ("HOME", "/home/drlee"),
            ("TACET_DATA_DIR", "/mnt/practice/tacet")
        ]),
        PathBuf::from("/mnt/practice/tacet")
    );
}
