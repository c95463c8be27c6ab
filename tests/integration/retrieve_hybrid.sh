#!/usr/bin/env bash
# retrieve_hybrid.sh - `docrag search --mode dense|hybrid` and `ask --mode
# hybrid` end to end with the generated local models: a bi-encoder for the
# vectors (written here with `docrag embed`, as the indexer's embedding
# pass would) and a cross-encoder for the rerank stage.
source "$(dirname "$0")/lib.bash"

models="$DOCRAG_SRC/tests/data/models"
db="$T/h.db"
mkdir -p "$T/docs"
cp "$DOCRAG_SRC/data/samples/docrag-notes.md" "$DOCRAG_SRC/data/samples/pdf-pages.html" "$T/docs/"
"$DOCRAG_BIN" index --db "$db" -q "$T/docs" >/dev/null

cat >"$T/docrag.yaml" <<YAML
backends:
  local:
    type: local
    model: $models/bi-encoder
  cross:
    type: local
    model: $models/cross-encoder
chains:
  embed: [local]
  rerank: [cross]
search:
  rerank_top_n: 5
YAML
export DOCRAG_CONFIG="$T/docrag.yaml"

# before any vectors: one notice naming the model and the fix, bm25 results
"$DOCRAG_BIN" search --db "$db" --mode hybrid --json "page labels" >"$T/nv.json" 2>"$T/nv.err"
check "no vectors yet: hybrid says why and uses bm25" \
    sh -c "grep -q 'holds no vectors of model bi-encoder: run .docrag index.' '$T/nv.err' &&
           [ \$(grep -c notice '$T/nv.err') -eq 1 ] &&
           /usr/bin/python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o[\"mode\"]==\"bm25\" and o[\"results\"], o' '$T/nv.json'"

# vectors of every chunk (newlines flattened: `docrag embed` reads lines)
sqlite3 "$db" "SELECT id FROM chunks ORDER BY id" >"$T/ids"
sqlite3 "$db" "SELECT replace(replace(text, char(13), ' '), char(10), ' ') FROM chunks ORDER BY id" >"$T/texts"
"$DOCRAG_BIN" embed --model "$models/bi-encoder" <"$T/texts" >"$T/vecs.json"
py - "$db" "$T/ids" "$T/vecs.json" <<'PY'
import json, sqlite3, struct, sys
db, ids, vecs = sys.argv[1], open(sys.argv[2]).read().split(), json.load(open(sys.argv[3]))
assert len(ids) == len(vecs) >= 3, (len(ids), len(vecs))
con = sqlite3.connect(db)
con.executemany("INSERT OR REPLACE INTO vectors(chunk_id, model, dim, data) VALUES(?,?,?,?)",
                [(int(i), "bi-encoder", len(v), struct.pack("<%df" % len(v), *v))
                 for i, v in zip(ids, vecs)])
con.commit()
PY

"$DOCRAG_BIN" search --db "$db" --mode hybrid --json -k 5 "page labels" >"$T/h.json" 2>"$T/h.err"
check "hybrid search: fused, reranked by the cross-encoder, stage timings, no notice" py - "$T/h.json" "$T/h.err" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert open(sys.argv[2]).read() == "", open(sys.argv[2]).read()
assert o["mode"] == "hybrid" and o["fusion"] == "rrf" and o["reranked_by"] == "cross", o
assert set(o["timings_ms"]) >= {"bm25", "embed", "knn", "fuse", "graph", "rerank", "fetch", "total"}
assert o["timings_ms"]["embed"] > 0 and o["timings_ms"]["rerank"] > 0, o["timings_ms"]
r = o["results"]
assert 1 <= len(r) <= 5 and [h["rank"] for h in r] == list(range(1, len(r) + 1))
assert all({"rank", "score", "chunk_id", "doc", "page_start", "text", "stages"} <= set(h) for h in r)
assert all("fused" in h["stages"] and "rerank" in h["stages"] for h in r)
assert any("dense" in h["stages"] for h in r)
assert sorted(h["stages"]["rerank"]["rank"] for h in r) == list(range(1, len(r) + 1))
PY

# dense: a chunk's own text finds that chunk first (same vector, dot = 1)
id1=$(sed -n 3p "$T/ids")
q=$(sed -n 3p "$T/texts" | cut -c1-300)
"$DOCRAG_BIN" search --db "$db" --mode dense --no-rerank --json -k 3 "$q" >"$T/d.json"
check "dense search returns the chunk whose text is the query" py - "$T/d.json" "$id1" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["mode"] == "dense" and "reranked_by" not in o, o
h = o["results"][0]
assert str(h["chunk_id"]) == sys.argv[2] and h["stages"]["dense"]["rank"] == 1, h
PY

"$DOCRAG_BIN" search --db "$db" --mode hybrid --doc '*.html' -k 20 "page" >"$T/f.txt"
check "--doc filter keeps only matching documents; text output names the mode" \
    sh -c "grep -q 'pdf-pages.html' '$T/f.txt' && ! grep -q 'docrag-notes.md' '$T/f.txt' &&
           grep -q '^\[mode hybrid, rrf fusion, reranked by cross' '$T/f.txt'"

"$DOCRAG_BIN" ask --db "$db" --mode hybrid --json "What are page labels?" >"$T/a.json"
check "ask --mode hybrid reports the mode and stage timings" py - "$T/a.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert set(o) >= {"question","answer","citations","confidence","refused","backend","timings_ms"}
assert o["mode"] == "hybrid" and o["reranked_by"] == "cross", o
assert set(o["timings_ms"]) >= {"search", "gate", "answer", "total", "embed", "knn", "rerank"}
PY

"$DOCRAG_BIN" search --db "$db" --mode hybrid --set chains.embed=none --json "page" \
    >"$T/n.json" 2>"$T/n.err"
check "with no embedder configured, hybrid falls back with one notice" \
    sh -c "grep -q 'needs an embedder and none is configured' '$T/n.err' &&
           /usr/bin/python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o[\"mode\"]==\"bm25\"' '$T/n.json'"

check "--pages with a bad range is a usage error naming it" \
    sh -c "! '$DOCRAG_BIN' search --db '$db' --pages 9-2 x 2>'$T/p.err' && grep -q \"\-\-pages '9-2'\" '$T/p.err'"
finish
