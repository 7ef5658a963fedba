#!/usr/bin/env bash
# Builds the Debian package for practices: target/debian/tacet_<version>-1_amd64.deb,
# from the release profile, with cargo-deb (metadata in crates/tacet-cli/Cargo.toml):
# both programs, the desktop entry and icon, AppStream metadata, man pages and
# shell completions generated from the clap definitions, and the demo visit.
# Models are not in it (the desktop app's first run imports them). Then lintian
# checks it: any error or warning fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# dpkg-dev: dpkg-shlibdeps, for the libraries the binaries link; lintian: the check.
missing=""
for p in dpkg-dev lintian; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
    echo "== installing cargo-deb $CARGO_DEB_VERSION"
    cargo install --locked --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi

echo "== release build"
cargo build --release --locked -p tacet-cli -p tacet-desktop
echo "== man pages and completions"
rm -rf packaging/out
mkdir -p packaging/out/man
target/release/tacet package-docs packaging/out
target/release/tacet-desktop --package-docs packaging/out/man
gzip -9n packaging/out/man/*.1
echo "== cargo deb"
rm -f target/debian/tacet_*.deb
cargo deb -p tacet-cli --no-build
deb=$(ls target/debian/tacet_*.deb)
echo "== lintian $deb"
lintian --fail-on error,warning --display-info "$deb"
echo "$deb"
