#!/usr/bin/env bash
# llm_ask_cli.sh - docrag ask through an LLM chain on the mock: --stream
# prints the answer then sources, --json adds dropped_citations/notice only
# when non-empty, a mid-stream failure restarts with a visible notice, and
# the token never reaches stdout/stderr.
source "$(dirname "$0")/lib.bash"
TOKEN=hf_CliIntegrationSecret77
/usr/bin/python3 "$DOCRAG_SRC/tests/support/mock_api.py" --port-file "$T/port" --token "$TOKEN" >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
P=$(cat "$T/port")
ctl() { curl -s -XPOST "http://127.0.0.1:$P/_mock/$1" -d "$2" >/dev/null; }
cd "$T"
printf '# Vector unit\n\nThe vector length register vl holds the number of elements that vector instructions process.\n' > v.md
"$DOCRAG_BIN" index --db t.db v.md >/dev/null
export HF_TOKEN=$TOKEN
cat > docrag.yaml <<YAML
backends:
  first:
    type: hf_providers
    url: http://127.0.0.1:$P/v1
    model: meta-llama/Llama-3.1-8B-Instruct:fastest
    api_key: \${HF_TOKEN}
    max_retries: 0
chains:
  llm: [first, extractive]
YAML
Q="Which register holds the vector length?"

ctl chat '{"answers":["The vl register holds the count [1]. Also [7]."]}'
"$DOCRAG_BIN" ask --db t.db --stream "$Q" >out 2>err
check "stream prints the model text" grep -q "The vl register holds the count \[1\]. Also \[7\]." out
check "stream lists the cited source (title and file)" grep -qE "\\[1\\] (.* \\()?v\\.md\\)?, p\\. 1" out
check "stream names the back-end" grep -q "answered by first" out

ctl chat '{"answers":["The vl register holds the count [1]. Also [7]."]}'
"$DOCRAG_BIN" ask --db t.db --json "$Q" >out.json 2>err
check "json: renumbered answer without the bogus citation" \
  py -c 'import json,sys; o=json.load(open("out.json")); sys.exit(not (o["answer"]=="The vl register holds the count [1]. Also." and o["dropped_citations"]==[7] and o["backend"]=="first" and "notice" not in o and len(o["citations"])==1))'

ctl chat '{"answers":["The vl register holds the count [1]."]}'
"$DOCRAG_BIN" ask --db t.db --json "$Q" >out.json 2>err
check "json: no optional keys when empty" \
  py -c 'import json,sys; o=json.load(open("out.json")); sys.exit("dropped_citations" in o or "notice" in o)'

ctl chat '{"answers":["alpha beta gamma delta epsilon zeta [1]."]}'
ctl faults '{"faults":[{"fault":"cut;after=4","path":"/v1/chat"}]}'
"$DOCRAG_BIN" ask --db t.db --stream "$Q" >out 2>err
check "cut stream: restart notice printed" grep -q "failed mid-answer" out
check "cut stream: extractive answered" grep -q "answered by extractive" out
check "cut stream: the discarded text is not repeated after the notice" \
  bash -c '! sed -n "/failed mid-answer/,\$p" out | grep -q alpha'

count() { curl -s "http://127.0.0.1:$P/_mock/count?path=/v1/chat"; }
before=$(count)
"$DOCRAG_BIN" ask --db t.db "Who won the football world cup in 1998?" >out 2>err
check "off-topic: refused" grep -q "No relevant information" out
check "off-topic: no chat request" test "$(count)" = "$before"
check "token never printed" bash -c "! grep -q CliIntegrationSecret out err out.json"
finish
