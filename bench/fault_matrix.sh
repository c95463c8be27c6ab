#!/usr/bin/env bash
# fault_matrix.sh - run bench_fault_matrix against tests/support/mock_api.py.
#
#   bench/fault_matrix.sh [BUILD_DIR=build] [N=1000] [SEED=1]
# Also runs the ASan+UBSan build if build-asan/bench_fault_matrix exists
# (or set ASAN_BUILD=dir). Exit status is non-zero if any run fails.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
n=${2:-1000}
seed=${3:-1}
asan=${ASAN_BUILD:-build-asan}
tmp=$(mktemp -d)
python3 "$here/tests/support/mock_api.py" --port-file "$tmp/port" >/dev/null &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/port")"
status=0
echo "== $build/bench_fault_matrix $n questions (seed $seed)"
"$here/$build/bench_fault_matrix" "$url" "$n" "$seed" 2>"$tmp/stderr" || status=1
if grep -q "FaultMatrixSecret" "$tmp/stderr"; then echo "secret on stderr"; status=1; fi
if [ -x "$here/$asan/bench_fault_matrix" ]; then
  echo "== $asan/bench_fault_matrix (ASan+UBSan) $n questions"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
    "$here/$asan/bench_fault_matrix" "$url" "$n" "$seed" 2>"$tmp/stderr" || { status=1; cat "$tmp/stderr" | tail -30; }
  if grep -q "FaultMatrixSecret" "$tmp/stderr"; then echo "secret on stderr"; status=1; fi
fi
exit $status
