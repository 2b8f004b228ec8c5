# Shared by run.sh and test.sh: installs what the commands need, idempotently.

have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

ensure_base_tools() {
    if ! have cargo; then
        echo "cargo non trovato: installare Rust (rustup o il pacchetto Debian cargo)" >&2
        exit 1
    fi
    # A C compiler for the crates that build C code (ring, sqlite).
    have cc || apt_install build-essential
}

# Starts the local PostgreSQL cluster if it is installed and down.
start_postgres_if_down() {
    have pg_isready || return 0
    pg_isready -h 127.0.0.1 -p 5432 -q && return 0
    if have pg_ctlcluster && [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
        for _ in $(seq 1 30); do
            pg_isready -h 127.0.0.1 -p 5432 -q && return 0
            sleep 1
        done
    fi
}
