#!/usr/bin/env python3
"""cold_start.py - time from exec of `docrag serve` to its first 200 on
GET /ready, polling every 10 ms; used by bench/cold_start.sh. Python 3
standard library only.

  cold_start.py RUNS -- DOCRAG_SERVE_COMMAND...

The command is run RUNS times with "--port P" appended (P a port that was
free a moment before). The clock starts just before fork/exec. Per run it
prints when the port first accepted a connection (the server binds after
opening its first engine, include/docrag_server.h), the first 503 if any,
and the first 200; then min/median/max of the time to 200 and a RESULT
line: RESULT runs=N min_ms=A median_ms=B max_ms=C bind_median_ms=D
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get_ready(port):
    """HTTP status of GET /ready, or None if nothing listens yet."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return None
    try:
        s.sendall(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        line = s.makefile("rb").readline()
        return int(line.split()[1]) if line.startswith(b"HTTP/") else 0
    except (OSError, ValueError, IndexError):
        return 0
    finally:
        s.close()


def one_run(cmd):
    port = free_port()
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd + ["--port", str(port)], stdout=subprocess.DEVNULL, stderr=err)
    bind = first_503 = ready = None
    try:
        while ready is None:
            st = get_ready(port)
            now = time.monotonic() - t0
            if st is not None and bind is None:
                bind = now
            if st == 503 and first_503 is None:
                first_503 = now
            if st == 200:
                ready = now
                break
            if p.poll() is not None:
                err.seek(0)
                raise RuntimeError("server exited: " + err.read().decode(errors="replace"))
            if now > 120:
                raise RuntimeError("not ready after 120 s")
            time.sleep(0.01)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err.close()
    return bind, first_503, ready


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    runs, cmd = int(sys.argv[1]), sys.argv[3:]
    ready, binds = [], []
    for i in range(runs):
        bind, first_503, r = one_run(cmd)
        ms = lambda x: "-" if x is None else "%.0f ms" % (x * 1e3)
        print("run %d: port accepting at %s, first 503 at %s, first 200 at %s"
              % (i + 1, ms(bind), ms(first_503), ms(r)), flush=True)
        ready.append(r * 1e3)
        binds.append(bind * 1e3)
    print("time to first 200 on /ready: min %.0f ms, median %.0f ms, max %.0f ms (%d runs)"
          % (min(ready), statistics.median(ready), max(ready), runs))
    print("RESULT runs=%d min_ms=%.0f median_ms=%.0f max_ms=%.0f bind_median_ms=%.0f"
          % (runs, min(ready), statistics.median(ready), max(ready), statistics.median(binds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
