// ask.js - the Ask view: question box, streamed answer, sources panel,
// settings and chat history.
//
// The stream (POST /v1/ask, "stream": true; docs/server.md) comes in this
// order: `sources` (rendered at once, before any token), `delta`s (the
// text so far, [n] markers as chips pointing at sources[n-1]), maybe a
// `reset` (a back-end failed midway: the text so far is void), then
// `done` (the final answer, citations renumbered 1..k, each with its
// chunk_id: the turn is rendered again from it) or `error`. Esc or Stop
// aborts the fetch; the server then cancels the upstream LLM request.
//
// Timings for the browser tests and docs/ui.md: performance measures from
// the key press (or click) that asked to the response's headers
// (`docrag:enter-to-response`), the `sources` event read
// (`docrag:enter-to-sources`), its cards in the DOM
// (`docrag:enter-to-sources-shown`) and the first token
// (`docrag:enter-to-first-token`).

import { request, sse, ApiError } from './api.js';
import { h, $, clear, baseName, pagesLabel, queryTerms, highlightTerms, download, toast } from './dom.js';
import * as history from './history.js';
import { openViewer } from './viewer.js';

const SETTINGS = 'docrag.settings';
const CITE_RE = /\[(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\]/g;

let chat = null;          // the chat shown
let activeTurn = null;    // whose sources the panel shows
let running = null;       // {controller, turn}
let caps = null;          // /ready's collection info
let collections = [];

// ---- settings --------------------------------------------------------------

function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS) || '{}') || {};
  } catch {
    return {};
  }
}

function saveSettings() {
  try {
    localStorage.setItem(SETTINGS, JSON.stringify(readSettings()));
  } catch { /* not kept */ }
  showSettingsSummary();
}

function readSettings() {
  const k = parseInt($('#set-k').value, 10);
  return {
    mode: $('#set-mode').value || '',
    k: Number.isFinite(k) && k >= 1 && k <= 50 ? k : null,
    rerank: $('#set-rerank').checked,
    doc: $('#set-doc').value || '',
    collection: currentCollection(),
  };
}

function showSettingsSummary() {
  const s = readSettings();
  const parts = [s.mode || (caps && caps.search_mode) || '', s.k ? `k=${s.k}` : '',
    !s.rerank && caps && caps.rerank && caps.rerank.available ? 'no rerank' : '',
    s.doc ? `only ${s.doc}` : '', s.collection && collections.length > 1 ? s.collection : ''];
  $('#settings-summary').textContent = parts.filter(Boolean).join(' · ');
}

// /ready's view of the collection: which modes and stages exist here.
export function setCapabilities(ready) {
  collections = Object.keys((ready && ready.collections) || {});
  const sel = $('#set-collection');
  const chosen = loadSettings().collection || sel.value;
  clear(sel);
  for (const name of collections) sel.append(h('option', { value: name, text: name }));
  if (collections.includes(chosen)) sel.value = chosen;
  $('#set-collection-label').hidden = collections.length < 2;
  caps = (ready && ready.collections && ready.collections[sel.value || collections[0]]) || null;
  const dense = !caps || !caps.dense || caps.dense.available;
  for (const opt of $('#set-mode').options) {
    if (opt.value === 'dense' || opt.value === 'hybrid') {
      opt.disabled = !dense;
      opt.title = dense ? '' : (caps.dense.reason || 'no embeddings in this index');
    }
  }
  if (!dense && ['dense', 'hybrid'].includes($('#set-mode').value)) $('#set-mode').value = '';
  const rr = $('#set-rerank');
  rr.disabled = !!caps && !!caps.rerank && !caps.rerank.available;
  rr.parentElement.title = rr.disabled ? 'no reranker configured on the server' : '';
  $('#set-mode').options[0].text = `server default${caps && caps.search_mode ? ` (${caps.search_mode})` : ''}`;
  showSettingsSummary();
}

// The collection chosen, or '' when the server has only one (then no
// request names it, and links stay plain).
export function currentCollection() {
  return collections.length > 1 ? $('#set-collection').value || '' : '';
}

