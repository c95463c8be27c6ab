// ui.test.mjs - docrag's web UI end to end in headless Chromium, against a
// real `docrag serve` on the sample documents with the mock LLM
// (tests/integration/serve_ui.sh starts both and sets the variables).
//
//   DOCRAG_UI_URL     the open server (loopback, no key: read and admin)
//   DOCRAG_MOCK_URL   the mock LLM's control routes (/_mock/chat)
//
// Every page is guarded: a console error, a page error or a request to
// another origin fails the test that made it. Timings are printed, not
// asserted (the "Must reach" figures of docs/ui.md); the asset size budget
// is asserted.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, guardedPage, checkGuards, shot, sleep, median, makePdf, api, need, ARTIFACTS } from '../lib.mjs';

const BASE = need('DOCRAG_UI_URL');
const MOCK = need('DOCRAG_MOCK_URL');
const SUFFIX = Date.now().toString(36);

let browser;

async function mockSays(text) {
  const r = await fetch(`${MOCK}/_mock/chat`, { method: 'POST', body: JSON.stringify({ default: text }) });
  assert.equal(r.status, 200);
}

// The chat's last turn, once its answer is final (or stopped / failed).
async function waitAnswer(page, timeout = 20000) {
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll('[data-testid=answer]')].pop();
    return a && (a.classList.contains('final') || a.closest('.a').querySelector('.banner.error, .banner.stopped'));
  }, { timeout });
}

