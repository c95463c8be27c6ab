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
 clang libclang-rt-14-dev python3-numpy"

# Peers and tools used by bench/ only (Lucene BM25, ONNX graph building),
# and mupdf-tools + qpdf to regenerate tests/data/ingest/*.pdf
# (tests/data/ingest/make_fixtures.sh; the fixtures are committed).
bench="liblucene8-java default-jdk-headless python3-onnx poppler-utils time
 mupdf-tools qpdf"

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: must run as root (it calls apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $core >/dev/null
if [ "${1:-}" = "--bench" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $bench >/dev/null
fi
echo "install-deps.sh: dependencies installed"
