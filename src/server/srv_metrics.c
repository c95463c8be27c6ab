/* srv_metrics.c - what /metrics and /v1/analytics report.
 *
 * The hot counters and histograms live in a rag_metrics registry
 * (metrics/metrics.h: lock-free updates from every thread, bounded series,
 * Prometheus text checked with promtool in the suite): requests by route
 * and status, request latency by route, latency per pipeline stage, a few
 * event counters, and callback gauges read at scrape time (queue depth,
 * in-flight requests, open streams, workers, readiness, process memory).
 * The index counts and the per-back-end usage (calls, errors, fallbacks,
 * tokens, cost against the monthly budget) belong to each collection's
 * engine and are appended from its JSON at scrape time.
 *
 * The analytics time series (rag_timeseries: 10 s buckets over the last
 * hour) records one event per answered API request: latency, error (5xx),
 * refusal, and the per-stage times the route noted on the request.
 */
#include "srv_int.h"

#include "metrics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ts_stages[] = {"bm25", "embed", "knn", "fuse", "rerank",
                                        "fetch", "gate", "answer", NULL};

struct srv_metrics {
    srv *s;
    rag_metrics *reg;
    rag_counter *requests;     /* route, status */
    rag_histogram *duration;   /* route */
    rag_histogram *stages;     /* stage */
    rag_counter *events;       /* event, reason */
    rag_timeseries *ts;
};

static int g_queue(double *v, void *ud)
{
    srv *s = ud;
    pthread_mutex_lock(&s->q_mu);
    *v = (double)s->q_n;
    pthread_mutex_unlock(&s->q_mu);
    return 0;
}

static int g_queue_cap(double *v, void *ud)
{
    *v = (double)((srv *)ud)->q_cap;
    return 0;
}

static int g_in_flight(double *v, void *ud)
{
    *v = (double)atomic_load(&((srv *)ud)->in_flight);
    return 0;
}

static int g_streams(double *v, void *ud)
{
    *v = (double)atomic_load(&((srv *)ud)->streams_open);
    return 0;
}

static int g_workers(double *v, void *ud)
{
    *v = (double)atomic_load(&((srv *)ud)->n_workers);
    return 0;
}

static int g_ready(double *v, void *ud)
{
    *v = atomic_load(&((srv *)ud)->ready);
    return 0;
}

static int gauge_fn(rag_metrics *reg, const char *name, const char *help, rag_metric_fn fn,
                    srv *s, rag_err *err)
{
    rag_metric_desc d = {.name = name, .help = help};
    rag_gauge *g;
    int rc = rag_metrics_gauge(&g, reg, &d, err);
    return rc < 0 ? rc : rag_gauge_set_fn(g, NULL, fn, s, err);
}

int srv_metrics_create(struct srv_metrics **out, srv *s)
{
    struct srv_metrics *m = rag_calloc(1, sizeof *m);
    rag_metric_desc req = {.name = "docrag_http_requests_total",
                           .help = "HTTP requests answered",
                           .labels = {"route", "status"}, .max_series = 256};
    rag_metric_desc dur = {.name = "docrag_http_request_duration_seconds",
                           .help = "time to answer, by route", .labels = {"route"}};
    rag_metric_desc stg = {.name = "docrag_stage_duration_seconds",
                           .help = "time per pipeline stage of searches and answers",
                           .labels = {"stage"}};
    rag_metric_desc ev = {.name = "docrag_events_total",
                          .help = "answers refused or cancelled, requests rejected",
                          .labels = {"event", "reason"}};
    rag_timeseries_opts to = rag_timeseries_default_opts();
    rag_err err = {0};

    *out = NULL;
    if (!m)
        return DOCRAG_ENOMEM;
    m->s = s;
    to.stages = ts_stages;
    if (rag_metrics_create(&m->reg, &err) < 0 ||
        rag_metrics_counter(&m->requests, m->reg, &req, &err) < 0 ||
        rag_metrics_histogram(&m->duration, m->reg, &dur, &err) < 0 ||
        rag_metrics_histogram(&m->stages, m->reg, &stg, &err) < 0 ||
        rag_metrics_counter(&m->events, m->reg, &ev, &err) < 0 ||
        gauge_fn(m->reg, "docrag_queue_depth", "requests waiting for a worker", g_queue, s,
                 &err) < 0 ||
        gauge_fn(m->reg, "docrag_queue_capacity", "server.max_queue", g_queue_cap, s, &err) < 0 ||
        gauge_fn(m->reg, "docrag_http_in_flight", "requests accepted and not yet answered",
                 g_in_flight, s, &err) < 0 ||
        gauge_fn(m->reg, "docrag_sse_streams_open", "event streams open", g_streams, s,
                 &err) < 0 ||
        gauge_fn(m->reg, "docrag_workers", "worker threads", g_workers, s, &err) < 0 ||
        gauge_fn(m->reg, "docrag_ready", "1 once every collection is loaded", g_ready, s,
                 &err) < 0 ||
        rag_metrics_add_process(m->reg, &err) < 0 ||
        rag_timeseries_create(&m->ts, &to, &err) < 0) {
        rag_log(RAG_LOG_ERROR, "metrics: %s", err.msg);
        srv_metrics_destroy(m);
        return DOCRAG_ENOMEM;
    }
    *out = m;
    return 0;
}

