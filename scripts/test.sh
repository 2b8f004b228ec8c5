#!/usr/bin/env bash
# Runs every test: formatting and lints, the Rust unit and integration tests on SQLite and on
# PostgreSQL (127.0.0.1:5432, or CASSETTO_TEST_POSTGRES_URL) whenever it is reachable, then the
# web app's browser tests in headless Chromium, and Schemathesis against the OpenAPI document. In CI (CI=true) PostgreSQL is required.
# Installs what it needs (Debian packages, cargo tools, npm packages), idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/toolchain.sh
ensure_base_tools
start_postgres_if_down

if [ "${CI:-}" = "true" ]; then
    export CASSETTO_REQUIRE_POSTGRES=1
fi
target="${CARGO_TARGET_DIR:-target}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

# The object-storage tests run against a local S3-compatible server.
CASSETTO_TEST_S3S_FS=$(ensure_s3s_fs)
export CASSETTO_TEST_S3S_FS

# `fincore` tells what of a stored bundle the page cache holds (requests tests).
have fincore || apt_install util-linux-extra

echo "== cargo test (SQLite and PostgreSQL)"
set +e
cargo test --workspace --all-targets 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

echo "== web app build"
scripts/build-frontend.sh

echo "== browser tests (headless Chromium)"
apt_install chromium
have npm || apt_install nodejs npm
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
cargo build --bin cassetto
set +e
CASSETTO_BIN="$target/debug/cassetto" node --test --test-reporter=tap tests/browser/ 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

echo "== docker-compose.yml (docker-compose config)"
scripts/check-compose.sh || status=1

echo "== schemathesis (every operation, against a server with demo data)"
scripts/schemathesis.sh "$target/debug/cassetto" || status=1

rust_passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$log")
rust_failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$log")
node_passed=$(awk '/^# pass / { s += $3 } END { print s + 0 }' "$log")
node_failed=$(awk '/^# fail / { s += $3 } END { print s + 0 }' "$log")
echo
echo "cassetto: $((rust_passed + node_passed)) passed, $((rust_failed + node_failed)) failed"
exit "$status"
