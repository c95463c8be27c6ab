# serve_lib.sh - shell helpers for the server benchmarks (serve.sh, sse.sh,
# soak.sh, cold_start.sh); sourced, POSIX sh.

# The CPU and the load, printed next to every figure.
bench_cpu() {
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1)
    have=""
    for f in avx2 avx512f avx512_vnni avx512_bf16; do
        case " $flags " in *" $f "*) have="$have $f" ;; esac
    done
    echo "cpu: $model, $(nproc) cpus, flags:${have:- none of avx2/avx512}"
}

bench_load() {
    cut -d' ' -f1-3 /proc/loadavg
}

# start_server LOG CMD...: run CMD in the background with stderr in LOG and
# wait for its "listening on http://HOST:PORT" line; sets srv_pid, srv_url.
start_server() {
    _log=$1
    shift
    : >"$_log"
    "$@" >"$_log.stdout" 2>"$_log" &
    srv_pid=$!
    _i=0
    while ! grep -q '^listening on ' "$_log"; do
        if ! kill -0 "$srv_pid" 2>/dev/null; then
            echo "server exited before listening:" >&2
            cat "$_log" >&2
            exit 1
        fi
        _i=$((_i + 1))
        if [ "$_i" -gt 12000 ]; then
            echo "server not listening after 120 s" >&2
            exit 1
        fi
        sleep 0.01
    done
    srv_url=$(sed -n 's/^listening on //p' "$_log" | head -1)
}

stop_server() {
    if [ -n "${srv_pid:-}" ]; then
        kill "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
        srv_pid=""
    fi
}

# field NAME LINE: the value of NAME=VALUE in a RESULT line.
field() {
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