// The document filter's choices (from GET /v1/documents).
export function setDocuments(docs) {
  const sel = $('#set-doc');
  const keep = sel.value || loadSettings().doc || '';
  clear(sel);
  sel.append(h('option', { value: '', text: 'all documents' }));
  const names = [...new Set(docs.filter((d) => d.status !== 'failed').map((d) => d.name))].sort();
  for (const n of names) sel.append(h('option', { value: n, text: n }));
  if (keep && !names.includes(keep)) sel.append(h('option', { value: keep, text: `${keep} (gone)` }));
  sel.value = keep;
  showSettingsSummary();
}

export function askOnly(name) {
  $('#set-doc').value = name;
  saveSettings();
  location.hash = '#ask';
  $('#question').focus();
}

// ---- rendering --------------------------------------------------------------

function sourceFor(turn, n, final) {
  if (final && turn.citations) {
    const c = turn.citations[n - 1];
    if (!c) return null;
    const i = (turn.sources || []).findIndex((s) => String(s.chunk_id) === String(c.chunk_id));
    return i >= 0 ? { source: turn.sources[i], index: i, cite: c } : { source: c, index: -1, cite: c };
  }
  const s = (turn.sources || [])[n - 1];
  return s ? { source: s, index: n - 1, cite: null } : null;
}

function expandNums(group) {
  const out = [];
  for (const part of group.split(/\s*[,;]\s*/)) {
    const m = part.match(/^(\d+)\s*[–-]\s*(\d+)$/);
    if (m) {
      const a = +m[1];
      const b = +m[2];
      for (let i = a; i <= b && i - a < 20; i++) out.push(i);
    } else if (part) {
      out.push(+part);
    }
  }
  return out;
}

