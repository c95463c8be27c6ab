#!/bin/bash
# deploy_hf_space: what the Hugging Face Space image (deploy/hf-space/) does,
# without Docker (no engine runs here). The image's layout is made with the
# same scripts and lists the Dockerfile uses -- `cmake --install` into
# opt/docrag, runtime-packages.sh --check, stage-app.sh (files.txt), the
# entrypoint's `bake` -- under $T instead of /, then the entrypoint starts
# docrag as UID 1000 with HOME=$T/home/user, a read-only root-owned app
# directory, a writable data directory standing for /data and SPACE_ID set,
# as Spaces start it. Checks: 0.0.0.0:7860 from the hf_spaces profile,
# /ready, a cited answer (plain and streamed), the UI's / (once it exists on
# the branch), uploads refused without DOCRAG_ADMIN_KEY and accepted with it,
# an upload kept across a restart, DOCRAG_API_KEY closing anonymous reading,
# nothing written into the app directory,
# the fallback to $HOME/data without persistent storage. Then the plain-VM
# recipe: the systemd unit (systemd-analyze verify) and nginx in front of
# docrag with deploy/nginx/docrag.conf, an SSE answer streamed through it
# arriving event by event. Also prints the numbers docs/deploy.md quotes
# (VmRSS after ~20 questions, /v1/ask p50, CPU).
. "$(dirname "$0")/lib.bash"
export LC_ALL=C
hf=$DOCRAG_SRC/deploy/hf-space
chmod 755 "$T" # UID 1000 must reach its files
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    chmod -R u+w "$T" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
not() { ! "$@"; }
jq_py() { # jq_py FILE EXPR: exit 0 when the Python expression over o (the JSON) is true
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# ---- the build tree (as install_pkgconfig.sh finds it) ----------------------
build=$(cd "$(dirname "$DOCRAG_BIN")" && pwd)
while [ ! -f "$build/CMakeCache.txt" ] && [ "$build" != / ]; do
    build=$(dirname "$build")
done
[ -f "$build/CMakeCache.txt" ] || { echo "no CMakeCache.txt above $DOCRAG_BIN" >&2; exit 1; }
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
cmake_cmd=$(cache CMAKE_COMMAND)
sanitized=""
for opt in DOCRAG_SANITIZE DOCRAG_FUZZ DOCRAG_TSAN; do
    [ "$(cache $opt)" = ON ] && sanitized=$opt
done

# ---- 1. the Dockerfile, its lists and the Space repository -------------------
df=$hf/Dockerfile
check "Dockerfile: two stages FROM debian:bookworm-slim" \
    test "$(grep -c '^FROM debian:bookworm-slim' "$df")" -eq 2
check "Dockerfile: the build stage runs the project's scripts/install-deps.sh" \
    grep -q '^RUN /src/docrag/scripts/install-deps.sh' "$df"
check "Dockerfile: cmake --install into /opt/docrag (as this test does into \$T/opt/docrag)" \
    grep -q 'cmake --install /src/build --prefix /opt/docrag --strip' "$df"
check "Dockerfile: runtime packages checked against ldd in the build stage" \
    grep -q 'runtime-packages.sh' "$df"
check "Dockerfile: the runtime stage installs runtime-packages.txt" \
    grep -q 'sed .s/#.\*//. /tmp/runtime-packages.txt' "$df"
check "Dockerfile: useradd -m -u 1000 user, then USER user" \
    bash -c 'grep -q "^RUN useradd -m -u 1000 user$" "$1" && grep -q "^USER user$" "$1"' _ "$df"
check "Dockerfile: the app directory is COPY --chown=user" grep -q '^COPY --from=build --chown=user /app /home/user/app$' "$df"
check "Dockerfile: EXPOSE 7860" grep -q '^EXPOSE 7860$' "$df"
check "Dockerfile: HEALTHCHECK on /ready" bash -c 'grep -A1 "^HEALTHCHECK" "$1" | grep -q "/ready"' _ "$df"
check "Dockerfile: the samples are indexed at build time (entrypoint.sh bake)" grep -q '^RUN ./entrypoint.sh bake' "$df"
check "Dockerfile: does not set SPACE_ID (Spaces set it): only comments name it" \
    bash -c '! grep -v "^[[:space:]]*#" "$1" | grep -q SPACE_ID' _ "$df"
check "Dockerfile: ENTRYPOINT is the staged entrypoint.sh" \
    grep -q '^ENTRYPOINT \["/home/user/app/entrypoint.sh"\]$' "$df"

# Every COPY: a context path must be in the Space repository assemble.sh
# makes; a --from=build path must be made by a RUN line of the build stage.
build_runs=$(awk '/^FROM .* AS build/ { s = 1; next } /^FROM / { s = 0 } s' "$df")
while read -r line; do
    # shellcheck disable=SC2086
    set -- $line
    shift
    from=""
    while [ "${1#--}" != "$1" ]; do
        case $1 in --from=*) from=${1#--from=} ;; esac
        shift
    done
    src=$1
    if [ -n "$from" ]; then
        check "Dockerfile: COPY --from=$from $src: the build stage makes $src" \
            grep -qE "(--prefix|stage-app.sh [^ ]+) ${src%%/bin}( |\$)" <<<"$build_runs"
    else
        echo "$src" >>"$T/copy-context"
    fi
done < <(grep -E '^COPY ' "$df")

# files.txt: every app entry exists in the repository and is tracked.
tracked() { git -C "$DOCRAG_SRC" ls-files --error-unmatch "$1" >/dev/null 2>&1; }
have_git=""
git -C "$DOCRAG_SRC" rev-parse --git-dir >/dev/null 2>&1 && have_git=1
while read -r kind from to; do
    case $kind in
        app)
            check "files.txt: app $from -> $to exists in the repository" test -e "$DOCRAG_SRC/$from"
            [ -n "$have_git" ] && check "files.txt: $from is tracked by git (so the Space has it)" tracked "$from"
            ;;
        exclude) check "files.txt: exclude $from exists" test -e "$DOCRAG_SRC/$from" ;;
        *) fail "files.txt: unknown line '$kind $from $to'" ;;
    esac
