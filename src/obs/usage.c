/* usage.c - rag_usage: per back-end counters, latency histogram, cost,
 * monthly budgets persisted in SQLite, alerts (obs.h).
 *
 * State per back-end: three aggregates of the same shape — `total` (all
 * months in the table + this process), `month` (this calendar month, UTC,
 * same sources) and `delta` (recorded here, not yet flushed). Flushing adds
 * `delta` to the row (backend, month) in one IMMEDIATE transaction, so two
 * processes sharing the file do not lose each other's counts.
 *
 * Two locks: `mu` guards the counters, `io_mu` the store's connection.
 * A sync takes the deltas out under `mu`, then writes them and reads every
 * process's rows back under `io_mu` alone, then sets the totals under `mu`
 * again, so a slow or unreachable database never holds up a call that
 * records or checks a budget.
 *
 * Latency histogram: NB log buckets, four per doubling, from 0.1 ms
 * (bucket i holds [0.1*2^(i/4), 0.1*2^((i+1)/4)) ms; the last one is open).
 * A percentile is the geometric middle of the bucket holding it, so it is
 * within 9% of the true value.
 */
#include "obs/obs.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NB 112
#define N_CLASSES 24
#define RING 64
#define LAT0_MS 0.1

typedef struct {
    char name[24];
    int64_t n;
} class_count;

typedef struct {
    int64_t requests, errors, retries, fallbacks, tokens_in, tokens_out;
    double cost_usd;
    uint64_t hist[NB];
    class_count classes[N_CLASSES];
    int n_classes;
} agg;

typedef struct {
    char *name;
    agg total, month, delta;
    int dirty;
    unsigned char ring[RING]; /* 1 = failure */
    int ring_pos, ring_n;
    int alert_err, alert_p95, alert_cost, warned_budget;
} backend_usage;

struct rag_usage {
    pthread_mutex_t mu;       /* the counters */
    pthread_mutex_t io_mu;    /* the store; taken before mu, never after */
    rag_store *store;         /* borrowed, may be NULL */
    int readonly;             /* a read-only store: load, never write */
    const rag_config *cfg;    /* borrowed, may be NULL */
    rag_usage_alerts alerts;
    char month[8];            /* "YYYY-MM" */
    backend_usage *b;
    size_t n_b, cap_b;
};

rag_usage_alerts rag_usage_default_alerts(void)
{
    rag_usage_alerts a = {.error_rate = 0.5, .window = 20, .p95_latency_ms = 10000,
                          .cost_fraction = 0.8};
    return a;
}

static void current_month(char out[8])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 8, "%04d-%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100);
}

static int bucket_of(double ms)
{
    double x;
    if (!(ms > LAT0_MS))
        return 0;
    x = floor(4.0 * log2(ms / LAT0_MS));
    if (x < 0)
        return 0;
    return x >= NB - 1 ? NB - 1 : (int)x;
}

static double percentile(const uint64_t *hist, double q)
{
    uint64_t n = 0, seen = 0, rank;
    for (int i = 0; i < NB; i++)
        n += hist[i];
    if (!n)
        return 0.0;
    rank = (uint64_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < NB; i++) {
        seen += hist[i];
        if (seen >= rank)
            return LAT0_MS * pow(2.0, ((double)i + 0.5) / 4.0);
    }
    return LAT0_MS * pow(2.0, (NB - 0.5) / 4.0);
}

static void class_add(agg *a, const char *name, int64_t n)
{
    for (int i = 0; i < a->n_classes; i++)
        if (!strcmp(a->classes[i].name, name)) {
            a->classes[i].n += n;
            return;
        }
    if (a->n_classes == N_CLASSES) /* fold overflow into the last slot */
        a->classes[N_CLASSES - 1].n += n;
    else {
        snprintf(a->classes[a->n_classes].name, sizeof a->classes[0].name, "%s", name);
        a->classes[a->n_classes++].n = n;
    }
}

static void agg_merge(agg *dst, const agg *src)
{
    dst->requests += src->requests;
    dst->errors += src->errors;
    dst->retries += src->retries;
    dst->fallbacks += src->fallbacks;
    dst->tokens_in += src->tokens_in;
    dst->tokens_out += src->tokens_out;
    dst->cost_usd += src->cost_usd;
    for (int i = 0; i < NB; i++)
        dst->hist[i] += src->hist[i];
    for (int i = 0; i < src->n_classes; i++)
        class_add(dst, src->classes[i].name, src->classes[i].n);
}

