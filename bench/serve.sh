#!/bin/sh
# serve.sh - `docrag serve` against in-process peers measured in the same run:
#  1. POST /v1/search (BM25, k 10, the 185,681-chunk index of bm25_latency.sh)
#     driven by wrk on loopback, against bench_inproc_search (docrag.h,
#     one session per thread) with as many threads as the server has workers;
#  2. GET /health against bench_evhttp_hello (a bare evhttp 200 "ok").
# Prints figures, no pass/fail. Needs wrk (scripts/install-deps.sh --bench).
#
#   [N_DOCS=100000] [QUERIES=1000] [DURATION=20] [WARMUP=3] [ROUNDS=2]
#   [HEALTH_CONNS=32] [SPLITS="1core 2core"] [CONNS="1 2"] [DEFAULT_MALLOC=1]
#   [HEALTH=1] bench/serve.sh
#
# The VM's neighbours move the in-process peer itself by up to 1.6x from
# one minute to the next, so a long round settles little: many short
# rounds (ROUNDS=15 DURATION=4 WARMUP=1), each measuring the peer and the
# server back to back, and the median of the per-round ratios (printed
# last) say more. CONNS overrides the connection counts of every split;
# DEFAULT_MALLOC=0 skips the default-malloc peer; HEALTH=0 skips /health.
#
# Two ways to share the 2 cores between the client and the server:
#   1core: the server (every thread: event loop, 1 worker, maintenance) on
#          cpu 0, wrk on cpu 1; the in-process peer: 1 thread on cpu 0.
#   2core: server with 2 workers, wrk and the peer's 2 threads unpinned
#          (wrk then takes CPU the in-process peer does not have to share).
# wrk runs closed loop: with C connections, C requests are outstanding.
# C = workers compares like with like (the peer's threads also have one
# query each in flight); C = 2 x workers keeps a request queued for each
# worker, the server's best throughput. Rounds alternate the peer and the
# server so drift in the machine's load hits both.
# The in-process peer runs twice per round: with the docrag binary's malloc
# set-up (--cli-malloc: what `docrag serve` runs with, so the difference is
# the HTTP server alone) and with glibc's defaults (a plain docrag.h user).
set -eu
cd "$(dirname "$0")/.."
. bench/serve_lib.sh
shared=${DOCRAG_SHARED:-../shared}
data=${DOCRAG_BENCH_DATA:-build/bench-data}
docs=${N_DOCS:-100000}
out=$data/bm25_$docs
db=$out/docrag.db
nq=${QUERIES:-1000}
dur=${DURATION:-20}
warm=${WARMUP:-3}
rounds=${ROUNDS:-2}
hconns=${HEALTH_CONNS:-32}
splits=${SPLITS:-1core 2core}
conns_set=${CONNS:-}
default_malloc=${DEFAULT_MALLOC:-1}
health=${HEALTH:-1}
command -v wrk >/dev/null || { echo "serve.sh: wrk not found (scripts/install-deps.sh --bench)" >&2; exit 1; }
mkdir -p "$out"
cmake --build build --target docrag bench_inproc_search bench_evhttp_hello >/dev/null
[ -f "$out/corpus.jsonl" ] || python3 "$shared/tools/bm25_latency/make_corpus.py" "$out" "$docs"
[ -f "$db" ] || ./build/bench_inproc_search "$out" "$db" --seconds 0.2 --warmup 0 >/dev/null
tmp=$(mktemp -d)
trap 'stop_server; rm -rf "$tmp"' EXIT INT TERM
# the same queries, in the same order, as JSON bodies for wrk
python3 - "$out/queries.jsonl" "$nq" >"$tmp/search.bodies" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i >= int(sys.argv[2]):
        break
    q = json.loads(line)["text"]
    print("/v1/search\t" + json.dumps({"query": q, "k": 10, "mode": "bm25"}))
PY

bench_cpu
echo "index: $db ($(wc -l <"$tmp/search.bodies") queries, k 10, bm25); $dur s per measurement, $rounds rounds"
echo "load before: $(bench_load)"

wrk_run() {   # CONNS PIN URL [BODIES]: one timed wrk run; prints its RESULT line
    WRK_BODIES=${4:-} $2 wrk -t1 -c"$1" -d"${dur}s" --timeout 10s -s bench/wrk_bodies.lua "$3" |
        grep '^RESULT'
}

