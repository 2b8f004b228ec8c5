#!/usr/bin/env bash
# Validates docker-compose.yml (and the files it names) without a Docker engine:
# `docker-compose config -q` parses the file, resolves the variables and checks it against the
# Compose schema. Installs Debian's docker-compose when it is missing (idempotent, quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh

if ! have docker-compose; then
    # Only the Compose client is needed here: no engine (docker.io is a recommendation).
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log=$(mktemp)
    if ! { $sudo apt-get update -qq \
        && $sudo env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
            apt-get install -y -qq --no-install-recommends docker-compose; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "installazione di docker-compose non riuscita" >&2
        exit 1
    fi
    rm -f "$log"
fi

[ -f deploy/nginx.conf ] || { echo "deploy/nginx.conf mancante (usato dal servizio balancer)" >&2; exit 1; }
docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml: ok"
