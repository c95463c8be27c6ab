#!/bin/bash
# pg_cli.sh - a postgres:// database on the command line that cannot be
# reached (port 1): every command fails by the endpoint, never prints the
# password, and creates no file named like the URL (tests/integration/
# pg_replicas.sh runs the commands on a real server).
source "$(dirname "$0")/lib.bash"
cd "$T"
url='postgres://ann:Sekr1t%2Fpw@127.0.0.1:1/books?sslmode=disable'
for cmd in "search hello" "ask what" "index $DOCRAG_SRC/data/samples" "stats"; do
    # shellcheck disable=SC2086
    if "$DOCRAG_BIN" $cmd --db "$url" >"$T/out" 2>"$T/err"; then
        fail "$cmd --db postgres://… fails"
    else
        pass "$cmd --db postgres://… fails"
    fi
    check "$cmd: the message names the endpoint" grep -q "postgres://ann@127.0.0.1:1/books" "$T/err"
    check "$cmd: and says why" grep -Eq "cannot connect|not in this build" "$T/err"
    check "$cmd: no password in the output" bash -c "! grep -q Sekr1t '$T/out' '$T/err'"
done
check "no file named like the URL" test ! -e "$T/postgres:"

check "config show masks the password" \
    bash -c "'$DOCRAG_BIN' config show --db '$url' | grep -q 'ann:\*\*\*\*@'"
finish
