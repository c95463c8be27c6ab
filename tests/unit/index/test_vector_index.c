/* test_vector_index.c - exact vector search equals a float64 brute force
 * in C and the numpy golden (tests/data/vectors/, make_golden.py); the
 * scalar and AVX2 kernels agree; int8 + rescore keeps the exact top 10;
 * filters, loading errors, empty index, k > n and allocation failures. */
#include "test_support.h"

#include "index/vector_index.h"
#include "index/store_sqlite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the golden inputs (same generator as make_golden.py) ---------------- */

#define GN 2000
#define GDIM 64
#define GQ 20
#define GK 10

static uint64_t rng_state;

static float next_val(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (float)((double)((int64_t)((x * 0x2545F4914F6CDD1DULL) >> 48) - 32768) /
                   32768.0);
}

static void fill(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = next_val();
}

/* n_rows x dim values where rows from 100 on sit near row i % 100 (within
 * 0.01 per value): many rows inside each other's int8 error bounds. */
static void fill_clustered(float *mat, size_t n_rows, size_t dim)
{
    fill(mat, n_rows * dim);
    for (size_t i = 100; i < n_rows; i++)
        for (size_t j = 0; j < dim; j++)
            mat[i * dim + j] = mat[(i % 100) * dim + j] + next_val() * 0.01f;
}

/* The same ids with bit-identical scores, in the same order. */
static void assert_same_hits(const rag_vector_hit *a, size_t na, const rag_vector_hit *b,
                             size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].chunk_id, b[i].chunk_id);
        assert_true(a[i].score == b[i].score);
    }
}

typedef struct {
    float *mat;         /* GN * GDIM */
    float *qs;          /* GQ * GDIM */
    int64_t ids[GQ][GK];
    double scores[GQ][GK];
} golden;

static golden *load_golden(void)
{
    golden *g = calloc(1, sizeof *g);
    char *path = ts_src_path("tests/data/vectors/golden.txt");
    FILE *f = fopen(path, "r");
    char line[1024];
    double sum_m = 0, sum_q = 0, want_m, want_q;

    assert_non_null(f);
    g->mat = malloc(sizeof(float) * GN * GDIM);
    g->qs = malloc(sizeof(float) * GQ * GDIM);
    rng_state = 42;
    fill(g->mat, GN * GDIM);
    fill(g->qs, GQ * GDIM);
    for (size_t i = 0; i < GN * GDIM; i++)
        sum_m += g->mat[i];
    for (size_t i = 0; i < GQ * GDIM; i++)
        sum_q += g->qs[i];
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(fscanf(f, "checksum %lf %lf\n", &want_m, &want_q), 2);
    assert_true(fabs(sum_m - want_m) < 1e-6 && fabs(sum_q - want_q) < 1e-6);
    for (int q = 0; q < GQ; q++)
        for (int j = 0; j < GK; j++) {
            long long id;
            assert_int_equal(fscanf(f, "%lld %lf", &id, &g->scores[q][j]), 2);
            g->ids[q][j] = id;
        }
    fclose(f);
    rag_free(path);
    return g;
}

static void free_golden(golden *g)
{
    free(g->mat);
    free(g->qs);
    free(g);
}

static rag_vector_index *build(const float *mat, size_t n, size_t dim,
                               const rag_vector_opts *o)
{
    rag_vector_index *vi = NULL;
    rag_err err = {0};
    assert_int_equal(rag_vector_index_create(&vi, "m", dim, o, &err), RAG_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rag_vector_index_add(vi, 1000 + 7 * (int64_t)i, mat + i * dim, dim,
                                              &err), RAG_OK);
    return vi;
}

static void check_golden(rag_vec_kernel kernel, int int8, size_t factor)
{
    golden *g = load_golden();
    rag_vector_opts o = rag_vector_default_opts();
    rag_vector_index *vi;
    rag_vector_hit hits[GK];
    size_t n = 0;
    rag_err err = {0};

    o.kernel = kernel;
    o.int8 = int8;
    o.rescore_factor = factor;
    vi = build(g->mat, GN, GDIM, &o);
    assert_int_equal(rag_vector_index_kernel(vi), kernel);
    for (int q = 0; q < GQ; q++) {
        assert_int_equal(rag_vector_index_search(vi, g->qs + q * GDIM, GDIM, GK, NULL, hits,
                                                 &n, &err), RAG_OK);
        assert_int_equal(n, GK);
        for (int j = 0; j < GK; j++) {
            if (hits[j].chunk_id != g->ids[q][j])
                fail_msg("%s%s query %d rank %d: chunk %lld, numpy says %lld",
                         rag_vec_kernel_name(kernel), int8 ? "+int8" : "", q, j,
                         (long long)hits[j].chunk_id, (long long)g->ids[q][j]);
            assert_true(fabs(hits[j].score - g->scores[q][j]) < 1e-4);
        }
    }
    rag_vector_index_destroy(vi);
    free_golden(g);
}

