/* test_timeseries.c - rag_timeseries and its latency sketch: quantiles
 * against exact sorted quantiles within the stated relative error, bucket
 * alignment, the ring wrapping, `since`, a clock stepping back, stage
 * sums, the JSON shape, option checks, exact counts under threads,
 * allocation failure. The clock is injected. */
#include "test_support.h"

#include "metrics/metrics.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ----------------------------------------------------------- */

static double fake_now;
static double fake_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static rag_timeseries *new_ts(int interval_s, int n_intervals, double t0)
{
    static const char *const stages[] = {"bm25", "embed", "knn", NULL};
    rag_timeseries_opts o = rag_timeseries_default_opts();
    rag_timeseries *ts = NULL;
    rag_err err = {0};
    o.interval_s = interval_s;
    o.n_intervals = n_intervals;
    o.stages = stages;
    o.clock.now_s = fake_clock;
    fake_now = t0;
    if (rag_timeseries_create(&ts, &o, &err) != RAG_OK)
        fail_msg("create: %s", err.msg);
    return ts;
}

static json_t *ts_json(rag_timeseries *ts, int64_t since)
{
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    json_error_t je;
    json_t *j;
    if (rag_timeseries_json(ts, since, &b, &err) != RAG_OK)
        fail_msg("json: %s", err.msg);
    j = json_loads(b.data, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, b.data);
    rag_buf_fini(&b);
    return j;
}

static void record(rag_timeseries *ts, double ms, int error, int refused)
{
    rag_ts_event ev = {.latency_ms = ms, .error = error, .refused = refused};
    rag_timeseries_record(ts, &ev);
}

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void) /* uniform [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the sample of rank ceil(q*n) (at least 1), 1-based. */
static double exact_quantile(const double *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

/* ---- the sketch --------------------------------------------------------- */

static void check_distribution(const char *name, double (*gen)(void), size_t n)
{
    static const double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1};
    double *v = rag_malloc(n * sizeof *v);
    rag_ts_sketch s = {0};
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = gen();
        rag_ts_sketch_add(&s, v[i]);
    }
    qsort(v, n, sizeof *v, cmp_double);
    assert_int_equal(s.n, n);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = exact_quantile(v, n, qs[i]);
        double got = rag_ts_sketch_quantile(&s, qs[i]);
        double rel = fabs(got - want) / want;
        if (rel > RAG_TS_SKETCH_REL_ERROR)
            fail_msg("%s n=%zu q=%.2f: sketch %.6g, exact %.6g, error %.4f > %.4f", name, n,
                     qs[i], got, want, rel, RAG_TS_SKETCH_REL_ERROR);
    }
    rag_free(v);
}

static double gen_uniform(void) { return 1 + 999 * rnd(); }
static double gen_lognormal(void)
{
    double u1 = rnd() + 1e-12, u2 = rnd();
    double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
    return exp(log(40) + 0.8 * z); /* median 40 ms */
}
static double gen_bimodal(void) /* cached searches and LLM answers */
{
    return rnd() < 0.7 ? 0.3 + 2 * rnd() : 2000 + 20000 * rnd();
}
static double gen_wide(void) { return 0.1 * exp2(rnd() * 21.3); } /* whole range */
static double gen_constant(void) { return 12.5; }

static void test_sketch__quantiles_within_stated_error_of_exact(void **state)
{
    static const size_t sizes[] = {1, 2, 3, 7, 20, 101, 1000, 100000};
    (void)state;
    /* The stated bound is the bin geometry's. */
    assert_true((cbrt(2) - 1) / (cbrt(2) + 1) <= RAG_TS_SKETCH_REL_ERROR);
    assert_true((cbrt(2) - 1) / (cbrt(2) + 1) > RAG_TS_SKETCH_REL_ERROR - 1e-4);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_distribution("uniform", gen_uniform, sizes[i]);
        check_distribution("lognormal", gen_lognormal, sizes[i]);
        check_distribution("bimodal", gen_bimodal, sizes[i]);
        check_distribution("wide", gen_wide, sizes[i]);
        check_distribution("constant", gen_constant, sizes[i]);
    }
}

