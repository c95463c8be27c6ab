// make_golden.mjs - golden WordPiece encodings for tests/unit/text/test_wordpiece.c.
//
// Reference: Hugging Face tokenizers itself (the Rust library, through its
// official Node binding, npm "tokenizers"), loading
// ../shared/models/all-MiniLM-L6-v2-no-weights/tokenizer.json offline.
// Every single-text case is also encoded by transformers.js
// (@huggingface/transformers, a separate JavaScript implementation); the
// record says whether the two agree ("tjs": true/false) and the run prints
// the disagreements (see docs/tokenizer.md for the known ones).
//
// Output: tests/data/wordpiece/golden.jsonl, one JSON object per line:
//   {"text", "ids", "offsets" ([byte_start, byte_end] per token, UTF-8),
//    "tjs"}                                        single, no truncation
//   {"text", "text_pair", "max_length", "ids", "type_ids"}
//                                                  pair, LongestFirst
//   {"text", "max_length", "ids", "type_ids"}     single, truncated
//   {"variant", "text", "ids", "offsets"}          the same tokenizer.json with
//        its normalizer replaced by VARIANTS[variant] (cased, accents kept,
//        no CJK spacing / no cleaning), to cover the other normalizer paths
//
// Usage (offline once node_modules is installed):
//   cd tools/tokref && npm install --ignore-scripts && node make_golden.mjs
// Environment: DOCRAG_SHARED (default ../../../shared from this folder).
// Deterministic: fixed seed, sorted inputs; pdftotext (poppler-utils) for PDF text.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from 'tokenizers';
import { AutoTokenizer, env } from '@huggingface/transformers';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const shared = process.env.DOCRAG_SHARED || path.resolve(repo, '..', 'shared');
const modelName = 'all-MiniLM-L6-v2-no-weights';
const modelDir = path.join(shared, 'models', modelName);
const outFile = path.join(repo, 'tests', 'data', 'wordpiece', 'golden.jsonl');