void srv_metrics_destroy(struct srv_metrics *m)
{
    if (!m)
        return;
    rag_timeseries_destroy(m->ts);
    rag_metrics_destroy(m->reg);
    rag_free(m);
}

/* Routes that are API work (analytics counts these, not probes). */
static int is_api_route(const char *route)
{
    return strcmp(route, "health") && strcmp(route, "ready") && strcmp(route, "metrics") &&
           strcmp(route, "analytics") && strcmp(route, "unmatched") &&
           strncmp(route, "ui", 2);
}

void srv_metrics_request(srv_req *r, const char *route, int status, double ms)
{
    struct srv_metrics *m = r->s->metrics;
    char st[8];
    const char *labels[2] = {route, st};
    if (!m)
        return;
    snprintf(st, sizeof st, "%d", status);
    rag_counter_inc(m->requests, labels);
    rag_histogram_observe(m->duration, labels, ms / 1e3);
    if (is_api_route(route)) {
        double stage_ms[RAG_TS_MAX_STAGES];
        rag_ts_event ev = {ms, status >= 500, r->refused, stage_ms};
        for (size_t i = 0; i < RAG_TS_MAX_STAGES; i++)
            stage_ms[i] = -1;   /* did not run */
        for (size_t i = 0; i < r->n_stages && i < RAG_TS_MAX_STAGES; i++) {
            int k = rag_timeseries_stage(m->ts, r->stage_name[i]);
            if (k >= 0)
                stage_ms[k] = r->stage_ms[i];
        }
        rag_timeseries_record(m->ts, &ev);
    }
}

void srv_observe_stage(srv_req *r, const char *stage, double ms)
{
    struct srv_metrics *m = r->s->metrics;
    const char *labels[1] = {stage};
    if (!m)
        return;
    rag_histogram_observe(m->stages, labels, ms / 1e3);
    if (r->n_stages < SRV_MAX_STAGES) {
        snprintf(r->stage_name[r->n_stages], sizeof r->stage_name[0], "%s", stage);
        r->stage_ms[r->n_stages++] = ms;
    }
}

void srv_count(srv *s, const char *event, const char *reason, double v)
{
    const char *labels[2] = {event, reason};
    if (s->metrics)
        rag_counter_add_f(s->metrics->events, labels, v);
}

/* ---- what belongs to the engines, from their JSON --------------------------- */


/* One family per collection and back-end from the usage JSON: the value at
 * backends.NAME[.sub].key. */
static void put_backend(rag_buf *b, srv *s, json_t *const *per, const char *metric,
                        const char *type, const char *help, const char *sub, const char *key)
{
    rag_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
    for (size_t c = 0; c < s->info.n_colls; c++) {
        const char *name;
        json_t *be;
        json_object_foreach(json_object_get(per[c], "backends"), name, be) {
            json_t *o = sub ? json_object_get(be, sub) : be;
            rag_buf_printf(b, "%s{collection=\"", metric);
            rag_metrics_escape_label(b, s->info.colls[c].name);
            rag_buf_puts(b, "\",backend=\"");
            rag_metrics_escape_label(b, name);
            rag_buf_printf(b, "\"} %.17g\n", json_number_value(json_object_get(o, key)));
        }
    }
}

/* The embedding cache of each collection: lookups and hits made by the
 * embedding passes (the stats' cumulative counters). */
static void put_cache(rag_buf *b, srv_req *r)
{
    static const char *const keys[] = {"embed_cache_lookups", "embed_cache_hits"};
    srv *s = r->s;
    json_t *per[SRV_MAX_COLLS] = {0};
    for (size_t c = 0; c < s->info.n_colls; c++) {
        docrag_error err;
        char *text = NULL;
        /* the worker's own session of the collection (no open per scrape) */
        if (s->info.colls[c].engine && srv_session_quiet(r, &s->info.colls[c]) &&
            docrag_stats(r->session, &text, &err) == 0)
            per[c] = json_loads(text, 0, NULL);
        docrag_free(text);
    }
    for (size_t k = 0; k < 2; k++) {
        rag_buf_printf(b, "# HELP docrag_%s_total embedding-cache %s of the embedding passes\n"
                          "# TYPE docrag_%s_total counter\n", keys[k],
                       k ? "hits" : "lookups", keys[k]);
        for (size_t c = 0; c < s->info.n_colls; c++) {
            rag_buf_printf(b, "docrag_%s_total{collection=\"", keys[k]);
            rag_metrics_escape_label(b, s->info.colls[c].name);
            rag_buf_printf(b, "\"} %lld\n",
                           (long long)json_integer_value(json_object_get(per[c], keys[k])));
        }
    }
    for (size_t c = 0; c < s->info.n_colls; c++)
        json_decref(per[c]);
}

