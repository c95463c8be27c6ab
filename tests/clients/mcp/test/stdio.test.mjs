// stdio.test.mjs - `docrag mcp --db F`: the SDK's Client over
// StdioClientTransport, then the framing rules on a raw child process.
// Set by tests/integration/serve_mcp.sh: DOCRAG_BIN, DOCRAG_MCP_DB.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { toolSuite } from './suite.mjs';

const BIN = process.env.DOCRAG_BIN;
const DB = process.env.DOCRAG_MCP_DB;
assert.ok(BIN && DB, 'run me from tests/integration/serve_mcp.sh');

toolSuite('stdio', async () => {
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['mcp', '--db', DB],
    env: { ...process.env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'docrag-tests', version: '1.0.0' });
  await client.connect(transport);
  return client;
});

const INIT = (protocolVersion = '2025-06-18') => ({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

// A child `docrag mcp` with line-level access to its stdout.
function start(args = []) {
  const child = spawn(BIN, ['mcp', '--db', DB, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let buf = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      while (waiters.length && lines.length) waiters.shift()(lines.shift());
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  return {
    child,
    all: [],
    stderr: () => stderr,
    write: (m) => child.stdin.write(`${typeof m === 'string' ? m : JSON.stringify(m)}\n`),
    next() {
      if (lines.length) return Promise.resolve(lines.shift());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line in 20 s; stderr: ${stderr}`)), 20000);
        waiters.push((l) => {
          clearTimeout(t);
          resolve(l);
        });
      });
    },
    async json() {
      const l = await this.next();
      this.all.push(l);
      return JSON.parse(l);
    },
    leftover: () => buf + lines.join('\n'),
  };
}

describe('stdio: framing', () => {
  it('answers line by line, skips notifications and blank lines, exits 0 at EOF', async () => {
    const p = start();
    p.write(INIT());
    const init = await p.json();
    assert.equal(init.id, 0);
    assert.equal(init.result.protocolVersion, '2025-06-18');
    p.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
    p.write('');
    p.write('   ');
    p.write({ jsonrpc: '2.0', id: 'p1', method: 'ping' });
    assert.deepEqual(await p.json(), { jsonrpc: '2.0', id: 'p1', result: {} });
    p.write('{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r');
    assert.equal((await p.json()).id, 'crlf');
    p.write({ jsonrpc: '2.0', id: 's', method: 'tools/call', params: { name: 'search', arguments: { query: 'page numbers' } } });
    const s = await p.json();
    assert.ok(s.result.structuredContent.results.length > 0);
    p.child.stdin.end();
    const [code] = await once(p.child, 'exit');
    assert.equal(code, 0, p.stderr());
    assert.equal(p.leftover(), '', 'stdout holds nothing but the answers');
    assert.match(p.stderr(), /mcp: initialized by client "raw"/, 'logs go to stderr');
  });

  it('answers a parse error and goes on', async () => {
    const p = start();
    p.write('{"jsonrpc": "2.0", "id": 1, "method": "ping"');
    const e = await p.json();
    assert.equal(e.id, null);
    assert.equal(e.error.code, -32700);
    p.write('[]');
    assert.equal((await p.json()).error.code, -32600);
    p.write('"just a string"');
    assert.equal((await p.json()).error.code, -32600);
    p.write({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal((await p.json()).id, 2);
    p.child.stdin.end();
    assert.equal((await once(p.child, 'exit'))[0], 0);
  });

  it('wants initialize before tools, and only once', async () => {
    const p = start();
    p.write({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const e = await p.json();
    assert.equal(e.id, 1);
    assert.equal(e.error.code, -32600);
    assert.match(e.error.message, /initialize/);
    p.write(INIT());
    assert.ok((await p.json()).result);
    p.write({ ...INIT(), id: 3 });
    assert.equal((await p.json()).error.code, -32600);
    p.child.stdin.end();
    await once(p.child, 'exit');
  });

  it('takes batches in 2025-03-26 only', async () => {
    const p = start();
    p.write([INIT('2025-03-26')]);
    assert.equal((await p.json()).error.code, -32600, 'no batch before initialize');
    p.write(INIT('2025-03-26'));
    assert.equal((await p.json()).result.protocolVersion, '2025-03-26');
    p.write([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' }]);
    const b = await p.json();
    assert.deepEqual(b.map((m) => m.id), [1, 2]);
    assert.equal(b[1].result.tools.length, 3);
    p.child.stdin.end();
    await once(p.child, 'exit');
  });

  it('refuses a line over server.max_json_body and reads the next', async () => {
    const p = start(['--set', 'server.max_json_body=512']);
    p.write(INIT());
    await p.json();
    p.write({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: { query: 'x'.repeat(2000) } } });
    const e = await p.json();
    assert.equal(e.error.code, -32600);
    assert.match(e.error.message, /longer than 512 bytes/);
    p.write({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal((await p.json()).id, 2);
    p.child.stdin.end();
    assert.equal((await once(p.child, 'exit'))[0], 0);
  });

  it('a missing database fails with a message on stderr and nothing on stdout', async () => {
    const child = spawn(BIN, ['mcp', '--db', `${DB}.missing`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end();
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.equal(out, '');
    assert.match(err, /docrag: mcp: /);
  });
});
