/* test_model_golden.c - the encoder and cross-encoder against golden outputs
 * of an independent numpy forward pass (tools/models/make_models.py), on the
 * reference path and through oneDNN in f32, bf16 and int8.
 */
#include "test_support.h"

#include "model/model.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    double max_abs;     /* largest |c - golden| */
    double min_cos;     /* smallest cosine over output vectors */
    double max_rel;     /* largest |c - golden| / max(1, |golden|) */
    size_t n_checked;
} cmp_result;

/* Run every case of golden_<name>.json through a model loaded with opts. */
static cmp_result run_golden(const char *name, const rag_model_opts *opts)
{
    char rel[128];
    char *dir, *gpath;
    json_error_t jerr;
    json_t *g, *cases, *c;
    rag_model *m = NULL;
    rag_session *s = NULL;
    rag_err err = {0};
    rag_model_info info;
    cmp_result r = {0.0, 1.0, 0.0, 0};
    size_t ci;

    snprintf(rel, sizeof rel, "tests/data/models/%s", name);
    dir = ts_src_path(rel);
    snprintf(rel, sizeof rel, "tests/data/models/golden_%s.json", name);
    gpath = ts_src_path(rel);
    g = json_load_file(gpath, 0, &jerr);
    assert_non_null(g);
    if (rag_model_load(&m, dir, opts, &err) != RAG_OK)
        fail_msg("load %s: %s", dir, err.msg);
    assert_int_equal(rag_session_create(&s, m, &err), RAG_OK);
    rag_model_get_info(m, &info);
    assert_int_equal(info.dim, json_integer_value(json_object_get(g, "dim")));

    cases = json_object_get(g, "cases");
    json_array_foreach(cases, ci, c) {
        json_t *jids = json_object_get(c, "ids"), *jtt = json_object_get(c, "type_ids");
        json_t *jout = json_object_get(c, "output");
        size_t n = json_array_size(jids);
        int32_t **ids = calloc(n, sizeof *ids), **tt = calloc(n, sizeof *tt);
        size_t *nt = calloc(n, sizeof *nt);
        float *out = calloc(n * info.dim, sizeof *out);
        for (size_t i = 0; i < n; i++) {
            json_t *seq = json_array_get(jids, i);
            nt[i] = json_array_size(seq);
            ids[i] = calloc(nt[i], sizeof **ids);
            tt[i] = calloc(nt[i], sizeof **tt);
            for (size_t t = 0; t < nt[i]; t++) {
                ids[i][t] = (int32_t)json_integer_value(json_array_get(seq, t));
                if (jtt)
                    tt[i][t] = (int32_t)json_integer_value(
                        json_array_get(json_array_get(jtt, i), t));
            }
        }
        if (rag_session_run(s, (const int32_t *const *)ids, (const int32_t *const *)tt, nt, n,
                            out, &err) != RAG_OK)
            fail_msg("run %s: %s", name, err.msg);
        for (size_t i = 0; i < n; i++) {
            json_t *row = json_array_get(jout, i);
            double dot = 0, na = 0, nb = 0;
            assert_int_equal(json_array_size(row), info.dim);
            for (size_t d = 0; d < info.dim; d++) {
                double gv = json_number_value(json_array_get(row, d));
                double cv = out[i * info.dim + d];
                double diff = fabs(gv - cv);
                if (diff > r.max_abs)
                    r.max_abs = diff;
                if (diff / fmax(1.0, fabs(gv)) > r.max_rel)
                    r.max_rel = diff / fmax(1.0, fabs(gv));
                dot += gv * cv;
                na += gv * gv;
                nb += cv * cv;
                r.n_checked++;
            }
            if (info.dim > 1 && dot / sqrt(na * nb) < r.min_cos)
                r.min_cos = dot / sqrt(na * nb);
            free(ids[i]);
            free(tt[i]);
        }
        free(ids);
        free(tt);
        free(nt);
        free(out);
    }
    rag_session_destroy(s);
    rag_model_destroy(m);
    json_decref(g);
    rag_free(dir);
    rag_free(gpath);
    assert_true(r.n_checked > 0);
    return r;
}

static const char *const models[] = {"bi-encoder", "bi-encoder-cls", "cross-encoder"};

static void check_all(const rag_model_opts *o, double max_abs, double min_cos,
                      double max_rel)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        cmp_result r = run_golden(models[i], o);
        print_message("  %-15s %-4s%s: max|diff| %.2e  min cos %.6f  max rel %.2e\n",
                      models[i], rag_precision_name(o->precision),
                      o->reference ? " (ref)" : "", r.max_abs, r.min_cos, r.max_rel);
        if (max_abs > 0)
            assert_true(r.max_abs <= max_abs);
        assert_true(r.min_cos >= min_cos);
        assert_true(r.max_rel <= max_rel);
    }
}

static void test_golden__reference_f32_within_1e4(void **state)
{
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    o.reference = 1;
    check_all(&o, 1e-4, 0.99999, 1e-4);
}

static void test_golden__reference_with_small_buckets_within_1e4(void **state)
{
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    o.reference = 1;
    o.max_batch = 2;   /* several buckets, each padded differently */
    o.n_threads = 1;
    check_all(&o, 1e-4, 0.99999, 1e-4);
}

