/* srv_metrics.c - what /metrics reports (Prometheus text format 0.0.4).
 *
 * Requests by route and status, a latency histogram per route and per
 * pipeline stage (taken from the timings_ms of each search and answer),
 * queue depth, in-flight requests, open streams, process RSS, index
 * counts per collection, and per back-end calls / errors / fallbacks /
 * tokens / cost against the monthly budget (from the engine's usage
 * accounting). Series are fixed at start or bounded (route x status:
 * at most 256 pairs, the rest counted under status "other").
 */
#include "srv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const double bounds_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
                                   5000, 10000, 30000};
#define N_BOUNDS (sizeof bounds_ms / sizeof bounds_ms[0])
#define MAX_PAIRS 256
#define MAX_HISTS 64

typedef struct {
    char name[48];
    uint64_t buckets[N_BOUNDS + 1];
    double sum;
    uint64_t count;
} hist;

typedef struct {
    char route[48];
    int status;
    uint64_t n;
} pair;

typedef struct {
    char name[64];
    char label[48];
    double v;
} counter;

struct srv_metrics {
    srv *s;
    pthread_mutex_t mu;
    pair pairs[MAX_PAIRS];
    size_t n_pairs;
    hist routes[MAX_HISTS];
    size_t n_routes;
    hist stages[MAX_HISTS];
    size_t n_stages;
    counter counters[64];
    size_t n_counters;
};

int srv_metrics_create(struct srv_metrics **out, srv *s)
{
    struct srv_metrics *m = rag_calloc(1, sizeof *m);
    *out = m;
    if (!m)
        return DOCRAG_ENOMEM;
    m->s = s;
    pthread_mutex_init(&m->mu, NULL);
    return 0;
}

void srv_metrics_destroy(struct srv_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    rag_free(m);
}

static void observe(hist *h, double ms)
{
    size_t i = 0;
    while (i < N_BOUNDS && ms > bounds_ms[i])
        i++;
    h->buckets[i]++;
    h->sum += ms;
    h->count++;
}

static hist *hist_get(hist *arr, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(arr[i].name, name))
            return &arr[i];
    if (*n == MAX_HISTS)
        return NULL;
    snprintf(arr[*n].name, sizeof arr[*n].name, "%s", name);
    return &arr[(*n)++];
}

void srv_metrics_request(srv *s, const char *route, int status, double ms)
{
    struct srv_metrics *m = s->metrics;
    pair *p = NULL;
    hist *h;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_pairs && !p; i++)
        if (m->pairs[i].status == status && !strcmp(m->pairs[i].route, route))
            p = &m->pairs[i];
    if (!p && m->n_pairs < MAX_PAIRS - 1) {
        p = &m->pairs[m->n_pairs++];
        snprintf(p->route, sizeof p->route, "%s", route);
        p->status = status;
    }
    if (!p) {
        /* the last slot aggregates everything past the cap */
        p = &m->pairs[MAX_PAIRS - 1];
        snprintf(p->route, sizeof p->route, "other");
        p->status = 0;
        m->n_pairs = MAX_PAIRS;
    }
    p->n++;
    if ((h = hist_get(m->routes, &m->n_routes, route)))
        observe(h, ms);
    pthread_mutex_unlock(&m->mu);
}

void srv_observe_stage(srv *s, const char *stage, double ms)
{
    struct srv_metrics *m = s->metrics;
    hist *h;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    if ((h = hist_get(m->stages, &m->n_stages, stage)))
        observe(h, ms);
    pthread_mutex_unlock(&m->mu);
}

void srv_count(srv *s, const char *metric, const char *label, double v)
{
    struct srv_metrics *m = s->metrics;
    counter *c = NULL;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_counters && !c; i++)
        if (!strcmp(m->counters[i].name, metric) && !strcmp(m->counters[i].label, label))
            c = &m->counters[i];
    if (!c && m->n_counters < 64) {
        c = &m->counters[m->n_counters++];
        snprintf(c->name, sizeof c->name, "%s", metric);
        snprintf(c->label, sizeof c->label, "%s", label);
    }
    if (c)
        c->v += v;
    pthread_mutex_unlock(&m->mu);
}