static void put_engines(rag_buf *b, srv_req *r)
{
    srv *s = r->s;
    static const char *const counts[] = {"documents", "chunks", "vectors"};
    json_t *per[SRV_MAX_COLLS] = {0};
    char ready[4096];
    json_t *rj = json_loads(srv_ready_json(s, ready, sizeof ready), 0, NULL);

    for (size_t k = 0; k < 3; k++) {
        const char *name;
        json_t *c;
        rag_buf_printf(b, "# HELP docrag_index_%s %s in the index\n"
                          "# TYPE docrag_index_%s gauge\n", counts[k], counts[k], counts[k]);
        json_object_foreach(json_object_get(rj, "collections"), name, c) {
            rag_buf_printf(b, "docrag_index_%s{collection=\"", counts[k]);
            rag_metrics_escape_label(b, name);
            rag_buf_printf(b, "\"} %lld\n",
                           (long long)json_integer_value(json_object_get(c, counts[k])));
        }
    }
    {
        const char *name, *stage, *be;
        json_t *c, *chain, *st;
        rag_buf_puts(b, "# HELP docrag_backend_breaker_open circuit breaker of a remote back-end "
                        "(stage llm, embed or rerank): 0 closed, 1 open, 0.5 half-open\n"
                        "# TYPE docrag_backend_breaker_open gauge\n");
        json_object_foreach(json_object_get(rj, "collections"), name, c) {
            json_object_foreach(json_object_get(c, "breakers"), stage, chain) {
                json_object_foreach(chain, be, st) {
                    const char *v = json_string_value(st);
                    rag_buf_printf(b, "docrag_backend_breaker_open{collection=\"");
                    rag_metrics_escape_label(b, name);
                    rag_buf_printf(b, "\",stage=\"%s\",backend=\"", stage);
                    rag_metrics_escape_label(b, be);
                    rag_buf_printf(b, "\"} %s\n", v && !strcmp(v, "open") ? "1"
                                                 : v && !strcmp(v, "half-open") ? "0.5" : "0");
                }
            }
        }
    }
    json_decref(rj);
    put_cache(b, r);
    for (size_t c = 0; c < s->info.n_colls; c++) {
        docrag_error err;
        char *text = NULL;
        if (s->info.colls[c].engine &&
            docrag_engine_usage(s->info.colls[c].engine, &text, &err) == 0)
            per[c] = json_loads(text, 0, NULL);
        docrag_free(text);
    }
    put_backend(b, s, per, "docrag_backend_calls_total", "counter",
                "calls to a model back-end", NULL, "requests");
    put_backend(b, s, per, "docrag_backend_errors_total", "counter",
                "failed calls to a model back-end", NULL, "error_count");
    put_backend(b, s, per, "docrag_backend_retries_total", "counter",
                "retries of calls to a model back-end", NULL, "retries");
    put_backend(b, s, per, "docrag_backend_fallbacks_total", "counter",
                "times a chain moved past a back-end", NULL, "fallbacks");
    put_backend(b, s, per, "docrag_backend_tokens_in_total", "counter",
                "input tokens sent to a back-end", NULL, "tokens_in");
    put_backend(b, s, per, "docrag_backend_tokens_out_total", "counter",
                "output tokens from a back-end", NULL, "tokens_out");
    put_backend(b, s, per, "docrag_backend_cost_usd_month", "gauge",
                "estimated spend this month", "month", "cost_usd");
    put_backend(b, s, per, "docrag_backend_budget_usd", "gauge", "monthly budget (0 = none)",
                NULL, "budget_usd");
    for (size_t c = 0; c < s->info.n_colls; c++)
        json_decref(per[c]);
}

int srv_metrics_text(srv_req *r, rag_buf *b)
{
    srv *s = r->s;
    rag_err err = {0};
    if (rag_metrics_render(s->metrics->reg, b, &err) < 0)
        return -1;
    put_engines(b, r);
    return 0;
}

int srv_analytics_json(srv *s, int64_t since, rag_buf *out)
{
    rag_err err = {0};
    return rag_timeseries_json(s->metrics->ts, since, out, &err);
}
