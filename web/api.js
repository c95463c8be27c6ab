// api.js - the one way the UI talks to docrag's HTTP API.
//
// Keys: no cookies (the UI must work inside a Hugging Face Space's iframe,
// where third-party cookies are blocked). When a request is answered 401,
// the key prompt opens (one prompt however many requests were refused at
// once); the key is kept in localStorage and sent as X-API-Key, which the
// server prefers over Authorization (a private Space's proxy uses that).
//
// Ids: chunk ids are 64-bit and do not fit a JavaScript number, so JSON is
// parsed with every integer of 16 or more digits turned into a string
// first (parseJSON); ids are then handled as strings everywhere.
//
// Streams: EventSource cannot POST nor send a header, so SSE responses are
// read from fetch's ReadableStream and split into events here (sse()).

import { $ } from './dom.js';

const KEY_NAME = 'docrag.key';
let memoryKey = null;   // when localStorage is blocked (some iframes)

export function getKey() {
  try {
    return localStorage.getItem(KEY_NAME) || memoryKey;
  } catch {
    return memoryKey;
  }
}

export function setKey(k) {
  memoryKey = k || null;
  try {
    if (k) localStorage.setItem(KEY_NAME, k);
    else localStorage.removeItem(KEY_NAME);
  } catch { /* memory only */ }
  for (const fn of keyListeners) fn(k);
}

const keyListeners = [];
export function onKeyChange(fn) {
  keyListeners.push(fn);
}

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.type = type || 'error';
  }
}

// JSON.parse, with integers of 16+ digits (outside strings) as strings. The
// server sends chunk ids as strings already (docs/server.md, "Chunk ids are
// strings"); this keeps an older server's numeric ids exact too.
export function parseJSON(text) {
  let out = '';
  let i = 0;
  const n = text.length;
  let start = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {   // a string: skip to its closing quote
      i++;
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      i++;
    } else if ((c >= 48 && c <= 57) || c === 45) {
      let j = i + (c === 45 ? 1 : 0);
      while (j < n && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      const digits = j - i - (c === 45 ? 1 : 0);
      const next = j < n ? text[j] : '';
      if (digits >= 16 && next !== '.' && next !== 'e' && next !== 'E') {
        out += text.slice(start, i) + '"' + text.slice(i, j) + '"';
        start = j;
      }
      i = j;
    } else {
      i++;
    }
  }
  return JSON.parse(start ? out + text.slice(start) : text);
}

function headersFor(extra) {
  const hs = new Headers(extra || {});
  const k = getKey();
  if (k) hs.set('X-API-Key', k);
  return hs;
}

async function errorOf(res) {
  let type = 'error';
  let message = `${res.status} ${res.statusText}`;
  try {
    const o = parseJSON(await res.text());
    if (o && o.error) {
      type = o.error.type || type;
      message = o.error.message || message;
    }
  } catch { /* not JSON */ }
  return new ApiError(res.status, type, message);
}

// fetch(path) with the key; on 401 the key prompt, then once more.
// opts: method, json (a body to send as JSON), body, headers, signal,
// prompt (false: a 401 is just an error, no prompt).
export async function request(path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const init = { method: opts.method || (opts.json || opts.body ? 'POST' : 'GET'),
      headers: headersFor(opts.headers), signal: opts.signal, cache: 'no-store' };
    if (opts.json !== undefined) {
      init.headers.set('Content-Type', 'application/json');
      init.body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      init.body = opts.body;
    }
    const res = await fetch(path, init);
    if (res.status === 401 && opts.prompt !== false && attempt < 3) {
      const err = await errorOf(res);
      const key = await promptForKey(getKey() ? err.message : 'This server needs an API key.');
      if (key) continue;
      throw err;
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }
}

// request() and the JSON body.
export async function getJSON(path, opts) {
  const res = await request(path, opts);
  return parseJSON(await res.text());
}

// The events of an SSE response: {event, data (parsed JSON or the text)}.
// Comments (": ping") are skipped. Ends with the stream.
export async function* sse(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let event = 'message';
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length) {
            const text = data.join('\n');
            let parsed = text;
            try { parsed = parseJSON(text); } catch { /* plain text */ }
            yield { event, data: parsed };
          }
          event = 'message';
          data = [];
        } else if (line.startsWith(':')) {
          // comment (keep-alive ping)
        } else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? '' : line.slice(colon + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'event') event = val;
          else if (field === 'data') data.push(val);
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}

// ---- the key prompt ------------------------------------------------------

let pending = null;

// Open the key dialog (once, however many callers): the key entered, or
// null when cancelled.
export function promptForKey(message) {
  if (pending) return pending;
  const dlg = $('#key-dialog');
  const input = $('#key-input');
  const msg = $('#key-message');
  msg.textContent = message || 'Enter an API key.';
  input.value = '';
  pending = new Promise((resolve) => {
    const done = (key) => {
      dlg.removeEventListener('close', onClose);
      pending = null;
      resolve(key);
    };
    const onClose = () => {
      const k = dlg.returnValue === 'save' ? input.value.trim() : '';
      if (k) setKey(k);
      else if (dlg.returnValue === 'forget') setKey(null);
      done(k || null);
    };
    dlg.addEventListener('close', onClose);
  });
  dlg.returnValue = '';
  if (!dlg.open) dlg.showModal();
  input.focus();
  return pending;
}
