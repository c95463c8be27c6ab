/* test_usage.c - rag_usage: persistence across opens on one db file,
 * budget cut-off and its one warning, percentiles, alerts, threads, JSON. */
#include "test_support.h"

#include "index/index.h"
#include "index/store.h"
#include "obs/obs.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int n_budget_warn, n_alert;
static void count_log(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    if (strstr(msg, "monthly budget of"))
        n_budget_warn++;
    if (strstr(msg, "alert:"))
        n_alert++;
}

static rag_config *load_yaml(const char *yaml)
{
    rag_config_source src = {0};
    rag_config *cfg = NULL;
    rag_err err = {0};
    src.yaml_text = yaml;
    src.yaml_len = strlen(yaml);
    if (rag_config_load(&cfg, &src, &err) != RAG_OK)
        fail_msg("config: %s", err.msg);
    return cfg;
}

static const char *yaml = "profile: local\nchains:\n  embed: [paid]\nbackends:\n"
                          "  paid:\n    type: openai\n    model: m\n"
                          "    price_in_per_mtok: 2\n    price_out_per_mtok: 10\n"
                          "    monthly_budget_usd: 0.001\n";

static void test_usage__persists_across_opens_and_budget_holds(void **state)
{
    char *dir = ts_tmpdir("usage"), path[512];
    rag_config *cfg = load_yaml(yaml);
    rag_index *ix;
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_err err = {0};
    rag_usage_event ev = {.backend = "paid", .stage = "embed", .ok = 1, .latency_ms = 12,
                          .tokens_in = 100, .tokens_out = 20};
    (void)state;
    snprintf(path, sizeof path, "%s/u.db", dir);
    rag_log_set(count_log, NULL);
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_int_equal(rag_usage_open(&u, rag_index_store(ix), cfg, &err), RAG_OK);
    /* 100*2/1e6 + 20*10/1e6 = 0.0004 per call */
    assert_float_equal(rag_usage_cost(u, "paid", 100, 20), 0.0004, 1e-12);
    rag_usage_record(u, &ev);
    rag_usage_record(u, &ev);
    ev.ok = 0;
    ev.error_class = "timeout";
    ev.retries = 3;
    ev.fell_back = 1;
    ev.tokens_in = ev.tokens_out = 0;
    rag_usage_record(u, &ev);
    assert_int_equal(rag_usage_allowed(u, "paid"), 1);
    rag_usage_close(u);
    rag_index_close(ix);

    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_int_equal(rag_usage_open(&u, rag_index_store(ix), cfg, &err), RAG_OK);
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.tokens_in, 200);
    assert_float_equal(st.month_cost_usd, 0.0008, 1e-12);
    assert_int_equal(rag_usage_errors(u, "paid", "timeout"), 1);
    assert_true(st.p50_ms > 11 && st.p50_ms < 13.2);
    ev.ok = 1;
    ev.tokens_in = 100;
    ev.tokens_out = 20;
    n_budget_warn = 0;
    rag_usage_record(u, &ev); /* 0.0012 >= 0.001: spent, warned here */
    for (int i = 0; i < 5; i++)
        assert_int_equal(rag_usage_allowed(u, "paid"), 0);
    rag_usage_close(u);
    rag_index_close(ix);

    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK); /* third run: still spent */
    assert_int_equal(rag_usage_open(&u, rag_index_store(ix), cfg, &err), RAG_OK);
    assert_int_equal(rag_usage_allowed(u, "paid"), 0);
    assert_int_equal(rag_usage_allowed(u, "paid"), 0);
    assert_int_equal(n_budget_warn, 1 + 1); /* once per process */
    {
        rag_buf b = RAG_BUF_INIT;
        json_t *j, *p;
        assert_int_equal(rag_usage_json(u, &b, &err), RAG_OK);
        j = json_loads(b.data, 0, NULL);
        assert_non_null(j);
        p = json_object_get(json_object_get(j, "backends"), "paid");
        assert_int_equal(json_integer_value(json_object_get(p, "requests")), 4);
        assert_true(json_is_false(json_object_get(p, "allowed")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "errors"),
                                                            "timeout")), 1);
        assert_non_null(json_object_get(json_object_get(p, "latency_ms"), "p95"));
        json_decref(j);
        rag_buf_fini(&b);
    }
    rag_usage_close(u);
    rag_index_close(ix);
    rag_log_set(NULL, NULL);
    rag_config_destroy(cfg);
    rag_free(dir);
}

static void test_usage__percentiles_within_bucket_error(void **state)
{
    rag_usage *u = NULL;
    rag_usage_stats st;
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, NULL, NULL), RAG_OK);
    for (int i = 1; i <= 1000; i++) {
        rag_usage_event ev = {.backend = "b", .ok = 1, .latency_ms = i};
        rag_usage_record(u, &ev);
    }
    assert_int_equal(rag_usage_get(u, "b", &st), RAG_OK);
    assert_true(st.p50_ms > 500 * 0.91 && st.p50_ms < 500 * 1.1);
    assert_true(st.p95_ms > 950 * 0.91 && st.p95_ms < 950 * 1.1);
    assert_true(st.p99_ms > 990 * 0.91 && st.p99_ms < 990 * 1.1);
    rag_usage_close(u);
}

