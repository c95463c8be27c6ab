#!/bin/sh
# entrypoint.sh - run docrag in the Hugging Face Space image.
#
#   entrypoint.sh bake            (docker build) index APP/samples into APP/index/docrag.db
#   entrypoint.sh [SERVE-OPTION]...  pick the data directory, seed it, exec `docrag serve`
#   entrypoint.sh COMMAND ARG...  the same, then exec `docrag COMMAND ARG...` (stats, ask, ...)
#
# The image's app directory (APP, where this script lives) is read-only at
# run time, so everything docrag writes -- the index, its WAL, uploaded
# files -- goes to the data directory:
#   $DOCRAG_DATA_DIR if set; else /data when it is a writable directory
#   (persistent storage attached to the Space); else $HOME/data (the
#   container's disk: lost when the Space restarts).
# The index baked at build time is copied there on first start only: an
# index already there (with the documents uploaded since) is kept. The copy
# is made under a temporary name and renamed, so a start interrupted midway
# never leaves a half-copied index that a later start would keep.
#
# Environment: DOCRAG_PREFIX (/opt/docrag, the `cmake --install` prefix),
# DOCRAG_APP_DIR (this script's folder), DOCRAG_PERSIST_DIR (/data),
# DOCRAG_DATA_DIR; CPU_CORES (set by Spaces) sizes the worker pool unless
# DOCRAG_SERVER_WORKERS is set; DOCRAG_API_KEY makes reading private unless
# DOCRAG_SERVER_ANONYMOUS is set. Everything else is docrag's own
# configuration: the hf_spaces profile (SPACE_ID) binds 0.0.0.0:7860, reads
# HF_TOKEN, DOCRAG_API_KEY and DOCRAG_ADMIN_KEY (docs/deploy.md).
set -eu

say() { echo "entrypoint: $*" >&2; }

app=${DOCRAG_APP_DIR:-$(cd "$(dirname "$0")" && pwd)}
prefix=${DOCRAG_PREFIX:-/opt/docrag}
docrag=$prefix/bin/docrag
baked=$app/index/docrag.db

if [ "${1:-}" = bake ]; then
    # Same profile as the running Space (no embedding model: BM25), so the
    # baked index is what the server would have built itself.
    rm -rf "$app/index"
    mkdir -p "$app/index"
    "$docrag" index --profile hf_spaces --db "$baked" "$app/samples"
    # One self-contained file: the last connection checkpointed and removed
    # the WAL; the server opens its own copy in the data directory.
    if [ -e "$baked-wal" ] || [ -e "$baked-journal" ]; then
        say "bake: $baked has a -wal/-journal beside it; the index was not closed cleanly"
        exit 1
    fi
    exit 0
fi

persist=${DOCRAG_PERSIST_DIR:-/data}
if [ -n "${DOCRAG_DATA_DIR:-}" ]; then
    data=$DOCRAG_DATA_DIR
    say "data directory $data (DOCRAG_DATA_DIR)"
elif [ -d "$persist" ] && [ -w "$persist" ]; then
    data=$persist
    say "data directory $data (persistent storage)"
else
    data=${HOME:?HOME is not set}/data
    if [ -d "$persist" ]; then
        say "data directory $data: $persist is not writable by uid $(id -u); uploads are lost when the Space restarts"
    else
        say "data directory $data: no persistent storage at $persist; uploads are lost when the Space restarts"
    fi
fi
mkdir -p "$data"
db=$data/docrag.db

if [ -e "$db" ]; then
    say "keeping the index at $db"
elif [ -f "$baked" ]; then
    tmp=$data/.docrag.db.seed.$$
    rm -f "$tmp"
    cp "$baked" "$tmp"
    # cp keeps the source's mode, and the app directory's files may have no
    # write bit at all: the copy must be writable, or every upload fails.
    chmod u+w "$tmp"
    mv "$tmp" "$db"
    say "seeded $db with the sample index baked into the image"
else
    say "no baked index at $baked: starting with an empty index"
fi
export DOCRAG_DB="$db"

# The hf_spaces profile opens reading to anonymous callers; a Space owner who
# sets DOCRAG_API_KEY wants the opposite (a key alone would not close it).
if [ -n "${DOCRAG_API_KEY:-}" ] && [ -z "${DOCRAG_SERVER_ANONYMOUS:-}" ]; then
    export DOCRAG_SERVER_ANONYMOUS=none
    say "DOCRAG_API_KEY is set: reads need a key (DOCRAG_SERVER_ANONYMOUS=read keeps them public)"
fi

case ${CPU_CORES:-} in
    '' | *[!0-9]*) ;;
    *) export DOCRAG_SERVER_WORKERS="${DOCRAG_SERVER_WORKERS:-$CPU_CORES}" ;;
esac

case ${1:-} in
    '' | -*) exec "$docrag" serve "$@" ;;
    serve) shift; exec "$docrag" serve "$@" ;;
    *) exec "$docrag" "$@" ;;
esac
