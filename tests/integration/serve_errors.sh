#!/usr/bin/env bash
# serve_errors.sh - every error `docrag serve` answers, over real HTTP on
# 127.0.0.1: the status, the {"error":{"code","type","message"}} shape and
# X-Request-Id; path traversal; slow clients; keys and roles; rate limit;
# a full queue; /ready while loading; the refusal to serve a public address
# without a key; and no secret in any log line or response.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
unset DOCRAG_API_KEY DOCRAG_ADMIN_KEY DOCRAG_CONFIG
cd "$T"
mkdir docs
printf '# Vector unit\n\nThe vector length register vl holds the number of elements that vector instructions process.\n\nThe vtype register holds the element width.\n' >docs/vector.md
printf '# Scalar unit\n\nThe program counter holds the address of the current instruction.\n' >docs/scalar.md
"$DOCRAG_BIN" index --db t.db docs >/dev/null 2>&1
J=(-H 'Content-Type: application/json')

# ---- an open server (loopback, no key) with small limits ------------------------
start_server open -- --db t.db --set server.max_json_body=1024 \
    --set server.max_upload=4096 --set server.timeout_s=1

check_error "malformed JSON" badjson 400 -XPOST "$B/v1/search" "${J[@]}" \
    --data-binary $'{"query": "vl",\n  "k": }'
check "malformed JSON: the message has the line and column" \
    jq_py "$T/r/badjson.b" "'line 2, column' in o['error']['message']"
check_error "an empty JSON body" emptyjson 400 -XPOST "$B/v1/search" "${J[@]}"
check_error "a JSON body that is not an object" arrayjson 400 -XPOST "$B/v1/search" "${J[@]}" -d '[1]'
check_error "unknown route" noroute 404 "$B/v1/nope"
check_error "unknown document id" nodoc 404 "$B/v1/documents/999999"
check_error "unknown collection (query string)" nocoll 404 "$B/v1/documents?collection=nope"
check_error "unknown collection (search body)" nocoll2 404 -XPOST "$B/v1/search" "${J[@]}" \
    -d '{"query":"vl","collection":"nope"}'
check_error "GET /v1/search" get_search 405 "$B/v1/search"
check "405 names the allowed method" test "$(hdr get_search Allow)" = "POST"
check_error "DELETE /v1/search" del_search 405 -XDELETE "$B/v1/search"
big=$(py -c 'import json; print(json.dumps({"query": "v" * 1100}))')
check_error "JSON body over server.max_json_body" bigjson 413 -XPOST "$B/v1/search" "${J[@]}" \
    --data-binary "$big"
check "413 names server.max_json_body" jq_py "$T/r/bigjson.b" "'max_json_body' in o['error']['message']"
check_error "text/plain to /v1/search" plain 415 -XPOST "$B/v1/search" -H 'Content-Type: text/plain' \
    -d '{"query":"vl"}'
check_error "no Content-Type to /v1/search" noct 415 -XPOST "$B/v1/search" -H 'Content-Type:' \
    -d '{"query":"vl"}'
i=0
for body in '{"query":"vl","k":0}' '{"query":"vl","k":"5"}' '{"query":"vl","mode":"semantic"}' \
    '{"query":"vl","colour":"red"}' '{"query":"vl","pages":"5-2"}' '{"k":3}' '{"query":""}'; do
    i=$((i + 1))
    check_error "422 for $body" "u$i" 422 -XPOST "$B/v1/search" "${J[@]}" -d "$body"
done
check "422 messages name the field" bash -c "grep -q \"'k'\" $T/r/u1.b && grep -q \"'k'\" $T/r/u2.b &&
    grep -q \"'mode'\" $T/r/u3.b && grep -q \"unknown field 'colour'\" $T/r/u4.b && grep -q \"'pages'\" $T/r/u5.b"
check_error "ask with a 422 field" u_ask 422 -XPOST "$B/v1/ask" "${J[@]}" -d '{"question":"vl","stream":"yes"}'