static void test_usage__error_rate_alert_logged_once(void **state)
{
    rag_usage *u = NULL;
    rag_usage_alerts a = rag_usage_default_alerts();
    (void)state;
    a.window = 10;
    a.error_rate = 0.5;
    n_alert = 0;
    rag_log_set(count_log, NULL);
    assert_int_equal(rag_usage_open(&u, NULL, NULL, NULL), RAG_OK);
    rag_usage_set_alerts(u, &a);
    for (int i = 0; i < 30; i++) {
        rag_usage_event ev = {.backend = "b", .ok = 0, .error_class = "http_5xx"};
        rag_usage_record(u, &ev);
    }
    assert_int_equal(n_alert, 1);
    rag_usage_close(u);
    rag_log_set(NULL, NULL);
}

static rag_usage *shared;
static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        rag_usage_event ev = {.backend = i % 2 ? "x" : "y", .ok = 1, .latency_ms = 1,
                              .tokens_in = 1};
        rag_usage_record(shared, &ev);
    }
    return NULL;
}

static void test_usage__counts_exact_under_threads(void **state)
{
    pthread_t t[4];
    rag_usage_stats sx, sy;
    (void)state;
    assert_int_equal(rag_usage_open(&shared, NULL, NULL, NULL), RAG_OK);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    rag_usage_get(shared, "x", &sx);
    rag_usage_get(shared, "y", &sy);
    assert_int_equal(sx.requests + sy.requests, 8000);
    assert_int_equal(sx.tokens_in, 4000);
    rag_usage_close(shared);
}

/* A sync waiting for the database (another connection holds its write
 * lock) does not hold up the threads that record and check budgets; when
 * the lock goes, it writes what it took and what came meanwhile is kept
 * for the next one. */
typedef struct {
    rag_usage *u;
    int rc;
    atomic_int done;
} sync_job;

static void *run_sync(void *arg)
{
    sync_job *j = arg;
    rag_err err = {0};
    j->rc = rag_usage_sync(j->u, &err);
    atomic_store(&j->done, 1);
    return NULL;
}

static void test_usage__sync_waiting_for_the_store_blocks_no_caller(void **state)
{
    char *dir = ts_tmpdir("usage_sync"), path[512];
    rag_config *cfg = load_yaml(yaml);
    rag_index *ix, *other, *again;
    rag_usage *u = NULL, *u2 = NULL;
    rag_usage_stats st;
    rag_err err = {0};
    sync_job job = {0};
    pthread_t t;
    struct timespec pause = {0, 200 * 1000 * 1000};
    rag_usage_event ev = {.backend = "paid", .stage = "embed", .ok = 1, .latency_ms = 3,
                          .tokens_in = 100, .tokens_out = 20};
    (void)state;
    snprintf(path, sizeof path, "%s/u.db", dir);
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_int_equal(rag_index_open(&other, path, 0, &err), RAG_OK);
    assert_int_equal(rag_usage_open(&u, rag_index_store(ix), cfg, &err), RAG_OK);
    rag_usage_record(u, &ev);
    /* the other connection takes the write lock: the sync waits for it */
    assert_int_equal(rag_store_begin(rag_index_store(other), &err), RAG_OK);
    job.u = u;
    assert_int_equal(pthread_create(&t, NULL, run_sync, &job), 0);
    nanosleep(&pause, NULL);
    rag_usage_record(u, &ev);
    assert_true(rag_usage_allowed(u, "paid"));
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 2);
    /* all of that while the sync still waits */
    assert_false(atomic_load(&job.done));
    rag_store_rollback(rag_index_store(other));
    pthread_join(t, NULL);
    assert_int_equal(job.rc, RAG_OK);
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 2);   /* one stored, one not yet */
    assert_float_equal(st.month_cost_usd, 0.0008, 1e-12);
    /* a second meter on the file sees the stored one only */
    assert_int_equal(rag_index_open(&again, path, 0, &err), RAG_OK);
    assert_int_equal(rag_usage_open(&u2, rag_index_store(again), cfg, &err), RAG_OK);
    assert_int_equal(rag_usage_get(u2, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 1);
    /* the next sync writes the other, and each meter sees both */
    assert_int_equal(rag_usage_sync(u, &err), RAG_OK);
    assert_int_equal(rag_usage_sync(u2, &err), RAG_OK);
    assert_int_equal(rag_usage_get(u2, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 2);
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 2);
    rag_usage_close(u2);
    rag_index_close(again);
    rag_usage_close(u);
    rag_index_close(other);
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage__persists_across_opens_and_budget_holds),
        cmocka_unit_test(test_usage__percentiles_within_bucket_error),
        cmocka_unit_test(test_usage__error_rate_alert_logged_once),
        cmocka_unit_test(test_usage__counts_exact_under_threads),
        cmocka_unit_test(test_usage__sync_waiting_for_the_store_blocks_no_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
