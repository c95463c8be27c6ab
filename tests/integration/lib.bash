# lib.bash - helpers for the shell integration tests (sourced, not run).
set -eu
: "${DOCRAG_BIN:?set by CTest}" "${DOCRAG_SRC:?}" "${DOCRAG_SHARED:?}"
T=$(mktemp -d "${DOCRAG_TESTS_TMP:-/tmp}/$(basename "$0" .sh)-XXXXXX")
trap 'rm -rf "$T"' EXIT
n_pass=0
n_fail=0
pass() { n_pass=$((n_pass + 1)); echo "ok - $*"; }
fail() { n_fail=$((n_fail + 1)); echo "FAIL - $*"; }
check() { # check "description" command...
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}
need_shared() {
    if [ ! -e "$DOCRAG_SHARED/$1" ]; then
        echo "shared data missing: $DOCRAG_SHARED/$1 (set DOCRAG_SHARED)" >&2
        exit 1
    fi
}
py() { /usr/bin/python3 "$@"; }
# listen_url LOG: the URL of docrag serve's "listening on URL" line in LOG,
# or nothing while there is none yet (LOG may not exist yet: the background
# shell opens it after the caller's first look).
listen_url() {
    [ -f "$1" ] || return 0
    sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$1"
}
# kill9_at DB SQL N CMD...: run CMD in the background, wait (up to 20 s)
# until DB exists and the count SQL selects is >= N, then kill -9 it; then
# check that DB passes SQLite's integrity_check.
kill9_at() {
    local db=$1 sql=$2 n=$3 pid
    shift 3
    "$@" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 400); do
        if [ -f "$db" ] && py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); sys.exit(0 if c.execute(sys.argv[2]).fetchone()[0] >= int(sys.argv[3]) else 1)' "$db" "$sql" "$n" 2>/dev/null; then
            break
        fi
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    check "database passes integrity_check after kill -9 (at $sql >= $n)" \
        py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute("PRAGMA integrity_check").fetchone()[0]=="ok"' "$db"
    check_index "$db" "after kill -9 (at $sql >= $n)"
}
# check_index DB WHEN: `docrag check` finds no problem in DB (SQLite's
# integrity_check and docrag's own invariants, docs/check.md).
check_index() {
    local out
    if out=$("$DOCRAG_BIN" check --db "$1" 2>&1); then
        pass "docrag check passes $2"
    else
        printf '%s\n' "$out"
        fail "docrag check passes $2"
    fi
}
finish() {
    echo "$n_pass passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