static void test_vector_index__scalar_matches_numpy_golden(void **state)
{
    (void)state;
    check_golden(RAG_VEC_KERNEL_SCALAR, 0, 0);
}

static void test_vector_index__avx2_matches_numpy_golden(void **state)
{
    (void)state;
    if (!rag_vec_kernel_supported(RAG_VEC_KERNEL_AVX2))
        skip();
    check_golden(RAG_VEC_KERNEL_AVX2, 0, 0);
}

static void test_vector_index__int8_rescore_keeps_exact_top10_on_golden(void **state)
{
    (void)state;
    check_golden(RAG_VEC_KERNEL_SCALAR, 1, 8);
    check_golden(RAG_VEC_KERNEL_SCALAR, 1, 0);
    if (rag_vec_kernel_supported(RAG_VEC_KERNEL_AVX2)) {
        check_golden(RAG_VEC_KERNEL_AVX2, 1, 8);
        check_golden(RAG_VEC_KERNEL_AVX2, 1, 0);
    }
}

/* ---- kernels agree ------------------------------------------------------- */

static void test_vector_index__scalar_and_avx2_kernels_agree(void **state)
{
    enum { ROWS = 37, N = 384 };
    static float rows[ROWS * N] __attribute__((aligned(64)));
    static float q[N] __attribute__((aligned(64)));
    static int8_t rows8[ROWS * N] __attribute__((aligned(64)));
    static int8_t q8[N] __attribute__((aligned(64)));
    float a[ROWS], b[ROWS];
    int32_t ia[ROWS], ib[ROWS];
    (void)state;
    if (!rag_vec_kernel_supported(RAG_VEC_KERNEL_AVX2))
        skip();
    rng_state = 7;
    fill(rows, ROWS * N);
    fill(q, N);
    for (size_t i = 0; i < ROWS * N; i++)
        rows8[i] = (int8_t)(next_val() * 127);
    for (size_t i = 0; i < N; i++)
        q8[i] = (int8_t)(next_val() * 127);
    rows8[0] = q8[0] = -127;   /* extremes */
    for (size_t n = 64; n <= N; n += 64) {
        rag_vec_dot_f32(RAG_VEC_KERNEL_SCALAR)(rows, ROWS, N, q, n, a);
        rag_vec_dot_f32(RAG_VEC_KERNEL_AVX2)(rows, ROWS, N, q, n, b);
        for (size_t r = 0; r < ROWS; r++) {
            double ref = 0;
            for (size_t j = 0; j < n; j++)
                ref += (double)rows[r * N + j] * q[j];
            assert_true(fabs(a[r] - ref) < 1e-4 && fabs(b[r] - ref) < 1e-4);
        }
        rag_vec_dot_i8(RAG_VEC_KERNEL_SCALAR)(rows8, ROWS, N, q8, n, ia);
        rag_vec_dot_i8(RAG_VEC_KERNEL_AVX2)(rows8, ROWS, N, q8, n, ib);
        assert_memory_equal(ia, ib, sizeof ia);
    }
}

static void test_vector_index__dispatch_never_picks_avx512_without_cpu_support(void **state)
{
    rag_vector_index *vi = NULL;
    rag_vector_opts o = rag_vector_default_opts();
    rag_err err = {0};
    (void)state;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        skip();
    assert_int_not_equal(rag_vec_kernel_best(), RAG_VEC_KERNEL_AVX512);
    o.kernel = RAG_VEC_KERNEL_AVX512;
    assert_int_equal(rag_vector_index_create(&vi, "m", 8, &o, &err), RAG_EINVAL);
    assert_null(vi);
    assert_non_null(strstr(err.msg, "avx512"));
    assert_int_equal(rag_vector_index_create(&vi, "m", 8, NULL, &err), RAG_OK);
    assert_int_not_equal(rag_vector_index_kernel(vi), RAG_VEC_KERNEL_AVX512);
    rag_vector_index_destroy(vi);
}

/* ---- brute force under adds, replaces and removes ------------------------- */

#define BN 300
#define BDIM 37   /* not a multiple of 16: exercises the padding */

typedef struct {
    int64_t id;
    double score;
} ref_hit;

