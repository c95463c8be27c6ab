"""wordpiece_py.py - BERT WordPiece tokenizer in pure Python (no dependencies).

The algorithm of Hugging Face tokenizers' BertNormalizer (clean text, space
around CJK ideographs, strip accents, lowercase) + BertPreTokenizer (split on
whitespace and punctuation) + WordPiece (greedy longest match, "##"
continuations, words over 100 characters -> [UNK]). It is written from the
published algorithm, independently of src/text/wordpiece*.c, so tests that
compare docrag's embeddings with a numpy forward pass fed by these ids also
check the C tokenizer. Differences from HF are possible only in Unicode
corner cases (full-case-mapping lowercase of a few letters such as U+0130);
the texts we use are ASCII or Latin-1.

    tok = WordPiece.from_dir("../shared/models/all-MiniLM-L6-v2-no-weights")
    tok.encode("Hello world", max_len=256)   # [101, 7592, 2088, 102]
"""
import os
import unicodedata


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_whitespace(ch):
    if ch in " \t\n\r":
        return True
    return unicodedata.category(ch) == "Zs"


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F
            or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    def __init__(self, vocab, unk="[UNK]", max_chars=100):
        self.vocab = vocab                      # token -> id
        self.unk_id = vocab[unk]
        self.cls_id = vocab["[CLS]"]
        self.sep_id = vocab["[SEP]"]
        self.max_chars = max_chars

    @classmethod
    def from_dir(cls, model_dir):
        path = os.path.join(model_dir, "vocab.txt")
        vocab = {}
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                tok = line.rstrip("\n")
                if tok not in vocab:
                    vocab[tok] = i
        return cls(vocab)

    def normalize(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                out.append(" ")
            elif _is_cjk(cp):
                out.append(" " + ch + " ")
            else:
                out.append(ch)
        s = unicodedata.normalize("NFD", "".join(out))
        s = "".join(c for c in s if unicodedata.category(c) != "Mn")
        return s.lower()

    def words(self, text):
        """Normalised text split on whitespace and punctuation."""
        words = []
        for chunk in self.normalize(text).split():
            cur = []
            for ch in chunk:
                if _is_punct(ch):
                    if cur:
                        words.append("".join(cur))
                        cur = []
                    words.append(ch)
                else:
                    cur.append(ch)
            if cur:
                words.append("".join(cur))
        return words

    def pieces(self, word):
        if len(word) > self.max_chars:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    found = self.vocab[sub]
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def tokenize(self, text):
        """Word-piece ids without special tokens."""
        ids = []
        for w in self.words(text):
            ids.extend(self.pieces(w))
        return ids

    def encode(self, text, max_len=0):
        """[CLS] ids [SEP], truncated to max_len tokens in all (0 = no limit)."""
        ids = self.tokenize(text)
        if max_len:
            ids = ids[:max(max_len - 2, 0)]
        return [self.cls_id] + ids + [self.sep_id]
