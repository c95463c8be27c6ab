#!/bin/sh
# soak.sh - a wrk soak of mixed search / ask traffic against `docrag serve`
# with both int8 MiniLM-shaped models and ~100k chunks loaded (the data of
# bench/hybrid.sh), sampling the server's VmRSS every 10 s. Reports errors,
# RSS after loading, RSS growth from minute 2 (or a fifth of the run, if
# shorter) to the end, and the peak (VmHWM). Prints figures, no pass/fail.
#
#   [DURATION=600] [N_DOCS=54000] [CONNS=4] [WORKERS=<nproc>] bench/soak.sh
#
# The request mix, cycling through the bench queries (10 requests):
#   4 x POST /v1/search  bm25, k 10, "rerank": false
#   2 x POST /v1/search  hybrid, k 10, "rerank": false (query embedded)
#   2 x POST /v1/search  hybrid, k 10, reranked (top 50, the default)
#   1 x POST /v1/ask     bm25 + rerank, extractive answer
#   1 x POST /v1/ask     hybrid + rerank, extractive answer
# wrk runs CONNS connections closed loop (a slow reranked request just waits
# its turn) with a 60 s timeout. OMP_WAIT_POLICY=passive as in hybrid.sh.
set -eu
cd "$(dirname "$0")/.."
. bench/serve_lib.sh
dur=${DURATION:-600}
conns=${CONNS:-4}
workers=${WORKERS:-$(nproc)}
command -v wrk >/dev/null || { echo "soak.sh: wrk not found (scripts/install-deps.sh --bench)" >&2; exit 1; }
hybrid_data
tmp=$(mktemp -d)
sampler=""
trap 'stop_server; [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
python3 - "$h_out/queries.jsonl" >"$tmp/mix.bodies" <<'PY'
import json, sys
mix = [("/v1/search", {"k": 10, "mode": "bm25", "rerank": False})] * 4 + \
      [("/v1/search", {"k": 10, "mode": "hybrid", "rerank": False})] * 2 + \
      [("/v1/search", {"k": 10, "mode": "hybrid"})] * 2 + \
      [("/v1/ask", {"mode": "bm25"}), ("/v1/ask", {"mode": "hybrid"})]
qs = [json.loads(l)["text"] for l in open(sys.argv[1])]
for i, q in enumerate(qs):
    path, o = mix[(i * 7) % len(mix)]   # 7 is prime to 10: every kind meets every query
    o = dict(o)
    o["question" if path == "/v1/ask" else "query"] = q
    print(path + "\t" + json.dumps(o))
PY

bench_cpu
echo "index: $h_db; models: $h_models/{encoder,cross} (int8); $workers workers;" \
     "wrk -t1 -c$conns for $dur s; load before: $(bench_load)"
# shellcheck disable=SC2086
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} start_server "$tmp/server.log" ./build/docrag serve \
    --db "$h_db" --port 0 --workers "$workers" $h_sets
curl -s "$srv_url/ready" | python3 -c '
import json, sys
c = list(json.load(sys.stdin)["collections"].values())[0]
print("serving %d chunks, %d vectors; dense %s (%s), rerank %s (%s)" % (c["chunks"], c["vectors"],
      c["dense"]["available"], c["dense"]["model"], c["rerank"]["available"], c["rerank"]["model"]))'
rss() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$srv_pid/status"; }
echo "RSS after loading (before any request): $(($(rss VmRSS) / 1024)) MB"
(
    t0=$(date +%s)
    while kill -0 "$srv_pid" 2>/dev/null; do
        echo "$(($(date +%s) - t0)) $(rss VmRSS) $(rss VmHWM)"
        sleep 10
    done
) >"$tmp/rss" &
sampler=$!
WRK_BODIES=$tmp/mix.bodies wrk -t1 -c"$conns" -d"${dur}s" --timeout 60s -s bench/wrk_bodies.lua \
    "$srv_url/" >"$tmp/wrk.out"
if ! kill -0 "$srv_pid" 2>/dev/null; then
    st=0
    wait "$srv_pid" || st=$?
    srv_pid=""
    echo "soak.sh: the server exited during the soak (wait status $st); its last log lines:" >&2
    grep -v '"log":"access"' "$tmp/server.log" | tail -n 20 >&2
    echo "last RSS samples:" >&2
    tail -n 3 "$tmp/rss" >&2
    grep '^RESULT' "$tmp/wrk.out" >&2 || true
    exit 1
fi
end_hwm=$(rss VmHWM)
# where the resident memory is at the end: anonymous vs file-backed, and the
# largest mappings (heap and anonymous arenas are unnamed)
mem_split="anon $(($(rss RssAnon) / 1024)) MB + file $(($(rss RssFile) / 1024)) MB"
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = NF >= 6 ? $6 : "[anon]" }
     /^Rss:/ { kb[name] += $2 }
     END { for (n in kb) printf "%d %s\n", kb[n], n }' "/proc/$srv_pid/smaps" |
    sort -rn | head -n 6 | awk '{ printf "  %6.1f MB  %s\n", $1 / 1024, $2 }' >"$tmp/maps"
kill "$sampler" 2>/dev/null || true
sampler=""
res=$(grep '^RESULT' "$tmp/wrk.out")
stop_server
echo "RSS every 10 s (s, MB):"
awk '{ printf "%s%d:%.1f", (NR % 10 == 1 ? (NR > 1 ? "\n  " : "  ") : " "), $1, $2 / 1024 }
     END { print "" }' "$tmp/rss"
echo "wrk: $res"
awk -v dur="$dur" -v hwm="$end_hwm" -v res="$res" '
    { t[NR] = $1; r[NR] = $2 }
    END {
        from = dur >= 600 ? 120 : dur / 5
        for (i = 1; i <= NR && t[i] < from; i++) ;
        if (i > NR) i = NR
        printf "RSS growth from %d s (%.1f MB) to %d s (%.1f MB): %+.2f%%; peak (VmHWM) %.1f MB\n",
               t[i], r[i] / 1024, t[NR], r[NR] / 1024, 100 * (r[NR] - r[i]) / r[i], hwm / 1024
    }' "$tmp/rss"
n=$(field requests "$res")
errs=$(($(field non2xx "$res") + $(field connect "$res") + $(field read "$res") + \
        $(field write "$res") + $(field timeout "$res")))
echo "RSS at the end: $mem_split; largest mappings:"
cat "$tmp/maps"
echo "requests $n, errors $errs (non-2xx $(field non2xx "$res"), timeouts $(field timeout "$res"))"
echo "server errors logged: $(grep -c 'docrag: error' "$tmp/server.log" || true);" \
     "5xx in the access log: $(grep -c '"status":5' "$tmp/server.log" || true)"
echo "load after: $(bench_load)"
