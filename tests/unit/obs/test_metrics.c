/* test_metrics.c - rag_metrics: exact exposition text (escaping, number
 * forms, cumulative buckets, +Inf, sorting), the series cap and "other",
 * registration checks, callback series, the ready-made families, exact
 * totals under threads, allocation failure at every step.
 *
 * `test_metrics --dump` prints a representative registry instead of
 * running the tests; tests/integration/metrics_promtool.sh feeds it to
 * `promtool check metrics`.
 */
#include "test_support.h"

#include "obs/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static rag_metrics *new_registry(void)
{
    rag_metrics *m = NULL;
    rag_err err = {0};
    assert_int_equal(rag_metrics_create(&m, &err), RAG_OK);
    return m;
}

static char *render(rag_metrics *m)
{
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    int rc = rag_metrics_render(m, &b, &err);
    if (rc != RAG_OK)
        fail_msg("render: %s", err.msg);
    return rag_buf_take(&b);
}

static void assert_render(rag_metrics *m, const char *want)
{
    char *got = render(m);
    if (strcmp(got, want)) {
        print_error("--- want\n%s--- got\n%s---\n", want, got);
        rag_free(got);
        fail();
    }
    rag_free(got);
}

/* ---- the representative registry (also --dump) ------------------------ */

static int fixed_value(double *v, void *ud)
{
    *v = *(const double *)ud;
    return 0;
}

static int failing_value(double *v, void *ud)
{
    (void)v;
    (void)ud;
    return -1;
}

static const double queue_depth = 3;

typedef struct {
    rag_metrics *m;
    rag_net_endpoint *ep;
    rag_usage *u;
} sample_registry;

/* What `docrag serve` will register, with values on every path the
 * renderer has: labels needing escapes, the "other" series, fractional
 * counters, NaN/Inf gauges, callbacks (one failing), histograms with and
 * without labels, the process, endpoint and usage families. */