static void test_sketch__bin_edges_stay_within_error(void **state)
{
    (void)state;
    /* Values on and just around every bin edge. */
    for (int i = 0; i < RAG_TS_SKETCH_BINS; i++) {
        double edge = RAG_TS_SKETCH_MIN_MS * exp2(i / 3.0);
        double probes[] = {edge, nextafter(edge, 0), nextafter(edge, INFINITY), edge * 1.1};
        for (int j = 0; j < 4; j++) {
            rag_ts_sketch s = {0};
            double got;
            if (probes[j] < RAG_TS_SKETCH_MIN_MS)
                continue;
            rag_ts_sketch_add(&s, probes[j]);
            got = rag_ts_sketch_quantile(&s, 0.5);
            assert_true(fabs(got - probes[j]) / probes[j] <= RAG_TS_SKETCH_REL_ERROR);
        }
    }
}

static void test_sketch__out_of_range_empty_and_merge(void **state)
{
    rag_ts_sketch a = {0}, b = {0}, all = {0};
    double top = RAG_TS_SKETCH_MIN_MS * exp2(RAG_TS_SKETCH_BINS / 3.0);
    (void)state;
    assert_true(isnan(rag_ts_sketch_quantile(&a, 0.5)));
    rag_ts_sketch_add(&a, NAN);  /* ignored */
    rag_ts_sketch_add(&a, -1);   /* ignored */
    assert_int_equal(a.n, 0);
    rag_ts_sketch_add(&a, 0);    /* below the range: bin 0 */
    assert_true(rag_ts_sketch_quantile(&a, 0.5) < 0.12);
    rag_ts_sketch_add(&b, 1e9);  /* above: the top bin, under 264 s */
    assert_true(rag_ts_sketch_quantile(&b, 0.5) < top);
    assert_true(rag_ts_sketch_quantile(&b, 0.5) > top / 1.3);
    for (int i = 1; i <= 100; i++) {
        rag_ts_sketch_add(i % 2 ? &a : &b, i);
        rag_ts_sketch_add(&all, i);
    }
    rag_ts_sketch_add(&all, 0);
    rag_ts_sketch_add(&all, 1e9);
    rag_ts_sketch_merge(&a, &b);
    assert_memory_equal(&a, &all, sizeof a);
}

/* ---- the ring ----------------------------------------------------------- */

static json_t *point_at(json_t *j, size_t i)
{
    json_t *p = json_array_get(json_object_get(j, "points"), i);
    assert_non_null(p);
    return p;
}

