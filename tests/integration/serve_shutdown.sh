#!/usr/bin/env bash
# serve_shutdown.sh - SIGTERM is graceful: during a slow streamed answer
# (and a slow plain one) the server stops accepting (new connections are
# refused or get 503), lets both finish (the stream ends with done), and
# exits 0 well within server.shutdown_grace_ms; a stream that outlasts the
# grace period is cut at the deadline and the process still exits 0.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
unset DOCRAG_API_KEY DOCRAG_ADMIN_KEY DOCRAG_CONFIG
cd "$T"
mkdir docs
printf '# Vector unit\n\nThe vector length register vl holds the number of elements that vector instructions process.\n' >docs/vector.md
"$DOCRAG_BIN" index --db t.db docs >/dev/null 2>&1
start_mock --stream-delay-ms 40
mock_llm_config sd.yaml ""
Q='{"question":"Which register holds the vector length?","stream":true}'
long=$(py -c 'print(" ".join("word%d" % i for i in range(60)) + " [1].")')   # ~2.5 s streamed
now() { date +%s.%N; }
elapsed() { py -c "print('%.2f' % ($(now) - $1))"; }
refused_or_503() { # URL: 0 if a new connection is refused, or answered 503
    local code rc=0
    code=$(curl -s -o "$T/r/late.b" -w '%{http_code}' --max-time 5 "$1") || rc=$?
    echo "new request during shutdown: curl exit $rc, status $code"
    [ "$rc" = 7 ] || [ "$code" = 503 ]
}

# ---- the stream finishes, then the process exits 0 ---------------------------------
start_server grace DOCRAG_CONFIG=sd.yaml -- --db t.db --set server.shutdown_grace_ms=8000
mock_ctl chat "{\"default\":\"$long\"}"
mock_ctl faults '{"faults":[{"fault":"slow;ms=1500","path":"/v1/chat"}]}'
post plain /v1/ask '{"question":"Which register holds the vector length?"}' >plain.code &
plain=$!
BG_PIDS="$BG_PIDS $plain"
for _ in $(seq 200); do
    [ "$(curl -s "$MOCK/_mock/count?path=/v1/chat")" = '{"count": 1}' ] && break
    sleep 0.02
done
curl -sN -o s1.sse -XPOST "$B/v1/ask" -H 'Content-Type: application/json' -d "$Q" &
cpid=$!
BG_PIDS="$BG_PIDS $cpid"
for _ in $(seq 200); do grep -q '^event: delta' s1.sse 2>/dev/null && break; sleep 0.02; done
check "a stream is under way" grep -q '^event: delta' s1.sse
t0=$(now)
kill -TERM "$SRV_PID"
sleep 0.4
check "new connections are refused or get 503" refused_or_503 "$B/health"
rc=0
wait "$SRV_PID" || rc=$?
took=$(elapsed "$t0")
forget_server "$SRV_PID"
wait "$cpid" "$plain" || true
check "the stream finished with done" bash -c "[ \"\$(grep '^event: ' s1.sse | tail -1)\" = 'event: done' ]"
check "... with the whole answer" bash -c "grep -A1 '^event: done' s1.sse | grep -q 'word59'"
check "the plain answer in flight finished with 200" test "$(cat plain.code)" = 200
check "exit status 0 ($rc)" test "$rc" -eq 0
check "exited in ${took}s, within shutdown_grace_ms (8 s)" py -c "import sys; sys.exit(0 if $took < 8 else 1)"
check "the log says it stopped" bash -c "grep -q 'docrag: stopping' grace.err && grep -q 'docrag: stopped' grace.err"

alive
# ---- a stream longer than the grace period is cut at the deadline --------------------
mock_ctl reset '{}'
mock_ctl chat "{\"answers\":[\"$long $long\"]}"   # ~5 s
start_server short DOCRAG_CONFIG=sd.yaml -- --db t.db --set server.shutdown_grace_ms=1000
curl -sN -o s2.sse -XPOST "$B/v1/ask" -H 'Content-Type: application/json' -d "$Q" &
cpid=$!
BG_PIDS="$BG_PIDS $cpid"
for _ in $(seq 200); do grep -q '^event: delta' s2.sse 2>/dev/null && break; sleep 0.02; done
t0=$(now)
kill -TERM "$SRV_PID"
rc=0
wait "$SRV_PID" || rc=$?
took=$(elapsed "$t0")
forget_server "$SRV_PID"
wait "$cpid" || true
check "grace 1 s: exit status 0 ($rc)" test "$rc" -eq 0
check "grace 1 s: exited at the deadline (${took}s, 0.9-6 s)" py -c "import sys; sys.exit(0 if 0.9 <= $took < 6 else 1)"
check "grace 1 s: the stream was cut (no done)" bash -c "! grep -q '^event: done' s2.sse"
state=""
for _ in $(seq 100); do
    state=$(curl -s "$MOCK/_mock/log" | py -c 'import json,sys; print([e.get("stream") for e in json.load(sys.stdin)["requests"] if e["path"].startswith("/v1/chat")][-1])')
    [ "$state" != open ] && break
    sleep 0.05
done
check "grace 1 s: the upstream stream was closed too ($state)" test "$state" = client_closed
srv_finish
