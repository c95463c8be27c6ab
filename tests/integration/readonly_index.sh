#!/bin/bash
# An index on read-only storage is searchable (issue 13 #7, r06): a
# read-only file in a read-only folder (as an unprivileged user: root
# writes anyway), a read-only bind mount and a read-only tmpfs (as root,
# where mount works). Writing there fails with one clear message.
. "$(dirname "$0")/lib.bash"
chmod 755 "$T"
mkdir -p "$T/docs"
printf 'the mcause register holds the trap cause\n' >"$T/docs/a.txt"
printf 'a second file about quokkas\n' >"$T/docs/b.txt"
printf 'chains:\n  embed: [none]\n' >"$T/c.yaml"
"$DOCRAG_BIN" index --config "$T/c.yaml" --db "$T/src.db" "$T/docs" >/dev/null

# reads CMD...: search, stats (and the index's own check) succeed on DB
reads() {
    local db=$1 tag=$2
    shift 2
    local out
    out=$("$@" "$DOCRAG_BIN" search --config "$T/c.yaml" --db "$db" -k 1 mcause 2>&1) || true
    check "$tag: search finds the document" grep -q "a.txt" <<<"$out"
    check "$tag: stats works" "$@" "$DOCRAG_BIN" stats --config "$T/c.yaml" --db "$db"
}

# writes_fail DB TAG CMD...: index fails, naming the file and the reason
writes_fail() {
    local db=$1 tag=$2
    shift 2
    set +e
    "$@" "$DOCRAG_BIN" index --config "$T/c.yaml" --db "$db" "$T/docs" >"$T/w.out" 2>"$T/w.err"
    local st=$?
    set -e
    check "$tag: index fails" test "$st" -ne 0
    check "$tag: the message names the file and says it is read-only" \
        grep -q "$db: cannot write the index here: .*\(read-only\|not writable\)" "$T/w.err"
}

# 1. read-only file in a read-only folder, as an unprivileged user
mkdir -p "$T/ro"
cp "$T/src.db" "$T/ro/x.db"
chmod 444 "$T/ro/x.db"
chmod 555 "$T/ro"
if [ "$(id -u)" = 0 ]; then
    NB=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    if "${NB[@]}" true 2>/dev/null; then
        reads "$T/ro/x.db" "read-only folder" "${NB[@]}"
        writes_fail "$T/ro/x.db" "read-only folder" "${NB[@]}"
    else
        echo "skip - setpriv cannot drop to uid 65534 here"
    fi
else
    reads "$T/ro/x.db" "read-only folder" env
    writes_fail "$T/ro/x.db" "read-only folder" env
fi
check "no -shm or -wal was left in the read-only folder" \
    test -z "$(ls "$T/ro" | grep -v '^x.db$')"

# 2. read-only mounts (root only)
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$T/bsrc" "$T/bind" "$T/tmpfs"
    cp "$T/src.db" "$T/bsrc/x.db"
    if mount --bind -o ro "$T/bsrc" "$T/bind" 2>/dev/null; then
        trap 'umount "$T/bind" 2>/dev/null || true; umount "$T/tmpfs" 2>/dev/null || true; rm -rf "$T"' EXIT
        reads "$T/bind/x.db" "read-only bind mount" env
        writes_fail "$T/bind/x.db" "read-only bind mount" env
        umount "$T/bind"
    else
        echo "skip - mount --bind -o ro is not allowed here"
    fi
    if mount -t tmpfs -o size=8m tmpfs "$T/tmpfs" 2>/dev/null; then
        trap 'umount "$T/tmpfs" 2>/dev/null || true; rm -rf "$T"' EXIT
        cp "$T/src.db" "$T/tmpfs/x.db"
        mount -o remount,ro "$T/tmpfs"
        reads "$T/tmpfs/x.db" "read-only tmpfs" env
        writes_fail "$T/tmpfs/x.db" "read-only tmpfs" env
        umount "$T/tmpfs"
    else
        echo "skip - mount -t tmpfs is not allowed here"
    fi
else
    echo "skip - read-only mounts need root"
fi

# 3. a -wal with changes the file lacks cannot be read immutable: refused
# with a message saying what to do, never a silently stale answer.
mkdir -p "$T/walro"
py - "$T/walro/x.db" "$T/src.db" <<'PY'
import shutil, sqlite3, sys
shutil.copy(sys.argv[2], sys.argv[1])
c = sqlite3.connect(sys.argv[1])
c.execute("pragma wal_autocheckpoint=0")
c.execute("insert into meta values('pending', 'x')")
c.commit()
import os
os._exit(0)   # leave the -wal and -shm behind, as a crash would
PY
rm -f "$T/walro/x.db-shm"
chmod 555 "$T/walro"
if [ "$(id -u)" = 0 ]; then
    RUN=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
    RUN=(env)
fi
set +e
"${RUN[@]}" "$DOCRAG_BIN" search --config "$T/c.yaml" --db "$T/walro/x.db" mcause >/dev/null 2>"$T/wal.err"
st=$?
set -e
check "uncheckpointed -wal on read-only storage: search fails" test "$st" -ne 0
check "... saying the -wal holds changes" grep -q "\-wal file holds changes" "$T/wal.err"
chmod 755 "$T/walro" "$T/ro"
finish