static void sample_build(sample_registry *sr)
{
    rag_err err = {0};
    rag_counter *req, *cost, *plain;
    rag_gauge *inflight, *odd, *cb;
    rag_histogram *dur, *tokens;
    rag_net_endpoint_opts eo = rag_net_endpoint_default_opts();
    rag_usage_event ev = {.backend = "hf_router", .stage = "llm", .ok = 1,
                          .latency_ms = 800, .tokens_in = 1200, .tokens_out = 300};
    static const double token_buckets[] = {16, 64, 256, 1024, 4096};
    char route[32];

    memset(sr, 0, sizeof *sr);
    sr->m = new_registry();
    rag_metric_desc d_req = {.name = "docrag_http_requests_total",
                             .help = "HTTP requests by route and status.",
                             .labels = {"route", "status"}, .max_series = 8};
    assert_int_equal(rag_metrics_counter(&req, sr->m, &d_req, &err), RAG_OK);
    rag_counter_add(req, (const char *[]){"/v1/search", "200"}, 41);
    rag_counter_inc(req, (const char *[]){"/v1/search", "400"});
    rag_counter_add(req, (const char *[]){"/v1/ask", "200"}, 7);
    rag_counter_inc(req, (const char *[]){"/v1/ask", "503"});
    rag_counter_inc(req, (const char *[]){"/weird\\path\"with\nnewline", "404"});
    rag_counter_inc(req, (const char *[]){"/caf\xc3\xa9/\xff", "404"});
    for (int i = 0; i < 6; i++) { /* past the cap of 8: folds into "other" */
        snprintf(route, sizeof route, "/scan/%d", i);
        rag_counter_inc(req, (const char *[]){route, "404"});
    }

    rag_metric_desc d_dur = {.name = "docrag_http_request_duration_seconds",
                             .help = "HTTP request latency by route.",
                             .labels = {"route"}};
    assert_int_equal(rag_metrics_histogram(&dur, sr->m, &d_dur, &err), RAG_OK);
    for (int i = 0; i < 50; i++)
        rag_histogram_observe(dur, (const char *[]){"/v1/search"}, 0.0005 * (i + 1));
    rag_histogram_observe(dur, (const char *[]){"/v1/ask"}, 2.7);
    rag_histogram_observe(dur, (const char *[]){"/v1/ask"}, 300); /* only +Inf */

    rag_metric_desc d_tok = {.name = "docrag_llm_prompt_tokens",
                             .help = "Prompt tokens per LLM call.",
                             .buckets = token_buckets, .n_buckets = 5};
    assert_int_equal(rag_metrics_histogram(&tokens, sr->m, &d_tok, &err), RAG_OK);
    rag_histogram_observe(tokens, NULL, 900);
    rag_histogram_observe(tokens, NULL, 1024);

    rag_metric_desc d_cost = {.name = "docrag_llm_cost_usd_total",
                              .help = "Estimated LLM spend in US dollars.",
                              .labels = {"backend"}};
    assert_int_equal(rag_metrics_counter(&cost, sr->m, &d_cost, &err), RAG_OK);
    rag_counter_add_f(cost, (const char *[]){"hf_router"}, 0.0004);
    rag_counter_add_f(cost, (const char *[]){"hf_router"}, 0.1);

    rag_metric_desc d_plain = {.name = "docrag_sse_streams_total",
                               .help = "SSE answer streams opened \\ with help escapes\n"
                                       "on two lines."};
    assert_int_equal(rag_metrics_counter(&plain, sr->m, &d_plain, &err), RAG_OK);

    rag_metric_desc d_in = {.name = "docrag_http_in_flight",
                            .help = "HTTP requests being served now."};
    assert_int_equal(rag_metrics_gauge(&inflight, sr->m, &d_in, &err), RAG_OK);
    rag_gauge_add(inflight, NULL, 2);

    rag_metric_desc d_odd = {.name = "docrag_test_values",
                             .help = "Gauges with every value form.", .labels = {"form"}};
    assert_int_equal(rag_metrics_gauge(&odd, sr->m, &d_odd, &err), RAG_OK);
    rag_gauge_set(odd, (const char *[]){"nan"}, NAN);
    rag_gauge_set(odd, (const char *[]){"pinf"}, INFINITY);
    rag_gauge_set(odd, (const char *[]){"ninf"}, -INFINITY);
    rag_gauge_set(odd, (const char *[]){"tiny"}, 1e-300);
    rag_gauge_set(odd, (const char *[]){"big"}, 1.5e300);
    rag_gauge_set(odd, (const char *[]){"neg"}, -0.1);
    rag_gauge_set(odd, (const char *[]){"empty\"\\"}, 0);
    rag_gauge_set(odd, (const char *[]){""}, 1);

    rag_metric_desc d_cb = {.name = "docrag_queue_depth",
                            .help = "Requests waiting for a worker.", .labels = {"pool"}};
    assert_int_equal(rag_metrics_gauge(&cb, sr->m, &d_cb, &err), RAG_OK);
    assert_int_equal(rag_gauge_set_fn(cb, (const char *[]){"ask"}, fixed_value,
                                      (void *)&queue_depth, &err),
                     RAG_OK);
    assert_int_equal(rag_gauge_set_fn(cb, (const char *[]){"broken"}, failing_value, NULL,
                                      &err),
                     RAG_OK);

    assert_int_equal(rag_metrics_add_process(sr->m, &err), RAG_OK);

    eo.name = "tei";
    eo.base_url = "http://127.0.0.1:9";
    assert_int_equal(rag_net_endpoint_create(&sr->ep, &eo, &err), RAG_OK);
    assert_int_equal(rag_metrics_add_endpoint(sr->m, sr->ep, &err), RAG_OK);

    assert_int_equal(rag_usage_open(&sr->u, NULL, NULL, &err), RAG_OK);
    rag_usage_record(sr->u, &ev);
    assert_int_equal(rag_metrics_add_usage(sr->m, sr->u, "hf_router", &err), RAG_OK);
    assert_int_equal(rag_metrics_add_usage(sr->m, sr->u, "local_bert", &err), RAG_OK);
}

static void sample_free(sample_registry *sr)
{
    rag_metrics_destroy(sr->m);
    rag_net_endpoint_destroy(sr->ep);
    rag_usage_close(sr->u);
}

static int dump(void)
{
    sample_registry sr;
    char *text;
    sample_build(&sr);
    text = render(sr.m);
    fputs(text, stdout);
    rag_free(text);
    sample_free(&sr);
    return 0;
}

/* ---- exact text --------------------------------------------------------- */

static void test_metrics__counter_without_labels_renders_help_type_value(void **state)
{
    rag_metrics *m = new_registry();
    rag_counter *c;
    rag_err err = {0};
    rag_metric_desc d = {.name = "docrag_things_total", .help = "Things counted."};
    (void)state;
    assert_int_equal(rag_metrics_counter(&c, m, &d, &err), RAG_OK);
    assert_render(m, "# HELP docrag_things_total Things counted.\n"
                     "# TYPE docrag_things_total counter\n"
                     "docrag_things_total 0\n");
    rag_counter_inc(c, NULL);
    rag_counter_add(c, NULL, 41);
    assert_render(m, "# HELP docrag_things_total Things counted.\n"
                     "# TYPE docrag_things_total counter\n"
                     "docrag_things_total 42\n");
    assert_true(rag_counter_get(c, NULL) == 42);
    rag_metrics_destroy(m);
}

