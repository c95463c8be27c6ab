#!/bin/bash
# pg_replicas.sh - `docrag serve` replicas on one PostgreSQL store behind
# haproxy (issue 14, docs/scaling.md), all real: a primary and a streaming
# standby (tests/support/pg_cluster.sh), haproxy health-checking /ready,
# replicas on --port 0, corpus PDFs.
#
#   1. the SQLite index and its `docrag store import` give the same search
#      results and scores and the same extractive answers;
#   2. an upload through replica A is searchable through B within 2 s of
#      its job being done (its event stream, followed through B, ends with
#      done; a failing job's, through A, with error); a delete through B is
#      gone from A within 2 s;
#   3. kill -9 of the replica running an ingestion job: a replica started
#      late catches up and runs the job again; every document once,
#      `docrag check` (with the store comparison) clean;
#   4. PostgreSQL stopped: /ready 503, search still 200 from the local
#      copy, uploads 503 naming the endpoint; started again: ready by
#      themselves, uploads work;
#   5. the standby promoted (multi-host URL, target_session_attrs=
#      read-write): the replicas carry on without a restart;
#   6. replicas end at the same applied seq; no password in any log.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
source "$(dirname "$0")/pg_lib.bash"
HAPROXY_PID=""
all_down() {
    srv_cleanup   # the replicas and haproxy (BG_PIDS); keeps $T with KEEP=1
    if [ -n "${KEEP:-}" ]; then T=/nonexistent-keep pg_down; else pg_down; fi
}
trap all_down EXIT
command -v haproxy >/dev/null || { echo "haproxy missing (scripts/install-deps.sh)" >&2; exit 1; }
CORPUS=$DOCRAG_SHARED/corpus
need_shared corpus/riscv-card.pdf

pg_up
export DOCRAG_PG_PASSWORD=$PGC_PASSWORD
pg_psql_n() { pg_psql "$PGC_PRIMARY_PORT" "$1"; }
export -f pg_psql pg_psql_n
export PGC_PASSWORD PGC_BIN PGC_HOST PGC_USER PGC_DB PGC_PRIMARY_PORT
# both nodes: after a promotion the standby is the read-write one
URL="postgres://$PGC_USER:\${DOCRAG_PG_PASSWORD}@$PGC_HOST:$PGC_PRIMARY_PORT,$PGC_HOST:$PGC_STANDBY_PORT/$PGC_DB?target_session_attrs=read-write"
PGSET=(--set postgres.reconnect_ms=1000 --set postgres.connect_timeout_ms=1000)

# ---- 1. the same answers from SQLite and PostgreSQL -------------------------
"$DOCRAG_BIN" index --db "$T/s.db" "$CORPUS/riscv-card.pdf" "$CORPUS/EECS-2011-62.pdf" \
    "$CORPUS/Communications_Signal_Processing_Using_RISC-V_Vector_Extension.pdf" >/dev/null 2>&1
check "store import copies the SQLite index" \
    "$DOCRAG_BIN" store import "$T/s.db" --db "$URL" --json -q
check "a second import is refused (the store has documents)" \
    bash -c "! '$DOCRAG_BIN' store import '$T/s.db' --db '$URL' -q 2>'$T/imp2.err' && grep -q 'has documents' '$T/imp2.err'"
same_runs=1
for q in "vector register length" "load store instructions" "branch prediction" "RISC-V"; do
    "$DOCRAG_BIN" search --json -k 10 --db "$T/s.db" "$q" >"$T/sq.json" 2>/dev/null
    "$DOCRAG_BIN" search --json -k 10 --db "$URL" "${PGSET[@]}" --set postgres.mirror="$T/cli.db" \
        "$q" >"$T/pq.json" 2>"$T/cli.err"
    py - "$T/sq.json" "$T/pq.json" <<'EOF' || same_runs=0
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ka = [(r["chunk_id"], r["doc"], r["score"]) for r in a["results"]]
kb = [(r["chunk_id"], r["doc"], r["score"]) for r in b["results"]]
if not ka or ka != kb:
    print("sqlite:", ka[:3], "\npostgres:", kb[:3], file=sys.stderr)
    sys.exit(1)
EOF
done
check "the same search results and scores from SQLite and PostgreSQL (4 queries)" test "$same_runs" = 1
"$DOCRAG_BIN" ask --json --db "$T/s.db" "What is the vector length register?" >"$T/sa.json" 2>/dev/null
"$DOCRAG_BIN" ask --json --db "$URL" "${PGSET[@]}" --set postgres.mirror="$T/cli.db" \
    "What is the vector length register?" >"$T/pa.json" 2>>"$T/cli.err"