static json_int_t int_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_timeseries__requests_land_in_aligned_intervals(void **state)
{
    rag_timeseries *ts = new_ts(10, 6, 1003.7);
    json_t *j, *p;
    (void)state;
    record(ts, 5, 0, 0);
    record(ts, 7, 1, 0);
    fake_now = 1009.999;
    record(ts, 9, 0, 1);
    fake_now = 1010.0; /* the next interval starts exactly here */
    record(ts, 100, 1, 1);
    fake_now = 1031;
    record(ts, 50, 0, 0);
    j = ts_json(ts, 0);
    assert_int_equal(int_field(j, "interval_s"), 10);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 4);
    p = point_at(j, 0);
    assert_int_equal(int_field(p, "t"), 1000);
    assert_int_equal(int_field(p, "requests"), 3);
    assert_int_equal(int_field(p, "errors"), 1);
    assert_int_equal(int_field(p, "refusals"), 1);
    assert_true(fabs(json_real_value(json_object_get(p, "p50_ms")) - 7) / 7 <=
                RAG_TS_SKETCH_REL_ERROR);
    assert_true(fabs(json_real_value(json_object_get(p, "p95_ms")) - 9) / 9 <=
                RAG_TS_SKETCH_REL_ERROR);
    p = point_at(j, 1);
    assert_int_equal(int_field(p, "t"), 1010);
    assert_int_equal(int_field(p, "requests"), 1);
    assert_int_equal(int_field(p, "errors"), 1);
    assert_int_equal(int_field(p, "refusals"), 1);
    p = point_at(j, 2); /* nothing happened: zeros and null quantiles */
    assert_int_equal(int_field(p, "t"), 1020);
    assert_int_equal(int_field(p, "requests"), 0);
    assert_true(json_is_null(json_object_get(p, "p50_ms")));
    assert_true(json_is_null(json_object_get(p, "p95_ms")));
    p = point_at(j, 3);
    assert_int_equal(int_field(p, "t"), 1030);
    assert_int_equal(int_field(p, "requests"), 1);
    json_decref(j);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__ring_keeps_only_the_last_n_intervals(void **state)
{
    rag_timeseries *ts = new_ts(10, 6, 1000);
    rag_ts_point pt;
    json_t *j;
    (void)state;
    for (int k = 0; k < 20; k++) { /* interval k gets k + 1 requests */
        fake_now = 1000 + 10 * k + 5;
        for (int i = 0; i <= k; i++)
            record(ts, 1, 0, 0);
    }
    j = ts_json(ts, 0);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 6);
    for (int i = 0; i < 6; i++) {
        json_t *p = point_at(j, (size_t)i);
        assert_int_equal(int_field(p, "t"), 1000 + 10 * (14 + i));
        assert_int_equal(int_field(p, "requests"), 15 + i);
    }
    json_decref(j);
    /* An interval the ring has overwritten reads as zeros, not as the
     * interval now in its slot. */
    rag_timeseries_point(ts, 1000, &pt);
    assert_int_equal(pt.t, 1000);
    assert_int_equal(pt.requests, 0);
    rag_timeseries_point(ts, 1195, &pt); /* rounded down to 1190 */
    assert_int_equal(pt.t, 1190);
    assert_int_equal(pt.requests, 20);
    assert_int_equal(pt.latency.n, 20);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__since_selects_intervals_ending_after_it(void **state)
{
    rag_timeseries *ts = new_ts(10, 100, 1000);
    json_t *j;
    (void)state;
    fake_now = 1055;
    record(ts, 1, 0, 0);
    j = ts_json(ts, 1015); /* 1010 ends after 1015: included */
    assert_int_equal(json_array_size(json_object_get(j, "points")), 5);
    assert_int_equal(int_field(point_at(j, 0), "t"), 1010);
    json_decref(j);
    j = ts_json(ts, 1050);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 1);
    assert_int_equal(int_field(point_at(j, 0), "requests"), 1);
    json_decref(j);
    j = ts_json(ts, 1060); /* in the future */
    assert_int_equal(json_array_size(json_object_get(j, "points")), 0);
    json_decref(j);
    j = ts_json(ts, 0); /* nothing before creation */
    assert_int_equal(json_array_size(json_object_get(j, "points")), 6);
    assert_int_equal(int_field(point_at(j, 0), "t"), 1000);
    json_decref(j);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__clock_stepping_back_never_wipes_newer_data(void **state)
{
    rag_timeseries *ts = new_ts(10, 6, 1000);
    rag_ts_point pt;
    (void)state;
    fake_now = 1100;
    record(ts, 1, 0, 0);
    fake_now = 1040; /* the same slot (110 and 104 mod 6), an older interval */
    record(ts, 1, 0, 0);
    rag_timeseries_point(ts, 1100, &pt);
    assert_int_equal(pt.requests, 1);
    rag_timeseries_point(ts, 1040, &pt);
    assert_int_equal(pt.requests, 0);
    fake_now = 1050; /* slot 105 mod 6 is free: counted */
    record(ts, 1, 0, 0);
    rag_timeseries_point(ts, 1050, &pt);
    assert_int_equal(pt.requests, 1);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__stage_sums_skip_stages_that_did_not_run(void **state)
{
    rag_timeseries *ts = new_ts(10, 6, 1000);
    double a[3] = {1.5, 10, -1}, b[3] = {2.5, NAN, 4};
    rag_ts_event ea = {.latency_ms = 20, .stage_ms = a}, eb = {.latency_ms = 30, .stage_ms = b};
    rag_ts_event none = {.latency_ms = NAN}; /* counted, not timed */
    json_t *j, *stages, *st;
    const char *key;
    json_t *val;
    int i = 0;
    static const char *const order[] = {"bm25", "embed", "knn"};
    (void)state;
    assert_int_equal(rag_timeseries_n_stages(ts), 3);
    assert_int_equal(rag_timeseries_stage(ts, "knn"), 2);
    assert_int_equal(rag_timeseries_stage(ts, "rerank"), -1);
    rag_timeseries_record(ts, &ea);
    rag_timeseries_record(ts, &eb);
    rag_timeseries_record(ts, &none);
    j = ts_json(ts, 0);
    assert_int_equal(int_field(point_at(j, 0), "requests"), 3);
    stages = json_object_get(point_at(j, 0), "stages");
    json_object_foreach(stages, key, val) /* in registration order */
        assert_string_equal(key, order[i++]);
    assert_int_equal(i, 3);
    st = json_object_get(stages, "bm25");
    assert_float_equal(json_number_value(json_object_get(st, "sum_ms")), 4, 1e-9);
    assert_int_equal(int_field(st, "count"), 2);
    st = json_object_get(stages, "embed");
    assert_float_equal(json_number_value(json_object_get(st, "sum_ms")), 10, 1e-9);
    assert_int_equal(int_field(st, "count"), 1);
    st = json_object_get(stages, "knn");
    assert_float_equal(json_number_value(json_object_get(st, "sum_ms")), 4, 1e-9);
    assert_int_equal(int_field(st, "count"), 1);
    /* The sketch holds the two timed requests only. */
    assert_true(fabs(json_real_value(json_object_get(point_at(j, 0), "p50_ms")) - 20) / 20 <=
                RAG_TS_SKETCH_REL_ERROR);
    json_decref(j);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__json_shape_is_exact(void **state)
{
    static const char *const stages[] = {"bm25", NULL};
    rag_timeseries_opts o = rag_timeseries_default_opts();
    rag_timeseries *ts = NULL;
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    double st[1] = {0.5};
    rag_ts_event ev = {.latency_ms = 0.05, .stage_ms = st}; /* bin 0 */
    (void)state;
    o.interval_s = 60;
    o.n_intervals = 2;
    o.stages = stages;
    o.clock.now_s = fake_clock;
    fake_now = 120;
    assert_int_equal(rag_timeseries_create(&ts, &o, &err), RAG_OK);
    rag_timeseries_record(ts, &ev);
    fake_now = 190;
    assert_int_equal(rag_buf_puts(&b, "x"), RAG_OK); /* appended, not replaced */
    assert_int_equal(rag_timeseries_json(ts, 0, &b, &err), RAG_OK);
    assert_string_equal(b.data,
                        "x{\"interval_s\":60,\"points\":["
                        "{\"t\":120,\"requests\":1,\"errors\":0,\"refusals\":0,"
                        "\"p50_ms\":0.111501,\"p95_ms\":0.111501,"
                        "\"stages\":{\"bm25\":{\"sum_ms\":0.5,\"count\":1}}},"
                        "{\"t\":180,\"requests\":0,\"errors\":0,\"refusals\":0,"
                        "\"p50_ms\":null,\"p95_ms\":null,"
                        "\"stages\":{\"bm25\":{\"sum_ms\":0.0,\"count\":0}}}]}");
    /* Over the buffer cap: left as it was. */
    b.max_len = b.len + 10;
    {
        size_t len = b.len;
        assert_int_equal(rag_timeseries_json(ts, 0, &b, &err), RAG_ELIMIT);
        assert_int_equal(b.len, len);
    }
    rag_buf_fini(&b);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__default_opts_use_the_real_clock(void **state)
{
    rag_timeseries *ts = NULL;
    rag_err err = {0};
    json_t *j;
    json_int_t t;
    int64_t now = (int64_t)time(NULL);
    (void)state;
    assert_int_equal(rag_timeseries_create(&ts, NULL, &err), RAG_OK);
    assert_int_equal(rag_timeseries_n_stages(ts), 5);
    assert_int_equal(rag_timeseries_stage(ts, "answer"), 4);
    record(ts, 3, 0, 0);
    j = ts_json(ts, 0);
    assert_int_equal(int_field(j, "interval_s"), 10);
    assert_true(json_array_size(json_object_get(j, "points")) >= 1);
    t = int_field(point_at(j, json_array_size(json_object_get(j, "points")) - 1), "t");
    assert_true(t % 10 == 0 && t <= now + 10 && t >= now - 20);
    json_decref(j);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__invalid_options_are_refused(void **state)
{
    static const char *const bad_name[] = {"BM25", NULL}, *const dup[] = {"a", "a", NULL},
                             *const empty[] = {"", NULL},
                             *const too_long[] = {"a_very_long_stage_name_xyz", NULL};
    static const char *many[RAG_TS_MAX_STAGES + 2];
    static char names[RAG_TS_MAX_STAGES + 1][8];
    rag_timeseries_opts o;
    rag_timeseries *ts = (rag_timeseries *)1;
    rag_err err = {0};
    (void)state;
    for (int i = 0; i <= RAG_TS_MAX_STAGES; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        many[i] = names[i];
    }
#define EXPECT_BAD(field, value)                                                        \
    do {                                                                                \
        o = rag_timeseries_default_opts();                                              \
        o.field = value;                                                                \
        assert_int_equal(rag_timeseries_create(&ts, &o, &err), RAG_EINVAL);             \
        assert_null(ts);                                                                \
    } while (0)
    EXPECT_BAD(interval_s, 0);
    EXPECT_BAD(interval_s, 86401);
    EXPECT_BAD(n_intervals, 0);
    EXPECT_BAD(n_intervals, 100001);
    EXPECT_BAD(stages, bad_name);
    EXPECT_BAD(stages, dup);
    EXPECT_BAD(stages, empty);
    EXPECT_BAD(stages, too_long);
    EXPECT_BAD(stages, many);
#undef EXPECT_BAD
    o = rag_timeseries_default_opts();
    o.stages = NULL; /* no stages is fine */
    assert_int_equal(rag_timeseries_create(&ts, &o, &err), RAG_OK);
    assert_int_equal(rag_timeseries_n_stages(ts), 0);
    rag_timeseries_destroy(ts);
}

static void test_timeseries__allocation_failure_at_every_step(void **state)
{
    long n_ok = -1;
    (void)state;
    for (long n = 0; n < 1000 && n_ok < 0; n++) {
        rag_timeseries *ts = NULL;
        rag_buf b = RAG_BUF_INIT;
        rag_err err = {0};
        int rc;
        fake_now = 5000;
        ts_fail_alloc_after(n);
        rc = rag_timeseries_create(&ts, &(rag_timeseries_opts){.interval_s = 10,
                                                                .n_intervals = 30,
                                                                .clock = {fake_clock, NULL}},
                                   &err);
        if (rc == RAG_OK) {
            record(ts, 1, 0, 0);
            fake_now = 5100;
            rc = rag_timeseries_json(ts, 0, &b, &err);
        }
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK)
            n_ok = n;
        else
            assert_int_equal(rc, RAG_ENOMEM);
        rag_buf_fini(&b);
        rag_timeseries_destroy(ts);
    }
    assert_true(n_ok >= 2);
}

/* ---- threads ------------------------------------------------------------- */

#define N_THREADS 4
#define N_PER_THREAD 50000

static _Atomic int stop_reader, reader_failures;

static double steady_clock(void *ud)
{
    return *(const double *)ud; /* written before the threads start */
}

static void *ts_worker(void *p)
{
    rag_timeseries *ts = p;
    for (int i = 0; i < N_PER_THREAD; i++) {
        double st[3] = {1, (i % 2) ? 2 : NAN, 0.25};
        rag_ts_event ev = {.latency_ms = 1 + i % 100, .error = i % 10 == 0,
                           .refused = i % 25 == 0, .stage_ms = st};
        rag_timeseries_record(ts, &ev);
    }
    return NULL;
}

static void *ts_reader(void *p)
{
    rag_timeseries *ts = p;
    while (!atomic_load(&stop_reader)) {
        rag_buf b = RAG_BUF_INIT;
        if (rag_timeseries_json(ts, 0, &b, NULL) != RAG_OK) /* no cmocka off main */
            atomic_fetch_add(&reader_failures, 1);
        rag_buf_fini(&b);
    }
    return NULL;
}

static void test_timeseries__counts_exact_under_threads(void **state)
{
    static const char *const stages[] = {"bm25", "embed", "knn", NULL};
    static double t_fixed = 7777;
    rag_timeseries_opts o = rag_timeseries_default_opts();
    rag_timeseries *ts = NULL;
    rag_err err = {0};
    pthread_t t[N_THREADS], r;
    rag_ts_point pt;
    (void)state;
    o.stages = stages;
    o.clock.now_s = steady_clock;
    o.clock.userdata = &t_fixed;
    assert_int_equal(rag_timeseries_create(&ts, &o, &err), RAG_OK);
    atomic_store(&stop_reader, 0);
    pthread_create(&r, NULL, ts_reader, ts);
    for (int i = 0; i < N_THREADS; i++)
        pthread_create(&t[i], NULL, ts_worker, ts);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stop_reader, 1);
    pthread_join(r, NULL);
    assert_int_equal(atomic_load(&reader_failures), 0);
    rag_timeseries_point(ts, 7770, &pt);
    assert_int_equal(pt.requests, N_THREADS * N_PER_THREAD);
    assert_int_equal(pt.errors, N_THREADS * N_PER_THREAD / 10);
    assert_int_equal(pt.refusals, N_THREADS * N_PER_THREAD / 25);
    assert_int_equal(pt.latency.n, N_THREADS * N_PER_THREAD);
    assert_int_equal(pt.stage_count[0], N_THREADS * N_PER_THREAD);
    assert_int_equal(pt.stage_count[1], N_THREADS * N_PER_THREAD / 2);
    assert_true(pt.stage_sum_ms[2] == 0.25 * N_THREADS * N_PER_THREAD);
    rag_timeseries_destroy(ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sketch__quantiles_within_stated_error_of_exact),
        cmocka_unit_test(test_sketch__bin_edges_stay_within_error),
        cmocka_unit_test(test_sketch__out_of_range_empty_and_merge),
        cmocka_unit_test(test_timeseries__requests_land_in_aligned_intervals),
        cmocka_unit_test(test_timeseries__ring_keeps_only_the_last_n_intervals),
        cmocka_unit_test(test_timeseries__since_selects_intervals_ending_after_it),
        cmocka_unit_test(test_timeseries__clock_stepping_back_never_wipes_newer_data),
        cmocka_unit_test(test_timeseries__stage_sums_skip_stages_that_did_not_run),
        cmocka_unit_test(test_timeseries__json_shape_is_exact),
        cmocka_unit_test(test_timeseries__default_opts_use_the_real_clock),
        cmocka_unit_test(test_timeseries__invalid_options_are_refused),
        cmocka_unit_test(test_timeseries__allocation_failure_at_every_step),
        cmocka_unit_test(test_timeseries__counts_exact_under_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
