#!/bin/bash
# check-rootfs.sh - the Dockerfile's runtime stage in a chroot, without Docker.
#
#   sudo deploy/hf-space/check-rootfs.sh BUILD_DIR [ROOTFS]
#
# Makes a minimal Debian 12 root file system with mmdebstrap (apt-get install
# mmdebstrap; it downloads ~60 MB of packages from the configured Debian
# mirror), holding only the packages of runtime-packages.txt, as the runtime
# stage's `FROM debian:bookworm-slim` + `apt-get install` does. Then, as the
# runtime stage does: useradd -m -u 1000 user; bin/docrag from
# `cmake --install BUILD_DIR --strip`; the app directory from stage-app.sh;
# `entrypoint.sh bake` and the smoke question as UID 1000. Then it starts the
# entrypoint in the chroot as the Space would (SPACE_ID, no HF_TOKEN) and
# asks over HTTP, and runs the HEALTHCHECK's curl inside it. This proves the
# package list is enough to run, which ldd alone cannot (data files, dlopen).
# Needs root (chroot, mount). Not part of CTest: it downloads packages.
# An existing ROOTFS (default /tmp/docrag-rootfs) is reused for the packages.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [ROOTFS]" >&2; exit 2; }
build=$(cd "$1" && pwd)
root=${2:-/tmp/docrag-rootfs}
src=$(cd "$(dirname "$0")/../.." && pwd)
hf=$src/deploy/hf-space
[ "$(id -u)" = 0 ] || { echo "check-rootfs.sh: needs root (chroot, mount)" >&2; exit 1; }
say() { echo "check-rootfs.sh: $*"; }

if [ ! -x "$root/bin/sh" ]; then
    pkgs=$(sed 's/#.*//' "$hf/runtime-packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
    say "mmdebstrap bookworm into $root"
    mmdebstrap --variant=minbase --mode=root --include="$pkgs" bookworm "$root"
fi
chroot "$root" sh -c 'id -u user >/dev/null 2>&1 || useradd -m -u 1000 user'
rm -rf "$root/opt/docrag" "$root/home/user/app" "$root/home/user/data" "$root/tmp/prefix"
"$(sed -n 's/^CMAKE_COMMAND:[A-Z]*=//p' "$build/CMakeCache.txt")" --install "$build" --prefix "$root/tmp/prefix" --strip >/dev/null
mkdir -p "$root/opt/docrag"
cp -a "$root/tmp/prefix/bin" "$root/opt/docrag/bin"
rm -rf "$root/tmp/prefix"
"$hf/stage-app.sh" "$src" "$root/home/user/app"
chroot "$root" chown -R user:user /home/user/app

mounted=""
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$mounted" ] && umount "$root/proc"
    return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mount -t proc proc "$root/proc"
mounted=1
# As the image's USER user, WORKDIR /home/user/app, ENV HOME and PATH. An
# array, not a function: `"${in_image[@]}" ... &` then gives the server's own
# pid in $! (every step execs), where a function would give a subshell's.
in_image=(chroot --userspec=1000:1000 "$root" env -i HOME=/home/user
          PATH=/opt/docrag/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
          sh -c 'cd /home/user/app && exec "$@"' _)

say "bake (RUN ./entrypoint.sh bake)"
"${in_image[@]}" ./entrypoint.sh bake
say "the smoke question of the Dockerfile"
"${in_image[@]}" env DOCRAG_DATA_DIR=/tmp/smoke ./entrypoint.sh ask "What are the base instruction formats?" | grep '\[1\]' | head -3
rm -rf "$root/tmp/smoke"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
say "start (ENTRYPOINT) with SPACE_ID, on port $port"
"${in_image[@]}" env SPACE_ID=check/rootfs CPU_CORES=2 DOCRAG_SERVER_PORT="$port" ./entrypoint.sh 2>"$root/tmp/serve.log" &
pid=$!
for _ in $(seq 1 200); do
    grep -q '^listening on' "$root/tmp/serve.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$root/tmp/serve.log"; exit 1; }
    sleep 0.05
done
grep -v '"log":"access"' "$root/tmp/serve.log"
say "HEALTHCHECK (curl inside the image)"
"${in_image[@]}" sh -c "curl -fsS -o /dev/null http://127.0.0.1:$port/ready && echo healthy"
say "POST /v1/ask from outside"
curl -fsS "http://127.0.0.1:$port/v1/ask" -H 'Content-Type: application/json' \
    -d '{"question":"How is NOP encoded?"}' |
    python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["backend"], "|", o["answer"][:160], "|", [(c["doc"], c["page_start"]) for c in o["citations"]]); sys.exit(0 if o["citations"] else 1)'
say "ok: the runtime packages run docrag (rootfs $(du -sh --exclude=proc "$root" 2>/dev/null | cut -f1))"