done < <(sed 's/#.*//; /^[[:space:]]*$/d' "$hf/files.txt")

if [ -n "$have_git" ]; then
    space=$T/space
    # The work tree's tracked files (CI: the commit under test), as a push would send them.
    if "$hf/assemble.sh" "$space" --worktree >"$T/assemble.log" 2>&1; then
        pass "assemble.sh makes the Space repository: $(tail -1 "$T/assemble.log")"
    else
        fail "assemble.sh makes the Space repository"
        cat "$T/assemble.log"
    fi
    while read -r src; do
        check "Dockerfile: COPY $src: it is in the Space repository" test -e "$space/$src"
    done <"$T/copy-context"
    check "Space: README.md and Dockerfile at its root" test -f "$space/README.md" -a -f "$space/Dockerfile"
    readme_has() { awk 'NR == 1 && $0 != "---" { exit 1 } NR > 1 && $0 == "---" { exit } NR > 1' "$space/README.md" | grep -qx "$1"; }
    for kv in 'sdk: docker' 'app_port: 7860' 'pinned: false' 'title: .*' 'emoji: .*' 'colorFrom: .*' 'colorTo: .*' 'short_description: .*'; do
        check "Space README front matter: $kv" readme_has "$kv"
    done
    sd=$(awk -F': ' '$1 == "short_description" { print $2; exit }' "$space/README.md" 2>/dev/null || true)
    check "Space README: short_description is at most 60 characters (${#sd})" test "${#sd}" -le 60
    check "Space: docrag/ holds the build (CMakeLists.txt, src/, scripts/install-deps.sh)" \
        test -f "$space/docrag/CMakeLists.txt" -a -d "$space/docrag/src" -a -x "$space/docrag/scripts/install-deps.sh"
    while read -r p; do
        check "Space: excluded $p is left out" not test -e "$space/docrag/$p"
    done < <(sed 's/#.*//' "$hf/files.txt" | awk '$1 == "exclude" { print $2 }')
    check "Space: every binary file is tracked through LFS (.gitattributes)" \
        bash -c 'cd "$1" && for f in $(find docrag -type f -size +0 -exec grep -IL . {} +); do grep -q "^/$f filter=lfs" .gitattributes || { echo "not in .gitattributes: $f"; exit 1; }; done' _ "$space"
else
    echo "# $DOCRAG_SRC is not a git work tree: assemble.sh (git archive) not run"
    while read -r src; do
        check "Dockerfile: COPY $src: in this repository" test -e "$DOCRAG_SRC/${src#docrag/}"
    done <"$T/copy-context"
fi
if command -v hadolint >/dev/null 2>&1; then
    check "hadolint passes" hadolint "$df"
else
    echo "# hadolint is not packaged for Debian 12: the COPY checks above stand in"
