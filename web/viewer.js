// viewer.js - the cited page viewer (a modal dialog).
//
// PDFs: the page as an image, rendered by the server with the cited
// chunk's sentences boxed:
//   GET /v1/documents/{id}/pages/{n}.png?highlight=CHUNK_ID&scale=S
// Other documents (Markdown, HTML, text), or a PDF whose image cannot be
// had: the page's text with the passage marked:
//   GET /v1/documents/{id}/pages/{n}?highlight=CHUNK_ID
//   -> {"text", "pages", "highlights": [{"start","end"}]}  (UTF-8 byte
//   offsets into text, as docrag's offsets are); without "highlights" the
//   chunk's own text is looked up in the page.
// Plus "open the original at this page": /v1/documents/{id}/file#page=N.
//
// With an API key stored, images and the original are fetched with the
// key (an <img> cannot send a header) and drawn on a canvas / opened from
// the blob: the CSP (default-src 'self') admits no blob: image.

import { getJSON, request, getKey } from './api.js';
import { h, $, clear, baseName, pagesLabel, highlightRanges } from './dom.js';

const docs = new Map();     // document id -> GET /v1/documents/{id}
const chunks = new Map();   // chunk id -> GET /v1/chunks/{id}
let state = null;           // {doc, chunk, page, first, last, collection}

function q(collection) {
  return collection ? `collection=${encodeURIComponent(collection)}` : '';
}

function withQuery(path, ...parts) {
  const qs = parts.filter(Boolean).join('&');
  return qs ? `${path}?${qs}` : path;
}

async function chunkInfo(id, collection) {
  const k = `${collection || ''}/${id}`;
  if (!chunks.has(k)) chunks.set(k, getJSON(withQuery(`/v1/chunks/${id}`, q(collection))));
  try {
    return await chunks.get(k);
  } catch (e) {
    chunks.delete(k);
    throw e;
  }
}

async function docInfo(id, collection) {
  const k = `${collection || ''}/${id}`;
  if (!docs.has(k)) docs.set(k, getJSON(withQuery(`/v1/documents/${id}`, q(collection))));
  try {
    return await docs.get(k);
  } catch (e) {
    docs.delete(k);
    throw e;
  }
}

export function forgetDocument(id) {
  for (const k of docs.keys()) if (k.endsWith(`/${id}`)) docs.delete(k);
}

function scale() {
  const s = Math.round((window.devicePixelRatio || 1) * 1.5 * 2) / 2;
  return Math.min(3, Math.max(1, s));
}

// UTF-8 byte offsets -> UTF-16 indices of text.
function byteToIndex(text) {
  const map = [0];
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.codePointAt(i);
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    for (let k = 1; k < n; k++) map.push(i);   // inside a character: its start
    bytes += n;
    if (c >= 0x10000) i++;
    map.push(i + 1);
  }
  return (b) => (b <= 0 ? 0 : b >= map.length ? text.length : map[b]);
}

