//! Tidy rules, as ordinary tests over the source tree.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use std::path::{Path, PathBuf};
use tacet_tests::workspace_root;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "target" && name != "fuzz" && !name.starts_with('.') {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn library_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        if name == "tacet-cli" || name == "tacet-desktop" {
            continue;
        }
        rust_files(&e.path().join("src"), &mut files);
    }
    // Binaries inside library crates (src/bin) are front ends and may print.
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "bin"));
    files
}

/// Code outside `#[cfg(test)]` items, roughly: each `#[cfg(test)]` line
/// and the item after it (a braced block counted to its closing brace, or a
/// declaration up to its `;`) become blank lines, so line numbers hold and
/// shipped code after a test-only item is still checked.
fn non_test_part(text: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    let mut depth = 0i64;
    let mut opened = false;
    for line in text.lines() {
        if !skipping && line.trim() == "#[cfg(test)]" {
            skipping = true;
            depth = 0;
            opened = false;
            out.push("");
            continue;
        }
        if !skipping {
            out.push(line);
            continue;
        }
        out.push("");
        let code = line.split("//").next().unwrap_or("");
        for c in code.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let t = code.trim_end();
        if t.starts_with("#[") && !opened {
            continue; // another attribute on the same item
        }
        if (opened && depth <= 0) || (!opened && depth == 0 && t.ends_with(';')) {
            skipping = false;
        }
    }
    out.join("\n")
}

#[test]
fn libraries_never_print() {
    // A library that prints could print patient text; libraries report
    // through return values and the binaries decide what a person sees.
    let mut offenders = Vec::new();
    for f in library_sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in non_test_part(&text).lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            for m in ["println!(", "eprintln!(", "print!(", "eprint!(", "dbg!("] {
                if l.contains(m) {
                    offenders.push(format!("{}:{}: {}", f.display(), i + 1, l));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "libraries must not print:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_application_layer_does_no_file_io() {
    // tacet-app names no adapter: storage, engines, exports and files go
    // through ports or tacet-runtime (docs/ARCHITECTURE.md).
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates/tacet-app/src"), &mut files);
    assert!(!files.is_empty());
    let mut offenders = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in non_test_part(&text).lines().enumerate() {
            let l = line.trim_start();
            if !l.starts_with("//") && (l.contains("std::fs") || l.contains("File::")) {
                offenders.push(format!("{}:{}: {}", f.display(), i + 1, l));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "tacet-app must not touch files:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_crate_explains_itself() {
    let mut missing = Vec::new();
    for e in std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .flatten()
    {
        let src = e.path().join("src");
        let root = if src.join("lib.rs").exists() {
            src.join("lib.rs")
        } else {
            src.join("main.rs")
        };
        let text = std::fs::read_to_string(&root).unwrap_or_default();
        if !text.trim_start().starts_with("//!") {
            missing.push(root.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "crate roots need a //! doc explaining the design: {missing:?}"
    );
}

#[test]
fn architecture_doc_maps_every_crate() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md exists");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        if !doc.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md has no code-map entry for {missing:?}"
    );
}

#[test]
fn no_shared_data_in_the_repository() {
    // Evaluation data is read from ../shared/data, never copied in.
    let mut found = Vec::new();
    let mut stack = vec![workspace_root()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(p);
                }
            } else if name.ends_with(".csv")
                || name == "jfk.wav"
                || name.starts_with("spk1_")
                || name.starts_with("spk2_")
            {
                found.push(p.display().to_string());
            }
        }
    }
    assert!(
        found.is_empty(),
        "shared evaluation data copied into the repo: {found:?}"
    );
}

/// The README is one short document: its two setup commands are present and
/// no section appears twice (a botched scripted edit once repeated a section
/// thousands of times and nothing noticed).
#[test]
fn readme_is_one_document_with_the_two_commands() {
    let text = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    assert!(
        text.len() < 32 * 1024,
        "README.md is {} bytes: something repeated",
        text.len()
    );
    for command in [
        "bash scripts/setup.sh && bash scripts/run.sh",
        "bash scripts/setup.sh && bash scripts/test.sh",
    ] {
        assert!(text.contains(command), "README.md lacks `{command}`");
    }
    let mut seen = std::collections::HashSet::new();
    for heading in text.lines().filter(|l| l.starts_with('#')) {
        assert!(
            seen.insert(heading),
            "README.md repeats the heading {heading:?}"
        );
    }
}

/// CI runs the README's test command: `.ci/run` must call it.
#[test]
fn ci_runs_the_readme_test_command() {
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("bash scripts/test.sh"),
        ".ci/run does not call scripts/test.sh"
    );
}