fi
if command -v shellcheck >/dev/null 2>&1; then
    check "shellcheck: deploy/hf-space/*.sh" shellcheck "$hf"/*.sh
fi

# ---- 2. the image's layout under $T ------------------------------------------
prefix=$T/opt/docrag
if "$cmake_cmd" --install "$build" --prefix "$prefix" --strip >"$T/install.log" 2>&1; then
    pass "cmake --install --strip into \$T/opt/docrag"
else
    fail "cmake --install --strip into \$T/opt/docrag"
    cat "$T/install.log"
fi
if [ -n "$sanitized" ]; then
    echo "# $sanitized build: its binary loads the sanitizer runtimes, not the image's libraries; runtime-packages.txt not compared"
else
    check "runtime-packages.txt lists exactly the packages of ldd(bin/docrag)" \
        "$hf/runtime-packages.sh" --check "$hf/runtime-packages.txt" "$prefix/bin/docrag"
fi

home=$T/home/user
app=$home/app
mkdir -p "$home"
"$hf/stage-app.sh" "$DOCRAG_SRC" "$app" >"$T/stage.log" 2>&1 || cat "$T/stage.log"
check "stage-app.sh lays out the app directory: $(tail -1 "$T/stage.log")" test -x "$app/entrypoint.sh"
n_samples=$(find "$DOCRAG_SRC/data/samples" -type f | wc -l)
check "the app directory has the $n_samples sample documents" \
    test "$(find "$app/samples" -type f | wc -l)" -eq "$n_samples"

uid=1000
if [ "$(id -u)" = 0 ]; then
    # setpriv needs no passwd entry: the image's "user" is just UID 1000.
    as_user() { setpriv --reuid=$uid --regid=$uid --clear-groups -- "$@"; }
    chown -R $uid:$uid "$home"
else
    uid=$(id -u)
    echo "# not root: running as UID $uid, not 1000, and the app directory stays owned by it (read-only by mode only)"
    as_user() { "$@"; }
fi
if ! as_user test -x "$T"; then
    # A parent of the build tree is closed to other users: work under /tmp.
    echo "# UID $uid cannot reach $T: using a folder under /tmp instead"
    old_T=$T
    T=$(mktemp -d /tmp/deploy_hf_space-XXXXXX)
    chmod 755 "$T"
    mv "$old_T"/* "$T"/
    rm -rf "$old_T"
    prefix=$T/opt/docrag home=$T/home/user app=$T/home/user/app
fi
check "UID $uid can reach the test folder" as_user test -x "$T"

# The environment of a Space: env -i, then what Spaces set. No HF_TOKEN.
space_env=(PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" SPACE_ID=test-owner/docrag
           SPACE_AUTHOR_NAME=test-owner SPACE_REPO_NAME=docrag SPACE_HOST=test-owner-docrag.hf.space
           CPU_CORES=2 MEMORY=16Gi DOCRAG_PREFIX="$prefix")
for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do
    [ -n "${!v:-}" ] && space_env+=("$v=${!v}")
done
run_space() { (cd "$app" && as_user env -i "${space_env[@]}" "$@"); }

if run_space "$app/entrypoint.sh" bake >"$T/bake.log" 2>&1; then
    pass "entrypoint.sh bake indexes the samples as UID $uid: $(grep '^indexed' "$T/bake.log")"
else
    fail "entrypoint.sh bake"
    cat "$T/bake.log"
fi
check "the baked index is one file (no -wal beside it)" \
    bash -c 'test -s "$1/index/docrag.db" && ! test -e "$1/index/docrag.db-wal"' _ "$app"

# Read-only from here on, as on a Space: owned by root, no write bits.
if [ "$(id -u)" = 0 ]; then chown -R root:root "$app"; fi
chmod -R a-w "$app"
check "UID $uid cannot write into the app directory" not as_user touch "$app/probe" 2>/dev/null
check "UID $uid cannot write into its index folder" not as_user touch "$app/index/probe" 2>/dev/null
manifest() { (cd "$app" && find . -printf '%p %y %s %m %u %T@\n' | sort && find . -type f -exec sha256sum {} + | sort); }
manifest >"$T/app.before"

data=$T/data # stands for /data, the persistent storage
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown $uid:$uid "$data"

# ---- 3. the Space starts ------------------------------------------------------
port_env=()
if [ -n "$(ss -ltnH 'sport = :7860' 2>/dev/null)" ]; then
    echo "# port 7860 is taken on this machine: the server gets DOCRAG_SERVER_PORT=0 (any free port); the profile default is checked with config show"
    port_env=(DOCRAG_SERVER_PORT=0)
fi
url=""
pid=""
start_space() { # start_space LOG [VAR=VALUE...]: entrypoint.sh as the Space runs it
    local log=$1
    shift
    if [ "$(id -u)" = 0 ]; then
        (cd "$app" && exec setpriv --reuid=$uid --regid=$uid --clear-groups -- \
            env -i "${space_env[@]}" DOCRAG_PERSIST_DIR="$data" "${port_env[@]}" "$@" \
            "$app/entrypoint.sh") >"$log.out" 2>"$log" &
    else
        (cd "$app" && exec env -i "${space_env[@]}" DOCRAG_PERSIST_DIR="$data" "${port_env[@]}" "$@" \
            "$app/entrypoint.sh") >"$log.out" 2>"$log" &
    fi
    pid=$!
    pids+=("$pid")
    url=""
    for _ in $(seq 1 600); do
        url=$(listen_url "$log")
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$url" ] && grep -qi 'address already in use' "$log" && [ ${#port_env[@]} -eq 0 ]; then
        echo "# 7860 was taken when the server started: again with DOCRAG_SERVER_PORT=0"
        port_env=(DOCRAG_SERVER_PORT=0)
        start_space "$log" "$@"
        return
    fi
    [ -n "$url" ] || { echo "--- $log"; cat "$log"; }
    base="http://127.0.0.1:${url##*:}"
}
stop_space() {
    kill "$pid" 2>/dev/null || true
    local status=0
    wait "$pid" || status=$?
    check "the server stops cleanly on SIGTERM (exit 0)" test "$status" -eq 0
}
get() { curl -s -o "$T/body" -w '%{http_code} %{content_type}' "$base$1" "${@:2}"; }
post_json() { curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' "$base$1" -d "$2" "${@:3}"; }

start_space "$T/serve1.log"
check "docrag serve is listening (first start)" test -n "$url"
[ -n "$url" ] || finish
check "it listens on 0.0.0.0 (all addresses): $url" grep -q '^http://0\.0\.0\.0:' <<<"$url"
if [ ${#port_env[@]} -eq 0 ]; then
    check "it listens on the profile's port 7860 (no port given)" test "${url##*:}" = 7860
fi
check "ss: a listening socket on 0.0.0.0:${url##*:}" \
    bash -c 'ss -ltnH "sport = :$1" | grep -q "0\.0\.0\.0:$1"' _ "${url##*:}"
addr=$(hostname -I 2>/dev/null | awk '{ print $1 }')
if [ -n "$addr" ]; then
    check "reachable on a non-loopback address ($addr)" \
        test "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr:${url##*:}/health")" = 200
fi
check "the server runs as UID $uid" grep -qE "^Uid:[[:space:]]+${uid}[[:space:]]" "/proc/$pid/status"
check "entrypoint: /data stand-in chosen as the data directory" grep -q "data directory $data (persistent storage)" "$T/serve1.log"
check "entrypoint: first start seeds it with the baked index" grep -q "seeded $data/docrag.db" "$T/serve1.log"
check "the index is in the data directory" test -s "$data/docrag.db"
check "the index in the data directory is writable by UID $uid (the baked one is not)" as_user test -w "$data/docrag.db"

run_space env DOCRAG_PERSIST_DIR="$data" "$app/entrypoint.sh" config show --json >"$T/config.json" 2>"$T/config.err"
check "config show (SPACE_ID): profile hf_spaces, detected from SPACE_ID" \
    jq_py "$T/config.json" 'o["settings"]["profile"] == "hf_spaces" and "SPACE_ID" in o["origins"]["profile"]'
check "config show (SPACE_ID): server.port 7860 from the profile" \
    jq_py "$T/config.json" 'o["settings"]["server.port"] == 7860 and o["origins"]["server.port"] == "profile hf_spaces"'
check "config show (SPACE_ID): server.host 0.0.0.0 from the profile" \
    jq_py "$T/config.json" 'o["settings"]["server.host"] == "0.0.0.0" and o["origins"]["server.host"] == "profile hf_spaces"'
check "config show (SPACE_ID): server.anonymous read, no keys" \
    jq_py "$T/config.json" 'o["settings"]["server.anonymous"] == "read" and o["settings"]["server.keys"] == []'
check "config show (SPACE_ID): chains.llm [hf_providers, extractive], hf_providers disabled without HF_TOKEN" \
    jq_py "$T/config.json" 'o["settings"]["chains.llm"] == ["hf_providers", "extractive"] and o["backends"]["hf_providers"]["enabled"] is False'
check "config show (SPACE_ID): db is the data directory's, set by the entrypoint" \
    jq_py "$T/config.json" "o['settings']['db'] == '$data/docrag.db'"

check "GET /ready: 200" test "$(get /ready | cut -d' ' -f1)" = 200
check "GET /ready: the $n_samples samples are there at once" \
    jq_py "$T/body" "o['status'] == 'ready' and o['collections']['docrag']['documents'] == $n_samples"
code=$(post_json /v1/ask '{"question":"What are the base instruction formats of RISC-V?"}')
cp "$T/body" "$T/ask.json"
check "POST /v1/ask: 200 without a key (anonymous read)" test "$code" = 200
check "POST /v1/ask: an extractive answer (no HF_TOKEN) with [n] markers" \
    jq_py "$T/ask.json" 'o["backend"] == "extractive" and not o["refused"] and "[1]" in o["answer"]'
check "POST /v1/ask: citations with document and page" \
    jq_py "$T/ask.json" 'len(o["citations"]) >= 1 and all(c["doc"] and c["page_start"] >= 1 for c in o["citations"])'
curl -sN -H 'Content-Type: application/json' "$base/v1/ask" \
    -d '{"question":"How is NOP encoded?","stream":true}' >"$T/stream.txt"
check "POST /v1/ask stream: sources, then deltas, then done" \
    py -c 'import sys; ev=[l[7:].strip() for l in open(sys.argv[1]) if l.startswith("event: ")]; sys.exit(0 if ev and ev[0]=="sources" and ev[-1]=="done" and "delta" in ev else 1)' "$T/stream.txt"
check "POST /v1/ask stream: done holds a cited answer (not a refusal)" \
    py -c 'import json,sys; d=[l[6:] for l in open(sys.argv[1]) if l.startswith("data: ")][-1]; o=json.loads(d); sys.exit(0 if not o["refused"] and o["citations"] else 1)' "$T/stream.txt"

# The samples are served from the read-only app directory the index names.
get /v1/documents >/dev/null
doc_id=$(py -c 'import json,sys; d=[x for x in json.load(open(sys.argv[1]))["documents"] if x["name"]=="riscv-card.pdf"]; print(d[0]["id"] if d else "")' "$T/body")
check "GET /v1/documents lists riscv-card.pdf" test -n "$doc_id"
check "GET /v1/documents/ID/file: the original, read from the app directory" \
    bash -c 'test "$(curl -s "$1" | cmp - "$2" && echo same)" = same' _ "$base/v1/documents/$doc_id/file" "$DOCRAG_SRC/data/samples/riscv-card.pdf"

# The web UI is another engineer's work in progress: required once it is on
# the branch (/ or /assets/app.js answers something other than 404).
ui=$(get /)
root_code=${ui%% *}
asset_code=$(curl -s -o /dev/null -w '%{http_code}' "$base/assets/app.js")
if [ "$root_code" = 404 ] && [ "$asset_code" = 404 ]; then
    echo "# UI: GET / and GET /assets/app.js answer 404: the web UI is not yet on this branch (this check turns into a requirement once it is)"
else
    check "UI: GET / is 200 text/html (got $ui; /assets/app.js $asset_code)" \
        bash -c '[[ $1 == "200 text/html"* ]]' _ "$ui"
fi

printf '# Deploy note\n\nThe zanzibarite calibration constant of the test upload is 4711.\n' >"$T/upload.md"
code=$(curl -s -o "$T/body" -w '%{http_code}' -F "file=@$T/upload.md" "$base/v1/documents")
check "POST /v1/documents without DOCRAG_ADMIN_KEY: refused ($code)" bash -c '[ "$1" = 401 ] || [ "$1" = 403 ]' _ "$code"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H 'X-API-Key: not-a-key' -F "file=@$T/upload.md" "$base/v1/documents")
check "POST /v1/documents with a made-up key: 401 ($code)" test "$code" = 401
check "GET /metrics is not public (admin)" bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" "$1/metrics")" != 200 ]' _ "$base"

# What docs/deploy.md quotes: resident memory after ~20 questions, /v1/ask latency.
py - "$DOCRAG_SRC/data" >"$T/questions.jsonl" <<'EOF'
import json, os, sys
data = sys.argv[1]
samples = set(os.listdir(os.path.join(data, "samples")))
for f in ("qa/questions.jsonl", "qa/samples.jsonl"):
    for line in open(os.path.join(data, f)):
        o = json.loads(line)
        if o.get("doc") in samples:
            print(json.dumps({"question": o["question"]}))
EOF
: >"$T/times"
while read -r q; do
    curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' "$base/v1/ask" -d "$q" >>"$T/times"
done <"$T/questions.jsonl"
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
n_q=$(wc -l <"$T/times")
p50=$(sort -n "$T/times" | awk '{ t[NR] = $1 } END { printf "%.1f", 1000 * t[int((NR + 1) / 2)] }')
p_max=$(sort -n "$T/times" | awk 'END { printf "%.1f", 1000 * $1 }')
cpu=$(lscpu 2>/dev/null | awk -F: '{ gsub(/^[ \t]+/, "", $2) } $1 == "Model name" { n = $2 } $1 == "CPU family" { f = $2 } $1 == "Model" { m = $2 } END { print n " (family " f ", model " m ")" }')
echo "# measure: $n_q questions over the samples through POST /v1/ask (extractive): p50 ${p50} ms, max ${p_max} ms; server VmRSS $((rss_kb / 1024)) MiB (peak VmHWM $((hwm_kb / 1024)) MiB); CPU: ${cpu:-unknown}, $(nproc) online"
check "measured $n_q questions" test "$n_q" -ge 15
stop_space

# ---- 4. with DOCRAG_ADMIN_KEY (a Space secret): uploads -------------------------
admin_key=deploy-admin-key-0123456789abcdef
start_space "$T/serve2.log" DOCRAG_ADMIN_KEY=$admin_key
check "docrag serve is listening (second start, admin key)" test -n "$url"
[ -n "$url" ] || finish
check "entrypoint: the index already there is kept" grep -q "keeping the index at $data/docrag.db" "$T/serve2.log"
code=$(curl -s -o "$T/body" -w '%{http_code}' -F "file=@$T/upload.md" "$base/v1/documents")
check "POST /v1/documents without the key: refused ($code)" bash -c '[ "$1" = 401 ] || [ "$1" = 403 ]' _ "$code"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "X-API-Key: $admin_key" -F "file=@$T/upload.md" "$base/v1/documents")
check "POST /v1/documents with DOCRAG_ADMIN_KEY: 202" test "$code" = 202
job=$(py -c 'import json,sys; print(json.load(open(sys.argv[1])).get("job_id",""))' "$T/body" 2>/dev/null || true)
status=""
for _ in $(seq 1 200); do
    status=$(curl -s "$base/v1/jobs/$job" | py -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null || true)
    case $status in done | failed) break ;; esac
    sleep 0.05
done
check "the upload job is done ($status)" test "$status" = "done"
[ "$status" = "done" ] || { curl -s "$base/v1/jobs/$job"; echo; grep -v '"log":"access"' "$T/serve2.log"; }
post_json /v1/search '{"query":"zanzibarite calibration constant","k":3}' >/dev/null
check "the uploaded document is searchable" jq_py "$T/body" 'o["results"] and o["results"][0]["doc"].split("/")[-1] == "upload.md"'
check "the uploaded file is kept under the data directory" \
    bash -c 'find "$1" -name upload.md -path "*docrag.db.files*" | grep -q .' _ "$data"
stop_space

# ---- 5. a restart (a new container, the same persistent storage) ---------------
start_space "$T/serve3.log" DOCRAG_ADMIN_KEY=$admin_key
check "docrag serve is listening (after a restart)" test -n "$url"
[ -n "$url" ] || finish
check "entrypoint: kept the index after the restart" grep -q "keeping the index at $data/docrag.db" "$T/serve3.log"
get /ready >/dev/null
check "after the restart: $((n_samples + 1)) documents" jq_py "$T/body" "o['collections']['docrag']['documents'] == $n_samples + 1"
post_json /v1/search '{"query":"zanzibarite calibration constant","k":3}' >/dev/null
check "after the restart: the upload is still searchable" jq_py "$T/body" 'o["results"] and o["results"][0]["doc"].split("/")[-1] == "upload.md"'
stop_space

# ---- 6. DOCRAG_API_KEY (a Space secret) makes reading private -------------------
read_key_space=deploy-read-key-0123456789abcdef
start_space "$T/serve5.log" DOCRAG_API_KEY=$read_key_space
check "docrag serve is listening (DOCRAG_API_KEY)" test -n "$url"
[ -n "$url" ] || finish
check "entrypoint: says reads need a key" grep -q "DOCRAG_API_KEY is set: reads need a key" "$T/serve5.log"
check "with DOCRAG_API_KEY: POST /v1/ask without a key is 401" \
    test "$(post_json /v1/ask '{"question":"What is RV32I?"}')" = 401
check "with DOCRAG_API_KEY: POST /v1/ask with it is 200" \
    test "$(post_json /v1/ask '{"question":"What is RV32I?"}' -H "X-API-Key: $read_key_space")" = 200
check "with DOCRAG_API_KEY: /ready stays open (health checks)" test "$(get /ready | cut -d' ' -f1)" = 200
stop_space
start_space "$T/serve6.log" DOCRAG_API_KEY=$read_key_space DOCRAG_SERVER_ANONYMOUS=read
check "with DOCRAG_API_KEY and DOCRAG_SERVER_ANONYMOUS=read: reading stays public" \
    test "$(post_json /v1/ask '{"question":"What is RV32I?"}')" = 200
stop_space

# ---- 7. no persistent storage ---------------------------------------------------
data_saved=$data
data=$T/no-such-volume
start_space "$T/serve4.log"
check "docrag serve is listening (no persistent storage)" test -n "$url"
[ -n "$url" ] || finish
check "entrypoint: falls back to \$HOME/data and says uploads are lost on restart" \
    grep -q "data directory $home/data: no persistent storage at $data" "$T/serve4.log"
check "entrypoint: \$HOME/data seeded with the baked index" grep -q "seeded $home/data/docrag.db" "$T/serve4.log"
check "GET /ready: 200 with the $n_samples samples" \
    bash -c 'test "$(curl -s -o "$2" -w "%{http_code}" "$1/ready")" = 200' _ "$base" "$T/body"
jq_py "$T/body" "o['collections']['docrag']['documents'] == $n_samples" || fail "GET /ready: $n_samples documents without persistent storage"
stop_space
# A /data that is there but not writable by UID 1000 (a read-only volume).
data=$T/ro-volume
mkdir -p "$data"
chmod 555 "$data"
run_space env DOCRAG_PERSIST_DIR="$data" "$app/entrypoint.sh" stats >"$T/stats.out" 2>"$T/stats.err" || cat "$T/stats.err"
check "entrypoint: a read-only /data is not used (\$HOME/data instead)" \
    grep -q "data directory $home/data: $data is not writable" "$T/stats.err"
data=$data_saved

manifest >"$T/app.after"
check "nothing was written into the app directory" cmp -s "$T/app.before" "$T/app.after"
diff "$T/app.before" "$T/app.after" | head -20 || true
for log in "$T"/serve[0-9].log; do
    check "no error in $(basename "$log")" not grep -qi 'error' "$log"
done

# ---- 8. a plain VM: the systemd unit ---------------------------------------------
unit=$DOCRAG_SRC/deploy/systemd/docrag.service
for opt in 'User=docrag' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/docrag' \
           'Restart=on-failure' 'EnvironmentFile=/etc/docrag/docrag.env'; do
    check "docrag.service: $opt" grep -qx "$opt" "$unit"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    sed "s|/opt/docrag/bin/docrag|$prefix/bin/docrag|" "$unit" >"$T/docrag.service"
    check "systemd-analyze verify docrag.service" systemd-analyze verify "$T/docrag.service"
else
    echo "# systemd-analyze missing: docrag.service not verified"
fi
# The unit's ExecStartPre guard, run as systemd would ($$ -> $).
guard=$(sed -n "s/^ExecStartPre=\/bin\/sh -c '\(.*\)'$/\1/p" "$unit" | sed 's/\$\$/$/g')
check "docrag.service: ExecStartPre refuses to start without DOCRAG_ADMIN_KEY" \
    bash -c '! env -u DOCRAG_ADMIN_KEY sh -c "$1" 2>/dev/null' _ "$guard"
check "docrag.service: ExecStartPre passes with DOCRAG_ADMIN_KEY" env DOCRAG_ADMIN_KEY=x sh -c "$guard"

# ---- 9. nginx in front, one SSE answer through it ---------------------------------
if ! command -v nginx >/dev/null 2>&1 && [ -x /usr/sbin/nginx ]; then PATH=$PATH:/usr/sbin; fi
if ! command -v nginx >/dev/null 2>&1; then
    fail "nginx is missing: run scripts/install-deps.sh (nginx-light)"
    finish
fi
free_port() { py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The LLM: the mock of the HF router, its stream stalling 1.5 s after the first token.
token=hf_DeployNginxMockToken42
# (Programs are started with & directly, never through a shell function:
# that would fork a subshell, and $! -- what cleanup kills -- would be it.)
/usr/bin/python3 "$DOCRAG_SRC/tests/support/mock_api.py" --port-file "$T/mock.port" --token "$token" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
mock=http://127.0.0.1:$(cat "$T/mock.port")

# docrag as the unit starts it (its ExecStart, on a free port), keys from an environment file.
vm=$T/vm
mkdir -p "$vm"
cp "$app/index/docrag.db" "$vm/docrag.db"
cat >"$vm/docrag.env" <<EOF
DOCRAG_ADMIN_KEY=vm-admin-key-0123456789
DOCRAG_API_KEY=vm-read-key-0123456789
HF_TOKEN=$token
EOF
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
exec_start=${exec_start/\/opt\/docrag\/bin\/docrag/$prefix/bin/docrag}
exec_start=${exec_start/--port 8080/--port 0}
# shellcheck disable=SC2086
(cd "$vm" && set -a && . ./docrag.env && set +a && exec env DOCRAG_DB="$vm/docrag.db" $exec_start \
    --set chains.llm=router,extractive --set backends.router.type=hf_providers \
    --set "backends.router.url=$mock/v1" --set backends.router.model=test/model \
    --set "backends.router.api_key=$token" --set backends.router.max_retries=0 \
    --set server.access_log=false) 2>"$T/vm.log" &
vm_pid=$!
pids+=("$vm_pid")
vm_url=""
for _ in $(seq 1 600); do
    vm_url=$(listen_url "$T/vm.log")
    [ -n "$vm_url" ] && break
    kill -0 "$vm_pid" 2>/dev/null || break
    sleep 0.05
done
check "docrag serve as the unit's ExecStart is listening on 127.0.0.1: $vm_url" grep -q '^http://127\.0\.0\.1:' <<<"$vm_url"
[ -n "$vm_url" ] || { cat "$T/vm.log"; finish; }

ngx=$T/nginx
mkdir -p "$ngx/temp"
nginx_port=$(free_port)
site() { # site BUFFERING: deploy/nginx/docrag.conf pointed at the test ports
    sed -e "s|^\([[:space:]]*\)server 127.0.0.1:8080;|\1server 127.0.0.1:${vm_url##*:};|" \
        -e "s|^\([[:space:]]*\)listen 80;|\1listen 127.0.0.1:$nginx_port;|" \
        -e '/listen \[::\]:80;/d' \
        -e "s|proxy_buffering off;|proxy_buffering $1;|" "$DOCRAG_SRC/deploy/nginx/docrag.conf"
}
site off >"$ngx/docrag.conf"
check "docrag.conf: the test could point it at its ports" \
    bash -c 'grep -q "server 127.0.0.1:$2;" "$1" && grep -q "listen 127.0.0.1:$3;" "$1"' _ "$ngx/docrag.conf" "${vm_url##*:}" "$nginx_port"
cat >"$ngx/nginx.conf" <<EOF
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 64; }
http {
    access_log $ngx/access.log;
    client_body_temp_path $ngx/temp/body;
    proxy_temp_path $ngx/temp/proxy;
    fastcgi_temp_path $ngx/temp/fastcgi;
    uwsgi_temp_path $ngx/temp/uwsgi;
    scgi_temp_path $ngx/temp/scgi;
    include $ngx/docrag.conf;
}
EOF
[ "$(id -u)" = 0 ] && chown -R $uid:$uid "$ngx"
nginx_cmd=(nginx -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log")
check "nginx -t accepts deploy/nginx/docrag.conf" as_user "${nginx_cmd[@]}" -t -q
start_nginx() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "${nginx_cmd[@]}" -g 'daemon off;' 2>>"$ngx/error.log" &
    else
        "${nginx_cmd[@]}" -g 'daemon off;' 2>>"$ngx/error.log" &
    fi
    nginx_pid=$!
    pids+=("$nginx_pid")
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$nginx_port/health" && return 0
        sleep 0.05
    done
    cat "$ngx/error.log"
    return 1
}
stop_nginx() { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
start_nginx
proxy=http://127.0.0.1:$nginx_port
read_key="vm-read-key-0123456789"
check "through nginx: GET /ready 200" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$proxy/ready")" = 200
check "through nginx: /v1/search needs the read key (401 without)" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "$proxy/v1/search" -d '{"query":"vl"}')" = 401

# Times (s, since the request) at which each SSE event reaches the client.
sse_times() {
    py - "$1" "$read_key" <<'EOF'
import http.client, json, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
body = json.dumps({"question": "What are the base instruction formats of RISC-V?", "stream": True})
t0 = time.monotonic()
c.request("POST", "/v1/ask", body, {"Content-Type": "application/json", "X-API-Key": sys.argv[2]})
r = c.getresponse()
out = {"status": r.status, "events": []}
while True:
    line = r.readline()
    if not line:
        break
    if line.startswith(b"event: "):
        out["events"].append([line[7:].strip().decode(), round(time.monotonic() - t0, 3)])
print(json.dumps(out))
EOF
}
stall() {
    curl -s -XPOST "$mock/_mock/chat" -d '{"answers":["The base formats are R, I, S and U [1]. Immediates vary [1]."]}' >/dev/null
    curl -s -XPOST "$mock/_mock/faults" -d '{"faults":[{"fault":"stall;after=1;ms=1500","path":"/v1/chat"}]}' >/dev/null
}
stall
sse_times "$proxy" >"$T/sse.json"
echo "# through nginx (proxy_buffering off): $(cat "$T/sse.json")"
check "through nginx: the answer streams (sources ... done, answered by the LLM mock)" \
    jq_py "$T/sse.json" 'o["status"] == 200 and o["events"][0][0] == "sources" and o["events"][-1][0] == "done" and any(e[0] == "delta" for e in o["events"])'
check "through nginx: sources arrive >= 1 s before done (events pass as they come: buffering off)" \
    jq_py "$T/sse.json" 'o["events"][-1][1] - o["events"][0][1] >= 1.0'
# For the record, the same with proxy_buffering on (nginx 1.22 here passed
# small events on at once either way; off is what nginx documents for
# passing a response "synchronously, immediately as it is received").
stop_nginx
site on >"$ngx/docrag.conf"
start_nginx
stall
sse_times "$proxy" >"$T/sse-buffered.json"
echo "# through nginx (proxy_buffering on, for contrast): $(cat "$T/sse-buffered.json")"
stop_nginx
site off >"$ngx/docrag.conf"

# client_max_body_size = server.max_upload (docrag's default).
max_upload=$("$DOCRAG_BIN" config show --json 2>/dev/null | py -c 'import json,sys; print(json.load(sys.stdin)["settings"]["server.max_upload"])')
body_size=$(sed -n 's/^[[:space:]]*client_max_body_size[[:space:]]*\([0-9]*\)m;.*/\1/p' "$DOCRAG_SRC/deploy/nginx/docrag.conf")
check "docrag.conf: client_max_body_size ${body_size}m = server.max_upload ($max_upload)" \
    test "$((${body_size:-0} * 1024 * 1024))" = "$max_upload"
check "docrag.conf: sets X-Forwarded-For" grep -q 'proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;' "$DOCRAG_SRC/deploy/nginx/docrag.conf"
check "docrag.conf: proxy_read_timeout set" grep -q 'proxy_read_timeout' "$DOCRAG_SRC/deploy/nginx/docrag.conf"
kill "$vm_pid" 2>/dev/null || true
wait "$vm_pid" 2>/dev/null || true
check "no token in the VM server's log" not grep -q "$token" "$T/vm.log"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
sleep 0.2
check "no process this test started is left running" not pgrep -f "$T/" >/dev/null
pgrep -af "$T/" || true
finish
