#!/bin/bash
# The command line as a Unix tool: --help on every command (stdout, exit 0),
# --version, options before and after the positional arguments, "--" and
# "-", global options before the command, strict numbers naming the flag
# (issue 13 defect 18), no 33-flag cap on --set (defect 19), usage errors on
# stderr with exit 2.
. "$(dirname "$0")/lib.bash"
need_shared corpus/riscv-privileged.pdf
B=$DOCRAG_BIN
db=$T/c.db
"$B" index --no-embed --db "$db" "$DOCRAG_SHARED/corpus/riscv-privileged.pdf" >/dev/null

# --help: every command, on stdout, exit 0, with options and an example
for c in index search ask eval stats check config embed rerank models serve mcp; do
    set +e
    "$B" "$c" --help >"$T/h" 2>"$T/herr"
    st=$?
    set -e
    check "$c --help exits 0" test "$st" -eq 0
    check "$c --help prints usage, options and an example on stdout" \
        sh -c "grep -q '^usage: docrag $c' '$T/h' && grep -q 'options' '$T/h' && grep -q '^example' '$T/h' && ! test -s '$T/herr'"
    check "docrag help $c is $c --help" sh -c "'$B' help $c | cmp -s - '$T/h'"
done
check "search --help names -k's range and default" grep -q -- '-k, --k N.*1\.\.1000 (default: search.k, 10)' <("$B" search --help)
check "docrag --help lists the commands on stdout" sh -c "'$B' --help | grep -q '^  search '"
check "docrag --version prints the version" sh -c "'$B' --version | grep -Eq '^docrag [0-9]+\.[0-9]+'"
set +e
"$B" >/dev/null 2>"$T/e"; st=$?
set -e
check "docrag without a command: usage on stderr, exit 2" sh -c "test $st -eq 2 && grep -q '^usage:' '$T/e'"

# usage errors: stderr, exit 2, naming what is wrong
usage_err() { # usage_err DESC PATTERN ARGS...
    local desc=$1 pat=$2 st
    shift 2
    set +e
    "$B" "$@" >"$T/o" 2>"$T/e"
    st=$?
    set -e
    if [ "$st" -eq 2 ] && ! [ -s "$T/o" ] && grep -q -- "$pat" "$T/e"; then
        pass "$desc"
    else
        echo "rc=$st stdout: $(head -c 300 "$T/o") stderr: $(cat "$T/e")"
        fail "$desc"
    fi
}
for k in -1 1e3 5x 4294967297 0 10000 "" " 5" +5 0x10; do
    usage_err "search -k '$k' is a usage error naming -k" \
        "-k '$k': expected an integer from 1 to 1000" search --db "$db" -k "$k" register
done
usage_err "ask -k 0 names -k" "ask: -k '0': expected an integer from 1 to 1000" ask --db "$db" -k 0 mcause
usage_err "eval -k 5x names -k" "eval: -k '5x'" eval --qa x --docs y -k 5x
usage_err "serve --port 99999 names --port" "serve: --port '99999': expected an integer from 0 to 65535" serve --port 99999
usage_err "serve --workers 1e3 names --workers" "serve: --workers '1e3'" serve --workers 1e3
usage_err "embed --threads x names --threads" "embed: --threads 'x'" embed --model m --threads x
usage_err "an unknown flag is named" "search: unknown option '--frobnicate'" search --db "$db" --frobnicate x
usage_err "a flag without its value is named" "search: --mode needs a value" search --db "$db" x --mode
usage_err "a bad --mode is named" "search: --mode 'fast': expected bm25, dense or hybrid" search --db "$db" --mode fast x
usage_err "a bad --pages is named" "ask: --pages '9-3'" ask --db "$db" --pages 9-3 x
usage_err "search without a query says so" "search: no query given" search --db "$db"
usage_err "usage errors show the usage line" "^usage: docrag search" search --db "$db"
usage_err "an unknown command is named" "unknown command 'serach'" serach x
usage_err "--set without = says KEY=VALUE" "--set 'search.k': expected KEY=VALUE" config show --set search.k
usage_err "a flag taking no value refuses one" "search: --json takes no value" search --db "$db" --json=1 x

