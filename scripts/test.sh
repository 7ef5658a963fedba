#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test in the workspace.
# Tests that need the models use the cache filled by scripts/setup.sh (they
# skip with a message without it); tests that use ../shared/data skip
# cleanly when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