# uploads: under the cap accepted, over it refused before the body is kept
head -c 3000 /dev/zero | tr '\0' 'a' >small.txt
head -c 6000 /dev/zero | tr '\0' 'b' >big.txt
check "an upload under server.max_upload is accepted (202)" \
    test "$(req up_small -XPOST "$B/v1/documents?filename=small.txt" --data-binary @small.txt)" = 202
# libevent 2.1 answers a body over its own cap (server.max_upload, the larger
# of the two) itself, with its HTML page: status only (no error-page hook
# before libevent 2.2's evhttp_set_errorcb).
check "an upload over server.max_upload gets 413" \
    test "$(req up_big -XPOST "$B/v1/documents?filename=big.txt" --data-binary @big.txt)" = 413
check "the refused upload was not stored" bash -c "! ls t.db.files 2>/dev/null | grep -q big.txt"
check_error "an upload with no filename" up_noname 422 -XPOST "$B/v1/documents" --data-binary @small.txt
check_error "an empty upload" up_empty 400 -XPOST "$B/v1/documents?filename=e.txt" -H 'Content-Type: text/plain'

# request ids: generated, or a sane client one echoed
req rid_gen "$B/health" >/dev/null
check "a generated X-Request-Id" bash -c "[ -n \"$(hdr rid_gen X-Request-Id)\" ]"
req rid_mine "$B/v1/nope" -H 'X-Request-Id: client-42_a.b' >/dev/null
check "a sane client X-Request-Id is echoed" test "$(hdr rid_mine X-Request-Id)" = "client-42_a.b"
req rid_bad "$B/health" -H 'X-Request-Id: has spaces<script>' >/dev/null
req rid_long "$B/health" -H "X-Request-Id: $(printf 'a%.0s' $(seq 80))" >/dev/null
check "an insane client X-Request-Id is replaced" bash -c "
    id=\$(grep -i '^X-Request-Id:' $T/r/rid_bad.h | tr -d '\r' | cut -d' ' -f2-)
    long=\$(grep -i '^X-Request-Id:' $T/r/rid_long.h | tr -d '\r' | cut -d' ' -f2-)
    [ -n \"\$id\" ] && [ \"\$id\" != 'has spaces<script>' ] && echo \"\$id\" | grep -Eq '^[A-Za-z0-9._-]+$' &&
    [ -n \"\$long\" ] && [ \${#long} -le 40 ]"

# path traversal: never a file, always a JSON 400 or 404
i=0
for p in '/v1/documents/..%2f..%2fetc' '/v1/documents/..%2f..%2fetc%2fpasswd/file' \
    '/v1/documents/1%2f..%2f..%2f..%2fetc%2fpasswd/file' '/v1/documents/%2e%2e/file' \
    '/v1/documents/1/file/../../../../etc/passwd' '/v1/documents/../../etc/passwd' \
    '/v1/documents/0x1/file' '/v1/documents/-1/file' '/v1/documents/1%00/file' \
    '/v1/documents/99999999999999999999/file' '/v1/documents/1/pages/..%2f..%2fetc%2fpasswd' \
    '/v1/documents/1/file?collection=../../../etc/passwd' '/v1/documents//etc/passwd/file'; do
    i=$((i + 1))
    code=$(req "trav$i" --path-as-is "$B$p")
    if { [ "$code" = 400 ] || [ "$code" = 404 ]; } && is_error "trav$i" "$code" &&
        ! grep -q 'root:' "$T/r/trav$i.b"; then
        pass "traversal $p answers $code"
    else
        fail "traversal $p: $code $(head -c 200 "$T/r/trav$i.b")"
    fi
done

# slow clients: half a request, then silence; closed within a few seconds
slow_client() { # PORT DATA: 0 if the server closes (or answers 408) within 5 s
    py - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode())
t0 = time.time()
s.settimeout(10)
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except socket.timeout:
    print("still open after 10 s"); sys.exit(1)
except ConnectionResetError:
    pass
took = time.time() - t0
status = data.split(b" ")[1] if data.startswith(b"HTTP/") else b"closed"
print("closed after %.1f s: %s" % (took, status.decode()))
sys.exit(0 if took < 5 and status in (b"closed", b"408") else 1)
PY
}
check "slow client (half a body) is cut off" \
    slow_client "$PORT" $'POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query"'
check "slow client (half the headers) is cut off" \
    slow_client "$PORT" $'GET /v1/documents HTTP/1.1\r\nHost: x\r\nAccept: */'
check "the server still answers after the slow clients" test "$(req after_slow "$B/health")" = 200

# with no key configured on loopback everything is open
check "open: list documents" test "$(req o_list "$B/v1/documents")" = 200
check "open: search" test "$(post o_search /v1/search '{"query":"vector length"}')" = 200
check "open: config (admin)" test "$(req o_config "$B/v1/config")" = 200
check "open: metrics (admin)" test "$(req o_metrics "$B/metrics")" = 200
check "open: upload (admin)" \
    test "$(req o_up -XPOST "$B/v1/documents?filename=o.txt" --data-binary 'open upload text here')" = 202
job=$(jget "$T/r/o_up.b" "o['job_id']")
check "open: the upload's job is done" wait_job "$job"
id=$(jget "$T/r/job_$job.b" "o['documents'][0]['id']")
check "open: delete (admin)" test "$(req o_del -XDELETE "$B/v1/documents/$id")" = 200

check "every answer above carries X-Request-Id (but libevent's own 413)" bash -c "
    cd $T/r; for h in *.h; do [ \$h = up_big.h ] && continue
    grep -qi '^X-Request-Id: [A-Za-z0-9._-]' \$h || { echo \"no id: \$h\"; exit 1; }; done"

# a 500 never leaks internals: corrupt the index under a running worker
rc=0
stop_server "$SRV_PID" || rc=$?
check "open server stops with 0" test "$rc" -eq 0
cp t.db c.db
start_server corrupt -- --db c.db --set server.workers=1
post warm /v1/search '{"query":"vector"}' >/dev/null
py -c 'import os,sys
f = open(sys.argv[1], "r+b"); n = os.path.getsize(sys.argv[1])
for off in range(4096 * 3, n, 4096):
    f.seek(off); f.write(b"\xde\xad\xbe\xef" * 1024)' c.db
code=$(req e500 "$B/v1/documents")
check "a corrupt index answers 500 ($code)" test "$code" = 500
check "... with the error shape" is_error e500 500
check "the 500 names no path, no SQLite detail, only the request id" bash -c "
    ! grep -Eqi '$T|c\\.db|sqlite|malformed|disk' $T/r/e500.b &&
    grep -q \"request id \$(grep -i '^X-Request-Id:' $T/r/e500.h | tr -d '\r' | cut -d' ' -f2)\" $T/r/e500.b"
check "the 500's detail is in the server log" grep -q 'malformed' corrupt.err
rc=0
stop_server "$SRV_PID" || rc=$?
check "corrupt server stops with 0" test "$rc" -eq 0

alive
# ---- keys and roles, and no secret anywhere --------------------------------------
RK=rk_ReadKey_7Qz91xWvHq
AK=ak_AdminKey_3Lm58pTtRe
BK=hf_BackendTok_9Hc22kJdPo
start_mock --token "$BK"
mock_llm_config keys.yaml "$BK"
mock_ctl chat '{"default":"The vl register holds the number of elements [1]."}'
start_server keys DOCRAG_API_KEY=$RK DOCRAG_ADMIN_KEY=$AK DOCRAG_CONFIG=keys.yaml -- --db t.db
check_error "no key: list documents" k_nokey 401 "$B/v1/documents"
check_error "no key: search" k_nokey2 401 -XPOST "$B/v1/search" "${J[@]}" -d '{"query":"vl"}'
check_error "wrong key (Bearer)" k_wrong 401 "$B/v1/documents" -H "Authorization: Bearer ${RK}x"
check_error "wrong key (X-API-Key)" k_wrong2 401 "$B/v1/documents" -H "X-API-Key: ${AK}x"
check_error "a key in a Basic header" k_basic 401 "$B/v1/documents" -H "Authorization: Basic $RK"
check_error "a bare key as Authorization" k_bare 401 "$B/v1/documents" -H "Authorization: $AK"
check "401 says the key is not valid" jq_py "$T/r/k_wrong.b" "'not valid' in o['error']['message']"
R=(-H "Authorization: Bearer $RK")
A=(-H "X-API-Key: $AK")
check_error "read key: upload" k_r_up 403 -XPOST "$B/v1/documents?filename=r.txt" "${R[@]}" --data-binary 'read key upload'
check_error "read key: delete" k_r_del 403 -XDELETE "$B/v1/documents/1" "${R[@]}"
check_error "read key: config" k_r_conf 403 "$B/v1/config" "${R[@]}"
check_error "read key: metrics" k_r_met 403 "$B/metrics" "${R[@]}"
check "no key: health still answers" test "$(req k_health "$B/health")" = 200
check "read key: list documents" test "$(req k_r_list "$B/v1/documents" "${R[@]}")" = 200
check "read key: one document" test "$(req k_r_doc "$B/v1/documents/1" "${R[@]}")" = 200
check "read key: search" test "$(post k_r_search /v1/search '{"query":"vector length"}' "${R[@]}")" = 200
check "read key: ask (through the mock back-end)" \
    test "$(post k_r_ask /v1/ask '{"question":"Which register holds the vector length?"}' "${R[@]}")" = 200
check "read key: the answer came from the mock" jq_py "$T/r/k_r_ask.b" "o['backend'] == 'mock'"
check "read key via X-API-Key" test "$(req k_r_x "$B/v1/documents" -H "X-API-Key: $RK")" = 200
check "admin key: search" test "$(post k_a_search /v1/search '{"query":"vector"}' "${A[@]}")" = 200
check "admin key: list documents" test "$(req k_a_list "$B/v1/documents" "${A[@]}")" = 200
check "admin key: upload" \
    test "$(req k_a_up -XPOST "$B/v1/documents?filename=a.txt" "${A[@]}" --data-binary 'admin upload text')" = 202
job=$(jget "$T/r/k_a_up.b" "o['job_id']")
check "read key: the upload's job" wait_job "$job" "${R[@]}"
id=$(jget "$T/r/job_$job.b" "o['documents'][0]['id']")
check "admin key: config" test "$(req k_a_conf "$B/v1/config" "${A[@]}")" = 200
check "admin key: metrics" test "$(req k_a_met "$B/metrics" -H "Authorization: Bearer $AK")" = 200
check "admin key: delete" test "$(req k_a_del -XDELETE "$B/v1/documents/$id" "${A[@]}")" = 200
check "admin key: ask streamed" test "$(post k_a_sse /v1/ask '{"question":"Which register holds the vector length?","stream":true}' "${A[@]}")" = 200
check "config shows the back-end key masked" bash -c "grep -q '\"api_key\"' $T/r/k_a_conf.b"
# paths the access log must escape: a quote, a backslash, a control byte
req k_odd1 --path-as-is "$B/v1/odd\"quote\\back" >/dev/null
req k_odd2 --path-as-is "$B/v1/odd%01ctl%22" >/dev/null
rc=0
stop_server "$SRV_PID" || rc=$?
check "keyed server stops with 0" test "$rc" -eq 0
check "the mock saw the back-end key (so it was in use)" bash -c "curl -s $MOCK/_mock/log | grep -q 'Bearer $BK'"
for s in "$RK" "$AK" "$BK"; do
    check "secret ${s:0:3}... in no log line" bash -c "! grep -q '$s' $T/keys.err"
    check "secret ${s:0:3}... in no response" bash -c "! grep -rlq '$s' $T/r"
done
check "no response but the admin's /v1/config names a server path" bash -c "
    ! grep -l '$T' $T/r/*.b | grep -v -e '/o_config.b' -e '/k_a_conf.b'"
check "the access log names keys by role only" bash -c "grep -q '\"client\":\"DOCRAG_ADMIN_KEY\"' $T/keys.err &&
    grep -q '\"client\":\"bad-key\"' $T/keys.err"
check "every access-log line is JSON, odd paths included" python3 - "$T/keys.err" <<'PY'
import json, sys
n = odd = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if '"log":"access"' not in line:
        continue
    o = json.loads(line.split("docrag: info: ", 1)[1])
    assert set(o) == {"log", "id", "method", "path", "status", "ms", "bytes", "route", "client"}, o
    assert isinstance(o["ms"], float) and isinstance(o["status"], int), o
    n += 1
    odd += o["path"].startswith("/v1/odd")
assert n >= 20 and odd == 2, (n, odd)
PY

alive
# ---- rate limit ------------------------------------------------------------------
start_server rate -- --db t.db --set server.rate_limit=1 --set server.rate_burst=2
c1=$(req rl1 "$B/v1/documents")
c2=$(req rl2 "$B/v1/documents")
check_error "third request in a burst of 2" rl3 429 "$B/v1/documents"
check "the burst itself passed" test "$c1$c2" = 200200
ra=$(hdr rl3 Retry-After)
check "429 has Retry-After >= 1 ($ra)" bash -c "[ '$ra' -ge 1 ] 2>/dev/null"
sleep "${ra:-1}"
check "after Retry-After the key may ask again" test "$(req rl4 "$B/v1/documents")" = 200

alive
# ---- a full queue: one worker, one waiting place ---------------------------------
stop_server "$SRV_PID" || true
mock_ctl reset '{}'
mock_ctl faults '{"faults":[{"fault":"slow;ms=2500","path":"/v1/chat","count":4}]}'
start_server queue DOCRAG_CONFIG=keys.yaml -- --db t.db --set server.workers=1 --set server.max_queue=1
ASK='{"question":"Which register holds the vector length?"}'
post q1 /v1/ask "$ASK" >"$T/q1.code" &
q1=$!
BG_PIDS="$BG_PIDS $q1"
for _ in $(seq 200); do   # the worker is busy once the mock has q1's chat
    [ "$(curl -s "$MOCK/_mock/count?path=/v1/chat")" = '{"count": 1}' ] && break
    sleep 0.05
done
# three more while q1 runs (2.5 s): one waits in the queue, the others find
# it full (in whatever order they arrive)
qp=""
for q in q2 q3 q4; do
    post "$q" /v1/ask "$ASK" >"$T/$q.code" &
    qp="$qp $!"
    sleep 0.1
done
BG_PIDS="$BG_PIDS $qp"
# shellcheck disable=SC2086
wait $qp || true
codes="$(cat "$T/q2.code") $(cat "$T/q3.code") $(cat "$T/q4.code")"
check "with the worker busy and the queue full: 503s ($codes)" bash -c "[[ '$codes' == *503* ]]"
n_bad=0
for q in q2 q3 q4; do
    case $(cat "$T/$q.code") in
    200) ;;
    503) if ! is_error "$q" 503 || [ "$(hdr "$q" Retry-After)" -lt 1 ] 2>/dev/null ||
        ! jq_py "$T/r/$q.b" "o['error']['type'] == 'overloaded'"; then n_bad=$((n_bad + 1)); fi ;;
    *) n_bad=$((n_bad + 1)) ;;
    esac
done
check "each 503 has the error shape, type overloaded and Retry-After; the rest 200" test "$n_bad" -eq 0
check "the loop still answers /health" test "$(req q_health "$B/health")" = 200
wait "$q1" || true
check "the running ask finishes with 200" test "$(cat "$T/q1.code")" = 200
stop_server "$SRV_PID" || true

alive
# ---- /ready before loading completes ---------------------------------------------
# the second collection is a new index whose creation waits for a writer's
# lock (held 3 s by Python), so the loader is still loading it
rm -f z.db
# (python3 itself in the background, not the py function: $! must be its
# pid, and no child may keep CTest's output pipe open)
/usr/bin/python3 -c 'import sqlite3, time, sys
c = sqlite3.connect("z.db", isolation_level=None); c.execute("PRAGMA journal_mode=WAL")
c.execute("BEGIN EXCLUSIVE"); open("z.locked", "w").close(); time.sleep(3); c.execute("COMMIT")' \
    >/dev/null 2>&1 &
locker=$!
BG_PIDS="$BG_PIDS $locker"
for _ in $(seq 100); do [ -e z.locked ] && break; sleep 0.05; done
"$DOCRAG_BIN" serve --db t.db --db z=z.db --port 0 >loading.out 2>loading.err &
lpid=$!
SRV_ALL="$SRV_ALL $lpid:loading"
lport=""
for _ in $(seq 100); do lport=$(listen_port "$lpid"); [ -n "$lport" ] && break; sleep 0.02; done
if [ -n "$lport" ] && ! grep -q '^listening on' loading.err; then
    B=http://127.0.0.1:$lport
    check_error "/ready while loading" loading_ready 503 "$B/ready"
    check "/ready 503 has Retry-After" test -n "$(hdr loading_ready Retry-After)"
    check_error "search while loading" loading_search 503 -XPOST "$B/v1/search" "${J[@]}" -d '{"query":"vl"}'
    check "/health answers while loading" test "$(req loading_health "$B/health")" = 200
else
    echo "# note: loading finished before /ready could be asked (port ${lport:-?})"
fi
wait "$locker" || true
for _ in $(seq 400); do grep -q '^listening on' loading.err && break; sleep 0.05; done
check "loading completes once the lock is gone" grep -q '^listening on' loading.err
[ -n "$lport" ] && check "/ready answers 200 once loaded" test "$(req loaded_ready "http://127.0.0.1:$lport/ready")" = 200
rc=0
stop_server "$lpid" || rc=$?
check "loading server stops with 0" test "$rc" -eq 0

alive
# ---- a public address needs a key ------------------------------------------------
# hold a port on 0.0.0.0: had the server tried to bind it, it would say so
/usr/bin/python3 -c 'import socket, time, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 0)); s.listen(1); open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(60)' held.port >/dev/null 2>&1 &
holder=$!
BG_PIDS="$BG_PIDS $holder"
for _ in $(seq 100); do [ -s held.port ] && break; sleep 0.05; done
rc=0
timeout 60 "$DOCRAG_BIN" serve --db t.db --host 0.0.0.0 --port "$(cat held.port)" >public.out 2>public.err || rc=$?
check "serve on 0.0.0.0 without a key exits non-zero ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying why (no key) and how to fix it" bash -c "grep -q 'refusing to serve' public.err &&
    grep -q 'DOCRAG_API_KEY' public.err && grep -q 'server.anonymous' public.err"
check "... before binding (no listen error, no listening line)" bash -c "! grep -Eq 'cannot listen|listening on' public.err"
kill "$holder" 2>/dev/null || true
start_server anon -- --db t.db --host 0.0.0.0 --set server.anonymous=read
check "anonymous read on 0.0.0.0: the listening line names 0.0.0.0" grep -q '^listening on http://0.0.0.0:' anon.err
check "anonymous read: list documents" test "$(req an_list "$B/v1/documents")" = 200
check "anonymous read: search" test "$(post an_search /v1/search '{"query":"vector"}')" = 200
for r in "POST /v1/documents?filename=x.txt" "DELETE /v1/documents/2" "GET /v1/config" "GET /metrics"; do
    set -- $r
    code=$(req "an_$RANDOM" -X "$1" "$B$2" --data-binary 'anonymous admin attempt')
    check "anonymous read: $r refused ($code)" bash -c "[ $code = 401 ] || [ $code = 403 ]"
done
srv_finish
