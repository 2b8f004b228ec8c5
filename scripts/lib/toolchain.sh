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

# s3s-fs, the S3-compatible server the object-storage tests talk to (127.0.0.1 only), into
# $CASSETTO_TOOLS_DIR; prints its path. 0.14 is the last release that builds with rustc 1.92+.
S3S_FS_VERSION=0.14.1
ensure_s3s_fs() {
    local tools="${CASSETTO_TOOLS_DIR:-$HOME/.cache/cassetto/tools}"
    mkdir -p "$tools/bin"
    if ! "$tools/bin/s3s-fs" --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
        echo "== installing s3s-fs $S3S_FS_VERSION into $tools" >&2
        cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --root "$tools" >&2 \
            || cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --root "$tools" >&2
    fi
    echo "$tools/bin/s3s-fs"
}
