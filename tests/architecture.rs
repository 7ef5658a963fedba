//! The architecture's rules, checked against `cargo metadata`: a crate that
//! starts depending on one it must not fails this test, with the rule named.
//! docs/ARCHITECTURE.md states the same rules in words.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

use tacet_tests::{closure, metadata, workspace_crates};

/// Crates that do I/O or run engines: the domain core and the application
/// layer must stay free of them.
const IO_OR_ENGINE: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "whisper-rs",
    "candle-core",
    "candle-transformers",
    "tokenizers",
    "hound",
    "symphonia",
    "opus-decoder",
    "rubato",
    "cpal",
    "zip",
    "ring",
    "aes-gcm",
    "argon2",
    "eframe",
    "egui",
];

/// Anything that can speak HTTP or reach a model hub. None may enter the
/// app's graph: the app opens no network connection.
const NETWORK: &[&str] = &[
    "reqwest",
    "hyper",
    "ureq",
    "hf-hub",
    "curl",
    "curl-sys",
    "isahc",
    "surf",
    "attohttpc",
    "native-tls",
    "openssl",
    "rustls",
    "tokio",
    "h2",
    "http",
    "mio",
];

fn deps_of<'a>(crates: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
    &crates
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("crate {name} is missing from the workspace"))
        .1
}

#[test]
fn core_has_no_io_and_no_sibling() {
    let meta = metadata();
    let crates = workspace_crates(&meta);
    for d in deps_of(&crates, "tacet-core") {
        assert!(
            !d.starts_with("tacet-"),
            "Architecture Invariant: tacet-core depends on no other tacet crate (found {d})"
        );
        assert!(
            !IO_OR_ENGINE.contains(&d.as_str()),
            "Architecture Invariant: tacet-core does no I/O (found {d})"
        );
    }
}

#[test]
fn app_layer_speaks_only_ports() {
    let meta = metadata();
    let crates = workspace_crates(&meta);
    for d in deps_of(&crates, "tacet-app") {
        assert!(
            !d.starts_with("tacet-")
                || d == "tacet-core"
                || d == "tacet-ground"
                || d == "tacet-export",
            "Architecture Invariant: tacet-app reaches adapters only through tacet-core's ports; besides the core it uses only the pure tacet-ground and tacet-export (found {d})"
        );
        assert!(
            !IO_OR_ENGINE.contains(&d.as_str()),
            "Architecture Invariant: tacet-app names no engine or store (found {d})"
        );
    }
}

#[test]
fn only_the_vault_touches_sqlite() {
    let meta = metadata();
    for (name, deps) in workspace_crates(&meta) {
        if deps.iter().any(|d| d == "rusqlite") {
            assert!(
                name == "tacet-vault" || name == "tacet-cli",
                "Architecture Invariant: only tacet-vault writes the database ({name} depends on rusqlite)"
            );
        }
    }
    // The CLI may list rusqlite only as a dev-dependency for its tests.
    let crates = workspace_crates(&meta);
    assert!(!deps_of(&crates, "tacet-cli")
        .iter()
        .any(|d| d == "rusqlite"));
}

#[test]
fn crypto_and_audit_are_sans_io() {
    let meta = metadata();
    let crates = workspace_crates(&meta);
    for krate in ["tacet-crypto", "tacet-audit"] {
        for d in deps_of(&crates, krate) {
            assert!(
                ![
                    "rusqlite",
                    "whisper-rs",
                    "candle-core",
                    "tacet-vault",
                    "tacet-app"
                ]
                .contains(&d.as_str()),
                "Architecture Invariant: {krate} is bytes in, bytes out (found {d})"
            );
        }
    }
    assert!(deps_of(&crates, "tacet-crypto")
        .iter()
        .all(|d| !d.starts_with("tacet-")));
}

#[test]
fn adapters_do_not_depend_on_each_other_or_the_app() {
    let meta = metadata();
    let crates = workspace_crates(&meta);
    for krate in ["tacet-audio", "tacet-asr", "tacet-llm", "tacet-models"] {
        for d in deps_of(&crates, krate) {
            assert!(
                !d.starts_with("tacet-") || d == "tacet-core",
                "Architecture Invariant: adapter {krate} depends only on tacet-core among our crates (found {d})"
            );
        }
    }
}

