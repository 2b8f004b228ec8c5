#!/usr/bin/env bash
# Builds the web app (frontend/) into frontend/dist with Trunk, in release mode with wasm-opt.
# Idempotent; installs what it needs:
#  - with a rustup wasm32-unknown-unknown target installed, uses it;
#  - otherwise Debian's rustc/cargo with std sources (rustc-web, cargo-web, rust-web-src) and
#    builds std for wasm32 (build-std), linking with lld.
# Trunk and wasm-bindgen-cli (the exact version of frontend/Cargo.lock) are installed with
# `cargo install` into $CASSETTO_TOOLS_DIR (default ~/.cache/cassetto/tools).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh

TOOLS="${CASSETTO_TOOLS_DIR:-$HOME/.cache/cassetto/tools}"
mkdir -p "$TOOLS/bin"
TRUNK_VERSION=0.21.14
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' frontend/Cargo.lock)

ensure_base_tools
apt_install binaryen
have npm || apt_install nodejs npm
# Bootstrap Italia, served locally with the app.
(cd frontend && npm ci --no-audit --no-fund --loglevel=error)

if ! "$TOOLS/bin/trunk" --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
    echo "== installing trunk $TRUNK_VERSION into $TOOLS"
    cargo install trunk --version "$TRUNK_VERSION" --locked --root "$TOOLS" \
        || cargo install trunk --version "$TRUNK_VERSION" --root "$TOOLS"
fi
if ! "$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
    echo "== installing wasm-bindgen-cli $BINDGEN_VERSION into $TOOLS"
    cargo install wasm-bindgen-cli --version "=$BINDGEN_VERSION" --locked --root "$TOOLS" \
        || cargo install wasm-bindgen-cli --version "=$BINDGEN_VERSION" --root "$TOOLS"
fi

cd frontend
if have rustup && rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    echo "== building the web app (rustup wasm32 target)"
    PATH="$TOOLS/bin:$PATH" trunk build --release --offline
else
    echo "== building the web app (Debian rustc, std built for wasm32)"
    apt_install rustc-web cargo-web rust-web-src lld-22
    export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort
    # Trunk builds offline: fetch the app's crates and those of std for wasm32 first.
    PATH="$TOOLS/bin:/usr/bin:$PATH" /usr/bin/cargo fetch --target wasm32-unknown-unknown
    PATH="$TOOLS/bin:/usr/lib/llvm-22/bin:/usr/bin:$PATH" trunk build --release --offline
fi
wasm=$(ls dist/*.wasm | head -n1)
echo "== web app built: $(du -k "$wasm" | cut -f1) KiB wasm ($(gzip -c "$wasm" | wc -c | awk '{printf "%d", $1/1024}') KiB gzip)"
