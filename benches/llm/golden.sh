#!/usr/bin/env bash
# Writes the golden fixtures of crates/tacet-llm/tests/golden.rs from the
# peer: llama.cpp (benches/llm/build-llama-cpp.sh) tokenizes each prompt in
# tests/fixtures/golden/*.txt and prints the top-10 next-token logits after
# the prompt and after each of 8 greedy steps.
# Usage: benches/llm/golden.sh [MODEL.gguf NAME]
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${TACET_CACHE:-$HOME/.cache/tacet}
MODEL=${1:-$CACHE/files/SmolLM2-135M-Instruct.Q4_1.gguf}
NAME=${2:-smollm2-q4_1}
PEER_DIR=${PEER_DIR:-/tmp/tacet-peer}
export PEER_DIR
bash benches/llm/build-llama-cpp.sh >/dev/null
dir=crates/tacet-llm/tests/fixtures/golden
sha=$(sha256sum "$MODEL" | cut -d' ' -f1)
for prompt in "$dir"/*.txt; do
    out="$dir/$NAME.$(basename "$prompt" .txt).tsv"
    {
        echo "# llama.cpp from llama-cpp-python 0.3.36 (vendored), model sha256 $sha"
        "$PEER_DIR/build/bin/llama-logits" "$MODEL" "$prompt" 8 10 2>/dev/null
    } > "$out"
    echo "wrote $out"
done
