#!/usr/bin/env python3
"""Reference AUC for the answer-quality eval's unit test (test_answers.c).

Independent of the C code: the Mann-Whitney U statistic from average ranks
(ties get the mean of the ranks they span), AUC = U / (n_pos * n_neg);
null when either class is empty. Reads auc_cases.json, prints the golden
file the C test compares against:

    python3 tests/data/answers/auc_ref.py > tests/data/answers/auc_golden.json
"""
import json
import os
import sys


def auc(scores, labels):
    n_pos = sum(1 for l in labels if l)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = sum(r for r, l in zip(ranks, labels) if l)
    u = rank_sum - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cases = json.load(open(os.path.join(here, "auc_cases.json")))
    out = [{"name": c["name"], "auc": auc(c["scores"], c["labels"])} for c in cases]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
