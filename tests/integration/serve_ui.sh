#!/bin/bash
# The web UI end to end in headless Chromium (Debian's), driven by
# puppeteer-core with node's test runner (tests/browser): indexes
# data/samples, starts the mock LLM and two `docrag serve`s -- one open on
# loopback with the mock LLM in its chain, one that needs a read key and
# answers extractively -- and runs tests/browser/test/*.test.mjs against
# them. Screenshots go to $DOCRAG_TESTS_TMP/serve_ui-artifacts (kept after
# the run); DOCRAG_UI_UPDATE_DOCS=1 copies those docs/ui.md shows into docs/img/.
# A missing browser or puppeteer-core fails the test (it is not skipped).
. "$(dirname "$0")/lib.bash"
tests=$DOCRAG_SRC/tests/browser
chromium=${CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null 2>&1 || [ ! -d "$tests/node_modules/puppeteer-core" ]; then
    echo "node or puppeteer-core is missing: run scripts/install-deps.sh (npm ci --prefix tests/browser)" >&2
    exit 1
fi
if [ ! -x "$chromium" ]; then
    echo "Chromium is missing ($chromium): apt-get install chromium, or run scripts/install-deps.sh" >&2
    exit 1
fi
artifacts=${DOCRAG_TESTS_TMP:-/tmp}/serve_ui-artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"

"$DOCRAG_BIN" index --db "$T/docs.db" "$DOCRAG_SRC/data/samples" >/dev/null 2>&1
cp "$T/docs.db" "$T/key.db"
check "the samples are indexed" test -s "$T/docs.db"

/usr/bin/python3 "$DOCRAG_SRC/tests/support/mock_api.py" --port-file "$T/mock.port" \
    --stream-delay-ms 15 >/dev/null 2>&1 &
mock=$!
pids="$mock"
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
mock_url=http://127.0.0.1:$(cat "$T/mock.port")
cat >"$T/docrag.yaml" <<YAML
backends:
  mockllm:
    type: openai
    url: $mock_url/v1
    model: mock-llm
    api_key: sk-mock-ui-0123456789
    max_retries: 0
    monthly_budget_usd: 5
    price_in_per_mtok: 0.5
    price_out_per_mtok: 1.5
chains:
  llm: [mockllm, extractive]
YAML

# start_server LOG ARGS...: docrag serve in the background; its URL in $url
start_server() {
    local log=$1 pid
    shift
    "$@" 2>"$log" &
    pid=$!
    pids="$pids $pid"
    url=
    for _ in $(seq 1 600); do
        url=$(listen_url "$log")
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    server_pid=$pid
}
start_server "$T/open.log" "$DOCRAG_BIN" serve --db "$T/docs.db" --config "$T/docrag.yaml" \
    --port 0 --workers 2 --set server.access_log=false
open_url=$url open_pid=$server_pid
key=ui-read-key-0123456789
start_server "$T/key.log" env DOCRAG_API_KEY=$key "$DOCRAG_BIN" serve --db "$T/key.db" \
    --port 0 --workers 2 --set server.access_log=false
key_url=$url key_pid=$server_pid
check "the open server is listening" test -n "$open_url"
check "the keyed server is listening" test -n "$key_url"
[ -n "$open_url" ] && [ -n "$key_url" ] || { cat "$T/open.log" "$T/key.log"; finish; }

set +e
(cd "$tests" &&
    DOCRAG_UI_URL=$open_url DOCRAG_MOCK_URL=$mock_url DOCRAG_UI_KEY_URL=$key_url DOCRAG_UI_KEY=$key \
    DOCRAG_UI_ARTIFACTS=$artifacts CHROMIUM=$chromium \
    node --test --test-concurrency=1 --test-reporter=spec test/ui.test.mjs test/key.test.mjs) \
    >"$T/node.log" 2>&1
status=$?
set -e
cat "$T/node.log"
check "the browser tests pass (node --test)" test "$status" -eq 0
check "no browser test was skipped" bash -c "! grep -Eq '^ *(SKIP: |# SKIP|ℹ skipped [1-9])' '$T/node.log'"
echo "figures (also in docs/ui.md):"
sed -n 's/^ *FIGURE /  /p' "$T/node.log"
echo "screenshots: $artifacts/ui-*.png"
if [ "${DOCRAG_UI_UPDATE_DOCS:-0}" = 1 ]; then
    mkdir -p "$DOCRAG_SRC/docs/img"
    for shot in ask viewer-text documents analytics phone key-prompt; do
        cp "$artifacts/ui-$shot.png" "$DOCRAG_SRC/docs/img/"
    done
    echo "copied the screenshots docs/ui.md shows into docs/img/"
fi

for name in open key; do
    eval "pid=\$${name}_pid"
    check "the $name server stayed up" kill -0 "$pid"
    kill "$pid"
    st=0
    wait "$pid" || st=$?
    check "the $name server stops cleanly on SIGTERM (exit 0: no sanitizer report)" test "$st" -eq 0
    grep -A80 "Sanitizer" "$T/$name.log" || true
done
# the broken PDF the test uploads is logged as a failed file; nothing else
check "the servers logged no other error" bash -c \
    '! grep -i "error" "$1" "$2" | grep -v "broken-.*\.pdf"' _ "$T/open.log" "$T/key.log"
grep -i "error" "$T/open.log" "$T/key.log" | grep -v "broken-.*\.pdf" || true
finish
