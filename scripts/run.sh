#!/usr/bin/env bash
# The main job on the embedded defaults: the desktop app (with a throwaway
# demo vault and the default models) where a display exists, otherwise the
# headless demo on assets/demo/visit.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    exec cargo run -p tacet-desktop -- --demo
else
    exec cargo run -p tacet-cli -- demo
fi
