// history.js - chats kept in the browser (localStorage), and their export.
//
// A chat is {id, title, created, turns: [turn]}; a turn is what one
// question got: {q, at, settings, sources, answer, citations, refused,
// confidence, backend, model, notice, search_notice, mode, stopped,
// error}. Nothing leaves the browser except through Export. At most
// MAX_CHATS are kept; when the browser's quota is reached, the oldest
// chats go first.

import { baseName, pagesLabel } from './dom.js';

const NAME = 'docrag.chats';
const MAX_CHATS = 50;

function load() {
  try {
    const v = JSON.parse(localStorage.getItem(NAME) || '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

let chats = load();

export function allChats() {
  return chats;
}

export function getChat(id) {
  return chats.find((c) => c.id === id) || null;
}

export function newChat() {
  const c = { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    title: '', created: Date.now(), turns: [] };
  chats.unshift(c);
  return c;
}

export function deleteChat(id) {
  chats = chats.filter((c) => c.id !== id);
  save();
}

export function clearChats() {
  chats = [];
  save();
}

// Write everything; on a full quota drop the oldest chats and try again.
export function save() {
  chats = chats.filter((c) => c.turns.length).slice(0, MAX_CHATS);
  for (let keep = chats.length; keep >= 0; keep--) {
    try {
      // the turns' DOM elements stay out
      localStorage.setItem(NAME, JSON.stringify(chats.slice(0, keep), (k, v) => (k === 'el' ? undefined : v)));
      chats = chats.slice(0, Math.max(keep, 1));
      return;
    } catch {
      // quota (or storage blocked): fewer chats
    }
  }
}

function citeLine(c) {
  const where = [baseName(c.doc), pagesLabel(c.page_start, c.page_end), c.section]
    .filter(Boolean).join(', ');
  return `[${c.n}] ${c.title || baseName(c.doc)} — ${where}`;
}

export function toMarkdown(chat) {
  const lines = [`# ${chat.title || 'docrag chat'}`, '',
    `_Exported from docrag on ${new Date().toISOString()}_`, ''];
  for (const t of chat.turns) {
    lines.push(`## ${t.q}`, '');
    if (t.error) lines.push(`> Error: ${t.error}`, '');
    if (t.refused) lines.push('> No answer in the documents.', '');
    lines.push(t.answer || '', '');
    const cites = t.citations && t.citations.length ? t.citations : [];
    if (cites.length) {
      lines.push('Sources:', '');
      for (const c of cites) lines.push(`- ${citeLine(c)}`);
      lines.push('');
    }
    const meta = [t.backend && `answered by ${t.backend}${t.model ? ` (${t.model})` : ''}`,
      t.mode && `mode ${t.mode}`,
      typeof t.confidence === 'number' && `confidence ${t.confidence.toFixed(2)}`,
      t.notice].filter(Boolean);
    if (meta.length) lines.push(`_${meta.join(' · ')}_`, '');
  }
  return lines.join('\n');
}

export function toJSON(chat) {
  return JSON.stringify({ format: 'docrag-chat', version: 1, exported: new Date().toISOString(),
    chat }, (k, v) => (k === 'el' ? undefined : v), 2);
}
