/* bench_knn.c - exact kNN latency over random unit vectors, one core.
 *
 *   bench_knn [N=100000] [DIM=384] [QUERIES=200] [K=10]
 *
 * Stores N random unit vectors (float32) in the vectors table of a
 * temporary index file, loads them for each mode, then runs QUERIES
 * random unit queries through rag_vector_index_search with each kernel the
 * CPU runs (scalar, AVX2, AVX-512) and with the int8 first pass + exact
 * rescore (error-bounded = exact, factor 8 and 2), and last int8-only (no
 * float32 rows in memory: candidates re-scored from the `vectors` table of
 * a temporary index file, as `embed.vectors: int8` does), after one
 * warm-up query, and prints p50/p99 latency, the bytes the index holds in
 * memory, the GB/s of matrix bytes scanned at p50, the machine's read
 * bandwidth (AVX2 sum over a 512 MB buffer, best of 3), and the
 * int8 recall@K against the exact result. Last, it runs
 * bench/knn_numpy.py (path from DOCRAG_SRC or ./bench) with the same sizes
 * for the numpy baseline.
 */
#include "index/vector_index.h"
#include "index/store_sqlite.h"

#include <unistd.h>

#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return ((rng * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static void unit_vector(float *v, size_t dim)
{
    double norm = 0;
    for (size_t j = 0; j < dim; j++) {
        double u1 = uniform() + 1e-300, u2 = uniform();
        v[j] = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
        norm += (double)v[j] * v[j];
    }
    for (size_t j = 0; j < dim; j++)
        v[j] = (float)(v[j] / sqrt(norm));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sum of 32-byte loads, four independent accumulators. */
__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint64_t *buf, size_t n)
{
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i < n; i += 16) {
        a = _mm256_add_epi64(a, _mm256_load_si256((const __m256i *)(buf + i)));
        b = _mm256_add_epi64(b, _mm256_load_si256((const __m256i *)(buf + i + 4)));
        c = _mm256_add_epi64(c, _mm256_load_si256((const __m256i *)(buf + i + 8)));
        d = _mm256_add_epi64(d, _mm256_load_si256((const __m256i *)(buf + i + 12)));
    }
    a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    return (uint64_t)_mm256_extract_epi64(a, 0) + (uint64_t)_mm256_extract_epi64(a, 3);
}

static uint64_t sum_scalar(const uint64_t *buf, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < n; i += 4) {
        a += buf[i];
        b += buf[i + 1];
        c += buf[i + 2];
        d += buf[i + 3];
    }
    return a + b + c + d;
}

/* Best of 3 single-core read passes over 512 MB (AVX2 loads when the CPU
 * has them): the roof a memory-bound scan can reach. */
static double read_bandwidth_gbs(void)
{
    size_t n = (512u << 20) / sizeof(uint64_t);
    uint64_t *buf = aligned_alloc(64, n * sizeof *buf), sink = 0;
    int avx2 = rag_vec_kernel_supported(RAG_VEC_KERNEL_AVX2);
    double best = 0;
    if (!buf)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = i;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = rag_now_ms(), gbs;
        sink += avx2 ? sum_avx2(buf, n) : sum_scalar(buf, n);
        gbs = (double)(n * sizeof *buf) / ((rag_now_ms() - t0) / 1e3) / 1e9;
        if (gbs > best)
            best = gbs;
    }
    free(buf);
    return sink == 42 ? 0 : best;
}

typedef struct {
    double p50, p99;
} lat;

static lat run(const rag_vector_index *vi, const float *qs, size_t n_q, size_t dim,
               size_t k, rag_vector_hit *out /* n_q * k */)
{
    double *ms = malloc(n_q * sizeof *ms);
    rag_err err = {0};
    size_t n = 0;
    lat l;
    rag_vector_index_search(vi, qs, dim, k, NULL, out, &n, &err); /* warm-up */
    for (size_t i = 0; i < n_q; i++) {
        double t0 = rag_now_ms();
        if (rag_vector_index_search(vi, qs + i * dim, dim, k, NULL, out + i * k, &n,
                                    &err) < 0) {
            fprintf(stderr, "bench_knn: %s\n", err.msg);
            exit(1);
        }
        ms[i] = rag_now_ms() - t0;
    }
    qsort(ms, n_q, sizeof *ms, cmp_double);
    l.p50 = ms[n_q / 2];
    l.p99 = ms[(size_t)((double)n_q * 0.99) < n_q ? (size_t)((double)n_q * 0.99) : n_q - 1];
    free(ms);
    return l;
}