# -k: the valid range still works, --k= too
n=$("$B" search --db "$db" --json --k=3 register | py -c 'import json,sys; print(len(json.load(sys.stdin)["results"]))')
check "--k=3 gives 3 results" test "$n" -eq 3

# options after the positional arguments are options, not words of the question
"$B" ask --db "$db" "What is the mcause register?" --json >"$T/a.json"
check "ask QUESTION --json prints JSON, question without --json" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["question"]=="What is the mcause register?", o["question"]' "$T/a.json"
"$B" search mcause register --db "$db" -k 2 --json >"$T/s.json"
check "search WORDS --db F -k 2 --json: options after the query" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["query"]=="mcause register" and len(o["results"])==2, o["query"]' "$T/s.json"

# "--" ends the options; "-" reads stdin
"$B" search --db "$db" --json -- -mcause >"$T/m.json"
check "search -- -mcause searches '-mcause'" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["query"]=="-mcause" and o["results"], o["query"]' "$T/m.json"
printf 'What does mtvec hold?\n\n' | "$B" ask --db "$db" --json - >"$T/q.json"
check "ask - reads the question from stdin (trailing newlines dropped)" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["question"]=="What does mtvec hold?", o["question"]' "$T/q.json"
echo mcause | "$B" search --db "$db" --json -k 1 - >"$T/q2.json"
check "search - reads the query from stdin" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["query"]=="mcause", o["query"]' "$T/q2.json"
usage_err "empty stdin is no question" "stdin ('-') held no question" ask --db "$db" - </dev/null

# global options before the command
"$B" --db "$db" -q search --json -k 1 mcause >"$T/g.json"
check "docrag --db F -q search ... (global options first)" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert len(o["results"])==1' "$T/g.json"
"$B" --set search.k=4 --db="$db" search --json mcause >"$T/g2.json"
check "docrag --set K=V --db=F search (global --set, --opt=value)" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert len(o["results"])==4, len(o["results"])' "$T/g2.json"

# --set: 300 flags are fine (the 33rd used to be "--set needs KEY=VALUE")
args=()
for _ in $(seq 1 299); do args+=(--set search.k=5); done
args+=(--set search.k=7)
"$B" config show --no-origin "${args[@]}" >"$T/cfg" 2>"$T/cfg.err"
check "300 --set flags are taken, the last wins" grep -q '^  k: 7' "$T/cfg"

# JSON ids are strings of digits, exactly the stored ids (past 2^53 a
# number is rounded by JavaScript and jq)
"$B" search --db "$db" --json -k 20 mcause >"$T/ids.json"
"$B" ask --db "$db" --json "What is the mcause register?" >"$T/ida.json"
check "search --json and ask --json: chunk_id is a string, the stored id" py - "$db" "$T/ids.json" "$T/ida.json" <<'PY'
import json, sqlite3, sys
ids = {r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT id FROM chunks")}
s = json.load(open(sys.argv[2]))
a = json.load(open(sys.argv[3]))
got = [h["chunk_id"] for h in s["results"]] + [c["chunk_id"] for c in a["citations"]]
assert got and all(isinstance(x, str) and x.isdigit() and int(x) in ids for x in got), got
assert any(int(x) > 2**53 for x in got), "the ids here pass 2^53: the test means something"
PY
# --doc: the base name as shown matches; a --doc matching nothing is an error
"$B" ask --db "$db" --json --doc riscv-privileged.pdf --pages 40-60 "What is the mcause register?" >"$T/d.json"
check "ask --doc BASENAME --pages A-B cites that document and those pages" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); c=o["citations"]; assert c and all(x["doc"].endswith("/riscv-privileged.pdf") and x["page_end"]>=40 and x["page_start"]<=60 for x in c), c' "$T/d.json"
set +e
"$B" search --db "$db" --doc nothing.pdf mcause >"$T/o" 2>"$T/e"; st=$?
set -e
check "search --doc matching no document: exit 1, names the glob and the documents" \
    sh -c "test $st -eq 1 && grep -q \"search: --doc 'nothing.pdf' matches none of the 1 indexed documents (riscv-privileged.pdf)\" '$T/e'"
