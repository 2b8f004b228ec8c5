#!/usr/bin/env bash
# Builds and starts the whole of Cassetto on the embedded default (SQLite and files in ./data),
# with demo data: the web app at http://127.0.0.1:8080/, the API under /api/v1 and Swagger UI
# at /swagger-ui/. Idempotent: run it again to rebuild and restart on the same data.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/toolchain.sh
ensure_base_tools

scripts/build-frontend.sh
cargo build --release --bin cassetto
target="${CARGO_TARGET_DIR:-target}"
"$target/release/cassetto" seed-demo
echo "Cassetto su http://${CASSETTO_BIND:-127.0.0.1:8080}/ — Swagger UI su /swagger-ui/ (Ctrl+C per fermare)"
exec "$target/release/cassetto" serve
