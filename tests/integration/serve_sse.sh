#!/usr/bin/env bash
# serve_sse.sh - POST /v1/ask {"stream":true} over real HTTP with the mock
# LLM as chains.llm [mock, extractive]: events in the order sources ->
# delta+ -> done (done = the full ask JSON), a mid-stream failure resets and
# falls back to the extractive answer, a client that goes away closes the
# upstream request, 64 concurrent streams all finish, and an idle stream
# gets ": ping" comments (server.sse_ping_s=1).
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
unset DOCRAG_API_KEY DOCRAG_ADMIN_KEY DOCRAG_CONFIG
cd "$T"
mkdir docs
printf '# Vector unit\n\nThe vector length register vl holds the number of elements that vector instructions process.\n\nThe vtype register holds the element width and the grouping.\n' >docs/vector.md
printf '# Scalar unit\n\nThe program counter holds the address of the current instruction.\n' >docs/scalar.md
"$DOCRAG_BIN" index --db t.db docs >/dev/null 2>&1
start_mock --stream-delay-ms 40
mock_llm_config sse.yaml ""
# one worker: the 64 concurrent streams below are served by the workers the
# server starts while streams hold the others (server.stream_workers, 64)
start_server sse DOCRAG_CONFIG=sse.yaml -- --db t.db --set server.workers=1 \
    --set server.sse_ping_s=1
Q='{"question":"Which register holds the vector length?","stream":true}'
ask_sse() { # OUT [curl args]: one streamed ask, the raw bytes into OUT
    local out=$1
    shift
    curl -sN -D "$out.h" -o "$out" -XPOST "$B/v1/ask" -H 'Content-Type: application/json' \
        -d "$Q" "$@" || true
}

# sse.py FILE EXPR: parse the stream into ev = [{"event","data","off"}]
# (data decoded as JSON), pings = byte offsets of ": ping" comments; exit 0
# if EXPR holds.
cat >sse.py <<'PY'
import json, re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8")
ev, pings, off = [], [], 0
for block in raw.split("\n\n"):
    start, off = off, off + len(block) + 2
    if not block.strip():
        continue
    name, data = "message", []
    for line in block.split("\n"):
        if line.startswith(":"):
            if line.strip() == ": ping":
                pings.append(start)
            continue
        k, _, v = line.partition(":")
        v = v[1:] if v.startswith(" ") else v
        if k == "event":
            name = v
        elif k == "data":
            data.append(v)
    if data or name != "message":
        d = "\n".join(data)
        try:
            d = json.loads(d)
        except ValueError:
            pass
        ev.append({"event": name, "data": d, "off": start})
names = [e["event"] for e in ev]
def first(n): return next(e for e in ev if e["event"] == n)
deltas = "".join(e["data"]["text"] for e in ev if e["event"] == "delta")
ok = eval("(" + sys.argv[2] + "\n)")
if not ok:
    print("stream:", names, "pings at", pings, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
sse() { py sse.py "$@"; }

# ---- the order: sources -> delta+ -> done -----------------------------------------
ANSWER="The vl register holds the number of elements [1]."
mock_ctl chat "{\"answers\":[\"$ANSWER\"]}"
ask_sse s1.sse
check "stream: Content-Type text/event-stream" grep -qi '^Content-Type: text/event-stream' s1.sse.h
check "stream: no caching, no proxy buffering" bash -c "grep -qi '^Cache-Control: no-cache' s1.sse.h &&
    grep -qi '^X-Accel-Buffering: no' s1.sse.h && grep -qi '^X-Request-Id: ' s1.sse.h"
check "stream: sources, then deltas, then done, nothing else" \
    sse s1.sse "names[0] == 'sources' and names[-1] == 'done' and names.count('sources') == 1 and
    names.count('done') == 1 and set(names[1:-1]) == {'delta'} and len(names) >= 3"
check "stream: sources' bytes come before the first delta's, done's after the last" \
    sse s1.sse "first('sources')['off'] < first('delta')['off'] and
    max(e['off'] for e in ev if e['event'] == 'delta') < first('done')['off']"
check "stream: sources lists numbered chunks with documents and pages" \
    sse s1.sse "all(set(s) >= {'n','chunk_id','doc','page_start','page_end','text'}
    for s in first('sources')['data']['sources']) and first('sources')['data']['sources'][0]['n'] == 1"
check "stream: the deltas add up to the answer" sse s1.sse "deltas == first('done')['data']['answer'] == '$ANSWER'"
check "stream: done has question, citations, confidence, backend=mock" \
    sse s1.sse "(lambda d: d['question'] == 'Which register holds the vector length?' and
    d['backend'] == 'mock' and d['refused'] is False and isinstance(d['confidence'], (int, float)) and
    len(d['citations']) == 1 and d['citations'][0]['n'] == 1 and
    d['citations'][0]['chunk_id'] in [s['chunk_id'] for s in first('sources')['data']['sources']] and
    'timings_ms' in d)(first('done')['data'])"
check "stream: documents by name, no server path" bash -c "! grep -q '$T' s1.sse &&
    grep -q '\"doc\":\"vector.md\"' s1.sse"
post plain /v1/ask '{"question":"Which register holds the vector length?"}' >/dev/null
check "stream: done has the keys of the non-streamed answer" \
    sse s1.sse "set(first('done')['data']) == set(json.load(open('$T/r/plain.b')))"

