#!/bin/bash
# The cited page viewer over HTTP: GET /v1/documents/{id}/pages/{n}.png on
# a real `docrag serve` over the sample documents -- a PNG of the page's
# size times the scale, the highlight's boxes in X-Highlight-Boxes, the
# errors (bad scale or parameter 422, missing page 404, non-PDF 415 with
# a Link to the JSON page, file gone 410) and the JSON page route's
# highlight offsets for a Markdown note.
. "$(dirname "$0")/lib.bash"
cp -r "$DOCRAG_SRC/data/samples" "$T/samples"
mkdir "$T/extra"
cp "$DOCRAG_SRC/data/samples/riscv-card.pdf" "$T/extra/card-copy.pdf"
"$DOCRAG_BIN" index --db "$T/docs.db" "$T/samples" "$T/extra" >/dev/null 2>&1
check "the samples are indexed" test -s "$T/docs.db"

"$DOCRAG_BIN" serve --db "$T/docs.db" --port 0 --workers 2 --set server.access_log=false \
    2>"$T/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$T"' EXIT
url=
for _ in $(seq 1 600); do
    url=$(listen_url "$T/serve.log")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
check "docrag serve is listening" test -n "$url"
[ -n "$url" ] || { cat "$T/serve.log"; finish; }

# fetch NAME PATH: body in $T/NAME.body, headers in $T/NAME.h, status printed
fetch() {
    curl -s -o "$T/$1.body" -D "$T/$1.h" -w '%{http_code}' "$url$2"
}
status_is() { # status_is WANT NAME PATH
    local got
    got=$(fetch "$2" "$3")
    [ "$got" = "$1" ] || { echo "  $3: HTTP $got, want $1: $(head -c 300 "$T/$2.body")"; return 1; }
}
header_has() { grep -qi "^$2" "$T/$1.h"; }

# ids: the RISC-V spec, its chunk on page 33, the Markdown note and its chunk
py - "$T/docs.db" >"$T/ids" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
def doc(name):
    return c.execute("SELECT id FROM documents WHERE path LIKE ?", ("%/" + name,)).fetchone()[0]
spec, md, copy = doc("riscv-base-instructions.pdf"), doc("docrag-notes.md"), doc("card-copy.pdf")
chunk = c.execute("SELECT id FROM chunks WHERE doc_id = ? AND page_start = 33 AND page_end = 33"
                  " AND text LIKE '%four core instruction formats%'", (spec,)).fetchone()[0]
other = c.execute("SELECT id FROM chunks WHERE doc_id = ? AND page_start = 40 AND page_end = 40"
                  " ORDER BY byte_start LIMIT 1", (spec,)).fetchone()[0]
md_chunk = c.execute("SELECT id FROM chunks WHERE doc_id = ? ORDER BY byte_start LIMIT 1",
                     (md,)).fetchone()[0]
copy_chunk = c.execute("SELECT id FROM chunks WHERE doc_id = ? AND page_start = 1"
                       " ORDER BY byte_start LIMIT 1", (copy,)).fetchone()[0]
print(spec, chunk, other, md, md_chunk, copy, copy_chunk)
PY
read -r spec chunk other md md_chunk copy copy_chunk <"$T/ids"
check "found the documents and chunks" test -n "$copy_chunk"

# png_size NAME: "W H" from the PNG's IHDR
png_size() { py -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); assert d[:8]==b"\x89PNG\r\n\x1a\n", d[:8]; print(*struct.unpack(">II", d[16:24]))' "$T/$1.body"; }

check "page 33 with the chunk highlighted: 200" status_is 200 lit "/v1/documents/$spec/pages/33.png?highlight=$chunk"
check "... Content-Type image/png" header_has lit "Content-Type: image/png"
check "... Cache-Control: private, max-age=300" header_has lit "Cache-Control: private, max-age=300"
check "... a PNG file (magic and IHDR)" png_size lit
check "... X-Highlight-Boxes holds boxes inside the image" py - "$T/lit.h" "$T/lit.body" <<'PY'
import json, struct, sys
h = [l for l in open(sys.argv[1], encoding="latin-1") if l.lower().startswith("x-highlight-boxes:")]
assert h, "no X-Highlight-Boxes"
boxes = json.loads(h[0].split(":", 1)[1])
w, hh = struct.unpack(">II", open(sys.argv[2], "rb").read()[16:24])
assert len(boxes) >= 3, boxes
for b in boxes:
    assert set(b) == {"x", "y", "w", "h"}, b
    assert 0 <= b["x"] and b["x"] + b["w"] <= w and 0 <= b["y"] and b["y"] + b["h"] <= hh, (b, w, hh)