/* "k:n,k:n" <-> histogram / classes (the table's text columns). */
static void parse_pairs(agg *a, const char *s, int is_hist)
{
    while (s && *s) {
        const char *colon = strchr(s, ':'), *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        if (colon && colon < end) {
            long long n = strtoll(colon + 1, NULL, 10);
            if (n > 0) {
                if (is_hist) {
                    long i = strtol(s, NULL, 10);
                    if (i >= 0 && i < NB)
                        a->hist[i] += (uint64_t)n;
                } else {
                    char name[24];
                    size_t len = (size_t)(colon - s);
                    if (len >= sizeof name)
                        len = sizeof name - 1;
                    memcpy(name, s, len);
                    name[len] = 0;
                    class_add(a, name, n);
                }
            }
        }
        s = *end ? end + 1 : end;
    }
}

static int format_pairs(rag_buf *b, const agg *a, int is_hist)
{
    int rc = RAG_OK, first = 1;
    rag_buf_clear(b);
    rc = rag_buf_puts(b, "");
    if (is_hist) {
        for (int i = 0; rc == RAG_OK && i < NB; i++)
            if (a->hist[i]) {
                rc = rag_buf_printf(b, "%s%d:%llu", first ? "" : ",", i,
                                    (unsigned long long)a->hist[i]);
                first = 0;
            }
    } else {
        for (int i = 0; rc == RAG_OK && i < a->n_classes; i++) {
            rc = rag_buf_printf(b, "%s%s:%lld", first ? "" : ",", a->classes[i].name,
                                (long long)a->classes[i].n);
            first = 0;
        }
    }
    return rc;
}

static backend_usage *find(rag_usage *u, const char *name, int create)
{
    for (size_t i = 0; i < u->n_b; i++)
        if (!strcmp(u->b[i].name, name))
            return &u->b[i];
    if (!create)
        return NULL;
    if (u->n_b == u->cap_b) {
        size_t cap = u->cap_b ? u->cap_b * 2 : 8;
        backend_usage *nb = rag_realloc(u->b, cap * sizeof *nb);
        if (!nb)
            return NULL;
        u->b = nb;
        u->cap_b = cap;
    }
    memset(&u->b[u->n_b], 0, sizeof u->b[0]);
    u->b[u->n_b].name = rag_strdup(name);
    if (!u->b[u->n_b].name)
        return NULL;
    return &u->b[u->n_b++];
}

static const rag_backend_cfg *bcfg(const rag_usage *u, const char *name)
{
    return u->cfg ? rag_config_backend(u->cfg, name) : NULL;
}

static double budget_of(const rag_usage *u, const char *name)
{
    const rag_backend_cfg *c = bcfg(u, name);
    return c ? c->monthly_budget_usd : 0.0;
}

static int on_row(void *ctx, const rag_store_usage_row *r)
{
    rag_usage *u = ctx;
    backend_usage *b;
    agg row;

    b = find(u, r->backend, 1);
    if (!b)
        return RAG_ENOMEM;
    memset(&row, 0, sizeof row);
    row.requests = r->requests;
    row.errors = r->errors;
    row.retries = r->retries;
    row.fallbacks = r->fallbacks;
    row.tokens_in = r->tokens_in;
    row.tokens_out = r->tokens_out;
    row.cost_usd = r->cost_usd;
    parse_pairs(&row, r->errors_by_class, 0);
    parse_pairs(&row, r->hist, 1);
    agg_merge(&b->total, &row);
    if (!strcmp(r->month, u->month))
        agg_merge(&b->month, &row);
    return RAG_OK;
}

static int load(rag_usage *u, rag_err *err)
{
    int rc = u->store->ops->usage_scan(u->store, on_row, u, err);
    if (rc == RAG_ENOMEM && (!err || !err->msg[0]))
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    return rc;
}

int rag_usage_open(rag_usage **out, rag_store *store, const rag_config *cfg, rag_err *err)
{
    rag_usage *u;
    int rc = RAG_OK;

    *out = NULL;
    u = rag_calloc(1, sizeof *u);
    if (!u)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    pthread_mutex_init(&u->mu, NULL);
    pthread_mutex_init(&u->io_mu, NULL);
    u->store = store;
    u->cfg = cfg;
    u->alerts = rag_usage_default_alerts();
    current_month(u->month);
    if (store) {
        u->readonly = rag_store_read_only(store);
        rc = load(u, err);
    }
    if (rc < 0) {
        u->store = NULL;
        rag_usage_close(u);
        return rc;
    }
    *out = u;
    return RAG_OK;
}

