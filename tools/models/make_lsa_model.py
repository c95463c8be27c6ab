#!/usr/bin/python3
"""make_lsa_model.py - pack latent semantic analysis of a corpus as a BertModel folder.

    /usr/bin/python3 tools/models/make_lsa_model.py CORPUS OUT_DIR [--dim D]
        [--max-docs N] [--sigma-power P]

CORPUS is a BEIR corpus.jsonl (title + text) or a folder of .txt/.md files.
OUT_DIR becomes an ordinary sentence-transformers model folder that docrag's
local embedder (src/model/, unchanged) runs; its model id is the folder name.

Construction (see docs/models.md, "LSA stand-in model"):
  - LSA over the corpus tokenised with the all-MiniLM-L6-v2 WordPiece vocabulary
    (tools/models/lsa.py): k = min(D - 1, rank) dimensions.
  - word_embeddings[w] = c * B * t(w), t(w) = idf(w) V_k[w] S_k^P, where B is
    a D x (D-1) orthonormal basis orthogonal to the ones vector: every vector
    has mean exactly 0 over the hidden dimensions, so LayerNorm's centring is
    the identity. c makes the largest per-token variance 1e-4 of
    layer_norm_eps (1.0), so LayerNorm scales each token by
    1/sqrt(1 + var/eps) ~ 1: its idf magnitude survives. Pieces absent from
    the corpus and all special tokens are 0; position and token-type
    embeddings are 0.
  - One transformer layer made an identity: attention output dense and FFN
    output dense weights and biases 0 (each residual passes x through), all
    LayerNorm gamma 1, beta 0. Q/K/V and the FFN up-projection are 0 too.
  - Mean pooling + Normalize, max_seq_length 256.
So the model's output is normalize(sum over the text's pieces of t(w)) up to
LayerNorm's 1/sqrt(1 + var/eps) factors and float32 rounding: the LSA fold-in
of the text with raw term frequency (not the sublinear tf of training).

Deterministic: no randomness is used; signs of singular vectors are fixed.
Needs numpy only. Tokenisation is tools/models/wordpiece_py.py (pure Python,
so this script runs without a docrag build and stays independent of the C
tokenizer that the tests compare against).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from lsa import LSA, read_corpus, zero_mean_basis  # noqa: E402
from make_models import write_safetensors  # noqa: E402
from wordpiece_py import WordPiece  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("DOCRAG_SHARED", os.path.join(ROOT, "..", "shared"))
VOCAB_DIR = os.path.join(SHARED, "models", "all-MiniLM-L6-v2-no-weights")
VOCAB = 30522
EPS = 1.0              # layer_norm_eps
VAR_RATIO = 1e-4       # largest per-token variance / eps
MAX_POS = 512
MAX_SEQ = 256
FFN = 32


def wjson(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def build(corpus, out, dim, max_docs, sigma_power):
    tok = WordPiece.from_dir(VOCAB_DIR)
    if len(tok.vocab) != VOCAB:
        raise ValueError("%s/vocab.txt: %d tokens, expected %d" % (VOCAB_DIR, len(tok.vocab), VOCAB))
    ids, texts = read_corpus(corpus, max_docs)
    lsa = LSA(tok, texts, dim - 1, sigma_power)
    B = zero_mean_basis(dim)[:, :lsa.k]                  # dim x k
    E = lsa.T @ B.T                                      # terms x dim, float64
    var = (E ** 2).mean(1)                               # mean is 0 by construction
    c = np.sqrt(VAR_RATIO * EPS / var.max())
    word = np.zeros((VOCAB, dim), dtype=np.float32)
    word[lsa.terms] = (c * E).astype(np.float32)

    h = dim
    heads = next(x for x in (12, 8, 6, 4, 2, 1) if h % x == 0)
    zeros = lambda *s: np.zeros(s, dtype=np.float32)  # noqa: E731
    ones = lambda *s: np.ones(s, dtype=np.float32)  # noqa: E731
    t = [("embeddings.word_embeddings.weight", word),
         ("embeddings.position_embeddings.weight", zeros(MAX_POS, h)),
         ("embeddings.token_type_embeddings.weight", zeros(2, h)),
         ("embeddings.LayerNorm.weight", ones(h)),
         ("embeddings.LayerNorm.bias", zeros(h))]
    p = "encoder.layer.0."
    for part in ("query", "key", "value"):
        t += [(p + "attention.self.%s.weight" % part, zeros(h, h)),
              (p + "attention.self.%s.bias" % part, zeros(h))]
    t += [(p + "attention.output.dense.weight", zeros(h, h)),
          (p + "attention.output.dense.bias", zeros(h)),
          (p + "attention.output.LayerNorm.weight", ones(h)),
          (p + "attention.output.LayerNorm.bias", zeros(h)),
          (p + "intermediate.dense.weight", zeros(FFN, h)),
          (p + "intermediate.dense.bias", zeros(FFN)),
          (p + "output.dense.weight", zeros(h, FFN)),
          (p + "output.dense.bias", zeros(h)),
          (p + "output.LayerNorm.weight", ones(h)),
          (p + "output.LayerNorm.bias", zeros(h))]

    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"),
                      [(name, "F32", a) for name, a in t])
    wjson(os.path.join(out, "config.json"), {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": h, "num_hidden_layers": 1, "num_attention_heads": heads,
        "intermediate_size": FFN, "max_position_embeddings": MAX_POS,
        "type_vocab_size": 2, "vocab_size": VOCAB, "layer_norm_eps": EPS,
        "pad_token_id": 0, "position_embedding_type": "absolute",
        "attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.0})
    wjson(os.path.join(out, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    wjson(os.path.join(out, "1_Pooling", "config.json"), {
        "word_embedding_dimension": h, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    wjson(os.path.join(out, "sentence_bert_config.json"),
          {"max_seq_length": MAX_SEQ, "do_lower_case": False})
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(VOCAB_DIR, name), os.path.join(out, name))
    name = os.path.basename(os.path.normpath(out))
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("""# %s: latent semantic analysis packed as a BertModel

