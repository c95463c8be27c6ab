// suite.mjs - the checks both transports must pass, run with the SDK's
// real Client over whichever transport connect() returns. The index is
// data/samples (tests/integration/serve_mcp.sh builds it).
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

export const squash = (s) => s.replace(/\s+/g, ' ').trim();

// callTool expecting a JSON-RPC error: returns it.
export async function rpcError(client, params) {
  try {
    await client.callTool(params);
  } catch (e) {
    assert.ok(e instanceof McpError, `expected an McpError, got ${e}`);
    return e;
  }
  assert.fail(`${params.name} ${JSON.stringify(params.arguments)} succeeded`);
}

export function toolSuite(label, connect) {
  describe(`${label}: tools over the SDK client`, () => {
    let client;
    before(async () => {
      client = await connect();
    });
    after(async () => {
      await client?.close();
    });

    it('initialize names the server and offers tools', () => {
      const info = client.getServerVersion();
      assert.equal(info.name, 'docrag');
      assert.match(info.version, /^\d+\.\d+\.\d+/);
      assert.ok(client.getServerCapabilities().tools, 'tools capability');
      assert.match(client.getInstructions() ?? '', /search/);
    });

    it('ping answers', async () => {
      assert.deepEqual(await client.ping(), {});
    });

    it('tools/list has search, ask and get_page with input schemas', async () => {
      const { tools } = await client.listTools();
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      assert.deepEqual(Object.keys(byName).sort(), ['ask', 'get_page', 'search']);
      for (const t of tools) {
        assert.equal(t.inputSchema.type, 'object', t.name);
        assert.equal(t.outputSchema?.type, 'object', t.name);
        assert.ok(t.description.length > 40, t.name);
        assert.equal(t.annotations?.readOnlyHint, true, t.name);
      }
      assert.deepEqual(byName.search.inputSchema.required, ['query']);
      for (const k of ['query', 'k', 'mode', 'doc', 'pages'])
        assert.ok(byName.search.inputSchema.properties[k], `search.${k}`);
      assert.deepEqual(byName.ask.inputSchema.required, ['question']);
      for (const k of ['question', 'k', 'mode', 'doc'])
        assert.ok(byName.ask.inputSchema.properties[k], `ask.${k}`);
      assert.deepEqual(byName.get_page.inputSchema.required.sort(), ['document_id', 'page']);
      assert.deepEqual(byName.search.inputSchema.properties.mode.enum, ['bm25', 'dense', 'hybrid']);
    });

    let hit;
    it('search returns hits from the sample PDFs with page numbers', async () => {
      // callTool checks structuredContent against the tool's outputSchema
      const r = await client.callTool({
        name: 'search',
        arguments: { query: 'RV32I base integer instructions', k: 4 },
      });
      assert.notEqual(r.isError, true);
      const { results } = r.structuredContent;
      assert.ok(results.length >= 1 && results.length <= 4, `${results.length} hits`);
      for (const h of results) {
        assert.ok(Number.isInteger(h.page_start) && h.page_start >= 1, JSON.stringify(h));
        assert.ok(h.page_end >= h.page_start);
        assert.ok(Number.isInteger(h.document_id) && h.document_id >= 1);
        assert.match(h.chunk_id, /^-?\d+$/);
        assert.ok(!h.doc.includes('/'), 'base name, not a server path');
      }
      assert.ok(results.some((h) => h.doc.endsWith('.pdf')), 'a PDF among the hits');
      const text = r.content[0].text;
      assert.equal(r.content[0].type, 'text');
      hit = results[0];
      assert.ok(text.includes(`[1] ${hit.doc}, p`), text.slice(0, 300));
      assert.ok(text.includes(`document_id ${hit.document_id}`));
      assert.ok(squash(text).includes(squash(hit.text).slice(0, 80)), 'the passage text');
    });

    it('search honours doc and pages', async () => {
      const r = await client.callTool({
        name: 'search',
        arguments: { query: 'instruction register', doc: 'riscv-card.pdf', pages: '1-2', k: 10 },
      });
      const { results } = r.structuredContent;
      assert.ok(results.length >= 1);
      for (const h of results) {
        assert.equal(h.doc, 'riscv-card.pdf');
        assert.ok(h.page_start <= 2 && h.page_end >= 1, `${h.page_start}-${h.page_end}`);
      }
      const none = await client.callTool({
        name: 'search',
        arguments: { query: 'instruction register', doc: 'no-such-file-*.pdf' },
      });
      assert.equal(none.structuredContent.results.length, 0);
      assert.match(none.content[0].text, /No passages match/);
    });

    it('ask returns an answer citing a page', async () => {
      const r = await client.callTool({
        name: 'ask',
        arguments: { question: 'What are the guiding principles of Good Machine Learning Practice?' },
      });
      assert.notEqual(r.isError, true);
      const a = r.structuredContent;
      assert.equal(a.refused, false);
      assert.ok(a.answer.length > 20);
      assert.ok(a.citations.length >= 1);
      for (const c of a.citations) {
        assert.ok(c.page_start >= 1);
        assert.ok(Number.isInteger(c.document_id));
      }
      const text = r.content[0].text;
      assert.ok(text.startsWith(a.answer), 'the answer first');
      assert.match(text, /\n\nSources:\n\[1\] \S+, pp?\. \d+/);
      assert.match(text, /GMLP_Guiding_Principles\.pdf, p\. \d/);
    });

    it('ask refuses, as a result, a question the documents do not cover', async () => {
      const r = await client.callTool({
        name: 'ask',
        arguments: { question: 'What is the airspeed velocity of an unladen swallow?' },
      });
      assert.notEqual(r.isError, true);
      assert.equal(r.structuredContent.refused, true);
      assert.deepEqual(r.structuredContent.citations, []);
    });

    it('get_page returns the text of a real page', async () => {
      assert.ok(hit, 'the search test ran first');
      const r = await client.callTool({
        name: 'get_page',
        arguments: { document_id: hit.document_id, page: hit.page_start },
      });
      assert.notEqual(r.isError, true);
      const p = r.structuredContent;
      assert.equal(p.document_id, hit.document_id);
      assert.equal(p.page, hit.page_start);
      assert.equal(p.doc, hit.doc);
      assert.ok(p.pages >= p.page);
      assert.ok(squash(p.text).includes(squash(hit.text).slice(0, 40)), 'the hit is on its page');
      assert.ok(r.content[0].text.startsWith(`${hit.doc}, page ${hit.page_start} of ${p.pages}`));
      assert.ok(r.content[0].text.includes(p.text));
    });

    it('get_page on an unknown document or page is a tool error', async () => {
      const r = await client.callTool({ name: 'get_page', arguments: { document_id: 999999, page: 1 } });
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, /no document with id 999999/);
      assert.equal(r.structuredContent, undefined);
      const p = await client.callTool({
        name: 'get_page',
        arguments: { document_id: hit.document_id, page: 100000 },
      });
      assert.equal(p.isError, true);
      assert.match(p.content[0].text, /has no page 100000/);
    });

    it('arguments that break the input schema are -32602', async () => {
      const bad = [
        { name: 'search', arguments: {} },
        { name: 'search', arguments: { query: 42 } },
        { name: 'search', arguments: { query: '' } },
        { name: 'search', arguments: { query: 'x', k: 0 } },
        { name: 'search', arguments: { query: 'x', k: 51 } },
        { name: 'search', arguments: { query: 'x', mode: 'fuzzy' } },
        { name: 'search', arguments: { query: 'x', pages: '9-3' } },
        { name: 'search', arguments: { query: 'x', colour: 'red' } },
        { name: 'ask', arguments: { question: 'x', pages: 3 } },
        { name: 'get_page', arguments: { document_id: 1 } },
        { name: 'get_page', arguments: { document_id: '1', page: 1 } },
        { name: 'get_page', arguments: { document_id: 1, page: 0 } },
      ];
      for (const params of bad) {
        const e = await rpcError(client, params);
        assert.equal(e.code, -32602, JSON.stringify(params));
      }
      const e = await rpcError(client, { name: 'search', arguments: { query: 'x', colour: 'red' } });
      assert.match(e.message, /unknown argument 'colour'/);
    });

    it('an unknown tool is an error', async () => {
      const e = await rpcError(client, { name: 'delete_everything', arguments: {} });
      assert.equal(e.code, -32602);
      assert.match(e.message, /Unknown tool: delete_everything/);
    });

    it('an unknown method is -32601', async () => {
      await assert.rejects(client.listResources(), (e) => e.code === -32601);
    });
  });
}
