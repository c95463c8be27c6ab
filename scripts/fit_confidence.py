#!/usr/bin/env python3
"""Fit the extractive answer's confidence model (src/generate/extractive.c).

The answerer logs, at debug level, the features it computed for each
answer ("answer: features part_min=... chunk_cov=..."). This script asks
every question of an answers file (the tuning half of the answer eval)
with `docrag -v ask`, reads those features, takes each answer's label
(holds every nugget or not) from `docrag eval --answers FILE --json`, and
fits a logistic regression (plain Python: no numpy on the machine):
gradient descent on the mean log-loss plus an L2 penalty on the weights.
Refused answers have no features and are left out (their confidence is
the gate's, at most 0.1, below every answer's).

It prints the C initializer for conf_weights[] and the training AUC.

    awk 'NR%2==1' data/qa/answers.jsonl > tune.jsonl
    scripts/fit_confidence.py --docrag build/docrag --db corpus.db tune.jsonl

Deterministic: fixed start, fixed number of steps.
"""
import argparse
import json
import math
import re
import subprocess
import sys

FEATURES = ["part_min", "best_cov", "best_rank", "best_score", "agree",
            "missing_part", "fallback", "type_held", "typed", "chunk_cov"]


def features(docrag, db, question):
    out = subprocess.run([docrag, "-v", "--db", db, "ask", "--", question],
                         capture_output=True, text=True, check=True)
    for line in out.stderr.splitlines():
        if "answer: features " in line:
            vals = dict(kv.split("=") for kv in line.split("answer: features ")[1].split())
            return [float(vals[f]) for f in FEATURES]
    return None


def auc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return float("nan")
    won = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return won / (len(pos) * len(neg))


def fit(xs, ys, l2, steps=20000, rate=0.5):
    n, d = len(xs), len(xs[0])
    mean = [sum(x[j] for x in xs) / n for j in range(d)]
    sd = [math.sqrt(sum((x[j] - mean[j]) ** 2 for x in xs) / n) or 1.0 for j in range(d)]
    zs = [[(x[j] - mean[j]) / sd[j] for j in range(d)] for x in xs]
    w = [0.0] * (d + 1)
    for _ in range(steps):
        g = [0.0] * (d + 1)
        for z, y in zip(zs, ys):
            p = 1 / (1 + math.exp(-(w[0] + sum(wj * zj for wj, zj in zip(w[1:], z)))))
            g[0] += p - y
            for j in range(d):
                g[j + 1] += (p - y) * z[j]
        for j in range(d + 1):
            w[j] -= rate * (g[j] / n + (l2 * w[j] if j else 0))
    # back to the raw features' scale
    raw = [w[0] - sum(w[j + 1] * mean[j] / sd[j] for j in range(d))]
    raw += [w[j + 1] / sd[j] for j in range(d)]
    return raw


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("answers", help="answers file (the tuning half)")
    ap.add_argument("--docrag", default="build/docrag")
    ap.add_argument("--db", required=True, help="an index of the corpus")
    ap.add_argument("--l2", type=float, default=None,
                    help="L2 penalty (default: chosen by 5-fold cross-validation)")
    a = ap.parse_args()

    ev = subprocess.run([a.docrag, "-q", "eval", "--answers", a.answers, "--db", a.db,
                         "--json"], capture_output=True, text=True, check=True)
    results = json.loads(ev.stdout)["results"]
    qs = {}
    with open(a.answers) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                o = json.loads(line)
                qs[o["id"]] = o["question"]
    xs, ys = [], []
    for r in results:
        if r["refused"]:
            continue
        x = features(a.docrag, a.db, qs[r["id"]])
        if x is None:
            continue
        xs.append(x)
        ys.append(1 if r["answerable"] and r["all_nuggets"] else 0)
    l2 = a.l2
    if l2 is None:
        # the penalty by 5-fold cross-validation on this file alone
        # (folds by position), the AUC of the held-in-turn answers
        best = None
        for cand in (0.01, 0.05, 0.2, 0.5, 1.0):
            sc, lab = [], []
            for k in range(5):
                tr = [i for i in range(len(xs)) if i % 5 != k]
                te = [i for i in range(len(xs)) if i % 5 == k]
                wk = fit([xs[i] for i in tr], [ys[i] for i in tr], cand, steps=4000)
                sc += [wk[0] + sum(wj * xj for wj, xj in zip(wk[1:], xs[i])) for i in te]
                lab += [ys[i] for i in te]
            cv = auc(sc, lab)
            print(f"/* l2 {cand}: cross-validated AUC {cv:.4f} */")
            if best is None or cv > best[0]:
                best = (cv, cand)
        l2 = best[1]
    a.l2 = l2
    w = fit(xs, ys, l2)
    scores = [w[0] + sum(wj * xj for wj, xj in zip(w[1:], x)) for x in xs]
    print(f"/* fitted on {len(xs)} answers ({sum(ys)} holding every nugget) of "
          f"{a.answers}, l2 {a.l2}; training AUC {auc(scores, ys):.4f} */")
    print("static const double conf_weights[RAG_CONF_FEATURES + 1] = {")
    print("    " + ", ".join(f"{v:.4f}" for v in w) + ",")
    print("};")
    print("/* " + ", ".join(["intercept"] + FEATURES) + " */")


if __name__ == "__main__":
    sys.exit(main())