static int cmp_ref(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int odd_only(void *ctx, int64_t id)
{
    (*(int *)ctx)++;
    return id % 2 != 0;
}

/* live[i]: row i of mat is in the index under id i + 1. */
static void check_brute(const rag_vector_index *vi, const float *mat, const int *live,
                        const float *q, size_t k, const rag_vector_filter *f,
                        int odd_filter)
{
    ref_hit ref[BN];
    rag_vector_hit hits[BN];
    size_t n_ref = 0, n = 0;
    rag_err err = {0};

    for (size_t i = 0; i < BN; i++) {
        int64_t id = (int64_t)i + 1;
        int ok = live[i];
        if (ok && f && f->ids) {
            ok = 0;
            for (size_t j = 0; j < f->n_ids; j++)
                ok |= f->ids[j] == id;
        }
        if (ok && odd_filter)
            ok = id % 2 != 0;
        if (!ok)
            continue;
        ref[n_ref].id = id;
        ref[n_ref].score = 0;
        for (size_t j = 0; j < BDIM; j++)
            ref[n_ref].score += (double)mat[i * BDIM + j] * q[j];
        n_ref++;
    }
    qsort(ref, n_ref, sizeof *ref, cmp_ref);
    assert_int_equal(rag_vector_index_search(vi, q, BDIM, k, f, hits, &n, &err), RAG_OK);
    assert_int_equal(n, k < n_ref ? k : n_ref);
    for (size_t i = 0; i < n; i++) {
        assert_true(fabs(hits[i].score - ref[i].score) < 1e-4);
        if (i > 0 && hits[i].score == hits[i - 1].score)   /* exact ties: by id */
            assert_true(hits[i - 1].chunk_id < hits[i].chunk_id);
        if (hits[i].chunk_id != ref[i].id) {   /* only a float32 near-tie may swap */
            size_t j = 0;
            while (j < n_ref && ref[j].id != hits[i].chunk_id)
                j++;
            assert_true(j < n_ref && fabs(ref[j].score - ref[i].score) < 1e-5);
        }
    }
}

static void test_vector_index__exact_equals_brute_force_after_edits(void **state)
{
    static float mat[BN * BDIM];
    int live[BN] = {0};
    float q[BDIM];
    rag_vector_index *vi = NULL;
    rag_err err = {0};
    (void)state;

    for (int kern = RAG_VEC_KERNEL_SCALAR; kern <= RAG_VEC_KERNEL_AVX2; kern++) {
        rag_vector_opts o = rag_vector_default_opts();
        if (!rag_vec_kernel_supported((rag_vec_kernel)kern))
            continue;
        o.kernel = (rag_vec_kernel)kern;
        rng_state = 99;
        fill(mat, BN * BDIM);
        /* Exact ties: rows 10..14 equal row 5, so only ids break them. */
        for (int i = 10; i < 15; i++)
            memcpy(mat + i * BDIM, mat + 5 * BDIM, sizeof(float) * BDIM);
        assert_int_equal(rag_vector_index_create(&vi, "m", BDIM, &o, &err), RAG_OK);
        for (int i = BN - 1; i >= 0; i--) {   /* ids inserted out of order */
            assert_int_equal(rag_vector_index_add(vi, i + 1, mat + i * BDIM, BDIM, &err),
                             RAG_OK);
            live[i] = 1;
        }
        memcpy(q, mat + 5 * BDIM, sizeof q);
        check_brute(vi, mat, live, q, 10, NULL, 0);
        {
            /* The six equal rows (ids 6, 11..15) score highest: k = 3 keeps the
             * three smallest ids, in order. */
            rag_vector_hit h[3];
            size_t n = 0;
            assert_int_equal(rag_vector_index_search(vi, q, BDIM, 3, NULL, h, &n, &err),
                             RAG_OK);
            assert_int_equal(n, 3);
            assert_int_equal(h[0].chunk_id, 6);
            assert_int_equal(h[1].chunk_id, 11);
            assert_int_equal(h[2].chunk_id, 12);
        }
        /* Remove a third, replace some, query again. */
        for (int i = 0; i < BN; i += 3) {
            assert_int_equal(rag_vector_index_remove(vi, i + 1), 1);
            live[i] = 0;
        }
        assert_int_equal(rag_vector_index_remove(vi, 1), 0);
        for (int i = 1; i < BN; i += 7) {
            fill(mat + i * BDIM, BDIM);
            assert_int_equal(rag_vector_index_add(vi, i + 1, mat + i * BDIM, BDIM, &err),
                             RAG_OK);
            live[i] = 1;
        }
        {
            size_t n_live = 0;
            for (int i = 0; i < BN; i++)
                n_live += (size_t)live[i];
            assert_int_equal(rag_vector_index_count(vi), n_live);
        }
        for (int t = 0; t < 5; t++) {
            fill(q, BDIM);
            check_brute(vi, mat, live, q, 10, NULL, 0);
            check_brute(vi, mat, live, q, 1, NULL, 0);
        }
        /* k > n: every live row, in order. */
        check_brute(vi, mat, live, q, 1000, NULL, 0);
        rag_vector_index_destroy(vi);
    }
}

static void test_vector_index__filters_restrict_hits(void **state)
{
    static float mat[BN * BDIM];
    int live[BN];
    float q[BDIM];
    int64_t allow[] = {250, 3, 77, 78, 79, 4000 /* not indexed */, 77};
    rag_vector_filter by_ids = {allow, sizeof allow / sizeof allow[0], NULL, NULL};
    rag_vector_filter none = {allow, 0, NULL, NULL};
    int calls = 0;
    rag_vector_filter odd = {NULL, 0, odd_only, &calls};
    rag_vector_filter both = {allow, sizeof allow / sizeof allow[0], odd_only, &calls};
    rag_vector_hit hits[4];
    size_t n = 99;
    rag_vector_index *vi;
    rag_err err = {0};
    (void)state;

    rng_state = 5;
    fill(mat, BN * BDIM);
    fill(q, BDIM);
    vi = build(mat, 0, BDIM, NULL);
    for (int i = 0; i < BN; i++) {
        assert_int_equal(rag_vector_index_add(vi, i + 1, mat + i * BDIM, BDIM, &err), RAG_OK);
        live[i] = 1;
    }
    check_brute(vi, mat, live, q, 10, &by_ids, 0);
    check_brute(vi, mat, live, q, 10, &odd, 1);
    assert_true(calls > 0 && calls < BN);   /* the callback sees only candidates */
    check_brute(vi, mat, live, q, 10, &both, 1);
    assert_int_equal(rag_vector_index_search(vi, q, BDIM, 4, &none, hits, &n, &err), RAG_OK);
    assert_int_equal(n, 0);
    rag_vector_index_destroy(vi);
}

/* ---- loading from the index file and the SQL filter ------------------------ */

/* n_pages pages, one chunk on each */
static void put_doc(rag_index *ix, const char *path, int64_t id0, int n_pages)
{
    rag_chunk items[4];
    for (int i = 0; i < n_pages; i++)
        items[i] = (rag_chunk){id0 + i, i, i + 1, i + 1, "", 0, 0, "chunk text", 10, 2};
    ts_put_doc(ix, path, items, (size_t)n_pages, n_pages);
}

static void put_vec(rag_index *ix, int64_t id, const char *model, int dim, const float *v,
                    int n_bytes)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix),
                     "INSERT OR REPLACE INTO vectors VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, dim);
    sqlite3_bind_blob(st, 4, v, n_bytes, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static rag_index *small_index(float *vecs /* 9 * 8 */)
{
    rag_index *ix = NULL;
    rag_err err = {0};
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    put_doc(ix, "manuals/riscv.pdf", 100, 3);
    put_doc(ix, "manuals/x86.pdf", 200, 3);
    put_doc(ix, "notes/todo.txt", 300, 3);
    rng_state = 11;
    fill(vecs, 9 * 8);
    for (int i = 0; i < 9; i++)
        put_vec(ix, 100 * (i / 3 + 1) + i % 3, "mini", 8, vecs + i * 8, 32);
    return ix;
}

static void test_vector_index__loads_table_and_filters_by_glob_and_pages(void **state)
{
    float vecs[9 * 8];
    rag_index *ix = small_index(vecs);
    rag_vector_index *vi = NULL;
    rag_vector_hit hits[9];
    int64_t *ids = NULL;
    size_t n_ids = 0, n = 0;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "mini", NULL, &err), RAG_OK);
    assert_int_equal(rag_vector_index_count(vi), 9);
    assert_int_equal(rag_vector_index_dim(vi), 8);
    /* Each stored vector is its own best match among these random ones. */
    assert_int_equal(rag_vector_index_search(vi, vecs + 4 * 8, 8, 9, NULL, hits, &n, &err),
                     RAG_OK);
    assert_int_equal(n, 9);
    assert_int_equal(hits[0].chunk_id, 201);

    assert_int_equal(rag_vector_filter_ids(&ids, &n_ids, ix, "manuals/*.pdf",
                                           2, 3, &err), RAG_OK);
    assert_int_equal(n_ids, 4);
    assert_int_equal(ids[0], 101);
    assert_int_equal(ids[1], 102);
    assert_int_equal(ids[2], 201);
    assert_int_equal(ids[3], 202);
    {
        rag_vector_filter f = {ids, n_ids, NULL, NULL};
        assert_int_equal(rag_vector_index_search(vi, vecs, 8, 9, &f, hits, &n, &err), RAG_OK);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < n; i++)
            assert_true(hits[i].chunk_id == 101 || hits[i].chunk_id == 102 ||
                        hits[i].chunk_id == 201 || hits[i].chunk_id == 202);
    }
    rag_free(ids);
    assert_int_equal(rag_vector_filter_ids(&ids, &n_ids, ix, NULL, 0, 1, &err),
                     RAG_OK);
    assert_int_equal(n_ids, 3);
    rag_free(ids);
    assert_int_equal(rag_vector_filter_ids(&ids, &n_ids, ix, "*.docx", 0, 0,
                                           &err), RAG_OK);
    assert_int_equal(n_ids, 0);
    assert_null(ids);
    assert_int_equal(rag_vector_filter_ids(&ids, &n_ids, ix, NULL, 3, 2, &err),
                     RAG_EINVAL);
    rag_vector_index_destroy(vi);
    rag_index_close(ix);
}

