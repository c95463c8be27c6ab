#!/bin/bash
# test.sh - install what is missing, build, and run every test: the plain
# build, then the same suite under ASan+UBSan, then the threaded tests (the
# server's, the engine API's) under ThreadSanitizer, then a short libFuzzer
# run of every fuzz target (clang). Exits non-zero on the first failure and
# ends with one summary line, "N passed, 0 failed".
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

# ThreadSanitizer: only what runs threads (docrag serve's loop, workers,
# loader and ingest threads; the engine shared by sessions; the replica's
# follower beside its writers; replicas on PostgreSQL with their follower
# and shared-job threads; the usage meter syncing beside its callers), and only what
# those tests need is built: the docrag binary and the unit tests' own
# executables. halt_on_error=1 (CMake's test environment) makes any report
# fail its test; third-party suppressions are in .ci/tsan.supp. Models run
# on one thread: TSan cannot see libgomp's barriers (.ci/tsan.supp says
# more).
tsan_tests='^(integration/serve_|integration/pg_replicas|unit/api/|unit/index/test_replica|unit/obs/test_usage)'
echo "== build and test (ThreadSanitizer: $tsan_tests)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCRAG_TSAN=ON >/dev/null
# the executables of the unit tests selected, as CTestTestfile.cmake names
# them (known before they are built)
tsan_targets=$(sed -n 's|^add_test(\[=\[\([^]]*\)\]=\] "[^"]*/\([^/"]*\)".*|\1 \2|p' \
    build-tsan/CTestTestfile.cmake | grep -E "$tsan_tests" | grep -v '^integration/' | cut -d' ' -f2)
# shellcheck disable=SC2086
cmake --build build-tsan -j"$jobs" --target docrag $tsan_targets >/dev/null
(cd build-tsan && DOCRAG_THREADS=1 OMP_NUM_THREADS=1 \
    ctest --output-on-failure -j"$jobs" -R "$tsan_tests") | tee "$log"
n_tsan=$(count)

echo "== fuzz smoke (libFuzzer: ${FUZZ_RUNS:=5000} inputs per target from a fixed seed)"
FUZZ_RUNS=$FUZZ_RUNS ./scripts/fuzz.sh 60 | tee "$log"
n_fuzz=$(grep -c '^fuzz .*: ok' "$log")

echo "plain build: $n_plain tests, ASan+UBSan build: $n_asan tests," \
    "ThreadSanitizer build: $n_tsan tests, fuzz targets: $n_fuzz"
echo "$((n_plain + n_asan + n_tsan + n_fuzz)) passed, 0 failed"
