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
    d=$1; shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
need_shared() {
    if [ ! -e "$DOCRAG_SHARED/$1" ]; then
        echo "shared data missing: $DOCRAG_SHARED/$1 (set DOCRAG_SHARED)" >&2
        exit 1
    fi
}
py() { /usr/bin/python3 "$@"; }
finish() {
    echo "$n_pass passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
