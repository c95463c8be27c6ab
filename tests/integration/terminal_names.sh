#!/bin/bash
# File names with terminal escape sequences (issue 13 #22, r24): the text
# that reaches a terminal -- search and ask results, index progress and
# "skipped" messages, check -- shows them escaped (\x1b) instead of
# sending them; --json keeps the real name (JSON-escaped).
. "$(dirname "$0")/lib.bash"
mkdir -p "$T/d"
evil=$(printf 'name\033[2J\033]0;TITLE\007x')
printf 'zebrafish in a file with a hostile name\n' >"$T/d/$evil.txt"
head -c 2048 /dev/urandom >"$T/d/$evil.md"      # binary under .md: one "skipped" message
printf 'chains:\n  embed: [none]\n' >"$T/c.yaml"
C=(--config "$T/c.yaml" --db "$T/i.db")

# no raw ESC (0x1b) or BEL (0x07) byte in a file
clean() { ! LC_ALL=C grep -q "$(printf '[\033\007]')" "$1"; }

set +e
"$DOCRAG_BIN" index "${C[@]}" "$T/d" >"$T/index.out" 2>"$T/index.err"
set -e
cat "$T/index.err"
check "index: the skipped message names the file escaped" grep -q 'name\\x1b\[2J\\x1b\]0;TITLE\\x07x.md' "$T/index.err"
check "index: no raw escape byte on stderr" clean "$T/index.err"
check "index: none on stdout" clean "$T/index.out"
"$DOCRAG_BIN" search "${C[@]}" zebrafish >"$T/search.out" 2>"$T/search.err"
check "search: the result names the file escaped" grep -q 'name\\x1b\[2J\\x1b\]0;TITLE\\x07x.txt' "$T/search.out"
check "search: no raw escape byte" clean "$T/search.out"
"$DOCRAG_BIN" ask "${C[@]}" "where is the zebrafish" >"$T/ask.out" 2>"$T/ask.err" || true
check "ask: no raw escape byte in the answer or sources" clean "$T/ask.out"
"$DOCRAG_BIN" search "${C[@]}" --json zebrafish >"$T/search.json"
check "search --json: the real name, JSON-escaped" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["results"][0]["doc"].endswith("name\x1b[2J\x1b]0;TITLE\x07x.txt"), o' "$T/search.json"
py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update documents set n_pages=n_pages+1"); c.commit()' "$T/i.db"
"$DOCRAG_BIN" check "${C[@]}" >"$T/check.out" 2>"$T/check.err" || true
check "check: the problem names the document escaped" grep -q 'name\\x1b' "$T/check.out"
check "check: no raw escape byte" sh -c "! LC_ALL=C grep -q \"\$(printf '[\\033\\007]')\" '$T/check.out' '$T/check.err'"
finish