#[test]
fn unsafe_in_the_drafting_engine_is_only_its_simd_kernels_and_spin_pool() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates/tacet-llm/src"), &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| {
            !f.ends_with("kernels.rs") && !f.ends_with("flash.rs") && !f.ends_with("spin.rs")
        })
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|l| l.contains("unsafe ") && !l.trim_start().starts_with("//"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "unsafe outside tacet-llm's kernels.rs, flash.rs and spin.rs: {offenders:?}"
    );
}

/// One build for every practice PC: ggml never with `GGML_NATIVE` (its
/// `-march=native` put the build machine's AVX-512 into the package, and an
/// AVX2 laptop died with SIGILL); no `-march=native`/`target-cpu=native`
/// in anything that builds what ships. (benches/ may tune for the machine
/// they measure; they ship nothing.)
#[test]
fn nothing_that_ships_is_built_for_the_build_machine_alone() {
    let root = workspace_root();
    let config = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap();
    for line in [
        "GGML_NATIVE = \"OFF\"",
        "GGML_AVX2 = \"ON\"",
        "GGML_AVX512 = \"OFF\"",
    ] {
        assert!(config.contains(line), ".cargo/config.toml lacks {line}");
    }
    let mut files = vec![
        root.join(".cargo/config.toml"),
        root.join("Cargo.toml"),
        root.join("crates/tacet-asr/whisper-cpp/patch.cmake"),
    ];
    for dir in ["scripts", ".ci"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            files.push(e.path());
        }
    }
    for e in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        files.push(e.path().join("Cargo.toml"));
        files.push(e.path().join("build.rs"));
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for bad in ["march=native", "target-cpu=native", "GGML_NATIVE = \"ON\""] {
            assert!(!text.contains(bad), "{} contains {bad}", f.display());
        }
    }
}

/// The support log is the only place tracing events are made: its closed
/// `Event` type has no field for free text, and a `tracing::info!` written
/// anywhere else could format a transcript into the log.
#[test]
fn only_the_support_log_emits_tracing_events() {
    let mut files = Vec::new();
    for e in std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .flatten()
    {
        rust_files(&e.path().join("src"), &mut files);
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("tacet-runtime/src/support_log.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            ["tracing::", "use tracing"]
                .iter()
                .any(|m| text.contains(m))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "tracing used outside the support log: {offenders:?}"
    );
}

#[test]
fn fail_a_print_after_a_test_only_item_is_still_caught() {
    let src = "extern \"C\" {\n    fn shipped();\n    #[cfg(test)]\n    fn only_in_tests(\n        x: i32,\n    ) -> i32;\n}\n\nfn after() {\n    println!(\"shipped\");\n}\n\n#[cfg(test)]\nmod tests {\n    fn t() {\n        println!(\"in a test\");\n    }\n}\n\nfn last() { eprintln!(\"also shipped\"); }\n";
    let kept = non_test_part(src);
    assert!(kept.contains("println!(\"shipped\")"), "{kept}");
    assert!(kept.contains("eprintln!(\"also shipped\")"), "{kept}");
    assert!(!kept.contains("in a test"), "{kept}");
    assert!(!kept.contains("only_in_tests"), "{kept}");
    assert_eq!(kept.lines().count(), src.lines().count());
}

/// Issue 23, item 6: a test that returns early for want of what the setup
/// installs (the model cache, the shared data, a tool) must fail in CI,
/// where everything is installed: such skips go through
/// `tacet_tests::skip`, or the file checks `TACET_CI` itself. Only skips for
/// what the hardware or the kernel may lack are plain, and they are named.
#[test]
fn every_skip_fails_in_ci_unless_the_hardware_is_missing() {
    const HARDWARE_SKIPS: [(&str, &str); 2] = [
        (
            "crates/tacet-asr/src/whisper_patch.rs",
            "a CPU without AVX-512 VNNI",
        ),
        (
            "crates/tacet-sandbox/tests/hardening.rs",
            "a kernel without Landlock ABI 4",
        ),
    ];
    let root = workspace_root();
    let mut files = Vec::new();
    for e in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        for sub in ["src", "tests"] {
            rust_files(&e.path().join(sub), &mut files);
        }
    }
    let mut offenders = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if !text.contains("\"skipping") {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        let rel = rel.trim_start_matches("./").to_string();
        if HARDWARE_SKIPS.iter().any(|(p, _)| rel.ends_with(p)) || text.contains("TACET_CI") {
            continue;
        }
        offenders.push(rel);
    }
    assert!(
        offenders.is_empty(),
        "these files skip with a plain print; use tacet_tests::skip so CI fails instead: {offenders:?}"
    );
}
