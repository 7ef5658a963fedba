#!/usr/bin/env bash
# Checks the Debian package as a practice would meet it: installs
# target/debian/tacet_*.deb (scripts/package.sh) into a bare Debian 12 root
# made with debootstrap (minbase, its default mirror), lets apt pull in what
# the package depends on, then runs `tacet-desktop --version` and the whole
# `tacet demo` there, with the default models copied in from the cache as a
# practice's folder would bring them (the package carries none). The demo's
# exported note must hold the visit's facts; the same packaged demo again on
# an emulated AVX2 CPU (qemu-x86_64 -cpu Haswell, 20 s of the visit) must
# finish with a note and a verified log. Then the desktop app, under
# Xvfb, from its first run (vault, models from a folder, anchor, consent
# texts) through a FLAC of the visit to an attested note saved to a file,
# screenshots of each screen in $TACET_PACKAGE_SHOTS when set (a folder,
# relative to the repository: docs/screenshots/installed); the note must
# hold the facts, and neither the support log nor the data folder any
# passphrase, patient reference or words of the visit. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/debian/tacet_*.deb)
cache="${TACET_CACHE:-$HOME/.cache/tacet}/files"
models=("$cache/whisper-tiny.en-ct2" "$cache/SmolLM2-135M-Instruct.Q4_1.gguf")
for m in "${models[@]}"; do
    [ -e "$m" ] || { echo "missing $m: run scripts/fetch-models.sh" >&2; exit 1; }
done
# Fails unless the lower-cased text $3 holds every fact after it, showing
# $2 (what the program printed, without qemu's notes) and naming $1.
require_facts() {
    local what=$1 shown=$2 text=$3
    shift 3
    for fact in "$@"; do
        printf '%s' "$text" | grep -qF "$fact" || {
            printf '%s\n' "$shown" | grep -v "TCG doesn't support"
            echo "$what lacks \"$fact\"" >&2
            exit 1
        }
    done
}
# The output $2 of a `tacet demo`: its exported note (step 7) must hold the
# facts after it, and its audit log must verify; $1 names the run.
require_demo() {
    local what=$1 out=$2
    shift 2
    require_facts "the note of $what" "$out" \
        "$(printf '%s\n' "$out" | sed -n '/=== 7\./,/=== 8\./p' | tr 'A-Z' 'a-z')" "$@"
    printf '%s\n' "$out" | grep -q VERIFIED || {
        printf '%s\n' "$out" | grep -v "TCG doesn't support"
        echo "$what: no verified audit log" >&2
        exit 1
    }
}
if ! command -v debootstrap >/dev/null; then
    apt-get install -y -q --no-install-recommends debootstrap
fi
root=$(mktemp -d /var/tmp/tacet-root.XXXXXX)
chmod 755 "$root" # apt's own user reads its lists there
cleanup() {
    [ -z "${xvfb:-}" ] || kill "$xvfb" 2>/dev/null || true
    umount "$root/tmp/.X11-unix" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
    umount -R "$root/dev" 2>/dev/null || true
    # Never remove through a mount that is still there (the host's /dev or
    # its X sockets): leave the root behind instead, saying so.
    if grep -qF " $root/" /proc/mounts; then
        echo "left $root: something is still mounted in it" >&2
    else
        rm -rf "$root"
    fi
}
trap cleanup EXIT
echo "== a bare Debian 12 root in $root"
debootstrap --variant=minbase bookworm "$root" >/dev/null
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
echo "== apt-get install $(basename "$deb")"
chroot "$root" apt-get update -q >/dev/null
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "/tmp/$(basename "$deb")" >/dev/null
chroot "$root" dpkg -s tacet | grep -E '^(Package|Version|Status):'
echo "== tacet-desktop --version"
chroot "$root" tacet-desktop --version
echo "== tacet demo"
mkdir -p "$root/root/.cache/tacet/files"
cp -r "${models[@]}" "$root/root/.cache/tacet/files/"
out=$(chroot "$root" env HOME=/root sh -c 'cd /tmp && tacet demo' 2>&1) || { echo "$out"; exit 1; }
require_demo "the installed demo" "$out" cough "sore throat" 38.5 aspirin penicillin 120/80 "x-ray"
printf '%s\n' "$out" | sed -n '/=== 7\./,/=== 8\./p' | head -40

