#!/usr/bin/env bash
# Runs Schemathesis against a running server seeded with demo data, once for each kind of
# caller (intermediario, admin, operatore), with a fixed seed so that a run is reproducible.
# Every check of Schemathesis is on except two, for reasons of the domain:
#  - positive_data_acceptance: a schema-valid request may still be refused on its meaning
#    (a matricola not delegated, a period in the future, a cursor that was never issued);
#  - ensure_resource_availability: a request sent without files has no attachments.zip (404).
# Usage: scripts/schemathesis.sh [path to the cassetto binary]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/cassetto}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"
VERSION=4.32.5

if ! st --version 2>/dev/null | grep -q "$VERSION"; then
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

echo "== openapi/openapi.json against the OpenAPI 3 specification"
python3 - <<'PY'
import json
from openapi_spec_validator import validate
doc = json.load(open("openapi/openapi.json"))
validate(doc)
print(f"valid OpenAPI {doc['openapi']}: {len(doc['paths'])} paths")
PY

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export CASSETTO_DATA_DIR="$data" CASSETTO_BIND="127.0.0.1:$port"
unset CASSETTO_DATABASE_URL
"$BIN" seed-demo >/dev/null
"$BIN" serve >"$data/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
done

status=0
for user in studio.verdi admin operatore.roma; do
    token=$(curl -fs -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$user\",\"password\":\"Cassetto2026!\"}" | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
    echo "== schemathesis as $user ($EXAMPLES examples per operation)"
    st run "http://127.0.0.1:$port/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks all --exclude-checks positive_data_acceptance,ensure_resource_availability \
        --max-examples "$EXAMPLES" --workers 2 --seed 20261126 --no-color || status=1
done
if grep -q "panicked" "$data/serve.log"; then
    echo "the server panicked during the run"
    status=1
fi
exit $status