static void test_vector_index__wrong_model_or_dim_is_an_error_naming_both(void **state)
{
    float vecs[9 * 8], v16[16] = {0};
    rag_index *ix = small_index(vecs);
    rag_vector_index *vi = NULL;
    rag_vector_opts o = rag_vector_default_opts();
    rag_err err = {0};
    (void)state;

    o.dim = 16;
    assert_int_equal(rag_vector_index_load(&vi, rag_index_db(ix), "mini", &o, &err),
                     RAG_EFORMAT);
    assert_null(vi);
    assert_non_null(strstr(err.msg, "dim 8"));
    assert_non_null(strstr(err.msg, "dim 16"));

    put_vec(ix, 302, "other-model", 8, vecs, 32);
    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "mini", NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "\"other-model\""));
    assert_non_null(strstr(err.msg, "\"mini\""));
    assert_non_null(strstr(err.msg, ":memory:"));

    put_vec(ix, 302, "mini", 16, v16, 64);
    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "mini", NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "dim 16"));
    assert_non_null(strstr(err.msg, "dim 8"));

    put_vec(ix, 302, "mini", 8, v16, 28);
    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "mini", NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "chunk 302"));

    /* A query of the wrong dimension. */
    put_vec(ix, 302, "mini", 8, v16, 32);
    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "mini", NULL, &err), RAG_OK);
    {
        rag_vector_hit h[1];
        size_t n;
        assert_int_equal(rag_vector_index_search(vi, v16, 16, 1, NULL, h, &n, &err),
                         RAG_EINVAL);
        assert_non_null(strstr(err.msg, "dim 16"));
        assert_int_equal(rag_vector_index_add(vi, 5, v16, 16, &err), RAG_EINVAL);
    }
    rag_vector_index_destroy(vi);
    rag_index_close(ix);
}

