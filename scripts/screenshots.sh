#!/usr/bin/env bash
# Drives the real desktop window through every screen of the demo under
# Xvfb (the app's hidden --screenshot-dir mode), captures each screen into
# docs/screenshots/ (or the folder given), and measures the frame rate while
# it transcribes and drafts (TACET_FRAME_STATS; the table is printed at the
# end and kept as frames.md beside the screenshots).
# Needs the cached models (scripts/fetch-models.sh) and, once, Xvfb:
#   apt-get install -y --no-install-recommends xvfb xauth x11-apps imagemagick
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-docs/screenshots}")
mkdir -p "$out"
if ! command -v xvfb-run >/dev/null || ! command -v import >/dev/null; then
  apt-get install -y --no-install-recommends xvfb xauth x11-apps imagemagick
fi
export PATH="$HOME/.cargo/bin:$PATH"
cargo build -q -p tacet-desktop
shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
export TACET_FRAME_STATS="$shots/frames.md"
export XDG_RUNTIME_DIR="$shots/xdg"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
# A private PulseAudio server whose default source is a null sink's monitor,
# with the demo visit playing into it: the script then records live.
pulse_pids=()
if command -v pulseaudio >/dev/null && command -v paplay >/dev/null; then
  cat > "$shots/shots.pa" <<'PA'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=v rate=48000 format=float32le channels=2
set-default-sink v
set-default-source v.monitor
PA
  pulseaudio -n -F "$shots/shots.pa" --exit-idle-time=-1 --daemonize=no >/dev/null 2>&1 &
  pulse_pids+=($!)
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  pacat -p --raw --format=float32le --rate=48000 --channels=2 --device=v </dev/zero >/dev/null 2>&1 &
  pulse_pids+=($!)
  (sleep 20; while :; do paplay --device=v assets/demo/visit.wav || break; done) >/dev/null 2>&1 &
  pulse_pids+=($!)
  export TACET_SCRIPT_LIVE=1
fi
# Wait for the PulseAudio processes to exit before removing the folder they
# write into (else rm races them and the script ends with an error).
trap 'kill "${pulse_pids[@]}" 2>/dev/null || true; wait "${pulse_pids[@]}" 2>/dev/null || true; rm -rf "$shots"' EXIT
# Runs the app with the given arguments under Xvfb and captures each
# screen its script pauses at.
capture() {
  xvfb-run -a -s '-screen 0 1280x800x24' bash -c '
    shots=$0 out=$1; shift
    target/debug/tacet-desktop "$@" & app=$!
    while kill -0 "$app" 2>/dev/null; do
      for ready in "$shots"/*.ready; do
        [ -e "$ready" ] || continue
        name=$(basename "$ready" .ready)
        import -window root "$out/$name.png"
        rm "$ready"; touch "$shots/$name.done"
        echo "captured $name"
      done
      sleep 0.3
    done
    wait "$app"' "$shots" "$out" "$@"
}
# First run: an empty data folder, the models from the cache's folder, the
# audit log anchored in a folder standing in for a USB stick.
cache="${TACET_CACHE:-$HOME/.cache/tacet}"
mkdir -p "$shots/first-run-anchor"
(
  unset TACET_FRAME_STATS
  export TACET_SCRIPT_MODELS="$cache/files" TACET_SCRIPT_ANCHOR="$shots/first-run-anchor"
  capture --data-dir "$shots/first-run-data" --first-run-screenshot-dir "$shots"
)
# The demo: every clinician and admin screen.
capture --demo --screenshot-dir "$shots"
echo "== frame rate of the real window (Xvfb, software rendering)"
cat "$TACET_FRAME_STATS"
cp "$TACET_FRAME_STATS" "$out/frames.md"