static void test_metrics__label_values_and_help_are_escaped(void **state)
{
    rag_metrics *m = new_registry();
    rag_counter *c;
    rag_err err = {0};
    rag_metric_desc d = {.name = "x_total", .help = "a \\ back\nslash \"quoted\"",
                         .labels = {"path", "code"}};
    (void)state;
    assert_int_equal(rag_metrics_counter(&c, m, &d, &err), RAG_OK);
    rag_counter_inc(c, (const char *[]){"a\\b\"c\nd", "200"});
    /* HELP escapes \ and newline only; label values also escape ". */
    assert_render(m, "# HELP x_total a \\\\ back\\nslash \"quoted\"\n"
                     "# TYPE x_total counter\n"
                     "x_total{path=\"a\\\\b\\\"c\\nd\",code=\"200\"} 1\n");
    rag_metrics_destroy(m);
}

static void test_metrics__histogram_buckets_are_cumulative_up_to_inf(void **state)
{
    rag_metrics *m = new_registry();
    rag_histogram *h;
    rag_histogram_snapshot snap;
    rag_err err = {0};
    static const double b[] = {0.1, 0.5, 1};
    rag_metric_desc d = {.name = "lat_seconds", .help = "Latency.", .labels = {"route"},
                         .buckets = b, .n_buckets = 3};
    (void)state;
    assert_int_equal(rag_metrics_histogram(&h, m, &d, &err), RAG_OK);
    rag_histogram_observe(h, (const char *[]){"/a"}, 0.05);
    rag_histogram_observe(h, (const char *[]){"/a"}, 0.1); /* le is inclusive */
    rag_histogram_observe(h, (const char *[]){"/a"}, 0.25);
    rag_histogram_observe(h, (const char *[]){"/a"}, 2);
    rag_histogram_observe(h, (const char *[]){"/a"}, 5.5);
    rag_histogram_observe(h, (const char *[]){"/a"}, NAN); /* ignored */
    assert_render(m, "# HELP lat_seconds Latency.\n"
                     "# TYPE lat_seconds histogram\n"
                     "lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
                     "lat_seconds_bucket{route=\"/a\",le=\"0.5\"} 3\n"
                     "lat_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
                     "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 5\n"
                     "lat_seconds_sum{route=\"/a\"} 7.9\n"
                     "lat_seconds_count{route=\"/a\"} 5\n");
    assert_int_equal(rag_histogram_get(h, (const char *[]){"/a"}, &snap), RAG_OK);
    assert_int_equal(snap.n_buckets, 3);
    assert_int_equal(snap.cumulative[3], 5);
    assert_int_equal(snap.count, 5);
    assert_float_equal(snap.sum, 7.9, 1e-12);
    assert_int_equal(rag_histogram_get(h, (const char *[]){"/b"}, &snap), RAG_ENOTFOUND);
    rag_metrics_destroy(m);
}

static void test_metrics__unlabelled_histogram_has_only_le(void **state)
{
    rag_metrics *m = new_registry();
    rag_histogram *h;
    rag_err err = {0};
    static const double b[] = {1, 2.5};
    rag_metric_desc d = {.name = "t_seconds", .help = "T.", .buckets = b, .n_buckets = 2};
    (void)state;
    assert_int_equal(rag_metrics_histogram(&h, m, &d, &err), RAG_OK);
    rag_histogram_observe(h, NULL, 2.5);
    assert_render(m, "# HELP t_seconds T.\n"
                     "# TYPE t_seconds histogram\n"
                     "t_seconds_bucket{le=\"1\"} 0\n"
                     "t_seconds_bucket{le=\"2.5\"} 1\n"
                     "t_seconds_bucket{le=\"+Inf\"} 1\n"
                     "t_seconds_sum 2.5\n"
                     "t_seconds_count 1\n");
    rag_metrics_destroy(m);
}

