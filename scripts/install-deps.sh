#!/bin/sh
# install-deps.sh - install the Debian 12 packages docrag builds, tests and benchmarks with.
#
# Run as root (apt-get). Safe to run again: apt-get skips what is present.
# libmupdf-dev declares none of its own dependencies, so they are listed here
# (see ../shared/reference/dependencies_measured.md).
set -eu

core="build-essential cmake pkg-config git python3 ca-certificates
 libsqlite3-dev sqlite3 libstemmer-dev libutf8proc-dev
 libmupdf-dev libmujs-dev libgumbo-dev libopenjp2-7-dev libjbig2dec0-dev
 libjpeg-dev libfreetype-dev libharfbuzz-dev libpng-dev zlib1g-dev libbrotli-dev
 libmd4c-dev libxml2-dev libjansson-dev libcyaml-dev libyaml-dev
 libcurl4-openssl-dev libssl-dev libevent-dev libdnnl-dev libcmocka-dev
 clang libclang-rt-14-dev python3-numpy prometheus curl iproute2
 libjs-chart.js chromium nginx-light
 postgresql-15 libpq-dev haproxy"
# prometheus: for its promtool, which checks the /metrics exposition
# (tests/integration/metrics_promtool.sh); the server it also ships is
# not used. curl and iproute2 (ss): the HTTP tests talk to docrag serve and
# the mock with curl, and find a port before it is announced with ss.
# libjs-chart.js: Chart.js, embedded into the binary with the web UI
# (docs/ui.md); the build fails without it. chromium: the browser the UI's
# tests drive (tests/integration/serve_ui.sh, puppeteer-core in
# tests/browser, which never downloads one); big, but the suite needs it.
# nginx-light: tests/integration/deploy_hf_space.sh runs deploy/nginx/docrag.conf
# (on a loopback port, as an ordinary user) in front of docrag.
# postgresql-15 (the server: initdb, pg_ctl, pg_basebackup under
# /usr/lib/postgresql/15/bin), libpq-dev (the C client the PostgreSQL store
# links) and haproxy: tests/support/pg_cluster.sh runs a primary and a
# streaming standby in a temporary folder for the PostgreSQL tests, haproxy
# balances replicas in front of it (docs/postgres.md). The package's own
# "main" cluster is not used.

# Peers and tools used by bench/ only (Lucene BM25, ONNX graph building,
# wrk as the HTTP load generator of bench/serve.sh and bench/soak.sh),
# and mupdf-tools + qpdf to regenerate tests/data/ingest/*.pdf
# (tests/data/ingest/make_fixtures.sh; the fixtures are committed).
bench="liblucene8-java default-jdk-headless python3-onnx poppler-utils time
 mupdf-tools qpdf wrk"

# Node.js for the client tests: the official npm clients (openai,
# @huggingface/inference in tests/clients; the MCP SDK in tests/clients/mcp)
# against docrag serve. Node is on the machine image (20.x); elsewhere
# Debian's nodejs and npm are installed first. Each folder's pinned
# packages come from its lock file, once (never a browser or binary
# download: --ignore-scripts).
node_pkgs=""
command -v node >/dev/null 2>&1 || node_pkgs="nodejs"
command -v npm >/dev/null 2>&1 || node_pkgs="$node_pkgs npm"
root=$(cd "$(dirname "$0")/.." && pwd)
client_deps() {
    for dir in "$root/tests/clients" "$root/tests/clients/mcp" "$root/tests/browser"; do
        if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
            npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
            echo "install-deps.sh: ${dir#"$root"/} npm packages installed"
        fi
    done
}

want="$core $node_pkgs"
[ "${1:-}" = "--bench" ] && want="$want $bench"
# Nothing to do when every package is present (keeps the two README
# commands fast on a machine that has run them once).
# shellcheck disable=SC2086
if dpkg-query -W -f='${Status}\n' $want 2>/dev/null | grep -vq "install ok installed"; then
    :
elif [ "$(dpkg-query -W $want 2>/dev/null | wc -l)" -ge "$(echo $want | wc -w)" ]; then
    client_deps
    echo "install-deps.sh: all dependencies present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "install-deps.sh: packages are missing; run me as root (I call apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $core $node_pkgs >/dev/null
if [ "${1:-}" = "--bench" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $bench >/dev/null
fi
client_deps
echo "install-deps.sh: dependencies installed"