function passageRanges(page, chunk) {
  const text = page.text || '';
  if (Array.isArray(page.highlights) && page.highlights.length) {
    const at = byteToIndex(text);
    return page.highlights.map((r) => [at(r.start), at(r.end)]).sort((a, b) => a[0] - b[0]);
  }
  if (!chunk || !chunk.text) return [];
  // no highlights from the server: find the chunk's text (or its start)
  const norm = (s) => s.replace(/\s+/g, ' ').trim();
  const words = norm(chunk.text).split(' ');
  for (const n of [words.length, 40, 16, 8]) {
    if (n > words.length) continue;
    const re = new RegExp(words.slice(0, n).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+'));
    const m = text.match(re);
    if (m) {
      const end = n === words.length ? m.index + m[0].length : Math.min(text.length, m.index + chunk.text.length);
      return [[m.index, end]];
    }
  }
  return [];
}

async function showText(body, note) {
  const { doc, page, chunk, collection } = state;
  const inRange = page >= state.first && page <= state.last;
  const p = await getJSON(withQuery(`/v1/documents/${doc.id}/pages/${page}`,
    inRange && chunk ? `highlight=${chunk.chunk_id}` : '', q(collection)));
  if (state.page !== page) return;
  const ranges = inRange ? passageRanges(p, chunk) : [];
  const pre = h('pre.page-text', { 'data-testid': 'page-text', tabindex: '0',
    'aria-label': `Text of page ${page}` }, highlightRanges(p.text || '', ranges));
  clear(body).append(...(note ? [h('p.notice', note)] : []), pre);
  const mark = pre.querySelector('mark');
  if (mark) mark.scrollIntoView({ block: 'center' });
}

function pngURL() {
  const { doc, page, chunk, collection } = state;
  const inRange = page >= state.first && page <= state.last;
  return withQuery(`/v1/documents/${doc.id}/pages/${page}.png`,
    inRange && chunk ? `highlight=${chunk.chunk_id}` : '', `scale=${scale()}`, q(collection));
}

async function showImage(body) {
  const { page, doc } = state;
  const alt = `Page ${page} of ${doc.title || doc.name}${page >= state.first && page <= state.last ? ', the cited passage outlined' : ''}`;
  const fallback = (why) => showText(body, `The page image is not available (${why}); this is the page's text.`);
  if (!getKey()) {
    const img = h('img.page-image', { 'data-testid': 'page-image', alt, src: pngURL(), decoding: 'async' });
    const box = h('div.page-box', img);
    img.addEventListener('error', () => {
      if (state.page !== page) return;
      request(pngURL(), { prompt: false }).then(() => fallback('it did not load'),
        (e) => fallback(e.status ? `HTTP ${e.status}` : e.message));
    });
    clear(body).append(box);
    return;
  }
  // a key is needed: fetch with it and draw the bitmap
  try {
    const res = await request(pngURL());
    const bmp = await createImageBitmap(await res.blob());
    if (state.page !== page) return;
    const c = h('canvas.page-image', { 'data-testid': 'page-image', role: 'img', 'aria-label': alt,
      width: bmp.width, height: bmp.height });
    c.getContext('2d').drawImage(bmp, 0, 0);
    clear(body).append(h('div.page-box', c));
  } catch (e) {
    if (state.page === page) await fallback(e.status ? `HTTP ${e.status}` : e.message);
  }
}

async function render() {
  const body = $('#viewer-body');
  const { doc, page } = state;
  const pages = doc.pages || 1;
  $('#viewer-page').textContent = `page ${page} of ${pages}`;
  $('#viewer-prev').disabled = page <= 1;
  $('#viewer-next').disabled = page >= pages;
  const open = $('#viewer-open');
  open.href = `${withQuery(`/v1/documents/${doc.id}/file`, q(state.collection))}#page=${page}`;
  open.textContent = doc.kind === 'pdf' ? `Open the original at page ${page}` : 'Open the original';
  clear(body).append(h('p.muted', 'Loading the page…'));
  try {
    if (doc.kind === 'pdf') await showImage(body);
    else await showText(body);
  } catch (e) {
    if (state.page === page) clear(body).append(h('p.banner.error', { role: 'alert' }, `Cannot show this page: ${e.message}`));
  }
}

// Show the page of a source or citation ({chunk_id, doc, title, section,
// page_start, page_end[, document_id]}).
export async function openViewer(src, opts = {}) {
  const dlg = $('#viewer');
  $('#viewer-title').textContent = src.title || baseName(src.doc) || 'Page';
  $('#viewer-section').textContent = [baseName(src.doc), pagesLabel(src.page_start, src.page_end), src.section]
    .filter(Boolean).join(' · ');
  clear($('#viewer-body')).append(h('p.muted', 'Loading the page…'));
  if (!dlg.open) dlg.showModal();
  try {
    const chunk = await chunkInfo(src.chunk_id, opts.collection);
    const doc = await docInfo(src.document_id || chunk.document_id, opts.collection);
    const first = chunk.page_start || src.page_start || 1;
    state = { doc, chunk, page: first, first, last: chunk.page_end || first, collection: opts.collection };
    $('#viewer-title').textContent = doc.title || doc.name;
    await render();
  } catch (e) {
    clear($('#viewer-body')).append(h('p.banner.error', { role: 'alert' }, `Cannot show this page: ${e.message}`));
  }
}

export function initViewer() {
  const dlg = $('#viewer');
  $('#viewer-prev').addEventListener('click', () => {
    if (state && state.page > 1) {
      state.page--;
      render();
    }
  });
  $('#viewer-next').addEventListener('click', () => {
    if (state && state.page < (state.doc.pages || 1)) {
      state.page++;
      render();
    }
  });
  dlg.addEventListener('keydown', (e) => {
    if (!state || e.target.closest('input, select, textarea')) return;
    if (e.key === 'ArrowLeft') $('#viewer-prev').click();
    if (e.key === 'ArrowRight') $('#viewer-next').click();
  });
  // a click on the backdrop closes
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg) dlg.close();
  });
  $('#viewer-open').addEventListener('click', async (e) => {
    if (!getKey()) return;   // a plain link does
    e.preventDefault();
    const a = e.currentTarget;
    const [path, frag] = a.getAttribute('href').split('#');
    const win = window.open('', '_blank');
    try {
      const res = await request(path);
      const url = URL.createObjectURL(await res.blob());
      if (win) win.location = `${url}${frag ? `#${frag}` : ''}`;
      else window.location = url;
    } catch (err) {
      if (win) win.close();
      $('#viewer-body').prepend(h('p.banner.error', { role: 'alert' }, `Cannot open the original: ${err.message}`));
    }
  });
}