check "the same extractive answer from SQLite and PostgreSQL" py -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a["answer"] and a["answer"] == b["answer"] and
         [c["chunk_id"] for c in a["citations"]] == [c["chunk_id"] for c in b["citations"]] else 1)' \
    "$T/sa.json" "$T/pa.json"
check "stats on PostgreSQL names the endpoint, not the password" bash -c \
    "'$DOCRAG_BIN' stats --db '$URL' --set postgres.mirror='$T/cli.db' 2>&1 | grep -q 'postgres://$PGC_USER@'"
# the command line writes through too (its own copy, then PostgreSQL)
"$DOCRAG_BIN" index --db "$URL" "${PGSET[@]}" --set postgres.mirror="$T/cli.db" \
    "$CORPUS/riscv-base-instructions.pdf" >"$T/cli_index.out" 2>>"$T/cli.err"
check "docrag index --db postgres://… writes into the store" bash -c \
    "[ \"\$(pg_psql_n \"SELECT count(*) FROM documents WHERE path LIKE '%riscv-base-instructions.pdf'\")\" = 1 ]"
check "docrag docs --db postgres://… lists it, from another copy" bash -c \
    "'$DOCRAG_BIN' docs --json --db '$URL' --set postgres.mirror='$T/cli2.db' 2>/dev/null | grep -q riscv-base-instructions"

# ---- 2. replicas A and B behind haproxy -----------------------------------------
replica() {   # replica NAME: start NAME on its own local copy
    start_server "$1" DOCRAG_PG_PASSWORD="$PGC_PASSWORD" -- --db "$URL" "${PGSET[@]}" \
        --set postgres.mirror="$T/$1.db" --set server.job_lease_ms=3000 --set server.workers=2
    eval "P_$1=$PORT"
    eval "PID_$1=$SRV_PID"
}
HP=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
haproxy_up() {   # haproxy_up NAME:PORT...: (re)start haproxy in front of them
    local old=$HAPROXY_PID e
    {
        printf 'global\n  maxconn 256\ndefaults\n  mode http\n  timeout connect 2s\n'
        printf '  timeout client 30s\n  timeout server 30s\n  retries 2\n  option redispatch\n'
        printf 'frontend fe\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "$HP"
        printf 'backend replicas\n  balance roundrobin\n  option httpchk GET /ready\n'
        printf '  http-check expect status 200\n  default-server inter 300ms fall 1 rise 1\n'
        for e in "$@"; do printf '  server %s 127.0.0.1:%s check\n' "${e%%:*}" "${e#*:}"; done
    } >"$T/haproxy.cfg"
    haproxy -db -f "$T/haproxy.cfg" ${old:+-sf $old} >"$T/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    BG_PIDS="$BG_PIDS $HAPROXY_PID"
}
# hp_search Q: a search through haproxy; status on stdout, body in $T/r/hp.b
hp_search() {
    req hp -XPOST "http://127.0.0.1:$HP/v1/search" -H 'Content-Type: application/json' \
        --data-binary "{\"query\":\"$1\",\"k\":5}"
}
# wait_for SECONDS CMD...: until CMD succeeds (0) or SECONDS pass (1)
wait_for() {
    local n=$(($1 * 20))
    shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
    return 1
}
ready_is() {   # ready_is PORT STATUS
    [ "$(req ready_$1 "http://127.0.0.1:$1/ready")" = "$2" ]
}
# has_doc PORT NAME: NAME is among the documents of the replica on PORT
has_doc() {
    req docs_$1 "http://127.0.0.1:$1/v1/documents" >/dev/null
    jq_py "$T/r/docs_$1.b" "any(d.get('title') and '$2' in json.dumps(d) for d in (o['documents'] if isinstance(o, dict) else o))"
}
n_docs_named() {   # n_docs_named PORT NAME: how many documents have NAME in their path
    req docs_$1 "http://127.0.0.1:$1/v1/documents" >/dev/null
    jget "$T/r/docs_$1.b" "sum(1 for d in (o['documents'] if isinstance(o, dict) else o) if '$2' in json.dumps(d))"
}
applied() { jget "$T/r/ready_$1.b" "o['store']['applied_seq']"; }

replica a
replica b
haproxy_up "a:$P_a" "b:$P_b"
check "haproxy answers once a replica is ready" wait_for 10 bash -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HP/ready)\" = 200 ]"
ready_is "$P_a" 200
check "/ready shows the PostgreSQL store" jq_py "$T/r/ready_$P_a.b" \
    "o['store']['backend'] == 'postgres' and o['store']['reachable'] and o['store']['endpoint'].startswith('postgres://$PGC_USER@') and o['store']['applied_seq'] == o['store']['head_seq'] > 0"
