#!/bin/bash
# Bad input: each bad file gives one clear message naming it, indexing goes
# on, good files are indexed and the database stays consistent.
. "$(dirname "$0")/lib.bash"
need_shared corpus/riscv-card.pdf
d=$T/docs
mkdir -p "$d/loop"
cp "$DOCRAG_SHARED/corpus/riscv-card.pdf" "$d/good.pdf"
head -c 20000 "$DOCRAG_SHARED/corpus/riscv-card.pdf" >"$d/truncated.pdf"
: >"$d/empty.txt"
head -c 4096 /dev/urandom >"$d/binary.md"
printf '\x89PNG\r\n\x1a\n' | cat - "$d/binary.md" >"$d/image.md"
printf 'valid start \xff\xfe broken \xc3 bytes and the word wombat.\n' >"$d/latin.txt"
ln -s .. "$d/loop/up"
# 200 MB of real-looking text: over the default 64 MB ingest.max_file_mb.
yes "The quick brown fox jumps over the lazy dog in the big file." | head -c 200000000 >"$d/huge.txt"
encrypted=$DOCRAG_SRC/tests/data/ingest/encrypted.pdf
[ -f "$encrypted" ] && cp "$encrypted" "$d/encrypted.pdf"

set +e
"$DOCRAG_BIN" index --db "$T/b.db" "$d" >"$T/out" 2>"$T/err"
status=$?
set -e
cat "$T/err"
check "index exits 3 (some files failed) rather than crashing" test "$status" -eq 3
for f in truncated.pdf empty.txt binary.md image.md huge.txt; do
    check "one message names $f" test "$(grep -c "$d/$f" "$T/err")" -eq 1
done
if [ -f "$d/encrypted.pdf" ]; then
    check "one message names encrypted.pdf" test "$(grep -c "$d/encrypted.pdf" "$T/err")" -eq 1
fi
check "huge file message says it is over the limit" grep -q "huge.txt.*limit" "$T/err"
check "symlink loop is reported and does not hang" grep -qi "loop" "$T/err"
"$DOCRAG_BIN" search --db "$T/b.db" --json wombat >"$T/w.json"
check "invalid UTF-8 text is repaired and indexed" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["results"] and "\ufffd" in o["results"][0]["text"], o' "$T/w.json"
"$DOCRAG_BIN" stats --db "$T/b.db" --json >"$T/s.json"
check "good files are indexed" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["documents"]==2, o' "$T/s.json"
check "SQLite integrity check passes" \
    py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute("PRAGMA integrity_check").fetchone()[0]=="ok"' "$T/b.db"
finish
