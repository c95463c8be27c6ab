// common.mjs - what the client tests share: the servers started by
// tests/integration/serve_clients.sh (passed in the environment) and the
// docrag CLI for reference numbers.
import { execFileSync } from "node:child_process";

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through tests/integration/serve_clients.sh`);
  return v;
}

export const env = {
  // docrag serve over the sample index, default config: no embedder, no reranker
  plainUrl: need("DOCRAG_PLAIN_URL"),
  // docrag serve with the generated bi-encoder and cross-encoder, collections
  // "docs" (embedded index, default) and "notes"
  modelsUrl: need("DOCRAG_MODELS_URL"),
  // docrag serve answering through an LLM chain: the mock API, then extractive
  llmUrl: need("DOCRAG_LLM_URL"),
  // the mock API's control routes (POST /_mock/chat, /_mock/faults)
  mockUrl: need("DOCRAG_MOCK_URL"),
  apiKey: need("DOCRAG_API_KEY"),
  bin: need("DOCRAG_BIN"),
  models: need("DOCRAG_MODELS"),
  maxBatch: Number(need("DOCRAG_MAX_BATCH")),
  modelsDb: need("DOCRAG_MODELS_DB"),
  localConfig: need("DOCRAG_LOCAL_CONFIG"),
  teiConfig: need("DOCRAG_TEI_CONFIG"),
};

export const auth = { Authorization: `Bearer ${env.apiKey}` };

// POST JSON with the read key; returns {status, headers, body (parsed or text)}.
export async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...auth, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export async function get(url) {
  const res = await fetch(url, { headers: auth });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, buf };
}

// `docrag embed --model DIR` on the CLI: one vector per line of texts.
export function cliEmbed(texts) {
  const out = execFileSync(env.bin, ["embed", "--model", `${env.models}/bi-encoder`], {
    input: texts.join("\n") + "\n",
  });
  return JSON.parse(out.toString());
}

// `docrag rerank --model DIR QUERY`: [{index, score}] by raw logit, highest first.
export function cliRerank(query, passages) {
  const out = execFileSync(env.bin, ["rerank", "--model", `${env.models}/cross-encoder`, query], {
    input: passages.join("\n") + "\n",
  });
  return JSON.parse(out.toString());
}

export function cli(args) {
  return execFileSync(env.bin, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

export function assertClose(actual, expected, tol, what) {
  if (actual.length !== expected.length)
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol))
      throw new Error(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
  }
}

// Queue the mock LLM's next answers, and optionally faults (mock_api.py).
export async function mockLlm(answers, faults = []) {
  for (const [path, body] of [["/_mock/reset", {}], ["/_mock/chat", { answers }], ["/_mock/faults", { faults }]]) {
    const r = await fetch(`${env.mockUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`mock ${path}: ${r.status}`);
  }
}
