#!/bin/bash
# An index made by docrag's schema version 1 (tests/data/index_v1, made by
# its make_fixture.sh with a version-1 docrag) is read as it is, then
# upgraded in place by the first writer: schema_version moves to the
# current one, the usage and graph tables are there, `docrag check` finds
# nothing wrong, and search gives the same results (chunk ids, scores,
# documents, pages) as the version-1 docrag printed.
. "$(dirname "$0")/lib.bash"
fx=$DOCRAG_SRC/tests/data/index_v1
db=$T/v1.db
cp "$fx/index_v1.db" "$db"
unset DOCRAG_DB DOCRAG_CONFIG

version() { py -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select value from meta where key=\"schema_version\"").fetchone()[0])' "$db"; }
# same_results EXPECTED ACTUAL: the ranked (chunk id, score to 6 digits, doc, pages) agree
same_results() {
    py - "$1" "$2" <<'PY'
import json, sys
def key(path):
    o = json.load(open(path))
    return [(str(r["chunk_id"]), round(r["score"], 6), r["doc"], r["page_start"], r["page_end"])
            for r in o["results"]]
a, b = key(sys.argv[1]), key(sys.argv[2])
if a != b:
    print("expected", a, "\ngot", b, file=sys.stderr)
    sys.exit(1)
PY
}
search_all() { # search_all TAG: every fixture query, compared
    local n=0 q
    while IFS= read -r q; do
        n=$((n + 1))
        "$DOCRAG_BIN" search --db "$db" --json -k 5 "$q" >"$T/$1_$n.json" 2>"$T/$1_$n.err"
        check "$1: '$q' gives the version-1 results" same_results "$fx/search_$n.json" "$T/$1_$n.json"
    done <"$fx/queries.txt"
}

check "the fixture is schema version 1" test "$(version)" = 1
search_all read_v1
check "a reader leaves it at version 1" test "$(version)" = 1

# a writer upgrades it in place (indexing an empty folder changes nothing else)
mkdir "$T/empty"
"$DOCRAG_BIN" index -v --db "$db" "$T/empty" >"$T/index.out" 2>"$T/index.err"
check "the writer says it upgraded, from what to what" \
    grep -q "v1.db: schema upgraded to version [0-9]* (usage and graph_edges tables)" "$T/index.err"
check "the writer upgrades to the current schema version" \
    test "$(version)" = "$(py -c 'import re,sys; print(re.search(r"#define RAG_INDEX_SCHEMA_VERSION (\d+)", open(sys.argv[1]).read()).group(1))' "$DOCRAG_SRC/src/index/index.h")"
check "the usage and graph tables exist after the upgrade" py -c '
import sqlite3, sys
names = {r[0] for r in sqlite3.connect(sys.argv[1]).execute("select name from sqlite_master where type=\"table\"")}
assert {"usage", "graph_edges"} <= names, names' "$db"
check "no document was lost" py -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("select count(*) from documents").fetchone()[0] == 3
assert c.execute("select count(*) from chunks").fetchone()[0] == 31' "$db"
check "docrag check finds the upgraded index consistent" "$DOCRAG_BIN" check --db "$db"
search_all migrated
# a second writer finds nothing to do
"$DOCRAG_BIN" index -v --db "$db" "$T/empty" >/dev/null 2>"$T/index2.err"
check "a second open does not upgrade again" bash -c '! grep -q "schema upgraded" "$1"' _ "$T/index2.err"

finish