check "/metrics has the store's follow state" bash -c \
    "curl -s http://127.0.0.1:$P_a/metrics | grep -q '^docrag_store_applied_seq{collection=\"docrag\",backend=\"postgres\"} [1-9]'"

UP=General-Principles-of-Software-Validation---Final-Guidance-for-Industry-and-FDA-Staff.pdf
st=$(req up1 -F "file=@$CORPUS/$UP" "http://127.0.0.1:$P_a/v1/documents")
JOB=$(jget "$T/r/up1.b" "o['job_id']")
check "an upload through A is a shared job (202, pg_N)" bash -c "[ '$st' = 202 ] && [[ '$JOB' == pg_* ]]"
B=http://127.0.0.1:$P_b
# its event stream, followed through the other replica
curl -sN --max-time 60 -o "$T/ev_b.sse" "$B/v1/jobs/$JOB/events" &
EV_PID=$!
check "the job is done, as B reports it" wait_job "$JOB"
t0=$(date +%s%N)
if wait_for 2 has_doc "$P_b" "General-Principles"; then
    pass "the upload through A is listed by B within 2 s of its job ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else
    fail "the upload through A is listed by B within 2 s of its job"
fi
timeout 10 tail --pid="$EV_PID" -f /dev/null || true
check "B streams A's job to its end: status events, then done (GET /v1/jobs/pg_N/events)" \
    python3 -c "
import json, sys
ev = [l[7:].strip() for l in open('$T/ev_b.sse') if l.startswith('event: ')]
data = [json.loads(l[6:]) for l in open('$T/ev_b.sse') if l.startswith('data: ')]
assert ev and ev[-1] == 'done' and set(ev[:-1]) <= {'status'}, ev
assert data[-1]['id'] == '$JOB' and data[-1]['status'] == 'done', data[-1]
"
post bsearch /v1/search '{"query":"software validation principles","k":3}' >/dev/null
check "and found by a search through B" jq_py "$T/r/bsearch.b" \
    "o['results'] and 'General-Principles' in o['results'][0]['doc']"
