#!/usr/bin/env python3
"""chunk_calibrate.py - calibrate rag_chunk_estimate_tokens against a real
BERT uncased WordPiece tokenizer (reference written here from the BERT paper's
description: BasicTokenizer + greedy longest-match-first WordPiece).

Usage: chunk_calibrate.py VOCAB.txt TEXTFILE...
       chunk_calibrate.py --windows VOCAB.txt TEXTFILE...
The first form prints, per word class (alpha / digit / mixed alnum /
non-ASCII) and length, how many WordPiece tokens words of that shape really
cost (mean, p99, max): what the estimator's per-word prices were fitted to.
The second cuts each file into back-to-back windows of exactly 250
estimated tokens (a Python copy of the prices in src/text/chunker.c, ASCII
only) - the worst case, as the chunker usually ends nearer 200 - and prints
est/real and how many windows exceed 254 real tokens.
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
        w = "".join(c for c in w if unicodedata.category(c) not in ("Mn", "Cc", "Cf"))
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

ALPHA = [0, 106, 112, 122, 128, 134, 142, 150, 160, 172, 188, 205, 220, 245, 270, 290]

def alpha_cost(n):
    return ALPHA[n] if n < 16 else 40 * n

def digit_cost(n):
    return 110 if n <= 2 else 130 if n == 3 else 160 if n == 4 else 55 * n + 30

def est_cost(w):
    """Price of one basic token in hundredths (mirror of word_cost)."""
    n = len(w)
    if n == 1 and (is_punct(w) or is_cjk(ord(w))):
        return 100
    base = max(alpha_cost(n), digit_cost(n))
    if not w.isascii():
        return max(70 * n + 80, 50 * n + 110, base)
    if w.isalpha():
        if n >= 2 and not any(c in "aeiouy" for c in w):
            return max(45 * n + 100, alpha_cost(n))
        return alpha_cost(n)
    if w.isdigit():
        return digit_cost(n)
    return max(50 * n + 110, base)

def windows(vocab, paths):
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            toks = basic_tokens(f.read())
        costs = [(est_cost(w), 1 if len(w) == 1 and (is_punct(w) or is_cjk(ord(w)))
                  else wordpiece(w, vocab)) for w in toks]
        i = n_win = n_over = 0
        sum_e = sum_r = 0
        while i < len(costs):
            e = r = 0
            j = i
            while j < len(costs) and e + costs[j][0] <= 25000:
                e += costs[j][0]
                r += costs[j][1]
                j += 1
            if j == len(costs) or j == i:
                break
            n_win += 1
            sum_e += e / 100
            sum_r += r
            n_over += r > 254
            i = j
        print("%-40s windows=%5d est/real=%.3f over254=%d (%.1f%%)" %
              (path[-40:], n_win, sum_e / max(sum_r, 1), n_over, 100.0 * n_over / max(n_win, 1)))

def main():
    if sys.argv[1] == "--windows":
        windows(load_vocab(sys.argv[2]), sys.argv[3:])
        return
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
