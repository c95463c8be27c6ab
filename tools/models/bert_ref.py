#!/usr/bin/python3
"""bert_ref.py - float64 numpy reference of a sentence-transformers BertModel.

Reads a model folder (config.json, model.safetensors with F32 tensors,
modules.json, 1_Pooling/config.json, sentence_bert_config.json, vocab.txt),
tokenises with wordpiece_py.py, and runs the whole BERT forward pass
(embeddings, LayerNorm with the folder's layer_norm_eps, every layer's
attention and FFN, mean or CLS pooling, optional L2 normalisation) in
float64. Independent of src/model/ and src/text/.

    /usr/bin/python3 tools/models/bert_ref.py MODEL_DIR < lines   # JSON array of vectors
"""
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wordpiece_py import WordPiece  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError("%s: tensor %s is %s (this reference reads F32 only)"
                             % (path, name, t["dtype"]))
        a, b = t["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype="<f4").astype(np.float64)
        out[name[5:] if name.startswith("bert.") else name] = arr.reshape(t["shape"])
    return out


class BertRef:
    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            self.cfg = json.load(f)
        self.w = read_safetensors(os.path.join(d, "model.safetensors"))
        self.tok = WordPiece.from_dir(d)
        self.eps = float(self.cfg.get("layer_norm_eps", 1e-12))
        self.max_seq = int(self.cfg.get("max_position_embeddings", 512))
        self.pooling, self.normalize = "mean", False
        mpath = os.path.join(d, "modules.json")
        if os.path.exists(mpath):
            with open(mpath) as f:
                for mod in json.load(f):
                    if "Normalize" in mod["type"]:
                        self.normalize = True
                    elif "Pooling" in mod["type"]:
                        with open(os.path.join(d, mod["path"], "config.json")) as pf:
                            pc = json.load(pf)
                        self.pooling = "cls" if pc.get("pooling_mode_cls_token") else "mean"
        spath = os.path.join(d, "sentence_bert_config.json")
        if os.path.exists(spath):
            with open(spath) as f:
                self.max_seq = min(self.max_seq, int(json.load(f)["max_seq_length"]))

    def ln(self, x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def encode_ids(self, ids):
        w, c = self.w, self.cfg
        h, nh = c["hidden_size"], c["num_attention_heads"]
        dh, n = h // nh, len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self.ln(x, "embeddings.LayerNorm")
        erf = np.vectorize(math.erf)
        for i in range(c["num_hidden_layers"]):
            p = "encoder.layer.%d." % i

            def heads(part):
                return self.dense(x, p + "attention.self." + part).reshape(n, nh, dh).transpose(1, 0, 2)
            q, k, v = heads("query"), heads("key"), heads("value")
            s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, h)
            x = self.ln(x + self.dense(ctx, p + "attention.output.dense"),
                        p + "attention.output.LayerNorm")
            u = self.dense(x, p + "intermediate.dense")
            u = 0.5 * u * (1.0 + erf(u / math.sqrt(2.0)))
            x = self.ln(x + self.dense(u, p + "output.dense"), p + "output.LayerNorm")
        v = x[0] if self.pooling == "cls" else x.mean(0)
        if self.normalize:
            v = v / max(np.linalg.norm(v), 1e-12)
        return v

    def embed(self, text):
        return self.encode_ids(self.tok.encode(text, self.max_seq))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bert_ref.py MODEL_DIR < lines")
    m = BertRef(sys.argv[1])
    vecs = [m.embed(line.rstrip("\r\n")).tolist() for line in sys.stdin]
    json.dump(vecs, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
