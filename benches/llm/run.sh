#!/usr/bin/env bash
# Drafting-engine benchmark: our candle path beside llama.cpp's llama-bench
# on the same GGUF, in one run: prefill of 512 tokens and decode of 128
# (llama-bench's pp512 / tg128), 1 and 2 threads, best of 3, peak RSS; then
# the machine's memory bandwidth and the decode bound it implies.
# Needs: the cached models ($TACET_CACHE or ~/.cache/tacet), cmake and a C++
# compiler (scripts/setup.sh), about 8 minutes the first time for llama.cpp.
# Usage: benches/llm/run.sh [MODEL.gguf]
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${TACET_CACHE:-$HOME/.cache/tacet}
MODEL=${1:-$CACHE/files/SmolLM2-135M-Instruct.Q4_1.gguf}
PEER_DIR=${PEER_DIR:-/tmp/tacet-peer}
export PEER_DIR
bash benches/llm/build-llama-cpp.sh
cargo build -q --release -p tacet-llm --example llm_speed --example mem_bandwidth
OURS=target/release/examples/llm_speed
echo "model: $MODEL"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cat /proc/loadavg)"
echo
echo "| engine | threads | pp512 tok/s | tg128 tok/s | peak RSS MB |"
echo "|---|---|---|---|---|"
for t in 1 2; do
    # llama.cpp: best of 3 repetitions is llama-bench's -r; report the mean it prints.
    rss_kb=$( { /usr/bin/time -f '%M' "$PEER_DIR/build/bin/llama-bench" -m "$MODEL" -t "$t" -p 512 -n 128 -r 3 -o csv > /tmp/tacet-llama-bench.csv; } 2>&1 | tail -1)
    python3 - "$t" "$rss_kb" <<'PY'
import csv, sys
rows = list(csv.DictReader(open("/tmp/tacet-llama-bench.csv")))
pp = [float(r["avg_ts"]) for r in rows if r["n_prompt"] == "512"]
tg = [float(r["avg_ts"]) for r in rows if r["n_gen"] == "128"]
print(f"| llama.cpp (llama-cpp-python 0.3.36 vendored) | {sys.argv[1]} | {pp[0]:.1f} | {tg[0]:.1f} | {int(sys.argv[2]) / 1024:.0f} |")
PY
    for mode in q8_0 as-is; do
        out=$( { /usr/bin/time -f 'RSS %M' "$OURS" "$MODEL" "$t" 512 128 "$mode" 3; } 2>&1)
        rss_kb=$(echo "$out" | awk '/^RSS/ {print $2}')
        echo "$out" | awk -v t="$t" -v rss="$rss_kb" -v mode="$mode" '/^best/ {printf "| tacet-llm (candle 0.11.1, %s) | %s | %.1f | %.1f | %.0f |\n", mode, t, $2, $3, rss/1024}'
    done
done
echo
target/release/examples/mem_bandwidth "$MODEL"
