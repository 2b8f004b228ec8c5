#!/usr/bin/env bash
# The benchmark (docs/BENCHMARKS.md): builds `cassetto` and `cassetto-bench` in release mode, then
# loads the data set and measures on SQLite and PostgreSQL. Arguments go to cassetto-bench, e.g.
#   scripts/bench.sh --backend sqlite --requests 100000
# Reports: target/bench/<backend>.md. PostgreSQL: postgres://postgres@127.0.0.1:5432 (--postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p cassetto -p cassetto-bench
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/release/cassetto-bench" "$@"