static void test_metrics__values_print_in_shortest_exact_form(void **state)
{
    rag_metrics *m = new_registry();
    rag_gauge *g;
    rag_counter *c;
    rag_err err = {0};
    rag_metric_desc dg = {.name = "g", .help = "G.", .labels = {"k"}};
    rag_metric_desc dc = {.name = "c_total", .help = "C."};
    (void)state;
    assert_int_equal(rag_metrics_gauge(&g, m, &dg, &err), RAG_OK);
    assert_int_equal(rag_metrics_counter(&c, m, &dc, &err), RAG_OK);
    rag_gauge_set(g, (const char *[]){"a"}, NAN);
    rag_gauge_set(g, (const char *[]){"b"}, INFINITY);
    rag_gauge_set(g, (const char *[]){"c"}, -INFINITY);
    rag_gauge_set(g, (const char *[]){"d"}, 0.1);
    rag_gauge_set(g, (const char *[]){"e"}, -2.5);
    rag_gauge_set(g, (const char *[]){"f"}, 123456789012.0);
    rag_gauge_set(g, (const char *[]){"g"}, 1e-7);
    rag_gauge_set(g, (const char *[]){"h"}, 1.0 / 3);
    rag_gauge_set(g, (const char *[]){"i"}, 1e300);
    rag_gauge_add(g, (const char *[]){"j"}, 1.5);
    rag_gauge_add(g, (const char *[]){"j"}, -4);
    rag_counter_add(c, NULL, 2);
    rag_counter_add_f(c, NULL, 0.25);
    rag_counter_add_f(c, NULL, -1);       /* ignored */
    rag_counter_add_f(c, NULL, NAN);      /* ignored */
    rag_counter_add_f(c, NULL, INFINITY); /* ignored */
    assert_render(m, "# HELP c_total C.\n"
                     "# TYPE c_total counter\n"
                     "c_total 2.25\n"
                     "# HELP g G.\n"
                     "# TYPE g gauge\n"
                     "g{k=\"a\"} NaN\n"
                     "g{k=\"b\"} +Inf\n"
                     "g{k=\"c\"} -Inf\n"
                     "g{k=\"d\"} 0.1\n"
                     "g{k=\"e\"} -2.5\n"
                     "g{k=\"f\"} 123456789012\n"
                     "g{k=\"g\"} 1e-07\n"
                     "g{k=\"h\"} 0.3333333333333333\n"
                     "g{k=\"i\"} 1e+300\n"
                     "g{k=\"j\"} -2.5\n");
    rag_metrics_destroy(m);
}

static void test_metrics__families_and_series_are_sorted(void **state)
{
    rag_metrics *m = new_registry();
    rag_gauge *z, *a;
    rag_err err = {0};
    rag_metric_desc dz = {.name = "zeta", .help = "Z.", .labels = {"x", "y"}};
    rag_metric_desc da = {.name = "alpha", .help = "A."};
    (void)state;
    assert_int_equal(rag_metrics_gauge(&z, m, &dz, &err), RAG_OK);
    assert_int_equal(rag_metrics_gauge(&a, m, &da, &err), RAG_OK);
    rag_gauge_set(z, (const char *[]){"b", "1"}, 1);
    rag_gauge_set(z, (const char *[]){"a", "2"}, 2);
    rag_gauge_set(z, (const char *[]){"a", "1"}, 3);
    assert_render(m, "# HELP alpha A.\n# TYPE alpha gauge\nalpha 0\n"
                     "# HELP zeta Z.\n# TYPE zeta gauge\n"
                     "zeta{x=\"a\",y=\"1\"} 3\n"
                     "zeta{x=\"a\",y=\"2\"} 2\n"
                     "zeta{x=\"b\",y=\"1\"} 1\n");
    rag_metrics_destroy(m);
}

static void test_metrics__labelled_family_without_series_is_left_out(void **state)
{
    rag_metrics *m = new_registry();
    rag_counter *c;
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    rag_metric_desc d = {.name = "n_total", .help = "N.", .labels = {"k"}};
    (void)state;
    assert_int_equal(rag_metrics_counter(&c, m, &d, &err), RAG_OK);
    assert_int_equal(rag_metrics_render(m, &b, &err), RAG_OK);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_true(rag_counter_get(c, (const char *[]){"nope"}) == 0);
    assert_int_equal(rag_counter_n_series(c), 0); /* reads never create */
    rag_buf_fini(&b);
    rag_metrics_destroy(m);
}

/* ---- the series cap ------------------------------------------------------ */

static void test_metrics__series_past_the_cap_fold_into_other(void **state)
{
    rag_metrics *m = new_registry();
    rag_counter *c;
    rag_err err = {0};
    char route[32];
    rag_metric_desc d = {.name = "req_total", .help = "R.", .labels = {"route", "status"},
                         .max_series = 3};
    (void)state;
    assert_int_equal(rag_metrics_counter(&c, m, &d, &err), RAG_OK);
    for (int i = 0; i < 1000; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        rag_counter_inc(c, (const char *[]){route, "200"});
    }
    /* A client sending the literal values lands in the same series. */
    rag_counter_inc(c, (const char *[]){"other", "other"});
    rag_counter_inc(c, (const char *[]){"/r1", "200"}); /* existing: still its own */
    assert_int_equal(rag_counter_n_series(c), 4);
    assert_true(rag_counter_get(c, (const char *[]){"other", "other"}) == 998);
    assert_true(rag_counter_get(c, (const char *[]){"/r999", "200"}) == 0);
    assert_render(m, "# HELP req_total R.\n# TYPE req_total counter\n"
                     "req_total{route=\"/r0\",status=\"200\"} 1\n"
                     "req_total{route=\"/r1\",status=\"200\"} 2\n"
                     "req_total{route=\"/r2\",status=\"200\"} 1\n"
                     "req_total{route=\"other\",status=\"other\"} 998\n");
    rag_metrics_destroy(m);
}

