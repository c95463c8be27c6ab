// key.test.mjs - the UI against a server that needs a key, and the time
// from Enter to the `sources` event on an index without an LLM.
//
//   DOCRAG_UI_KEY_URL  a server started with DOCRAG_API_KEY (read only:
//                      no admin key), extractive answers
//   DOCRAG_UI_KEY      that key

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, guardedPage, checkGuards, shot, sleep, median, api, need } from '../lib.mjs';

const BASE = need('DOCRAG_UI_KEY_URL');
const KEY = need('DOCRAG_UI_KEY');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

// The browser logs every refused fetch; here a 401 is what opens the key
// prompt, and a 403 on /v1/config is how the UI learns the key is not an
// admin's. Nothing else may be logged.
const allow = (msg, url) => (/status of 401/.test(msg) && /\/v1\/(documents|config)/.test(url)) ||
  (/status of 403/.test(msg) && /\/v1\/config/.test(url));

test('the key prompt: asked on 401, a wrong key asked again, the right one kept and sent as X-API-Key', async () => {
  assert.equal((await api(BASE, '/v1/documents')).status, 401, 'the server needs a key');
  const g = await guardedPage(browser, BASE, { allow });
  const { page } = g;
  await page.goto(`${BASE}/`);
  await page.waitForSelector('[data-testid=key-prompt][open]', { timeout: 15000 });
  await shot(page, 'key-prompt');
  await page.type('[data-testid=key-input]', 'not-the-key');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /not valid/.test(document.querySelector('#key-message').textContent), { timeout: 10000 });
  assert.ok(await page.$('[data-testid=key-prompt][open]'), 'asked again after a wrong key');
  await page.type('[data-testid=key-input]', KEY);
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid=key-prompt]:not([open])');
  await page.waitForSelector('body[data-ready=true]', { timeout: 15000 });
  assert.equal(await page.evaluate(() => localStorage.getItem('docrag.key')), KEY, 'kept in localStorage');
  assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie');
  const sent = g.requests.filter((r) => r.url.includes('/v1/documents'));
  assert.ok(sent.some((r) => r.headers['x-api-key'] === KEY), 'the key goes in X-API-Key');

  await page.click('[data-testid=nav-documents]');
  await page.waitForSelector('[data-testid=documents] tbody tr[data-doc-id]');
  assert.equal(await page.$('[data-testid=documents] button[data-action=delete]'), null, 'no admin action with a read key');
  assert.ok(await page.$eval('[data-testid=upload] input[type=file]', (i) => i.disabled), 'uploads are locked');
  assert.ok(await page.$eval('#upload-locked', (e) => !e.hidden), 'and say they need an admin key');

  // after a reload the stored key is used: no prompt
  await page.reload();
  await page.waitForSelector('body[data-ready=true]', { timeout: 15000 });
  assert.equal(await page.$('[data-testid=key-prompt][open]'), null, 'no prompt with a stored key');
  checkGuards(assert, g);
  await g.close();
});

test('Enter to the sources event, p50 over 10 questions, without an LLM (printed)', async () => {
  const g = await guardedPage(browser, BASE, { allow });
  const { page } = g;
  await page.goto(`${BASE}/`);
  await page.evaluate((k) => localStorage.setItem('docrag.key', k), KEY);
  await page.reload();
  await page.waitForSelector('body[data-ready=true]', { timeout: 15000 });
  const questions = ['What does the ADDI instruction do?', 'How are page numbers cited?',
    'What is the RVWMO memory model?', 'Which registers hold function arguments?', 'What does docrag index?',
    'How does a load reserved instruction work?', 'What are the guiding principles?', 'What is a fence instruction?',
    'How are chunks that span pages cited?', 'What does the JAL instruction store?'];
  const toSources = [];
  const toToken = [];
  const toResponse = [];
  const toShown = [];
  for (const q of questions) {
    const n = await page.$$eval('[data-testid=answer]', (a) => a.length);
    await page.click('[data-testid=question]');
    await page.type('[data-testid=question]', q);
    await page.keyboard.press('Enter');
    await page.waitForFunction((k) => {
      const a = document.querySelectorAll('[data-testid=answer]');
      return a.length > k && a[a.length - 1].classList.contains('final');
    }, { timeout: 20000 }, n);
    // the app's own measures, from the mark set by the key press
    const m = await page.evaluate(() => {
      const last = (name) => {
        const e = performance.getEntriesByName(name).pop();
        return e ? { start: e.startTime, ms: e.duration } : null;
      };
      return { r: last('docrag:enter-to-response'), s: last('docrag:enter-to-sources'),
        v: last('docrag:enter-to-sources-shown'), t: last('docrag:enter-to-first-token') };
    });
    assert.ok(m.s && m.t, 'both measures were taken');
    assert.equal(m.s.start, m.t.start, 'from the same key press');
    toSources.push(m.s.ms);
    toToken.push(m.t.ms);
    toResponse.push(m.r.ms);
    toShown.push(m.v.ms);
    assert.ok(m.s.ms <= m.t.ms, 'sources before the first token');
    await sleep(50);
  }
  assert.equal(toSources.length, 10);
  console.log(`FIGURE Enter to sources event (ms), ${toSources.length} questions, no LLM: p50 ${median(toSources).toFixed(1)}, ` +
    `min ${Math.min(...toSources).toFixed(1)}, max ${Math.max(...toSources).toFixed(1)}; ` +
    `Enter to response headers p50 ${median(toResponse).toFixed(1)}, to the source cards shown p50 ${median(toShown).toFixed(1)}, ` +
    `to the first token p50 ${median(toToken).toFixed(1)}`);
  await shot(page, 'ask-extractive');
  checkGuards(assert, g);
  await g.close();
});
