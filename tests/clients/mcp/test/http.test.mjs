// http.test.mjs - POST /mcp (Streamable HTTP) of a running `docrag serve`:
// the SDK's Client over StreamableHTTPClientTransport, then the transport's
// rules with plain fetch. Set by tests/integration/serve_mcp.sh:
//   DOCRAG_MCP_URL        http://127.0.0.1:PORT/mcp
//   DOCRAG_MCP_KEY        a read key; DOCRAG_MCP_ADMIN_KEY an admin key
//   DOCRAG_MCP_ORIGIN     the one origin in server.cors_origins
//   a second collection "card" (riscv-card.pdf only)
import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { toolSuite } from './suite.mjs';

const URL_ = process.env.DOCRAG_MCP_URL;
const KEY = process.env.DOCRAG_MCP_KEY;
const ADMIN_KEY = process.env.DOCRAG_MCP_ADMIN_KEY;
const ORIGIN = process.env.DOCRAG_MCP_ORIGIN;
assert.ok(URL_ && KEY && ADMIN_KEY && ORIGIN, 'run me from tests/integration/serve_mcp.sh');

const INIT = (protocolVersion = '2025-06-18', id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-fetch', version: '0' } },
});

async function send(body, { headers = {}, method = 'POST', key = KEY, url = URL_ } = {}) {
  const h = { Accept: 'application/json, text/event-stream', ...headers };
  if (method === 'POST' && !('Content-Type' in h)) h['Content-Type'] = 'application/json';
  if (key) h.Authorization = `Bearer ${key}`;
  const res = await fetch(url, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  if (text && (res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, json };
}

// A session: its id and the negotiated version.
async function open(protocolVersion = '2025-06-18', opts = {}) {
  const r = await send(INIT(protocolVersion), opts);
  assert.equal(r.status, 200, r.text);
  const sid = r.headers.get('mcp-session-id');
  assert.match(sid ?? '', /^[0-9a-f]{32}$/);
  const version = r.json.result.protocolVersion;
  const init = await send({ jsonrpc: '2.0', method: 'notifications/initialized' }, {
    ...opts,
    headers: { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': version },
  });
  assert.equal(init.status, 202);
  return { sid, version, result: r.json.result };
}

const inSession = (s, extra = {}) => ({
  headers: { 'Mcp-Session-Id': s.sid, 'MCP-Protocol-Version': s.version, ...extra },
});

async function sdkClient(url = URL_) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${KEY}` } },
  });
  const client = new Client({ name: 'docrag-tests', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

toolSuite('Streamable HTTP', async () => {
  const { client, transport } = await sdkClient();
  assert.match(transport.sessionId, /^[0-9a-f]{32}$/);
  assert.equal(transport.protocolVersion, '2025-06-18');
  return client;
});

describe('Streamable HTTP: the transport', () => {
  it('negotiates 2025-06-18 for a newer client and keeps 2025-03-26', async () => {
    const r = await send(INIT('2025-11-25'));
    assert.equal(r.json.result.protocolVersion, '2025-06-18');
    assert.equal((await open('2025-03-26')).version, '2025-03-26');
    assert.equal((await open('1.0.0')).version, '2025-06-18');
  });

  it('answers notifications and client responses with 202 and no body', async () => {
    const s = await open();
    for (const m of [
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } },
      { jsonrpc: '2.0', id: 'srv-1', result: {} },
      { jsonrpc: '2.0', id: 'srv-2', error: { code: -1, message: 'no' } },
    ]) {
      const r = await send(m, inSession(s));
      assert.equal(r.status, 202, JSON.stringify(m));
      assert.equal(r.text, '');
    }
  });

  it('needs a session after initialize: 400 without, 404 for an unknown one', async () => {
    const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
    const r = await send(ping);
    assert.equal(r.status, 400);
    assert.equal(r.json.id, null);
    assert.match(r.json.error.message, /Mcp-Session-Id/);
    const u = await send(ping, { headers: { 'Mcp-Session-Id': '0'.repeat(32) } });
    assert.equal(u.status, 404);
    const s = await open();
    const ok = await send(ping, inSession(s));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { jsonrpc: '2.0', id: 2, result: {} });
    const again = await send(INIT(), inSession(s));
    assert.equal(again.status, 200);
    assert.equal(again.json.error.code, -32600, 'initialize twice');
  });

  it('checks MCP-Protocol-Version', async () => {
    const s = await open();
    const ping = { jsonrpc: '2.0', id: 3, method: 'ping' };
    const bad = await send(ping, inSession(s, { 'MCP-Protocol-Version': '2099-01-01' }));
    assert.equal(bad.status, 400);
    const other = await send(ping, inSession(s, { 'MCP-Protocol-Version': '2025-03-26' }));
    assert.equal(other.status, 400);
    const none = await send(ping, { headers: { 'Mcp-Session-Id': s.sid } });
    assert.equal(none.status, 200, 'absent: the negotiated version');
  });

  it('GET has no stream: 405', async () => {
    const s = await open();
    const r = await send(undefined, { method: 'GET', headers: { ...inSession(s).headers, Accept: 'text/event-stream' } });
    assert.equal(r.status, 405);
    assert.match(r.headers.get('allow'), /POST/);
  });

  it('DELETE ends a session', async () => {
    const s = await open();
    const d = await send(undefined, { method: 'DELETE', ...inSession(s) });
    assert.equal(d.status, 204);
    const after = await send({ jsonrpc: '2.0', id: 4, method: 'ping' }, inSession(s));
    assert.equal(after.status, 404);
    assert.equal((await send(undefined, { method: 'DELETE', ...inSession(s) })).status, 404);
    assert.equal((await send(undefined, { method: 'DELETE' })).status, 400);
  });

  it('the SDK client terminates its session', async () => {
    const { client, transport } = await sdkClient();
    const sid = transport.sessionId;
    await transport.terminateSession();
    const r = await send({ jsonrpc: '2.0', id: 5, method: 'ping' }, { headers: { 'Mcp-Session-Id': sid } });
    assert.equal(r.status, 404);
    await client.close();
  });

  it('validates Origin (DNS rebinding): only listed origins', async () => {
    const s = await open();
    const ping = { jsonrpc: '2.0', id: 6, method: 'ping' };
    const evil = await send(ping, inSession(s, { Origin: 'http://attacker.test' }));
    assert.equal(evil.status, 403);
    const ni = await send(INIT(), { headers: { Origin: 'http://localhost:1' } });
    assert.equal(ni.status, 403, 'initialize too');
    const ok = await send(ping, inSession(s, { Origin: ORIGIN }));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(ok.headers.get('access-control-expose-headers'), /Mcp-Session-Id/);
  });

  it('takes a key with role read, and binds a session to it', async () => {
    const noKey = await send(INIT(), { key: null });
    assert.equal(noKey.status, 401);
    const s = await open();
    const admin = await send({ jsonrpc: '2.0', id: 7, method: 'ping' }, { ...inSession(s), key: ADMIN_KEY });
    assert.equal(admin.status, 404, 'another caller cannot use it');
  });

  it('answers unusable input with 400 and a JSON-RPC error', async () => {
    const s = await open();
    const parse = await send('{"jsonrpc": "2.0", "id": 1, "method": ', inSession(s));
    assert.equal(parse.status, 400);
    assert.equal(parse.json.error.code, -32700);
    assert.equal(parse.json.id, null);
    const v1 = await send({ jsonrpc: '1.0', id: 9, method: 'ping' }, inSession(s));
    assert.equal(v1.status, 400);
    assert.equal(v1.json.error.code, -32600);
    assert.equal(v1.json.id, 9);
    const nullId = await send({ jsonrpc: '2.0', id: null, method: 'ping' }, inSession(s));
    assert.equal(nullId.json.error.code, -32600);
    const unknown = await send({ jsonrpc: '2.0', id: 10, method: 'sampling/createMessage' }, inSession(s));
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json.error.code, -32601);
    const arr = await send({ jsonrpc: '2.0', id: 11, method: 'tools/list', params: [1] }, inSession(s));
    assert.equal(arr.json.error.code, -32602);
  });

  it('checks Accept and Content-Type', async () => {
    const s = await open();
    const ping = { jsonrpc: '2.0', id: 12, method: 'ping' };
    assert.equal((await send(ping, inSession(s, { Accept: 'text/html' }))).status, 406);
    assert.equal((await send(ping, inSession(s, { Accept: 'application/json;q=0, text/event-stream' }))).status, 406);
    assert.equal((await send(ping, inSession(s, { Accept: '*/*' }))).status, 200);
    assert.equal((await send(ping, inSession(s, { 'Content-Type': 'text/plain' }))).status, 415);
  });

  it('refuses batches in 2025-06-18', async () => {
    const s = await open();
    const r = await send([{ jsonrpc: '2.0', id: 1, method: 'ping' }], inSession(s));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
    const b = await send([INIT()]);
    assert.equal(b.status, 400, 'a batch cannot open a session');
  });

  describe('protocol 2025-03-26', () => {
    let s;
    before(async () => {
      s = await open('2025-03-26');
    });

    it('answers a batch with the responses of its requests, in order', async () => {
      const r = await send([
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', method: 'notifications/progress', params: {} },
        { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'search', arguments: { query: 'fence', k: 2 } } },
        { jsonrpc: '2.0', id: 'c', method: 'nope' },
        { jsonrpc: '2.0', id: 'd', method: 'initialize', params: INIT().params },
        42,
      ], inSession(s));
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.json));
      assert.deepEqual(r.json.map((m) => m.id), ['a', 'b', 'c', 'd', null]);
      assert.deepEqual(r.json[0].result, {});
      assert.match(r.json[1].result.content[0].text, /passages? for "fence"/);
      assert.equal(r.json[1].result.structuredContent, undefined, 'no structuredContent before 2025-06-18');
      assert.equal(r.json[2].error.code, -32601);
      assert.equal(r.json[3].error.code, -32600);
      assert.equal(r.json[4].error.code, -32600);
    });

    it('a batch of notifications only is 202', async () => {
      const r = await send([
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 'x', result: {} },
      ], inSession(s));
      assert.equal(r.status, 202);
    });

    it('lists tools without outputSchema', async () => {
      const r = await send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, inSession(s));
      for (const t of r.json.result.tools) {
        assert.equal(t.outputSchema, undefined);
        assert.ok(t.annotations.title);
      }
    });
  });

  it('serves the collection named at initialize', async () => {
    const url = `${URL_}?collection=card`;
    const { client } = await sdkClient(url);
    const r = await client.callTool({ name: 'search', arguments: { query: 'instruction', k: 10 } });
    assert.ok(r.structuredContent.results.length > 0);
    for (const h of r.structuredContent.results) assert.equal(h.doc, 'riscv-card.pdf');
    assert.match(client.getInstructions(), /collection "card"/);
    await client.close();
    const bad = await send(INIT(), { url: `${URL_}?collection=nope` });
    assert.equal(bad.status, 404);
  });
});
