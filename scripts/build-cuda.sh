#!/usr/bin/env bash
# Builds the CUDA path: the drafting engine with `--features cuda`
# (candle's CUDA backend and kernels). No GPU is needed to build; running
# on one is `TACET_LLM_DEVICE=cuda` (docs/GPU.md).
#
#   bash scripts/build-cuda.sh            # the library crates (compiles every kernel)
#   bash scripts/build-cuda.sh --bins     # also links tacet, tacet-desktop, tacet-eval
#                                         # and the llm_speed example (needs the CUDA
#                                         # libraries: libcuda, cuBLAS, cuRAND, NVRTC)
#
# nvcc: the one on PATH (or in $CUDA_ROOT) when there is one, else CUDA 13.4's
# compiler from pinned, hash-checked pip wheels (scripts/cuda-toolkit.txt) in
# ~/.cache/tacet/cuda-13.4. The GPU generation: $CUDA_COMPUTE_CAP (90 for
# H100/H200, 89 for RTX 40xx, 86 for RTX 30xx, 80 for A100), else what
# nvidia-smi reports, else 90. Build output in target/cuda (its own folder:
# a CPU build beside it is not rebuilt).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CUDA_ROOT:-}" ] && [ -x "$CUDA_ROOT/bin/nvcc" ]; then
    export PATH="$CUDA_ROOT/bin:$PATH"
elif ! command -v nvcc >/dev/null 2>&1; then
    root="${TACET_CACHE:-$HOME/.cache/tacet}/cuda-13.4"
    if [ ! -x "$root/nvidia/cu13/bin/nvcc" ]; then
        echo "== installing CUDA 13.4's compiler into $root (pip wheels, hash-checked)"
        wheels="$(mktemp -d)"
        python3 -m pip download --no-deps --require-hashes -q -d "$wheels" -r scripts/cuda-toolkit.txt
        mkdir -p "$root"
        for w in "$wheels"/*.whl; do python3 -m zipfile -e "$w" "$root"; done
        rm -rf "$wheels"
        chmod +x "$root"/nvidia/cu13/bin/* "$root"/nvidia/cu13/nvvm/bin/*
    fi
    export CUDA_ROOT="$root/nvidia/cu13"
    export PATH="$CUDA_ROOT/bin:$PATH"
fi
if [ -z "${CUDA_ROOT:-}" ]; then
    CUDA_ROOT="$(dirname "$(dirname "$(command -v nvcc)")")"
    export CUDA_ROOT
fi
export CUDA_PATH="$CUDA_ROOT" CUDA_HOME="$CUDA_ROOT"
if [ -z "${CUDA_COMPUTE_CAP:-}" ]; then
    cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d '. ' || true)"
    CUDA_COMPUTE_CAP="${cap:-90}"
fi
export CUDA_COMPUTE_CAP
nvcc --version | tail -n2
echo "== building for compute capability $CUDA_COMPUTE_CAP"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cuda}"
if [ "${1:-}" = "--bins" ]; then
    cargo build --release --locked --features cuda \
        -p tacet-cli -p tacet-desktop -p tacet-eval
    cargo build --release --locked --features cuda -p tacet-llm --example llm_speed
    echo "== built: $CARGO_TARGET_DIR/release/{tacet,tacet-desktop,tacet-eval} and examples/llm_speed"
else
    cargo build --release --locked --features cuda -p tacet-llm -p tacet-runtime --lib
    echo "== the CUDA path builds (libraries; --bins links the programs)"
fi