summary=$tmp/summary
: >"$summary"
for split in $splits; do
    case $split in
    1core) workers=1 srv_pin="taskset -c 0" wrk_pin="taskset -c 1" conns="1 2" ;;
    2core) workers=2 srv_pin="" wrk_pin="" conns="2 4" ;;
    *) echo "serve.sh: unknown split $split" >&2; exit 2 ;;
    esac
    conns=${conns_set:-$conns}
    echo
    echo "== /v1/search, split $split: server --workers $workers ${srv_pin:-unpinned}," \
         "wrk -t1 ${wrk_pin:-unpinned}; in-process $workers thread(s) ${srv_pin:-unpinned}"
    start_server "$tmp/server.log" $srv_pin ./build/docrag serve --db "$db" --port 0 \
        --workers "$workers"
    # warm the server's sessions and caches (the peer warms up on its own)
    WRK_BODIES=$tmp/search.bodies $wrk_pin wrk -t1 -c"$workers" -d"${warm}s" \
        -s bench/wrk_bodies.lua "$srv_url/" >/dev/null
    r=1
    while [ "$r" -le "$rounds" ]; do
        ipd="qps=0 p50_ms=0 p99_ms=0"
        for m in --cli-malloc ""; do
            [ -n "$m" ] || [ "$default_malloc" = 1 ] || continue
            line=$($srv_pin ./build/bench_inproc_search "$out" "$db" --threads "$workers" \
                --seconds "$dur" --warmup "$warm" --queries "$nq" $m | grep '^RESULT')
            echo "round $r in-process: $line (load $(bench_load))"
            if [ -n "$m" ]; then ipc=$line; else ipd=$line; fi
        done
        for c in $conns; do
            h=$(wrk_run "$c" "$wrk_pin" "$srv_url/" "$tmp/search.bodies")
            echo "round $r HTTP c=$c: $h (load $(bench_load))"
            echo "$split $r $c $(field qps "$ipc") $(field p50_ms "$ipc") $(field p99_ms "$ipc")" \
                 "$(field qps "$ipd") $(field p50_ms "$ipd") $(field p99_ms "$ipd")" \
                 "$(field rps "$h") $(field p50_ms "$h") $(field p99_ms "$h")" \
                 "$(field non2xx "$h")" >>"$summary"
        done
        r=$((r + 1))
    done
    stop_server
done

hsum=$tmp/hsummary
: >"$hsum"
hrounds=$rounds   # /health rounds; HEALTH=0: none
[ "$health" = 1 ] || hrounds=0
echo
echo "== GET /health vs a bare evhttp server: each on cpu 0, wrk -t1 -c$hconns on cpu 1"
r=1
while [ "$r" -le "$hrounds" ]; do
    start_server "$tmp/server.log" taskset -c 0 ./build/docrag serve --db "$db" --port 0 \
        --workers 1
    taskset -c 1 wrk -t1 -c"$hconns" -d"${warm}s" "$srv_url/health" >/dev/null
    d=$(wrk_run "$hconns" "taskset -c 1" "$srv_url/health")
    echo "round $r docrag /health: $d (load $(bench_load))"
    stop_server
    # the same without the access log (one JSON line on stderr per request)
    start_server "$tmp/server.log" taskset -c 0 ./build/docrag serve --db "$db" --port 0 \
        --workers 1 --set server.access_log=false
    taskset -c 1 wrk -t1 -c"$hconns" -d"${warm}s" "$srv_url/health" >/dev/null
    q=$(wrk_run "$hconns" "taskset -c 1" "$srv_url/health")
    echo "round $r docrag /health, access log off: $q (load $(bench_load))"
    stop_server
    start_server "$tmp/server.log" taskset -c 0 ./build/bench_evhttp_hello
    taskset -c 1 wrk -t1 -c"$hconns" -d"${warm}s" "$srv_url/" >/dev/null
    b=$(wrk_run "$hconns" "taskset -c 1" "$srv_url/")
    echo "round $r evhttp hello: $b (load $(bench_load))"
    stop_server
    echo "$r $(field rps "$d") $(field p50_ms "$d") $(field p99_ms "$d") $(field rps "$b")" \
         "$(field p50_ms "$b") $(field p99_ms "$b") $(field rps "$q") $(field non2xx "$d")" >>"$hsum"
    r=$((r + 1))
done

echo
echo "== summary ($(bench_cpu | sed 's/^cpu: //'); load after: $(bench_load))"
awk '{ printf "/v1/search %s round %s c=%s: HTTP %.1f req/s p50 %.2f p99 %.2f ms (%d non-2xx)" \
       " | in-process, CLI malloc: %.1f q/s p50 %.2f p99 %.2f ms -> HTTP throughput %.1f%%," \
       " p99 %.2fx", $1, $2, $3, $10, $11, $12, $13, $4, $5, $6, 100 * $10 / $4, $12 / $6
       if ($7 > 0)
           printf " | in-process, default malloc: %.1f q/s p50 %.2f p99 %.2f ms -> %.1f%%, %.2fx",
                  $7, $8, $9, 100 * $10 / $7, $12 / $9
       printf "\n" }' "$summary"
# the median over rounds of each round's ratio (peer and server measured
# back to back), with the range
python3 - "$summary" <<'PY'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    f = line.split()
    by.setdefault((f[0], f[2]), []).append((100 * float(f[9]) / float(f[3]),
                                             float(f[11]) / float(f[5])))
for (split, c), v in sorted(by.items()):
    t = sorted(x for x, _ in v)
    p = sorted(y for _, y in v)
    print("/v1/search %s c=%s over %d rounds: HTTP throughput median %.1f%% of in-process "
          "(CLI malloc; range %.1f-%.1f%%), p99 median %.2fx (range %.2f-%.2fx)"
          % (split, c, len(v), statistics.median(t), t[0], t[-1], statistics.median(p), p[0], p[-1]))
PY
awk '{ printf "/health round %s: docrag %.0f req/s p50 %.3f p99 %.3f ms (%d non-2xx) | evhttp hello" \
       " %.0f req/s p50 %.3f p99 %.3f ms | %.1f%% of hello (access log off: %.0f req/s, %.1f%%)\n",
       $1, $2, $3, $4, $9, $5, $6, $7, 100 * $2 / $5, $8, 100 * $8 / $5 }' "$hsum"
