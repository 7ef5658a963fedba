#!/usr/bin/env bash
# Drafting-engine benchmark: our candle path beside llama.cpp's llama-bench
# on the same GGUF, in one run: prefill of 512 tokens and decode of 128
# (llama-bench's pp512 / tg128), 1 and 2 threads, best of 3, peak RSS; the
# same after 6,488 tokens of context (DEPTH); then the machine's memory
# bandwidth and the decode bound it implies.
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
# The dev profile builds tacet-llm and its dependencies at opt-level 3
# without debug assertions (Cargo.toml), so it is the app's code at speed.
cargo build -q -p tacet-llm --example llm_speed --example mem_bandwidth
OURS=target/debug/examples/llm_speed
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
    # Like llama-bench: prefill a 512-token prompt; decode 128 tokens from a
    # one-token context.
    for mode in as-is q8_0; do
        pp=$("$OURS" "$MODEL" "$t" 512 1 "$mode" 3 | awk '/^best/ {print $2}')
        out=$( { /usr/bin/time -f 'RSS %M' "$OURS" "$MODEL" "$t" 1 128 "$mode" 3; } 2>&1)
        rss_kb=$(echo "$out" | awk '/^RSS/ {print $2}')
        tg=$(echo "$out" | awk '/^best/ {print $3}')
        echo "| tacet-llm (candle 0.11.1 + our kernels, $mode) | $t | $pp | $tg | $((rss_kb / 1024)) |"
    done
done
echo
# A long session: the same tests after DEPTH tokens already in the context
# (llama-bench -d; untimed), 2 threads, where attention over the context is
# as costly as the weights. Set DEPTH=0 to skip.
DEPTH=${DEPTH:-6488}
if [ "$DEPTH" -gt 0 ]; then
    echo "| engine | threads | pp512 @ d$DEPTH tok/s | tg128 @ d$DEPTH tok/s | peak RSS MB |"
    echo "|---|---|---|---|---|"
    rss_kb=$( { /usr/bin/time -f '%M' "$PEER_DIR/build/bin/llama-bench" -m "$MODEL" -t 2 -p 512 -n 128 -d "$DEPTH" -r 1 -o csv > /tmp/tacet-llama-bench.csv; } 2>&1 | tail -1)
    python3 - "$rss_kb" <<'PY'
import csv, sys
rows = list(csv.DictReader(open("/tmp/tacet-llama-bench.csv")))
pp = [float(r["avg_ts"]) for r in rows if r["n_prompt"] == "512"]
tg = [float(r["avg_ts"]) for r in rows if r["n_gen"] == "128"]
print(f"| llama.cpp | 2 | {pp[0]:.1f} | {tg[0]:.1f} | {int(sys.argv[1]) / 1024:.0f} |")
PY
    pp=$("$OURS" "$MODEL" 2 512 1 as-is 1 "$DEPTH" | awk '/^best/ {print $2}')
    out=$( { /usr/bin/time -f 'RSS %M' "$OURS" "$MODEL" 2 1 128 as-is 1 "$DEPTH"; } 2>&1)
    echo "| tacet-llm (as-is) | 2 | $pp | $(echo "$out" | awk '/^best/ {print $3}') | $(( $(echo "$out" | awk '/^RSS/ {print $2}') / 1024 )) |"
    echo
fi
target/debug/examples/mem_bandwidth "$MODEL"
