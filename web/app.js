// app.js - the web UI's entry point: views, readiness, the key button.
//
// Three views, one per hash (#ask, #documents, #analytics) so the back
// button and links work; the page is static and every piece of data comes
// from docrag's own API (docs/server.md) through api.js. Modules:
//   api.js        fetch with the key, the key prompt, SSE, 64-bit ids
//   ask.js        question, streamed answer, sources, settings, history
//   viewer.js     the cited page (image or text with the passage marked)
//   documents.js  table, uploads with job progress, delete, re-index
//   analytics.js  Chart.js charts of GET /v1/analytics
//   history.js    chats in localStorage, export as Markdown / JSON
//   dom.js        element builder (no innerHTML anywhere), formatting

import { getJSON, promptForKey, onKeyChange, getKey } from './api.js';
import { $, $$ } from './dom.js';
import { initAsk, setCapabilities } from './ask.js';
import { initViewer } from './viewer.js';
import { initDocuments, loadDocuments, checkAdmin } from './documents.js';
import { showAnalytics } from './analytics.js';

const VIEWS = ['ask', 'documents', 'analytics'];
let ready = null;

function route() {
  const want = (location.hash || '#ask').slice(1);
  const view = VIEWS.includes(want) ? want : 'ask';
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== view;
  for (const a of $$('nav [data-view]')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `docrag · ${view[0].toUpperCase()}${view.slice(1)}`;
  showAnalytics(view === 'analytics' && ready);
  if (view === 'ask') $('#question').focus({ preventScroll: true });
}

function statusText(r) {
  const cols = Object.entries(r.collections || {});
  if (!cols.length) return 'ready';
  const [name, c] = cols[0];
  const llm = c.llm && c.llm.chain ? c.llm.chain.join(' → ') : '';
  return [cols.length > 1 ? `${cols.length} collections` : name, `${c.documents} documents`,
    `${c.chunks} chunks`, c.search_mode, llm && `answers: ${llm}`].filter(Boolean).join(' · ');
}

async function waitReady() {
  const status = $('#status');
  for (let i = 0; ; i++) {
    try {
      const res = await fetch('/ready', { cache: 'no-store' });
      if (res.ok) {
        ready = await res.json();
        status.textContent = statusText(ready);
        status.classList.remove('warn');
        return ready;
      }
      status.textContent = 'loading the index and models…';
    } catch {
      status.textContent = 'cannot reach the server; retrying…';
    }
    status.classList.add('warn');
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 + i * 250)));
  }
}

async function refreshAll() {
  await loadDocuments();
  await checkAdmin();
}

function keyButton() {
  const b = $('#key-button');
  b.textContent = getKey() ? 'Key ✓' : 'Key';
  b.title = getKey() ? 'An API key is stored in this browser' : 'Enter an API key';
}

async function main() {
  initAsk();
  initViewer();
  initDocuments();
  window.addEventListener('hashchange', route);
  route();
  keyButton();
  onKeyChange(keyButton);
  $('#key-button').addEventListener('click', async () => {
    await promptForKey(getKey() ? 'Replace or forget the stored key.' : 'Enter an API key (a read key, or an admin key to manage documents).');
    keyButton();
    refreshAll();
  });
  document.addEventListener('docrag:collection', async () => {
    setCapabilities(ready);
    refreshAll();
  });
  // the header's counts follow uploads and deletes
  document.addEventListener('docrag:documents', async () => {
    try {
      const res = await fetch('/ready', { cache: 'no-store' });
      if (res.ok) $('#status').textContent = statusText((ready = await res.json()));
    } catch { /* the next change will tell */ }
  });
  await waitReady();
  setCapabilities(ready);
  route();
  await refreshAll();
  document.body.dataset.ready = 'true';
}

main();
