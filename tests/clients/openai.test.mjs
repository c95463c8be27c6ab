// openai.test.mjs - the official `openai` npm client against docrag's
// OpenAI-compatible routes: /v1/models, /v1/chat/completions (streamed and
// not), /v1/embeddings. Run by tests/integration/serve_clients.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";

import { env, post, get, cliEmbed, assertClose, mockLlm } from "./common.mjs";

const plain = new OpenAI({ baseURL: `${env.plainUrl}/v1`, apiKey: env.apiKey, maxRetries: 0 });
const models = new OpenAI({ baseURL: `${env.modelsUrl}/v1`, apiKey: env.apiKey, maxRetries: 0 });
const llm = new OpenAI({ baseURL: `${env.llmUrl}/v1`, apiKey: env.apiKey, maxRetries: 0 });

const QUESTION = "What is the base integer instruction set?";
const MARKER = /^\[\d+(, ?\d+)*\]$/;

// content.slice by code points (docrag's start/end_index count code points)
const cpSlice = (s, a, b) => Array.from(s).slice(a, b).join("");

async function ask(client, extra = {}) {
  return client.chat.completions.create({
    model: "docrag",
    messages: [
      { role: "system", content: "Answer from the documents." },
      { role: "user", content: QUESTION },
    ],
    temperature: 0.2,
    max_tokens: 300,
    user: "client-test",
    ...extra,
  });
}

test("models.list names docrag, docrag/<collection> and the embedding model", async () => {
  const ids = [];
  for await (const m of models.models.list()) {
    assert.equal(m.object, "model");
    assert.equal(m.owned_by, "docrag");
    assert.ok(Number.isInteger(m.created) && m.created > 1.6e9, `created ${m.created}`);
    ids.push(m.id);
  }
  assert.deepEqual(ids, ["docrag", "docrag/docs", "docrag/notes", "bi-encoder"]);
  const plainIds = [];
  for await (const m of plain.models.list()) plainIds.push(m.id);
  assert.deepEqual(plainIds, ["docrag", "docrag/docs"], "no embedder: no embedding model listed");
  const one = await models.models.retrieve("docrag/notes");
  assert.equal(one.id, "docrag/notes");
  await assert.rejects(models.models.retrieve("gpt-4o"), (e) => e.status === 404);
});

test("chat: the answer keeps [n] markers, each located by a url_citation annotation", async () => {
  const r = await ask(plain);
  assert.equal(r.object, "chat.completion");
  assert.equal(r.model, "docrag");
  assert.equal(r.choices.length, 1);
  const ch = r.choices[0];
  assert.equal(ch.finish_reason, "stop");
  assert.equal(ch.message.role, "assistant");
  const content = ch.message.content;
  assert.match(content, /\[\d+\]/, "content has citation markers");
  const anns = ch.message.annotations;
  assert.ok(anns.length >= 1, "annotations");
  const d = r.docrag;
  assert.equal(d.refused, false);
  assert.equal(d.backend, "extractive");
  assert.equal(d.collection, "docs");
  assert.ok(d.confidence > 0 && d.confidence <= 1, `confidence ${d.confidence}`);
  assert.ok(d.citations.length >= 1);
  // every marker of the content is annotated, in order
  const markers = content.match(/\[\d+(, ?\d+)*\]/g);
  assert.ok(anns.length >= markers.length, `${anns.length} annotations for ${markers.length} markers`);
  for (const a of anns) {
    assert.equal(a.type, "url_citation");
    const u = a.url_citation;
    const marker = cpSlice(content, u.start_index, u.end_index);
    assert.match(marker, MARKER, `annotation [${u.start_index}, ${u.end_index}) is "${marker}"`);
    const n = Number(marker.match(/\d+/)[0]);
    const cite = d.citations.find((c) => marker.includes(String(c.n)) && c.url === u.url);
    assert.ok(cite, `annotation ${u.url} is one of the citations of ${marker} (n ${n})`);
    assert.match(u.url, new RegExp(`^${env.plainUrl}/v1/documents/\\d+/file#page=\\d+$`));
    assert.equal(u.url, `${env.plainUrl}/v1/documents/${cite.document_id}/file#page=${cite.page_start}`);
    assert.ok(u.title.includes(cite.title), `title "${u.title}" names "${cite.title}"`);
  }
  // the cited file route serves the original document
  const seen = new Set();
  for (const c of d.citations) {
    assert.ok(Number.isInteger(c.document_id) && c.document_id > 0, `document_id ${c.document_id}`);
    if (seen.has(c.url.split("#")[0])) continue;
    seen.add(c.url.split("#")[0]);
    const f = await get(c.url.split("#")[0]);
    assert.equal(f.status, 200, c.url);
    if (c.doc.endsWith(".pdf")) assert.equal(f.buf.subarray(0, 4).toString(), "%PDF", c.url);
  }
  // usage: estimates, but consistent
  const u = r.usage;
  assert.ok(u.prompt_tokens > 0 && u.completion_tokens > 0);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(d.usage_estimated, true);
});