static int on_stored(void *ctx, const rag_store_usage_row *r)
{
    agg *merged = ctx;
    parse_pairs(merged, r->errors_by_class, 0);
    parse_pairs(merged, r->hist, 1);
    return RAG_OK;
}

/* Caller holds u->mu. The stored histogram and error classes are merged
 * with this process's inside one write transaction, so two processes
 * flushing the same row add up. */
static int flush_locked(rag_usage *u, rag_err *err)
{
    rag_buf hist = RAG_BUF_INIT, classes = RAG_BUF_INIT;
    int rc = RAG_OK, any = 0;

    if (!u->store || u->readonly)
        return RAG_OK;
    for (size_t i = 0; i < u->n_b; i++)
        any |= u->b[i].dirty;
    if (!any)
        return RAG_OK;
    rc = rag_store_begin(u->store, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; rc == RAG_OK && i < u->n_b; i++) {
        backend_usage *b = &u->b[i];
        rag_store_usage_row row;
        agg merged;
        if (!b->dirty)
            continue;
        memset(&merged, 0, sizeof merged);
        rc = u->store->ops->usage_get(u->store, b->name, u->month, on_stored, &merged, err);
        if (rc < 0)
            break;
        rc = RAG_OK;
        agg_merge(&merged, &b->delta);
        if (format_pairs(&classes, &merged, 0) < 0 || format_pairs(&hist, &merged, 1) < 0) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            break;
        }
        row = (rag_store_usage_row){
            .backend = b->name, .month = u->month, .requests = b->delta.requests,
            .errors = b->delta.errors, .retries = b->delta.retries,
            .fallbacks = b->delta.fallbacks, .tokens_in = b->delta.tokens_in,
            .tokens_out = b->delta.tokens_out, .cost_usd = b->delta.cost_usd,
            .errors_by_class = classes.data ? classes.data : "",
            .hist = hist.data ? hist.data : ""};
        rc = u->store->ops->usage_add(u->store, &row, err);
    }
    rag_buf_fini(&hist);
    rag_buf_fini(&classes);
    if (rc == RAG_OK)
        rc = rag_store_commit(u->store, err);
    if (rc < 0) {
        rag_store_rollback(u->store);
        return rc;
    }
    for (size_t i = 0; i < u->n_b; i++) {
        memset(&u->b[i].delta, 0, sizeof u->b[i].delta);
        u->b[i].dirty = 0;
    }
    return RAG_OK;
}

int rag_usage_flush(rag_usage *u, rag_err *err)
{
    int rc;
    if (!u)
        return RAG_OK;
    pthread_mutex_lock(&u->io_mu);
    pthread_mutex_lock(&u->mu);
    rc = flush_locked(u, err);
    pthread_mutex_unlock(&u->mu);
    pthread_mutex_unlock(&u->io_mu);
    return rc;
}

static void rollover_locked(rag_usage *u, int have_io);
static void check_alerts_locked(rag_usage *u, backend_usage *b);

static void free_backends(rag_usage *u)
{
    for (size_t i = 0; i < u->n_b; i++)
        rag_free(u->b[i].name);
    rag_free(u->b);
}

/* Deltas taken out of u's counters (table t, n back-ends) go back to
 * them: a write that failed is made by the next one. */
static void give_back_locked(rag_usage *u, const backend_usage *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        backend_usage *b = find(u, t[i].name, 1);
        if (!b) {
            rag_log(RAG_LOG_WARN, "usage: out of memory: %lld calls of '%s' not counted",
                    (long long)t[i].delta.requests, t[i].name);
            continue;
        }
        agg_merge(&b->delta, &t[i].delta);
        b->dirty = 1;
    }
}

