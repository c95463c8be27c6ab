#!/bin/bash
# docrag eval --qa over the sample PDFs in the repo (data/qa/samples.jsonl:
# two questions answered on their expected page at rank 1, one without
# searchable terms whose empty result is a miss): the printed metrics, the
# JSON, reuse of a --db that already holds the folder, the fallback notice
# of dense/hybrid modes (printed once), and clear errors for bad input.
. "$(dirname "$0")/lib.bash"
qa=$DOCRAG_SRC/data/qa/samples.jsonl
docs=$DOCRAG_SRC/data/samples
want="page-hit@1=0.6667 page-hit@5=0.6667 page-hit@10=0.6667 mrr@10=0.6667 questions=3"

"$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" >"$T/out" 2>"$T/err"
cat "$T/out"
check "prints the page-hit line" grep -qxF "$want" "$T/out"
check "prints the table row for bm25" \
    grep -qE '^bm25 +0\.6667 +0\.6667 +0\.6667 +0\.6667$' "$T/out"
check "bm25 prints no notice" test ! -s "$T/err"

"$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" --json >"$T/json"
check "--json carries metrics and per-question first hits" py - "$T/json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert abs(o["page-hit@1"] - 2 / 3) < 1e-5 and abs(o["mrr@10"] - 2 / 3) < 1e-5, o
ranks = {q["id"]: q["first_hit"] for q in o["questions_hit"]}
assert ranks == {"s-nop": 1, "s-div0": 1, "s-empty": 0}, ranks
assert o["questions"] == 3 and o["docs"] == 5 and o["mode_used"] == "bm25", o
assert o["index"]["added"] == 5, o["index"]
PY

"$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" --db "$T/qa.db" --json >"$T/first"
"$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" --db "$T/qa.db" --json >"$T/second"
check "--db: the second run reuses the index (5 unchanged, 0 added)" py - "$T/first" "$T/second" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["index"]["added"] == 5 and b["index"]["added"] == 0, (a["index"], b["index"])
assert b["index"]["unchanged"] == 5, b["index"]
assert a["page-hit@10"] == b["page-hit@10"] and a["chunks"] == b["chunks"]
PY

for mode in dense hybrid hybrid+rerank; do
    "$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" --mode "$mode" >"$T/out" 2>"$T/err"
    check "--mode $mode: the notice is printed once" \
        test "$(grep -c 'notice:' "$T/err")" -eq 1
    check "--mode $mode: falls back to bm25 with the same metrics" grep -qxF "$want" "$T/out"
done
check "--mode hybrid+rerank: the notice says rerank did not run" grep -q "without rerank" "$T/err"

# With the project's generated test models (random weights: the metrics mean
# nothing) the same command embeds the temporary --db, ranks hybrid and
# reranks; a second run reuses the stored vectors without inference.
m=$DOCRAG_SRC/tests/data/models
models=(--set "backends.local.model=$m/bi-encoder" --set backends.ce.type=local
    --set "backends.ce.model=$m/cross-encoder" --set chains.rerank=ce)
for run in first second; do
    "$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" --db "$T/dense.db" --mode hybrid+rerank \
        "${models[@]}" --json >"$T/$run.json" 2>"$T/$run.err"
done
check "hybrid+rerank with models: no notice" test ! -s "$T/first.err" -a ! -s "$T/second.err"
check "hybrid+rerank with models: embeds once, reranks every question" \
    py - "$T/first.json" "$T/second.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for o in (a, b):
    assert o["mode_used"] == "hybrid" and o["reranked"] == 3, o
    assert o["embed"]["model"] == "bi-encoder" and o["embed"]["chunks"] == o["chunks"], o
assert a["embed"]["embedded"] == a["chunks"] and a["embed"]["kept"] == 0, a["embed"]
assert b["embed"]["embedded"] == 0 and b["embed"]["kept"] == b["chunks"], b["embed"]
assert a["questions_hit"] == b["questions_hit"]
PY

set +e
"$DOCRAG_BIN" eval --qa "$qa" --docs "$docs" --mode sparse 2>"$T/err"
s1=$?
"$DOCRAG_BIN" eval --qa "$qa" 2>/dev/null
s2=$?
sed 's/riscv-card.pdf/no-such.pdf/' "$qa" >"$T/missing.jsonl"
"$DOCRAG_BIN" eval --qa "$T/missing.jsonl" --docs "$docs" 2>"$T/err2"
s3=$?
printf '{"id":"a","question":"q","doc":"x.pdf","pages":[1]}\n' >"$T/bad.jsonl"
"$DOCRAG_BIN" eval --qa "$T/bad.jsonl" --docs "$docs" 2>"$T/err3"
s4=$?
set -e
check "unknown mode: usage error naming it" test "$s1" -eq 2 -a -n "$(grep "'sparse'" "$T/err")"
check "--qa without --docs: usage error" test "$s2" -eq 2
check "an expected document not in the folder fails naming it" \
    test "$s3" -eq 1 -a -n "$(grep 's-empty: document "no-such.pdf" is not in' "$T/err2")"
check "a QA line without evidence fails naming file and line" \
    test "$s4" -eq 1 -a -n "$(grep -F "$T/bad.jsonl:1: a:" "$T/err3")"
finish
