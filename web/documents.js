// documents.js - the Documents view: the table, uploads with per-file
// progress, delete and re-index.
//
// An upload is one multipart POST /v1/documents per batch (XMLHttpRequest:
// fetch reports no upload progress), answered 202 with a job; the job's
// events (GET /v1/jobs/{id}/events, SSE) tell which file is done, added
// or failed and why. Admin actions (upload, delete, re-index) show only
// when the key in use is an admin's: GET /v1/config answers 200 only then.
// Re-index = the original bytes (GET .../file) uploaded again after the
// document is deleted, so it is ingested with the server's current
// settings; if the original is gone the user picks the file.

import { getJSON, request, sse, getKey, promptForKey, parseJSON, ApiError } from './api.js';
import { h, $, clear, fmtBytes, fmtTime, toast } from './dom.js';
import { setDocuments, askOnly, currentCollection } from './ask.js';
import { forgetDocument } from './viewer.js';

const KINDS = /\.(pdf|md|markdown|html?|txt)$/i;
const BATCH_FILES = 16;
const BATCH_BYTES = 32 * 1024 * 1024;

let isAdmin = false;
let documents = [];
let loaded = false;

function collQuery(prefix = '?') {
  const c = currentCollection();
  return c ? `${prefix}collection=${encodeURIComponent(c)}` : '';
}

export async function checkAdmin() {
  try {
    await request(`/v1/config${collQuery()}`, { prompt: false });
    isAdmin = true;
  } catch {
    isAdmin = false;
  }
  $('#file-input').disabled = !isAdmin;
  $('#upload').classList.toggle('locked', !isAdmin);
  $('#upload-locked').hidden = isAdmin;
  renderTable();
  return isAdmin;
}

export async function loadDocuments() {
  try {
    const o = await getJSON(`/v1/documents${collQuery()}`);
    documents = o.documents || [];
    loaded = true;
    setDocuments(documents);
    renderTable();
    document.dispatchEvent(new CustomEvent('docrag:documents'));
  } catch (e) {
    clear($('#documents tbody')).append(h('tr', h('td', { colspan: '7' },
      h('span.error-text', `Cannot list the documents: ${e.message}`))));
  }
}

function statusBadge(st) {
  return h('span.badge', { class: `st-${st || 'unknown'}` }, st || '?');
}

function renderTable() {
  const tbody = clear($('#documents tbody'));
  const f = ($('#doc-filter').value || '').toLowerCase();
  const rows = documents.filter((d) => !f || `${d.title} ${d.name} ${d.kind}`.toLowerCase().includes(f));
  $('#documents-count').textContent = loaded ? `(${documents.length})` : '';
  if (loaded && !rows.length) {
    tbody.append(h('tr', h('td.muted', { colspan: '7' }, documents.length ? 'No document matches.' : 'No documents yet.')));
  }
  for (const d of rows) {
    tbody.append(h('tr', { dataset: { docId: String(d.id), name: d.name } },
      h('td', h('div.title', d.title || d.name), d.title && d.title !== d.name ? h('div.muted.small', d.name) : null),
      h('td', d.kind || ''),
      h('td.num', String(d.pages ?? '')),
      h('td.num', String(d.chunks ?? '')),
      h('td', statusBadge(d.status)),
      h('td', { title: d.added ? new Date(d.added * 1000).toISOString() : '' }, fmtTime(d.added)),
      h('td.actions',
        h('button.ghost.small', { type: 'button', title: 'Ask questions of this document only', onclick: () => askOnly(d.name) }, 'Ask only this'),
        isAdmin ? h('button.ghost.small', { type: 'button', 'data-action': 'reindex', onclick: () => reindex(d) }, 'Re-index') : null,
        isAdmin ? h('button.danger.small', { type: 'button', 'data-action': 'delete', 'aria-label': `Delete ${d.name}`,
          onclick: () => remove(d) }, 'Delete') : null)));
  }
}

