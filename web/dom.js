// dom.js - small DOM helpers shared by the views.
//
// Everything is built with createElement/textContent: no innerHTML, so no
// text from a document, an answer or a file name is ever parsed as HTML,
// and nothing needs the CSP's 'unsafe-inline'.

// h('div.card', {attrs}, child, ...): an element. Attributes: `class`,
// `text` (textContent), `on<event>` (listeners), `dataset`, booleans
// (true = present), anything else via setAttribute. Children: nodes,
// strings (text nodes), arrays, null/undefined/false (skipped).
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// The base name of a path the server sends ("/a/b/c.pdf" -> "c.pdf").
export function baseName(p) {
  if (!p) return '';
  const i = String(p).lastIndexOf('/');
  return i < 0 ? String(p) : String(p).slice(i + 1);
}

export function pagesLabel(a, b) {
  if (!a) return '';
  return b && b !== a ? `pp. ${a}–${b}` : `p. ${a}`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtTime(unixSeconds) {
  if (!unixSeconds) return '';
  const d = new Date(unixSeconds * 1000);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const STOP = new Set(('a an and are as at be by can do does for from has have how i if in into is it its ' +
  'of on or so that the their them then there these they this to was what when where which who why ' +
  'will with you your about after all also any been but each more most not only other over same ' +
  'should some such than too use used uses using very').split(' '));

// The words of a question worth highlighting in a passage.
export function queryTerms(q) {
  const seen = new Set();
  for (const w of String(q || '').toLowerCase().match(/[\p{L}\p{N}_]+/gu) || []) {
    if (w.length >= 2 && !STOP.has(w)) seen.add(w);
  }
  return [...seen];
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Text with the given terms wrapped in <mark> (word starts, any case):
// an array of nodes for h().
export function highlightTerms(text, terms) {
  if (!terms.length) return [text];
  // whole words, and their plain inflections ("register" marks "registers")
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${terms.map(escapeRe).join('|')})(?:s|es|ed|ing|ers?)?(?![\\p{L}\\p{N}_])`, 'giu');
  const out = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    const end = m.index + m[0].length;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(h('mark', { text: text.slice(m.index, end) }));
    last = end;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// Text with [start, end) ranges (UTF-16 indices, sorted, disjoint) marked.
export function highlightRanges(text, ranges, cls = 'passage') {
  const out = [];
  let last = 0;
  for (const [a, b] of ranges) {
    if (a < last || b <= a) continue;
    if (a > last) out.push(text.slice(last, a));
    out.push(h('mark', { class: cls, text: text.slice(a, b) }));
    last = b;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// Download a text file (export): an <a download> with an object URL.
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, class: 'hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Announce a message to screen readers and show it briefly.
export function toast(msg, kind = 'info') {
  const box = $('#toasts');
  if (!box) return;
  const t = h('div.toast', { class: kind, role: kind === 'error' ? 'alert' : 'status', text: msg });
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}