// ---- deterministic randomness ------------------------------------------
let seed = 0x5eed1234;
function rand() { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const randint = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

// ---- 1. handwritten edge cases ------------------------------------------
const handwritten = [
  '', ' ', '   ', '\t\n\r', 'a', 'A', 'Hello, World!', 'hello world',
  'Héllo Wörld ÀÉÎÕÜ naïve café', 'Straße İstanbul', 'ﬁnance ﬂow ﬀ', 'ǅungla ǈ ǋ',
  'ΟΔΟΣ σοφός ΣΟΦΟΣ ς', 'Ελληνικά Русский текст Ёлка', 'हिन्दी भाषा', 'العربية לשון',
  '東京タワーは高い。', '中文分词测试，你好！', '한국어 텍스트 안녕하세요', 'ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３',
  '😀 😃 🥲 👍🏽 👨‍👩‍👧 🇫🇷', 'emoji😀inside', '❤️ ✔ ☃ ★', '∑ ∫ √ ≤ ≥ ≠ ± × ÷',
  '!!!', '...', '?!?!', '---', '***', '(((nested)))', '"quoted" \'single\'', '“smart” ‘quotes’ «guillemets»',
  '§2.4 ¶ † ‡ • … ‰ ′ ″', '$100 €50 £20 ¥1000 ₹5', '^`|~<=>+', 'a_b-c.d/e\\f',
  '3.14159', '1,234,567.89', '-42', '1e-10', '0x1F 0b1010 0o17', '2024-01-31T12:34:56Z', '192.168.0.1:8080',
  'v2.1.0-rc.1+build.5', 'RV32I RV64GC Zicsr', 'x0..x31 f0-f31', 'https://example.com/a?b=c&d=e#f',
  'user@example.com', '#hashtag @mention', 'C++ C# F# .NET', 'e.g. i.e. etc. vs.',
  'supercalifragilisticexpialidocious', 'antidisestablishmentarianism', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  'electroencephalographically', 'tokenization unaffable', 'xyzzyqwertz', 'zzzzzzzzzzzzzzzzzzzz',
  'a'.repeat(99), 'a'.repeat(100), 'a'.repeat(101), 'é'.repeat(100), 'é'.repeat(101), 'ab'.repeat(60),
  '😀'.repeat(101), 'x' + '\u0301'.repeat(120), 'word '.repeat(50),
  'non\u00a0breaking\u2009thin\u3000ideographic\u2028line\u2029para', 'zero\u200bwidth\u200cjoiner\u200d',
  'soft\u00adhyphen', 'bom\ufeffinside', 'nul\u0000byte', 'tab\there', 'vt\u000bff\u000cfs\u001cus\u001f',
  'del\u007fx', 'nel\u0085x', 'repl\ufffdacement', 'private\ue000use', 'unassigned\u0378x',
  'e\u0301 x', 'x e\u0301', '\u0301e', 'ab\u0301c', 'A\u030a\u0327', 'Ångström Å Å',
  'ΑΒΓ ΔΕΖ', 'K Ω Å', 'Ⅸ ⅻ ①②③', 'ℌ𝔢𝔩𝔩𝔬 𝐛𝐨𝐥𝐝', 'ＡＢＣ', '𠀀𠀁 a𠀀b', 'a𫠠b a𫠟b a𬺡b',
  '[CLS]', '[SEP]', '[MASK] is here', 'x[SEP]y', '[cls] lower', '[CLS][SEP][PAD][UNK][MASK]',
  '[ CLS ]', '[CLS', 'CLS]', '[[CLS]]', '[UNK] token', 'ab[MASK]cd', '##ing', '## ing ##',
  'don\'t won\'t it\'s', 'O\'Reilly', 'rock\'n\'roll', 'naïveté résumé coöperate',
  'mixed中文and英文words', 'ひらがなカタカナ漢字', 'Ünïcödé ÄÖÜ äöü ß', 'Ça va? Très bien.',
  'ĳ Ĳ ŉ ſ', 'İ ı I i', 'Ǆ ǅ ǆ', 'ﬃ ﬄ ﬅ', '℃ ℉ № ™ ℠ ©', '½ ¼ ¾ ⅓', 'µ μ Μ',
  '\u0e01\u0e32\u0e23 ภาษาไทย', 'ქართული', 'Հայերեն', 'አማርኛ', 'ᚠᛇᚻ', 'tiếng Việt', 'Türkçe ğüşıöç',
  'line1\nline2\r\nline3', '  leading and trailing  ', 'multiple     spaces', '\n\n\n',
];

// ---- 2. generated combinations -------------------------------------------
const pools = {
  word: ['the', 'RISC-V', 'vector', 'Extension', 'instruction', 'privileged', 'software', 'validation',
         'guidance', 'FDA', 'model', 'tokenizer', 'unaffable', 'embedding', 'retrieval', 'Mélange',
         'déjà', 'vu', 'über', 'Ärger', 'façade', 'niño', 'São', 'Paulo', 'Zürich', 'Kraków', 'Ελλάδα',
         'Москва', '東京', '北京', '서울', 'नमस्ते', 'مرحبا', 'שלום', 'xyzzy', 'qwertyuiop', 'MMIO', 'CSR',
         'mstatus', 'vsetvli', 'LMUL', 'e32m8', 'SaMD', 'AI/ML', 'pre-market', 'post-processing'],
  num: ['0', '7', '42', '3.14', '1,000', '2^32', '1e6', '-5', '100%', '0xFF', '64-bit', '32b', '1st', '2nd', '12:30'],
  punct: ['.', ',', '!', '?', ';', ':', '...', '!!', '?!', '—', '–', '-', '(', ')', '[', ']', '{', '}', '"', '\'',
          '“', '”', '«', '»', '/', '\\', '&', '%', '#', '@', '*', '+', '=', '<', '>', '|', '~', '`', '^', '_', '¿', '¡', '·', '、', '。'],
  emoji: ['😀', '🚀', '👍', '👍🏻', '🎉', '❤️', '🔥', '🤖', '🧪', '⚡', '☕', '🏳️‍🌈', '🇯🇵'],
  space: [' ', ' ', ' ', '  ', '\t', '\n', '\u00a0', '\u2003', '\u3000', '\r\n', '\u200b', ' \u0000 '],
  special: ['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]'],
};
function genString() {
  const n = randint(1, 14);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rand();
    let frag;
    if (r < 0.45) frag = pick(pools.word);
    else if (r < 0.6) frag = pick(pools.num);
    else if (r < 0.78) frag = pick(pools.punct).repeat(randint(1, 3));
    else if (r < 0.86) frag = pick(pools.emoji);
    else if (r < 0.9) frag = pick(pools.special);
    else if (r < 0.95) frag = pick(pools.word).toUpperCase();
    else frag = pick(pools.word) + pick(pools.word) + pick(pools.word); // long glued word
    s += frag;
    if (rand() < 0.75) s += pick(pools.space);
  }
  return s;
}
function randomCodepoints() {
  // random code points from assorted blocks (letters, marks, symbols, CJK)
  const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff],
                  [0x590, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1e00, 0x1eff], [0x2000, 0x206f],
                  [0x2100, 0x21ff], [0x3000, 0x30ff], [0x4e00, 0x4fff], [0xac00, 0xad00],
                  [0xff00, 0xffef], [0x1f300, 0x1f64f], [0x1d400, 0x1d4ff]];
  const n = randint(3, 30);
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pick(blocks);
    const cp = randint(lo, hi);
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    s += String.fromCodePoint(cp);
  }
  return s;
}

