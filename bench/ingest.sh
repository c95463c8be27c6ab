#!/bin/sh
# ingest.sh - build and run the PDF extraction benchmark (bench_ingest.c):
# docrag's extractor vs a bare MuPDF stext loop over the same PDFs.
# Usage: bench/ingest.sh [FOLDER] [ROUNDS]   (default ../shared/corpus, 3)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build="$src/build-bench"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target bench_ingest >/dev/null
exec "$build/bench_ingest" "${1:-$src/../shared/corpus}" "${2:-3}"