/* Label values: \ " and newline escaped. */
static void put_label(rag_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            rag_buf_putc(b, '\\');
        if (*v == '\n') {
            rag_buf_puts(b, "\\n");
            continue;
        }
        rag_buf_putc(b, *v);
    }
}

static void put_hist(rag_buf *b, const char *metric, const char *label, const hist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BOUNDS; i++) {
        cum += h->buckets[i];
        rag_buf_printf(b, "%s_bucket{%s=\"", metric, label);
        put_label(b, h->name);
        if (i < N_BOUNDS)
            rag_buf_printf(b, "\",le=\"%g\"} %llu\n", bounds_ms[i] / 1e3,
                           (unsigned long long)cum);
        else
            rag_buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    rag_buf_printf(b, "%s_sum{%s=\"", metric, label);
    put_label(b, h->name);
    rag_buf_printf(b, "\"} %.6f\n", h->sum / 1e3);
    rag_buf_printf(b, "%s_count{%s=\"", metric, label);
    put_label(b, h->name);
    rag_buf_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}

static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

/* One gauge per collection and back-end from the usage JSON: the value at
 * backends.NAME[.sub].key. */
static void put_backend_gauge(rag_buf *b, srv *s, json_t *const *per, const char *metric,
                              const char *help, const char *sub, const char *key)
{
    rag_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
    for (size_t c = 0; c < s->info.n_colls; c++) {
        const char *name;
        json_t *be;
        json_object_foreach(json_object_get(per[c], "backends"), name, be) {
            json_t *o = sub ? json_object_get(be, sub) : be;
            rag_buf_printf(b, "%s{collection=\"", metric);
            put_label(b, s->info.colls[c].name);
            rag_buf_puts(b, "\",backend=\"");
            put_label(b, name);
            rag_buf_printf(b, "\"} %.6f\n", json_number_value(json_object_get(o, key)));
        }
    }
}

static void put_usage(rag_buf *b, srv *s)
{
    static const struct { const char *key, *metric, *help; } nums[] = {
        {"requests", "docrag_backend_calls_total", "calls to a model back-end"},
        {"error_count", "docrag_backend_errors_total", "failed calls to a model back-end"},
        {"retries", "docrag_backend_retries_total", "retries of calls to a model back-end"},
        {"fallbacks", "docrag_backend_fallbacks_total", "times the chain moved past a back-end"},
        {"tokens_in", "docrag_backend_tokens_in_total", "input tokens sent to a back-end"},
        {"tokens_out", "docrag_backend_tokens_out_total", "output tokens from a back-end"},
    };
    json_t *per[SRV_MAX_COLLS] = {0};
    for (size_t c = 0; c < s->info.n_colls; c++) {
        docrag_error err;
        char *text = NULL;
        if (s->info.colls[c].engine &&
            docrag_engine_usage(s->info.colls[c].engine, &text, &err) == 0)
            per[c] = json_loads(text, 0, NULL);
        docrag_free(text);
    }
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        rag_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", nums[k].metric, nums[k].help,
                       nums[k].metric);
        for (size_t c = 0; c < s->info.n_colls; c++) {
            const char *name;
            json_t *be;
            json_object_foreach(json_object_get(per[c], "backends"), name, be) {
                rag_buf_printf(b, "%s{collection=\"", nums[k].metric);
                put_label(b, s->info.colls[c].name);
                rag_buf_puts(b, "\",backend=\"");
                put_label(b, name);
                rag_buf_printf(b, "\"} %.0f\n",
                               json_number_value(json_object_get(be, nums[k].key)));
            }
        }
    }
    put_backend_gauge(b, s, per, "docrag_backend_cost_usd_month",
                      "estimated spend this month", "month", "cost_usd");
    put_backend_gauge(b, s, per, "docrag_backend_budget_usd", "monthly budget (0 = none)",
                      NULL, "budget_usd");
    for (size_t c = 0; c < s->info.n_colls; c++)
        json_decref(per[c]);
}