echo "== the packaged tacet demo on an emulated AVX2 CPU (qemu-x86_64 -cpu Haswell)"
# The package is built for x86-64-v3 and picks faster kernels at run time;
# an AVX2 CPU without AVX-512 must run it to the end. Emulation is a few
# hundred times slower than the real CPU, so the visit's first 20 s stand in
# for it. qemu-user cannot install seccomp filters: the sandbox override is
# set for this run only, and the demo's own audit log records it.
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    qemu-user sox >/dev/null
chroot "$root" sox /usr/share/tacet/demo/visit.wav /tmp/visit-20s.wav trim 0 20
started=$(date +%s)
out=$(chroot "$root" env HOME=/root TACET_DANGER_NO_SANDBOX=1 sh -c \
    'cd /tmp && timeout 1200 qemu-x86_64 -cpu Haswell /usr/bin/tacet demo --audio /tmp/visit-20s.wav' 2>&1) ||
    { printf '%s\n' "$out" | grep -v "TCG doesn't support"; echo "the packaged demo did not finish on an emulated Haswell" >&2; exit 1; }
require_demo "the demo on an emulated Haswell" "$out" cough "sore throat" monday
echo "finished on an emulated Haswell in $(( $(date +%s) - started )) s: the note of the first 20 s holds the cough, the sore throat and its onset; the audit log verified"

echo "== the desktop app as a practice meets it: first run to a saved note (Xvfb)"
# No terminal inside the app: the window's own script clicks what a person
# would (tacet-desktop --first-run-screenshot-dir). On the host: a virtual
# display, a screen grabber, and sox to give the visit as a FLAC file.
for tool in Xvfb import sox; do
    command -v "$tool" >/dev/null || {
        apt-get install -y -q --no-install-recommends xvfb x11-apps imagemagick sox >/dev/null
        break
    }
done
practice="$root/tmp/practice"
mkdir -p "$practice/models" "$practice/anchor" "$practice/shots"
chmod 777 "$practice/shots"
# The models as a practice's folder or stick brings them; the visit as FLAC.
cp -r "${models[@]}" "$practice/models/"
sox assets/demo/visit.wav "$practice/visit.flac"
display=:$(( 60 + RANDOM % 200 ))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
mkdir -p "$root/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"
chroot "$root" env -i HOME=/root PATH=/usr/bin:/bin DISPLAY="$display" \
    TACET_SCRIPT_MODELS=/tmp/practice/models TACET_SCRIPT_ANCHOR=/tmp/practice/anchor \
    TACET_SCRIPT_RECORDING=/tmp/practice/visit.flac TACET_SCRIPT_EXPORT=/tmp/practice/note.txt \
    timeout 900 tacet-desktop --first-run-screenshot-dir /tmp/practice/shots \
    >"$practice/desktop.out" 2>&1 &
app=$!
shots_out="${TACET_PACKAGE_SHOTS:-$practice/png}"
mkdir -p "$shots_out"
while kill -0 "$app" 2>/dev/null; do
    for ready in "$practice"/shots/*.ready; do
        [ -e "$ready" ] || continue
        name=$(basename "$ready" .ready)
        import -display "$display" -window root "$shots_out/$name.png"
        rm "$ready"
        touch "$practice/shots/$name.done"
        echo "captured $shots_out/$name.png"
    done
    sleep 0.3
done
wait "$app" || { cat "$practice/desktop.out"; echo "tacet-desktop failed in the bare root" >&2; exit 1; }
[ -f "$practice/note.txt" ] || { cat "$practice/desktop.out"; echo "the desktop app saved no note" >&2; exit 1; }
require_facts "the note the desktop app saved" "$(cat "$practice/note.txt")" \
    "$(tr 'A-Z' 'a-z' <"$practice/note.txt")" \
    cough "sore throat" 38.5 aspirin penicillin 120/80 "x-ray" "audit checkpoint at export"
# The support log holds ids and codes: no passphrase, patient reference or
# word of the visit; the data folder holds none of them in clear. The
# imported models are left out: they are public files, and a model's
# vocabulary holds drug names ("penicillin" is a SmolLM2 token).
data="$root/root/.local/share/tacet"
ls "$data"/logs/* >/dev/null || { echo "no support log in $data/logs" >&2; exit 1; }
for canary in "otter violet canyon seven" "larch quiet tundra forty" practice-patient-4417 \
    "sore throat" penicillin visit.flac; do
    if grep -r -l -a -F --exclude-dir=models "$canary" "$data"; then
        echo "\"$canary\" is in clear in the data folder or its support log" >&2
        exit 1
    fi
done
sed -n '1,12p' "$practice/note.txt"
echo "OK: installed in a bare Debian 12 root; tacet demo exported a note with the visit's facts; the desktop app went from its first run to a saved note from a FLAC recording, with no patient data in its log"
