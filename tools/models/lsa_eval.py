#!/usr/bin/python3
"""lsa_eval.py - dense-only LSA retrieval on BEIR collections, and RRF with a BM25 run.

    /usr/bin/python3 tools/models/lsa_eval.py IR_DIR [IR_DIR...] [--dim 384]
        [--sigma-power 0] [--bm25-runs DIR] [--docrag BIN --models DIR]

For each collection (corpus.jsonl, queries.jsonl, qrels/test.tsv) it builds
the LSA of the corpus exactly as make_lsa_model.py does and ranks all
documents by cosine for every query. Rows printed (metrics from
../shared/tools/ireval.py, the same scorer `docrag eval` is tested against):
  lsa-sublinear   classic LSA fold-in, (1 + ln tf) * idf, whole document
  lsa-rawtf-256   what the model computes: raw tf * idf, texts cut to 254 pieces
  docrag-embed    (with --docrag/--models) the packed model folder run by
                  `docrag embed`; also the cosine of its vectors to lsa-rawtf-256
  bm25            (with --bm25-runs) DIR/NAME.run from `docrag eval --run`
  rrf(bm25,X)     reciprocal rank fusion, k = 60, of the BM25 run and the
                  top 100 of the best dense row above.
Needs numpy only (plus the docrag binary for the optional rows).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_lsa_model  # noqa: E402
from lsa import LSA, read_corpus  # noqa: E402
from wordpiece_py import WordPiece  # noqa: E402

DEPTH = 100
RRF_K = 60


def load_ireval():
    path = os.path.join(make_lsa_model.SHARED, "tools", "ireval.py")
    spec = importlib.util.spec_from_file_location("ireval", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_queries(path):
    qids, texts = [], []
    with open(path) as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                qids.append(str(o["_id"]))
                texts.append(o["text"])
    return qids, texts


def normalize(M):
    n = np.linalg.norm(M, axis=1, keepdims=True)
    return M / np.where(n > 0, n, 1.0)


def rank(Q, D, qids, dids, depth=DEPTH):
    S = normalize(Q) @ normalize(D).T
    run = {}
    for i, q in enumerate(qids):
        top = np.argsort(-S[i], kind="stable")[:depth]
        run[q] = [(dids[j], float(S[i, j])) for j in top]
    return run


def write_run(path, run, tag):
    with open(path, "w") as f:
        for q, lst in run.items():
            for r, (d, s) in enumerate(lst, 1):
                f.write("%s Q0 %s %d %.6f %s\n" % (q, d, r, s, tag))


def read_run(path):
    run = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5:
                run.setdefault(p[0], []).append((p[2], float(p[4])))
    return {q: sorted(v, key=lambda x: -x[1]) for q, v in run.items()}


def rrf(a, b, depth=DEPTH):
    out = {}
    for q in set(a) | set(b):
        sc = {}
        for lst in (a.get(q, [])[:depth], b.get(q, [])[:depth]):
            for r, (d, _) in enumerate(lst, 1):
                sc[d] = sc.get(d, 0.0) + 1.0 / (RRF_K + r)
        out[q] = sorted(sc.items(), key=lambda x: (-x[1], x[0]))
    return out


def docrag_embed(binary, model, texts):
    data = "".join(t.replace("\r", " ").replace("\n", " ") + "\n" for t in texts)
    p = subprocess.run([binary, "embed", "--model", model], input=data.encode(),
                       stdout=subprocess.PIPE, check=True)
    return np.array(json.loads(p.stdout))


def evaluate(ire, qrels_path, run, tmp, tag):
    path = os.path.join(tmp, tag + ".run")
    write_run(path, run, tag)
    return ire.evaluate(ire.load_qrels(qrels_path), ire.load_run(path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--sigma-power", type=int, default=0, choices=(0, 1))
    ap.add_argument("--bm25-runs", help="folder with NAME.run from docrag eval --run")
    ap.add_argument("--docrag", help="docrag binary (adds the docrag-embed row)")
    ap.add_argument("--models", help="folder for the generated lsa-NAME model folders")
    ap.add_argument("--tmp", default="/tmp/lsa_eval")
    a = ap.parse_args()
    ire = load_ireval()
    os.makedirs(a.tmp, exist_ok=True)
    tok = WordPiece.from_dir(make_lsa_model.VOCAB_DIR)
    print("| collection | run | nDCG@10 | Recall@100 | MRR@10 |")
    print("|---|---|---|---|---|")
    for d in a.dirs:
        name = os.path.basename(os.path.normpath(d))
        corpus = os.path.join(d, "corpus.jsonl")
        qrels = os.path.join(d, "qrels", "test.tsv")
        dids, dtexts = read_corpus(corpus)
        qids, qtexts = read_queries(os.path.join(d, "queries.jsonl"))
        if a.docrag:
            out = os.path.join(a.models, "lsa-" + name)
            lsa, _, B = make_lsa_model.build(corpus, out, a.dim, 5000, a.sigma_power)
        else:
            lsa = LSA(tok, dtexts, a.dim - 1, a.sigma_power)
        dtok = [tok.tokenize(t) for t in dtexts]
        qtok = [tok.tokenize(t) for t in qtexts]
        rows = {}
        D = np.array([lsa.fold(t, sublinear=True) for t in dtok])
        Q = np.array([lsa.fold(t, sublinear=True) for t in qtok])
        rows["lsa-sublinear"] = rank(Q, D, qids, dids)
        D = np.array([lsa.fold(t[:254]) for t in dtok])
        Q = np.array([lsa.fold(t[:254]) for t in qtok])
        rows["lsa-rawtf-256"] = rank(Q, D, qids, dids)
        best = "lsa-rawtf-256"
        if a.docrag:
            De = docrag_embed(a.docrag, out, dtexts)
            Qe = docrag_embed(a.docrag, out, qtexts)
            Dz = normalize(D @ B.T)
            nz = np.linalg.norm(Dz, axis=1) > 0
            cos = (De[nz] * Dz[nz]).sum(1)
            print("<!-- %s: cosine(docrag embed, exact raw-tf LSA) over %d docs: min %.6f mean %.8f -->"
                  % (name, nz.sum(), cos.min(), cos.mean()))
            rows["docrag-embed"] = rank(Qe, De, qids, dids)
            best = "docrag-embed"
        if a.bm25_runs:
            bm = read_run(os.path.join(a.bm25_runs, name + ".run"))
            rows["bm25"] = bm
            rows["rrf(bm25,%s)" % best] = rrf(bm, rows[best])
        for tag, run in rows.items():
            m = evaluate(ire, qrels, run, a.tmp, name + "." + tag.replace("(", "_").replace(",", "_").replace(")", ""))
            print("| %s | %s | %.4f | %.4f | %.4f |" % (name, tag, m["ndcg@10"], m["recall@100"], m["mrr@10"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
