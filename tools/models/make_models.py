#!/usr/bin/python3
"""make_models.py - generate the small test models and their golden outputs.

Writes, deterministically (fixed seeds), under tests/data/models/:
  bi-encoder/      BertModel, hidden 24, 2 layers, 4 heads, FFN 48, the real
                   all-MiniLM-L6-v2 vocabulary (30522); word embeddings in F16,
                   the rest F32; bare tensor names; sentence-transformers files
                   (mean pooling + Normalize, max_seq_length 128).
  bi-encoder-cls/  the same weights (symlink) with CLS pooling and no Normalize.
  cross-encoder/   BertForSequenceClassification, hidden 16, 2 layers, 2 heads,
                   FFN 32, num_labels 1; "bert." prefixed names, word
                   embeddings in BF16, some tensors F16, an extra I64
                   "bert.embeddings.position_ids" buffer like old checkpoints.
  golden_<model>.json  outputs of an independent float64 numpy forward pass for
                   token-id inputs (single, batched with mixed lengths, padded).

The safetensors files are written by hand (8-byte little-endian header length,
JSON header, raw little-endian data). Needs numpy only:
    /usr/bin/python3 tools/models/make_models.py
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "data", "models")
SHARED = os.environ.get("DOCRAG_SHARED", os.path.join(ROOT, "..", "shared"))
VOCAB_DIR = os.path.join(SHARED, "models", "all-MiniLM-L6-v2-no-weights")
VOCAB = 30522


def to_bf16_bits(a):
    """float32 array -> uint16 bf16 bits, round to nearest even."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype_str, np.ndarray already in that dtype)."""
    header = {"__metadata__": {"format": "pt", "generator": "make_models.py"}}
    blobs = []
    off = 0
    for name, dt, arr in tensors:
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Model:
    """Random BERT weights; `w` holds the float64 values exactly as stored."""

    def __init__(self, seed, hidden, layers, heads, ffn, max_pos, cross):
        self.rng = np.random.default_rng(seed)
        self.h, self.nl, self.nh, self.f = hidden, layers, heads, ffn
        self.max_pos, self.cross = max_pos, cross
        self.w = {}
        self.store = []  # (name, dtype, array)

    def add(self, name, shape, scale, dtype="F32", offset=0.0):
        a = (self.rng.standard_normal(shape) * scale + offset).astype(np.float32)
        if dtype == "F16":
            s = a.astype(np.float16)
            self.w[name] = s.astype(np.float64)
        elif dtype == "BF16":
            s = to_bf16_bits(a)
            self.w[name] = bf16_bits_to_f32(s).astype(np.float64)
        else:
            s = a
            self.w[name] = a.astype(np.float64)
        self.store.append((name, dtype, s))

    def build(self, word_dtype, other_dtype=None):
        h, f = self.h, self.f
        self.add("embeddings.word_embeddings.weight", (VOCAB, h), 0.5, word_dtype)
        self.add("embeddings.position_embeddings.weight", (self.max_pos, h), 0.3)
        self.add("embeddings.token_type_embeddings.weight", (2, h), 0.3)
        self.add("embeddings.LayerNorm.weight", (h,), 0.1, offset=1.0)
        self.add("embeddings.LayerNorm.bias", (h,), 0.1)
        wscale = 1.0 / math.sqrt(h)
        for i in range(self.nl):
            p = "encoder.layer.%d." % i
            for part in ("query", "key", "value"):
                self.add(p + "attention.self.%s.weight" % part, (h, h), wscale,
                         other_dtype or "F32")
                self.add(p + "attention.self.%s.bias" % part, (h,), 0.1)
            self.add(p + "attention.output.dense.weight", (h, h), wscale)
            self.add(p + "attention.output.dense.bias", (h,), 0.1)
            self.add(p + "attention.output.LayerNorm.weight", (h,), 0.1, offset=1.0)
            self.add(p + "attention.output.LayerNorm.bias", (h,), 0.1)
            self.add(p + "intermediate.dense.weight", (f, h), wscale)
            self.add(p + "intermediate.dense.bias", (f,), 0.1)
            self.add(p + "output.dense.weight", (h, f), 1.0 / math.sqrt(f),
                     other_dtype or "F32")
            self.add(p + "output.dense.bias", (h,), 0.1)
            self.add(p + "output.LayerNorm.weight", (h,), 0.1, offset=1.0)
            self.add(p + "output.LayerNorm.bias", (h,), 0.1)
        if self.cross:
            self.add("pooler.dense.weight", (h, h), wscale)
            self.add("pooler.dense.bias", (h,), 0.1)
            self.add("classifier.weight", (1, h), wscale)
            self.add("classifier.bias", (1,), 0.1)

    # ---- independent reference forward pass (float64, one sequence) ----
    def encode(self, ids, type_ids):
        w, h, nh = self.w, self.h, self.nh
        dh = h // nh
        n = len(ids)

        def ln(x, g, b):
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            return (x - mu) / np.sqrt(var + 1e-12) * w[g] + w[b]

        def dense(x, name):
            return x @ w[name + ".weight"].T + w[name + ".bias"]

        gelu = np.vectorize(lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))))
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(n)]
             + w["embeddings.token_type_embeddings.weight"][type_ids])
        x = ln(x, "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias")
        for i in range(self.nl):
            p = "encoder.layer.%d." % i
            q = dense(x, p + "attention.self.query").reshape(n, nh, dh).transpose(1, 0, 2)
            k = dense(x, p + "attention.self.key").reshape(n, nh, dh).transpose(1, 0, 2)
            v = dense(x, p + "attention.self.value").reshape(n, nh, dh).transpose(1, 0, 2)
            s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
            s = np.exp(s - s.max(-1, keepdims=True))
            s = s / s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, h)
            x = ln(x + dense(ctx, p + "attention.output.dense"),
                   p + "attention.output.LayerNorm.weight",
                   p + "attention.output.LayerNorm.bias")
            u = gelu(dense(x, p + "intermediate.dense"))
            x = ln(x + dense(u, p + "output.dense"),
                   p + "output.LayerNorm.weight", p + "output.LayerNorm.bias")
        return x

    def embed(self, ids, pooling, normalize):
        x = self.encode(np.array(ids), np.zeros(len(ids), dtype=int))
        v = x[0] if pooling == "cls" else x.mean(0)
        if normalize:
            v = v / max(np.linalg.norm(v), 1e-12)
        return v

    def score(self, ids, type_ids):
        x = self.encode(np.array(ids), np.array(type_ids))
        pooled = np.tanh(x[0] @ self.w["pooler.dense.weight"].T + self.w["pooler.dense.bias"])
        return pooled @ self.w["classifier.weight"].T + self.w["classifier.bias"]