static void test_golden__onednn_f32_within_1e4(void **state)
{
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    check_all(&o, 1e-4, 0.99999, 1e-4);
    o.max_batch = 3;
    check_all(&o, 1e-4, 0.99999, 1e-4);
}

static void test_golden__onednn_bf16_cosine_0999(void **state)
{
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    o.precision = RAG_PRECISION_BF16;
    /* scores (dim 1) have no cosine: bound their relative error instead */
    check_all(&o, 0, 0.999, 0.03);
}

static void test_golden__onednn_int8_cosine_099(void **state)
{
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    o.precision = RAG_PRECISION_INT8;
    check_all(&o, 0, 0.99, 0.1);
}

typedef struct {
    const rag_model *m;
    float out[4 * 24];
    int rc;
} thread_job;

static void *thread_run(void *arg)
{
    thread_job *j = arg;
    rag_session *s = NULL;
    rag_err err = {0};
    static const int32_t a[] = {101, 7592, 2088, 102}, b[] = {101, 2000, 3000, 4000, 5000, 102};
    const int32_t *rows[4] = {a, b, a, b};
    size_t nt[4] = {4, 6, 4, 6};
    j->rc = rag_session_create(&s, j->m, &err);
    for (int it = 0; it < 20 && j->rc == RAG_OK; it++)
        j->rc = rag_session_run(s, rows, NULL, nt, 4, j->out, &err);
    rag_session_destroy(s);
    return NULL;
}

static void test_model__shared_by_threads_with_one_session_each(void **state)
{
    char *dir = ts_src_path("tests/data/models/bi-encoder");
    rag_model *m = NULL;
    rag_err err = {0};
    thread_job jobs[3];
    pthread_t th[3];
    (void)state;
    assert_int_equal(rag_model_load(&m, dir, NULL, &err), RAG_OK);
    for (int i = 0; i < 3; i++) {
        jobs[i].m = m;
        assert_int_equal(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].rc, RAG_OK);
    }
    for (int i = 1; i < 3; i++)
        assert_memory_equal(jobs[0].out, jobs[i].out, sizeof jobs[0].out);
    /* same sequence in the same batch gives the same vector */
    assert_memory_equal(jobs[0].out, jobs[0].out + 2 * 24, 24 * sizeof(float));
    rag_model_destroy(m);
    rag_free(dir);
}

/* 12 sequences x 120 tokens = 1,440 rows in one forward batch: more than
 * the 1,024-row feed-forward tile and matmul row block, so the last tile
 * is partial. Rows are independent there, so every vector must equal the
 * one from running its sequence alone (no tiling). */
static void check_long_batch(rag_precision prec, int reference)
{
    enum { NS = 12, LEN = 120, DIM = 24 };
    char *dir = ts_src_path("tests/data/models/bi-encoder");
    rag_model_opts o = rag_model_default_opts();
    rag_model *m = NULL;
    rag_session *s = NULL;
    rag_err err = {0};
    static int32_t ids[NS][LEN];
    const int32_t *rows[NS];
    size_t nt[NS];
    float batch[NS * DIM], one[DIM];
    double worst = 0.0;
    uint32_t seed = 12345;

    o.precision = prec;
    o.reference = reference;
    o.max_batch = NS;
    for (int i = 0; i < NS; i++) {
        ids[i][0] = 101;
        for (int t = 1; t < LEN - 1; t++) {
            seed = seed * 1664525u + 1013904223u;
            ids[i][t] = 1000 + (int32_t)(seed >> 8) % 29000;
        }
        ids[i][LEN - 1] = 102;
        rows[i] = ids[i];
        nt[i] = LEN;
    }
    assert_int_equal(rag_model_load(&m, dir, &o, &err), RAG_OK);
    assert_int_equal(rag_session_create(&s, m, &err), RAG_OK);
    assert_int_equal(rag_session_run(s, rows, NULL, nt, NS, batch, &err), RAG_OK);
    for (int i = 0; i < NS; i++) {
        assert_int_equal(rag_session_run(s, &rows[i], NULL, &nt[i], 1, one, &err), RAG_OK);
        for (int d = 0; d < DIM; d++)
            worst = fmax(worst, fabs((double)one[d] - batch[i * DIM + d]));
    }
    print_message("  %s%s: 1,440-row batch vs one at a time: max|diff| %.2e\n",
                  rag_precision_name(prec), reference ? " (ref)" : "", worst);
    assert_true(worst <= 1e-5);
    rag_session_destroy(s);
    rag_model_destroy(m);
    rag_free(dir);
}

static void test_model__batch_over_the_row_tiles_matches_one_at_a_time(void **state)
{
    (void)state;
    check_long_batch(RAG_PRECISION_F32, 1);
    check_long_batch(RAG_PRECISION_F32, 0);
    check_long_batch(RAG_PRECISION_INT8, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden__reference_f32_within_1e4),
        cmocka_unit_test(test_golden__reference_with_small_buckets_within_1e4),
        cmocka_unit_test(test_golden__onednn_f32_within_1e4),
        cmocka_unit_test(test_golden__onednn_bf16_cosine_0999),
        cmocka_unit_test(test_golden__onednn_int8_cosine_099),
        cmocka_unit_test(test_model__shared_by_threads_with_one_session_each),
        cmocka_unit_test(test_model__batch_over_the_row_tiles_matches_one_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