int rag_usage_sync(rag_usage *u, rag_err *err)
{
    /* a table of its own: the deltas taken to write (flush_locked), then
     * every process's stored rows read back (load) */
    rag_usage scratch;
    int rc = RAG_OK;

    if (!u || !u->store)
        return RAG_OK;
    /* The store is used under io_mu alone: callers of record / allowed
     * wait for the counters, never for the database. */
    pthread_mutex_lock(&u->io_mu);
    pthread_mutex_lock(&u->mu);
    rollover_locked(u, 1);
    memset(&scratch, 0, sizeof scratch);
    scratch.store = u->store;
    scratch.cfg = u->cfg;
    memcpy(scratch.month, u->month, sizeof scratch.month);
    for (size_t i = 0; !u->readonly && i < u->n_b; i++) {
        backend_usage *b = &u->b[i], *t;
        if (!b->dirty)
            continue;
        if (!(t = find(&scratch, b->name, 1))) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            give_back_locked(u, scratch.b, scratch.n_b);
            break;
        }
        t->delta = b->delta;
        t->dirty = 1;
        memset(&b->delta, 0, sizeof b->delta);
        b->dirty = 0;
    }
    pthread_mutex_unlock(&u->mu);

    /* flush_locked zeroes the deltas once they are committed, and leaves
     * them on a failure */
    if (rc == RAG_OK && (rc = flush_locked(&scratch, err)) < 0) {
        pthread_mutex_lock(&u->mu);
        give_back_locked(u, scratch.b, scratch.n_b);
        pthread_mutex_unlock(&u->mu);
    }
    if (rc == RAG_OK && (rc = load(&scratch, err)) > 0)
        rc = RAG_OK;
    pthread_mutex_lock(&u->mu);
    /* a month that turned meanwhile: the next sync reads the new one */
    if (rc == RAG_OK && !strcmp(scratch.month, u->month)) {
        for (size_t i = 0; i < scratch.n_b && rc == RAG_OK; i++)
            if (!find(u, scratch.b[i].name, 1))
                rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        /* the stored rows, plus what is counted here and not stored yet
         * (all of it for a read-only store) */
        for (size_t i = 0; rc == RAG_OK && i < u->n_b; i++) {
            backend_usage *b = &u->b[i];
            memset(&b->total, 0, sizeof b->total);
            memset(&b->month, 0, sizeof b->month);
            for (size_t j = 0; j < scratch.n_b; j++)
                if (!strcmp(scratch.b[j].name, b->name)) {
                    b->total = scratch.b[j].total;
                    b->month = scratch.b[j].month;
                    break;
                }
            agg_merge(&b->total, &b->delta);
            agg_merge(&b->month, &b->delta);
            check_alerts_locked(u, b);
        }
    }
    pthread_mutex_unlock(&u->mu);
    free_backends(&scratch);
    pthread_mutex_unlock(&u->io_mu);
    return rc;
}

void rag_usage_close(rag_usage *u)
{
    rag_err err = {0};
    if (!u)
        return;
    if (rag_usage_flush(u, &err) < 0)
        rag_log(RAG_LOG_WARN, "usage: totals not saved: %s", err.msg);
    free_backends(u);
    pthread_mutex_destroy(&u->mu);
    pthread_mutex_destroy(&u->io_mu);
    rag_free(u);
}

void rag_usage_set_alerts(rag_usage *u, const rag_usage_alerts *a)
{
    if (!u || !a)
        return;
    pthread_mutex_lock(&u->mu);
    u->alerts = *a;
    if (u->alerts.window > RING)
        u->alerts.window = RING;
    pthread_mutex_unlock(&u->mu);
}

double rag_usage_cost(const rag_usage *u, const char *backend, int64_t tokens_in,
                      int64_t tokens_out)
{
    const rag_backend_cfg *c = u && backend ? bcfg(u, backend) : NULL;
    if (!c)
        return 0.0;
    return (double)tokens_in * c->price_in_per_mtok / 1e6 +
           (double)tokens_out * c->price_out_per_mtok / 1e6;
}

static void rollover_locked(rag_usage *u, int have_io)
{
    char now[8];
    int took = 0;
    current_month(now);
    if (!strcmp(now, u->month))
        return;
    /* the last month's counts go to its row first; while a sync holds the
     * store, they keep counting in that month until the next call */
    if (u->store && !u->readonly && !have_io) {
        if (pthread_mutex_trylock(&u->io_mu))
            return;
        took = 1;
    }
    {
        rag_err err = {0};
        if (flush_locked(u, &err) < 0)
            rag_log(RAG_LOG_WARN, "usage: totals not saved: %s", err.msg);
    }
    if (took)
        pthread_mutex_unlock(&u->io_mu);
    memcpy(u->month, now, sizeof now);
    for (size_t i = 0; i < u->n_b; i++) {
        memset(&u->b[i].month, 0, sizeof u->b[i].month);
        u->b[i].warned_budget = 0;
        u->b[i].alert_cost = 0;
    }
}

