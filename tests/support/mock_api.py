#!/usr/bin/env python3
"""mock_api.py - a local stand-in for the remote model APIs docrag talks to.

Follows ../shared/api_contracts.md (TEI, HF router + classic Inference API,
Ollama, OpenAI-compatible, Cohere/Jina rerank, and the Hub's file resolver)
closely enough that our clients cannot tell the difference, and injects
faults on demand so tests can exercise retries, breakers and stream handling.
Python 3 standard library only.

Usage:
  mock_api.py [--port-file F] [--token T] [--hub-dir D] [--stream-delay-ms N]
              [--tei-max-batch N]
--tei-max-batch N: TEI's max_client_batch_size (default 32) as reported by
/info and enforced by /embed; when given, /rerank enforces it on `texts` too.
Binds 127.0.0.1 on a free port, prints "PORT <n>" on stdout and, with
--port-file, writes the port number to F (atomically, via rename).

Auth: with --token T, every route except the public ones (TEI /health / /ping
/metrics, Ollama /api/*, public Hub files) needs "Authorization: Bearer T";
otherwise 401 with the body shape of that API (TEI: empty).

Fault injection (per request, or queued):
  header   X-Mock-Fault: <spec>          applies to this request (every try)
  POST /_mock/faults  {"faults": [<spec> | {"fault": <spec>, "path": P,
                       "count": N}, ...]} queues faults; the first queued
                       fault whose path is a prefix of the request path is
                       used and its count decremented (default 1)
  spec = kind[;key=value]...   kinds:
    slow;ms=N            wait N ms, then answer normally
    hang[;ms=N]          wait N ms (default 10000), then close, no answer
    close                close the connection without answering
    <status>             400 401 403 404 413 422 429 500 502 503 504 with the
                         API's error body; options: retry_after=S (seconds),
                         retry_after_date=S (HTTP-date now+S), estimated_time=S
                         (503 HF-classic body), quota=1 (429 insufficient_quota)
    malformed            200 with a truncated JSON body
    reflect[;code=N][;pad=P]  N (400) whose body echoes the Authorization
                         header (after P filler bytes)
    cut[;after=N]        streams: N events (default 2) then the connection
                         drops; plain/files: half the body, then drop
    stall;after=N;ms=M   streams: N events, then M ms of silence, then the rest
    error_line[;after=N] streams: an {"error": ...} event after N events
    big;bytes=N          200 with a JSON string body of about N bytes
    dim;n=N              embedding routes: vectors of N dimensions (default 16)
    huge                 embedding and rerank routes: the first value of each
                         vector, and every score, is 1e39 (valid JSON, beyond
                         float32: not finite once read as a float)
    corrupt              Hub/CDN files: first byte flipped (sha256 mismatch)
Control and inspection (never logged, never faulted):
  GET /_mock/log          {"requests": [{"method","path","auth","fault",
                           "status","range","body"}...]}; streamed answers
                           add "stream" (open, complete, cut, error_line,
                           client_closed), "sent" and "pieces"
  GET /_mock/count?path=P {"count": N} requests whose path starts with P
  POST /_mock/reset       clear log and fault queue
  POST /_mock/loading     {"model": ID, "requests": N}: the classic HF API
                           answers 503 + estimated_time for the next N calls
  POST /_mock/chat        {"answers": [TEXT...], "default": TEXT}: chat routes
                           (OpenAI-compatible and Ollama) reply with the next
                           queued answer, else the default, else the echo
  POST /_mock/models      {"unsupported": {MODEL: STATUS}}: OpenAI-compatible
                           chat with that model fails with STATUS (404 / 422:
                           model_not_found, 400: "model not supported")
"""
import argparse
import email.utils
import hashlib
import json
import math
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE_LOCK = threading.Lock()
LOG = []
FAULTS = []          # [{"spec": dict, "path": str|None, "count": int}]
LOADING = {}         # model id -> remaining 503 answers
CHAT_SCRIPT = {"answers": [], "default": None}   # scripted chat replies
UNSUPPORTED = {}     # chat model id -> HTTP status
ARGS = None

TEI_PUBLIC = {"/health", "/", "/ping", "/metrics"}
SERVED_MODEL = "mock/all-MiniLM-L6-v2"


def parse_spec(spec):
    parts = [p.strip() for p in str(spec).split(";") if p.strip()]
    out = {"kind": parts[0] if parts else ""}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        out[k.strip()] = v.strip()
    return out


