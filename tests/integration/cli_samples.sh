#!/bin/bash
# The bundled samples end to end: index, search and ask JSON contracts,
# refusals, and incremental re-indexing (unchanged / changed / vanished).
. "$(dirname "$0")/lib.bash"
db=$T/s.db
cp -r "$DOCRAG_SRC/data/samples" "$T/samples"

"$DOCRAG_BIN" index --db "$db" --json "$T/samples" >"$T/idx.json"
check "first index adds all 5 sample files" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["added"]==5 and o["failed"]==0 and o["chunks"]>100, o' "$T/idx.json"

"$DOCRAG_BIN" search --db "$db" --json -k 5 "four core instruction formats" >"$T/search.json"
check "search --json has the contract fields and finds page 33" py - "$T/search.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert set(o) >= {"query", "results", "timings_ms"}, o.keys()
r = o["results"]
assert 1 <= len(r) <= 5
for i, h in enumerate(r):
    assert set(h) >= {"rank","score","chunk_id","doc","title","page_start","page_end","section","text"}, h.keys()
    assert h["rank"] == i + 1
assert [h["score"] for h in r] == sorted([h["score"] for h in r], reverse=True)
top = r[0]
assert top["doc"].endswith("riscv-base-instructions.pdf"), top["doc"]
assert top["page_start"] <= 33 <= top["page_end"], (top["page_start"], top["page_end"])
assert "four core instruction formats" in " ".join(top["text"].split())
PY

"$DOCRAG_BIN" ask --db "$db" --json "What are the four core instruction formats?" >"$T/ask.json"
check "ask --json answers with citations to page 33" py - "$T/ask.json" <<'PY'
import json, re, sys
o = json.load(open(sys.argv[1]))
assert set(o) >= {"question","answer","citations","confidence","refused","backend","timings_ms"}, o.keys()
assert o["refused"] is False and o["backend"] == "extractive"
assert 0 < o["confidence"] <= 1
cites = o["citations"]
ns = {c["n"] for c in cites}
used = {int(n) for n in re.findall(r"\[(\d+)\]", o["answer"])}
assert used == ns, (used, ns)
for c in cites:
    assert set(c) >= {"n","chunk_id","doc","page_start","page_end","section"}
assert any(c["doc"].endswith("riscv-base-instructions.pdf") and c["page_start"] <= 33 <= c["page_end"] for c in cites), cites
PY

for q in "Who won the football world cup in 2018?" \
         "What will the weather be like in Paris tomorrow?" \
         "Which team won the premier league football season?"; do
    "$DOCRAG_BIN" ask --db "$db" --json "$q" >"$T/off.json"
    check "off-topic question is refused: $q" \
        py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["refused"] is True and o["citations"]==[] and o["confidence"]<0.5, o' "$T/off.json"
done

"$DOCRAG_BIN" ask --db "$db" --json "What does the GMLP guidance say about clinical study participants and data sets?" >"$T/gmlp.json"
check "a question on another sample is answered from it" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert not o["refused"] and any(c["doc"].endswith("GMLP_Guiding_Principles.pdf") for c in o["citations"]), o' "$T/gmlp.json"

"$DOCRAG_BIN" index --db "$db" --json "$T/samples" >"$T/idx2.json"
check "re-index skips unchanged files" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["unchanged"]==5 and o["added"]==0 and o["updated"]==0, o' "$T/idx2.json"

echo "A new paragraph about the quokka instruction set." >>"$T/samples/docrag-notes.md"
rm "$T/samples/pdf-pages.html"
"$DOCRAG_BIN" index --db "$db" --json "$T/samples" >"$T/idx3.json"
check "changed file updated, vanished file removed" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["updated"]==1 and o["removed"]==1 and o["unchanged"]==3, o' "$T/idx3.json"
"$DOCRAG_BIN" search --db "$db" --json quokka >"$T/q.json"
check "the changed text is searchable" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["results"] and o["results"][0]["doc"].endswith("docrag-notes.md"), o' "$T/q.json"
"$DOCRAG_BIN" search --db "$db" --json "physical page labels editions" >"$T/v.json"
check "the vanished file's chunks are gone" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert all(not h["doc"].endswith(".html") for h in o["results"]), o' "$T/v.json"

"$DOCRAG_BIN" stats --db "$db" --json >"$T/stats.json"
check "stats --json counts documents, chunks and pages" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["documents"]==4 and o["chunks"]>100 and o["pages"]>=240, o' "$T/stats.json"

"$DOCRAG_BIN" search --db "$db" --mode hybrid --json "RV32I" >"$T/h.json" 2>"$T/h.err"
check "hybrid mode without an embedder says so and uses bm25" \
    sh -c "grep -q 'needs an embedder' '$T/h.err' && /usr/bin/python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o[\"mode\"]==\"bm25\" and o[\"results\"]' '$T/h.json'"

check "search on a missing database names it" \
    sh -c "! '$DOCRAG_BIN' search --db '$T/none.db' x 2>'$T/e' && grep -q '$T/none.db' '$T/e'"
finish
