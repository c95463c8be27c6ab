#!/bin/bash
# docrag eval on the four shared IR collections: the metrics it prints equal
# what ../shared/tools/ireval.py computes from its --run file, and BM25
# nDCG@10 is at or above Lucene BM25 (EnglishAnalyzer, k1=1.2, b=0.75)
# measured on the same files (../shared/ir/README.md).
. "$(dirname "$0")/lib.bash"
need_shared tools/ireval.py
for spec in cranfield:0.3675 medline:0.6895 adi:0.4863 cacm:0.4942; do
    name=${spec%%:*}
    bar=${spec#*:}
    need_shared "ir/$name"
    "$DOCRAG_BIN" eval --beir "$DOCRAG_SHARED/ir/$name" --run "$T/$name.run" >"$T/$name.out"
    ours=$(cat "$T/$name.out")
    ref=$(py "$DOCRAG_SHARED/tools/ireval.py" "$DOCRAG_SHARED/ir/$name/qrels/test.tsv" "$T/$name.run")
    echo "$name: docrag: $ours"
    echo "$name: ireval: $ref"
    check "$name: metrics agree with ireval.py" py - "$ours" "$ref" <<'PY'
import sys
def parse(s): return {k: float(v) for k, v in (p.split("=") for p in s.split())}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
for k in ("ndcg@10", "recall@100", "mrr@10", "queries"):
    assert abs(a[k] - b[k]) <= 2e-3, (k, a[k], b[k])
PY
    check "$name: nDCG@10 at or above Lucene's $bar" \
        py -c 'import sys; v=float(sys.argv[1].split()[0].split("=")[1]); assert v >= float(sys.argv[2]), v' "$ours" "$bar"
done
finish
