#!/usr/bin/env bash
# serve_docs.sh - documents over real HTTP: the list and one document (no
# server paths), the original file (Range, 416), a page's text against
# pdftotext, chunks, uploads (multipart with two files, a raw body), jobs
# and their event stream, duplicates, a corrupt PDF, delete; an upload
# while 8 clients search; kill -9 during ingestion of large PDFs, then the
# index is intact and each file is there whole or not at all.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
unset DOCRAG_API_KEY DOCRAG_ADMIN_KEY DOCRAG_CONFIG
need_shared corpus/2505.24363.pdf
cd "$T"
mkdir docs
cp "$DOCRAG_SRC/data/samples/riscv-card.pdf" "$DOCRAG_SRC/data/samples/docrag-notes.md" docs/
"$DOCRAG_BIN" index --db t.db docs >/dev/null 2>&1
start_server docs -- --db t.db
J=(-H 'Content-Type: application/json')
search_names() { # QUERY: the documents the top 5 results come from ("doc")
    curl -s -XPOST "$B/v1/search" "${J[@]}" -d "{\"query\":\"$1\",\"k\":5}" |
        py -c 'import json,sys; print(" ".join(sorted({r["doc"] for r in json.load(sys.stdin)["results"]})))'
}
doc_name() { curl -s "$B/v1/documents/$1" | py -c 'import json,sys; print(json.load(sys.stdin)["name"])'; }
no_server_path() { ! grep -q "$T" "$T/r/$1.b"; }

# ---- the list, one document, the original file -----------------------------------
check "GET /v1/documents" test "$(req list "$B/v1/documents")" = 200
check "list: {documents:[{id,name,pages,chunks,sha256,bytes,status...}]}" \
    jq_py "$T/r/list.b" "len(o['documents']) == 2 and all({'id','name','title','kind','pages','chunks',
    'sha256','bytes','status'} <= set(d) for d in o['documents'])"
check "list: no server path" bash -c "! grep -q '\"path\"' $T/r/list.b && ! grep -q '$T' $T/r/list.b"
PDF=$(jget "$T/r/list.b" "[d['id'] for d in o['documents'] if d['name'] == 'riscv-card.pdf'][0]")
MD=$(jget "$T/r/list.b" "[d['id'] for d in o['documents'] if d['name'] == 'docrag-notes.md'][0]")
check "GET /v1/documents/$PDF" test "$(req doc "$B/v1/documents/$PDF")" = 200
check "one document: as listed, without its path" \
    jq_py "$T/r/doc.b" "o == [d for d in json.load(open('$T/r/list.b'))['documents'] if d['id'] == $PDF][0]"
check "GET .../file" test "$(req file "$B/v1/documents/$PDF/file")" = 200
check "file: the original bytes" cmp -s "$T/r/file.b" docs/riscv-card.pdf
check "file: application/pdf, ranges accepted" bash -c "grep -qi '^Content-Type: application/pdf' $T/r/file.h &&
    grep -qi '^Accept-Ranges: bytes' $T/r/file.h"
size=$(stat -c %s docs/riscv-card.pdf)
check "Range: bytes=0-99 -> 206" test "$(req range "$B/v1/documents/$PDF/file" -H 'Range: bytes=0-99')" = 206
check "206: Content-Range bytes 0-99/$size" test "$(hdr range Content-Range)" = "bytes 0-99/$size"
check "206: the first 100 bytes" cmp -s "$T/r/range.b" <(head -c 100 docs/riscv-card.pdf)
check "Range: bytes=1000-1099 -> those bytes" bash -c "
    [ \$(curl -s -o $T/r/mid.b -w '%{http_code}' -H 'Range: bytes=1000-1099' $B/v1/documents/$PDF/file) = 206 ] &&
    cmp -s $T/r/mid.b <(tail -c +1001 docs/riscv-card.pdf | head -c 100)"
check "Range: bytes=999999999- -> 416" test "$(req r416 "$B/v1/documents/$PDF/file" -H 'Range: bytes=999999999-')" = 416
check "416: the error shape" is_error r416 416
check "416: Content-Range bytes */$size" test "$(hdr r416 Content-Range)" = "bytes */$size"
check "GET .../file of the Markdown document" test "$(req mdfile "$B/v1/documents/$MD/file")" = 200
check "Markdown file: the original bytes" cmp -s "$T/r/mdfile.b" docs/docrag-notes.md

