// lib.mjs - what the browser tests share: Debian's Chromium through
// puppeteer-core, the page guards (no console error, no request to another
// origin), screenshots, timings, and a small PDF writer.
//
// The browser is /usr/bin/chromium (CHROMIUM overrides); puppeteer-core
// never downloads one. The flags keep it off the network (this machine
// has none beyond loopback) and a fresh profile per launch keeps tests
// apart (no key or history left from a previous run).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = process.env.DOCRAG_UI_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'docrag-ui-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });

export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests/integration/serve_ui.sh (it starts the servers)`);
  return v;
}

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing (${CHROMIUM}): apt-get install chromium, or run scripts/install-deps.sh`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'docrag-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', `--user-data-dir=${profile}`],
    protocolTimeout: 60000,
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();   // the process has exited: its profile can go
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  return browser;
}

// A page with guards: every console error and page error, every request
// to another origin, are recorded. allow(msg) lets a test accept an
// expected "Failed to load resource" (a 401 that opens the key prompt).
// Each page lives in a browser context of its own: its own localStorage
// (no key, settings or history from another test); g.close() ends it.
export async function guardedPage(browser, base, opts = {}) {
  const ctx = await browser.createBrowserContext(opts.downloads
    ? { downloadBehavior: { policy: 'allow', downloadPath: opts.downloads } } : {});
  const page = await ctx.newPage();
  await page.setViewport(opts.viewport || { width: 1400, height: 900 });
  const g = { page, errors: [], foreign: [], accepted: [], requests: [], close: () => ctx.close() };
  const origin = new URL(base).origin;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = (m.location() && m.location().url) || '';
    const text = `${m.text()}${where ? ` (${where})` : ''}`;
    if (opts.allow && opts.allow(m.text(), where)) g.accepted.push(text);
    else g.errors.push(text);
  });
  page.on('pageerror', (e) => g.errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    g.requests.push({ url: u, headers: r.headers(), method: r.method() });
    if (!(u === origin || u.startsWith(`${origin}/`)) && !u.startsWith('blob:') && !u.startsWith('data:')) {
      g.foreign.push(u);
    }
  });
  return g;
}

export function checkGuards(assert, g) {
  if (g.accepted.length) console.log(`  (expected browser messages: ${g.accepted.join(' | ')})`);
  assert.deepEqual(g.errors, [], 'no console errors');
  assert.deepEqual(g.foreign, [], 'no request to any other origin');
}

export async function shot(page, name, opts = {}) {
  const file = path.join(ARTIFACTS, `ui-${name}.png`);
  await page.screenshot({ path: file, ...opts });
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// A one-page PDF whose text is `lines` (Helvetica), with a correct xref.
export function makePdf(lines) {
  const esc = (s) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const content = ['BT', '/F1 14 Tf', '72 720 Td', '18 TL',
    ...lines.map((l, i) => `${i ? 'T* ' : ''}(${esc(l)}) Tj`), 'ET'].join('\n');
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// JSON with big integers kept as strings (chunk ids come as strings from the
// server; this guards any other big id).
export function parseBig(text) {
  return JSON.parse(text.replace(/("(?:chunk_id|id)"\s*:\s*)(\d{16,})/g, '$1"$2"'));
}

export async function api(base, p, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.key) headers['X-API-Key'] = opts.key;
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(`${base}${p}`, { method: opts.method || (body ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let json = null;
  try { json = parseBig(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}