/* Same ids and bit-identical scores as the exact run. */
static int identical(const rag_vector_hit *exact, const rag_vector_hit *got, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (exact[i].chunk_id != got[i].chunk_id || exact[i].score != got[i].score)
            return 0;
    return 1;
}

/* A temporary index file holding mat in its vectors table. */
static rag_index *table_of(const float *mat, size_t n, size_t dim, char *path, size_t n_path)
{
    rag_index *ix = NULL;
    rag_err err = {0};
    sqlite3_stmt *st = NULL;
    snprintf(path, n_path, "%s/bench_knn-%ld.db", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    if (rag_index_open(&ix, path, 0, &err) < 0 || rag_index_begin(ix, &err) < 0 ||
        sqlite3_prepare_v2(rag_index_db(ix), "INSERT INTO vectors VALUES(?1, 'bench', ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_knn: %s: %s\n", path, err.msg);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (int64_t)i);
        sqlite3_bind_int64(st, 2, (int64_t)dim);
        sqlite3_bind_blob(st, 3, mat + i * dim, (int)(dim * sizeof *mat), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "bench_knn: %s: %s\n", path, sqlite3_errmsg(rag_index_db(ix)));
            exit(1);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rag_index_commit(ix, &err) < 0) {
        fprintf(stderr, "bench_knn: %s\n", err.msg);
        exit(1);
    }
    return ix;
}