static void check_alerts_locked(rag_usage *u, backend_usage *b)
{
    const rag_usage_alerts *a = &u->alerts;
    double budget = budget_of(u, b->name);

    if (a->error_rate > 0 && a->window > 0 && b->ring_n >= a->window) {
        int fails = 0;
        for (int i = 0; i < a->window; i++)
            fails += b->ring[(b->ring_pos - 1 - i + RING) % RING];
        double rate = (double)fails / a->window;
        if (rate > a->error_rate && !b->alert_err) {
            b->alert_err = 1;
            rag_log(RAG_LOG_WARN, "alert: back-end '%s' error rate %.0f%% over the last %d "
                    "calls (threshold %.0f%%)", b->name, rate * 100, a->window,
                    a->error_rate * 100);
        } else if (rate <= a->error_rate)
            b->alert_err = 0;
    }
    if (a->p95_latency_ms > 0 && b->total.requests >= 20) {
        double p95 = percentile(b->total.hist, 0.95);
        if (p95 > a->p95_latency_ms && !b->alert_p95) {
            b->alert_p95 = 1;
            rag_log(RAG_LOG_WARN, "alert: back-end '%s' p95 latency %.0f ms (threshold "
                    "%.0f ms)", b->name, p95, a->p95_latency_ms);
        } else if (p95 <= a->p95_latency_ms)
            b->alert_p95 = 0;
    }
    if (budget > 0 && a->cost_fraction > 0 && b->month.cost_usd >= a->cost_fraction * budget &&
        b->month.cost_usd < budget && !b->alert_cost) {
        b->alert_cost = 1;
        rag_log(RAG_LOG_WARN, "alert: back-end '%s' spent $%.4f of its $%.2f monthly budget",
                b->name, b->month.cost_usd, budget);
    }
    if (budget > 0 && b->month.cost_usd >= budget && !b->warned_budget) {
        b->warned_budget = 1;
        rag_log(RAG_LOG_WARN, "back-end '%s': monthly budget of $%.2f spent ($%.4f in %s); "
                "not used until next month", b->name, budget, b->month.cost_usd, u->month);
    }
}

void rag_usage_record(rag_usage *u, const rag_usage_event *ev)
{
    backend_usage *b;
    agg one;

    if (!u || !ev || !ev->backend)
        return;
    memset(&one, 0, sizeof one);
    one.requests = 1;
    one.errors = ev->ok ? 0 : 1;
    one.retries = ev->retries > 0 ? ev->retries : 0;
    one.fallbacks = ev->fell_back ? 1 : 0;
    one.tokens_in = ev->tokens_in > 0 ? ev->tokens_in : 0;
    one.tokens_out = ev->tokens_out > 0 ? ev->tokens_out : 0;
    one.cost_usd = rag_usage_cost(u, ev->backend, one.tokens_in, one.tokens_out);
    if (!ev->skipped)
        one.hist[bucket_of(ev->latency_ms)] = 1;
    if (!ev->ok)
        class_add(&one, ev->error_class ? ev->error_class : "error", 1);

    pthread_mutex_lock(&u->mu);
    rollover_locked(u, 0);
    b = find(u, ev->backend, 1);
    if (b) {
        agg_merge(&b->total, &one);
        agg_merge(&b->month, &one);
        agg_merge(&b->delta, &one);
        b->dirty = 1;
        b->ring[b->ring_pos] = ev->ok ? 0 : 1;
        b->ring_pos = (b->ring_pos + 1) % RING;
        if (b->ring_n < RING)
            b->ring_n++;
        check_alerts_locked(u, b);
    }
    pthread_mutex_unlock(&u->mu);
}

int rag_usage_allowed(rag_usage *u, const char *backend)
{
    double budget;
    backend_usage *b;
    int ok = 1;

    if (!u || !backend)
        return 1;
    budget = budget_of(u, backend);
    if (budget <= 0)
        return 1;
    pthread_mutex_lock(&u->mu);
    rollover_locked(u, 0);
    b = find(u, backend, 0);
    if (b && b->month.cost_usd >= budget) {
        ok = 0;
        if (!b->warned_budget) {
            b->warned_budget = 1;
            rag_log(RAG_LOG_WARN, "back-end '%s': monthly budget of $%.2f spent ($%.4f in "
                    "%s); not used until next month", backend, budget, b->month.cost_usd,
                    u->month);
        }
    }
    pthread_mutex_unlock(&u->mu);
    return ok;
}