// The answer text with [n] markers as chips.
function answerNodes(turn, text, final) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(CITE_RE)) {
    const nums = expandNums(m[1]);
    const refs = nums.map((n) => [n, sourceFor(turn, n, final)]);
    if (!refs.some(([, r]) => r)) continue;   // not a citation: keep the text
    if (m.index > last) out.push(text.slice(last, m.index));
    for (const [n, r] of refs) {
      if (!r) continue;
      const s = r.source;
      const label = `Source ${n}: ${s.title || baseName(s.doc)}, ${pagesLabel(s.page_start, s.page_end)}`;
      out.push(h('button.cite', { type: 'button', 'data-testid': 'citation', 'aria-label': label,
        title: label, dataset: { n: String(n), chunk: String(s.chunk_id) },
        onclick: () => citationClicked(turn, r) }, String(n)));
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function citationClicked(turn, ref) {
  if (activeTurn !== turn) showSources(turn);
  const card = ref.index >= 0 ? $(`#sources-list [data-index="${ref.index}"]`) : null;
  if (card) {
    card.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    card.classList.add('flash');
    setTimeout(() => card.classList.remove('flash'), 1200);
  }
  openViewer(ref.source, { question: turn.q, collection: turn.settings && turn.settings.collection });
}

function banner(kind, text) {
  return h('div.banner', { class: kind, role: kind.startsWith('error') ? 'alert' : 'note' }, text);
}

function renderTurn(turn) {
  const final = turn.done;
  const text = final ? (turn.answer || '') : (turn.text || '');
  const banners = [];
  if (turn.error) banners.push(banner('error', `The answer failed: ${turn.error}`));
  if (turn.stopped) banners.push(banner('warn stopped', 'Stopped. The answer below is incomplete.'));
  for (const r of turn.resets || []) {
    banners.push(banner('info', `${r.backend} failed mid-answer (${r.reason}); the next back-end answers.`));
  }
  if (final && turn.refused) {
    banners.push(banner('refused', 'No answer in the documents: nothing retrieved covers this question. ' +
      'Try other words, another mode, or ask all documents.'));
  } else if (final && typeof turn.confidence === 'number' && turn.confidence < 0.5) {
    banners.push(banner('warn', `Low confidence (${turn.confidence.toFixed(2)}): check the cited passages.`));
  } else if (!final && turn.relevant === false) {
    banners.push(banner('warn', 'The retrieved passages look unrelated to the question.'));
  }
  const meta = [];
  if (turn.backend) {
    meta.push(h('span.badge', { class: turn.backend === 'extractive' ? 'extractive' : '' },
      `answered by ${turn.backend}${turn.model ? ` (${turn.model})` : ''}`));
  }
  if (turn.mode) meta.push(h('span', `mode ${turn.mode}`));
  if (final && typeof turn.confidence === 'number') meta.push(h('span', `confidence ${turn.confidence.toFixed(2)}`));
  if (final && turn.timings && turn.timings.total) meta.push(h('span', `${Math.round(turn.timings.total)} ms`));
  if (final && turn.usage && turn.usage.cost_usd) meta.push(h('span', `$${turn.usage.cost_usd.toFixed(4)}`));
  const notices = [turn.search_notice, turn.notice].filter(Boolean)
    .map((n) => h('p.notice', { role: 'note' }, n));
  const dropped = final && turn.dropped_citations && turn.dropped_citations.length
    ? h('p.notice', `The model cited passages it was not given (${turn.dropped_citations.join(', ')}); those markers were removed.`)
    : null;
  const answer = h('div.answer', { 'data-testid': 'answer', class: turn.done ? 'final' : 'streaming',
    'aria-busy': turn.done ? 'false' : 'true', dataset: { turn: String(turn.at) } }, answerNodes(turn, text, final));
  if (!text && !turn.done) answer.append(h('span.typing', { 'aria-label': 'waiting for the answer' }, '…'));
  const el = h('article.turn', { class: turn === activeTurn ? 'active' : '' },
    h('div.q', h('span.sr-only', 'Question: '), turn.q),
    h('div.a', { onclick: (e) => { if (!e.target.closest('button')) showSources(turn); } },
      banners, answer, meta.length ? h('div.meta', meta) : null, notices, dropped));
  if (turn.el) turn.el.replaceWith(el);
  turn.el = el;
  return el;
}

// A cited passage's sentences (from the final answer) found in a source.
function passagesIn(text, answer) {
  const ranges = [];
  const plain = String(answer || '').replace(CITE_RE, ' ');
  for (const sent of plain.split(/(?<=[.!?])\s+/)) {
    const words = sent.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) || [];
    if (words.filter((w) => /[\p{L}\p{N}]/u.test(w)).length < 4) continue;
    const re = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s*'), 'u');
    const m = text.match(re);
    if (m) ranges.push([m.index, m.index + m[0].length]);
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

function quoteNodes(text, terms, passages) {
  const out = [];
  let last = 0;
  for (const [a, b] of passages) {
    if (a < last) continue;
    if (a > last) out.push(...highlightTerms(text.slice(last, a), terms));
    out.push(h('mark.passage', { title: 'quoted in the answer' }, highlightTerms(text.slice(a, b), terms)));
    last = b;
  }
  out.push(...highlightTerms(text.slice(last), terms));
  return out;
}

function stagesLine(s) {
  const parts = [];
  if (typeof s.score === 'number') parts.push(h('span', { title: 'the score the results are ordered by' }, `score ${s.score.toFixed(3)}`));
  for (const [name, v] of Object.entries(s.stages || {})) {
    const bits = [name];
    if (v && typeof v.score === 'number') bits.push(v.score.toFixed(3));
    if (v && v.rank) bits.push(`#${v.rank}`);
    parts.push(h('span.stage', bits.join(' ')));
  }
  return parts;
}

function sourceCard(turn, s, i, citedAs) {
  const terms = queryTerms(turn.q);
  const text = s.text || '';
  const passages = turn.done && citedAs.length ? passagesIn(text, turn.answer) : [];
  const more = text.length > 420;
  const quote = h('blockquote.quote', { class: more ? 'clamped' : '' }, quoteNodes(text, terms, passages));
  const toggle = more ? h('button.link.small', { type: 'button', 'aria-expanded': 'false',
    onclick: (e) => {
      const open = quote.classList.toggle('clamped');
      e.target.textContent = open ? 'Show all' : 'Show less';
      e.target.setAttribute('aria-expanded', String(!open));
    } }, 'Show all') : null;
  // the version the document states, unless its title already says it
  const version = s.version && !(s.title || '').includes(s.version) ? `version ${s.version}` : '';
  const where = [baseName(s.doc), version, pagesLabel(s.page_start, s.page_end), s.section].filter(Boolean);
  return h('article.source', { 'data-testid': 'source', tabindex: '-1',
    class: citedAs.length ? 'cited' : '', dataset: { index: String(i), chunk: String(s.chunk_id), turn: String(turn.at) } },
  h('header',
    h('span.num', { title: 'the number the answer uses while it streams' }, String(s.n || i + 1)),
    h('h3', s.title || baseName(s.doc)),
    citedAs.length ? h('span.badge.cited', `cited as [${citedAs.join('][')}]`) : null),
  h('p.where', where.join(' · ')),
  quote, toggle,
  h('p.scores', stagesLine(s)),
  h('div.actions',
    h('button.small', { type: 'button', onclick: () => openViewer(s, { question: turn.q, collection: turn.settings && turn.settings.collection }) },
      `Show ${pagesLabel(s.page_start, s.page_end) || 'page'}`)));
}

function showSources(turn) {
  activeTurn = turn;
  for (const el of document.querySelectorAll('.turn.active')) el.classList.remove('active');
  if (turn.el) turn.el.classList.add('active');
  const list = clear($('#sources-list'));
  const sources = turn.sources || [];
  $('#sources-count').textContent = sources.length ? `(${sources.length})` : '';
  if (!turn.sources) {
    list.append(h('p.muted', turn.error ? 'No sources.' : 'Searching…'));
    return;
  }
  if (!sources.length) {
    list.append(h('p.muted', 'Nothing was retrieved.'));
    return;
  }
  const cited = new Map();
  if (turn.done) {
    for (const c of turn.citations || []) {
      const k = String(c.chunk_id);
      cited.set(k, [...(cited.get(k) || []), c.n]);
    }
  }
  list.append(...sources.map((s, i) => sourceCard(turn, s, i, cited.get(String(s.chunk_id)) || [])));
}

// ---- the conversation -------------------------------------------------------

function renderChat() {
  const conv = $('#conversation');
  for (const el of conv.querySelectorAll('.turn')) el.remove();
  $('#empty-chat').hidden = !!(chat && chat.turns.length);
  if (!chat) return;
  for (const t of chat.turns) {
    t.el = null;
    conv.append(renderTurn(t));
  }
  const last = chat.turns[chat.turns.length - 1];
  if (last) showSources(last);
  else {
    clear($('#sources-list')).append(h('p.muted', 'The passages an answer draws on appear here first.'));
    $('#sources-count').textContent = '';
  }
  renderHistory();
}

function renderHistory() {
  const ol = clear($('#history-list'));
  for (const c of history.allChats()) {
    if (!c.turns.length) continue;
    ol.append(h('li', { class: chat && c.id === chat.id ? 'current' : '' },
      h('button.link', { type: 'button', title: c.title, 'aria-current': chat && c.id === chat.id ? 'true' : null,
        onclick: () => { stop(); chat = c; renderChat(); } }, c.title || 'chat'),
      h('button.ghost.small.icon', { type: 'button', 'aria-label': `Delete chat “${c.title}”`,
        onclick: () => {
          history.deleteChat(c.id);
          if (chat && chat.id === c.id) chat = null;
          renderChat();
          renderHistory();
        } }, '×')));
  }
}

function persist() {
  if (!chat) return;
  history.save();
  renderHistory();
}

let pendingRender = 0;
function scheduleRender(turn) {
  if (pendingRender) return;
  pendingRender = requestAnimationFrame(() => {
    pendingRender = 0;
    renderTurn(turn);
  });
}

function flushRender(turn) {
  if (pendingRender) cancelAnimationFrame(pendingRender);
  pendingRender = 0;
  renderTurn(turn);
}

function scrollToEnd() {
  const conv = $('#conversation');
  conv.scrollTop = conv.scrollHeight;
}

export function stop() {
  if (running) running.controller.abort();
}

async function ask(q) {
  stop();
  if (!chat) chat = history.newChat();
  if (!chat.title) chat.title = q.length > 80 ? `${q.slice(0, 77)}…` : q;
  const settings = readSettings();
  const turn = { q, at: Date.now(), settings, text: '', sources: null, done: false, resets: [] };
  chat.turns.push(turn);
  $('#empty-chat').hidden = true;
  $('#conversation').append(renderTurn(turn));
  showSources(turn);
  scrollToEnd();

  const body = { question: q, stream: true };
  if (settings.mode) body.mode = settings.mode;
  if (settings.k) body.k = settings.k;
  if (!settings.rerank && !$('#set-rerank').disabled) body.rerank = false;
  if (settings.doc) body.doc = settings.doc;
  if (settings.collection && collections.length > 1) body.collection = settings.collection;

  const controller = new AbortController();
  running = { controller, turn };
  $('#stop-button').hidden = false;
  let firstToken = true;
  try {
    const res = await request('/v1/ask', { json: body, signal: controller.signal });
    performance.measure('docrag:enter-to-response', 'docrag:ask');
    for await (const ev of sse(res)) {
      const d = ev.data || {};
      if (ev.event === 'sources') {
        performance.measure('docrag:enter-to-sources', 'docrag:ask');
        turn.sources = d.sources || [];
        turn.mode = d.mode;
        turn.relevant = d.relevant;
        showSources(turn);
        flushRender(turn);
        performance.measure('docrag:enter-to-sources-shown', 'docrag:ask');
      } else if (ev.event === 'delta') {
        if (firstToken) {
          firstToken = false;
          performance.measure('docrag:enter-to-first-token', 'docrag:ask');
        }
        turn.text += d.text || '';
        scheduleRender(turn);
      } else if (ev.event === 'reset') {
        turn.text = '';
        turn.resets.push({ backend: d.backend || 'a back-end', reason: d.reason || 'failed' });
        scheduleRender(turn);
      } else if (ev.event === 'done') {
        Object.assign(turn, {
          done: true, answer: d.answer || '', citations: d.citations || [], refused: !!d.refused,
          confidence: d.confidence, backend: d.backend, model: d.model, notice: d.notice,
          search_notice: d.search_notice, dropped_citations: d.dropped_citations,
          mode: d.mode || turn.mode, usage: d.usage, timings: d.timings_ms,
        });
      } else if (ev.event === 'error') {
        turn.error = (d.error && d.error.message) || 'the server reported an error';
      }
    }
    if (!turn.done && !turn.error) turn.error = 'the stream ended before the answer was complete';
  } catch (e) {
    if (e.name === 'AbortError') turn.stopped = true;
    else turn.error = e instanceof ApiError ? e.message : `cannot reach the server (${e.message})`;
  } finally {
    if (running && running.turn === turn) running = null;
    $('#stop-button').hidden = !running;
  }
  if (!turn.done) turn.answer = turn.text;
  flushRender(turn);
  if (activeTurn === turn) showSources(turn);
  scrollToEnd();
  persist();
}

// ---- wiring -----------------------------------------------------------------

export function initAsk() {
  const q = $('#question');
  const s = loadSettings();
  if (s.mode) $('#set-mode').value = s.mode;
  if (s.k) $('#set-k').value = s.k;
  if (s.rerank === false) $('#set-rerank').checked = false;
  for (const id of ['#set-mode', '#set-k', '#set-rerank', '#set-doc', '#set-collection']) {
    $(id).addEventListener('change', saveSettings);
  }
  $('#set-collection').addEventListener('change', () => document.dispatchEvent(new CustomEvent('docrag:collection')));

  const submit = () => {
    const text = q.value.trim();
    if (!text) return;
    performance.clearMarks('docrag:ask');
    performance.mark('docrag:ask');
    q.value = '';
    autosize();
    ask(text);
  };
  const autosize = () => {
    q.style.height = 'auto';
    q.style.height = `${Math.min(q.scrollHeight, 200)}px`;
  };
  q.addEventListener('input', autosize);
  q.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  $('#ask-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  $('#stop-button').addEventListener('click', stop);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && running && !document.querySelector('dialog[open]')) {
      e.preventDefault();
      stop();
    }
  });
  $('#new-chat').addEventListener('click', () => {
    stop();
    chat = null;
    renderChat();
    q.focus();
  });
  $('#export-md').addEventListener('click', () => {
    if (!chat || !chat.turns.length) return toast('Nothing to export yet: ask a question first.');
    download(`docrag-chat-${new Date().toISOString().slice(0, 10)}.md`, 'text/markdown', history.toMarkdown(chat));
  });
  $('#export-json').addEventListener('click', () => {
    if (!chat || !chat.turns.length) return toast('Nothing to export yet: ask a question first.');
    download(`docrag-chat-${new Date().toISOString().slice(0, 10)}.json`, 'application/json', history.toJSON(chat));
  });
  $('#clear-history').addEventListener('click', () => {
    if (!confirm('Delete every chat kept in this browser?')) return;
    stop();
    history.clearChats();
    chat = null;
    renderChat();
  });
  if (matchMedia('(max-width: 900px)').matches) $('#history-box').open = false;
  const chats = history.allChats();
  chat = chats.length ? chats[0] : null;
  renderChat();
}
