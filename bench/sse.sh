#!/bin/sh
# sse.sh - STREAMS concurrent SSE answer streams (POST /v1/ask, "stream":
# true) from `docrag serve` with chains.llm [mock, extractive], the mock
# being tests/support/mock_api.py streaming its answer slowly (one token
# every DELAY_MS). Per stream: time to the first event (`sources`), to the
# first `delta`, to `done`; min/p50/max of each, to show whether any
# stream starves (bench/sse_streams.py). Prints figures, no pass/fail.
#
#   [N_DOCS=100000] [STREAMS=64] [DELAY_MS=50] [WORDS=30]
#   [WORKERS="64 <nproc>"] bench/sse.sh
#
# An answer holds its worker thread while the LLM streams (the HTTP client
# is blocking, src/net/client.c), so the run is made once per value of
# WORKERS: as many workers as streams, and the default (one per core). The
# back-end allows STREAMS requests in flight (max_in_flight). The index is
# bm25_latency.sh's; the questions are its 3-8-word span queries (the odd
# lines are IR questions, which the off-topic gate may refuse).
set -eu
cd "$(dirname "$0")/.."
. bench/serve_lib.sh
shared=${DOCRAG_SHARED:-../shared}
data=${DOCRAG_BENCH_DATA:-build/bench-data}
docs=${N_DOCS:-100000}
out=$data/bm25_$docs
db=$out/docrag.db
streams=${STREAMS:-64}
delay=${DELAY_MS:-50}
words=${WORDS:-30}
workers_list=${WORKERS:-$streams $(nproc)}
mkdir -p "$out"
cmake --build build --target docrag bench_inproc_search >/dev/null
[ -f "$out/corpus.jsonl" ] || python3 "$shared/tools/bm25_latency/make_corpus.py" "$out" "$docs"
[ -f "$db" ] || ./build/bench_inproc_search "$out" "$db" --seconds 0.2 --warmup 0 >/dev/null
tmp=$(mktemp -d)
mock=""
trap 'stop_server; [ -n "$mock" ] && kill "$mock" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

token=hf_SseBenchToken42
python3 tests/support/mock_api.py --port-file "$tmp/port" --token "$token" \
    --stream-delay-ms "$delay" >/dev/null 2>&1 &
mock=$!
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    [ "$i" -gt 200 ] && { echo "sse.sh: mock did not start" >&2; exit 1; }
    sleep 0.05
done
port=$(cat "$tmp/port")
# every chat answer: WORDS words citing [1]
answer=$(python3 -c "import sys; n=int(sys.argv[1]); print(' '.join('word%d' % i for i in range(n - 1)) + ' [1].')" "$words")
curl -s -XPOST "http://127.0.0.1:$port/_mock/chat" -d "{\"default\": \"$answer\"}" >/dev/null
python3 - "$out/queries.jsonl" >"$tmp/questions" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i % 2 == 0:
        print(json.loads(line)["text"])
PY
cat >"$tmp/docrag.yaml" <<YAML
backends:
  mock:
    type: hf_providers
    url: http://127.0.0.1:$port/v1
    model: meta-llama/Llama-3.1-8B-Instruct:fastest
    api_key: \${HF_TOKEN}
    max_retries: 0
    max_in_flight: $streams
    timeout_ms: 120000
chains:
  llm: [mock, extractive]
YAML

bench_cpu
echo "index: $db; $streams streams at once; mock: $words-word answers, one token every $delay ms"
for w in $workers_list; do
    echo
    echo "== docrag serve --workers $w (load $(bench_load))"
    HF_TOKEN=$token start_server "$tmp/server.log" ./build/docrag serve --db "$db" --port 0 \
        --workers "$w" --config "$tmp/docrag.yaml" --set server.max_queue=$((streams * 2))
    python3 bench/sse_streams.py "$srv_url" "$tmp/questions" --streams "$streams" \
        --timeout 300 | tail -n 6 || true
    stop_server
done
echo "load after: $(bench_load)"