static void test_metrics__label_values_are_utf8_and_capped(void **state)
{
    rag_metrics *m = new_registry();
    rag_counter *c;
    rag_err err = {0};
    char longv[400], *text, want[300];
    (void)state;
    rag_metric_desc d = {.name = "v_total", .help = "V.", .labels = {"k"}};
    assert_int_equal(rag_metrics_counter(&c, m, &d, &err), RAG_OK);
    rag_counter_inc(c, (const char *[]){"a\xff" "b"});
    rag_counter_inc(c, (const char *[]){"a\xef\xbf\xbd" "b"}); /* same series */
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    rag_counter_inc(c, (const char *[]){longv});
    longv[RAG_METRICS_MAX_VALUE_BYTES] = '\0'; /* same series once cut */
    rag_counter_inc(c, (const char *[]){longv});
    assert_int_equal(rag_counter_n_series(c), 2);
    text = render(m);
    assert_non_null(strstr(text, "v_total{k=\"a\xef\xbf\xbd" "b\"} 2\n"));
    snprintf(want, sizeof want, "v_total{k=\"%s\"} 2\n", longv);
    assert_non_null(strstr(text, want));
    rag_free(text);
    rag_metrics_destroy(m);
}

/* ---- registration -------------------------------------------------------- */

static void expect_rejected(rag_metrics *m, int kind, rag_metric_desc d, const char *what)
{
    rag_err err = {0};
    void *h = (void *)1;
    int rc = kind == 0   ? rag_metrics_counter((rag_counter **)&h, m, &d, &err)
             : kind == 1 ? rag_metrics_gauge((rag_gauge **)&h, m, &d, &err)
                         : rag_metrics_histogram((rag_histogram **)&h, m, &d, &err);
    if (rc != RAG_EINVAL)
        fail_msg("%s: rc %d, want RAG_EINVAL", what, rc);
    assert_null(h);
    assert_true(err.msg[0] != '\0');
}

static void test_metrics__invalid_registrations_are_refused(void **state)
{
    rag_metrics *m = new_registry();
    rag_gauge *g;
    rag_histogram *h;
    rag_err err = {0};
    static const double down[] = {1, 0.5}, same[] = {1, 1}, nan_b[] = {NAN},
                        inf_b[] = {1, INFINITY};
    double many[RAG_METRICS_MAX_BUCKETS + 1];
    (void)state;
    for (int i = 0; i <= RAG_METRICS_MAX_BUCKETS; i++)
        many[i] = i;
    expect_rejected(m, 1, (rag_metric_desc){.name = "1abc"}, "leading digit");
    expect_rejected(m, 1, (rag_metric_desc){.name = "a-b"}, "dash");
    expect_rejected(m, 1, (rag_metric_desc){.name = ""}, "empty name");
    expect_rejected(m, 1, (rag_metric_desc){.name = NULL}, "NULL name");
    expect_rejected(m, 0, (rag_metric_desc){.name = "requests"}, "counter without _total");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x_total"}, "gauge with _total");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x_count"}, "gauge with _count");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x", .labels = {"a b"}}, "label space");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x", .labels = {"__x"}}, "label __");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x", .labels = {"a:b"}}, "label colon");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x", .labels = {"a", "a"}}, "dup label");
    expect_rejected(m, 1, (rag_metric_desc){.name = "x", .labels = {"a"},
                                            .max_series = RAG_METRICS_MAX_SERIES + 1},
                    "max_series too big");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .labels = {"le"}}, "le label");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .buckets = down, .n_buckets = 2},
                    "decreasing buckets");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .buckets = same, .n_buckets = 2},
                    "equal buckets");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .buckets = nan_b, .n_buckets = 1},
                    "NaN bucket");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .buckets = inf_b, .n_buckets = 2},
                    "infinite bucket");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .buckets = many,
                                            .n_buckets = RAG_METRICS_MAX_BUCKETS + 1},
                    "too many buckets");
    expect_rejected(m, 2, (rag_metric_desc){.name = "h", .buckets = many, .n_buckets = 0},
                    "zero buckets");
    /* Names taken: the same name twice, and a histogram's derived names. */
    assert_int_equal(rag_metrics_gauge(&g, m, &(rag_metric_desc){.name = "dup", .help = "D."},
                                       &err),
                     RAG_OK);
    expect_rejected(m, 1, (rag_metric_desc){.name = "dup"}, "duplicate");
    expect_rejected(m, 2, (rag_metric_desc){.name = "dup"}, "duplicate across kinds");
    assert_int_equal(rag_metrics_histogram(&h, m, &(rag_metric_desc){.name = "lat"}, &err),
                     RAG_OK);
    expect_rejected(m, 1, (rag_metric_desc){.name = "lat"}, "histogram's own name");
    /* Defaults: the latency buckets. */
    {
        size_t n;
        const double *b = rag_metrics_latency_buckets(&n);
        rag_histogram_snapshot snap;
        rag_histogram_observe(h, NULL, 0.002);
        assert_int_equal(rag_histogram_get(h, NULL, &snap), RAG_OK);
        assert_int_equal(snap.n_buckets, n);
        assert_true(snap.bounds[0] == b[0] && snap.bounds[n - 1] == 120);
        assert_int_equal(snap.cumulative[0], 0);
        assert_int_equal(snap.cumulative[1], 1);
    }
    rag_metrics_destroy(m);
}

