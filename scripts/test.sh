#!/bin/bash
# test.sh - install what is missing, build, and run every test: the plain
# build, then the same suite under ASan+UBSan, then a short libFuzzer run of
# every fuzz target (clang). Exits non-zero on the first failure and ends
# with one summary line, "N passed, 0 failed".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# ctest's "... tests failed out of N" for the run just logged.
count() { sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1; }

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure -j"$jobs") | tee "$log"
n_plain=$(count)

echo "== build and test (ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDOCRAG_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ctest --output-on-failure -j"$jobs") | tee "$log"
n_asan=$(count)

echo "== fuzz smoke (libFuzzer: ${FUZZ_RUNS:=5000} inputs per target from a fixed seed)"
FUZZ_RUNS=$FUZZ_RUNS ./scripts/fuzz.sh 60 | tee "$log"
n_fuzz=$(grep -c '^fuzz .*: ok' "$log")

echo "plain build: $n_plain tests, ASan+UBSan build: $n_asan tests, fuzz targets: $n_fuzz"
echo "$((n_plain + n_asan + n_fuzz)) passed, 0 failed"
