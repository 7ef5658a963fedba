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
if [ ! -x build/bin/llama-bench ]; then
    cmake -S "$src" -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DBUILD_SHARED_LIBS=ON >/dev/null
    cmake --build build -j "$(nproc)" --target llama-bench llama-tokenize
fi
# A 40-line logits dump against libllama, for the golden tests' fixtures.
if [ ! -x build/bin/llama-logits ] || [ "$here/llama_logits.cpp" -nt build/bin/llama-logits ]; then
    c++ -O2 -std=c++17 "$here/llama_logits.cpp" -I "$src/include" -I "$src/ggml/include" \
        -L build/bin -lllama -lggml -lggml-base -Wl,-rpath,"$PEER_DIR/build/bin" -o build/bin/llama-logits
fi
echo "peer built in $PEER_DIR/build/bin"
