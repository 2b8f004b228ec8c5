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
cargo test --workspace
