//! Both binaries harden themselves before anything else: the first
//! statement of each `main()` calls `tacet_sandbox::harden()` (no core
//! dumps, no network; see crates/tacet-sandbox). A tidy-style check over
//! the sources, so a refactor of `main` cannot silently drop or delay it —
//! argument parsing, a demo vault or a window must all come after it.

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
    for main in [
        "crates/tacet-cli/src/main.rs",
        "crates/tacet-desktop/src/main.rs",
    ] {
        let path = workspace_root().join(main);
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let first = first_statement_of_main(&source)
            .unwrap_or_else(|| panic!("{main}: no `fn main` found"));
        assert!(
            first.contains("tacet_sandbox::harden()"),
            "{main}: the first statement of main() must call tacet_sandbox::harden(), found: {first}"
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
