# serve_lib.bash - helpers for the serve_*.sh tests (sourced after lib.bash):
# start and stop `docrag serve` and the mock API, make requests, read JSON.
#
#   start_mock [mock_api.py args]    -> MOCK (base URL), MOCK_PID
#   start_server NAME [VAR=VALUE...] [-- serve args]
#                                    -> SRV_PID, PORT, B (base URL); stderr
#                                       in $T/NAME.err; 1 if it never listened
#   stop_server PID                  SIGTERM, wait, return its exit status
#   forget_server PID                after the test killed and reaped it
#   req NAME [curl args]             one request: status on stdout, headers
#                                    in $T/r/NAME.h, body in $T/r/NAME.b
#   jq_py FILE EXPR                  true if the Python EXPR holds for o =
#                                    the JSON in FILE
#   jget FILE EXPR                   print that EXPR's value
#   wait_job ID [curl args]          poll /v1/jobs/ID until done (0) or failed
#   is_error NAME STATUS             $T/r/NAME.b is {"error":{"code":STATUS,
#                                    "type","message"}} and NAME.h has a sane
#                                    X-Request-Id
#   alive                            end the test (failed) if a server died
#   srv_finish                       stop every server still running, check
#                                    each exited 0 with no sanitizer report,
#                                    then finish
# Every process started here is killed (-9) by the EXIT trap, which also
# removes $T unless KEEP is set (for debugging).
mkdir -p "$T/r"
SRV_ALL=""      # "pid:name" of every server started
BG_PIDS=""      # other background helpers to kill on exit
MOCK_PID=""
srv_cleanup() {
    local e p
    for e in $SRV_ALL; do kill -9 "${e%%:*}" 2>/dev/null || true; done
    for p in $MOCK_PID $BG_PIDS; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap srv_cleanup EXIT

start_mock() {
    rm -f "$T/mock.port"
    /usr/bin/python3 "$DOCRAG_SRC/tests/support/mock_api.py" --port-file "$T/mock.port" "$@" \
        >/dev/null 2>"$T/mock.err" &
    MOCK_PID=$!
    for _ in $(seq 200); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
    MOCK=http://127.0.0.1:$(cat "$T/mock.port")
}
mock_ctl() { curl -sf -XPOST "$MOCK/_mock/$1" -d "$2" >/dev/null; }

# A config file for an LLM chain [mock, extractive] on the mock (HF
# router-style OpenAI chat), written to FILE; extra YAML lines may follow.
mock_llm_config() {
    local file=$1 key=${2:-}
    shift 2 || shift $#
    {
        echo "backends:"
        echo "  mock:"
        echo "    type: openai"
        echo "    url: $MOCK/v1"
        echo "    model: mock-llm"
        [ -n "$key" ] && echo "    api_key: $key"
        echo "    max_retries: 0"
        echo "    max_in_flight: 128"
        echo "chains:"
        echo "  llm: [mock, extractive]"
        for l in "$@"; do echo "$l"; done
    } >"$file"
}

start_server() {
    local name=$1 envs=() t
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    env "${envs[@]}" "$DOCRAG_BIN" serve --port 0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
    SRV_PID=$!
    SRV_ALL="$SRV_ALL $SRV_PID:$name"
    # generous: a sanitizer build loads slowly
    for t in $(seq 1200); do
        if grep -q '^listening on http://' "$T/$name.err" 2>/dev/null; then
            PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p;s|^listening on http://0\.0\.0\.0:\([0-9]*\)$|\1|p' "$T/$name.err" | head -1)
            B=http://127.0.0.1:$PORT
            [ -n "$PORT" ] && return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "server $name did not start:" >&2
    cat "$T/$name.err" >&2
    return 1
}

# The port a server listens on, from the kernel (before it prints it).
listen_port() {
    ss -ltnpH 2>/dev/null | grep "pid=$1," | awk '{print $4}' | sed 's/.*://' | head -1
}

stop_server() {
    local pid=$1 rc=0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    forget_server "$pid"
    return $rc
}
# After a server was killed (-9) and reaped by the test itself.
forget_server() {
    local e keep=""
    for e in $SRV_ALL; do [ "${e%%:*}" = "$1" ] || keep="$keep $e"; done
    SRV_ALL=$keep
}

req() {
    local name=$1
    shift
    curl -s --max-time 60 -D "$T/r/$name.h" -o "$T/r/$name.b" -w '%{http_code}' "$@" || true
}

jq_py() {
    py -c 'import json,sys
o = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if eval("(" + sys.argv[2] + "\n)") else 1)' "$1" "$2"
}