/* ---- callbacks ----------------------------------------------------------- */

static int n_calls;
static int counting_value(double *v, void *ud)
{
    n_calls++;
    *v = *(const double *)ud;
    return 0;
}

static void test_metrics__callbacks_run_at_scrape_and_failures_drop_the_series(void **state)
{
    rag_metrics *m = new_registry();
    rag_gauge *g, *solo;
    rag_counter *c;
    rag_err err = {0};
    double depth = 4, total = 17;
    rag_metric_desc dg = {.name = "queue_depth", .help = "Q.", .labels = {"pool"}};
    rag_metric_desc ds = {.name = "solo", .help = "S."};
    rag_metric_desc dc = {.name = "ext_total", .help = "E.", .labels = {"k"},
                          .max_series = 2};
    (void)state;
    n_calls = 0;
    assert_int_equal(rag_metrics_gauge(&g, m, &dg, &err), RAG_OK);
    assert_int_equal(rag_metrics_gauge(&solo, m, &ds, &err), RAG_OK);
    assert_int_equal(rag_metrics_counter(&c, m, &dc, &err), RAG_OK);
    assert_int_equal(rag_gauge_set_fn(g, (const char *[]){"ask"}, counting_value, &depth,
                                      &err),
                     RAG_OK);
    assert_int_equal(rag_gauge_set_fn(g, (const char *[]){"ask"}, counting_value, &depth,
                                      &err),
                     RAG_EINVAL);
    assert_int_equal(rag_gauge_set_fn(g, (const char *[]){"other"}, counting_value, &depth,
                                      &err),
                     RAG_EINVAL);
    assert_int_equal(rag_gauge_set_fn(solo, NULL, failing_value, NULL, &err), RAG_OK);
    assert_int_equal(rag_counter_set_fn(c, (const char *[]){"a"}, counting_value, &total,
                                        &err),
                     RAG_OK);
    assert_int_equal(rag_counter_set_fn(c, (const char *[]){"b"}, counting_value, &total,
                                        &err),
                     RAG_OK);
    assert_int_equal(rag_counter_set_fn(c, (const char *[]){"c"}, counting_value, &total,
                                        &err),
                     RAG_ELIMIT);
    rag_gauge_set(g, (const char *[]){"ask"}, 99); /* a callback series ignores updates */
    assert_int_equal(n_calls, 0);                  /* not run before the scrape */
    assert_render(m, "# HELP ext_total E.\n# TYPE ext_total counter\n"
                     "ext_total{k=\"a\"} 17\next_total{k=\"b\"} 17\n"
                     "# HELP queue_depth Q.\n# TYPE queue_depth gauge\n"
                     "queue_depth{pool=\"ask\"} 4\n");
    assert_int_equal(n_calls, 3);
    depth = 5;
    assert_true(rag_gauge_get(g, (const char *[]){"ask"}) == 5);
    assert_true(isnan(rag_gauge_get(solo, NULL)));
    rag_metrics_destroy(m);
}

static void test_metrics__process_memory_is_read_from_proc(void **state)
{
    double rss = 0, vsize = 0;
    (void)state;
    assert_int_equal(rag_metrics_rss_bytes(&rss, NULL), 0);
    assert_int_equal(rag_metrics_vsize_bytes(&vsize, NULL), 0);
    assert_true(rss > 1e5 && vsize >= rss);
}

