#!/usr/bin/env bash
# Checks the Debian package as a practice would meet it: installs
# target/debian/tacet_*.deb (scripts/package.sh) into a bare Debian 12 root
# made with debootstrap (minbase, its default mirror), lets apt pull in what
# the package depends on, then runs `tacet-desktop --version` and the whole
# `tacet demo` there, with the default models copied in from the cache as a
# practice's folder would bring them (the package carries none). The demo's
# exported note must hold the visit's facts. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/debian/tacet_*.deb)
cache="${TACET_CACHE:-$HOME/.cache/tacet}/files"
for m in whisper-tiny.en-ct2 SmolLM2-135M-Instruct.Q4_1.gguf; do
    [ -e "$cache/$m" ] || { echo "missing $cache/$m: run scripts/fetch-models.sh" >&2; exit 1; }
done
if ! command -v debootstrap >/dev/null; then
    apt-get install -y -q --no-install-recommends debootstrap
fi
root=$(mktemp -d /var/tmp/tacet-root.XXXXXX)
chmod 755 "$root" # apt's own user reads its lists there
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    umount -R "$root/dev" 2>/dev/null || true
    rm -rf "$root"
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
cp -r "$cache/whisper-tiny.en-ct2" "$cache/SmolLM2-135M-Instruct.Q4_1.gguf" "$root/root/.cache/tacet/files/"
out=$(chroot "$root" env HOME=/root sh -c 'cd /tmp && tacet demo' 2>&1) || { echo "$out"; exit 1; }
note=$(printf '%s\n' "$out" | sed -n '/=== 7\./,/=== 8\./p' | tr 'A-Z' 'a-z')
for fact in cough "sore throat" 38.5 aspirin penicillin 120/80 "x-ray"; do
    if ! printf '%s' "$note" | grep -qF "$fact"; then
        printf '%s\n' "$out"
        echo "the installed demo's note lacks \"$fact\"" >&2
        exit 1
    fi
done
printf '%s\n' "$out" | grep -q VERIFIED || { printf '%s\n' "$out"; echo "no verified audit log" >&2; exit 1; }
printf '%s\n' "$out" | sed -n '/=== 7\./,/=== 8\./p' | head -40
echo "OK: installed in a bare Debian 12 root; tacet-desktop starts; tacet demo exported a note with the visit's facts"