static void test_vector_index__empty_index_and_k_zero_return_nothing(void **state)
{
    rag_index *ix = NULL;
    rag_vector_index *vi = NULL;
    rag_vector_hit h[3];
    float q[4] = {1, 0, 0, 0};
    size_t n = 7;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "m", NULL, &err), RAG_OK);
    assert_int_equal(rag_vector_index_count(vi), 0);
    assert_int_equal(rag_vector_index_search(vi, q, 4, 3, NULL, h, &n, &err), RAG_OK);
    assert_int_equal(n, 0);
    /* The first add sets the dimension; then k = 0 and k > n. */
    assert_int_equal(rag_vector_index_add(vi, 9, q, 4, &err), RAG_OK);
    assert_int_equal(rag_vector_index_dim(vi), 4);
    assert_int_equal(rag_vector_index_search(vi, q, 4, 0, NULL, h, &n, &err), RAG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(rag_vector_index_search(vi, q, 4, 3, NULL, h, &n, &err), RAG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].chunk_id, 9);
    assert_true(h[0].score == 1.0f);
    q[1] = NAN;
    assert_int_equal(rag_vector_index_add(vi, 10, q, 4, &err), RAG_EINVAL);
    rag_vector_index_destroy(vi);
    rag_index_close(ix);
}

static void test_vector_index__allocation_failures_fail_cleanly(void **state)
{
    float vecs[9 * 8];
    rag_index *ix = small_index(vecs);
    rag_err serr = {0};
    int ok = 0;
    (void)state;

    /* int8-only then loads the stored int8 copy (the others the table) */
    assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "mini", &serr), 1);
    for (long fail = 0; fail < 500 && !ok; fail++) {
        for (int int8 = 0; int8 <= 2; int8++) {   /* 2: int8-only */
            rag_vector_index *vi = NULL;
            rag_vector_opts o = rag_vector_default_opts();
            rag_vector_hit h[5];
            int64_t *ids = NULL;
            size_t n = 0, n_ids = 0;
            rag_err err = {0};
            int rc;
            rag_vector_filter f = {NULL, 0, NULL, NULL};

            o.int8 = int8 != 0;
            o.int8_only = int8 == 2;
            ts_fail_alloc_after(fail);
            rc = rag_vector_index_load(&vi, rag_index_db(ix), "mini", &o, &err);
            if (rc == RAG_OK)
                rc = rag_vector_filter_ids(&ids, &n_ids, ix, "manuals/*", 0,
                                           0, &err);
            f.ids = ids;
            f.n_ids = n_ids;
            if (rc == RAG_OK)
                rc = rag_vector_index_search(vi, vecs, 8, 5, &f, h, &n, &err);
            if (rc == RAG_OK)
                rc = rag_vector_index_add(vi, 999, vecs, 8, &err);
            ts_fail_alloc_after(-1);
            if (rc == RAG_OK) {
                assert_int_equal(n, 5);
                if (int8 == 2)
                    ok = 1;
            } else {
                assert_int_equal(rc, RAG_ENOMEM);
                assert_non_null(strstr(err.msg, "out of memory"));
            }
            rag_free(ids);
            rag_vector_index_destroy(vi);
        }
    }
    assert_true(ok);
    rag_index_close(ix);
}