static void test_metrics__sample_registry_has_every_family(void **state)
{
    sample_registry sr;
    rag_err err = {0};
    char *text;
    (void)state;
    sample_build(&sr);
    text = render(sr.m);
    assert_non_null(strstr(text, "docrag_backend_requests_total{backend=\"tei\"} 0\n"));
    assert_non_null(strstr(text, "docrag_backend_breaker_state{backend=\"tei\"} 0\n"));
    assert_non_null(strstr(text, "docrag_usage_tokens_total{backend=\"hf_router\","
                                 "direction=\"in\"} 1200\n"));
    assert_non_null(strstr(text, "docrag_usage_requests_total{backend=\"local_bert\"} 0\n"));
    assert_non_null(strstr(text, "docrag_llm_cost_usd_total{backend=\"hf_router\"} 0.1004\n"));
    assert_non_null(strstr(text, "docrag_http_requests_total{route=\"other\","
                                 "status=\"other\"} 4\n"));
    assert_non_null(strstr(text, "docrag_queue_depth{pool=\"ask\"} 3\n"));
    assert_null(strstr(text, "broken"));
    assert_non_null(strstr(text, "# TYPE process_resident_memory_bytes gauge\n"));
    /* The same endpoint twice is refused. */
    assert_int_equal(rag_metrics_add_endpoint(sr.m, sr.ep, &err), RAG_EINVAL);
    rag_free(text);
    sample_free(&sr);
}

/* ---- buffers and allocation failure -------------------------------------- */

static void test_metrics__render_over_cap_leaves_buffer_as_it_was(void **state)
{
    sample_registry sr;
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    (void)state;
    sample_build(&sr);
    assert_int_equal(rag_buf_puts(&b, "keep"), RAG_OK);
    b.max_len = 200;
    assert_int_equal(rag_metrics_render(sr.m, &b, &err), RAG_ELIMIT);
    assert_string_equal(b.data, "keep");
    assert_int_equal(b.len, 4);
    rag_buf_fini(&b);
    sample_free(&sr);
}

static void test_metrics__allocation_failure_at_every_step(void **state)
{
    long n_ok = -1;
    (void)state;
    for (long n = 0; n < 100000 && n_ok < 0; n++) {
        rag_metrics *m = NULL;
        rag_counter *c = NULL;
        rag_histogram *h = NULL;
        rag_buf b = RAG_BUF_INIT;
        rag_err err = {0};
        rag_metric_desc dc = {.name = "c_total", .help = "C.", .labels = {"a", "b"}};
        rag_metric_desc dh = {.name = "h_seconds", .help = "H.", .labels = {"a"}};
        int rc, updated = 0;
        ts_fail_alloc_after(n);
        rc = rag_metrics_create(&m, &err);
        if (rc == RAG_OK)
            rc = rag_metrics_counter(&c, m, &dc, &err);
        if (rc == RAG_OK)
            rc = rag_metrics_histogram(&h, m, &dh, &err);
        if (rc == RAG_OK) {
            /* Updates never fail: a series that cannot be made is "other". */
            for (int i = 0; i < 5; i++) {
                char v[8];
                snprintf(v, sizeof v, "%d", i);
                rag_counter_inc(c, (const char *[]){v, "x"});
                rag_histogram_observe(h, (const char *[]){v}, 0.01);
            }
            updated = 1;
            rc = rag_metrics_render(m, &b, &err);
        }
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK) {
            n_ok = n;
        } else {
            assert_int_equal(rc, RAG_ENOMEM);
            assert_true(b.len == 0);
        }
        if (updated) {
            double sum = rag_counter_get(c, (const char *[]){"other", "other"});
            for (int i = 0; i < 5; i++) {
                char v[8];
                snprintf(v, sizeof v, "%d", i);
                sum += rag_counter_get(c, (const char *[]){v, "x"});
            }
            assert_true(sum == 5); /* nothing lost */
        }
        rag_buf_fini(&b);
        rag_metrics_destroy(m);
    }
    assert_true(n_ok > 10);
}

/* ---- threads ------------------------------------------------------------- */

#define N_THREADS 4
#define N_PER_THREAD 100000

typedef struct {
    rag_counter *req, *plain;
    rag_histogram *lat;
    rag_gauge *inflight;
    int id;
} worker_arg;

static const char *const routes[] = {"/v1/search", "/v1/ask", "/v1/embed", "/health"};
static const char *const statuses[] = {"200", "400", "503"};

static void *worker(void *p)
{
    const worker_arg *a = p;
    char dyn[32];
    for (int i = 0; i < N_PER_THREAD; i++) {
        const char *route = routes[i % 4], *status = statuses[(i / 4) % 3];
        rag_gauge_add(a->inflight, NULL, 1);
        rag_counter_inc(a->req, (const char *[]){route, status});
        rag_counter_inc(a->plain, NULL);
        rag_histogram_observe(a->lat, (const char *[]){route}, (double)(i % 1000) / 1000);
        /* Many threads racing to create the same new series at once. */
        snprintf(dyn, sizeof dyn, "/d/%d", (i / 7) % 100);
        rag_counter_inc(a->req, (const char *[]){dyn, "200"});
        rag_gauge_add(a->inflight, NULL, -1);
    }
    return NULL;
}

typedef struct {
    rag_metrics *m;
    _Atomic int stop;
    int n_renders;
} render_arg;

