#!/usr/bin/env bash
# Builds the peer for the drafting benchmark: llama.cpp's llama-bench and
# libllama from the copy vendored in the llama-cpp-python sdist (fetched by
# pinned version from the Python package index with pip). About 8 minutes
# on 2 cores. Output: $PEER_DIR/build/bin/{llama-bench,libllama.so,...}.
# Nothing here runs in CI or in the test suite.
set -euo pipefail
PEER_DIR=${PEER_DIR:-/tmp/tacet-peer}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=0.3.36
mkdir -p "$PEER_DIR"
cd "$PEER_DIR"
if [ ! -f "llama_cpp_python-$VERSION.tar.gz" ]; then
    pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d .
fi
if [ ! -d "llama_cpp_python-$VERSION" ]; then
    tar xzf "llama_cpp_python-$VERSION.tar.gz"
fi
src="llama_cpp_python-$VERSION/vendor/llama.cpp"
# Every vector extension the CPU has, except AMX: on an Intel Xeon machine
# here the CPU lists amx_tile but the first tile load faults (SIGILL at
# `tileloadd` in ggml's AMX Q4_1 GEMM, the VM does not grant the tile
# state), and no practice laptop has AMX. -march=native would turn it on,
# so the extensions are named one by one instead. PEER_ISA=x86-64-v3 builds
# it for the CPU level Tacet's package targets (AVX2, FMA, F16C, BMI2; no
# AVX-512 or AVX-VNNI), to compare the two at the same level.
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
if [ "${PEER_ISA:-}" = x86-64-v3 ]; then
    flags=$(printf '%s\n' "$flags" | tr ' ' '\n' | grep -vE '^(avx512|avx_vnni)' | tr '\n' ' ')
fi
has() { case " $flags " in *" $1 "*) echo ON ;; *) echo OFF ;; esac; }
isa=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
    -DGGML_AVX2="$(has avx2)" -DGGML_FMA="$(has fma)" -DGGML_F16C="$(has f16c)"
    -DGGML_BMI2="$(has bmi2)" -DGGML_AVX_VNNI="$(has avx_vnni)"
    -DGGML_AVX512="$(has avx512f)" -DGGML_AVX512_VBMI="$(has avx512vbmi)"
    -DGGML_AVX512_VNNI="$(has avx512_vnni)" -DGGML_AVX512_BF16="$(has avx512_bf16)")
if [ ! -x build/bin/llama-bench ] || ! grep -q 'GGML_NATIVE:BOOL=OFF' build/CMakeCache.txt ||
    ! grep -q "GGML_AVX512:BOOL=$(has avx512f)" build/CMakeCache.txt; then
    rm -rf build
    cmake -S "$src" -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DBUILD_SHARED_LIBS=ON "${isa[@]}" >/dev/null
    echo "llama.cpp ISA: ${isa[*]}"
    cmake --build build -j "$(nproc)" --target llama-bench llama-tokenize
fi
# A 40-line logits dump against libllama, for the golden tests' fixtures.
if [ ! -x build/bin/llama-logits ] || [ "$here/llama_logits.cpp" -nt build/bin/llama-logits ]; then
    c++ -O2 -std=c++17 "$here/llama_logits.cpp" -I "$src/include" -I "$src/ggml/include" \
        -L build/bin -lllama -lggml -lggml-base -Wl,-rpath,"$PEER_DIR/build/bin" -o build/bin/llama-logits
fi
echo "peer built in $PEER_DIR/build/bin"
