#!/bin/bash
# The stored int8 vectors (vectors_int8, schema 4; vector_index.h): `docrag
# index` stores them beside the float rows, `docrag check` verifies them,
# dense search gives the same answer with them, damaged (then ignored with
# one warning naming the reason, and reported by check) or missing (then
# silently quantised again), and the next `docrag index` stores them again.
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
sql() { py -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); r = c.execute(sys.argv[2]).fetchall(); c.commit()
print("\n".join("|".join(str(x) for x in row) for row in r))' "$db" "$1"; }
search() { run search --db "$db" --mode dense --json -k 5 "how are chunks embedded" >"$1" 2>"$2"; }
# same JSON results (ids, scores, order), timings aside
same() { py -c 'import json, sys
a, b = (json.load(open(f))["results"] for f in sys.argv[1:3]); sys.exit(a != b or not a)' "$1" "$2"; }

run index --db "$db" "$T/s1" >"$T/i1.out" 2>"$T/i1.err"
check "index stores one int8 copy with every vector (24-d, 64-byte rows)" \
    test "$(sql 'SELECT i.n = (SELECT count(*) FROM vectors), i.dim, length(i.rows) = 64 * i.n
                 FROM vectors_int8 i')" = "1|24|1"
run check --db "$db" >"$T/c1.out" 2>&1
check "check passes with the stored copy" grep -q '^ok' "$T/c1.out"

search "$T/a.json" "$T/a.err"
check "dense search with the stored copy: results, no warning" \
    sh -c "[ ! -s '$T/a.err' ] && grep -q '\"chunk_id\"' '$T/a.json'"

sql "UPDATE vectors_int8 SET checksum = checksum + 1" >/dev/null
search "$T/b.json" "$T/b.err"
damaged_ok() {
    same "$T/a.json" "$T/b.json" && [ "$(wc -l <"$T/b.err")" -eq 1 ] &&
        grep -q 'stored int8 vectors of model bi-encoder are not usable (checksum mismatch)' "$T/b.err"
}
check "a damaged copy: the same results, one warning naming the reason" damaged_ok
set +e
run check --db "$db" >"$T/c2.out" 2>&1
rc=$?
set -e
check "check reports the damaged copy (exit non-zero)" sh -c \
    "[ $rc -ne 0 ] && grep -q 'stored int8 vectors of model bi-encoder are not usable: checksum mismatch' '$T/c2.out'"

run index --db "$db" "$T/s1" >"$T/i2.out" 2>"$T/i2.err"
run check --db "$db" >"$T/c3.out" 2>&1
search "$T/c.json" "$T/c.err"
restored_ok() { grep -q '^ok' "$T/c3.out" && same "$T/a.json" "$T/c.json" && [ ! -s "$T/c.err" ]; }
check "the next index stores it again: check passes, search as before, quietly" restored_ok

sql "DELETE FROM vectors_int8" >/dev/null
search "$T/d.json" "$T/d.err"
missing_ok() { same "$T/a.json" "$T/d.json" && [ ! -s "$T/d.err" ]; }
check "a missing copy: the same results, quietly" missing_ok

sql "UPDATE vectors SET dim = dim WHERE rowid = (SELECT min(rowid) FROM vectors)" >/dev/null
run index --db "$db" "$T/s1" >/dev/null 2>&1
sql "UPDATE vectors SET data = data WHERE rowid = (SELECT min(rowid) FROM vectors)" >/dev/null
check "any change of the vectors deletes the stored copy" \
    test "$(sql 'SELECT count(*) FROM vectors_int8')" = 0
finish
