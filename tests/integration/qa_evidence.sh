#!/bin/bash
# The committed QA set cannot rot silently: every question's evidence string
# is on its expected page of ../shared/corpus as our extractor reads it
# (docrag eval --check), the set has at least 60 questions and covers every
# PDF of the corpus.
. "$(dirname "$0")/lib.bash"
qa=$DOCRAG_SRC/data/qa/questions.jsonl
corpus=$DOCRAG_SHARED/corpus
if [ ! -d "$corpus" ]; then
    echo "SKIP: $corpus is absent (set DOCRAG_SHARED); the QA evidence was not checked"
    exit 0
fi
set +e
"$DOCRAG_BIN" eval --qa "$qa" --docs "$corpus" --check >"$T/out" 2>"$T/err"
status=$?
set -e
cat "$T/out" "$T/err"
check "every evidence string is on its expected page" test "$status" -eq 0 -a ! -s "$T/err"
check "at least 60 questions, every corpus PDF covered" py - "$qa" "$corpus" <<'PY'
import json, os, sys
qs = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
pdfs = {f for f in os.listdir(sys.argv[2]) if f.endswith(".pdf")}
docs = {q["doc"] for q in qs}
assert len(qs) >= 60, len(qs)
assert docs == pdfs, (sorted(pdfs - docs), sorted(docs - pdfs))
PY
finish
