#!/usr/bin/env bash
# Builds and starts the whole of Cassetto on the embedded default (SQLite and files in ./data),
# with demo data: the API at http://127.0.0.1:8080/api/v1, Swagger UI at /swagger-ui/ and the
# web app at /. Idempotent: run it again to rebuild and restart on the same data.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/toolchain.sh
ensure_base_tools

cargo build --release --bin cassetto
./target/release/cassetto seed-demo
echo "Cassetto su http://${CASSETTO_BIND:-127.0.0.1:8080}/ — Swagger UI su /swagger-ui/ (Ctrl+C per fermare)"
exec ./target/release/cassetto serve
