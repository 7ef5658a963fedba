#!/usr/bin/env bash
# Runs every cargo-fuzz target of the workspace (crates/*/fuzz) for a bounded
# time each: FUZZ_SECONDS (default 30). CI runs it with a short budget; the
# longer run reported in docs/SECURITY.md is `FUZZ_SECONDS=600 bash scripts/fuzz.sh`.
#
# The machine has one stable toolchain and no other can be fetched, so the
# -Z flags cargo-fuzz passes are enabled with RUSTC_BOOTSTRAP=1, and targets
# build without a sanitizer (`-s none`): our parsers are safe Rust, so the
# findings that matter are panics, aborts, timeouts and out-of-memory, which
# libFuzzer reports without one.
#
# The kept seed corpus (crates/*/fuzz/corpus/<target>) is read, never
# written: new inputs go to a scratch folder. A crash leaves its input in
# crates/<crate>/fuzz/artifacts/<target>/ and fails the run; each one found
# becomes a regression test named after what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$root/target/fuzz"
seconds=${FUZZ_SECONDS:-30}
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
summary=()
failed=0
for dir in crates/*/fuzz; do
  crate=$(basename "$(dirname "$dir")")
  for target in $(cd "$dir" && cargo fuzz list); do
    mkdir -p "$scratch/$crate/$target" "$dir/corpus/$target"
    echo "== fuzz $crate/$target for ${seconds} s"
    log="$scratch/$crate-$target.log"
    if (cd "$dir" && cargo fuzz run -s none "$target" \
          "$scratch/$crate/$target" "corpus/$target" -- \
          -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1) >"$log" 2>&1; then
      runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
      summary+=("$crate/$target: ${runs} runs in ${seconds} s, no crash")
    else
      tail -40 "$log"
      summary+=("$crate/$target: FAILED (input kept in $dir/artifacts/$target/)")
      failed=1
    fi
  done
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