def take_fault(path):
    with STATE_LOCK:
        for i, f in enumerate(FAULTS):
            if f["path"] is None or path.startswith(f["path"]):
                f["count"] -= 1
                if f["count"] <= 0:
                    FAULTS.pop(i)
                return dict(f["spec"])
    return None


def fake_embedding(text, dim=8, normalize=True):
    h = hashlib.sha256(text.encode("utf-8")).digest()
    while len(h) < dim * 4:
        h += hashlib.sha256(h).digest()
    vals = [((struct.unpack_from("<I", h, 4 * i)[0] / 2**32) * 2 - 1) for i in range(dim)]
    if normalize:
        n = math.sqrt(sum(v * v for v in vals)) or 1.0
        vals = [v / n for v in vals]
    return [round(v, 6) for v in vals]


def faulted_vectors(fault, texts, dim=8, normalize=True):
    """Embeddings of texts under the dim and huge faults."""
    fault = fault or {}
    if fault.get("kind") == "dim":
        dim = int(fault.get("n", 16))
    out = [fake_embedding(t, dim, normalize) for t in texts]
    if fault.get("kind") == "huge":
        for v in out:
            v[0] = 1e39
    return out


def overlap_score(query, text):
    q = set(query.lower().split())
    t = set(text.lower().split())
    if not q or not t:
        return 0.0
    return round(len(q & t) / len(q), 6)


def api_family(path):
    if path.startswith("/api/"):
        return "ollama"
    if path.startswith("/v2/rerank"):
        return "cohere"
    if path.startswith("/v1/rerank"):
        return "jina"
    if path.startswith("/v1/"):
        return "openai"
    if path.startswith("/models/"):
        return "hf_classic"
    if path.startswith("/hf-inference/"):
        return "hf_router"
    if "/resolve/" in path or path.startswith("/_cdn/"):
        return "hub"
    return "tei"


TEI_ERROR_TYPE = {400: "Empty", 413: "Validation", 422: "Validation", 424: "Backend",
                  429: "Overloaded", 500: "Backend", 502: "Backend", 503: "Unhealthy",
                  504: "Backend"}
REASON = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          413: "Payload Too Large", 422: "Unprocessable Entity", 429: "Too Many Requests",
          500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
          504: "Gateway Timeout"}


