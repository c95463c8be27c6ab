#!/bin/sh
# test.sh - install what is missing, build, and run every test: the plain
# build, then the same suite under ASan+UBSan, then a short libFuzzer run of
# every fuzz target (clang). Exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure -j"$jobs")

echo "== build and test (ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDOCRAG_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ctest --output-on-failure -j"$jobs")

echo "== fuzz smoke (libFuzzer: ${FUZZ_RUNS:=5000} inputs per target from a fixed seed)"
FUZZ_RUNS=$FUZZ_RUNS ./scripts/fuzz.sh 60