Not a neural model and not pretrained. Generated by docrag's
`tools/models/make_lsa_model.py` from `%s` (%d documents).

- LSA (truncated SVD of the tf-idf matrix, sublinear tf, idf = ln(N/df), rows
  L2-normalised) over all-MiniLM-L6-v2 word pieces: %d dimensions
  (hidden size %d; one dimension is spent keeping every vector zero-mean).
- Word embedding of a piece = its idf-weighted LSA term vector (S^%d scaling);
  pieces absent from the corpus and special tokens are 0.
- One transformer layer whose attention and FFN outputs are 0 (an identity),
  layer_norm_eps %.1f so LayerNorm keeps each token's magnitude; mean pooling +
  L2 normalisation.
- Output = normalised sum of the text's term vectors = the LSA fold-in of the
  text with raw term frequency; texts are truncated to %d tokens.

It carries the corpus' co-occurrence statistics only: it knows no word that
is absent from `%s`. A stand-in for evaluation plumbing until real
sentence-embedding weights are available; see docrag's docs/models.md.
""" % (name, corpus, lsa.n_docs, lsa.k, h, sigma_power, EPS, MAX_SEQ, corpus))
    return lsa, c, B


def main():
    ap = argparse.ArgumentParser(description="LSA packed as a sentence-transformers BertModel folder")
    ap.add_argument("corpus", help="BEIR corpus.jsonl or a folder of .txt/.md files")
    ap.add_argument("out_dir")
    ap.add_argument("--dim", type=int, default=384, help="hidden size (default 384; >= 2)")
    ap.add_argument("--max-docs", type=int, default=5000,
                    help="use the first N documents (default 5000; the tf-idf matrix is dense, 8 x N x pieces bytes; 0 = all)")
    ap.add_argument("--sigma-power", type=int, default=0, choices=(0, 1),
                    help="term vectors idf*V_k (0, default) or idf*V_k*S_k (1)")
    a = ap.parse_args()
    if a.dim < 2:
        ap.error("--dim must be at least 2")
    if not os.path.isdir(VOCAB_DIR):
        sys.exit("make_lsa_model.py: %s not found (set DOCRAG_SHARED)" % VOCAB_DIR)
    if not os.path.exists(a.corpus):
        sys.exit("make_lsa_model.py: %s: no such file or folder" % a.corpus)
    try:
        lsa, c, _ = build(a.corpus, a.out_dir, a.dim, a.max_docs, a.sigma_power)
    except (ValueError, OSError) as e:
        sys.exit("make_lsa_model.py: %s" % e)
    print("make_lsa_model.py: %s: %d docs, %d word pieces, %d LSA dims, hidden %d, scale %.4g"
          % (a.out_dir, lsa.n_docs, len(lsa.terms), lsa.k, a.dim, c))


if __name__ == "__main__":
    main()