alive
# ---- pages -------------------------------------------------------------------------
# docrag's page N holds the words pdftotext shows on page N, and matches it
# better than the pages before and after (1-based physical pages)
page_matches() { # N
    py - "$T/r/page$1.b" docs/riscv-card.pdf "$1" <<'PY'
import json, re, subprocess, sys
text = json.load(open(sys.argv[1]))["text"]
n = int(sys.argv[3])
def words(s): return set(w.lower() for w in re.findall(r"[A-Za-z]{4,}", s))
def pdf(p):
    return words(subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), sys.argv[2], "-"],
                                capture_output=True, text=True).stdout)
mine, want = words(text), pdf(n)
cover = len(mine & want) / max(1, len(want))
def jac(a, b): return len(a & b) / max(1, len(a | b))
others = [jac(mine, pdf(p)) for p in (n - 1, n + 1) if 1 <= p <= 6]
print("page %d: %.2f of pdftotext's words, jaccard %.2f vs neighbours %s" %
      (n, cover, jac(mine, want), ["%.2f" % x for x in others]))
sys.exit(0 if cover >= 0.8 and all(jac(mine, want) > x for x in others) else 1)
PY
}
if command -v pdftotext >/dev/null; then
    for n in 2 5; do
        check "GET .../pages/$n" test "$(req "page$n" "$B/v1/documents/$PDF/pages/$n")" = 200
        check "page $n: {document_id, doc, page, pages, text}" \
            jq_py "$T/r/page$n.b" "o['document_id'] == $PDF and o['doc'] == 'riscv-card.pdf' and o['page'] == $n and o['pages'] == 6"
        check "page $n: the text pdftotext shows on page $n" page_matches "$n"
    done
else
    echo "# note: pdftotext missing (poppler-utils: scripts/install-deps.sh --bench): Markdown page 1 only"
fi
check "GET .../pages/1 of the Markdown document" test "$(req mdpage "$B/v1/documents/$MD/pages/1")" = 200
check "Markdown page 1: its text" jq_py "$T/r/mdpage.b" "'docrag' in o['text'] and o['page'] == 1"
check_error "page past the end" page7 404 "$B/v1/documents/$PDF/pages/7"
check_error "page 0" page0 400 "$B/v1/documents/$PDF/pages/0"

alive
# ---- chunks ------------------------------------------------------------------------
post s_chunks /v1/search '{"query":"multiply extension instructions","k":10}' >/dev/null
n_bad=0
n_ids=0
for cid in $(jget "$T/r/s_chunks.b" "' '.join(str(r['chunk_id']) for r in o['results'])"); do
    n_ids=$((n_ids + 1))
    code=$(req chunk "$B/v1/chunks/$cid")
    if [ "$code" != 200 ] || ! jq_py "$T/r/chunk.b" "o['chunk_id'] == '$cid' and o['document_id'] == $PDF and
        o['doc'] == 'riscv-card.pdf' and
        o['text'] == [r for r in json.load(open('$T/r/s_chunks.b'))['results'] if r['chunk_id'] == '$cid'][0]['text']"; then
        n_bad=$((n_bad + 1))
        echo "chunk $cid: $code $(head -c 200 "$T/r/chunk.b")"
    fi
done
check "GET /v1/chunks/{id} for each of $n_ids search results: its text, its document by name" \
    test "$n_bad" -eq 0 -a "$n_ids" -ge 5
check_error "an unknown chunk" nochunk 404 "$B/v1/chunks/12345"

alive
# ---- uploads: multipart with two files, and their job ----------------------------
printf '# Quokka notes\n\nThe zyxquokka register counts marsupial cycles.\n' >a.md
printf 'The wombatfjord unit burrows through memory in constant time.\n' >b.txt
check "multipart upload of two files -> 202" \
    test "$(req up2 -XPOST "$B/v1/documents" -F file=@a.md -F file=@b.txt)" = 202
check "202: {job_id, documents: a.md, b.txt queued}" \
    jq_py "$T/r/up2.b" "o['job_id'] and [d['name'] for d in o['documents']] == ['a.md', 'b.txt'] and
    all(d['status'] == 'queued' for d in o['documents'])"
job=$(jget "$T/r/up2.b" "o['job_id']")
check "202: Location names the job" test "$(hdr up2 Location)" = "/v1/jobs/$job"
curl -sN -o ev_live.sse "$B/v1/jobs/$job/events" &
evpid=$!
BG_PIDS="$BG_PIDS $evpid"
check "the job ends done" wait_job "$job"
check "job: both documents indexed with ids" \
    jq_py "$T/r/job_$job.b" "o['status'] == 'done' and all(d['status'] == 'indexed' and d['id'] > 0
    for d in o['documents']) and 'path' not in json.dumps(o)"