# Print the Python EXPR evaluated on o = the JSON in FILE ("" on error).
jget() {
    py -c 'import json,sys
try:
    o = json.load(open(sys.argv[1], encoding="utf-8")); print(eval(sys.argv[2]))
except Exception:
    print("")' "$1" "$2"
}

# wait_job JOB_ID [curl args]: poll GET /v1/jobs/ID until the job is done
# or failed (up to 120 s); its last state is in $T/r/job_ID.b; 0 if done.
wait_job() {
    local id=$1 st
    shift
    for _ in $(seq 2400); do
        [ "$(req "job_$id" "$B/v1/jobs/$id" "$@")" = 000 ] && break   # no server
        st=$(jget "$T/r/job_$id.b" "o['status']")
        case $st in done) return 0 ;; failed) break ;; esac
        sleep 0.05
    done
    echo "job $id: $(head -c 600 "$T/r/job_$id.b")" >&2
    return 1
}

# The value of a response header (last one), without CR.
hdr() { grep -i "^$2:" "$T/r/$1.h" | tail -1 | cut -d: -f2- | sed 's/^ *//' | tr -d '\r'; }

is_error() {
    local name=$1 status=$2
    jq_py "$T/r/$name.b" "set(o) == {'error'} and set(o['error']) == {'code','type','message'} \
and o['error']['code'] == $status and isinstance(o['error']['type'], str) and o['error']['type'] \
and isinstance(o['error']['message'], str) and o['error']['message']" &&
        hdr "$name" X-Request-Id | grep -Eq '^[A-Za-z0-9._-]{1,40}$'
}

# check_error DESC NAME STATUS [curl args]: one request answering STATUS
# with the error shape.
check_error() {
    local desc=$1 name=$2 status=$3 got
    shift 3
    got=$(req "$name" "$@")
    if [ "$got" = "$status" ] && is_error "$name" "$status"; then
        pass "$desc ($status)"
    else
        fail "$desc: expected $status with the error shape, got $got: $(head -c 300 "$T/r/$name.b")"
    fi
}

# A JSON POST: post NAME PATH BODY [curl args]
post() {
    local name=$1 path=$2 body=$3
    shift 3
    req "$name" -XPOST "$B$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# Give up at once when a server died (a sanitizer report halts it): the
# remaining checks would only time out. Call after a phase.
alive() {
    local e
    for e in $SRV_ALL; do
        if ! kill -0 "${e%%:*}" 2>/dev/null; then
            fail "server ${e#*:} died:"
            grep -v '"log":"access"' "$T/${e#*:}.err" | head -60
            SRV_ALL=""
            finish
            exit 1
        fi
    done
}

# No server log holds a sanitizer report.
no_sanitizer_report() {
    ! grep -l -E 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
        "$T"/*.err 2>/dev/null
}

srv_finish() {
    local e pid name rc
    for e in $SRV_ALL; do
        pid=${e%%:*}
        name=${e#*:}
        if kill -0 "$pid" 2>/dev/null; then
            rc=0
            stop_server "$pid" || rc=$?
            check "server $name stops on SIGTERM with status 0" test "$rc" -eq 0
        fi
    done
    SRV_ALL=""
    check "no sanitizer report in any server log" no_sanitizer_report
    finish
}