PY
check "the same page without a highlight: 200, no boxes header" status_is 200 plain "/v1/documents/$spec/pages/33.png"
check "... and other pixels than the highlighted one" bash -c '! cmp -s "$1" "$2"' _ "$T/plain.body" "$T/lit.body"
check "... and the same size (default scale 1.5)" test "$(png_size plain)" = "$(png_size lit)"
check "... without X-Highlight-Boxes" bash -c '! grep -qi "^x-highlight-boxes" "$1"' _ "$T/plain.h"
check "a chunk of page 40 on page 33: 200, no box" status_is 200 far "/v1/documents/$spec/pages/33.png?highlight=$other"
check "... X-Highlight-Boxes is []" grep -qi '^x-highlight-boxes: \[\]' "$T/far.h"
check "scale 1: 200" status_is 200 s1 "/v1/documents/$spec/pages/33.png?scale=1"
check "scale 2: 200" status_is 200 s2 "/v1/documents/$spec/pages/33.png?scale=2"
check "the size follows the scale (scale 2 is twice scale 1, 1.5 between)" py - "$(png_size s1)" "$(png_size s2)" "$(png_size plain)" <<'PY'
import sys
(w1, h1), (w2, h2), (w15, h15) = (map(int, a.split()) for a in sys.argv[1:4])
assert abs(w2 - 2 * w1) <= 1 and abs(h2 - 2 * h1) <= 1, (w1, h1, w2, h2)
assert abs(w15 - 1.5 * w1) <= 1 and abs(h15 - 1.5 * h1) <= 1, (w1, h1, w15, h15)
PY

for s in 0 0.2 4.5 abc 1e999 -1 ""; do
    check "scale '$s': 422" status_is 422 bad "/v1/documents/$spec/pages/33.png?scale=$s"
done
check "an unknown query parameter: 422 naming it" status_is 422 typo "/v1/documents/$spec/pages/33.png?scal=2"
check "... the message names it" grep -q "scal" "$T/typo.body"
check "highlight 'x': 422" status_is 422 badhl "/v1/documents/$spec/pages/33.png?highlight=x"
check "a chunk of another document: 422" status_is 422 otherdoc "/v1/documents/$spec/pages/33.png?highlight=$md_chunk"
check "no such chunk: 404" status_is 404 nochunk "/v1/documents/$spec/pages/33.png?highlight=12345"
check "page 999 of 238: 404" status_is 404 nopage "/v1/documents/$spec/pages/999.png"
check "page 0: 400" status_is 400 zero "/v1/documents/$spec/pages/0.png"
check "no such document: 404" status_is 404 nodoc "/v1/documents/999999/pages/1.png"
check "a Markdown document as PNG: 415" status_is 415 md "/v1/documents/$md/pages/1.png?highlight=$md_chunk"
check "... with a Link to the JSON page and its highlight" \
    grep -qi "^link: </v1/documents/$md/pages/1?highlight=$md_chunk>" "$T/md.h"
check "the JSON page of the note with the highlight: 200" status_is 200 mdj "/v1/documents/$md/pages/1?highlight=$md_chunk"
check "... kind markdown, and the offsets select the chunk's text" py - "$T/mdj.body" "$T/docs.db" "$md_chunk" <<'PY'
import json, sqlite3, sys
o = json.load(open(sys.argv[1]))
assert o["kind"] == "markdown" and o["chunk_id"] == sys.argv[3], o
(h,) = o["highlights"]
text = o["text"].encode()
chunk = sqlite3.connect(sys.argv[2]).execute("SELECT text FROM chunks WHERE id = ?", (int(sys.argv[3]),)).fetchone()[0]
assert text[h["start"]:h["end"]].decode() == chunk, (h, chunk[:60])
assert "/" not in o["doc"], o["doc"]
PY
check "the JSON page of the spec with its chunk: offsets on page 33" status_is 200 specj "/v1/documents/$spec/pages/33?highlight=$chunk"
check "highlight= takes the id as a JSON string too (\"ID\")" status_is 200 specq "/v1/documents/$spec/pages/33?highlight=%22$chunk%22"
check "... the same page and offsets" cmp -s "$T/specj.body" "$T/specq.body"
check "... select the text from the section heading on" py -c 'import json,sys; o=json.load(open(sys.argv[1])); (h,)=o["highlights"]; t=o["text"].encode()[h["start"]:h["end"]].decode(); assert o["kind"]=="pdf" and "four core instruction formats" in t, t[:80]' "$T/specj.body"

check "a copy of the card with its chunk highlighted: 200" status_is 200 copy "/v1/documents/$copy/pages/1.png?highlight=$copy_chunk"
cp "$DOCRAG_SRC/tests/data/ingest/tiny.pdf" "$T/extra/card-copy.pdf"
check "the file changed since indexing: a highlight is 409, not boxes on other words" \
    status_is 409 changed "/v1/documents/$copy/pages/1.png?highlight=$copy_chunk"
check "... saying to re-index" grep -q "re-index" "$T/changed.body"
check "... while the page still renders without one" status_is 200 changed2 "/v1/documents/$copy/pages/1.png"
rm "$T/extra/card-copy.pdf"
check "the original file is gone: 410" status_is 410 gone "/v1/documents/$copy/pages/1.png"
check "no error message names a server path" bash -c '! grep -l "$1" "$2"/*.body' _ "$T" "$T"

check "the server stayed up" kill -0 "$pid"
kill "$pid"
serve_status=0
wait "$pid" || serve_status=$?
check "the server stops cleanly on SIGTERM (exit 0: no sanitizer report)" test "$serve_status" -eq 0
check "the server logged no error" bash -c '! grep -qi "error" "$1"' _ "$T/serve.log"
grep -i -A20 "error" "$T/serve.log" || true
finish
