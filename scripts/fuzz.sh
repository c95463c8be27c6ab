#!/bin/sh
# fuzz.sh [SECONDS] - build every fuzz/fuzz_*.c with clang's libFuzzer and
# run each for SECONDS (default 60) from a copy of its committed corpus.
# A crash leaves its input in build-fuzz/crashes/ and fails the script.
# With FUZZ_RUNS=N each target stops after N inputs instead, from a fixed
# seed: the same inputs every time, so a CI smoke run is reproducible.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=Debug -DDOCRAG_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
mkdir -p build-fuzz/crashes
status=0
for src in fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    work=build-fuzz/corpus-$target
    rm -rf "$work" && mkdir -p "$work"
    cp fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
    limit=""
    # MuPDF has no frame pointers: full stacks let .ci/lsan.supp name its
    # frames (slower, so only for the PDF target).
    asan=""
    [ "$target" = pdf ] && asan="fast_unwind_on_malloc=0"
    [ -n "${FUZZ_RUNS:-}" ] && limit="-runs=$FUZZ_RUNS -seed=1"
    # shellcheck disable=SC2086
    if ASAN_OPTIONS=$asan LSAN_OPTIONS=suppressions=$PWD/.ci/lsan.supp ./build-fuzz/"$name" $limit \
         -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
         -artifact_prefix=build-fuzz/crashes/"$target"- "$work" \
         >build-fuzz/"$target".log 2>&1; then
        echo "fuzz $target: ok, $(ls "$work" | wc -l) corpus inputs"
    else
        echo "fuzz $target: FAILED (see build-fuzz/$target.log)"
        tail -30 build-fuzz/"$target".log
        status=1
    fi
done
exit $status
