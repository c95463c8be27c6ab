#!/usr/bin/env python3
"""sse_streams.py - open N answer streams (POST /v1/ask, "stream": true) at
once and time each: connect -> first SSE event (`sources`), first `delta`,
`done`. Python 3 standard library only (asyncio); used by bench/sse.sh.

  sse_streams.py URL QUESTIONS_FILE [--streams N] [--timeout S]

QUESTIONS_FILE has one question a line; stream i asks line i (cycling).
Prints one line per stream, then min/p50/max of each time and a RESULT
line:
  RESULT streams=N completed=C errors=E by_backend=NAME:n,... wall_s=W
         ttfe_min_ms=.. ttfe_p50_ms=.. ttfe_max_ms=.. first_delta_..._ms=..
         total_..._ms=.. max_gap_..._ms=.. delta_gap_..._ms=..
A stream completes when its `done` event arrives and the response ends;
max_gap is the longest silence between two events of one stream (usually
`sources` -> first `delta`: the LLM request), delta_gap the longest
between two of its `delta` events.
"""
import argparse
import asyncio
import json
import sys
import time
import urllib.parse


async def one_stream(i, host, port, path, question, t0, timeout):
    r = {"i": i, "ok": False, "error": None, "backend": None, "ttfe": None,
         "first_delta": None, "total": None, "events": 0, "deltas": 0, "max_gap": 0.0,
         "delta_gap": 0.0}
    body = json.dumps({"question": question, "stream": True}).encode()
    req = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
           "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(req)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout)
        if b" 200 " not in status:
            r["error"] = status.decode(errors="replace").strip()
            writer.close()
            return r
        chunked = False
        while True:   # headers
            h = await asyncio.wait_for(reader.readline(), timeout)
            if h in (b"\r\n", b""):
                break
            if h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower():
                chunked = True
        buf = b""
        last = None
        last_delta = None
        event = None
        done = False
        while True:
            if chunked:
                size_line = await asyncio.wait_for(reader.readline(), timeout)
                if not size_line:
                    break
                n = int(size_line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    break
                data = await asyncio.wait_for(reader.readexactly(n + 2), timeout)
                buf += data[:-2]
            else:
                data = await asyncio.wait_for(reader.read(65536), timeout)
                if not data:
                    break
                buf += data
            while b"\n\n" in buf:
                frame, buf = buf.split(b"\n\n", 1)
                lines = frame.decode(errors="replace").split("\n")
                name = None
                payload = None
                for ln in lines:
                    if ln.startswith("event:"):
                        name = ln[6:].strip()
                    elif ln.startswith("data:"):
                        payload = ln[5:].strip()
                if name is None:
                    continue   # ": ping" comments
                now = time.monotonic()
                r["events"] += 1
                if r["ttfe"] is None:
                    r["ttfe"] = now - t0
                if last is not None:
                    r["max_gap"] = max(r["max_gap"], now - last)
                last = now
                if name == "delta":
                    r["deltas"] += 1
                    if r["first_delta"] is None:
                        r["first_delta"] = now - t0
                    if last_delta is not None:
                        r["delta_gap"] = max(r["delta_gap"], now - last_delta)
                    last_delta = now
                elif name == "done":
                    done = True
                    try:
                        r["backend"] = json.loads(payload).get("backend")
                    except (ValueError, AttributeError):
                        pass
                elif name == "error":
                    r["error"] = payload
                event = name
        writer.close()
        r["total"] = time.monotonic() - t0
        r["ok"] = done and r["error"] is None
        if not done and not r["error"]:
            r["error"] = "stream ended after event %r without done" % event
    except (asyncio.TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as e:
        r["error"] = "%s: %s" % (type(e).__name__, e)
    return r


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("questions")
    ap.add_argument("--streams", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    qs = [l.strip() for l in open(a.questions) if l.strip()]
    t0 = time.monotonic()
    rs = await asyncio.gather(*[
        one_stream(i, u.hostname, u.port, (u.path.rstrip("/") or "") + "/v1/ask",
                   qs[i % len(qs)], time.monotonic(), a.timeout)
        for i in range(a.streams)])
    wall = time.monotonic() - t0
    ms = lambda x: "-" if x is None else "%.0f" % (x * 1e3)
    for r in rs:
        print("stream %2d: %s backend=%s events=%d deltas=%d first event %s ms, first delta %s ms,"
              " done %s ms, max gap %s ms (between deltas %s ms)%s" % (
                  r["i"], "ok " if r["ok"] else "ERR", r["backend"], r["events"], r["deltas"],
                  ms(r["ttfe"]), ms(r["first_delta"]), ms(r["total"]), ms(r["max_gap"]), ms(r["delta_gap"]),
                  "" if r["ok"] else " (%s)" % r["error"]))
    ok = [r for r in rs if r["ok"]]
    backends = {}
    for r in ok:
        backends[r["backend"]] = backends.get(r["backend"], 0) + 1
    out = {"streams": a.streams, "completed": len(ok), "errors": a.streams - len(ok),
           "by_backend": ",".join("%s:%d" % kv for kv in sorted(backends.items())) or "-",
           "wall_s": "%.2f" % wall}
    for key in ("ttfe", "first_delta", "total", "max_gap", "delta_gap"):
        v = [r[key] for r in ok if r[key] is not None]
        name = "ttfe" if key == "ttfe" else key
        for p, label in ((0, "min"), (50, "p50"), (100, "max")):
            out["%s_%s_ms" % (name, label)] = "%.0f" % (pct(v, p) * 1e3) if v else "nan"
        print("%-12s min %6s  p50 %6s  max %6s ms" % (
            {"ttfe": "first event", "first_delta": "first delta", "total": "done",
             "max_gap": "max gap", "delta_gap": "delta gap"}[key], out["%s_min_ms" % name], out["%s_p50_ms" % name],
            out["%s_max_ms" % name]))
    print("RESULT " + " ".join("%s=%s" % kv for kv in out.items()))
    return 0 if len(ok) == a.streams else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
