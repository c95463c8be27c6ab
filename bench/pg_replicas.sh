#!/bin/sh
# pg_replicas.sh - `docrag serve` on a PostgreSQL store (docs/scaling.md):
#  1. search latency of one replica against the same index served from its
#     SQLite file (the 185,681-chunk bench index of bench/serve.sh, copied
#     into PostgreSQL with `docrag store import`): wrk -c1, server on cpu 0
#     with 1 worker, wrk on cpu 1, the same 1000 BM25 queries (k 10);
#  2. throughput with 1, 2 and 3 replicas (1 worker each) behind haproxy
#     (roundrobin, health-checked on /ready), wrk -t1 -c(2 x replicas),
#     nothing pinned;
#  3. ingestion: N corpus PDFs uploaded as shared jobs into an empty store,
#     the time until every job is done with 1 replica and with 2.
# Prints figures, no pass/fail. Needs wrk and haproxy
# (scripts/install-deps.sh --bench) and PostgreSQL 15.
#
#   [N_DOCS=100000] [QUERIES=1000] [DURATION=10] [WARMUP=2] [ROUNDS=2]
#   [INGEST_FILES=12] [PARTS="latency throughput ingest"] bench/pg_replicas.sh
set -eu
cd "$(dirname "$0")/.."
. bench/serve_lib.sh
shared=${DOCRAG_SHARED:-../shared}
data=${DOCRAG_BENCH_DATA:-build/bench-data}
docs=${N_DOCS:-100000}
out=$data/bm25_$docs
db=$out/docrag.db
nq=${QUERIES:-1000}
dur=${DURATION:-10}
warm=${WARMUP:-2}
rounds=${ROUNDS:-2}
n_ingest=${INGEST_FILES:-12}
parts=" ${PARTS:-latency throughput ingest} "
part() { case $parts in *" $1 "*) return 0 ;; esac; return 1; }
for t in wrk haproxy; do
    command -v $t >/dev/null || { echo "pg_replicas.sh: $t not found (scripts/install-deps.sh --bench)" >&2; exit 1; }
done
mkdir -p "$out"
cmake --build build --target docrag bench_inproc_search >/dev/null
[ -f "$out/corpus.jsonl" ] || python3 "$shared/tools/bm25_latency/make_corpus.py" "$out" "$docs"
[ -f "$db" ] || ./build/bench_inproc_search "$out" "$db" --seconds 0.2 --warmup 0 >/dev/null
tmp=$(mktemp -d /tmp/docrag-pgb.XXXXXX)
pids=""
hp_pid=""
cleanup() {
    stop_server
    for p in $pids $hp_pid; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -f "$pgdir/env" ] && bash tests/support/pg_cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$tmp" "$pgdir"
}
trap cleanup EXIT INT TERM
# its own folder: the servers run as another user when this runs as root
pgdir=$(mktemp -d /tmp/docrag-pg.XXXXXX)
bash tests/support/pg_cluster.sh start "$pgdir" >/dev/null
. "$pgdir/env"
export DOCRAG_PG_PASSWORD="$PGC_PASSWORD"
url="postgres://$PGC_USER:\${DOCRAG_PG_PASSWORD}@$PGC_HOST:$PGC_PRIMARY_PORT/$PGC_DB"
iurl="postgres://$PGC_USER:\${DOCRAG_PG_PASSWORD}@$PGC_HOST:$PGC_PRIMARY_PORT/ingest"
"$PGC_BIN/psql" -X -q -h "$PGC_SOCK" -p "$PGC_PRIMARY_PORT" -U "$PGC_SUPERUSER" -d postgres \
    -c "CREATE DATABASE ingest OWNER $PGC_USER" >/dev/null

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

if part latency || part throughput; then
t0=$(date +%s%N)
./build/docrag store import "$db" --db "$url" -q >/dev/null
echo "store import: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# the first replica's full copy, then seed the others' copies from it (a
# stopped replica's copy is an ordinary index file: they only catch up)
t0=$(date +%s%N)
start_server "$tmp/a.log" ./build/docrag serve --db "$url" --port 0 --workers 1 \
    --set postgres.mirror="$tmp/m1.db"
