#!/usr/bin/python3
"""ppr_ref.py - numpy reference for rag_graph_ppr (tests/unit/retrieve/test_graph.c).

Writes ppr_golden.txt next to this script: a small weighted undirected graph
(two components, chunk ids like the real 64-bit hashes), and for several seed
sets the exact personalised PageRank

    pi = alpha * s + (1 - alpha) * pi P,   P = D^-1 W  (row-stochastic)

solved as a linear system (pi = alpha s (I - (1 - alpha) P)^-1), with s the
seed weights normalised over seeds that are in the graph. Ids asked for but
not in the graph score 0.

Run: /usr/bin/python3 (Debian python3-numpy) tests/data/graph/ppr_ref.py
"""
import os
import numpy as np

ALPHA = 0.15
EDGES = [  # src, dst, weight (undirected)
    (101, 102, 2.0),
    (101, 103, 1.0),
    (102, 103, 0.5),
    (103, 104, 3.0),
    (104, 105, 1.25),
    (105, 106, 0.75),
    (106, 101, 1.5),
    (-7046029254386353131, 104, 2.5),   # a negative 64-bit chunk id
    (9007199254740993, 101, 0.2),       # 2^53 + 1: not exact as a double
    (201, 202, 1.0),                    # a second component
    (202, 203, 4.0),
]
CASES = [
    ("one_seed", [(101, 1.0)]),
    ("two_seeds_weighted", [(103, 3.0), (105, 1.0)]),
    ("other_component", [(202, 1.0)]),
    ("unknown_seed_ignored", [(999, 5.0), (9007199254740993, 1.0)]),
    ("mixed_components", [(106, 0.5), (201, 0.5), (104, 2.0)]),
]
ASK = [101, 102, 103, 104, 105, 106, -7046029254386353131, 9007199254740993,
       201, 202, 203, 999, 9007199254740992]


def main():
    nodes = sorted({e[0] for e in EDGES} | {e[1] for e in EDGES})
    idx = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    W = np.zeros((n, n))
    for a, b, w in EDGES:
        W[idx[a], idx[b]] += w
        W[idx[b], idx[a]] += w
    P = W / W.sum(axis=1, keepdims=True)
    out = [f"alpha {ALPHA!r}"]
    out += [f"edge {a} {b} {w!r}" for a, b, w in EDGES]
    for name, seeds in CASES:
        s = np.zeros(n)
        for c, w in seeds:
            if c in idx:
                s[idx[c]] += w
        s /= s.sum()
        pi = ALPHA * np.linalg.solve((np.eye(n) - (1 - ALPHA) * P).T, s)
        out.append(f"case {name}")
        out += [f"seed {c} {w!r}" for c, w in seeds]
        for c in ASK:
            out.append(f"score {c} {pi[idx[c]] if c in idx else 0.0:.17g}")
        out.append("end")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ppr_golden.txt")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