DOC=$(jget "$T/r/bsearch.b" "o['results'][0]['document_id']")
[ -n "$DOC" ] || DOC=$(jget "$T/r/docs_$P_b.b" "[d['id'] for d in (o['documents'] if isinstance(o, dict) else o) if 'General-Principles' in json.dumps(d)][0]")
# The replica that did not run the job (either may claim it), with the
# other's upload folder out of its reach as on another machine (hidden
# here): its copy of the file comes from the job's bytes in the store
if grep -q "job $JOB: $UP (attempt" "$T/a.err"; then RAN=a OTHER=b P_OTHER=$P_b; else RAN=b OTHER=a P_OTHER=$P_a; fi
O=http://127.0.0.1:$P_OTHER
mv "$T/$RAN.db.files" "$T/$RAN.db.files.away"
check "$OTHER serves the page image of the upload $RAN ran (its own copy, from the store)" bash -c \
    "[ \"\$(curl -s -o '$T/o_page.png' -w '%{http_code} %{content_type}' '$O/v1/documents/$DOC/pages/1.png')\" = '200 image/png' ] &&
     [ \"\$(head -c 8 '$T/o_page.png' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"
check "$OTHER made the copy in its own upload folder and said so" bash -c \
    "grep -q \"document $DOC: this replica's copy of the upload from the store\" '$T/$OTHER.err' &&
     ls '$T'/$OTHER.db.files/*/'$UP' >/dev/null"
check "and $OTHER's /file is the uploaded file, byte for byte" bash -c \
    "curl -s '$O/v1/documents/$DOC/file' | cmp -s - '$CORPUS/$UP'"
mv "$T/$RAN.db.files.away" "$T/$RAN.db.files"
check "A lists the document before the delete" wait_for 2 has_doc "$P_a" "General-Principles"
check "a delete through B" test "$(req del1 -XDELETE "$B/v1/documents/$DOC")" = 200
t0=$(date +%s%N)
if wait_for 2 bash -c "$(declare -f req jq_py py has_doc); T='$T'; ! has_doc $P_a General-Principles"; then
    pass "the document deleted through B is gone from A within 2 s ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else
    fail "the document deleted through B is gone from A within 2 s"
fi
printf 'not a PDF at all' >"$T/broken.pdf"
st=$(req upbad -F "file=@$T/broken.pdf" "$B/v1/documents")
JOB=$(jget "$T/r/upbad.b" "o['job_id']")
curl -sN --max-time 60 -o "$T/ev_bad.sse" "http://127.0.0.1:$P_a/v1/jobs/$JOB/events" &
EV_PID=$!
wait_job "$JOB" 2>/dev/null || true
check "a file that cannot be indexed: its shared job ends failed after its attempts" \
    jq_py "$T/r/job_$JOB.b" "o['status'] == 'failed' and o['attempts'] == 3"
timeout 10 tail --pid="$EV_PID" -f /dev/null || true
check "its stream (through A) ends with error: failed after 3 attempts" python3 -c "
import json
ev = [l[7:].strip() for l in open('$T/ev_bad.sse') if l.startswith('event: ')]
data = [json.loads(l[6:]) for l in open('$T/ev_bad.sse') if l.startswith('data: ')]
assert ev and ev[-1] == 'error' and data[-1]['status'] == 'failed' and data[-1]['attempts'] == 3, (ev, data)
"
check_error "the stream of a shared job that does not exist" nopgjob 404 "$B/v1/jobs/pg_999999/events"
alive

# ---- 3. kill -9 during ingestion; a replica started late -------------------------
check "B stops on SIGTERM with status 0" stop_server "$PID_b"
BIG=(2505.24363.pdf 2107.04175.pdf RISC-V-VectorExtension-1-1.pdf Premarket-Software-Functions-Guidance.pdf)
args=()
for f in "${BIG[@]}"; do args+=(-F "file=@$CORPUS/$f"); done
# The store's write lock (pg_schema.h's change-log advisory lock) held by the test
# for 6 s: A claims a job, parses the file and then waits for the lock at its
# first write, so the kill lands in the middle of the job, not after it.
lock_state() {   # lock_state GRANTED: some session holds (t) / waits for (f) the lock
    [ "$(pg_psql "$PGC_PRIMARY_PORT" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
        AND classid = 0 AND objid = 74521002 AND granted = $1")" -ge 1 ]
}
pg_psql "$PGC_PRIMARY_PORT" "SELECT pg_advisory_xact_lock(74521002), pg_sleep(6)" >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
check "the test holds the store's write lock" wait_for 5 lock_state true
st=$(req up2 "${args[@]}" "http://127.0.0.1:$P_a/v1/documents")
check "an upload of ${#BIG[@]} files through A (202)" test "$st" = 202
JOBS=$(jget "$T/r/up2.b" "' '.join(d['job_id'] for d in o['documents'])")
wait_for 20 grep -q "job pg_[0-9]*: .* (attempt 1)" "$T/a.err" || true
KILLED=$(sed -n 's/.*job \(pg_[0-9]*\): .* (attempt 1)$/\1/p' "$T/a.err" | tail -1)
check "A waits for the write lock inside job $KILLED" wait_for 5 lock_state false
kill -9 "$PID_a"
wait "$PID_a" 2>/dev/null || true
forget_server "$PID_a"
check "A was killed while running a job ($KILLED)" test -n "$KILLED"
replica c   # late: its copy starts empty
B=http://127.0.0.1:$P_c
haproxy_up "c:$P_c"
all_done=1
for j in $JOBS; do wait_job "$j" || all_done=0; done
check "every job of the upload is done, run by the late replica C" test "$all_done" = 1
req killed "$B/v1/jobs/$KILLED" >/dev/null
check "the killed replica's job $KILLED was run again (attempts >= 2)" \
    jq_py "$T/r/killed.b" "o['status'] == 'done' and o['attempts'] >= 2"
once=1
for f in "${BIG[@]}"; do
    n=$(n_docs_named "$P_c" "$f")
    [ "$n" = 1 ] || { echo "$f: $n documents" >&2; once=0; }
done
check "each uploaded file is one document, none lost or duplicated" test "$once" = 1
replica b   # B again: catches up from the change log
haproxy_up "b:$P_b" "c:$P_c"
wait_for 10 bash -c "$(declare -f req ready_is); T='$T'; ready_is $P_b 200 && ready_is $P_c 200" || true
check "B, restarted, and C reach the same applied seq" bash -c \
    "[ -n \"$(applied "$P_b")\" ] && [ \"$(applied "$P_b")\" = \"$(applied "$P_c")\" ]"
if out=$("$DOCRAG_BIN" check --json --db "$URL" "${PGSET[@]}" --set postgres.mirror="$T/cli.db" 2>&1); then
    pass "docrag check passes on the store, the copy matching PostgreSQL table by table"
else
    printf '%s\n' "$out" | head -20
    fail "docrag check passes on the store, the copy matching PostgreSQL table by table"
fi
alive

# ---- 4. PostgreSQL stopped and started again ------------------------------------
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
bash "$PG_CLUSTER" stop "$PGC_DIR" primary >/dev/null 2>&1
t0=$(date +%s%N)
if wait_for 15 bash -c "$(declare -f req ready_is); T='$T'; ready_is $P_c 503"; then
    pass "with PostgreSQL down, C's /ready turns 503 ($(ms_since "$t0") ms after the stop)"
else
    fail "with PostgreSQL down, C's /ready turns 503"
fi
check "  naming the endpoint" jq_py "$T/r/ready_$P_c.b" \
    "o['error']['type'] == 'store_unavailable' and 'postgres://$PGC_USER@' in o['error']['message']"
check "  with Retry-After" bash -c "grep -qi '^Retry-After: [0-9]' '$T/r/ready_$P_c.h'"
post downsearch /v1/search '{"query":"vector register length","k":3}' >/dev/null
check "search through C still answers from the local copy" jq_py "$T/r/downsearch.b" "len(o['results']) > 0"
st=$(hp_search "vector register length")
check "search through haproxy answers 200 or a clear 503 ($st)" bash -c \
    "[ '$st' = 200 ] || [ '$st' = 503 ]"
st=$(req updown -F "file=@$CORPUS/EECS-2014-54.pdf" "$B/v1/documents")
check "an upload while PostgreSQL is down: 503 naming the endpoint ($st)" bash -c \
    "[ '$st' = 503 ] && grep -q 'postgres://$PGC_USER@' '$T/r/updown.b'"
alive
bash "$PG_CLUSTER" start "$PGC_DIR" primary >/dev/null 2>&1
t0=$(date +%s%N)
if wait_for 30 bash -c "$(declare -f req ready_is); T='$T'; ready_is $P_b 200 && ready_is $P_c 200"; then
    pass "PostgreSQL back: B and C ready again by themselves ($(ms_since "$t0") ms after the start)"
else
    fail "PostgreSQL back: B and C ready again by themselves"
fi
st=$(req up3 -F "file=@$CORPUS/EECS-2014-54.pdf" "$B/v1/documents")
JOB=$(jget "$T/r/up3.b" "o['job_id']")
check "an upload after the restart is done" wait_job "$JOB"

# ---- 5. the standby promoted ----------------------------------------------------
head=$(pg_psql "$PGC_PRIMARY_PORT" "SELECT max(seq) FROM change_log")
check "the standby has every change ($head)" pg_wait_standby "SELECT max(seq) FROM change_log" "$head"
bash "$PG_CLUSTER" stop "$PGC_DIR" primary >/dev/null 2>&1
bash "$PG_CLUSTER" promote "$PGC_DIR" >/dev/null 2>&1
t0=$(date +%s%N)
if wait_for 30 bash -c "$(declare -f req ready_is); T='$T'; ready_is $P_b 200 && ready_is $P_c 200"; then
    pass "after the promotion B and C are ready without a restart ($(ms_since "$t0") ms after it)"
else
    fail "after the promotion B and C are ready without a restart"
fi
st=$(req up4 -F "file=@$CORPUS/EECS-2015-49.pdf" "http://127.0.0.1:$HP/v1/documents")
JOB=$(jget "$T/r/up4.b" "o['job_id']")
check "an upload through haproxy after the promotion is done" wait_job "$JOB"
check "and searchable through both replicas" wait_for 5 bash -c \
    "$(declare -f req jq_py py has_doc); T='$T'; has_doc $P_b EECS-2015-49 && has_doc $P_c EECS-2015-49"
st=$(hp_search "vector register length")
check "search through haproxy after the promotion (200)" test "$st" = 200

# ---- 6. the same applied seq; no secret anywhere --------------------------------
wait_for 5 bash -c "$(declare -f req ready_is jget py); T='$T'; ready_is $P_b 200 && ready_is $P_c 200 &&
    [ \"\$(jget $T/r/ready_$P_b.b \"o['store']['applied_seq']\")\" = \"\$(jget $T/r/ready_$P_c.b \"o['store']['applied_seq']\")\" ]" || true
check "B and C end at the same applied seq ($(applied "$P_b"), $(applied "$P_c"))" bash -c \
    "[ -n \"$(applied "$P_b")\" ] && [ \"$(applied "$P_b")\" = \"$(applied "$P_c")\" ]"
check "no log, reply or output holds the PostgreSQL password" bash -c \
    "! grep -rqF -- '$PGC_PASSWORD' '$T'/*.err '$T'/*.out '$T'/r '$T'/*.json"
srv_finish
