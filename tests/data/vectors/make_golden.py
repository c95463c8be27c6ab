#!/usr/bin/python3
"""make_golden.py - the reference top-10 for test_vector_index.c, by numpy
in float64 (an implementation independent of the C kernels).

Vectors and queries come from xorshift64* (seed 42), 16 bits per value:
v = ((r >> 48) - 32768) / 32768, exactly representable in float32, so the
C test regenerates bit-identical inputs (it checks the checksum line).
N vectors of DIM, chunk id of row i = 1000 + 7 * i; Q queries; for each
query the K best ids by dot product, ties by ascending id.

    /usr/bin/python3 tests/data/vectors/make_golden.py > tests/data/vectors/golden.txt
"""
import numpy as np

N, DIM, Q, K, SEED = 2000, 64, 20, 10, 42
M64 = (1 << 64) - 1


def stream(seed, count):
    x = seed
    out = np.empty(count, dtype=np.float64)
    for i in range(count):
        x ^= x >> 12
        x ^= (x << 25) & M64
        x ^= x >> 27
        r = (x * 0x2545F4914F6CDD1D) & M64
        out[i] = ((r >> 48) - 32768) / 32768.0
    return out


vals = stream(SEED, (N + Q) * DIM)
mat = vals[: N * DIM].reshape(N, DIM)
qs = vals[N * DIM:].reshape(Q, DIM)
ids = 1000 + 7 * np.arange(N, dtype=np.int64)
print(f"# n={N} dim={DIM} queries={Q} k={K} seed={SEED}")
print(f"checksum {mat.sum():.10f} {qs.sum():.10f}")
scores = qs @ mat.T  # float64
for qi in range(Q):
    order = np.lexsort((ids, -scores[qi]))[:K]
    print(" ".join(f"{ids[j]} {scores[qi, j]:.8f}" for j in order))
