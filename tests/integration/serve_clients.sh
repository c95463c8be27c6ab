#!/bin/bash
# Real client libraries from npm against `docrag serve` (tests/clients/,
# installed by scripts/install-deps.sh with npm ci): the official `openai`
# client on /v1/models, /v1/chat/completions and /v1/embeddings, the
# @huggingface/inference client and plain fetch on the TEI routes, and
# docrag's own TEI back-end aimed at docrag serve.
#
# Two servers on 127.0.0.1, port 0, with a read key: "plain" serves the
# sample index with the default configuration (no model weights here: no
# embedder, no reranker); "models" serves it embedded with the generated
# bi-encoder and cross-encoder of tests/data/models (collection "docs",
# default) plus a second collection "notes", with server.max_batch 4; "llm"
# answers through an LLM chain whose first member is the mock API
# (tests/support/mock_api.py, answers queued by the tests), then extractive.
. "$(dirname "$0")/lib.bash"
clients=$DOCRAG_SRC/tests/clients
if [ ! -d "$clients/node_modules/openai" ] || [ ! -d "$clients/node_modules/@huggingface/inference" ]; then
    echo "tests/clients/node_modules is missing: run scripts/install-deps.sh (npm ci --prefix tests/clients)" >&2
    exit 1
fi
models=$DOCRAG_SRC/tests/data/models
export DOCRAG_API_KEY=client-tests-read-key-6f1c2d
unset DOCRAG_ADMIN_KEY DOCRAG_CONFIG DOCRAG_DB

pids=()
mock=""
cleanup() {
    [ -n "$mock" ] && kill "$mock" 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/local.yaml" <<YAML
backends:
  local:
    type: local
    model: $models/bi-encoder
  cross:
    type: local
    model: $models/cross-encoder
chains:
  embed: [local]
  rerank: [cross]
server:
  max_batch: 4
YAML

"$DOCRAG_BIN" index --db "$T/plain.db" "$DOCRAG_SRC/data/samples" >"$T/index-plain.out" 2>&1
"$DOCRAG_BIN" index --config "$T/local.yaml" --db "$T/models.db" "$DOCRAG_SRC/data/samples" \
    >"$T/index-models.out" 2>&1
check "the models index has a vector per chunk" grep -q '^vectors: [0-9]* chunks, model bi-encoder (24-d)' "$T/index-models.out"

# start NAME ARGS...: docrag serve --port 0 ARGS in the background; waits
# (10 s at most) for "listening on URL", then for GET /ready; sets url.
start() {
    local name=$1
    shift
    url=""
    "$DOCRAG_BIN" serve --port 0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
    pids+=($!)
    for _ in $(seq 1 200); do
        url=$(listen_url "$T/$name.err")
        [ -n "$url" ] && break
        sleep 0.05
    done
    if [ -z "$url" ]; then
        echo "docrag serve ($name) did not start:" >&2
        cat "$T/$name.err" >&2
        exit 1
    fi
    for _ in $(seq 1 200); do
        curl -sf "$url/ready" >/dev/null && break
        sleep 0.05
    done
}

export MOCK_TOKEN=mock-llm-token-93b7
/usr/bin/python3 "$DOCRAG_SRC/tests/support/mock_api.py" --port-file "$T/mock.port" \
    --token "$MOCK_TOKEN" >/dev/null 2>&1 &
mock=$!
for _ in $(seq 1 200); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
mock_url=http://127.0.0.1:$(cat "$T/mock.port")
cat >"$T/llm.yaml" <<YAML
backends:
  mock:
    type: hf_providers
    url: $mock_url/v1
    model: meta-llama/Llama-3.1-8B-Instruct
    api_key: \${MOCK_TOKEN}
    max_retries: 0
chains:
  llm: [mock, extractive]
YAML

start plain --db "docs=$T/plain.db"
plain_url=$url
start models --config "$T/local.yaml" --db "docs=$T/models.db" --db "notes=$T/plain.db"
models_url=$url
start llm --config "$T/llm.yaml" --db "docs=$T/plain.db"
llm_url=$url

# docrag's own TEI back-end, aimed at the models server
cat >"$T/tei.yaml" <<YAML
backends:
  tei:
    type: tei
    url: $models_url
    api_key: \${DOCRAG_API_KEY}
chains:
  embed: [tei]
YAML

export DOCRAG_PLAIN_URL=$plain_url DOCRAG_MODELS_URL=$models_url DOCRAG_MODELS=$models \
    DOCRAG_LLM_URL=$llm_url DOCRAG_MOCK_URL=$mock_url \
    DOCRAG_MAX_BATCH=4 DOCRAG_MODELS_DB=$T/models.db DOCRAG_LOCAL_CONFIG=$T/local.yaml \
    DOCRAG_TEI_CONFIG=$T/tei.yaml
set +e
(cd "$clients" && node --test --test-reporter=spec openai.test.mjs tei.test.mjs) >"$T/node.out" 2>&1
rc=$?
set -e
cat "$T/node.out"
check "node --test: the openai and TEI client tests pass" [ "$rc" -eq 0 ]
check "node ran tests and none failed" sh -c "grep -Eq '^ℹ pass [1-9][0-9]*\$' '$T/node.out' && grep -Eq '^ℹ fail 0\$' '$T/node.out'"

# graceful stop: both servers exit 0 (under ASan/UBSan: with no report)
status=0
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" || status=$?; done
pids=()
check "the servers stop cleanly on SIGTERM (exit 0)" [ "$status" -eq 0 ]
check "no sanitizer report in the server logs" sh -c \
    "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/plain.err' '$T/models.err' '$T/llm.err'"
# the read key never reaches a log line
check "no key or token appears in a server log" sh -c \
    "! grep -Eq '$DOCRAG_API_KEY|$MOCK_TOKEN' '$T/plain.err' '$T/models.err' '$T/llm.err'"
finish
