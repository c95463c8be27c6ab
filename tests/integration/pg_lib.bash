# pg_lib.bash - a PostgreSQL primary + standby for a shell test (sourced
# after lib.bash). pg_up starts one through tests/support/pg_cluster.sh and
# loads its variables (PGC_*, docs/postgres.md); the EXIT trap stops it and
# removes its folder, whatever the test did.
PG_CLUSTER="$DOCRAG_SRC/tests/support/pg_cluster.sh"
PGC_DIR=
pg_down() {
    if [ -n "$PGC_DIR" ] && [ -f "$PGC_DIR/env" ]; then
        bash "$PG_CLUSTER" stop "$PGC_DIR" || true
    fi
    rm -rf "$T"
}
trap pg_down EXIT
pg_up() {
    local rc=0 out
    PGC_DIR=$(mktemp -d /tmp/docrag-pg.XXXXXX)
    out=$(bash "$PG_CLUSTER" start "$PGC_DIR" 2>&1) || rc=$?
    if [ "$rc" = 77 ]; then
        echo "$out" >&2
        echo "PostgreSQL 15 binaries missing: this test needs Debian's postgresql-15" \
            "(scripts/install-deps.sh)" >&2
        exit 1
    elif [ "$rc" != 0 ]; then
        echo "$out" >&2
        exit 1
    fi
    # shellcheck disable=SC1091
    . "$PGC_DIR/env"
}
# pg_psql PORT SQL: run SQL as the docrag role over TCP (password auth).
pg_psql() {
    PGPASSWORD=$PGC_PASSWORD PGCONNECT_TIMEOUT=5 "$PGC_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -h "$PGC_HOST" -p "$1" -U "$PGC_USER" -d "$PGC_DB" -c "$2"
}
# pg_wait_standby SQL WANT: the standby's answer to SQL becomes WANT within 10 s.
pg_wait_standby() {
    local got
    for _ in $(seq 1 200); do
        got=$(pg_psql "$PGC_STANDBY_PORT" "$1" 2>/dev/null || true)
        [ "$got" = "$2" ] && return 0
        sleep 0.05
    done
    echo "standby answered \"$got\" to $1, wanted \"$2\"" >&2
    return 1
}
# pg_no_server DIR: no postgres process runs from DIR.
pg_no_server() {
    ! pgrep -f -- "-D $1/" >/dev/null 2>&1 && ! pgrep -f -- "$1/primary" >/dev/null 2>&1 &&
        ! pgrep -f -- "$1/standby" >/dev/null 2>&1
}
