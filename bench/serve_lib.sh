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

# hybrid_data: what bench/hybrid.sh serves, made the same way when missing:
# the N_DOCS-document corpus of bm25_latency (default 54000 -> 99,644
# chunks), the generated MiniLM-L6-shaped encoder/ and cross/ folders (random
# weights, the real all-MiniLM-L6-v2 tokenizer) and DB with one synthetic
# unit vector per chunk (bench_hybrid writes them). Sets h_out, h_db,
# h_models and h_sets: the --set arguments that make `docrag serve` load
# both models in int8 (embedder `local`, reranker `ce`).
hybrid_data() {
    _shared=${DOCRAG_SHARED:-../shared}
    _data=${DOCRAG_BENCH_DATA:-build/bench-data}
    h_out=$_data/bm25_${N_DOCS:-54000}
    h_db=$h_out/hybrid.db
    h_models=$_data/minilm-shaped
    mkdir -p "$h_out" "$h_models"
    cmake --build build --target docrag bench_hybrid bench_encoder >/dev/null
    [ -f "$h_out/corpus.jsonl" ] ||
        python3 "$_shared/tools/bm25_latency/make_corpus.py" "$h_out" "${N_DOCS:-54000}"
    [ -f "$h_models/cross/model.safetensors" ] ||
        ./build/bench_encoder --iters 1 --threads 1 --seqs 128 --precisions f32 --no-rerank \
            --dump "$h_models" >/dev/null
    for _d in encoder cross; do
        for _f in tokenizer.json vocab.txt tokenizer_config.json special_tokens_map.json; do
            if [ -f "$_shared/models/all-MiniLM-L6-v2-no-weights/$_f" ]; then
                cp "$_shared/models/all-MiniLM-L6-v2-no-weights/$_f" "$h_models/$_d/"
            fi
        done
    done
    # (sqlite3 would create a missing file: ask only when there is one)
    if [ ! -f "$h_db" ] ||
        [ "$(sqlite3 -readonly "$h_db" 'SELECT count(*) FROM vectors' 2>/dev/null)" = 0 ]; then
        echo "building $h_db (index, synthetic vectors) with bench_hybrid" >&2
        OMP_WAIT_POLICY=passive ./build/bench_hybrid "$h_out" "$h_db" "$h_models" \
            --threads 2 --precision int8 --queries 3 >/dev/null
    fi
    h_sets="--set backends.local.model=$h_models/encoder --set backends.local.precision=int8
        --set chains.embed=local --set backends.ce.type=local
        --set backends.ce.model=$h_models/cross --set backends.ce.precision=int8
        --set chains.rerank=ce"
}