A_ID=$(jget "$T/r/job_$job.b" "o['documents'][0]['id']")
B_ID=$(jget "$T/r/job_$job.b" "o['documents'][1]['id']")
check "uploaded a.md is listed under its name" bash -c "[[ '$(doc_name "$A_ID")' == *a.md ]]"
check "uploaded a.md is searchable right after" test "$(search_names zyxquokka)" = "$(doc_name "$A_ID")"
check "uploaded b.txt is searchable right after" test "$(search_names wombatfjord)" = "$(doc_name "$B_ID")"
post s_up /v1/search '{"query":"zyxquokka"}' >/dev/null
check "search results name no server path" no_server_path s_up
timeout 10 tail --pid="$evpid" -f /dev/null || true
check "job events (followed live) end with done" bash -c "grep -q '^event: progress' ev_live.sse &&
    [ \"\$(grep '^event: ' ev_live.sse | tail -1)\" = 'event: done' ]"
check "GET /v1/jobs/{id}/events after the end" test "$(req ev_after "$B/v1/jobs/$job/events")" = 200
check "job events (replayed) end with done" bash -c "[ \"\$(grep '^event: ' $T/r/ev_after.b | tail -1)\" = 'event: done' ]"
check_error "an unknown job" nojob 404 "$B/v1/jobs/job_nope"

printf '# Raw upload\n\nThe narwhalquill buffer holds raw bytes.\n' >c.md
check "raw upload with ?filename= -> 202" \
    test "$(req up_raw -XPOST "$B/v1/documents?filename=c.md" --data-binary @c.md)" = 202
job=$(jget "$T/r/up_raw.b" "o['job_id']")
check "raw upload: done" wait_job "$job"
check "raw upload: searchable" \
    test "$(search_names narwhalquill)" = "$(doc_name "$(jget "$T/r/job_$job.b" "o['documents'][0]['id']")")"

check "the same content again (another name) -> 202" \
    test "$(req dup -XPOST "$B/v1/documents?filename=again.md" --data-binary @a.md)" = 202
check "duplicate: reported with the existing id" \
    jq_py "$T/r/dup.b" "o['documents'][0]['duplicate'] is True and o['documents'][0]['id'] == $A_ID"

printf '%%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\ngarbage garbage\n%%%%EOF\n' >bad.pdf
check "a corrupt PDF -> 202" test "$(req up_bad -XPOST "$B/v1/documents?filename=bad.pdf" --data-binary @bad.pdf)" = 202
job=$(jget "$T/r/up_bad.b" "o['job_id']")
wait_job "$job" 2>/dev/null || true
check "corrupt PDF: the job failed, the document failed with a reason" \
    jq_py "$T/r/job_$job.b" "o['status'] == 'failed' and o['documents'][0]['status'] == 'failed' and
    len(o['documents'][0].get('error', '')) > 3"
check "corrupt PDF: the reason names no server path" no_server_path "job_$job"
check "corrupt PDF: not in the list" bash -c "! curl -s $B/v1/documents | grep -q 'bad.pdf'"

check "DELETE b.txt" test "$(req del -XDELETE "$B/v1/documents/$B_ID")" = 200
check "delete: {id, deleted: true}" jq_py "$T/r/del.b" "o == {'id': $B_ID, 'deleted': True}"
check "deleted: no longer found" test "$(search_names wombatfjord)" = ""
check_error "deleted: GET gives 404" gone 404 "$B/v1/documents/$B_ID"
check_error "deleted: its file gives 404" gone_file 404 "$B/v1/documents/$B_ID/file"
check_error "deleted: DELETE again gives 404" gone_del 404 -XDELETE "$B/v1/documents/$B_ID"

alive
# ---- upload while 8 clients search --------------------------------------------------
n_before=$(curl -s "$B/v1/documents" | py -c 'import json,sys; print(len(json.load(sys.stdin)["documents"]))')
rm -f stop
for i in $(seq 8); do
    (while [ ! -e stop ]; do
        curl -s -o /dev/null -w '%{http_code}\n' -XPOST "$B/v1/search" "${J[@]}" \
            -d '{"query":"multiply extension register","k":5}' || echo curl-failed
    done >"loop$i.codes") &
    BG_PIDS="$BG_PIDS $!"
done
loops=$(jobs -p | tail -8)
sleep 0.3
printf '# Busy upload\n\nThe platypusquill engine answers while others search.\n' >d.md
check "upload during searches -> 202" test "$(req up_busy -XPOST "$B/v1/documents?filename=d.md" --data-binary @d.md)" = 202
job=$(jget "$T/r/up_busy.b" "o['job_id']")
check "upload during searches: done" wait_job "$job"
check "upload during searches: searchable right after done" \
    test "$(search_names platypusquill)" = "$(doc_name "$(jget "$T/r/job_$job.b" "o['documents'][0]['id']")")"
sleep 0.3
touch stop
# shellcheck disable=SC2086
wait $loops 2>/dev/null || true
n_req=$(cat loop*.codes | wc -l)
n_ok=$(cat loop*.codes | grep -c '^200$' || true)
check "every search during the upload answered 200 ($n_ok of $n_req)" test "$n_ok" -eq "$n_req" -a "$n_req" -ge 16
check "each of the 8 clients was served" bash -c 'for f in loop*.codes; do [ -s $f ] || exit 1; done'
req list2 "$B/v1/documents" >/dev/null
check "one document more, nothing duplicated" \
    jq_py "$T/r/list2.b" "len(o['documents']) == $n_before + 1 and
    len({d['sha256'] for d in o['documents']}) == len(o['documents'])"
rc=0
stop_server "$SRV_PID" || rc=$?
check "docs server stops with 0" test "$rc" -eq 0

alive
# ---- kill -9 during ingestion of large PDFs, then restart ----------------------------
# reference chunk counts from a clean `docrag index` of each file
BIG=(2505.24363.pdf riscv-privileged.pdf EECS-2016-118.pdf riscv-base-instructions.pdf)
DELAYS=(0 0.15 0.3 3)
declare -A want
for f in "${BIG[@]}"; do
    rm -f ref.db*
    "$DOCRAG_BIN" index --db ref.db "$DOCRAG_SHARED/corpus/$f" >/dev/null 2>&1
    want[$f]=$(py -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from chunks").fetchone()[0])' ref.db)
done
sha() { sha256sum "$1" | cut -d' ' -f1; }
# whole_or_none FILE: the index has FILE's document with all its chunks, or nothing
whole_or_none() {
    py - t.db "$(sha "$DOCRAG_SHARED/corpus/$1")" "${want[$1]}" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("select id from documents where sha256 = ?", (sys.argv[2],)).fetchall()
n = [c.execute("select count(*) from chunks where doc_id = ?", r).fetchone()[0] for r in rows]
print("documents", len(rows), "chunks", n, "want", sys.argv[3])
sys.exit(0 if rows == [] or (len(rows) == 1 and n[0] == int(sys.argv[3])) else 1)
PY
}
for k in "${!BIG[@]}"; do
    f=${BIG[$k]}
    delay=${DELAYS[$k]}
    start_server "k9_$f" -- --db t.db
    req "k9up_$f" -XPOST "$B/v1/documents?filename=$f" --data-binary "@$DOCRAG_SHARED/corpus/$f" >/dev/null
    job=$(jget "$T/r/k9up_$f.b" "o['job_id']")
    for _ in $(seq 1000); do
        st=$(curl -s "$B/v1/jobs/$job" | py -c 'import json,sys; print(json.load(sys.stdin)["status"])')
        [ "$st" != queued ] && break
    done
    sleep "$delay"
    kill -9 "$SRV_PID"
    wait "$SRV_PID" 2>/dev/null || true
    forget_server "$SRV_PID"
    echo "# killed at job status '$st' + ${delay}s"
    check "kill -9 during $f: integrity_check ok" \
        py -c 'import sqlite3,sys; sys.exit(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0] != "ok")' t.db
    check "kill -9 during $f: the file is whole or absent" whole_or_none "$f"
done
start_server after_k9 -- --db t.db
check "restarted: the index serves searches" test "$(post k9_search /v1/search '{"query":"vector"}')" = 200
for f in "${BIG[@]}"; do
    check "re-upload $f -> 202" \
        test "$(req "re_$f" -XPOST "$B/v1/documents?filename=$f" --data-binary "@$DOCRAG_SHARED/corpus/$f")" = 202
    job=$(jget "$T/r/re_$f.b" "o['job_id']")
    check "re-upload $f: the job is done" wait_job "$job"
    id=$(jget "$T/r/job_$job.b" "o['documents'][0]['id'] if o['documents'][0]['status'] == 'indexed' else 0")
    req "re_doc_$f" "$B/v1/documents/${id:-0}" >/dev/null
    check "re-upload $f: indexed (or a duplicate of the whole one) with all ${want[$f]} chunks" \
        jq_py "$T/r/re_doc_$f.b" "o['chunks'] == ${want[$f]} and o['status'] == 'indexed'"
done
check "after re-uploads: integrity_check ok" \
    py -c 'import sqlite3,sys; sys.exit(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0] != "ok")' t.db
srv_finish
