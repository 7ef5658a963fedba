//! Both binaries harden themselves before anything else: the first
//! statement of each `main()` calls `tacet_sandbox::harden()` (the
//! desktop, `tacet_sandbox::harden_with_display()`, which leaves the X
//! server's abstract socket reachable) (no core
//! dumps, no network; see crates/tacet-sandbox). A tidy-style check over
//! the sources, so a refactor of `main` cannot silently drop or delay it —
//! argument parsing, a demo vault or a window must all come after it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_tests::workspace_root;

/// The first line of code in `fn main`'s body, comments and blank lines
/// skipped.
fn first_statement_of_main(source: &str) -> Option<String> {
    let start = source.find("\nfn main(")?;
    let body = &source[start..];
    let open = body.find('{')?;
    body[open + 1..]
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .map(str::to_string)
}

#[test]
fn both_binaries_harden_first_in_main() {
    for (main, call) in [
        ("crates/tacet-cli/src/main.rs", "tacet_sandbox::harden()"),
        (
            "crates/tacet-desktop/src/main.rs",
            "tacet_sandbox::harden_with_display()",
        ),
    ] {
        let path = workspace_root().join(main);
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let first = first_statement_of_main(&source)
            .unwrap_or_else(|| panic!("{main}: no `fn main` found"));
        assert!(
            first.contains(call),
            "{main}: the first statement of main() must call {call}, found: {first}"
        );
    }
}

#[test]
fn fail_a_main_that_parses_arguments_first_is_caught() {
    let src = "//! x\n\nfn main() {\n    // comment\n    let args = Args::parse();\n    tacet_sandbox::harden();\n}\n";
    let first = first_statement_of_main(src).unwrap();
    assert!(!first.contains("tacet_sandbox::harden()"), "{first}");
    let good = "fn x() {}\nfn main() -> Result<()> {\n\n    // first\n    for w in tacet_sandbox::harden().warnings() {\n";
    assert!(first_statement_of_main(good)
        .unwrap()
        .contains("tacet_sandbox::harden()"));
}

/// Right after hardening, both programs replace the panic hook with one
/// that prints the place and withholds the message (it may hold patient
/// text), and check the CPU floor before anything is opened.
#[test]
fn both_binaries_install_the_quiet_panic_hook_and_check_the_cpu() {
    for main in [
        "crates/tacet-cli/src/main.rs",
        "crates/tacet-desktop/src/main.rs",
    ] {
        let source = std::fs::read_to_string(workspace_root().join(main)).unwrap();
        let body = &source[source.find("\nfn main(").expect("fn main")..];
        let hook = body
            .find("tacet_runtime::panic::report(info)")
            .unwrap_or_else(|| panic!("{main}: no quiet panic hook"));
        let floor = body
            .find("tacet_runtime::cpu::check_floor()")
            .unwrap_or_else(|| panic!("{main}: no CPU floor check"));
        let parse = body.find("::parse()").expect("argument parsing");
        assert!(
            hook < parse && floor < parse,
            "{main}: hook and floor check come before parsing"
        );
    }
}

/// `tacet_sandbox::danger_harden_allowing_exec` leaves `execve` open; it is
/// for test processes that start helpers after hardening. Every use in the
/// crates' sources must sit in test code: after a `#[cfg(test)]` in its
/// file, or in a module its parent declares under `#[cfg(test)]`.
#[test]
fn the_exec_keeping_hardening_is_called_from_tests_only() {
    let root = workspace_root().join("crates");
    let mut uses = 0;
    for krate in std::fs::read_dir(&root).unwrap() {
        let src = krate.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let Some(at) = text.find("danger_harden_allowing_exec()") else {
                    continue;
                };
                if path.ends_with("tacet-sandbox/src/lib.rs") {
                    continue;
                }
                uses += 1;
                assert!(
                    test_only(&path, &text[..at]),
                    "{}: danger_harden_allowing_exec outside test code",
                    path.display()
                );
            }
        }
    }
    assert!(
        uses > 0,
        "the check found no use at all; is the name right?"
    );
}

fn test_only(path: &std::path::Path, before: &str) -> bool {
    if before.contains("#[cfg(test)]") {
        return true;
    }
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    let dir = path.parent().unwrap();
    ["main.rs", "lib.rs", "mod.rs"].iter().any(|parent| {
        std::fs::read_to_string(dir.join(parent)).is_ok_and(|p| {
            p.contains(&format!("#[cfg(test)]\nmod {stem};"))
                || p.contains(&format!("#[cfg(test)]\npub mod {stem};"))
        })
    })
}

#[test]
fn fail_a_danger_call_in_shipped_code_is_caught() {
    let dir = std::env::temp_dir().join(format!("tacet-tidy-danger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("worker.rs");
    let shipped = "fn start() {\n    tacet_sandbox::";
    assert!(!test_only(&path, shipped));
    let in_tests =
        "fn start() {}\n#[cfg(test)]\nmod tests {\n    fn t() {\n        tacet_sandbox::";
    assert!(test_only(&path, in_tests));
    std::fs::write(dir.join("main.rs"), "#[cfg(test)]\nmod worker;\n").unwrap();
    let declared = test_only(&path, shipped);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(declared);
}