// ---- 3. real text: IR collections and PDFs --------------------------------
function corpusSentences(maxPerCollection) {
  const out = [];
  for (const coll of ['adi', 'cacm', 'cranfield', 'medline']) {
    const file = path.join(shared, 'ir', coll, 'corpus.jsonl');
    if (!fs.existsSync(file)) continue;
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    let taken = 0;
    for (let i = 0; i < lines.length && taken < maxPerCollection; i += 37) {
      const doc = JSON.parse(lines[i]);
      const text = `${doc.title || ''} ${doc.text || ''}`.trim();
      if (!text) continue;
      const sentences = text.split(/(?<=[.!?])\s+/).filter((x) => x.length > 10);
      if (sentences.length) {
        out.push(sentences.slice(0, randint(1, 3)).join(' '));
        taken++;
      }
    }
  }
  return out;
}
function pdfText(maxPerPdf) {
  const out = [];
  const dir = path.join(shared, 'corpus');
  const pdfs = fs.readdirSync(dir).filter((f) => f.endsWith('.pdf')).sort();
  for (const pdf of pdfs) {
    let text;
    try {
      text = execFileSync('pdftotext', ['-f', '1', '-l', '3', '-enc', 'UTF-8', path.join(dir, pdf), '-'],
                          { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue;
    }
    const paras = text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 20);
    for (let i = 0; i < paras.length && i < maxPerPdf * 3; i += 3)
      out.push(paras[i].slice(0, 1500));
  }
  return out;
}

// Normalizer variants; the C test applies the same replacement.
const VARIANTS = {
  cased: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
  lower_keep_accents: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: true },
  raw_strip: { type: 'BertNormalizer', clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false },
};

// ---- reference encodings --------------------------------------------------
const cpToByte = (s) => { // code point index -> UTF-8 byte offset
  const map = [0];
  let b = 0;
  for (const ch of s) {
    b += Buffer.byteLength(ch, 'utf8');
    map.push(b);
  }
  return map;
};

async function main() {
  const hf = Tokenizer.fromFile(path.join(modelDir, 'tokenizer.json'));
  hf.disablePadding();
  hf.disableTruncation();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokref-'));
  fs.cpSync(modelDir, path.join(tmp, modelName), { recursive: true });
  env.allowRemoteModels = false;
  env.localModelPath = tmp;
  const tjs = await AutoTokenizer.from_pretrained(modelName);

  const singles = [...handwritten];
  for (let i = 0; i < 170; i++) singles.push(genString());
  for (let i = 0; i < 40; i++) singles.push(randomCodepoints());
  singles.push(...corpusSentences(30));
  singles.push(...pdfText(6));

  const records = [];
  const disagreements = [];
  for (const text of singles) {
    const e = await hf.encode(text);
    const map = cpToByte(text);
    const offsets = e.getOffsets().map(([s, t]) => [map[s], map[t]]);
    const ids = Array.from(e.getIds());
    const tj = tjs.encode(text);
    const agree = JSON.stringify(Array.from(tj)) === JSON.stringify(ids);
    if (!agree) disagreements.push(text);
    records.push({ text, ids, offsets, tjs: agree });
  }

  // pairs and truncated singles (LongestFirst, the tokenizer's own strategy)
  const nPairs = 160;
  for (let i = 0; i < nPairs; i++) {
    const a = pick(singles), b = pick(singles);
    const maxLength = pick([8, 16, 31, 32, 33, 64, 65, 128]);
    hf.setTruncation(maxLength, { strategy: 'LongestFirst' });
    const e = await hf.encode(a, b);
    records.push({ text: a, text_pair: b, max_length: maxLength,
                   ids: Array.from(e.getIds()), type_ids: Array.from(e.getTypeIds()) });
  }
  for (let i = 0; i < 40; i++) {
    const a = pick(singles);
    const maxLength = pick([2, 3, 5, 16, 32]);
    hf.setTruncation(maxLength, { strategy: 'LongestFirst' });
    const e = await hf.encode(a);
    records.push({ text: a, max_length: maxLength,
                   ids: Array.from(e.getIds()), type_ids: Array.from(e.getTypeIds()) });
  }
  hf.disableTruncation();

  const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8'));
  const variantTexts = singles.filter((_, i) => i < handwritten.length || i % 3 === 0);
  for (const [name, normalizer] of Object.entries(VARIANTS)) {
    const v = Tokenizer.fromString(JSON.stringify({ ...json, normalizer, truncation: null, padding: null }));
    for (const text of variantTexts) {
      const e = await v.encode(text);
      const map = cpToByte(text);
      records.push({ variant: name, text, ids: Array.from(e.getIds()),
                     offsets: e.getOffsets().map(([s, t]) => [map[s], map[t]]) });
    }
  }

  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`${records.length} records (${singles.length} single, ${nPairs} pair, 40 truncated, ` +
              `${Object.keys(VARIANTS).length} x ${variantTexts.length} variant) -> ${outFile}`);
  console.log(`transformers.js disagrees with HF tokenizers on ${disagreements.length} single texts:`);
  for (const t of disagreements) console.log('  ' + JSON.stringify(t).slice(0, 120));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