def bert_config(arch, m, extra=None):
    c = {
        "architectures": [arch], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": m.h, "num_hidden_layers": m.nl, "num_attention_heads": m.nh,
        "intermediate_size": m.f, "max_position_embeddings": m.max_pos,
        "type_vocab_size": 2, "vocab_size": VOCAB, "layer_norm_eps": 1e-12,
        "pad_token_id": 0, "position_embedding_type": "absolute",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1,
    }
    c.update(extra or {})
    return c


def wjson(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def tokenizer_files(d, link_to=None):
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        dst = os.path.join(d, name)
        if os.path.lexists(dst):
            os.remove(dst)
        if link_to:
            os.symlink(os.path.join("..", link_to, name), dst)
        else:
            shutil.copyfile(os.path.join(VOCAB_DIR, name), dst)


def rand_ids(rng, n):
    """[CLS] random word pieces [SEP] with n tokens in all."""
    if n == 1:
        return [101]
    mid = rng.integers(1000, VOCAB, size=n - 2).tolist()
    return [101] + mid + [102]


def main():
    if not os.path.isdir(VOCAB_DIR):
        sys.exit("make_models.py: %s not found (set DOCRAG_SHARED)" % VOCAB_DIR)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)

    # ---- bi-encoder ----
    bi = Model(1234, hidden=24, layers=2, heads=4, ffn=48, max_pos=128, cross=False)
    bi.build("F16")
    d = os.path.join(OUT, "bi-encoder")
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), bi.store)
    wjson(os.path.join(d, "config.json"), bert_config("BertModel", bi))
    wjson(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    wjson(os.path.join(d, "1_Pooling", "config.json"), {
        "word_embedding_dimension": bi.h, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    wjson(os.path.join(d, "sentence_bert_config.json"),
          {"max_seq_length": 128, "do_lower_case": False})
    tokenizer_files(d)

    # ---- same weights, CLS pooling, no normalisation ----
    dc = os.path.join(OUT, "bi-encoder-cls")
    os.makedirs(os.path.join(dc, "1_Pooling"), exist_ok=True)
    for name in ("model.safetensors", "config.json"):
        dst = os.path.join(dc, name)
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.path.join("..", "bi-encoder", name), dst)
    wjson(os.path.join(dc, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    wjson(os.path.join(dc, "1_Pooling", "config.json"), {
        "word_embedding_dimension": bi.h, "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False})
    wjson(os.path.join(dc, "sentence_bert_config.json"), {"max_seq_length": 64})
    tokenizer_files(dc, link_to="bi-encoder")

    # ---- cross-encoder ----
    ce = Model(4321, hidden=16, layers=2, heads=2, ffn=32, max_pos=128, cross=True)
    ce.build("BF16", other_dtype="F16")
    store = [("bert." + n if not n.startswith("classifier") else n, dt, a)
             for n, dt, a in ce.store]
    store.append(("bert.embeddings.position_ids", "I64",
                  np.arange(ce.max_pos, dtype=np.int64).reshape(1, -1)))
    dx = os.path.join(OUT, "cross-encoder")
    os.makedirs(dx, exist_ok=True)
    write_safetensors(os.path.join(dx, "model.safetensors"), store)
    wjson(os.path.join(dx, "config.json"), bert_config(
        "BertForSequenceClassification", ce,
        {"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}}))
    tokenizer_files(dx, link_to="bi-encoder")

    # ---- goldens ----
    lens = [1, 2, 5, 17, 9, 128, 3, 40]
    single = [[101, 7592, 2088, 102]]
    batched = [rand_ids(rng, n) for n in lens]
    for name, m, pooling, norm, maxlen in (("bi-encoder", bi, "mean", True, 128),
                                           ("bi-encoder-cls", bi, "cls", False, 64)):
        cases = []
        for cname, seqs in (("single", single),
                            ("batched", [s for s in batched if len(s) <= maxlen]),
                            ("padded", [batched[1], batched[3], batched[2]])):
            cases.append({"name": cname, "ids": seqs,
                          "output": [m.embed(s, pooling, norm).tolist() for s in seqs]})
        wjson(os.path.join(OUT, "golden_%s.json" % name),
              {"model": name, "generator": "tools/models/make_models.py",
               "dim": m.h, "cases": cases})

    pairs_ids, pairs_types = [], []
    for qn, pn in ((4, 10), (6, 3), (3, 60), (2, 1), (8, 119)):
        q = rand_ids(rng, qn)
        p = rand_ids(rng, pn + 1)[1:]  # passage tokens + [SEP]
        pairs_ids.append(q + p)
        pairs_types.append([0] * len(q) + [1] * len(p))
    cases = [
        {"name": "single", "ids": pairs_ids[:1], "type_ids": pairs_types[:1]},
        {"name": "batched", "ids": pairs_ids, "type_ids": pairs_types},
        {"name": "padded", "ids": [pairs_ids[1], pairs_ids[4], pairs_ids[3]],
         "type_ids": [pairs_types[1], pairs_types[4], pairs_types[3]]},
    ]
    for c in cases:
        c["output"] = [ce.score(i, t).tolist() for i, t in zip(c["ids"], c["type_ids"])]
    wjson(os.path.join(OUT, "golden_cross-encoder.json"),
          {"model": "cross-encoder", "generator": "tools/models/make_models.py",
           "dim": 1, "cases": cases})
    print("make_models.py: wrote", OUT)


if __name__ == "__main__":
    main()