#[test]
fn only_binaries_use_anyhow() {
    let meta = metadata();
    for (name, deps) in workspace_crates(&meta) {
        if deps.iter().any(|d| d == "anyhow") {
            assert!(
                name == "tacet-cli" || name == "tacet-desktop",
                "Architecture Invariant: libraries return typed errors; only binaries use anyhow ({name})"
            );
        }
    }
}

#[test]
fn ui_never_reaches_storage_crypto_or_engines() {
    let meta = metadata();
    let crates = workspace_crates(&meta);
    if let Some((_, deps)) = crates.iter().find(|(n, _)| n == "tacet-ui") {
        for d in deps {
            assert!(
                !["tacet-vault", "tacet-crypto", "tacet-audit", "tacet-asr", "tacet-llm", "rusqlite"].contains(&d.as_str()),
                "Architecture Invariant: the UI renders state and sends commands; it never touches {d}"
            );
        }
    }
}

#[test]
fn no_network_client_in_the_app() {
    let meta = metadata();
    for binary in ["tacet-cli", "tacet-desktop"] {
        let all = closure(&meta, binary);
        let found: Vec<&String> = all
            .iter()
            .filter(|p| NETWORK.contains(&p.as_str()))
            .collect();
        assert!(found.is_empty(), "Architecture Invariant: the app opens no network connection, yet the graph of {binary} holds {found:?}");
    }
}

/// The tacet crates a binary may name (issue 23): the composition, the
/// session API, the window's view, the sandbox and the core. Every use
/// case is written once below them; a binary is argument parsing and
/// presentation. Its tests may name more (dev-dependencies).
const A_BINARY_NAMES: &[&str] = &[
    "tacet-runtime",
    "tacet-app",
    "tacet-ui",
    "tacet-sandbox",
    "tacet-core",
];

#[test]
fn binaries_name_only_the_composition_the_session_api_and_the_core() {
    let meta = metadata();
    let crates = workspace_crates(&meta);
    for binary in ["tacet-cli", "tacet-desktop"] {
        let extra: Vec<&String> = deps_of(&crates, binary)
            .iter()
            .filter(|d| d.starts_with("tacet-") && !A_BINARY_NAMES.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "Architecture Invariant: a binary names only {A_BINARY_NAMES:?} among our crates; {binary} also depends on {extra:?} (compose it in tacet-runtime)"
        );
    }
}

#[test]
fn the_shared_composition_serves_only_the_binaries() {
    // tacet-runtime is the one composition both front ends use (so they
    // cannot describe the installation differently): a library with typed
    // errors, no window, and used by nothing but the two binaries.
    let meta = metadata();
    let crates = workspace_crates(&meta);
    for d in deps_of(&crates, "tacet-runtime") {
        assert!(
            !["anyhow", "tacet-ui", "egui", "eframe"].contains(&d.as_str()),
            "Architecture Invariant: tacet-runtime is a windowless library with typed errors (found {d})"
        );
    }
    for (name, deps) in &crates {
        if deps.iter().any(|d| d == "tacet-runtime") {
            assert!(
                name == "tacet-cli" || name == "tacet-desktop",
                "Architecture Invariant: only the binaries compose the installation with tacet-runtime ({name})"
            );
        }
    }
}

/// The declared `rust-version` is honest (issue 23, item 7): every crate of
/// the workspace declares it, and it is no older than what any package in
/// the lock file declares it needs, so a practice building with an older
/// compiler is told so by cargo instead of meeting errors deep in a build.
#[test]
fn the_declared_rust_version_is_no_older_than_any_dependency_needs() {
    let meta = metadata();
    let parse = |v: &str| -> Vec<u64> {
        let mut parts: Vec<u64> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        parts.resize(3, 0);
        parts
    };
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let packages = meta["packages"].as_array().unwrap();
    let (ours, theirs): (Vec<_>, Vec<_>) = packages
        .iter()
        .partition(|p| members.contains(&p["id"].as_str().unwrap_or("")));
    let needed = theirs
        .iter()
        .filter_map(|p| Some((p["rust_version"].as_str()?, p["name"].as_str()?)))
        .max_by_key(|(v, _)| parse(v))
        .expect("some dependency declares a rust-version");
    for p in ours {
        let name = p["name"].as_str().unwrap_or("?");
        let declared = p["rust_version"].as_str().unwrap_or_else(|| {
            panic!("{name} declares no rust-version (use rust-version.workspace = true)")
        });
        assert!(
            parse(declared) >= parse(needed.0),
            "{name} declares rust-version {declared}, but {} needs {}",
            needed.1,
            needed.0
        );
    }
}