echo "first replica ready (full copy of the store): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
stop_server
cp "$tmp/m1.db" "$tmp/m2.db"
cp "$tmp/m1.db" "$tmp/m3.db"
fi

wrk_run() {   # CONNS PIN URL: one timed wrk run of the search bodies; its RESULT line
    WRK_BODIES=$tmp/search.bodies $2 wrk -t1 -c"$1" -d"${dur}s" --timeout 10s \
        -s bench/wrk_bodies.lua "$3" | grep '^RESULT'
}

lsum=$tmp/lsum
: >"$lsum"
r=1
part latency && echo && echo "== 1. latency, one server on cpu 0 (1 worker), wrk -t1 -c1 on cpu 1"
while part latency && [ "$r" -le "$rounds" ]; do
    for be in sqlite postgres; do
        if [ "$be" = sqlite ]; then
            start_server "$tmp/s.log" taskset -c 0 ./build/docrag serve --db "$db" --port 0 --workers 1
        else
            start_server "$tmp/s.log" taskset -c 0 ./build/docrag serve --db "$url" --port 0 \
                --workers 1 --set postgres.mirror="$tmp/m1.db"
        fi
        WRK_BODIES=$tmp/search.bodies taskset -c 1 wrk -t1 -c1 -d"${warm}s" \
            -s bench/wrk_bodies.lua "$srv_url/" >/dev/null
        line=$(wrk_run 1 "taskset -c 1" "$srv_url/")
        echo "round $r $be: $line (load $(bench_load))"
        echo "$r $be $(field rps "$line") $(field p50_ms "$line") $(field p99_ms "$line") $(field non2xx "$line")" >>"$lsum"
        stop_server
    done
    r=$((r + 1))
done

hp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tsum=$tmp/tsum
: >"$tsum"
part throughput && echo && echo "== 2. throughput behind haproxy: N replicas x 1 worker, wrk -t1 -c(2N), unpinned"
part throughput && ns="1 2 3" || ns=""
for n in $ns; do
    pids=""
    servers=""
    i=1
    while [ "$i" -le "$n" ]; do
        start_server "$tmp/r$i.log" ./build/docrag serve --db "$url" --port 0 --workers 1 \
            --set postgres.mirror="$tmp/m$i.db" --set server.access_log=false
        pids="$pids $srv_pid"
        servers="$servers ${srv_url#http://}"
        srv_pid=""
        i=$((i + 1))
    done
    {
        printf 'global\n  maxconn 512\ndefaults\n  mode http\n  timeout connect 2s\n'
        printf '  timeout client 30s\n  timeout server 30s\n'
        printf 'frontend fe\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "$hp"
        printf 'backend replicas\n  balance roundrobin\n  option httpchk GET /ready\n'
        printf '  http-check expect status 200\n  default-server inter 1s\n'
        i=1
        for s in $servers; do printf '  server r%s %s check\n' "$i" "$s"; i=$((i + 1)); done
    } >"$tmp/haproxy.cfg"
    haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
    hp_pid=$!
    sleep 1.5
    c=$((2 * n))
    WRK_BODIES=$tmp/search.bodies wrk -t1 -c"$c" -d"${warm}s" -s bench/wrk_bodies.lua \
        "http://127.0.0.1:$hp/" >/dev/null
    r=1
    while [ "$r" -le "$rounds" ]; do
        line=$(wrk_run "$c" "" "http://127.0.0.1:$hp/")
        echo "round $r $n replica(s), c=$c: $line (load $(bench_load))"
        echo "$n $r $(field rps "$line") $(field p50_ms "$line") $(field p99_ms "$line") $(field non2xx "$line")" >>"$tsum"
        r=$((r + 1))
    done
    kill "$hp_pid"
    wait "$hp_pid" 2>/dev/null || true
    hp_pid=""
    for p in $pids; do kill "$p"; wait "$p" 2>/dev/null || true; done
    pids=""
done

