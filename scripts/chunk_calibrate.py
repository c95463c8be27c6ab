#!/usr/bin/env python3
"""chunk_calibrate.py - calibrate rag_chunk_estimate_tokens against a real
BERT uncased WordPiece tokenizer (reference written here from the BERT paper's
description: BasicTokenizer + greedy longest-match-first WordPiece).

Usage: chunk_calibrate.py VOCAB.txt TEXTFILE...
Prints, per word class (alpha / digit / mixed alnum / non-ASCII) and length,
how many WordPiece tokens words of that shape really cost (mean, p99, max),
which is what the estimator's per-word formula was fitted to.
"""
import sys, unicodedata, collections

def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n") for line in f}

def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")

def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

def basic_tokens(text):
    out = []
    for raw in text.split():
        w = unicodedata.normalize("NFD", raw.lower())
        w = "".join(c for c in w if unicodedata.category(c) != "Mn"
                    and not (unicodedata.category(c).startswith("C") and c not in "\t\n\r"))
        cur = ""
        for c in w:
            if is_punct(c) or is_cjk(ord(c)):
                if cur:
                    out.append(cur)
                    cur = ""
                out.append(c)
            else:
                cur += c
        if cur:
            out.append(cur)
    return out

def wordpiece(word, vocab):
    if len(word) > 100:
        return 1
    n, start = 0, 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return 1  # [UNK] for the whole word
        n += 1
        start = end
    return n

def shape(word):
    if all(c.isascii() and c.isalpha() for c in word):
        return "alpha"
    if all(c.isascii() and c.isdigit() for c in word):
        return "digit"
    if all(c.isascii() and c.isalnum() for c in word):
        return "mixed"
    return "other"

def main():
    vocab = load_vocab(sys.argv[1])
    stats = collections.defaultdict(list)
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for w in basic_tokens(text):
            if len(w) == 1 and (is_punct(w) or is_cjk(ord(w))):
                continue
            stats[(shape(w), min(len(w), 24))].append(wordpiece(w, vocab))
    for key in sorted(stats):
        v = sorted(stats[key])
        p99 = v[min(len(v) - 1, int(len(v) * 0.99))]
        print("%-6s len=%2d n=%7d mean=%.2f p99=%d max=%d" %
              (key[0], key[1], len(v), sum(v) / len(v), p99, v[-1]))

if __name__ == "__main__":
    main()
