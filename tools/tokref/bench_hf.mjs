// bench_hf.mjs - the peer for bench/bench_wordpiece.c: Hugging Face
// tokenizers (Rust, npm "tokenizers") encoding the same cranfield texts cut
// the same way (~1000-byte pieces at whitespace). Run with
// TOKENIZERS_PARALLELISM=false for one thread:
//   TOKENIZERS_PARALLELISM=false node bench_hf.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = process.env.DOCRAG_SHARED || path.resolve(here, '..', '..', '..', 'shared');
const tok = Tokenizer.fromFile(path.join(shared, 'models', 'all-MiniLM-L6-v2-no-weights', 'tokenizer.json'));
tok.disablePadding();
tok.disableTruncation();

const pieces = [];
let bytes = 0;
for (const line of fs.readFileSync(path.join(shared, 'ir', 'cranfield', 'corpus.jsonl'), 'utf8').split('\n')) {
  if (!line) continue;
  const buf = Buffer.from(JSON.parse(line).text || '', 'utf8');
  let pos = 0;
  while (pos < buf.length) {
    let end = Math.min(pos + 1000, buf.length);
    while (end < buf.length && end > pos + 500 && buf[end] !== 0x20 && buf[end] !== 0x0a) end--;
    while (end < buf.length && (buf[end] & 0xc0) === 0x80) end--;
    pieces.push(buf.subarray(pos, end).toString('utf8'));
    bytes += end - pos;
    pos = end;
  }
}
console.log(`text: ${pieces.length} pieces, ${(bytes / 1e6).toFixed(2)} MB`);
let best = Infinity, nTok = 0;
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  const encs = await tok.encodeBatch(pieces);
  const ms = performance.now() - t0;
  nTok = encs.reduce((s, e) => s + e.getIds().length, 0);
  best = Math.min(best, ms);
}
console.log(`HF tokenizers encodeBatch: ${nTok} tokens in ${best.toFixed(1)} ms: ` +
            `${(nTok / best / 1e3).toFixed(2)} M tokens/s, ${(bytes / best / 1e3).toFixed(1)} MB/s`);
