// tei.test.mjs - docrag as a Text Embeddings Inference server: the
// @huggingface/inference client's featureExtraction against POST /embed,
// plain fetch for /rerank, /info and the error contract, and docrag's own
// TEI back-end (chains.embed: [tei]) pointed at docrag serve. Run by
// tests/integration/serve_clients.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InferenceClient } from "@huggingface/inference";

import { env, post, cliEmbed, cliRerank, cli, assertClose } from "./common.mjs";

const hf = new InferenceClient(env.apiKey);
const TEXTS = ["hello world", "RISC-V vector extension", ""];

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

test("featureExtraction (@huggingface/inference) on /embed gives `docrag embed`'s vectors", async () => {
  const ref = cliEmbed(TEXTS);
  const raw = await hf.endpoint(`${env.modelsUrl}/embed`).featureExtraction({ inputs: TEXTS, normalize: false });
  assert.equal(raw.length, TEXTS.length);
  raw.forEach((v, i) => assertClose(v, ref[i], 1e-5, `vector ${i}`));
  // normalize defaults to true (TEI): unit length, same direction
  const unit = await hf.endpoint(`${env.modelsUrl}/embed`).featureExtraction({ inputs: TEXTS });
  unit.forEach((v, i) => {
    assert.ok(Math.abs(norm(v) - 1) < 1e-5, `|v${i}| = ${norm(v)}`);
    assertClose(v, ref[i].map((x) => x / norm(ref[i])), 1e-5, `unit vector ${i}`);
  });
});

test("/embed: one string is still a list of lists; TEI's error shape and statuses", async () => {
  const one = await post(`${env.modelsUrl}/embed`, { inputs: "hello world", truncate: true });
  assert.equal(one.status, 200);
  assert.ok(Array.isArray(one.body) && one.body.length === 1 && one.body[0].length === 24);
  const over = await post(`${env.modelsUrl}/embed`, { inputs: Array(env.maxBatch + 1).fill("x") });
  assert.equal(over.status, 413);
  assert.deepEqual(over.body, {
    error: `batch size ${env.maxBatch + 1} > maximum allowed batch size ${env.maxBatch}`,
    error_type: "Validation",
  });
  const empty = await post(`${env.modelsUrl}/embed`, { inputs: [] });
  assert.equal(empty.status, 422);
  assert.equal(empty.body.error_type, "Validation");
  const typo = await post(`${env.modelsUrl}/embed`, { inputs: "x", normalise: true });
  assert.equal(typo.status, 422);
  assert.match(typo.body.error, /normalise/);
  const ids = await post(`${env.modelsUrl}/embed`, { inputs: [101, 102] });
  assert.equal(ids.status, 422);
  const bad = await post(`${env.modelsUrl}/embed`, "{\"inputs\": ");
  assert.equal(bad.status, 400);
  assert.equal(typeof bad.body.error, "string");
  const none = await post(`${env.plainUrl}/embed`, { inputs: "x" });
  assert.equal(none.status, 424);
  assert.equal(none.body.error_type, "Backend");
});

test("/rerank: sorted by score, raw_scores = `docrag rerank`'s logits, default = their sigmoid", async () => {
  const query = "integer instructions";
  const texts = ["the cat sat on the mat", "RV32I base integer instructions", "integer",
                 "Good Machine Learning Practice for medical devices"];
  const ref = cliRerank(query, texts);
  const raw = await post(`${env.modelsUrl}/rerank`, { query, texts, raw_scores: true });
  assert.equal(raw.status, 200);
  assert.deepEqual(raw.body.map((x) => x.index), ref.map((x) => x.index), "same order as the CLI");
  assertClose(raw.body.map((x) => x.score), ref.map((x) => x.score), 1e-5, "raw scores");
  const def = await post(`${env.modelsUrl}/rerank`, { query, texts, return_text: true });
  assert.deepEqual(def.body.map((x) => x.index), ref.map((x) => x.index));
  assertClose(def.body.map((x) => x.score), ref.map((x) => sigmoid(x.score)), 1e-5, "sigmoid scores");
  for (const r of def.body) assert.equal(r.text, texts[r.index]);
  for (let i = 1; i < def.body.length; i++) assert.ok(def.body[i - 1].score >= def.body[i].score);
  assert.equal(raw.body[0].text, undefined, "text only with return_text");

  const over = await post(`${env.modelsUrl}/rerank`, { query, texts: Array(env.maxBatch + 1).fill("x") });
  assert.equal(over.status, 413);
  assert.match(over.body.error, /^batch size \d+ > maximum allowed batch size \d+$/);
  const empty = await post(`${env.modelsUrl}/rerank`, { query, texts: [] });
  assert.equal(empty.status, 422);
  const none = await post(`${env.plainUrl}/rerank`, { query, texts });
  assert.equal(none.status, 424);
  assert.match(none.body.error, /not a re-ranker/);
});

test("/info: TEI's fields, max_client_batch_size = server.max_batch, docrag's version", async () => {
  const res = await fetch(`${env.modelsUrl}/info`, { headers: { Authorization: `Bearer ${env.apiKey}` } });
  assert.equal(res.status, 200);
  const info = await res.json();
  assert.equal(info.model_id, "bi-encoder");
  assert.equal(info.model_dtype, "float32");
  assert.ok("embedding" in info.model_type);
  assert.equal(info.max_client_batch_size, env.maxBatch);
  assert.equal(info.auto_truncate, true);
  assert.match(info.version, /^docrag-\d+\.\d+/);
  assert.deepEqual(info.docrag.reranker, { model: "cross-encoder" });
  assert.equal(info.docrag.embedding.dim, 24);
  const anon = await fetch(`${env.modelsUrl}/info`);
  assert.equal(anon.status, 401, "/info needs the read key, as TEI's with --api-key");
  const none = await fetch(`${env.plainUrl}/info`, { headers: { Authorization: `Bearer ${env.apiKey}` } });
  assert.equal(none.status, 424);
});

test("docrag's own TEI back-end on docrag serve: dense search equals the local model's", () => {
  const q = ["search", "--db", env.modelsDb, "--mode", "dense", "-k", "5", "--json", "--set", "chains.rerank=none"];
  const viaTei = JSON.parse(cli([...q, "--config", env.teiConfig, "integer register file"]));
  const local = JSON.parse(cli([...q, "--config", env.localConfig, "integer register file"]));
  assert.equal(viaTei.notice, undefined, `no fallback notice: ${viaTei.notice}`);
  assert.equal(viaTei.mode, "dense");
  assert.deepEqual(viaTei.results.map((r) => r.chunk_id), local.results.map((r) => r.chunk_id));
  assertClose(viaTei.results.map((r) => r.score), local.results.map((r) => r.score), 1e-5, "scores");
});