def error_body(family, status, message, spec=None):
    """(content_type, bytes) shaped like the real API's errors."""
    spec = spec or {}
    if family == "tei":
        if status == 401:
            return None, b""
        if status == 413:
            return "text/plain; charset=utf-8", b"Failed to buffer the request body: length limit exceeded"
        return "application/json", json.dumps(
            {"error": message, "error_type": TEI_ERROR_TYPE.get(status, "Backend")}).encode()
    if family == "openai":
        etype = "invalid_request_error" if status < 500 else "server_error"
        code = None
        if status == 401:
            code = "invalid_api_key"
        elif status == 429:
            code = "insufficient_quota" if spec.get("quota") else "rate_limit_exceeded"
            etype = "insufficient_quota" if spec.get("quota") else "requests"
        return "application/json", json.dumps(
            {"error": {"message": message, "type": etype, "param": None, "code": code}}).encode()
    if family == "cohere":
        return "application/json", json.dumps({"message": message}).encode()
    if family == "jina":
        return "application/json", json.dumps({"detail": message}).encode()
    if family == "hf_classic" and status == 503 and "estimated_time" in spec:
        return "application/json", json.dumps(
            {"error": message, "estimated_time": float(spec["estimated_time"])}).encode()
    if family == "hub":
        return "text/plain; charset=utf-8", message.encode()
    return "application/json", json.dumps({"error": message}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; without TCP_NODELAY the body
    # waits for the client's delayed ACK (~40 ms per request on keep-alive)
    disable_nagle_algorithm = True
    server_version = "mock-api/1.0"

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    # ---- plumbing -------------------------------------------------------
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def record(self, fault):
        """Log the request before answering it, so a client that has its
        answer always finds the request in /_mock/log; the status is filled
        in afterwards."""
        entry = {"method": self.command, "path": self.path,
                 "auth": self.headers.get("Authorization"),
                 "fault": fault, "status": None,
                 "range": self.headers.get("Range"),
                 "body": self.body_text[:4096]}
        with STATE_LOCK:
            LOG.append(entry)
        return entry

    def send(self, status, ctype, body, headers=None):
        self.send_response(status, REASON.get(status))
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_json(self, obj, status=200, headers=None):
        self.send(status, "application/json", json.dumps(obj).encode(), headers)

    def drop(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def start_chunked(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def mark_stream(self, state, n_sent, n_pieces):
        """Note in this request's log entry how its stream ended."""
        entry = getattr(self, "entry", None)
        if entry is not None:
            with STATE_LOCK:
                entry["stream"] = state
                entry["sent"] = n_sent
                entry["pieces"] = n_pieces

    def stream(self, pieces, ctype):
        """Send pieces (already framed events) honouring cut/stall/error faults.
        The log entry's "stream" says how it ended: "open" while sending,
        then "complete", "cut", "error_line" or "client_closed" (the client
        went away: a write failed), with "sent" of "pieces" pieces sent."""
        f = self.fault or {}
        kind = f.get("kind")
        after = int(f.get("after", 2))
        delay = ARGS.stream_delay_ms / 1000.0
        sent = 0
        self.mark_stream("open", 0, len(pieces))
        try:
            self.start_chunked(ctype)
            for i, p in enumerate(pieces):
                if i == after and kind == "cut":
                    self.mark_stream("cut", sent, len(pieces))
                    self.drop()
                    return
                if i == after and kind == "stall":
                    time.sleep(int(f.get("ms", 2000)) / 1000.0)
                if i == after and kind == "error_line":
                    if ctype == "text/event-stream":
                        self.chunk('data: {"error":{"message":"mock failure mid-stream","type":"server_error"}}\n\n')
                    else:
                        self.chunk('{"error":"the model failed to generate a response"}\n')
                    self.end_chunked()
                    self.mark_stream("error_line", sent, len(pieces))
                    return
                self.chunk(p)
                sent += 1
                if delay:
                    time.sleep(delay)
            self.end_chunked()
            self.mark_stream("complete", sent, len(pieces))
        except (BrokenPipeError, ConnectionResetError):
            self.mark_stream("client_closed", sent, len(pieces))
            self.close_connection = True

    # ---- dispatch -------------------------------------------------------
    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def handle_any(self):
        self.body_text = ""
        raw = self.read_body()
        try:
            self.body_text = raw.decode("utf-8", "replace")
        except Exception:
            self.body_text = ""
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/_mock/"):
            return self.control(path, url.query, raw)
        family = api_family(path)
        hdr = self.headers.get("X-Mock-Fault")
        self.fault = parse_spec(hdr) if hdr else take_fault(path)
        status_sent = [200]
        entry = self.entry = self.record(self.fault and self.fault.get("kind"))
        try:
            self.route(path, url.query, family, raw, status_sent)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with STATE_LOCK:
                entry["status"] = status_sent[0]

    def control(self, path, query, raw):
        if path == "/_mock/log":
            with STATE_LOCK:
                return self.send_json({"requests": list(LOG)})
        if path == "/_mock/count":
            prefix = urllib.parse.parse_qs(query).get("path", [""])[0]
            with STATE_LOCK:
                n = sum(1 for e in LOG if e["path"].startswith(prefix))
            return self.send_json({"count": n})
        if path == "/_mock/reset":
            with STATE_LOCK:
                LOG.clear()
                FAULTS.clear()
                LOADING.clear()
                CHAT_SCRIPT["answers"] = []
                CHAT_SCRIPT["default"] = None
                UNSUPPORTED.clear()
            return self.send_json({"ok": True})
        if path == "/_mock/chat":
            req = json.loads(raw or b"{}")
            with STATE_LOCK:
                CHAT_SCRIPT["answers"].extend(req.get("answers", []))
                if "default" in req:
                    CHAT_SCRIPT["default"] = req["default"]
            return self.send_json({"ok": True})
        if path == "/_mock/models":
            req = json.loads(raw or b"{}")
            with STATE_LOCK:
                for k, v in (req.get("unsupported") or {}).items():
                    UNSUPPORTED[k] = int(v)
            return self.send_json({"ok": True})
        if path == "/_mock/faults":
            req = json.loads(raw or b"{}")
            with STATE_LOCK:
                for f in req.get("faults", []):
                    if isinstance(f, str):
                        f = {"fault": f}
                    FAULTS.append({"spec": parse_spec(f["fault"]), "path": f.get("path"),
                                   "count": int(f.get("count", 1))})
            return self.send_json({"queued": len(FAULTS)})
        if path == "/_mock/loading":
            req = json.loads(raw or b"{}")
            with STATE_LOCK:
                LOADING[req["model"]] = int(req.get("requests", 1))
            return self.send_json({"ok": True})
        return self.send_json({"error": "unknown control route"}, 404)

    def authorized(self, path, family):
        if not ARGS.token:
            return True
        if family == "ollama" or (family == "tei" and path in TEI_PUBLIC):
            return True
        if family == "hub":
            return True  # gating is checked per repo in hub()
        return self.headers.get("Authorization") == "Bearer " + ARGS.token

    def fail(self, family, status, message, status_sent, extra=None):
        f = self.fault or {}
        headers = dict(extra or {})
        if "retry_after" in f:
            headers["Retry-After"] = f["retry_after"]
        if "retry_after_date" in f:
            headers["Retry-After"] = email.utils.formatdate(
                time.time() + float(f["retry_after_date"]), usegmt=True)
        ctype, body = error_body(family, status, message, f)
        status_sent[0] = status
        self.send(status, ctype, body, headers)

    def route(self, path, query, family, raw, status_sent):
        f = self.fault or {}
        kind = f.get("kind", "")
        if kind == "slow":
            time.sleep(int(f.get("ms", 500)) / 1000.0)
        elif kind == "hang":
            time.sleep(int(f.get("ms", 10000)) / 1000.0)
            status_sent[0] = 0
            return self.drop()
        elif kind == "close":
            status_sent[0] = 0
            return self.drop()
        elif kind.isdigit():
            code = int(kind)
            msgs = {401: "Unauthorized", 413: "Payload too large",
                    422: "batch size 33 > maximum allowed batch size 32",
                    429: "Model is overloaded" if family == "tei" else "Rate limit reached",
                    503: "Model %s is currently loading" % path.rsplit("/models/", 1)[-1]
                    if family == "hf_classic" else "Service Unavailable"}
            return self.fail(family, code, msgs.get(code, REASON.get(code, "error")), status_sent)
        elif kind == "reflect":   # a misbehaving proxy echoing credentials
            code = int(f.get("code", 400))
            status_sent[0] = code
            return self.send_json({"error": "x" * int(f.get("pad", 0)) +
                                   "rejected credentials: %s (token %s)" % (
                self.headers.get("Authorization"), (self.headers.get("Authorization") or "")[7:])},
                code)
        elif kind == "malformed":
            return self.send(200, "application/json", b'{"data": [[0.1, 0.2', None)
        elif kind == "big":
            n = int(f.get("bytes", 1 << 20))
            return self.send(200, "application/json", json.dumps("x" * n).encode())

        if not self.authorized(path, family):
            return self.fail(family, 401, "Invalid credentials in Authorization header",
                             status_sent)
        try:
            req = json.loads(raw) if raw else {}
        except ValueError:
            return self.fail(family, 400 if family != "tei" else 422,
                             "Failed to parse the request body as JSON", status_sent)
        handler = {
            "tei": self.tei, "openai": self.openai, "ollama": self.ollama,
            "hf_classic": self.hf_classic, "hf_router": self.hf_router,
            "cohere": self.rerank_api, "jina": self.rerank_api, "hub": self.hub,
        }[family]
        return handler(path, req, family, status_sent)

    def reply(self, obj, status_sent, status=200):
        """Normal JSON answer, or a truncated one for the 'cut' fault."""
        body = json.dumps(obj).encode()
        if (self.fault or {}).get("kind") == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            return self.drop()
        status_sent[0] = status
        self.send(status, "application/json", body)

    # ---- TEI ------------------------------------------------------------
    def tei(self, path, req, family, st):
        if path in ("/health", "/", "/ping") and self.command in ("GET", "HEAD"):
            return self.send(200, None, b"")
        if path == "/info":
            return self.reply({
                "model_id": SERVED_MODEL, "model_sha": None, "model_dtype": "float32",
                "served_model_name": SERVED_MODEL,
                "model_type": {"embedding": {"pooling": "mean"}},
                "max_concurrent_requests": 512, "max_input_length": 256,
                "max_batch_tokens": 16384, "max_batch_requests": None,
                "max_client_batch_size": ARGS.tei_max_batch or 32, "auto_truncate": True,
                "tokenization_workers": 2, "version": "1.9.3", "sha": None,
                "docker_label": None}, st)
        if path == "/embed":
            inputs = req.get("inputs")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not inputs:
                return self.fail(family, 400, "`inputs` cannot be empty", st)
            cap = ARGS.tei_max_batch or 32
            if len(inputs) > cap:
                return self.fail(family, 422, "batch size %d > maximum allowed batch size %d"
                                 % (len(inputs), cap), st)
            dim = req.get("dimensions") or 8
            norm = req.get("normalize", True)
            return self.reply(faulted_vectors(self.fault, inputs, dim, norm), st)
        if path == "/rerank":
            texts = req.get("texts") or []
            if not texts:
                return self.fail(family, 400, "`texts` cannot be empty", st)
            if ARGS.tei_max_batch and len(texts) > ARGS.tei_max_batch:
                return self.fail(family, 422, "batch size %d > maximum allowed batch size %d"
                                 % (len(texts), ARGS.tei_max_batch), st)
            q = req.get("query", "")
            huge = (self.fault or {}).get("kind") == "huge"
            res = [{"index": i, "score": 1e39 if huge else overlap_score(q, t)}
                   for i, t in enumerate(texts)]
            if req.get("return_text"):
                for r in res:
                    r["text"] = texts[r["index"]]
            res.sort(key=lambda r: -r["score"])
            return self.reply(res, st)
        if path in ("/embeddings",):
            return self.openai("/v1/embeddings", req, "openai", st)
        return self.fail(family, 404, "route not found", st)

    # ---- OpenAI-compatible (and HF router chat) --------------------------
    def openai(self, path, req, family, st):
        if path == "/v1/embeddings":
            inputs = req.get("input")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not inputs:
                return self.fail(family, 400, "input cannot be empty", st)
            dim = req.get("dimensions") or 8
            data = [{"object": "embedding", "index": i, "embedding": v}
                    for i, v in enumerate(faulted_vectors(self.fault, inputs, dim))]
            n_tok = sum(len(t.split()) for t in inputs)
            return self.reply({"object": "list", "data": data,
                               "model": req.get("model") or SERVED_MODEL,
                               "usage": {"prompt_tokens": n_tok, "total_tokens": n_tok}}, st)
        if path == "/v1/models":
            return self.reply({"object": "list", "data": [
                {"id": SERVED_MODEL, "object": "model", "owned_by": "mock"}]}, st)
        if path != "/v1/chat/completions":
            return self.fail(family, 404, "Unknown route " + path, st)
        msgs = req.get("messages")
        if not msgs:
            return self.fail(family, 400, "'messages' is a required property", st)
        model = req.get("model") or "mock-llm"
        with STATE_LOCK:
            bad = UNSUPPORTED.get(model)
        if bad:
            text = ("The requested model '%s' is not supported by any provider you "
                    "have enabled." % model) if bad == 400 else \
                ("The model `%s` does not exist or you do not have access to it." % model)
            st[0] = bad
            ctype, body = error_body("openai", bad, text)
            obj = json.loads(body)
            obj["error"]["code"] = "model_not_supported" if bad == 400 else "model_not_found"
            return self.send(bad, ctype, json.dumps(obj).encode())
        answer = chat_answer(msgs)
        words = answer.split(" ")
        n_prompt = sum(len(str(m.get("content", "")).split()) for m in msgs)
        usage = {"prompt_tokens": n_prompt, "completion_tokens": len(words),
                 "total_tokens": n_prompt + len(words)}
        cid, created = "chatcmpl-mock", int(time.time())
        if not req.get("stream"):
            return self.reply({"id": cid, "object": "chat.completion", "created": created,
                               "model": model, "system_fingerprint": "fp_mock",
                               "choices": [{"index": 0, "message": {"role": "assistant",
                                                                    "content": answer},
                                            "finish_reason": "stop", "logprobs": None}],
                               "usage": usage}, st)

        def chunk(delta, finish=None, choices=True, extra=None):
            o = {"id": cid, "object": "chat.completion.chunk", "created": created,
                 "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                 if choices else []}
            if extra:
                o.update(extra)
            return "data: " + json.dumps(o) + "\n\n"

        pieces = [": ping\n\n", chunk({"role": "assistant", "content": ""})]
        for i, w in enumerate(words):
            pieces.append(chunk({"content": (" " if i else "") + w}))
        pieces.append(chunk({}, "stop"))
        if (req.get("stream_options") or {}).get("include_usage"):
            pieces.append(chunk(None, choices=False, extra={"usage": usage}))
        pieces.append("data: [DONE]\n\n")
        return self.stream(pieces, "text/event-stream")

    # ---- Ollama ---------------------------------------------------------
    def ollama(self, path, req, family, st):
        if path == "/api/tags":
            return self.reply({"models": [{
                "name": "llama3.2:latest", "model": "llama3.2:latest",
                "modified_at": "2025-01-01T00:00:00Z", "size": 2019393189,
                "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                "details": {"parent_model": "", "format": "gguf", "family": "llama",
                            "families": ["llama"], "parameter_size": "3.2B",
                            "quantization_level": "Q4_K_M"}}]}, st)
        if path == "/api/embed":
            inputs = req.get("input")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not req.get("model"):
                return self.fail(family, 400, "model is required", st)
            return self.reply({"model": req["model"],
                               "embeddings": faulted_vectors(self.fault, inputs or []),
                               "total_duration": 14143917, "load_duration": 1019500,
                               "prompt_eval_count": sum(len(t.split()) for t in inputs or [])},
                              st)
        if path != "/api/chat":
            return self.fail(family, 404, "404 page not found", st)
        if not req.get("model"):
            return self.fail(family, 400, "model is required", st)
        answer = chat_answer(req.get("messages") or [])
        words = answer.split(" ")
        stamp = "2023-08-04T19:22:45.499127Z"
        final = {"model": req["model"], "created_at": stamp,
                 "message": {"role": "assistant", "content": "" if req.get("stream", True)
                             else answer},
                 "done": True, "done_reason": "stop", "total_duration": 4883583458,
                 "load_duration": 1334875, "prompt_eval_count": 26,
                 "prompt_eval_duration": 342546000, "eval_count": len(words),
                 "eval_duration": 4535599000}
        if not req.get("stream", True):
            return self.reply(final, st)
        pieces = [json.dumps({"model": req["model"], "created_at": stamp,
                              "message": {"role": "assistant",
                                          "content": (" " if i else "") + w},
                              "done": False}) + "\n" for i, w in enumerate(words)]
        pieces.append(json.dumps(final) + "\n")
        return self.stream(pieces, "application/x-ndjson")

    # ---- Hugging Face: classic serverless API and router task routes ------
    def hf_classic(self, path, req, family, st):
        model = path[len("/models/"):]
        with STATE_LOCK:
            left = LOADING.get(model, 0)
            if left > 0:
                LOADING[model] = left - 1
        if left > 0:
            self.fault = dict(self.fault or {}, estimated_time="0.05") \
                if "estimated_time" not in (self.fault or {}) else self.fault
            return self.fail(family, 503, "Model %s is currently loading" % model, st)
        inputs = req.get("inputs")
        if isinstance(inputs, str) and ("parameters" in req and
                                        "max_new_tokens" in (req.get("parameters") or {})):
            return self.reply([{"generated_text": "Echo: " + inputs[-60:]}], st)
        if isinstance(inputs, str):
            return self.reply(fake_embedding(inputs), st)
        if isinstance(inputs, list):
            return self.reply([fake_embedding(t) for t in inputs], st)
        return self.fail(family, 400, "inputs required", st)

    def hf_router(self, path, req, family, st):
        if not path.endswith("/pipeline/feature-extraction"):
            return self.fail(family, 404, "Not Found", st)
        inputs = req.get("inputs")
        if isinstance(inputs, str):
            return self.reply(fake_embedding(inputs, 8, req.get("normalize", True)), st)
        if not inputs:
            return self.fail(family, 400, "inputs required", st)
        return self.reply([fake_embedding(t, 8, req.get("normalize", True)) for t in inputs], st)

    # ---- Cohere v2 / Jina v1 rerank ---------------------------------------
    def rerank_api(self, path, req, family, st):
        docs = req.get("documents")
        if not isinstance(docs, list) or not docs:
            return self.fail(family, 400, "invalid request: documents must be a non-empty list", st)
        q = req.get("query", "")
        huge = (self.fault or {}).get("kind") == "huge"
        res = [{"index": i, "relevance_score": 1e39 if huge else
                overlap_score(q, d if isinstance(d, str) else d.get("text", ""))}
               for i, d in enumerate(docs)]
        res.sort(key=lambda r: -r["relevance_score"])
        if req.get("top_n"):
            res = res[: int(req["top_n"])]
        if req.get("return_documents"):
            for r in res:
                d = docs[r["index"]]
                r["document"] = {"text": d if isinstance(d, str) else d.get("text", "")}
        if family == "cohere":
            return self.reply({"id": "mock-rerank", "results": res,
                               "meta": {"api_version": {"version": "2"},
                                        "billed_units": {"search_units": 1}}}, st)
        n_tok = sum(len(str(d).split()) for d in docs) + len(q.split())
        return self.reply({"model": req.get("model", "jina-reranker-v2-base-multilingual"),
                           "usage": {"total_tokens": n_tok}, "results": res}, st)

    # ---- Hub file resolver + "CDN" -----------------------------------------
    def hub(self, path, req, family, st):
        if not ARGS.hub_dir:
            return self.fail(family, 404, "Repository not found", st,
                             {"X-Error-Code": "RepoNotFound"})
        if path.startswith("/_cdn/"):
            rel = urllib.parse.unquote(path[len("/_cdn/"):])
            return self.serve_file(os.path.join(ARGS.hub_dir, rel), st, cdn=True)
        head, _, rest = path.lstrip("/").partition("/resolve/")
        rev, _, fname = rest.partition("/")
        repo_dir = os.path.join(ARGS.hub_dir, urllib.parse.unquote(head))
        if ".." in path or not os.path.isdir(repo_dir):
            return self.fail(family, 404, "Repository not found", st,
                             {"X-Error-Code": "RepoNotFound"})
        if os.path.exists(os.path.join(repo_dir, ".gated")) and \
                self.headers.get("Authorization") != "Bearer %s" % ARGS.token:
            return self.fail(family, 401, "Access to model %s is restricted." % head, st,
                             {"X-Error-Code": "GatedRepo"})
        fpath = os.path.join(repo_dir, urllib.parse.unquote(fname))
        if not os.path.isfile(fpath):
            return self.fail(family, 404, "Entry not found", st,
                             {"X-Error-Code": "EntryNotFound"})
        size = os.path.getsize(fpath)
        if fname.endswith(".safetensors") or size > 4096:   # stored with LFS
            with open(fpath, "rb") as fh:
                sha = hashlib.sha256(fh.read()).hexdigest()
            st[0] = 302
            return self.send(302, "text/plain; charset=utf-8", b"Found. Redirecting",
                             {"Location": "/_cdn/%s/%s" % (head, fname),
                              "X-Linked-Etag": '"%s"' % sha, "X-Linked-Size": str(size),
                              "ETag": '"%s"' % hashlib.sha1(b"pointer" + sha.encode()).hexdigest(),
                              "X-Repo-Commit": "0" * 40})
        return self.serve_file(fpath, st, cdn=False)

    def serve_file(self, fpath, st, cdn):
        if not os.path.isfile(fpath):
            return self.fail("hub", 404, "NoSuchKey", st)
        with open(fpath, "rb") as fh:
            data = fh.read()
        etag = hashlib.md5(data).hexdigest() if cdn else \
            hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        start = 0
        rng = self.headers.get("Range")
        status = 200
        headers = {"ETag": '"%s"' % etag, "Accept-Ranges": "bytes"}
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a or 0)
            if start >= len(data):
                st[0] = 416
                return self.send(416, "text/plain", b"",
                                 {"Content-Range": "bytes */%d" % len(data)})
            end = int(b) if b else len(data) - 1
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, len(data))
            data = data[start:end + 1]
        st[0] = status
        if (self.fault or {}).get("kind") == "corrupt" and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if (self.fault or {}).get("kind") == "cut":
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data[: len(data) // 2])
            return self.drop()
        self.send(status, "application/octet-stream", data, headers)


def chat_answer(msgs):
    with STATE_LOCK:
        if CHAT_SCRIPT["answers"]:
            return CHAT_SCRIPT["answers"].pop(0)
        if CHAT_SCRIPT["default"] is not None:
            return CHAT_SCRIPT["default"]
    last = ""
    for m in msgs:
        if m.get("role") == "user":
            last = str(m.get("content", ""))
    return "Echo: " + (" ".join(last.split()[:24]) or "(empty)")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-request are part of the tests


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    ap.add_argument("--token")
    ap.add_argument("--hub-dir")
    ap.add_argument("--stream-delay-ms", type=int, default=0)
    ap.add_argument("--tei-max-batch", type=int, default=None)
    ARGS = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.rename(tmp, ARGS.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
