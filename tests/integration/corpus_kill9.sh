#!/bin/bash
# The 19 PDFs of ../shared/corpus. kill -9 in the middle of indexing leaves the last committed state intact:
# the database opens, passes its integrity checks, every document present
# is complete, and a second run finishes the job.
. "$(dirname "$0")/lib.bash"
need_shared corpus
db=$T/k.db
# killed once two documents are committed
kill9_at "$db" "select count(*) from documents" 2 "$DOCRAG_BIN" index --db "$db" "$DOCRAG_SHARED/corpus"
check "every document present is complete (pages and chunks)" py - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
docs = c.execute("select id, n_pages from documents").fetchall()
assert 1 <= len(docs) < 20, len(docs)
for i, n in docs:
    assert c.execute("select count(*) from pages where doc_id=?", (i,)).fetchone()[0] == n
    assert c.execute("select count(*) from chunks where doc_id=?", (i,)).fetchone()[0] > 0
print("documents committed before the kill:", len(docs))
PY
"$DOCRAG_BIN" index --db "$db" --json "$DOCRAG_SHARED/corpus" >"$T/after.json"
check "re-running finishes the rest" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["added"]+o["unchanged"]==o["files"]>=19 and o["added"]>0 and o["failed"]==0, o' "$T/after.json"
check_index "$db" "after the second run"
"$DOCRAG_BIN" search --db "$db" --json "mcause register" >"$T/s.json"
check "FTS index is consistent after recovery" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["results"], o' "$T/s.json"
check "all 19 PDFs are indexed with their pages" py - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("select count(*) from documents where kind='pdf'").fetchone()[0] == 19
assert c.execute("select sum(n_pages) from documents where kind='pdf'").fetchone()[0] == 1252
assert c.execute("select count(*) from documents where n_pages != (select count(*) from pages p where p.doc_id = documents.id)").fetchone()[0] == 0
PY
check "'four core instruction formats' is cited on page 33 of riscv-base-instructions.pdf" py - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("""select c.page_start, c.page_end, c.text, c.byte_start, d.id from chunks c join documents d on d.id=c.doc_id
                    where d.path like '%/riscv-base-instructions.pdf'""").fetchall()
hits = []
for ps, pe, text, bs, did in rows:
    flat = " ".join(text.split())
    if "four core instruction formats" in flat:
        hits.append((ps, pe))
assert hits, "phrase not found"
assert all(ps <= 33 <= pe for ps, pe in hits), hits
PY
check "no chunk exceeds the hard maximum (chunk.max_tokens=255 estimated tokens)" \
    py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); m=c.execute("select max(n_tokens), min(n_tokens) from chunks").fetchone(); assert m[0] <= 255 and m[1] >= 1, m' "$db"
check "page ranges of chunks are ordered and within the document" \
    py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute("select count(*) from chunks c join documents d on d.id=c.doc_id where c.page_start<1 or c.page_end<c.page_start or c.page_end>d.n_pages").fetchone()[0]==0' "$db"
finish
