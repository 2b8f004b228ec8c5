#!/usr/bin/env bash
# Runs every test: lints, unit tests, and the integration suite on SQLite and on PostgreSQL
# (127.0.0.1:5432, or CASSETTO_TEST_POSTGRES_URL) whenever it is reachable. In CI (CI=true)
# PostgreSQL is required.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/toolchain.sh
ensure_base_tools
start_postgres_if_down

if [ "${CI:-}" = "true" ]; then
    export CASSETTO_REQUIRE_POSTGRES=1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test (SQLite and PostgreSQL)"
log=$(mktemp)
set +e
cargo test --workspace --all-targets 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$log")
failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$log")
rm -f "$log"
echo
echo "cassetto: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
