#!/bin/sh
# bm25_latency.sh - BM25 top-10 latency over 1,000 queries on a 100k-chunk
# index made from ../shared/corpus, docrag and Lucene 8.7 measured in the
# same run (../shared/tools/bm25_latency). Needs scripts/install-deps.sh --bench.
set -eu
cd "$(dirname "$0")/.."
shared=${DOCRAG_SHARED:-../shared}
out=${DOCRAG_BENCH_DATA:-build/bench-data}/bm25_100k
mkdir -p "$out"
cmake --build build --target bench_bm25 >/dev/null
[ -f "$out/corpus.jsonl" ] || python3 "$shared/tools/bm25_latency/make_corpus.py" "$out" 100000
echo "== docrag"
taskset -c 0 ./build/bench_bm25 "$out" "$out/docrag.db" 1000
echo "== Lucene (same corpus and queries)"
sh "$shared/tools/bm25_latency/run.sh" "$out"