async function remove(d) {
  if (!confirm(`Delete “${d.title || d.name}” from the index?`)) return;
  try {
    await request(`/v1/documents/${d.id}${collQuery()}`, { method: 'DELETE' });
    forgetDocument(d.id);
    toast(`Deleted ${d.name}.`);
  } catch (e) {
    toast(`Cannot delete ${d.name}: ${e.message}`, 'error');
  }
  loadDocuments();
}

async function reindex(d) {
  let blob;
  try {
    const res = await request(`/v1/documents/${d.id}/file${collQuery()}`);
    blob = await res.blob();
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 410) {
      toast(`Cannot re-index ${d.name}: ${e.message}`, 'error');
      return;
    }
    toast(`The original of ${d.name} is gone: choose the file to index again.`);
    const pick = h('input', { type: 'file', class: 'hidden' });
    document.body.append(pick);
    blob = await new Promise((resolve) => {
      pick.addEventListener('change', () => resolve(pick.files[0] || null));
      pick.click();
    });
    pick.remove();
    if (!blob) return;
  }
  try {
    await request(`/v1/documents/${d.id}${collQuery()}`, { method: 'DELETE' });
    forgetDocument(d.id);
  } catch (e) {
    toast(`Cannot re-index ${d.name}: ${e.message}`, 'error');
    return;
  }
  await uploadFiles([new File([blob], d.name, { type: blob.type })]);
}

// ---- uploads ----------------------------------------------------------------

function fileRow(file) {
  const bar = h('progress', { max: '1', value: '0', 'aria-label': `${file.name} progress` });
  const status = h('span.status-text', 'waiting');
  const li = h('li.upload-row', h('span.name', file.name), h('span.muted.size', fmtBytes(file.size)), bar, status);
  $('#uploads').prepend(li);
  return { file, li, bar, status, set(text, cls, value) {
    status.textContent = text;
    li.className = `upload-row ${cls || ''}`;
    if (value === null) bar.removeAttribute('value');
    else if (value !== undefined) bar.value = value;
  } };
}

