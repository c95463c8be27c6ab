#!/bin/bash
# MCP end to end with the official TypeScript SDK's client
# (tests/clients/mcp, node's test runner): POST /mcp of `docrag serve` over
# StreamableHTTPClientTransport and `docrag mcp` over StdioClientTransport
# -- initialize, tools/list, search/ask/get_page on the sample documents,
# tool errors and -32602, sessions, Origin, keys, batches in 2025-03-26.
. "$(dirname "$0")/lib.bash"
clients=$DOCRAG_SRC/tests/clients/mcp
if ! command -v node >/dev/null 2>&1 || [ ! -d "$clients/node_modules/@modelcontextprotocol/sdk" ]; then
    echo "node or the MCP SDK is missing: run scripts/install-deps.sh (npm ci --prefix tests/clients/mcp)" >&2
    exit 1
fi

"$DOCRAG_BIN" index --db "$T/docs.db" "$DOCRAG_SRC/data/samples" >/dev/null 2>&1
"$DOCRAG_BIN" index --db "$T/card.db" "$DOCRAG_SRC/data/samples/riscv-card.pdf" >/dev/null 2>&1
check "the samples are indexed" test -s "$T/docs.db" -a -s "$T/card.db"

read_key=mcp-read-key-0123456789
admin_key=mcp-admin-key-0123456789
origin=http://allowed.test
DOCRAG_API_KEY=$read_key DOCRAG_ADMIN_KEY=$admin_key \
    "$DOCRAG_BIN" serve --db "docs=$T/docs.db" --db "card=$T/card.db" --port 0 --workers 2 \
    --set "server.cors_origins=$origin" --set server.access_log=false 2>"$T/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$T"' EXIT
url=
for _ in $(seq 1 600); do
    url=$(listen_url "$T/serve.log")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
check "docrag serve is listening" test -n "$url"
[ -n "$url" ] || { cat "$T/serve.log"; finish; }

set +e
(cd "$clients" &&
    DOCRAG_MCP_URL="$url/mcp" DOCRAG_MCP_KEY=$read_key DOCRAG_MCP_ADMIN_KEY=$admin_key \
    DOCRAG_MCP_ORIGIN=$origin DOCRAG_MCP_DB="$T/docs.db" DOCRAG_BIN="$DOCRAG_BIN" \
    node --test --test-reporter=spec test/http.test.mjs test/stdio.test.mjs) >"$T/node.log" 2>&1
status=$?
set -e
cat "$T/node.log"
check "the MCP SDK client tests pass (node --test)" test "$status" -eq 0
check "the server stayed up" kill -0 "$pid"
kill "$pid"
serve_status=0
wait "$pid" || serve_status=$?
check "the server stops cleanly on SIGTERM (exit 0: no sanitizer report)" test "$serve_status" -eq 0
check "the server logged no error" bash -c '! grep -qi "error" "$1"' _ "$T/serve.log"
grep -i -A20 "error" "$T/serve.log" || true
finish
