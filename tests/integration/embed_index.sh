#!/bin/bash
# docrag index embeds chunks with the configured embedder (the generated
# local bi-encoder in tests/data/models): every chunk gets a vector, a
# second run embeds nothing, identical text under another path comes from
# the cache (stats shows the hit counters move), a model change re-embeds
# with one message, a missing model folder is one warning and exit 0, and
# --no-embed / chains.embed none leave vectors alone.
. "$(dirname "$0")/lib.bash"
model=$DOCRAG_SRC/tests/data/models/bi-encoder
mkdir -p "$T/s1"
cp "$DOCRAG_SRC/data/samples/docrag-notes.md" "$DOCRAG_SRC/data/samples/pdf-pages.html" "$T/s1/"
cat >"$T/cfg.yaml" <<YAML
chains:
  embed: [local]
backends:
  local:
    type: local
    model: $model
YAML
db=$T/e.db
run() { "$DOCRAG_BIN" "$@" --config "$T/cfg.yaml"; }

run index --db "$db" --json "$T/s1" >"$T/i1.json" 2>"$T/i1.err"
check "first index embeds every chunk with bi-encoder (24-d)" py - "$T/i1.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
e = o["embed"]
assert o["chunks"] >= 2 and e["chunks"] == o["chunks"], o
assert e["embedded"] + e["cached"] == o["chunks"] and e["embedded"] > 0 and e["kept"] == 0, e
assert e["model"] == "bi-encoder" and e["dim"] == 24 and e["failed"] is False, e
PY
run stats --db "$db" --json >"$T/st1.json"
check "stats: vectors = chunks, model and dim recorded, lookups counted" py - "$T/st1.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["vectors"] == s["chunks"] > 0, s
assert s["embed_model"] == "bi-encoder" and s["embed_dim"] == 24, s
assert s["embed_cache_lookups"] == s["chunks"], s
assert s["embed_cache_entries"] >= 1, s
PY

run index --db "$db" "$T/s1" >"$T/i2.out" 2>"$T/i2.err"
check "second index embeds nothing and keeps every vector" \
    grep -Eq '^vectors: [0-9]+ chunks, model bi-encoder \(24-d\), [0-9.]+ s: 0 embedded, 0 from cache, [0-9]+ kept$' "$T/i2.out"

cp -r "$T/s1" "$T/s2"
run index --db "$db" --json "$T/s2" >"$T/i3.json" 2>"$T/i3.err"
run stats --db "$db" --json >"$T/st3.json"
check "the same text under another path is served from the cache" py - "$T/i3.json" "$T/st1.json" "$T/st3.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1])); s1 = json.load(open(sys.argv[2])); s3 = json.load(open(sys.argv[3]))
e = o["embed"]
assert o["added"] == 2 and e["embedded"] == 0 and e["cached"] == o["chunks"] > 0, o
assert s3["embed_cache_hits"] - s1["embed_cache_hits"] == o["chunks"], (s1, s3)
assert s3["embed_cache_hit_rate"] > 0 and s3["vectors"] == s3["chunks"], s3
PY
run stats --db "$db" >"$T/st3.txt"
check "stats text shows the cache hit rate" grep -Eq '^embed cache [0-9]+ entries, hit rate [0-9.]+% \([0-9]+ of [0-9]+ lookups\)$' "$T/st3.txt"

"$DOCRAG_BIN" index --db "$db" --config "$T/cfg.yaml" \
    --set "backends.local.model=$DOCRAG_SRC/tests/data/models/bi-encoder-cls" "$T/s1" "$T/s2" \
    >"$T/i4.out" 2>"$T/i4.err"
check "a model change re-embeds every chunk with one clear message" sh -c \
    "grep -q 'embedding model changed from bi-encoder (24-d) to bi-encoder-cls ([0-9]*-d): re-embedding [0-9]* chunks' '$T/i4.err' && grep -q 'model bi-encoder-cls' '$T/i4.out'"

set +e
"$DOCRAG_BIN" index --db "$T/m.db" --config "$T/cfg.yaml" --set "backends.local.model=$T/no-such-model" \
    "$T/s1" >"$T/m.out" 2>"$T/m.err"
rc=$?
set -e
check "a missing model folder: exit 0, one warning naming the folder and BM25" sh -c \
    "[ $rc -eq 0 ] && [ \$(wc -l <'$T/m.err') -eq 1 ] && grep -q 'warning' '$T/m.err' && grep -q '$T/no-such-model' '$T/m.err' && grep -q 'BM25' '$T/m.err' && grep -q '^indexed 2 files' '$T/m.out'"

run index --db "$T/n.db" --no-embed "$T/s1" >"$T/n.out" 2>"$T/n.err"
run stats --db "$T/n.db" --json >"$T/n.json"
check "--no-embed indexes without vectors, quietly" sh -c \
    "[ ! -s '$T/n.err' ] && ! grep -q '^vectors:' '$T/n.out'"
check "--no-embed: stats shows chunks and no vectors" py -c \
    'import json,sys; s=json.load(open(sys.argv[1])); assert s["vectors"]==0 and s["chunks"]>0, s' "$T/n.json"

"$DOCRAG_BIN" index --db "$T/z.db" --set chains.embed=none "$T/s1" >"$T/z.out" 2>"$T/z.err"
check "chains.embed none: no embedding, nothing on stderr" sh -c \
    "[ ! -s '$T/z.err' ] && ! grep -q '^vectors:' '$T/z.out'"

finish