// POST one batch with upload progress; the 202's JSON.
function post(rows) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const r of rows) form.append('file', r.file, r.file.name);
    const total = rows.reduce((n, r) => n + r.file.size, 0) || 1;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/documents${collQuery()}`);
    const k = getKey();
    if (k) xhr.setRequestHeader('X-API-Key', k);
    xhr.upload.addEventListener('progress', (e) => {
      let off = 0;
      const loaded = e.lengthComputable ? e.loaded * (total / (e.total || 1)) : 0;
      for (const r of rows) {
        const v = Math.max(0, Math.min(1, (loaded - off) / (r.file.size || 1)));
        r.set(v < 1 ? `uploading ${Math.round(v * 100)}%` : 'uploaded', 'busy', v * 0.5);
        off += r.file.size;
      }
    });
    xhr.addEventListener('load', () => {
      let o = null;
      try { o = parseJSON(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 202) resolve(o);
      else reject(new ApiError(xhr.status, o && o.error && o.error.type,
        (o && o.error && o.error.message) || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', 'the upload did not reach the server')));
    xhr.send(form);
  });
}

async function follow(jobId, rows) {
  const byName = new Map(rows.map((r) => [r.name || r.file.name, r]));
  const pending = rows.filter((r) => !r.final);
  let next = 0;   // files finish in order: the next one is being indexed
  const markCurrent = () => {
    while (next < pending.length && pending[next].final) next++;
    if (next < pending.length) pending[next].set('indexing…', 'busy', null);
  };
  const res = await request(`/v1/jobs/${encodeURIComponent(jobId)}/events`);
  for await (const ev of sse(res)) {
    const d = ev.data || {};
    if (ev.event === 'progress') {
      if (d.stage === 'queued') for (const r of pending) if (!r.final) r.set('queued', 'busy', 0.5);
      if (d.stage === 'start') markCurrent();
      if (d.stage === 'file_error') {
        const r = byName.get(d.file);
        if (r) { r.error = d.error; }
      }
      if (d.stage === 'file') {
        const r = byName.get(d.file);
        if (r) {
          r.final = true;
          if (d.action === 'failed') r.set(`failed: ${r.error || 'could not be indexed'}`, 'failed', 1);
          else r.set(d.action === 'unchanged' ? 'already indexed' : `indexed (${d.action})`, 'ok', 1);
        }
        markCurrent();
      }
    } else if (ev.event === 'done' || ev.event === 'error') {
      const job = ev.event === 'done' ? d : (d.job || d);
      for (const doc of job.documents || []) {
        const r = byName.get(doc.name);
        if (!r) continue;
        if (doc.status === 'failed') r.set(`failed: ${doc.error || job.error || 'could not be indexed'}`, 'failed', 1);
        else if (doc.status === 'indexed' && !r.final) r.set('indexed', 'ok', 1);
        r.final = true;
      }
      if (job.status === 'failed' && job.error) {
        for (const r of rows) if (!r.final) r.set(`failed: ${job.error}`, 'failed', 1);
      }
      if (ev.event === 'error') {
        for (const r of rows) if (!r.final) r.set(`failed: ${(d.error && d.error.message) || 'the job failed'}`, 'failed', 1);
      }
    }
  }
}

async function uploadBatch(rows) {
  let o;
  for (let attempt = 0; ; attempt++) {
    try {
      o = await post(rows);
      break;
    } catch (e) {
      if ((e.status === 401 || e.status === 403) && attempt < 2) {
        const k = await promptForKey(e.status === 403 ? 'Uploading needs an admin key.' : e.message);
        if (k) {
          await checkAdmin();
          continue;
        }
      }
      for (const r of rows) r.set(`failed: ${e.message}`, 'failed', 1);
      return;
    }
  }
  // one entry per file, in order; the name is the one the server stored
  // (made safe), which the job's events use
  (o.documents || []).forEach((doc, i) => {
    const r = rows[i];
    if (!r) return;
    r.name = doc.name || r.file.name;
    if (doc.duplicate) {
      r.final = true;
      r.set(doc.id ? `already indexed (document ${doc.id})` : 'duplicate of another file in this upload', 'ok', 1);
    } else {
      r.set('queued', 'busy', 0.5);
    }
  });
  try {
    await follow(o.job_id, rows);
  } catch (e) {
    for (const r of rows) if (!r.final) r.set(`lost track of the job: ${e.message}`, 'failed', 1);
  }
}

export async function uploadFiles(list) {
  const files = Array.from(list);
  if (!files.length) return;
  const rows = [];
  for (const f of files) {
    const r = fileRow(f);
    if (!KINDS.test(f.name)) r.set('not uploaded: docrag reads PDF, Markdown, HTML and text files', 'failed', 1);
    else if (!f.size) r.set('not uploaded: the file is empty', 'failed', 1);
    else rows.push(r);
  }
  const batches = [];
  let cur = [];
  let bytes = 0;
  for (const r of rows) {
    if (cur.length && (cur.length >= BATCH_FILES || bytes + r.file.size > BATCH_BYTES)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += r.file.size;
  }
  if (cur.length) batches.push(cur);
  await Promise.all(batches.map(uploadBatch));
  await loadDocuments();
}

export function initDocuments() {
  const zone = $('#upload');
  const input = $('#file-input');
  input.addEventListener('change', () => {
    uploadFiles(input.files);
    input.value = '';
  });
  for (const t of ['dragenter', 'dragover']) {
    zone.addEventListener(t, (e) => {
      e.preventDefault();
      if (isAdmin) zone.classList.add('over');
    });
  }
  for (const t of ['dragleave', 'drop']) zone.addEventListener(t, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    if (!isAdmin) {
      toast('Uploading needs an admin key.', 'error');
      return;
    }
    uploadFiles(e.dataTransfer.files);
  });
  // a file dropped beside the zone must not make the browser open it
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  $('#upload-key').addEventListener('click', async () => {
    if (await promptForKey('Enter an admin key to upload, delete and re-index documents.')) checkAdmin();
  });
  $('#doc-filter').addEventListener('input', renderTable);
  $('#refresh-docs').addEventListener('click', loadDocuments);
}
