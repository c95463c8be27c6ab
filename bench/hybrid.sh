#!/bin/sh
# hybrid.sh - ask's retrieval path without the LLM (BM25 + query embedding +
# kNN + RRF + rerank of the top 50 + prompt) on the 100k-document corpus of
# bm25_latency.sh, with MiniLM-shaped int8 models on 2 cores; per-stage
# latency and whole-process RSS (bench/bench_hybrid.c).
#   [N_DOCS=100000] [QUERIES=100] bench/hybrid.sh [bench_hybrid options]
set -eu
cd "$(dirname "$0")/.."
shared=${DOCRAG_SHARED:-../shared}
data=${DOCRAG_BENCH_DATA:-build/bench-data}
docs=${N_DOCS:-100000}   # 100000 documents -> 185,681 chunks; 54000 -> ~100k chunks
out=$data/bm25_$docs
models=$data/minilm-shaped
mkdir -p "$out" "$models"
cmake --build build --target bench_hybrid bench_encoder >/dev/null
[ -f "$out/corpus.jsonl" ] || python3 "$shared/tools/bm25_latency/make_corpus.py" "$out" "$docs"
# the generated MiniLM-L6-shaped encoder/ and cross/ folders (random weights)
[ -f "$models/cross/model.safetensors" ] ||
    ./build/bench_encoder --iters 1 --threads 1 --seqs 128 --precisions f32 --no-rerank \
        --dump "$models" >/dev/null
# the real all-MiniLM-L6-v2 tokenizer for both
for d in encoder cross; do
    for f in tokenizer.json vocab.txt tokenizer_config.json special_tokens_map.json; do
        [ -f "$shared/models/all-MiniLM-L6-v2-no-weights/$f" ] &&
            cp "$shared/models/all-MiniLM-L6-v2-no-weights/$f" "$models/$d/"
    done
done
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} \
    ./build/bench_hybrid "$out" "$out/hybrid.db" "$models" --threads 2 --precision int8 \
    --queries "${QUERIES:-100}" "$@"
