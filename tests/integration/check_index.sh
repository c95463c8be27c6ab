#!/bin/bash
# `docrag check` (issue 13 #15, r16): 0 and one "ok" line on a sound index;
# on damage SQLite's integrity_check does not see, one line per problem and
# exit 1; and searching or counting such an index fails loudly instead of
# answering "no results" or "stats: not an error".
. "$(dirname "$0")/lib.bash"
mkdir -p "$T/docs"
printf 'the mcause register holds the trap cause\n' >"$T/docs/a.txt"
printf '# Quokka\n\nA small marsupial of Rottnest Island.\n' >"$T/docs/b.md"
printf 'chains:\n  embed: [none]\n' >"$T/c.yaml"
"$DOCRAG_BIN" index --config "$T/c.yaml" --db "$T/clean.db" "$T/docs" >/dev/null
C=(--config "$T/c.yaml")

"$DOCRAG_BIN" check "${C[@]}" --db "$T/clean.db" >"$T/ok.out"
check "a sound index: exit 0 and one ok line naming it" \
    grep -q "^ok: $T/clean.db: 2 documents" "$T/ok.out"
"$DOCRAG_BIN" check "${C[@]}" --db "$T/clean.db" --json >"$T/ok.json"
check "--json: ok true, no problem, what was checked" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["ok"] is True and o["problems"]==[] and o["checked"]["chunks"]>=2 and o["checked"]["postings"]>0, o' "$T/ok.json"

# damaged copies (r16): each passes PRAGMA integrity_check
damage() { # damage NAME SQL
    cp "$T/clean.db" "$T/$1.db"
    py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); assert c.execute("PRAGMA integrity_check").fetchone()[0]=="ok"' "$T/$1.db" "$2"
}
damage empty_postings "update bm25_postings set data=x''"
damage negative_count "update meta set value='-5' where key='bm25_n_docs'"
damage no_bm25_docs "delete from bm25_docs"
py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript("create table meta(key text primary key, value); insert into meta values(\"schema_version\",\"1\")")' "$T/meta_only.db"

for name in empty_postings negative_count no_bm25_docs meta_only; do
    db=$T/$name.db
    set +e
    "$DOCRAG_BIN" check "${C[@]}" --db "$db" >"$T/$name.out" 2>"$T/$name.err"
    st=$?
    "$DOCRAG_BIN" search "${C[@]}" --db "$db" mcause >"$T/$name.s.out" 2>"$T/$name.s.err"
    sst=$?
    set -e
    check "$name: check exits 1" test "$st" -eq 1
    check "$name: each problem is a line naming the file and its check" \
        grep -qE "^$db: (bm25|counts|schema): " "$T/$name.out"
    check "$name: stderr counts the problems" grep -q "$db: [0-9]* problems\?, the first" "$T/$name.err"
    check "$name: search fails instead of 'no results'" test "$sst" -ne 0
    check "$name: ... and says the index is damaged" grep -qi "damaged index" "$T/$name.s.err"
done
check "empty postings: names the df mismatch" grep -q "than their df" "$T/empty_postings.out"
check "negative count: names bm25_n_docs" grep -q "bm25_n_docs is -5" "$T/negative_count.out"
check "no bm25_docs: names the missing rows" grep -q "no bm25_docs row" "$T/no_bm25_docs.out"
check "missing tables: one line per table" test "$(grep -c 'is missing' "$T/meta_only.out")" -ge 10
"$DOCRAG_BIN" check "${C[@]}" --db "$T/no_bm25_docs.db" --json >"$T/bad.json" || true
check "--json on damage: ok false, n_problems, one entry per problem" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["ok"] is False and o["n_problems"]==len(o["problems"])>=2 and all(p["check"] and p["message"] for p in o["problems"]), o' "$T/bad.json"
set +e
"$DOCRAG_BIN" stats "${C[@]}" --db "$T/meta_only.db" >/dev/null 2>"$T/stats.err"
set -e
check "stats on a damaged index names the missing table, not 'not an error'" \
    sh -c "grep -q 'no such table' '$T/stats.err' && ! grep -q 'not an error' '$T/stats.err'"

# not an index at all
py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table bookmarks(url text)"); c.commit()' "$T/app.sqlite"
set +e
"$DOCRAG_BIN" check "${C[@]}" --db "$T/app.sqlite" >/dev/null 2>"$T/app.err"
st=$?
set -e
check "another application's database: exit 1, 'not a docrag index'" \
    sh -c "test $st -eq 1 && grep -q 'not a docrag index' '$T/app.err'"
finish