int rag_usage_get(rag_usage *u, const char *backend, rag_usage_stats *out)
{
    backend_usage *b;
    memset(out, 0, sizeof *out);
    if (!u || !backend)
        return RAG_ENOTFOUND;
    pthread_mutex_lock(&u->mu);
    b = find(u, backend, 0);
    if (b) {
        out->requests = b->total.requests;
        out->errors = b->total.errors;
        out->retries = b->total.retries;
        out->fallbacks = b->total.fallbacks;
        out->tokens_in = b->total.tokens_in;
        out->tokens_out = b->total.tokens_out;
        out->cost_usd = b->total.cost_usd;
        out->month_requests = b->month.requests;
        out->month_errors = b->month.errors;
        out->month_tokens_in = b->month.tokens_in;
        out->month_tokens_out = b->month.tokens_out;
        out->month_cost_usd = b->month.cost_usd;
        out->p50_ms = percentile(b->total.hist, 0.50);
        out->p95_ms = percentile(b->total.hist, 0.95);
        out->p99_ms = percentile(b->total.hist, 0.99);
    }
    pthread_mutex_unlock(&u->mu);
    return b ? RAG_OK : RAG_ENOTFOUND;
}

int64_t rag_usage_errors(rag_usage *u, const char *backend, const char *error_class)
{
    int64_t n = 0;
    backend_usage *b;
    if (!u || !backend || !error_class)
        return 0;
    pthread_mutex_lock(&u->mu);
    b = find(u, backend, 0);
    for (int i = 0; b && i < b->total.n_classes; i++)
        if (!strcmp(b->total.classes[i].name, error_class))
            n = b->total.classes[i].n;
    pthread_mutex_unlock(&u->mu);
    return n;
}

static json_t *agg_json(const agg *a, int with_latency)
{
    json_t *errs = json_object(), *o;
    for (int i = 0; errs && i < a->n_classes; i++)
        json_object_set_new(errs, a->classes[i].name, json_integer(a->classes[i].n));
    o = json_pack("{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:f}", "requests", (json_int_t)a->requests,
                  "errors", errs ? errs : json_object(), "error_count",
                  (json_int_t)a->errors, "retries", (json_int_t)a->retries, "fallbacks",
                  (json_int_t)a->fallbacks, "tokens_in", (json_int_t)a->tokens_in,
                  "tokens_out", (json_int_t)a->tokens_out, "cost_usd", a->cost_usd);
    if (o && with_latency)
        json_object_set_new(o, "latency_ms",
                            json_pack("{s:f,s:f,s:f}", "p50", percentile(a->hist, 0.50),
                                      "p95", percentile(a->hist, 0.95), "p99",
                                      percentile(a->hist, 0.99)));
    return o;
}

int rag_usage_json(rag_usage *u, rag_buf *out, rag_err *err)
{
    json_t *root, *bs;
    char *text;
    int rc;

    if (!u)
        return rag_fail(err, RAG_EINVAL, "usage: not open");
    root = json_object();
    bs = json_object();
    if (!root || !bs) {
        json_decref(root);
        json_decref(bs);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&u->mu);
    rollover_locked(u, 0);
    json_object_set_new(root, "month", json_string(u->month));
    for (size_t i = 0; i < u->n_b; i++) {
        backend_usage *b = &u->b[i];
        double budget = budget_of(u, b->name);
        json_t *o = agg_json(&b->total, 1);
        if (!o)
            continue;
        json_object_set_new(o, "budget_usd", json_real(budget));
        json_object_set_new(o, "allowed",
                            json_boolean(budget <= 0 || b->month.cost_usd < budget));
        json_object_set_new(o, "month", agg_json(&b->month, 0));
        json_object_set_new(bs, b->name, o);
    }
    pthread_mutex_unlock(&u->mu);
    json_object_set_new(root, "backends", bs);
    text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rc = rag_buf_puts(out, text);
    {
        json_malloc_t jm;
        json_free_t jf;
        json_get_alloc_funcs(&jm, &jf); /* jansson allocated it */
        jf(text);
    }
    return rc < 0 ? rag_fail(err, rc, "usage: cannot build JSON") : RAG_OK;
}