/* Bounded int8 mode returns exactly what the float32 scan returns: same ids
 * and bit-identical scores, for every k, with and without filters, on
 * clustered data where many rows sit inside each other's error bounds. */
static void test_vector_index__int8_bounded_equals_float32_exact(void **state)
{
    enum { N = 3000, D = 48 };
    static float mat[N * D];
    float q[D];
    static rag_vector_hit a[N], b[N];
    int64_t allow[500];
    rag_vector_opts o = rag_vector_default_opts();
    rag_vector_index *exact, *fast;
    rag_err err = {0};
    (void)state;

    rng_state = 1234;
    fill_clustered(mat, N, D);
    for (size_t i = 0; i < 500; i++)
        allow[i] = 1000 + 7 * (int64_t)(i * 5);
    exact = build(mat, N, D, NULL);
    o.int8 = 1;
    fast = build(mat, N, D, &o);
    for (int t = 0; t < 30; t++) {
        size_t k = t % 3 == 0 ? 1 : t % 3 == 1 ? 10 : 100, na = 0, nb = 0;
        rag_vector_filter f = {allow, 500, NULL, NULL};
        const rag_vector_filter *fp = t % 2 ? &f : NULL;
        if (t < 10)
            memcpy(q, mat + (size_t)(t * 37) * D, sizeof q);
        else
            fill(q, D);
        assert_int_equal(rag_vector_index_search(exact, q, D, k, fp, a, &na, &err), RAG_OK);
        assert_int_equal(rag_vector_index_search(fast, q, D, k, fp, b, &nb, &err), RAG_OK);
        assert_same_hits(a, na, b, nb);
    }
    rag_vector_index_destroy(exact);
    rag_vector_index_destroy(fast);
}

/* int8-only (no float32 rows in memory, re-scoring reads the table) gives
 * the float32 scan's result: same ids, bit-identical scores, in bounded and
 * k*f modes, in a quarter-ish of the memory. */
