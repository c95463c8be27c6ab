#!/usr/bin/env bash
# net_models.sh - `docrag models pull` against the mock Hub (HF_ENDPOINT),
# including a download cut midway that must resume, then `docrag models list`.
set -euo pipefail

: "${DOCRAG_BIN:?}" "${DOCRAG_SRC:?}"
tmp=$(mktemp -d "${DOCRAG_TESTS_TMP:-/tmp}/net_models.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# a Hub repo with a 200 kB "weights" file (served as LFS: redirect + sha256)
repo="$tmp/hub/acme/mini-encoder"
mkdir -p "$repo/1_Pooling"
printf '{"architectures":["BertModel"],"model_type":"bert","hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":3}' > "$repo/config.json"
printf '[PAD]\n[UNK]\nhello\n' > "$repo/vocab.txt"
printf '{"pooling_mode_mean_tokens":true}' > "$repo/1_Pooling/config.json"
# a real safetensors layout (the pull checks the header): one U8 tensor
python3 - "$repo/model.safetensors" <<'PY'
import json, os, struct, sys
total = 200000
n = 128
data = total - 8 - n
hdr = json.dumps({"w": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}}).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", n) + hdr.ljust(n) + os.urandom(data))
PY

python3 "$DOCRAG_SRC/tests/support/mock_api.py" --hub-dir "$tmp/hub" \
    --port-file "$tmp/port" >/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || fail "mock did not start"
url="http://127.0.0.1:$(cat "$tmp/port")"
export HF_ENDPOINT="$url"
unset HF_TOKEN || true

# cut the first CDN transfer midway: pull must resume and still verify
curl -s -X POST "$url/_mock/faults" \
    -d '{"faults":[{"fault":"cut","path":"/_cdn/"}]}' >/dev/null

out=$("$DOCRAG_BIN" models pull acme/mini-encoder --dir "$tmp/models" -q)
echo "$out"
echo "$out" | grep -q "pulled acme/mini-encoder" || fail "no summary line"
cmp "$repo/model.safetensors" "$tmp/models/acme/mini-encoder/model.safetensors" \
    || fail "weights differ after resume"
cmp "$repo/1_Pooling/config.json" "$tmp/models/acme/mini-encoder/1_Pooling/config.json" \
    || fail "pooling config differs"
[ ! -e "$tmp/models/acme/mini-encoder/tokenizer.json" ] || fail "invented a file"
curl -s "$url/_mock/log" | grep -q '"range": "bytes=100000-"' || fail "no Range resume"

list=$(DOCRAG_MODELS="$tmp/models" "$DOCRAG_BIN" models list)
echo "$list"
echo "$list" | grep -E -q '^acme/mini-encoder +BertModel +200\.[0-9] KB$' \
    || fail "list does not show the model with architecture and size"

# missing repo: exit 1 with a message naming the file
if "$DOCRAG_BIN" models pull acme/nope --dir "$tmp/models" 2>"$tmp/err"; then
    fail "pull of a missing repo succeeded"
fi
grep -q "config.json" "$tmp/err" || fail "error does not name config.json"

# junk in place of a model file (issue 13, defect 16): refused, named, not stored
junk="$tmp/hub/acme/junk"
mkdir -p "$junk"
printf '"%s"' "$(head -c 2000000 /dev/zero | tr '\0' a)" > "$junk/config.json"
if "$DOCRAG_BIN" models pull acme/junk --dir "$tmp/models" 2>"$tmp/err"; then
    fail "pull of a junk config.json succeeded"
fi
grep -q "config.json" "$tmp/err" || fail "error does not name config.json"
[ ! -e "$tmp/models/acme/junk/config.json" ] || fail "junk config.json was stored"

# usage errors exit 2
set +e
"$DOCRAG_BIN" models >/dev/null 2>&1; [ $? -eq 2 ] || fail "usage exit code"
set -e
echo "ok"
