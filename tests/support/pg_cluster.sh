#!/bin/bash
# pg_cluster.sh - a throw-away PostgreSQL 15 primary and streaming standby
# for the tests (docs/postgres.md).
#
#   pg_cluster.sh start [DIR]        create DIR (default: a new /tmp/docrag-pg.XXXXXX),
#                                    initdb a primary, pg_basebackup a standby
#                                    that streams from it, start both; prints
#                                    the cluster's variables (also in DIR/env)
#   pg_cluster.sh start DIR NODE     start one stopped node (primary|standby)
#   pg_cluster.sh stop DIR [NODE]    stop one node; without NODE stop both and
#                                    remove DIR
#   pg_cluster.sh restart DIR [NODE] fast restart (default: primary)
#   pg_cluster.sh promote DIR        promote the standby; it becomes writable
#   pg_cluster.sh status DIR         one line per node: up/down, role, port
#
# The servers listen on 127.0.0.1 at two free ports chosen at start, and on
# unix sockets in DIR/sock (short /tmp paths: a socket path must fit 107
# bytes). initdb refuses to run as root: as root the servers run as the
# "postgres" user Debian's package creates (or a "docrag-pg" system user
# this script creates if there is none) and DIR belongs to it; as anyone
# else they run as that user. The binaries are Debian's postgresql-15 in
# /usr/lib/postgresql/15/bin, named by path (another pg_ctl may be first in
# PATH); PG_BIN overrides.
#
# Roles: the OS user's superuser (trust on the sockets only) and "docrag",
# a login role with a random password (scram-sha-256 over TCP), owner of
# database "docrag". DIR/env (mode 600) holds:
#   PGC_DIR PGC_SOCK PGC_HOST PGC_PRIMARY_PORT PGC_STANDBY_PORT PGC_OS_USER
#   PGC_SUPERUSER PGC_USER PGC_PASSWORD PGC_DB PGC_BIN
# Exit status: 0 done, 1 failed (message on stderr), 77 binaries missing.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
me=pg_cluster.sh

die() { echo "$me: $*" >&2; exit 1; }

need_bins() {
    local b
    for b in initdb pg_ctl pg_basebackup postgres psql; do
        if [ ! -x "$PG_BIN/$b" ] && ! { [ "$b" = psql ] && command -v psql >/dev/null; }; then
            echo "$me: $PG_BIN/$b is missing: install Debian's postgresql-15" \
                "(scripts/install-deps.sh) or set PG_BIN" >&2
            exit 77
        fi
    done
}

psql_bin() { if [ -x "$PG_BIN/psql" ]; then echo "$PG_BIN/psql"; else command -v psql; fi; }

# The OS user the servers run as, created when needed (root only).
os_user() {
    if [ "$(id -u)" != 0 ]; then
        id -un
        return
    fi
    if getent passwd postgres >/dev/null; then
        echo postgres
        return
    fi
    if ! getent passwd docrag-pg >/dev/null; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin docrag-pg >/dev/null 2>&1 ||
            getent passwd docrag-pg >/dev/null || die "cannot create user docrag-pg"
    fi
    echo docrag-pg
}

# as CMD...: run CMD as the cluster's OS user.
as() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$PGC_OS_USER" -- "$@"
    else
        "$@"
    fi
}

# Two distinct free TCP ports on 127.0.0.1 (bound, read and released).
free_ports() {
    python3 -c '
import socket
ss = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

load_env() {
    [ -n "${1:-}" ] || die "no cluster folder given"
    [ -f "$1/env" ] || die "$1: not a cluster folder (no env file)"
    # shellcheck disable=SC1091
    . "$1/env"
}

node_dir() {
    case $1 in
    primary | standby) echo "$PGC_DIR/$1" ;;
    *) die "unknown node \"$1\" (primary or standby)" ;;
    esac
}

node_port() { if [ "$1" = primary ]; then echo "$PGC_PRIMARY_PORT"; else echo "$PGC_STANDBY_PORT"; fi; }

node_up() { as "$PG_BIN/pg_ctl" -D "$(node_dir "$1")" status >/dev/null 2>&1; }

start_node() {
    local d
    d=$(node_dir "$1")
    node_up "$1" && return 0
    as "$PG_BIN/pg_ctl" -D "$d" -l "$PGC_DIR/$1.log" -w -t 60 start >/dev/null ||
        { tail -20 "$PGC_DIR/$1.log" >&2; die "$1 did not start (log: $PGC_DIR/$1.log)"; }
}

stop_node() {
    local d
    d=$(node_dir "$1")
    [ -f "$d/postmaster.pid" ] || return 0
    as "$PG_BIN/pg_ctl" -D "$d" -m fast -w -t 60 stop >/dev/null 2>&1 ||
        as "$PG_BIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
}

sql() { # sql PORT DB QUERY: run as the superuser over the socket
    as "$(psql_bin)" -X -q -At -v ON_ERROR_STOP=1 -h "$PGC_SOCK" -p "$1" \
        -U "$PGC_SUPERUSER" -d "$2" -c "$3"
}

