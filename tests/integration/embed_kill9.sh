#!/bin/bash
# The embedding pass of `docrag index` killed with -9 in the middle (the 19
# PDFs of ../shared/corpus, embedded through a TEI server on loopback that
# answers each batch after 60 ms): the database passes its integrity check,
# every vector row that is there is whole and of the served model, and a
# second run keeps those, embeds only the rest, and dense search then works.
. "$(dirname "$0")/lib.bash"
need_shared corpus
/usr/bin/python3 "$DOCRAG_SRC/tests/support/mock_api.py" --port-file "$T/port" >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
P=$(cat "$T/port")
cat >"$T/cfg.yaml" <<YAML
backends:
  tei:
    type: tei
    url: http://127.0.0.1:$P
chains:
  embed: [tei]
embed:
  batch: 8
YAML
db=$T/k.db
"$DOCRAG_BIN" index --db "$db" --no-embed "$DOCRAG_SHARED/corpus" >/dev/null
curl -s -XPOST "http://127.0.0.1:$P/_mock/faults" \
    -d '{"faults": [{"fault": "slow;ms=60", "path": "/embed", "count": 100000}]}' >/dev/null

# killed once three batches of 8 are committed
kill9_at "$db" "select count(*) from vectors" 24 \
    "$DOCRAG_BIN" index --db "$db" --config "$T/cfg.yaml" "$DOCRAG_SHARED/corpus"
check "the pass was cut short: some chunks have vectors, not all, each row whole" py - "$db" "$T/n_before" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n_chunks = c.execute("select count(*) from chunks").fetchone()[0]
n_vec = c.execute("select count(*) from vectors").fetchone()[0]
assert 24 <= n_vec < n_chunks, (n_vec, n_chunks)
bad = c.execute("select count(*) from vectors where model != 'mock/all-MiniLM-L6-v2' "
                "or dim != 8 or length(data) != 32 "
                "or chunk_id not in (select id from chunks)").fetchone()[0]
assert bad == 0, bad
open(sys.argv[2], "w").write(str(n_vec))
print("vectors committed before the kill: %d of %d chunks" % (n_vec, n_chunks))
PY

curl -s -XPOST "http://127.0.0.1:$P/_mock/reset" >/dev/null
"$DOCRAG_BIN" index --db "$db" --config "$T/cfg.yaml" --json "$DOCRAG_SHARED/corpus" \
    >"$T/after.json" 2>"$T/after.err"
check "a second run keeps the committed vectors and embeds only the rest" \
    py - "$T/after.json" "$T/n_before" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
e = o["embed"]
before = int(open(sys.argv[2]).read())
assert e["failed"] is False and e["model"] == "mock/all-MiniLM-L6-v2", e
assert e["kept"] == before, (e, before)
assert e["kept"] + e["embedded"] + e["cached"] == e["chunks"], e
PY
"$DOCRAG_BIN" stats --db "$db" --json >"$T/stats.json"
check "every chunk has its vector after the second run" \
    py -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["vectors"]==s["chunks"]>0, s' "$T/stats.json"
check_index "$db" "after the second run"
"$DOCRAG_BIN" search --db "$db" --config "$T/cfg.yaml" --mode dense --json "mcause register" \
    >"$T/s.json" 2>"$T/s.err"
check "dense search runs on the recovered vectors, without a fallback notice" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["results"] and "notice" not in o, o' "$T/s.json"
finish