int srv_metrics_text(srv *s, rag_buf *b)
{
    struct srv_metrics *m = s->metrics;
    char ready[4096];
    json_t *rj;

    pthread_mutex_lock(&m->mu);
    rag_buf_puts(b, "# HELP docrag_http_requests_total HTTP requests answered\n"
                    "# TYPE docrag_http_requests_total counter\n");
    for (size_t i = 0; i < m->n_pairs; i++) {
        rag_buf_puts(b, "docrag_http_requests_total{route=\"");
        put_label(b, m->pairs[i].route);
        if (m->pairs[i].status)
            rag_buf_printf(b, "\",status=\"%d\"} %llu\n", m->pairs[i].status,
                           (unsigned long long)m->pairs[i].n);
        else
            rag_buf_printf(b, "\",status=\"other\"} %llu\n", (unsigned long long)m->pairs[i].n);
    }
    rag_buf_puts(b, "# HELP docrag_http_request_duration_seconds time to answer, by route\n"
                    "# TYPE docrag_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_routes; i++)
        put_hist(b, "docrag_http_request_duration_seconds", "route", &m->routes[i]);
    rag_buf_puts(b, "# HELP docrag_stage_duration_seconds time per pipeline stage\n"
                    "# TYPE docrag_stage_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_stages; i++)
        put_hist(b, "docrag_stage_duration_seconds", "stage", &m->stages[i]);
    for (size_t i = 0; i < m->n_counters; i++) {
        if (i == 0 || strcmp(m->counters[i].name, m->counters[i - 1].name))
            rag_buf_printf(b, "# TYPE %s counter\n", m->counters[i].name);
        rag_buf_printf(b, "%s{reason=\"", m->counters[i].name);
        put_label(b, m->counters[i].label);
        rag_buf_printf(b, "\"} %.0f\n", m->counters[i].v);
    }
    pthread_mutex_unlock(&m->mu);

    pthread_mutex_lock(&s->q_mu);
    rag_buf_printf(b, "# HELP docrag_queue_depth requests waiting for a worker\n"
                      "# TYPE docrag_queue_depth gauge\ndocrag_queue_depth %zu\n", s->q_n);
    rag_buf_printf(b, "# HELP docrag_queue_capacity server.max_queue\n"
                      "# TYPE docrag_queue_capacity gauge\ndocrag_queue_capacity %zu\n", s->q_cap);
    pthread_mutex_unlock(&s->q_mu);
    rag_buf_printf(b, "# HELP docrag_http_in_flight requests accepted and not yet answered\n"
                      "# TYPE docrag_http_in_flight gauge\ndocrag_http_in_flight %ld\n",
                   atomic_load(&s->in_flight));
    rag_buf_printf(b, "# HELP docrag_sse_streams_open event streams open\n"
                      "# TYPE docrag_sse_streams_open gauge\ndocrag_sse_streams_open %ld\n",
                   atomic_load(&s->streams_open));
    rag_buf_printf(b, "# HELP docrag_workers worker threads\n# TYPE docrag_workers gauge\n"
                      "docrag_workers %zu\n", s->n_workers);
    rag_buf_printf(b, "# HELP process_resident_memory_bytes resident set size\n"
                      "# TYPE process_resident_memory_bytes gauge\n"
                      "process_resident_memory_bytes %.0f\n", rss_bytes());
    rag_buf_printf(b, "# HELP docrag_ready 1 once every collection is loaded\n"
                      "# TYPE docrag_ready gauge\ndocrag_ready %d\n", atomic_load(&s->ready));
    rj = json_loads(srv_ready_json(s, ready, sizeof ready), 0, NULL);
    {
        static const char *const keys[] = {"documents", "chunks", "vectors"};
        for (size_t k = 0; k < 3; k++) {
            const char *name;
            json_t *c;
            rag_buf_printf(b, "# HELP docrag_index_%s %s in the index\n"
                              "# TYPE docrag_index_%s gauge\n", keys[k], keys[k], keys[k]);
            json_object_foreach(json_object_get(rj, "collections"), name, c) {
                rag_buf_printf(b, "docrag_index_%s{collection=\"", keys[k]);
                put_label(b, name);
                rag_buf_printf(b, "\"} %lld\n",
                               (long long)json_integer_value(json_object_get(c, keys[k])));
            }
        }
    }
    json_decref(rj);
    put_usage(b, s);
    return 0;
}
