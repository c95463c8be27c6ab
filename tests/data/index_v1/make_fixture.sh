#!/bin/sh
# make_fixture.sh DOCRAG - the schema-version-1 index fixture of
# tests/integration/index_migrate.sh: three small sample files indexed by
# a docrag that writes schema version 1 (any build of commit 45a103c or
# earlier: `git worktree add /tmp/v1 45a103c`, build it, pass its docrag),
# and what that docrag's `search --json` printed on it (timings dropped).
# The file is kept in rollback-journal mode, one file, no -wal.
set -eu
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/docs"
cp "$src/data/samples/docrag-notes.md" "$src/data/samples/pdf-pages.html" \
   "$src/data/samples/riscv-card.pdf" "$tmp/docs/"
cd "$tmp"
env -u DOCRAG_DB -u DOCRAG_CONFIG "$bin" index --db v1.db docs >/dev/null
python3 - v1.db <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("select value from meta where key='schema_version'").fetchone()[0] == "1"
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("PRAGMA journal_mode=DELETE")
c.close()
PY
cp v1.db "$here/index_v1.db"
n=0
while IFS= read -r q; do
    n=$((n + 1))
    env -u DOCRAG_DB -u DOCRAG_CONFIG "$bin" search --db v1.db --json -k 5 "$q" |
        python3 -c 'import json,sys; o=json.load(sys.stdin); o.pop("timings_ms",None); print(json.dumps(o, sort_keys=True, indent=1))' \
        >"$here/search_$n.json"
done <"$here/queries.txt"
