#!/bin/bash
# metrics_promtool: the Prometheus exposition of a representative registry
# (`obs_test_metrics --dump`: escapes, "other", NaN/Inf, callbacks,
# histograms, process/endpoint/usage families) passes `promtool check
# metrics`, Prometheus' own text-format parser and lint rules, without a
# single complaint; plus what promtool does not check (duplicate series,
# cumulative buckets, +Inf = _count). promtool comes from Debian's
# prometheus package (scripts/install-deps.sh); without it this test fails.
. "$(dirname "$0")/lib.bash"
: "${DOCRAG_BUILD:?set by CTest}"
if ! command -v promtool >/dev/null 2>&1; then
    echo "FAIL - promtool not found: install Debian's prometheus package" \
        "(scripts/install-deps.sh lists it)" >&2
    exit 1
fi
dump=$DOCRAG_BUILD/obs_test_metrics
if [ ! -x "$dump" ]; then
    echo "FAIL - $dump is not built" >&2
    exit 1
fi

"$dump" --dump >"$T/metrics.txt"
check "the dump has samples" grep -q '^docrag_http_requests_total{' "$T/metrics.txt"

set +e
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1
status=$?
set -e
cat "$T/promtool.out"
check "promtool check metrics exits 0" test "$status" -eq 0
check "promtool has nothing to say (no parse error, no lint problem)" \
    test ! -s "$T/promtool.out"

check "no duplicate series, buckets cumulative, +Inf equals _count, TYPE first" \
    py - "$T/metrics.txt" <<'PY'
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
types, seen, last, inf = {}, set(), {}, {}
ok = True
for n, line in enumerate(open(sys.argv[1], encoding='utf-8'), 1):
    line = line.rstrip('\n')
    if line.startswith('# TYPE '):
        _, _, name, kind = line.split(' ')
        types[name] = kind
        continue
    if line.startswith('#'):
        continue
    m = sample.match(line)
    if not m:
        print(f'line {n}: not a sample: {line!r}'); ok = False; continue
    name, body, value = m.group(1), m.group(3) or '', m.group(4)
    labels = label.findall(body)
    if ''.join(f'{k}="{v}"{s}' for k, v, s in labels) != body:
        print(f'line {n}: labels do not parse: {body!r}'); ok = False
    key = (name, tuple((k, v) for k, v, _ in labels))
    if key in seen:
        print(f'line {n}: duplicate series {key}'); ok = False
    seen.add(key)
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    if name not in types and not (types.get(base) == 'histogram'):
        print(f'line {n}: sample before its # TYPE: {name}'); ok = False
    if types.get(base) == 'histogram' and name != base:
        rest = tuple((k, v) for k, v, _ in labels if k != 'le')
        if name.endswith('_bucket'):
            le = dict((k, v) for k, v, _ in labels)['le']
            v = int(value)
            if v < last.get((base, rest), 0):
                print(f'line {n}: bucket count decreases'); ok = False
            last[(base, rest)] = v
            if le == '+Inf':
                inf[(base, rest)] = v
        elif name.endswith('_count'):
            if inf.get((base, rest)) != int(value):
                print(f'line {n}: _count {value} != +Inf bucket {inf.get((base, rest))}'); ok = False
sys.exit(0 if ok and seen else 1)
PY

# The checker is not vacuous: an unescaped quote, a label value broken
# across lines and a bad value are each rejected.
broken() { # broken NAME SED-EXPR
    sed "$2" "$T/metrics.txt" >"$T/broken.txt"
    ! cmp -s "$T/metrics.txt" "$T/broken.txt" &&
        ! promtool check metrics <"$T/broken.txt" >/dev/null 2>&1
}
check "promtool rejects an unescaped quote" broken quote 's/\\"with/"with/'
check "promtool rejects a raw newline in a label value" broken newline 's/with\\nnewline/with\nnewline/'
check "promtool rejects a malformed value" broken value 's/^docrag_http_in_flight 2$/docrag_http_in_flight two/'
finish