cmd_create() {
    need_bins
    local dir=${1:-} ports
    if [ -z "$dir" ]; then
        dir=$(mktemp -d /tmp/docrag-pg.XXXXXX)
    else
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
    fi
    [ ! -e "$dir/env" ] || die "$dir: a cluster is there already"
    [ ${#dir} -le 80 ] || die "$dir: path too long for a unix socket under it"
    PGC_DIR=$dir
    PGC_SOCK=$dir/sock
    PGC_OS_USER=$(os_user)
    PGC_SUPERUSER=$PGC_OS_USER
    PGC_USER=docrag
    PGC_DB=docrag
    PGC_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    read -r PGC_PRIMARY_PORT PGC_STANDBY_PORT < <(free_ports)
    mkdir -p "$PGC_SOCK"
    if [ "$(id -u)" = 0 ]; then
        chown -R "$PGC_OS_USER" "$dir"
        chmod 700 "$dir"
        # the folders above must be traversable for the server's user
        [ -x "$(dirname "$dir")" ] || die "$(dirname "$dir"): not reachable by $PGC_OS_USER"
    fi
    umask 077
    cat >"$dir/env" <<EOF
PGC_DIR='$PGC_DIR'
PGC_SOCK='$PGC_SOCK'
PGC_HOST=127.0.0.1
PGC_PRIMARY_PORT=$PGC_PRIMARY_PORT
PGC_STANDBY_PORT=$PGC_STANDBY_PORT
PGC_OS_USER='$PGC_OS_USER'
PGC_SUPERUSER='$PGC_SUPERUSER'
PGC_USER='$PGC_USER'
PGC_PASSWORD='$PGC_PASSWORD'
PGC_DB='$PGC_DB'
PGC_BIN='$PG_BIN'
EOF
    [ "$(id -u)" != 0 ] || chown "$PGC_OS_USER" "$dir/env"
    umask 022

    as "$PG_BIN/initdb" -D "$dir/primary" -U "$PGC_SUPERUSER" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    cat >>"$dir/primary/postgresql.conf" <<EOF
# pg_cluster.sh
listen_addresses = '127.0.0.1'
port = $PGC_PRIMARY_PORT
unix_socket_directories = '$PGC_SOCK'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 60
log_min_messages = warning
EOF
    cat >"$dir/primary/pg_hba.conf" <<EOF
# pg_cluster.sh: the OS user's superuser over the sockets; everyone else
# by password over TCP; replication for the standby over the socket.
local all $PGC_SUPERUSER trust
local replication $PGC_SUPERUSER trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
EOF
    start_node primary
    sql "$PGC_PRIMARY_PORT" postgres "CREATE ROLE $PGC_USER LOGIN PASSWORD '$PGC_PASSWORD'" >/dev/null
    sql "$PGC_PRIMARY_PORT" postgres "CREATE DATABASE $PGC_DB OWNER $PGC_USER" >/dev/null
    as "$PG_BIN/pg_basebackup" -h "$PGC_SOCK" -p "$PGC_PRIMARY_PORT" -U "$PGC_SUPERUSER" \
        -D "$dir/standby" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
        { cat "$dir/basebackup.log" >&2; die "pg_basebackup failed"; }
    echo "port = $PGC_STANDBY_PORT" >>"$dir/standby/postgresql.conf"
    start_node standby
    grep -v "^PGC_PASSWORD=" "$dir/env"
}

cmd_stop_all() {
    load_env "$1"
    stop_node standby
    stop_node primary
    case $PGC_DIR in
    /*/*) rm -rf "$PGC_DIR" ;;
    *) die "$PGC_DIR: refusing to remove" ;;
    esac
}

cmd_promote() {
    load_env "$1"
    as "$PG_BIN/pg_ctl" -D "$PGC_DIR/standby" -w -t 60 promote >/dev/null ||
        die "promote failed (log: $PGC_DIR/standby.log)"
    # pg_ctl -w returns once the server has left recovery
    [ "$(sql "$PGC_STANDBY_PORT" postgres 'SELECT pg_is_in_recovery()')" = f ] ||
        die "the standby is still in recovery after promote"
}

cmd_status() {
    load_env "$1"
    local n port role
    for n in primary standby; do
        port=$(node_port $n)
        if node_up $n; then
            role=$(sql "$port" postgres \
                "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END" \
                2>/dev/null || echo unknown)
            echo "$n up $role $port"
        else
            echo "$n down - $port"
        fi
    done
}

case ${1:-} in
start)
    if [ -n "${3:-}" ]; then
        need_bins
        load_env "$2"
        start_node "$3"
    else
        cmd_create "${2:-}"
    fi
    ;;
stop)
    if [ -n "${3:-}" ]; then
        load_env "$2"
        stop_node "$3"
    else
        cmd_stop_all "${2:-}"
    fi
    ;;
restart)
    load_env "${2:-}"
    stop_node "${3:-primary}"
    start_node "${3:-primary}"
    ;;
promote) cmd_promote "${2:-}" ;;
status) cmd_status "${2:-}" ;;
*)
    echo "usage: $me start [DIR] | start DIR NODE | stop DIR [NODE] | restart DIR [NODE] |" \
        "promote DIR | status DIR" >&2
    exit 2
    ;;
esac