alive
# ---- a back-end failing mid-stream: reset, then the extractive answer -------------
mock_ctl chat '{"answers":["alpha beta gamma delta epsilon zeta eta theta [1]."]}'
mock_ctl faults '{"faults":[{"fault":"cut;after=4","path":"/v1/chat"}]}'
ask_sse s2.sse
check "fallback: sources, delta(s), reset, delta(s), done" \
    sse s2.sse "names[0] == 'sources' and names[-1] == 'done' and names.count('reset') == 1 and
    'delta' in names[1:names.index('reset')] and 'delta' in names[names.index('reset'):]"
check "fallback: reset names the failed back-end" sse s2.sse "first('reset')['data']['backend'] == 'mock'"
check "fallback: the discarded text came before the reset only" \
    sse s2.sse "'alpha' in ''.join(e['data']['text'] for e in ev[:names.index('reset')] if e['event'] == 'delta') and
    'alpha' not in first('done')['data']['answer']"
check "fallback: done is the extractive answer with a notice" \
    sse s2.sse "first('done')['data']['backend'] == 'extractive' and first('done')['data'].get('notice') and
    'vl' in first('done')['data']['answer']"

alive
# ---- the client goes away: the upstream request is closed early -------------------
mock_ctl reset '{}'
long=$(py -c 'print(" ".join("word%d" % i for i in range(80)) + " [1].")')
mock_ctl chat "{\"answers\":[\"$long\"]}"
curl -sN -o s3.sse -XPOST "$B/v1/ask" -H 'Content-Type: application/json' -d "$Q" &
cpid=$!
BG_PIDS="$BG_PIDS $cpid"
for _ in $(seq 200); do grep -q '^event: delta' s3.sse 2>/dev/null && break; sleep 0.02; done
kill "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
check "cancel: the client had a first delta" grep -q '^event: delta' s3.sse
state=""
for _ in $(seq 100); do
    curl -s "$MOCK/_mock/log" >log3.json
    state=$(jget log3.json "[e.get('stream') for e in o['requests'] if e['path'].startswith('/v1/chat')][-1]")
    [ "$state" != open ] && break
    sleep 0.05
done
check "cancel: the mock saw the upstream stream closed by docrag ($state)" test "$state" = client_closed
check "cancel: well before its end" \
    jq_py log3.json "[e for e in o['requests'] if e['path'].startswith('/v1/chat')][-1]['sent'] < 40"
req met3 "$B/metrics" >/dev/null
check "cancel: counted (docrag_events_total answer_cancelled/client_closed)" \
    grep -Eq '^docrag_events_total\{event="answer_cancelled",reason="client_closed"\} 1$' "$T/r/met3.b"
check "metrics: the LLM member's breaker, by stage (closed)" \
    grep -Eq '^docrag_backend_breaker_open\{collection="[^"]+",stage="llm",backend="mock"\} 0$' "$T/r/met3.b"

alive
# ---- 64 concurrent streams from a slow mock ---------------------------------------
mock_ctl reset '{}'
mock_ctl chat '{"default":"The vl register holds the number of elements that vector instructions process [1]."}'
pids=""
for i in $(seq 64); do
    curl -sN -o "c$i.sse" -w '%{time_total}\n' -XPOST "$B/v1/ask" -H 'Content-Type: application/json' \
        -d "$Q" >"c$i.time" &
    pids="$pids $!"
done
BG_PIDS="$BG_PIDS $pids"
t0=$(date +%s)
# shellcheck disable=SC2086
wait $pids || true
took=$(($(date +%s) - t0))
n_done=$(cat c*.sse | grep -c '^event: done' || true)
check "64 streams: 64 done events ($n_done, ${took}s)" test "$n_done" -eq 64
bad=0
for i in $(seq 64); do
    sse "c$i.sse" "names[0] == 'sources' and names[-1] == 'done' and names.count('done') == 1 and
        first('done')['data']['backend'] == 'mock' and
        deltas == first('done')['data']['answer']" 2>/dev/null || bad=$((bad + 1))
done
check "64 streams: each in order with its whole answer ($bad bad)" test "$bad" -eq 0
slowest=$(sort -n c*.time | tail -1)
check "64 streams: no stream starves (slowest ${slowest}s < 30 s)" \
    py -c "import sys; sys.exit(0 if float('$slowest') < 30 else 1)"
curl -s "$MOCK/_mock/log" >log4.json
check "64 streams: the mock streamed 64 complete answers" \
    jq_py log4.json "sum(1 for e in o['requests'] if e.get('stream') == 'complete') == 64"
workers=$(curl -s "$B/metrics" | sed -n 's/^docrag_workers \([0-9]*\).*/\1/p')
check "64 streams on 1 worker: workers were started for them (docrag_workers $workers, 2..65)" \
    test "${workers:-0}" -ge 2 -a "${workers:-0}" -le 65

alive
# ---- an idle stream gets pings -----------------------------------------------------
mock_ctl reset '{}'
mock_ctl chat "{\"answers\":[\"$ANSWER\"]}"
mock_ctl faults '{"faults":[{"fault":"slow;ms=3000","path":"/v1/chat"}]}'
ask_sse s5.sse
check "idle stream: ': ping' comments while the back-end is silent" \
    sse s5.sse "len([p for p in pings if first('sources')['off'] < p < first('delta')['off']]) >= 1 and
    len(pings) >= 2"
check "idle stream: still ends with done" sse s5.sse "names[-1] == 'done' and first('done')['data']['backend'] == 'mock'"
srv_finish