test("chat: content given as text parts asks the same question", async () => {
  const a = await ask(plain);
  const b = await plain.chat.completions.create({
    model: "docrag",
    messages: [{ role: "user", content: [{ type: "text", text: QUESTION }] }],
  });
  assert.equal(b.choices[0].message.content, a.choices[0].message.content);
});

test("chat stream: role first, deltas that add up to the non-streamed answer, citations in a last chunk with choices", async () => {
  const whole = await ask(plain);
  const stream = await ask(plain, { stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
  for (const c of chunks) {
    assert.equal(c.object, "chat.completion.chunk");
    assert.equal(c.id, chunks[0].id);
    assert.ok(Array.isArray(c.choices), "every chunk has a choices array");
  }
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.equal(text, whole.choices[0].message.content, "streamed content = non-streamed content");
  const withFinish = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.equal(withFinish.length, 1);
  const last = withFinish[0];
  assert.equal(last.choices[0].finish_reason, "stop");
  assert.equal(last.choices.length, 1);
  assert.deepEqual(last.choices[0].delta.annotations, whole.choices[0].message.annotations);
  assert.deepEqual(last.docrag.citations, whole.docrag.citations);
  assert.equal(last.docrag.refused, false);
  // include_usage: one more chunk, empty choices, with the usage
  const tail = chunks[chunks.length - 1];
  assert.notEqual(tail, last);
  assert.deepEqual(tail.choices, []);
  assert.equal(tail.usage.total_tokens, tail.usage.prompt_tokens + tail.usage.completion_tokens);
});

test("chat stream on the wire: data-only SSE events ending in data: [DONE]", async () => {
  const r = await post(`${env.plainUrl}/v1/chat/completions`, {
    model: "docrag", stream: true, messages: [{ role: "user", content: QUESTION }],
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/event-stream/);
  const events = r.text.split("\n\n").filter((e) => e && !e.startsWith(":"));
  for (const e of events) assert.match(e, /^data: /, "only data: lines");
  assert.equal(events[events.length - 1], "data: [DONE]");
  assert.equal(JSON.parse(events[events.length - 2].slice(6)).choices[0].finish_reason, "stop");
});

test("chat: docrag/<collection> cites that collection's file route; docrag options filter", async () => {
  const r = await models.chat.completions.create({
    model: "docrag/notes",
    messages: [{ role: "user", content: QUESTION }],
  });
  assert.equal(r.docrag.collection, "notes");
  const anns = r.choices[0].message.annotations;
  assert.ok(anns.length >= 1);
  for (const a of anns) {
    assert.match(a.url_citation.url, /\/v1\/documents\/\d+\/file\?collection=notes#page=\d+$/);
    const f = await get(a.url_citation.url.split("#")[0]);
    assert.equal(f.status, 200);
  }
  const g = await plain.chat.completions.create({
    model: "docrag",
    messages: [{ role: "user", content: "What should training data be independent of?" }],
    docrag: { doc: "GMLP*", k: 3, mode: "bm25" },
  });
  assert.ok(g.docrag.citations.length >= 1);
  for (const c of g.docrag.citations) assert.match(c.doc, /GMLP_Guiding_Principles\.pdf$/);
});

test("chat: an off-topic question is refused, with no annotations", async () => {
  const r = await plain.chat.completions.create({
    model: "docrag", messages: [{ role: "user", content: "What is the capital of France?" }],
  });
  assert.equal(r.docrag.refused, true);
  assert.deepEqual(r.choices[0].message.annotations, []);
  assert.ok(r.choices[0].message.content.length > 0);
});

test("chat errors come in OpenAI's error shape", async () => {
  await assert.rejects(
    plain.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }),
    (e) => e.status === 404 && e.code === "model_not_found" && e.param === "model",
  );
  await assert.rejects(
    plain.chat.completions.create({ model: "docrag", n: 2, messages: [{ role: "user", content: QUESTION }] }),
    (e) => e.status === 400 && e.param === "n",
  );
  await assert.rejects(
    plain.chat.completions.create({ model: "docrag", messages: [{ role: "user", content: QUESTION }], docrag: { k: 0 } }),
    (e) => e.status === 400 && e.param === "docrag.k",
  );
  const raw = await post(`${env.plainUrl}/v1/chat/completions`, { model: "nope", messages: [{ role: "user", content: "x" }] });
  assert.equal(raw.status, 404);
  assert.deepEqual(Object.keys(raw.body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(raw.body.error.type, "invalid_request_error");
  const bad = await post(`${env.plainUrl}/v1/chat/completions`, '{"model": "docrag", "messages": [');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /line 1, column/);
  const noUser = await post(`${env.plainUrl}/v1/chat/completions`, { model: "docrag", messages: [{ role: "system", content: "hi" }] });
  assert.equal(noUser.status, 400);
  assert.equal(noUser.body.error.param, "messages");
});

test("embeddings: 404 in OpenAI's shape when no embedder is configured", async () => {
  await assert.rejects(
    plain.embeddings.create({ model: "docrag", input: "hello" }),
    (e) => e.status === 404 && e.code === "model_not_found" && /chains\.embed/.test(e.message),
  );
});

test("embeddings: the configured model's vectors, as `docrag embed` computes them (float and base64)", async () => {
  const texts = ["hello world", "RISC-V vector extension", "Good Machine Learning Practice"];
  const ref = cliEmbed(texts);
  // the client asks for base64 by default and decodes it
  const b = await models.embeddings.create({ model: "bi-encoder", input: texts });
  assert.equal(b.object, "list");
  assert.equal(b.model, "bi-encoder");
  assert.equal(b.data.length, 3);
  b.data.forEach((d, i) => {
    assert.equal(d.index, i);
    assertClose(d.embedding, ref[i], 1e-5, `base64 vector ${i}`);
  });
  const f = await models.embeddings.create({ model: "docrag", input: texts[0], encoding_format: "float" });
  assert.equal(f.data.length, 1);
  assertClose(f.data[0].embedding, ref[0], 1e-5, "float vector");
  assert.ok(f.usage.prompt_tokens > 0 && f.usage.total_tokens === f.usage.prompt_tokens);
  await assert.rejects(models.embeddings.create({ model: "text-embedding-3-small", input: "x" }),
    (e) => e.status === 404 && e.code === "model_not_found");
  await assert.rejects(models.embeddings.create({ model: "bi-encoder", input: "x", dimensions: 8 }),
    (e) => e.status === 400 && e.param === "dimensions");
  await assert.rejects(models.embeddings.create({ model: "bi-encoder", input: [] }),
    (e) => e.status === 400 && e.param === "input");
});

test("embeddings: more inputs than server.max_batch is a 413", async () => {
  const input = Array.from({ length: env.maxBatch + 1 }, (_, i) => `text ${i}`);
  await assert.rejects(models.embeddings.create({ model: "bi-encoder", input }),
    (e) => e.status === 413 && new RegExp(`batch size ${env.maxBatch + 1} > maximum allowed batch size ${env.maxBatch}`).test(e.message));
  const ok = await models.embeddings.create({ model: "bi-encoder", input: input.slice(0, env.maxBatch) });
  assert.equal(ok.data.length, env.maxBatch);
});

// The mock LLM cites sources 2 and 9 (of 5 given): docrag keeps source 2 as
// citation 1 and drops 9. Streamed tokens are the model's raw text.
const LLM_ANSWER = "RV32I is the base integer instruction set [2]. It is described in its own chapter [2][9].";

test("chat through an LLM: content renumbered as docrag checked it, annotations on the kept citation", async () => {
  await mockLlm([LLM_ANSWER]);
  const r = await llm.chat.completions.create({ model: "docrag", messages: [{ role: "user", content: QUESTION }] });
  const d = r.docrag;
  assert.equal(d.backend, "mock");
  assert.deepEqual(d.dropped_citations, [9]);
  assert.equal(d.citations.length, 1);
  const content = r.choices[0].message.content;
  assert.ok(!content.includes("[9]") && !content.includes("[2]"), content);
  const anns = r.choices[0].message.annotations;
  assert.equal(anns.length, 2);
  for (const a of anns) {
    assert.equal(cpSlice(content, a.url_citation.start_index, a.url_citation.end_index), "[1]");
    assert.equal(a.url_citation.url, d.citations[0].url);
  }

  await mockLlm([LLM_ANSWER]);
  const chunks = [];
  for await (const c of await llm.chat.completions.create({
    model: "docrag", stream: true, messages: [{ role: "user", content: QUESTION }] })) chunks.push(c);
  const deltas = chunks.map((c) => c.choices[0]?.delta?.content).filter((t) => t);
  assert.ok(deltas.length > 5, `the model's tokens stream one by one (${deltas.length} deltas)`);
  const text = deltas.join("");
  assert.equal(text, LLM_ANSWER, "streamed: the model's raw text");
  const last = chunks.find((c) => c.choices[0]?.finish_reason === "stop");
  assert.equal(last.docrag.answer, content, "the final chunk carries the checked answer");
  assert.deepEqual(last.docrag.citations, d.citations);
  const sanns = last.choices[0].delta.annotations;
  assert.equal(sanns.length, 2, "source 2 cited twice, source 9 dropped");
  for (const a of sanns) {
    assert.equal(cpSlice(text, a.url_citation.start_index, a.url_citation.end_index).slice(0, 2), "[2");
    assert.equal(a.url_citation.url, d.citations[0].url, "the source number maps to the kept citation");
  }
});

test("chat through an LLM that fails midway: streamed, an error event (text void); not streamed, the fallback", async () => {
  const cut = [{ fault: "cut;after=4", path: "/v1/chat" }];
  await mockLlm([LLM_ANSWER], cut);
  const got = [];
  await assert.rejects(async () => {
    for await (const c of await llm.chat.completions.create({
      model: "docrag", stream: true, messages: [{ role: "user", content: QUESTION }] })) got.push(c);
  }, (e) => e.code === "answer_abandoned" && /void/.test(e.message));
  assert.ok(got.some((c) => c.choices[0]?.delta?.content), "some text had been streamed");
  assert.ok(!got.some((c) => c.choices[0]?.finish_reason), "no finish chunk after the failure");

  await mockLlm([LLM_ANSWER], cut);
  const r = await llm.chat.completions.create({ model: "docrag", messages: [{ role: "user", content: QUESTION }] });
  assert.equal(r.docrag.backend, "extractive");
  assert.ok(r.docrag.notice, "the fallback is noticed");
  assert.ok(r.choices[0].message.annotations.length >= 1);
});