ls "$shared"/corpus/*.pdf | head -n "$n_ingest" >"$tmp/files"
isum=$tmp/isum
: >"$isum"
part ingest && echo && echo "== 3. ingestion: $n_ingest corpus PDFs as shared jobs into an empty store"
part ingest && ns="1 2" || ns=""
for n in $ns; do
    # a fresh, empty store each time
    "$PGC_BIN/psql" -X -q -h "$PGC_SOCK" -p "$PGC_PRIMARY_PORT" -U "$PGC_SUPERUSER" -d postgres \
        -c "DROP DATABASE IF EXISTS ingest" -c "CREATE DATABASE ingest OWNER $PGC_USER" >/dev/null
    pids=""
    first=""
    i=1
    while [ "$i" -le "$n" ]; do
        rm -rf "$tmp/i$i.db" "$tmp/i$i.db"-* "$tmp/i$i.db".*
        start_server "$tmp/i$i.log" ./build/docrag serve --db "$iurl" --port 0 --workers 1 \
            --set postgres.mirror="$tmp/i$i.db" --set server.access_log=false
        pids="$pids $srv_pid"
        [ -n "$first" ] || first=$srv_url
        srv_pid=""
        i=$((i + 1))
    done
    t0=$(date +%s%N)
    jobs=""
    while read -r f; do
        j=$(curl -s -F "file=@$f" "$first/v1/documents" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
        jobs="$jobs $j"
    done <"$tmp/files"
    for j in $jobs; do
        while :; do
            st=$(curl -s "$first/v1/jobs/$j" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status"))')
            [ "$st" = done ] || [ "$st" = failed ] && break
            sleep 0.05
        done
    done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    ran=""
    i=1
    while [ "$i" -le "$n" ]; do
        ran="$ran r$i:$(grep -c '(attempt ' "$tmp/i$i.log" || true)"
        i=$((i + 1))
    done
    # from the store: a replica's /ready counts are refreshed once a second
    chunks=$("$PGC_BIN/psql" -X -q -At -h "$PGC_SOCK" -p "$PGC_PRIMARY_PORT" \
        -U "$PGC_SUPERUSER" -d ingest -c "SELECT count(*) FROM chunks")
    echo "$n worker(s): $n_ingest files, $chunks chunks in $ms ms (jobs run:$ran) (load $(bench_load))"
    echo "$n $ms $chunks" >>"$isum"
    for p in $pids; do kill "$p"; wait "$p" 2>/dev/null || true; done
    pids=""
done

echo
echo "== summary ($(bench_cpu | sed 's/^cpu: //'); load after: $(bench_load))"
[ ! -s "$lsum" ] || awk '{ k = $2; p50[k] += $4; p99[k] += $5; rps[k] += $3; n[k]++ }
     END { printf "latency c=1: sqlite p50 %.2f p99 %.2f ms %.0f req/s | postgres replica p50 %.2f" \
           " p99 %.2f ms %.0f req/s -> p50 %.2fx, p99 %.2fx (mean of %d rounds)\n",
           p50["sqlite"]/n["sqlite"], p99["sqlite"]/n["sqlite"], rps["sqlite"]/n["sqlite"],
           p50["postgres"]/n["postgres"], p99["postgres"]/n["postgres"], rps["postgres"]/n["postgres"],
           p50["postgres"]/p50["sqlite"], p99["postgres"]/p99["sqlite"], n["sqlite"] }' "$lsum"
[ ! -s "$tsum" ] || awk '{ rps[$1] += $3; p50[$1] += $4; p99[$1] += $5; n[$1]++ }
     END { for (k = 1; k <= 3; k++) printf "throughput %d replica(s): %.0f req/s p50 %.2f p99 %.2f ms (%.2fx of 1)\n",
           k, rps[k]/n[k], p50[k]/n[k], p99[k]/n[k], (rps[k]/n[k]) / (rps[1]/n[1]) }' "$tsum"
[ ! -s "$isum" ] || awk '{ ms[$1] = $2; ch[$1] = $3 }
     END { printf "ingestion: 1 worker %.1f s (%.0f chunks/s) | 2 workers %.1f s (%.0f chunks/s) -> %.2fx\n",
           ms[1]/1000, ch[1]/(ms[1]/1000), ms[2]/1000, ch[2]/(ms[2]/1000), ms[1]/ms[2] }' "$isum"