// Watch the next turn: when its first source card and first token appear
// (MutationObserver, performance.now()), and every length its text takes.
async function watchNextTurn(page) {
  await page.evaluate(() => {
    const w = { sources: null, token: null, lengths: [], turn: null };
    window.__watch = w;
    const look = () => {
      const answers = document.querySelectorAll('[data-testid=answer]');
      const a = answers[answers.length - 1];
      if (!a || a.dataset.turn === window.__watchSkip) return;
      w.turn = a.dataset.turn;
      const now = performance.now();
      if (w.sources === null && document.querySelector(`#sources-list [data-testid=source][data-turn="${w.turn}"]`)) w.sources = now;
      const len = a.querySelector('.typing') ? 0 : a.textContent.length;
      if (len > 0 && w.token === null) w.token = now;
      if (!a.classList.contains('final') && len && w.lengths[w.lengths.length - 1] !== len) w.lengths.push(len);
    };
    const last = [...document.querySelectorAll('[data-testid=answer]')].pop();
    window.__watchSkip = last ? last.dataset.turn : null;
    if (window.__observer) window.__observer.disconnect();
    window.__observer = new MutationObserver(look);
    window.__observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

async function ask(page, q) {
  await page.click('[data-testid=question]');
  await page.type('[data-testid=question]', q);
  await page.keyboard.press('Enter');
}

before(async () => {
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
});

describe('assets', () => {
  test('/ and /assets/NAME: types, CSP, gzip, ETag and 304, 404, favicon', async () => {
    const r = await fetch(`${BASE}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.equal(r.headers.get('content-security-policy'), "default-src 'self'");
    const html = await r.text();
    assert.match(html, /data-testid="question"/);
    assert.doesNotMatch(html, /<script>(?!<)/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=/, 'no inline style');

    const gz = await fetch(`${BASE}/assets/app.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.match(gz.headers.get('content-type'), /^text\/javascript/);
    assert.equal(gz.headers.get('vary'), 'Accept-Encoding');
    const etag = gz.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{16}-gz"$/);
    await gz.arrayBuffer();
    const again = await fetch(`${BASE}/assets/app.js`, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    const plain = await fetch(`${BASE}/assets/app.js`, { headers: { 'Accept-Encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.match(plain.headers.get('etag'), /^"[0-9a-f]{16}"$/);
    assert.ok((await plain.text()).includes('import'));

    assert.equal((await fetch(`${BASE}/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${BASE}/assets/index.html`)).status, 404);
    const fav = await fetch(`${BASE}/favicon.ico`);
    assert.equal(fav.status, 200);
    assert.equal(fav.headers.get('content-type'), 'image/svg+xml');
    const head = await fetch(`${BASE}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`${BASE}/`, { method: 'POST' })).status, 405);
  });

  test('every asset the UI loads adds up to at most 500 KB uncompressed', async () => {
    // crawl from / : /assets/NAME in HTML and JS, and ES module imports
    const seen = new Map();
    const queue = ['/'];
    while (queue.length) {
      const p = queue.shift();
      if (seen.has(p)) continue;
      const r = await fetch(`${BASE}${p}`, { headers: { 'Accept-Encoding': 'identity' } });
      assert.equal(r.status, 200, `${p} is served`);
      const body = Buffer.from(await r.arrayBuffer());
      seen.set(p, body.length);
      const text = body.toString('utf8');
      if (!/\.(js|html)$/.test(p) && p !== '/') continue;
      if (p.endsWith('chart.min.js')) continue;
      for (const m of text.matchAll(/["'](\/assets\/[\w.-]+)["']/g)) queue.push(m[1]);
      for (const m of text.matchAll(/from\s+'\.\/([\w.-]+\.js)'/g)) queue.push(`/assets/${m[1]}`);
    }
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    console.log(`FIGURE ui asset bytes (uncompressed, ${seen.size} files): ${total}`);
    for (const [p, n] of seen) console.log(`  ${String(n).padStart(7)}  ${p}`);
    assert.ok(seen.has('/assets/chart.min.js'), 'Chart.js is among the assets');
    assert.ok(total <= 500000, `UI assets are ${total} bytes, over the 500 KB budget`);
  });
});

describe('the UI in a browser', () => {
  test('first paint of / (printed)', async () => {
    // the first load in a fresh browser context (a new renderer, nothing
    // cached), then reloads in the same tab (revalidated with ETags: 304s)
    const g = await guardedPage(browser, BASE);
    const paint = () => g.page.evaluate(() => {
      const e = performance.getEntriesByType('paint').find((x) => x.name === 'first-paint');
      const c = performance.getEntriesByType('paint').find((x) => x.name === 'first-contentful-paint');
      return { fp: e ? e.startTime : null, fcp: c ? c.startTime : null };
    });
    const cold = [];
    const warm = [];
    for (let i = 0; i < 6; i++) {
      await g.page.goto(`${BASE}/?run=${i}`, { waitUntil: 'load' });
      // paint entries are reported once the frame is presented
      await g.page.waitForFunction(() => performance.getEntriesByType('paint').length > 0, { timeout: 10000 });
      const p = await paint();
      assert.ok(p.fp !== null, 'the page painted');
      (i === 0 ? cold : warm).push(p);
      await g.page.waitForSelector('body[data-ready=true]', { timeout: 15000 });
    }
    checkGuards(assert, g);
    await g.close();
    console.log(`FIGURE first paint of / (ms): fresh context ${cold[0].fp.toFixed(1)}; reloads median ${median(warm.map((p) => p.fp)).toFixed(1)} ` +
      `(min ${Math.min(...warm.map((p) => p.fp)).toFixed(1)}, ${warm.length} loads); first contentful paint reloads median ${median(warm.map((p) => p.fcp)).toFixed(1)}`);
  });

  test('ask: sources before the first token, tokens stream in, [n] chips, final answer', async () => {
    const g = await guardedPage(browser, BASE);
    const { page } = g;
    await page.goto(`${BASE}/`);
    await page.waitForSelector('body[data-ready=true]');
    await mockSays('Physical page numbers are cited, counting from the first page of the file [1]. ' +
      'Chunks that span pages cite the exact page of each sentence [2]. The notes agree [3].');
    await watchNextTurn(page);
    await ask(page, 'How are page numbers used in PDF citations?');
    await waitAnswer(page);
    const w = await page.evaluate(() => window.__watch);
    assert.ok(w.sources !== null, 'source cards appeared');
    assert.ok(w.token !== null, 'tokens appeared');
    assert.ok(w.sources < w.token, `sources (${w.sources}) before the first token (${w.token})`);
    assert.ok(w.lengths.length >= 3, `the answer grew in steps while streaming (${w.lengths.join(',')})`);

    const cards = await page.$$eval('#sources-list [data-testid=source]', (els) => els.map((e) => ({
      title: e.querySelector('h3').textContent, where: e.querySelector('.where').textContent,
      marks: e.querySelectorAll('.quote mark').length, scores: e.querySelector('.scores').textContent })));
    assert.ok(cards.length >= 3);
    assert.ok(cards.every((c) => /p\. \d+/.test(c.where)), 'each card names its page');
    assert.ok(cards.some((c) => c.marks > 0), 'query terms are highlighted');
    assert.ok(cards.every((c) => /bm25/.test(c.scores)), 'per-stage scores are shown');
    const answer = await page.$eval('[data-testid=answer].final', (e) => e.textContent);
    assert.match(answer, /Physical page numbers are cited/);
    assert.doesNotMatch(answer, /\[\d\]/, 'markers are chips, not text');
    const chips = await page.$$eval('[data-testid=citation]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(chips, ['1', '2', '3']);
    const meta = await page.$eval('.turn:last-child .meta', (e) => e.textContent);
    assert.match(meta, /answered by mockllm/);
    await shot(page, 'ask');

    // a citation of a Markdown / HTML source: the page text, passage marked
    await page.click('[data-testid=citation]');
    await page.waitForSelector('#viewer[open] [data-testid=page-text] mark', { timeout: 10000 });
    const open = await page.$eval('#viewer-open', (a) => a.getAttribute('href'));
    assert.match(open, /^\/v1\/documents\/\d+\/file#page=1$/);
    await shot(page, 'viewer-text');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#viewer:not([open])');
    checkGuards(assert, g);
    await g.close();
  });

  test('citation of a PDF: the page image, highlighted', async () => {
    const g = await guardedPage(browser, BASE);
    const { page } = g;
    await page.goto(`${BASE}/`);
    await page.waitForSelector('body[data-ready=true]');
    await page.click('#settings summary');
    await page.select('#set-doc', 'riscv-card.pdf');
    await mockSays('ADDI adds the sign-extended 12-bit immediate to register rs1 [1].');
    await ask(page, 'What does the ADDI instruction do with the immediate?');
    await waitAnswer(page);
    const chip = await page.$('[data-testid=answer].final [data-testid=citation]');
    assert.ok(chip, 'the answer cites a passage');
    const chunk = await chip.evaluate((e) => e.dataset.chunk);
    const c = await api(BASE, `/v1/chunks/${chunk}`);
    assert.equal(c.status, 200);
    assert.match(c.json.doc, /riscv-card\.pdf$/);
    const png = `/v1/documents/${c.json.document_id}/pages/${c.json.page_start}.png`;
    const probe = await fetch(`${BASE}${png}?highlight=${chunk}&scale=1`);
    const pngType = probe.headers.get('content-type');
    await probe.arrayBuffer();

    await chip.click();
    await page.waitForSelector('#viewer[open] #viewer-open[href*="/file"]', { timeout: 10000 });
    const open = await page.$eval('#viewer-open', (a) => a.getAttribute('href'));
    assert.equal(open, `/v1/documents/${c.json.document_id}/file#page=${c.json.page_start}`);
    const orig = await fetch(`${BASE}${open.split('#')[0]}`);
    assert.equal(orig.status, 200);
    assert.equal(orig.headers.get('content-type'), 'application/pdf');
    await orig.arrayBuffer();

    assert.equal(probe.status, 200, `GET ${png}?highlight=${chunk} renders the cited PDF page`);
    assert.equal(pngType, 'image/png');
    await page.waitForSelector('#viewer img[data-testid=page-image]', { timeout: 10000 });
    await page.waitForFunction(() => {
      const img = document.querySelector('#viewer img[data-testid=page-image]');
      return img && img.complete && img.naturalWidth > 0;
    }, { timeout: 15000 });
    const src = await page.$eval('#viewer img[data-testid=page-image]', (i) => i.getAttribute('src'));
    assert.ok(src.includes(`highlight=${chunk}`), 'the image asks for the cited chunk to be highlighted');
    await shot(page, 'viewer');
    // the highlighted render differs from the plain one, in a box, not everywhere
    const diff = await page.evaluate(async (a, b) => {
      const load = (u) => new Promise((res, rej) => {
        const i = new Image();
        i.onload = () => res(i);
        i.onerror = rej;
        i.src = u;
      });
      const [x, y] = await Promise.all([load(a), load(b)]);
      const px = (img) => {
        const c = document.createElement('canvas');
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return ctx.getImageData(0, 0, c.width, c.height);
      };
      const p = px(x);
      const q = px(y);
      if (p.width !== q.width || p.height !== q.height) return { sameSize: false };
      let n = 0;
      let x0 = p.width;
      let y0 = p.height;
      let x1 = -1;
      let y1 = -1;
      for (let i = 0; i < p.data.length; i += 4) {
        if (Math.abs(p.data[i] - q.data[i]) + Math.abs(p.data[i + 1] - q.data[i + 1]) + Math.abs(p.data[i + 2] - q.data[i + 2]) > 24) {
          n++;
          const k = i / 4;
          const xx = k % p.width;
          const yy = Math.floor(k / p.width);
          x0 = Math.min(x0, xx); y0 = Math.min(y0, yy); x1 = Math.max(x1, xx); y1 = Math.max(y1, yy);
        }
      }
      return { sameSize: true, n, box: [x0, y0, x1, y1], w: p.width, h: p.height };
    }, `${png}?highlight=${chunk}&scale=1`, `${png}?scale=1`);
    assert.ok(diff.sameSize, 'both renders have the same size');
    assert.ok(diff.n > 0, 'the highlight changes pixels');
    const area = (diff.box[2] - diff.box[0] + 1) * (diff.box[3] - diff.box[1] + 1);
    assert.ok(area < 0.6 * diff.w * diff.h, `the highlight is a box over the passage, not the page (${diff.box})`);
    checkGuards(assert, g);
    await g.close();
  });

  test('documents: drop several files, per-file progress and failure reason, searchable, delete', async () => {
    const g = await guardedPage(browser, BASE);
    const { page } = g;
    await page.goto(`${BASE}/#documents`);
    await page.waitForSelector('body[data-ready=true]');
    await page.waitForSelector('[data-testid=documents] tbody tr[data-name="docrag-notes.md"]');
    const before = await page.$$eval('[data-testid=documents] tbody tr[data-doc-id]', (r) => r.length);
    assert.ok(before >= 5, 'the samples are listed');
    assert.ok(await page.$('[data-testid=upload] input[type=file][multiple]'), 'the upload area holds a multiple file input');
    assert.ok(await page.$('[data-testid=documents] button[data-action=delete]'), 'admin actions are shown to an admin');

    // a Markdown file written here, through the file input
    const word = `quokkafrob${SUFFIX}`;
    const md = path.join(ARTIFACTS, `upload-${SUFFIX}.md`);
    fs.writeFileSync(md, `# Marsupial notes\n\nThe ${word} protocol moves quaternion widgets between ledgers.\n`);
    const input = await page.$('[data-testid=upload] input[type=file]');
    await input.uploadFile(md);
    const mdName = path.basename(md);
    await page.waitForSelector(`[data-testid=documents] tbody tr[data-name="${mdName}"]`, { timeout: 20000 });
    const row = await page.$eval('.upload-row', (e) => e.textContent);
    assert.match(row, /indexed/);

    // a PDF and a broken PDF dropped together
    const pword = `wombatledger${SUFFIX}`;
    const pdf = makePdf([`The ${pword} counts every entry twice.`, 'A second line of text.']);
    const files = [{ name: `ledger-${SUFFIX}.pdf`, b64: pdf.toString('base64'), type: 'application/pdf' },
      { name: `broken-${SUFFIX}.pdf`, b64: Buffer.from('not a pdf at all').toString('base64'), type: 'application/pdf' }];
    await page.evaluate((fs2) => {
      const dt = new DataTransfer();
      for (const f of fs2) {
        const bytes = Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0));
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      const zone = document.querySelector('[data-testid=upload]');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    }, files);
    await page.waitForFunction((n) => [...document.querySelectorAll('.upload-row')].filter((r) => /ok|failed/.test(r.className)).length >= n, { timeout: 20000 }, 3);
    const rows = await page.$$eval('.upload-row', (els) => els.map((e) => ({ name: e.querySelector('.name').textContent, cls: e.className, status: e.querySelector('.status-text').textContent })));
    const broken = rows.find((r) => r.name.startsWith('broken-'));
    const ledger = rows.find((r) => r.name.startsWith('ledger-'));
    assert.match(broken.cls, /failed/);
    assert.match(broken.status, /failed: .*PDF/i, `the reason is shown (${broken.status})`);
    assert.match(ledger.cls, /ok/, `the PDF was indexed (${ledger.status})`);
    await page.waitForSelector(`[data-testid=documents] tbody tr[data-name="${files[0].name}"]`, { timeout: 20000 });
    await shot(page, 'documents');

    // searchable, from the API and from the Ask view
    for (const [w, name] of [[word, mdName], [pword, files[0].name]]) {
      const s = await api(BASE, '/v1/search', { json: { query: w, k: 3 } });
      assert.equal(s.status, 200);
      assert.ok((s.json.results || []).some((h) => String(h.doc).endsWith(name)), `${name} is found by its word`);
    }
    await page.click('[data-testid=nav-ask]');
    await mockSays(`The protocol moves quaternion widgets [1].`);
    await ask(page, `What does the ${word} protocol move?`);
    await waitAnswer(page);
    const srcs = await page.$$eval('#sources-list [data-testid=source] .where', (els) => els.map((e) => e.textContent));
    assert.ok(srcs.some((s) => s.includes(mdName)), 'the uploaded file is a source');

    // re-index (admin): the original is ingested again, as a new document
    await page.click('[data-testid=nav-documents]');
    const oldId = await page.$eval(`[data-testid=documents] tr[data-name="${mdName}"]`, (r) => r.dataset.docId);
    await page.click(`[data-testid=documents] tr[data-name="${mdName}"] button[data-action=reindex]`);
    await page.waitForFunction((n, id) => {
      const r = document.querySelector(`[data-testid=documents] tr[data-name="${n}"]`);
      return r && r.dataset.docId !== id;
    }, { timeout: 20000 }, mdName, oldId);
    const again = await api(BASE, '/v1/search', { json: { query: word, k: 3 } });
    assert.ok(again.json.results.some((h) => String(h.doc).endsWith(mdName)), 're-indexed: still found');

    // delete both (admin): gone from the list and from search
    page.on('dialog', (d) => d.accept());
    for (const name of [mdName, files[0].name]) {
      await page.waitForSelector(`[data-testid=documents] tr[data-name="${name}"] button[data-action=delete]`);
      await page.click(`[data-testid=documents] tr[data-name="${name}"] button[data-action=delete]`);
      await page.waitForSelector(`[data-testid=documents] tr[data-name="${name}"]`, { hidden: true, timeout: 10000 });
    }
    const s = await api(BASE, '/v1/search', { json: { query: word, k: 3 } });
    assert.ok(!(s.json.results || []).some((h) => String(h.doc).endsWith(mdName)), 'deleted: no longer found');
    const after2 = await page.$$eval('[data-testid=documents] tbody tr[data-doc-id]', (r) => r.length);
    assert.equal(after2, before);
    checkGuards(assert, g);
    await g.close();
  });

  test('Esc stops a stream, and the server cancels the answer', async () => {
    const g = await guardedPage(browser, BASE);
    const { page } = g;
    await page.goto(`${BASE}/`);
    await page.waitForSelector('body[data-ready=true]');
    const metric = async () => {
      const m = await api(BASE, '/metrics');
      const line = m.text.split('\n').find((l) => l.startsWith('docrag_events_total{') && l.includes('answer_cancelled'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const cancelledBefore = await metric();
    await mockSays(`${'This answer is long on purpose and streams one word at a time '.repeat(12)}[1].`);
    await watchNextTurn(page);
    await ask(page, 'How are page numbers used in PDF citations?');
    await page.waitForFunction(() => window.__watch.token !== null, { timeout: 10000 });
    await page.keyboard.press('Escape');
    await page.waitForSelector('.turn:last-child .banner.stopped', { timeout: 5000 });
    const banner = await page.$eval('.turn:last-child .banner.stopped', (e) => e.textContent);
    assert.match(banner, /Stopped/);
    const len1 = await page.$eval('.turn:last-child [data-testid=answer]', (e) => e.textContent.length);
    await sleep(500);
    const len2 = await page.$eval('.turn:last-child [data-testid=answer]', (e) => e.textContent.length);
    assert.equal(len2, len1, 'no text arrives after Esc');
    assert.ok(!(await page.$('.turn:last-child [data-testid=answer].final')), 'the answer is not final');
    let cancelled = await metric();
    for (let i = 0; i < 40 && cancelled <= cancelledBefore; i++) {
      await sleep(100);
      cancelled = await metric();
    }
    assert.ok(cancelled > cancelledBefore, 'the server counted a cancelled answer');
    checkGuards(assert, g);
    await g.close();
  });

  test('analytics: every chart is drawn', async () => {
    const g = await guardedPage(browser, BASE);
    const { page } = g;
    await page.goto(`${BASE}/`);
    await page.waitForSelector('body[data-ready=true]');
    await page.click('[data-testid=nav-analytics]');
    await page.waitForSelector('[data-testid=analytics][data-rendered]', { timeout: 15000 });
    const drawn = await page.$$eval('[data-testid=analytics] canvas', (cs) => cs.map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return { id: c.id, w: c.width, h: c.height, painted: n };
    }));
    assert.equal(drawn.length, 7);
    for (const c of drawn) assert.ok(c.w > 0 && c.painted > 0, `${c.id} is not blank`);
    const tiles = await page.$eval('#tiles', (e) => e.textContent);
    assert.match(tiles, /requests/);
    const table = await page.$eval('#backends-table tbody', (e) => e.textContent);
    assert.match(table, /mockllm/);
    await shot(page, 'analytics', { fullPage: true });
    checkGuards(assert, g);
    await g.close();
  });

  test('history: kept across a reload, exported as Markdown and JSON', async () => {
    const dir = fs.mkdtempSync(path.join(ARTIFACTS, 'downloads-'));
    const g = await guardedPage(browser, BASE, { downloads: dir });
    const { page } = g;
    await page.goto(`${BASE}/`);
    await page.waitForSelector('body[data-ready=true]');
    await page.click('#new-chat');
    await mockSays('Physical page numbers are cited [1].');
    await ask(page, 'Which page numbers do PDF citations use?');
    await waitAnswer(page);
    const first = await page.$eval('[data-testid=answer]', (e) => ({ final: e.classList.contains('final'), text: e.textContent }));
    assert.ok(first.final, `answered (${first.text})`);
    assert.match(first.text, /Physical page numbers/);
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    const titles = await page.$$eval('#history-list li', (els) => els.map((e) => e.textContent));
    assert.ok(titles.some((t) => t.includes('Which page numbers do PDF citations use?')), 'the chat is in the history');
    assert.match(await page.$eval('[data-testid=answer]', (e) => e.textContent), /Physical page numbers/);
    await page.click('#export-json');
    await page.click('#export-md');
    let names = [];
    for (let i = 0; i < 150 && names.filter((n) => /\.(json|md)$/.test(n)).length < 2; i++) {
      await sleep(100);
      names = fs.readdirSync(dir);
    }
    const json = names.find((n) => n.endsWith('.json'));
    const md = names.find((n) => n.endsWith('.md'));
    assert.ok(json && md, `both exports were downloaded (${names})`);
    const o = JSON.parse(fs.readFileSync(path.join(dir, json), 'utf8'));
    assert.equal(o.format, 'docrag-chat');
    assert.equal(o.chat.turns[0].q, 'Which page numbers do PDF citations use?');
    assert.ok(o.chat.turns[0].citations.length >= 1);
    const text = fs.readFileSync(path.join(dir, md), 'utf8');
    assert.match(text, /## Which page numbers do PDF citations use\?/);
    assert.match(text, /\[1\] .+ — .+p\. \d+/);
    checkGuards(assert, g);
    await g.close();
  });

  test('a phone: no sideways scrolling, every control labelled', async () => {
    const g = await guardedPage(browser, BASE, { viewport: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } });
    const { page } = g;
    await page.goto(`${BASE}/`);
    await page.waitForSelector('body[data-ready=true]');
    for (const view of ['ask', 'documents', 'analytics']) {
      await page.evaluate((v) => { location.hash = `#${v}`; }, view);
      await sleep(view === 'analytics' ? 800 : 200);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 390, `${view}: page is ${w}px wide on a 390px screen`);
      if (view === 'ask') await shot(page, 'phone');
    }
    const unlabelled = await page.evaluate(() => {
      const bad = [];
      for (const el of document.querySelectorAll('input, select, textarea')) {
        if (el.type === 'hidden') continue;
        if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) bad.push(el.id || el.outerHTML.slice(0, 60));
      }
      for (const b of document.querySelectorAll('button, a[href]')) {
        if (!b.textContent.trim() && !b.getAttribute('aria-label') && !b.querySelector('img[alt]:not([alt=""])')) bad.push(b.outerHTML.slice(0, 60));
      }
      for (const i of document.querySelectorAll('img')) if (!i.hasAttribute('alt')) bad.push(i.outerHTML.slice(0, 60));
      return bad;
    });
    assert.deepEqual(unlabelled, [], 'every control has an accessible name');
    checkGuards(assert, g);
    await g.close();
  });
});
