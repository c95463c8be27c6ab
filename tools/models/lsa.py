"""lsa.py - latent semantic analysis over word pieces (numpy only).

Used by make_lsa_model.py (to pack the term vectors as a BERT model) and by
lsa_eval.py (to score exact LSA on IR collections).

  corpus texts --WordPiece--> counts[doc][piece]
  X[d, w] = (1 + ln tf) * idf(w), rows L2-normalised; idf(w) = ln(N / df(w))
  X ~= U_k S_k V_k^T (truncated SVD, exact: eigen-decomposition of the Gram
                      matrix of the smaller side, float64)
  term vector  t(w)   = idf(w) * V_k[w] * S_k^p        (p = sigma_power, 0 or 1)
  fold-in      z(doc) = sum over the doc's pieces of t(w) = (tf o idf) V_k S_k^p

Only pieces that occur in the corpus get a vector; special tokens are
excluded. Signs of singular vectors are fixed (largest |component| of each
column of V positive), so the output is deterministic.
"""
import json
import os

import numpy as np

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_corpus(path, max_docs=0):
    """BEIR corpus.jsonl (title + text) or a folder of .txt/.md files.
    Returns (ids, texts) in file order (folders: sorted relative paths)."""
    ids, texts = [], []
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for n in sorted(names):
                if n.endswith((".txt", ".md")):
                    files.append(os.path.join(root, n))
        files.sort()
        for f in files:
            with open(f, encoding="utf-8", errors="replace") as fh:
                texts.append(fh.read())
            ids.append(os.path.relpath(f, path))
            if max_docs and len(ids) >= max_docs:
                break
    else:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    o = json.loads(line)
                    ids.append(str(o["_id"]))
                except (ValueError, KeyError) as e:
                    raise ValueError("%s:%d: not a BEIR corpus line (%s)" % (path, lineno, e))
                title, text = o.get("title") or "", o.get("text") or ""
                texts.append((title + "\n" + text) if title else text)
                if max_docs and len(ids) >= max_docs:
                    break
    if not texts:
        raise ValueError("%s: no documents (.jsonl lines or .txt/.md files)" % path)
    return ids, texts


class LSA:
    def __init__(self, tok, texts, k, sigma_power=0):
        self.tok = tok
        special = {tok.vocab[s] for s in SPECIAL if s in tok.vocab}
        docs = [[i for i in tok.tokenize(t) if i not in special] for t in texts]
        terms = sorted({i for d in docs for i in d})
        if not terms:
            raise ValueError("the corpus has no word pieces")
        self.terms = np.array(terms, dtype=np.int64)          # vocab ids, sorted
        col = {w: j for j, w in enumerate(terms)}
        n, m = len(docs), len(terms)
        if n < 2:
            raise ValueError("LSA needs at least 2 documents (got %d)" % n)
        X = np.zeros((n, m))
        for r, d in enumerate(docs):
            ids, cnt = np.unique([col[i] for i in d], return_counts=True) if d else ([], [])
            X[r, ids] = cnt
        df = (X > 0).sum(0)
        self.idf = np.log(n / df)
        nz = X > 0
        X[nz] = 1.0 + np.log(X[nz])
        X *= self.idf
        if not X.any():
            raise ValueError("every word piece occurs in every document (all idf = 0)")
        norms = np.linalg.norm(X, axis=1)
        X[norms > 0] /= norms[norms > 0, None]
        # exact truncated SVD via the Gram matrix of the smaller side
        if n <= m:
            ev, U = np.linalg.eigh(X @ X.T)
            order = np.argsort(ev)[::-1]
            ev, U = ev[order], U[:, order]
            keep = np.flatnonzero(ev > ev[0] * 1e-10)[:k]
            s = np.sqrt(ev[keep])
            V = (X.T @ U[:, keep]) / s
        else:
            ev, V = np.linalg.eigh(X.T @ X)
            order = np.argsort(ev)[::-1]
            ev, V = ev[order], V[:, order]
            keep = ev > ev[0] * 1e-10
            s = np.sqrt(ev[keep])
            V = V[:, keep]
        k = min(k, len(s))
        V, s = V[:, :k], s[:k]
        flip = np.sign(V[np.abs(V).argmax(0), np.arange(k)])
        V = V * flip
        self.k, self.s, self.V = k, s, V
        self.n_docs = n
        self.sigma_power = sigma_power
        # term vectors, one row per entry of self.terms
        self.T = self.idf[:, None] * V * (s ** sigma_power)[None, :]
        self.col = col

    def fold(self, ids, sublinear=False):
        """LSA vector of a piece sequence (specials and unseen pieces ignored).
        sublinear=False is what a token-sum model computes: (tf o idf) V S^p;
        sublinear=True uses the training weighting (1 + ln tf) * idf."""
        cols = [self.col[i] for i in ids if i in self.col]
        z = np.zeros(self.k)
        if not cols:
            return z
        c, cnt = np.unique(cols, return_counts=True)
        w = (1.0 + np.log(cnt)) if sublinear else cnt.astype(np.float64)
        return w @ self.T[c]


def zero_mean_basis(dim):
    """dim x (dim - 1) orthonormal columns, all orthogonal to the ones vector
    (Householder reflection that maps e_last to ones/sqrt(dim))."""
    e = np.zeros(dim)
    e[-1] = 1.0
    u = e - np.ones(dim) / np.sqrt(dim)
    H = np.eye(dim) - 2.0 * np.outer(u, u) / (u @ u)
    return H[:, :dim - 1]
