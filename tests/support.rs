//! Shared helpers for the workspace-level tests: where the workspace is,
//! and its crates as `cargo metadata` describes them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools may panic on a broken fixture

pub mod models;
pub mod pulse;

use std::path::PathBuf;
use std::process::Command;

/// A test that cannot run here (no model cache, no shared data, no tool
/// the setup installs) says why and returns; except under `TACET_CI=1`
/// (set by `.ci/run`), where a skip is a failure: CI has everything the
/// project's own setup installs, so a skip there hides a broken setup.
/// Call it only for what the setup provides, never for what the hardware
/// or the kernel may lack.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("TACET_CI").is_none(),
        "skipped under TACET_CI, where a skip is a failure: {why}"
    );
    eprintln!("skipping: {why}");
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo metadata` for the workspace, parsed.
pub fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["metadata", "--format-version", "1", "--offline"])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Our crates with their direct normal (non-dev, non-build) dependencies.
pub fn workspace_crates(meta: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or("")))
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap_or("").to_string())
                .collect();
            (p["name"].as_str().unwrap_or("").to_string(), deps)
        })
        .collect()
}

/// Every package reachable from `root` through normal dependencies, on
/// every platform but WebAssembly.
pub fn closure(meta: &serde_json::Value, root: &str) -> Vec<String> {
    let resolve = &meta["resolve"]["nodes"];
    let packages = meta["packages"].as_array().unwrap();
    let name_of = |id: &str| {
        packages
            .iter()
            .find(|p| p["id"].as_str() == Some(id))
            .and_then(|p| p["name"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let nodes = resolve.as_array().unwrap();
    let start = packages
        .iter()
        .find(|p| p["name"].as_str() == Some(root))
        .and_then(|p| p["id"].as_str())
        .expect("root package")
        .to_string();
    let mut seen = vec![start.clone()];
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        let Some(node) = nodes.iter().find(|n| n["id"].as_str() == Some(id.as_str())) else {
            continue;
        };
        for dep in node["deps"].as_array().unwrap() {
            // An edge only a WebAssembly build takes (winit's futures
            // executor for the browser, `cfg(target_family = "wasm")`) is
            // not in any program a practice runs; every other platform's
            // edges count.
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| {
                k["kind"].is_null()
                    && !k["target"]
                        .as_str()
                        .is_some_and(|t| t.contains("wasm") || t.contains("emscripten"))
            });
            let pkg = dep["pkg"].as_str().unwrap_or("").to_string();
            if normal && !seen.contains(&pkg) {
                seen.push(pkg.clone());
                stack.push(pkg);
            }
        }
    }
    seen.iter().map(|id| name_of(id)).collect()
}