static void *renderer(void *p)
{
    render_arg *r = p;
    while (!atomic_load(&r->stop)) {
        rag_buf b = RAG_BUF_INIT;
        if (rag_metrics_render(r->m, &b, NULL) == RAG_OK)
            r->n_renders++;
        rag_buf_fini(&b);
    }
    return NULL;
}

static void test_metrics__totals_are_exact_under_threads(void **state)
{
    rag_metrics *m = new_registry();
    rag_err err = {0};
    worker_arg a[N_THREADS];
    pthread_t t[N_THREADS], rt;
    render_arg r = {.m = m};
    rag_counter *req, *plain;
    rag_histogram *lat;
    rag_gauge *inflight;
    rag_histogram_snapshot snap;
    double total = 0;
    rag_metric_desc dr = {.name = "req_total", .help = "R.", .labels = {"route", "status"},
                          .max_series = 40};
    rag_metric_desc dp = {.name = "plain_total", .help = "P."};
    rag_metric_desc dl = {.name = "lat_seconds", .help = "L.", .labels = {"route"}};
    rag_metric_desc di = {.name = "inflight", .help = "I."};
    (void)state;
    assert_int_equal(rag_metrics_counter(&req, m, &dr, &err), RAG_OK);
    assert_int_equal(rag_metrics_counter(&plain, m, &dp, &err), RAG_OK);
    assert_int_equal(rag_metrics_histogram(&lat, m, &dl, &err), RAG_OK);
    assert_int_equal(rag_metrics_gauge(&inflight, m, &di, &err), RAG_OK);
    pthread_create(&rt, NULL, renderer, &r);
    for (int i = 0; i < N_THREADS; i++) {
        a[i] = (worker_arg){req, plain, lat, inflight, i};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&r.stop, 1);
    pthread_join(rt, NULL);

    assert_true(rag_counter_get(plain, NULL) == N_THREADS * N_PER_THREAD);
    assert_true(rag_gauge_get(inflight, NULL) == 0);
    /* 12 fixed series: each i hits one (route, status) pair, evenly. */
    for (int ri = 0; ri < 4; ri++)
        for (int si = 0; si < 3; si++) {
            double v = rag_counter_get(req, (const char *[]){routes[ri], statuses[si]});
            double want = 0;
            for (int i = 0; i < N_PER_THREAD; i++)
                want += (i % 4 == ri && (i / 4) % 3 == si);
            assert_true(v == want * N_THREADS);
            total += v;
        }
    /* 100 dynamic series against a cap of 40: 28 made, the rest "other". */
    assert_int_equal(rag_counter_n_series(req), 40 + 1);
    for (int d = 0; d < 100; d++) {
        char dyn[32];
        snprintf(dyn, sizeof dyn, "/d/%d", d);
        total += rag_counter_get(req, (const char *[]){dyn, "200"});
    }
    total += rag_counter_get(req, (const char *[]){"other", "other"});
    assert_true(total == 2.0 * N_THREADS * N_PER_THREAD);
    for (int ri = 0; ri < 4; ri++) {
        assert_int_equal(rag_histogram_get(lat, (const char *[]){routes[ri]}, &snap), RAG_OK);
        assert_int_equal(snap.count, N_THREADS * N_PER_THREAD / 4);
    }
    assert_true(r.n_renders > 0);
    rag_metrics_destroy(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics__counter_without_labels_renders_help_type_value),
        cmocka_unit_test(test_metrics__label_values_and_help_are_escaped),
        cmocka_unit_test(test_metrics__histogram_buckets_are_cumulative_up_to_inf),
        cmocka_unit_test(test_metrics__unlabelled_histogram_has_only_le),
        cmocka_unit_test(test_metrics__values_print_in_shortest_exact_form),
        cmocka_unit_test(test_metrics__families_and_series_are_sorted),
        cmocka_unit_test(test_metrics__labelled_family_without_series_is_left_out),
        cmocka_unit_test(test_metrics__series_past_the_cap_fold_into_other),
        cmocka_unit_test(test_metrics__label_values_are_utf8_and_capped),
        cmocka_unit_test(test_metrics__invalid_registrations_are_refused),
        cmocka_unit_test(test_metrics__callbacks_run_at_scrape_and_failures_drop_the_series),
        cmocka_unit_test(test_metrics__process_memory_is_read_from_proc),
        cmocka_unit_test(test_metrics__sample_registry_has_every_family),
        cmocka_unit_test(test_metrics__render_over_cap_leaves_buffer_as_it_was),
        cmocka_unit_test(test_metrics__allocation_failure_at_every_step),
        cmocka_unit_test(test_metrics__totals_are_exact_under_threads),
    };
    if (argc == 2 && !strcmp(argv[1], "--dump"))
        return dump();
    if (argc > 1) {
        fprintf(stderr, "usage: %s [--dump]\n", argv[0]);
        return 2;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