static double recall(const rag_vector_hit *exact, const rag_vector_hit *got, size_t n_q,
                     size_t k)
{
    size_t found = 0;
    for (size_t i = 0; i < n_q; i++)
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++)
                found += exact[i * k + a].chunk_id == got[i * k + b].chunk_id;
    return (double)found / (double)(n_q * k);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 100000;
    size_t dim = argc > 2 ? (size_t)atol(argv[2]) : 384;
    size_t n_q = argc > 3 ? (size_t)atol(argv[3]) : 200;
    size_t k = argc > 4 ? (size_t)atol(argv[4]) : 10;
    float *mat = malloc(n * dim * sizeof *mat), *qs = malloc(n_q * dim * sizeof *qs);
    rag_vector_hit *exact = malloc(n_q * k * sizeof *exact);
    rag_vector_hit *got = malloc(n_q * k * sizeof *got);
    double f32_bytes = (double)n * (double)((dim + 15) / 16 * 16) * 4;
    double i8_bytes = (double)n * (double)((dim + 63) / 64 * 64);
    rag_err err = {0};
    char cmd[4096];
    const char *src = getenv("DOCRAG_SRC");
    rag_index *ix;
    char db_path[512];
    FILE *p;

    if (!mat || !qs || !exact || !got || n == 0 || n_q == 0 || k == 0) {
        fprintf(stderr, "usage: bench_knn [N] [DIM] [QUERIES] [K]\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        unit_vector(mat + i * dim, dim);
    for (size_t i = 0; i < n_q; i++)
        unit_vector(qs + i * dim, dim);
    printf("bench_knn: %zu x %zu float32 (%.0f MB), %zu queries, k=%zu, one core; "
           "best kernel here: %s\n", n, dim, f32_bytes / 1e6, n_q, k,
           rag_vec_kernel_name(rag_vec_kernel_best()));
    printf("machine read bandwidth (1 core, 512 MB, best of 3): %.1f GB/s\n", read_bandwidth_gbs());
    ix = table_of(mat, n, dim, db_path, sizeof db_path);   /* every pass loads from it */

    for (int pass = 0; pass < 7; pass++) {
        static const struct { rag_vec_kernel kern; int int8; size_t factor; } cfg[] = {
            {RAG_VEC_KERNEL_AVX2, 0, 0},   {RAG_VEC_KERNEL_SCALAR, 0, 0},
            {RAG_VEC_KERNEL_AVX512, 0, 0}, {RAG_VEC_KERNEL_AUTO, 1, 0},
            {RAG_VEC_KERNEL_AUTO, 1, 8},   {RAG_VEC_KERNEL_AUTO, 1, 2},
            {RAG_VEC_KERNEL_AUTO, 2, 0},   /* int8-only */
        };

        rag_vector_opts o = rag_vector_default_opts();
        rag_vector_index *vi = NULL;
        lat l;
        int first_exact = pass == 0 || (pass == 1 && !rag_vec_kernel_supported(
                                                        RAG_VEC_KERNEL_AVX2));
        if (cfg[pass].kern != RAG_VEC_KERNEL_AUTO &&
            !rag_vec_kernel_supported(cfg[pass].kern)) {
            printf("%-22s not supported by this CPU (not run)\n",
                   rag_vec_kernel_name(cfg[pass].kern));
            continue;
        }
        o.kernel = cfg[pass].kern;
        o.int8 = cfg[pass].int8 != 0;
        o.int8_only = cfg[pass].int8 == 2;
        o.rescore_factor = cfg[pass].factor;
        if (rag_vector_index_load_ix(&vi, ix, "bench", &o, &err) < 0) {
            fprintf(stderr, "bench_knn: %s\n", err.msg);
            return 1;
        }
        l = run(vi, qs, n_q, dim, k, first_exact ? exact : got);
        if (o.int8) {
            char name[64];
            if (o.int8_only)
                snprintf(name, sizeof name, "%s int8-only+bounded",
                         rag_vec_kernel_name(rag_vector_index_kernel(vi)));
            else if (o.rescore_factor)
                snprintf(name, sizeof name, "%s int8+rescore x%zu",
                         rag_vec_kernel_name(rag_vector_index_kernel(vi)), o.rescore_factor);
            else
                snprintf(name, sizeof name, "%s int8+bounded",
                         rag_vec_kernel_name(rag_vector_index_kernel(vi)));
            printf("%-26s p50 %7.2f ms  p99 %7.2f ms  %6.1f MB held  %5.1f GB/s (int8 rows)  "
                   "recall@%zu %.4f%s\n", name, l.p50, l.p99,
                   (double)rag_vector_index_bytes(vi) / 1e6, i8_bytes / (l.p50 / 1e3) / 1e9,
                   k, recall(exact, got, n_q, k),
                   identical(exact, got, n_q * k) ? "  (ids and scores identical)" : "");
        } else {
            printf("%-26s p50 %7.2f ms  p99 %7.2f ms  %6.1f MB held  %5.1f GB/s\n",
                   rag_vec_kernel_name(rag_vector_index_kernel(vi)), l.p50, l.p99,
                   (double)rag_vector_index_bytes(vi) / 1e6, f32_bytes / (l.p50 / 1e3) / 1e9);
            if (!first_exact)
                printf("%-22s same top-%zu as the first exact run: %.4f\n", "", k,
                       recall(exact, got, n_q, k));
        }
        fflush(stdout);
        rag_vector_index_destroy(vi);
    }
    {
        char side[600];
        rag_index_close(ix);
        unlink(db_path);
        snprintf(side, sizeof side, "%s-wal", db_path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", db_path);
        unlink(side);
    }
    free(mat);
    free(qs);
    free(exact);
    free(got);

    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 %s%sbench/knn_numpy.py"
             " %zu %zu %zu %zu 2>&1", src ? src : ".", "/", n, dim, n_q, k);
    p = popen(cmd, "r");
    if (p) {
        char line[512];
        while (fgets(line, sizeof line, p))
            fputs(line, stdout);
        if (pclose(p) != 0)
            printf("(numpy baseline failed: %s)\n", cmd);
    }
    return 0;
}
