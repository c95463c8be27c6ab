#!/bin/sh
# cold_start.sh - exec of `docrag serve` to its first 200 on GET /ready
# (polled every 10 ms, bench/cold_start.py), RUNS times, with the ~100k
# chunks and both int8 MiniLM-shaped models of bench/hybrid.sh; then the
# same index without models (BM25 only), to show what the models cost.
# Prints min/median/max, no pass/fail. The page cache is left as it is:
# the first run may read the files from disk, the others find them cached.
#
#   [RUNS=7] [N_DOCS=54000] bench/cold_start.sh
#
# PERF=1 then times the stages of one start (with models) in wall-clock
# time: uprobes (perf probe, group docrag_cold, removed afterwards) on the
# entry and return of the functions start-up goes through, recorded with
# `perf record` from the exec on; and records a second start with
# `perf record -g` (DWARF call graphs) for where the CPU time goes
# (build/cold_start.perf.data; `perf report -i` it).
set -eu
cd "$(dirname "$0")/.."
. bench/serve_lib.sh
runs=${RUNS:-7}
hybrid_data
bench_cpu
echo "index: $h_db ($(sqlite3 -readonly "$h_db" 'SELECT count(*) FROM chunks') chunks," \
     "$(sqlite3 -readonly "$h_db" 'SELECT count(*) FROM vectors') vectors); load before: $(bench_load)"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
echo
echo "== int8 embedder + int8 reranker + vectors"
# shellcheck disable=SC2086
python3 bench/cold_start.py "$runs" -- ./build/docrag serve --db "$h_db" $h_sets
echo
echo "== the same index, no models (chains.embed=none, chains.rerank=none)"
python3 bench/cold_start.py "$runs" -- ./build/docrag serve --db "$h_db" \
    --set chains.embed=none --set chains.rerank=none
echo "load after: $(bench_load)"
[ "${PERF:-0}" = 1 ] || exit 0

# ---- where a start's time goes -------------------------------------------
tmp=$(mktemp -d)
trap 'perf probe -q -d "docrag_cold:*" 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM
perf probe -q -d "docrag_cold:*" 2>/dev/null || true
for f in main rag_config_load rag_index_open rag_llm_chain_create rag_retriever_open_shared \
         rag_embedder_chain_create rag_reranker_chain_create rag_wordpiece_load rag_model_load \
         load_weights rag_k_pack rag_embed_load_vectors rag_vector_index_load srv_auth_create \
         update_ready rag_index_stats_get; do
    perf probe -q -x build/docrag --add "docrag_cold:${f}__in=$f" &&
        perf probe -q -x build/docrag --add "docrag_cold:${f}__out=$f%return"
done
# one start under perf: record ARGS, then exec of the server until its first 200
perf_start() {
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    rm -f "$tmp/pid"
    # shellcheck disable=SC2086
    perf record -q "$@" -- sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/pid" \
        ./build/docrag serve --db "$h_db" --port "$port" $h_sets >/dev/null 2>"$tmp/perf.err" &
    perf_pid=$!
    i=0
    until curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -gt 12000 ] && { echo "cold_start.sh: not ready" >&2; cat "$tmp/perf.err" >&2; exit 1; }
        sleep 0.01
    done
    kill "$(cat "$tmp/pid")"
    wait "$perf_pid" || true
}
echo
echo "== stages of one start (uprobes; wall-clock ms from exec; load $(bench_load))"
perf_start -e "docrag_cold:*" -e sched:sched_process_exec -o "$tmp/stages.data"
perf script -i "$tmp/stages.data" -F tid,time,event 2>/dev/null | python3 -c '
import re, sys
t_exec = None; stack = {}; tot = {}; calls = {}; first = {}; first_ms = {}; order = []
for line in sys.stdin:
    m = re.match(r"\s*(\d+)\s+([\d.]+):\s+(\S+):", line)
    if not m:
        continue
    tid, t, ev = m.group(1), float(m.group(2)) * 1e3, m.group(3)
    if ev == "sched:sched_process_exec":
        t_exec = t   # the last exec: sh -> docrag
        continue
    m = re.match(r"docrag_cold:(\w+?)__(in|out)", ev)
    if not m or t_exec is None:
        continue
    f, io = m.groups()
    if io == "in":
        stack.setdefault((tid, f), []).append(t)
        if f not in first:
            first[f] = t - t_exec; order.append(f)
    elif stack.get((tid, f)):
        t0 = stack[(tid, f)].pop()
        tot[f] = tot.get(f, 0) + t - t0; calls[f] = calls.get(f, 0) + 1
        first_ms.setdefault(f, t - t0)
print("  %-27s %5s %9s %9s %10s" % ("function", "calls", "total ms", "first ms", "from exec"))
for f in order:
    print("  %-27s %5d %9.1f %9.1f %10.1f" % (f, calls.get(f, 0), tot.get(f, 0),
                                            first_ms.get(f, 0), first[f]))
'
echo "(main's first entry = exec -> main: loading shared libraries; rag_k_pack and load_weights"
echo " run inside rag_model_load; the first update_ready, on the loader thread after the bind,"
echo " gates the first 200)"
perf probe -q -d "docrag_cold:*" 2>/dev/null || true
echo
echo "== CPU time of one start by function (perf record -g --call-graph dwarf; load $(bench_load))"
perf_start -F 1999 --call-graph dwarf,16384 -o build/cold_start.perf.data
perf report -i build/cold_start.perf.data --children --sort sym 2>/dev/null |
    grep -E '^ +[0-9]' | grep -E ' (docrag_engine_open|rag_embed_load_vectors|rag_vector_index_load|rag_vector_index_add|quantize|rag_model_load|load_weights|rag_k_pack|rag_wordpiece_load|update_ready|rag_index_stats_get|find_stored_model|sqlite3_step|_dl_relocate_object|_dl_start|dl_main)$' |
    sed 's/^/  /'
