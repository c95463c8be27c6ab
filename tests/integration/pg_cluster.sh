#!/bin/bash
# pg_cluster.sh - tests/support/pg_cluster.sh brings up a primary and a
# streaming standby, replicates a write, restarts, promotes and stops
# leaving nothing running; as root it runs the servers as an unprivileged
# user, and it works when run by that user too.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/pg_lib.bash"

run_cycle() { # run_cycle WHO: the whole life of one cluster
    local who=$1 dir
    pg_up
    dir=$PGC_DIR
    check "$who: status shows a primary and a standby" \
        test "$(bash "$PG_CLUSTER" status "$dir" | awk '{print $1, $2, $3}' | tr '\n' ';')" \
        = "primary up primary;standby up standby;"
    check "$who: ports differ and are not 5432" \
        test "$PGC_PRIMARY_PORT" != "$PGC_STANDBY_PORT" -a "$PGC_PRIMARY_PORT" != 5432
    check "$who: sockets are in the cluster folder" test -S "$PGC_SOCK/.s.PGSQL.$PGC_PRIMARY_PORT"
    check "$who: env file is private" test "$(stat -c %a "$dir/env")" = 600
    check "$who: write on the primary" \
        pg_psql "$PGC_PRIMARY_PORT" "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2)"
    check "$who: the standby streams the write" pg_wait_standby "SELECT sum(x) FROM t" 3
    if pg_psql "$PGC_STANDBY_PORT" "INSERT INTO t VALUES (9)" 2>"$T/ro.err"; then
        fail "$who: the standby refuses writes"
    else
        check "$who: the standby refuses writes" grep -q "read-only transaction" "$T/ro.err"
    fi
    if out=$(PGPASSWORD=wrong "$PGC_BIN/psql" -X -At -h "$PGC_HOST" -p "$PGC_PRIMARY_PORT" \
            -U "$PGC_USER" -d "$PGC_DB" -c "SELECT 1" 2>&1); then
        fail "$who: a wrong password is refused"
    else
        check "$who: a wrong password is refused" grep -q "password authentication failed" <<<"$out"
    fi
    check "$who: restart the primary" bash "$PG_CLUSTER" restart "$dir" primary
    check "$who: the write survived the restart" \
        test "$(pg_psql "$PGC_PRIMARY_PORT" "SELECT count(*) FROM t")" = 2
    check "$who: stop and start the standby" \
        bash -c "bash '$PG_CLUSTER' stop '$dir' standby && bash '$PG_CLUSTER' start '$dir' standby"
    check "$who: promote the standby" bash "$PG_CLUSTER" promote "$dir"
    check "$who: the promoted standby takes writes" \
        pg_psql "$PGC_STANDBY_PORT" "INSERT INTO t VALUES (3)"
    check "$who: and has every earlier write" \
        test "$(pg_psql "$PGC_STANDBY_PORT" "SELECT sum(x) FROM t")" = 6
    check "$who: status shows two primaries after promotion" \
        test "$(bash "$PG_CLUSTER" status "$dir" | awk '{print $3}' | tr '\n' ' ')" = "primary primary "
    check "$who: stop" bash "$PG_CLUSTER" stop "$dir"
    check "$who: the folder is gone" test ! -e "$dir"
    check "$who: no server is left running" pg_no_server "$dir"
    PGC_DIR=
}

if [ "$(id -u)" = 0 ]; then
    run_cycle root
    check "as root the servers ran as $PGC_OS_USER, not root" test "$PGC_OS_USER" != root
    # the same script run by an ordinary user (the one it ran the servers as)
    user=$PGC_OS_USER
    out=$(runuser -u "$user" -- env PATH="$PATH" bash "$PG_CLUSTER" start 2>&1) ||
        { echo "$out"; fail "as $user: start"; }
    dir=$(sed -n "s/^PGC_DIR='\(.*\)'$/\1/p" <<<"$out")
    if [ -n "$dir" ]; then
        PGC_DIR=$dir # the EXIT trap stops it should a check below fail hard
        check "as $user: the folder belongs to $user" test "$(stat -c %U "$dir")" = "$user"
        check "as $user: status" \
            test "$(runuser -u "$user" -- bash "$PG_CLUSTER" status "$dir" | awk '{print $2}' | tr '\n' ' ')" = "up up "
        check "as $user: stop" runuser -u "$user" -- bash "$PG_CLUSTER" stop "$dir"
        check "as $user: nothing left" pg_no_server "$dir"
        [ ! -d "$dir" ] || bash "$PG_CLUSTER" stop "$dir" || true
        PGC_DIR=
    fi
else
    run_cycle "$(id -un)"
fi
check "a folder that is not a cluster is refused by name" \
    bash -c "bash '$PG_CLUSTER' status '$T' 2>&1 | grep -q '$T: not a cluster folder'"
finish