static void test_vector_index__int8_only_equals_float32_exact(void **state)
{
    enum { N = 3000, D = 48 };
    static float mat[N * D];
    static rag_vector_hit a[N], b[N], c[N];
    float q[D];
    int64_t allow[500];
    rag_vector_opts o = rag_vector_default_opts();
    rag_vector_index *exact = NULL, *only = NULL, *only8 = NULL, *x8 = NULL;
    rag_index *ix = NULL;
    rag_err err = {0};
    size_t n = 0;
    (void)state;

    rng_state = 4321;
    fill_clustered(mat, N, D);
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(sqlite3_exec(rag_index_db(ix), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < N; i++)
        put_vec(ix, 1000 + 7 * (int64_t)i, "m", D, mat + i * D, D * 4);
    assert_int_equal(sqlite3_exec(rag_index_db(ix), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < 500; i++)
        allow[i] = 1000 + 7 * (int64_t)(i * 5);

    assert_int_equal(rag_vector_index_load_ix(&exact, ix, "m", NULL, &err), RAG_OK);
    o.int8 = 1;
    o.int8_only = 1;
    assert_int_equal(rag_vector_index_load_ix(&only, ix, "m", &o, &err), RAG_OK);
    o.rescore_factor = 8;
    assert_int_equal(rag_vector_index_load_ix(&only8, ix, "m", &o, &err), RAG_OK);
    o.int8_only = 0;
    assert_int_equal(rag_vector_index_load_ix(&x8, ix, "m", &o, &err), RAG_OK);
    assert_int_equal(rag_vector_index_count(only), N);
    /* 48-d: 64 int8 bytes + scales vs 192 float bytes per row, plus ids and map */
    assert_true(rag_vector_index_bytes(only) * 2 < rag_vector_index_bytes(exact));

    for (int t = 0; t < 30; t++) {
        size_t k = t % 3 == 0 ? 1 : t % 3 == 1 ? 10 : 100, na = 0, nb = 0, nc = 0;
        rag_vector_filter f = {allow, 500, NULL, NULL};
        const rag_vector_filter *fp = t % 2 ? &f : NULL;
        if (t < 10)
            memcpy(q, mat + (size_t)(t * 37) * D, sizeof q);
        else
            fill(q, D);
        assert_int_equal(rag_vector_index_search(exact, q, D, k, fp, a, &na, &err), RAG_OK);
        assert_int_equal(rag_vector_index_search(only, q, D, k, fp, b, &nb, &err), RAG_OK);
        assert_same_hits(a, na, b, nb);
        /* k*f mode: the same as int8 with the float32 matrix */
        assert_int_equal(rag_vector_index_search(x8, q, D, k, fp, a, &na, &err), RAG_OK);
        assert_int_equal(rag_vector_index_search(only8, q, D, k, fp, c, &nc, &err), RAG_OK);
        assert_same_hits(a, na, c, nc);
    }

    /* a row deleted from the table since loading is no longer returned */
    memcpy(q, mat + 5 * D, sizeof q);
    assert_int_equal(rag_vector_index_search(only, q, D, 1, NULL, b, &n, &err), RAG_OK);
    assert_int_equal(n, 1);
    {
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM vectors WHERE chunk_id = %lld",
                 (long long)b[0].chunk_id);
        assert_int_equal(sqlite3_exec(rag_index_db(ix), sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(rag_vector_index_search(only, q, D, 1, NULL, c, &n, &err), RAG_OK);
        assert_int_equal(n, 1);
        assert_int_not_equal(c[0].chunk_id, b[0].chunk_id);
    }
    rag_vector_index_destroy(exact);
    rag_vector_index_destroy(only);
    rag_vector_index_destroy(only8);
    rag_vector_index_destroy(x8);

    /* without a table there is nothing to re-score from */
    o = rag_vector_default_opts();
    o.int8_only = 1;
    assert_int_equal(rag_vector_index_create(&exact, "m", D, &o, &err), RAG_EINVAL);
    assert_null(exact);
    assert_non_null(strstr(err.msg, "rag_vector_index_load"));
    rag_index_close(ix);
}

static char last_log[512];

static void keep_log(rag_log_level level, const char *msg, void *userdata)
{
    (void)userdata;
    if (level >= RAG_LOG_WARN)
        snprintf(last_log, sizeof last_log, "%s", msg);
}

static int64_t scalar(rag_index *ix, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Loads the int8-only form and asserts it is the table quantised afresh
 * (bit for bit) and searches alike; *warned: whether the load warned. */
static void assert_load_equals(rag_index *ix, const rag_vector_index *ref, const float *mat,
                               size_t d, int *warned)
{
    static rag_vector_hit a[100], b[100];
    rag_vector_opts o = rag_vector_default_opts();
    rag_vector_index *vi = NULL;
    rag_err err = {0};

    o.int8 = o.int8_only = 1;
    last_log[0] = '\0';
    assert_int_equal(rag_vector_index_load_ix(&vi, ix, "m", &o, &err), RAG_OK);
    *warned = last_log[0] != '\0';
    assert_int_equal(rag_vector_index_same_int8(vi, ref), 1);
    for (int t = 0; t < 8; t++) {
        size_t na = 0, nb = 0, k = t % 2 ? 10 : 100;
        assert_int_equal(rag_vector_index_search(ref, mat + (size_t)(t * 53) * d, d, k, NULL, a,
                                                 &na, &err), RAG_OK);
        assert_int_equal(rag_vector_index_search(vi, mat + (size_t)(t * 53) * d, d, k, NULL, b,
                                                 &nb, &err), RAG_OK);
        assert_same_hits(a, na, b, nb);
    }
    rag_vector_index_destroy(vi);
}

/* The stored int8 copy (vectors_int8): written once, loaded bit for bit
 * as quantising the table gives, deleted by any change of the vectors,
 * and a damaged one is ignored with a warning (the load quantises the
 * table) and reported by the check. */
static void test_vector_index__stored_int8_equals_quantising_the_table(void **state)
{
    enum { N = 1500, D = 40 };
    static float mat[(N + 1) * D];
    rag_vector_opts o = rag_vector_default_opts();
    rag_vector_index *ref = NULL;
    rag_index *ix = NULL;
    rag_err err = {0};
    char why[256];
    int warned;
    (void)state;

    rng_state = 777;
    fill_clustered(mat, N + 1, D);
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    /* saving with nothing to store writes nothing */
    assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "m", &err), 0);
    assert_int_equal(sqlite3_exec(rag_index_db(ix), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < N; i++)
        put_vec(ix, 10 + 3 * (int64_t)i, "m", D, mat + i * D, D * 4);
    /* inside the caller's transaction it refuses */
    assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "m", &err), RAG_EINVAL);
    assert_int_equal(sqlite3_exec(rag_index_db(ix), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    o.int8 = o.int8_only = 1;
    assert_int_equal(rag_vector_index_load_ix(&ref, ix, "m", &o, &err), RAG_OK);
    rag_log_set(keep_log, NULL);

    assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "m", &err), 1);
    assert_int_equal(scalar(ix, "SELECT count(*) FROM vectors_int8 WHERE n = 1500 AND dim = 40"),
                     1);
    assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "m", &err), 0);   /* current */
    assert_load_equals(ix, ref, mat, D, &warned);
    assert_false(warned);
    assert_int_equal(rag_vector_int8_check(rag_index_db(ix), why, sizeof why, &err), 1);

    /* damaged: each is ignored with a warning naming the reason, the load
     * is still the table's, and the check names it */
    static const struct { const char *sql, *reason; } bad[] = {
        {"UPDATE vectors_int8 SET checksum = checksum + 1", "checksum"},
        {"UPDATE vectors_int8 SET rows = substr(rows, 1, length(rows) - 1)", "blob sizes"},
        {"UPDATE vectors_int8 SET n = n - 1", "rows, the vectors table has"},
        {"UPDATE vectors_int8 SET layout = 99", "layout 99"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sqlite3_exec(rag_index_db(ix), "SAVEPOINT s", NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_exec(rag_index_db(ix), bad[i].sql, NULL, NULL, NULL),
                         SQLITE_OK);
        assert_load_equals(ix, ref, mat, D, &warned);
        assert_true(warned);
        assert_non_null(strstr(last_log, bad[i].reason));
        assert_non_null(strstr(last_log, "not usable"));
        assert_int_equal(rag_vector_int8_check(rag_index_db(ix), why, sizeof why, &err), 0);
        assert_non_null(strstr(why, bad[i].reason));
        assert_int_equal(sqlite3_exec(rag_index_db(ix), "ROLLBACK TO s; RELEASE s", NULL, NULL,
                                      NULL), SQLITE_OK);
    }
    assert_int_equal(rag_vector_int8_check(rag_index_db(ix), why, sizeof why, &err), 1);

    /* stale: any insert, update or delete of a vector deletes the copy,
     * and the load (silently) quantises the table */
    static const char *const change[] = {
        "UPDATE vectors SET dim = dim WHERE chunk_id = 10",
        "DELETE FROM vectors WHERE chunk_id = 13",
    };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "m", &err), i == 0 ? 0 : 1);
        assert_int_equal(scalar(ix, "SELECT count(*) FROM vectors_int8"), 1);
        assert_int_equal(sqlite3_exec(rag_index_db(ix), change[i], NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(scalar(ix, "SELECT count(*) FROM vectors_int8"), 0);
    }
    put_vec(ix, 13, "m", D, mat + 1 * D, D * 4);   /* back as it was: an insert */
    assert_int_equal(scalar(ix, "SELECT count(*) FROM vectors_int8"), 0);
    assert_load_equals(ix, ref, mat, D, &warned);
    assert_false(warned);
    /* a new row: stored again, and the stored load has it */
    put_vec(ix, 99999, "m", D, mat + (size_t)N * D, D * 4);
    rag_vector_index_destroy(ref);
    ref = NULL;
    assert_int_equal(scalar(ix, "SELECT count(*) FROM vectors_int8"), 0);
    assert_int_equal(rag_vector_index_load(&ref, rag_index_db(ix), "m", &o, &err), RAG_OK);
    assert_int_equal(rag_vector_index_count(ref), N + 1);
    assert_int_equal(rag_vector_int8_save(rag_index_db(ix), "m", &err), 1);
    assert_load_equals(ix, ref, mat, D, &warned);
    assert_false(warned);
    assert_int_equal(rag_vector_int8_check(rag_index_db(ix), why, sizeof why, &err), 1);

    rag_log_set(NULL, NULL);
    rag_vector_index_destroy(ref);
    rag_index_close(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_index__scalar_matches_numpy_golden),
        cmocka_unit_test(test_vector_index__avx2_matches_numpy_golden),
        cmocka_unit_test(test_vector_index__int8_rescore_keeps_exact_top10_on_golden),
        cmocka_unit_test(test_vector_index__int8_bounded_equals_float32_exact),
        cmocka_unit_test(test_vector_index__int8_only_equals_float32_exact),
        cmocka_unit_test(test_vector_index__stored_int8_equals_quantising_the_table),
        cmocka_unit_test(test_vector_index__scalar_and_avx2_kernels_agree),
        cmocka_unit_test(test_vector_index__dispatch_never_picks_avx512_without_cpu_support),
        cmocka_unit_test(test_vector_index__exact_equals_brute_force_after_edits),
        cmocka_unit_test(test_vector_index__filters_restrict_hits),
        cmocka_unit_test(test_vector_index__loads_table_and_filters_by_glob_and_pages),
        cmocka_unit_test(test_vector_index__wrong_model_or_dim_is_an_error_naming_both),
        cmocka_unit_test(test_vector_index__empty_index_and_k_zero_return_nothing),
        cmocka_unit_test(test_vector_index__allocation_failures_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
