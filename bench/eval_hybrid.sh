#!/bin/sh
# eval_hybrid.sh - BM25 vs dense vs hybrid (RRF) vs hybrid + graph boost on
# the BEIR collections of ../shared/ir with the only dense model we can make
# here: the LSA stand-in (tools/models/make_lsa_model.py, docs/models.md),
# fitted on each collection's own corpus. With real weights, point
# backends.dense.model at the model folder instead (same commands).
#   bench/eval_hybrid.sh [COLLECTION...]   (default: adi cranfield medline cacm)
set -eu
cd "$(dirname "$0")/.."
shared=${DOCRAG_SHARED:-../shared}
data=${DOCRAG_BENCH_DATA:-build/bench-data}
boost=${GRAPH_BOOST:-0.2}
cmake --build build --target docrag >/dev/null
mkdir -p "$data"
[ $# -gt 0 ] || set -- adi cranfield medline cacm
printf '%-10s %-14s %8s %10s %8s\n' collection mode ndcg@10 recall@100 mrr@10
for c in "$@"; do
    model=$data/lsa-$c
    [ -f "$model/model.safetensors" ] ||
        /usr/bin/python3 tools/models/make_lsa_model.py "$shared/ir/$c/corpus.jsonl" "$model" >/dev/null
    cfg=$data/lsa-$c.yaml
    printf 'chains:\n  embed: [dense]\n  rerank: [none]\nbackends:\n  dense:\n    type: local\n    model: %s\n' \
        "$(cd "$model" && pwd)" >"$cfg"
    for m in bm25 dense hybrid hybrid+graph; do
        mode=$m set=""
        [ "$m" = hybrid+graph ] && mode=hybrid set="--set search.graph_boost=$boost"
        # shellcheck disable=SC2086
        line=$(./build/docrag eval --config "$cfg" $set --beir "$shared/ir/$c" --mode "$mode" 2>/dev/null | tail -1)
        printf '%-10s %-14s %s\n' "$c" "$m" "$line"
    done
done
