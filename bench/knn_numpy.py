#!/usr/bin/python3
"""knn_numpy.py - the numpy baseline for bench_knn: the same exact kNN
(matrix-vector product + argpartition + sort of the top k) over N random
unit vectors of DIM float32, one query at a time, one BLAS thread.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/knn_numpy.py [N] [DIM] [Q] [K]

Prints one line: numpy p50/p99 latency in ms and GB/s over the matrix.
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
dim = int(sys.argv[2]) if len(sys.argv) > 2 else 384
nq = int(sys.argv[3]) if len(sys.argv) > 3 else 200
k = int(sys.argv[4]) if len(sys.argv) > 4 else 10

rng = np.random.default_rng(1)
mat = rng.standard_normal((n, dim), dtype=np.float32)
mat /= np.linalg.norm(mat, axis=1, keepdims=True)
qs = rng.standard_normal((nq, dim), dtype=np.float32)
qs /= np.linalg.norm(qs, axis=1, keepdims=True)


def knn(q):
    s = mat @ q
    top = np.argpartition(-s, k)[:k]
    return top[np.lexsort((top, -s[top]))]


knn(qs[0])
lat = []
for q in qs:
    t0 = time.perf_counter()
    knn(q)
    lat.append((time.perf_counter() - t0) * 1e3)
lat.sort()
p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
gbs = n * dim * 4 / (p50 / 1e3) / 1e9
print(f"numpy {np.__version__} f32 matvec+argpartition: p50 {p50:.2f} ms  "
      f"p99 {p99:.2f} ms  {gbs:.1f} GB/s")