set +e
"$B" ask --db "$db" --doc 'nothing*' mcause >/dev/null 2>"$T/e"; st=$?
set -e
check "ask --doc matching no document: exit 1, names it" sh -c "test $st -eq 1 && grep -q \"ask: --doc 'nothing\\*'\" '$T/e'"

# the fallback notice: in ask --json as search --json; -q silences it, -v adds diagnostics
"$B" ask --db "$db" --mode hybrid --json "What is mcause?" >"$T/n.json" 2>"$T/n.err"
check "ask --json carries the search fallback notice (search_notice)" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert "needs an embedder" in o["search_notice"], o.keys()' "$T/n.json"
"$B" ask -q --db "$db" --mode hybrid "What is mcause?" >/dev/null 2>"$T/q.err"
check "-q: no notice on stderr" test ! -s "$T/q.err"
"$B" search -v --db "$db" mcause >/dev/null 2>"$T/v.err"
check "-v: the profile, database and a summary on stderr" \
    sh -c "grep -q '^docrag: debug: profile local, config (default), database $db' '$T/v.err' && grep -q '^docrag: debug: search: mode bm25, 10 results' '$T/v.err'"

# the "chunks not embedded" warning: once per index, not on every run
w=$T/w.db
"$B" index --db "$w" "$DOCRAG_SHARED/corpus/riscv-card.pdf" >/dev/null 2>"$T/w1"
"$B" index --db "$w" "$DOCRAG_SHARED/corpus/riscv-card.pdf" >/dev/null 2>"$T/w2"
"$B" index -v --db "$w" "$DOCRAG_SHARED/corpus/riscv-card.pdf" >/dev/null 2>"$T/w3"
check "first index run warns that chunks are not embedded" grep -q "warning: chunks not embedded" "$T/w1"
check "second run does not warn again" sh -c "! grep -q 'chunks not embedded' '$T/w2'"
check "-v shows it again as a debug line" grep -q "debug: chunks not embedded" "$T/w3"
"$B" -q index --db "$T/w4.db" "$DOCRAG_SHARED/corpus/riscv-card.pdf" >/dev/null 2>"$T/w4"
check "-q index: no warning" test ! -s "$T/w4"
check_index "$w" "after the warning was recorded"

# models list and the default profile agree on the models folder
mkdir -p "$T/cwd"
(cd "$T/cwd" && env -u DOCRAG_MODELS "$B" models list >"$T/ml" && env -u DOCRAG_MODELS "$B" config show --no-origin >"$T/mc")
check "without DOCRAG_MODELS: models list reads ./models, the profile's model is under models/" \
    sh -c "grep -q '^no models under models\$' '$T/ml' && grep -q 'model: \"models/sentence-transformers/' '$T/mc'"
(cd "$T/cwd" && DOCRAG_MODELS=$T/mm "$B" models list >"$T/ml2" && DOCRAG_MODELS=$T/mm "$B" config show --no-origin >"$T/mc2")
check "with DOCRAG_MODELS: both read it" \
    sh -c "grep -q '^no models under $T/mm\$' '$T/ml2' && grep -q 'model: \"$T/mm/sentence-transformers/' '$T/mc2'"
# the text snippet is centred on the query's first match, not the chunk's start
"$B" search --db "$db" --json -k 10 "globally disabled" >"$T/sn.json"
"$B" search --db "$db" -k 10 "globally disabled" >"$T/sn.txt"
check "a match far into a chunk shows in its snippet" py - "$T/sn.json" "$T/sn.txt" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
lines = [l for l in open(sys.argv[2]).read().split("\n") if l.startswith("    ")]
far = [i for i, h in enumerate(o["results"]) if h["text"].lower().find("globally") > 300]
assert far, "a result whose match is past byte 300"
for i in far:
    assert lines[i].startswith("    ...") and "globally" in lines[i].lower(), lines[i]
PY
finish
