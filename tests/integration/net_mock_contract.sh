#!/usr/bin/env bash
# net_mock_contract.sh - the mock API answers in the shapes
# ../shared/api_contracts.md gives for each service, so tests that use it
# test against the contract (checked here with Python's json module).
set -euo pipefail
: "${DOCRAG_SRC:?}"
exec python3 - "$DOCRAG_SRC/tests/support/mock_api.py" <<'PY'
import json, subprocess, sys, tempfile, time, os, urllib.request, urllib.error

script = sys.argv[1]
tmp = tempfile.mkdtemp()
pf = os.path.join(tmp, "port")
proc = subprocess.Popen([sys.executable, script, "--port-file", pf, "--token", "tok"],
                        stdout=subprocess.DEVNULL)
try:
    for _ in range(200):
        if os.path.exists(pf):
            break
        time.sleep(0.02)
    base = "http://127.0.0.1:%s" % open(pf).read().strip()

    def call(path, body=None, auth=True, fault=None):
        req = urllib.request.Request(base + path, data=None if body is None else
                                     json.dumps(body).encode(), method="POST" if body is not None else "GET")
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", "Bearer tok")
        if fault:
            req.add_header("X-Mock-Fault", fault)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def check(cond, what):
        if not cond:
            print("FAIL:", what)
            sys.exit(1)

    # TEI
    st, _, b = call("/health", auth=False)
    check(st == 200 and b == b"", "TEI /health 200 empty, public")
    st, _, b = call("/embed", {"inputs": ["a", "b c"]})
    v = json.loads(b)
    check(st == 200 and len(v) == 2 and all(isinstance(x, list) for x in v), "TEI /embed list of lists")
    st, _, b = call("/embed", {"inputs": "a"})
    check(len(json.loads(b)) == 1, "TEI /embed single string -> one vector")
    st, _, b = call("/embed", {"inputs": ["x"] * 33})
    e = json.loads(b)
    check(st == 422 and e["error_type"] == "Validation" and "33" in e["error"], "TEI batch > 32 -> 422")
    st, _, b = call("/rerank", {"query": "deep learning", "texts": ["cats", "deep learning is", "learning"]})
    r = json.loads(b)
    check(isinstance(r, list) and [x["index"] for x in r][0] == 1 and
          all(r[i]["score"] >= r[i + 1]["score"] for i in range(len(r) - 1)) and "text" not in r[0],
          "TEI /rerank bare array sorted desc")
    st, _, b = call("/rerank", {"query": "q", "texts": []})
    check(st == 400 and json.loads(b)["error_type"] == "Empty", "TEI empty texts -> 400 Empty")
    st, _, b = call("/info")
    i = json.loads(b)
    check("model_id" in i and "max_client_batch_size" in i and "model_type" in i, "TEI /info")
    st, _, b = call("/embed", {"inputs": "a"}, auth=False)
    check(st == 401 and b == b"", "TEI 401 empty body")
    st, h, b = call("/embed", {"inputs": "a"}, fault="429")
    check(st == 429 and json.loads(b)["error_type"] == "Overloaded", "TEI 429 Overloaded")
    # OpenAI-compatible
    st, _, b = call("/v1/embeddings", {"input": ["a", "b"], "model": "m"})
    o = json.loads(b)
    check(o["object"] == "list" and o["data"][1]["index"] == 1 and
          o["data"][0]["object"] == "embedding" and "total_tokens" in o["usage"], "/v1/embeddings")
    st, _, b = call("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    o = json.loads(b)
    check(o["object"] == "chat.completion" and o["choices"][0]["message"]["role"] == "assistant" and
          o["choices"][0]["finish_reason"] == "stop" and "total_tokens" in o["usage"], "chat non-stream")
    st, _, b = call("/v1/chat/completions", {"model": "m", "stream": True,
                                              "messages": [{"role": "user", "content": "hi"}]})
    events = [l[6:] for l in b.decode().split("\n") if l.startswith("data: ")]
    check(events[-1] == "[DONE]" and json.loads(events[0])["object"] == "chat.completion.chunk",
          "chat stream SSE ends with [DONE]")
    check(all("usage" not in json.loads(e) for e in events[:-1]), "no usage chunk unless asked")
    st, _, b = call("/v1/chat/completions", {"model": "m"}, auth=False)
    check(st == 401 and json.loads(b)["error"]["code"] == "invalid_api_key", "OpenAI 401 shape")
    # Ollama
    st, _, b = call("/api/embed", {"model": "all-minilm", "input": ["a", "b"]}, auth=False)
    o = json.loads(b)
    check(len(o["embeddings"]) == 2 and "total_duration" in o, "ollama /api/embed")
    st, _, b = call("/api/tags", auth=False)
    check(json.loads(b)["models"][0]["details"]["family"] == "llama", "ollama /api/tags")
    st, _, b = call("/api/chat", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, auth=False)
    lines = [json.loads(l) for l in b.decode().splitlines()]
    check(lines[-1]["done"] is True and "eval_count" in lines[-1] and lines[0]["done"] is False,
          "ollama NDJSON chat")
    st, _, b = call("/api/chat", {"model": "m"}, auth=False, fault="500")
    check(st == 500 and "error" in json.loads(b), "ollama error shape")
    # HF router + classic
    st, _, b = call("/hf-inference/models/x/y/pipeline/feature-extraction", {"inputs": ["a", "b"]})
    check(len(json.loads(b)) == 2, "router feature-extraction number[][]")
    st, _, b = call("/models/x/y", {"inputs": "a"}, fault="503;estimated_time=20")
    e = json.loads(b)
    check(st == 503 and e["estimated_time"] == 20.0 and "loading" in e["error"], "classic 503 estimated_time")
    # Cohere v2 / Jina v1
    st, _, b = call("/v2/rerank", {"model": "r", "query": "capital", "documents": ["x", "the capital"], "top_n": 1})
    o = json.loads(b)
    check(len(o["results"]) == 1 and o["results"][0]["index"] == 1 and "meta" in o and "id" in o, "cohere v2")
    st, _, b = call("/v1/rerank", {"model": "r", "query": "q", "documents": ["q a", "b"], "return_documents": True})
    o = json.loads(b)
    check(o["results"][0]["document"]["text"] == "q a" and "total_tokens" in o["usage"], "jina v1")
    print("ok: mock follows the contract shapes")
finally:
    proc.terminate()
    proc.wait()
PY
