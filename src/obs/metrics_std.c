/* metrics_std.c - the engine's exporters for rag_metrics (obs/metrics.h):
 * a rag_net endpoint's counters and breaker state, a back-end's rag_usage
 * totals. All are callback series, so the
 * numbers stay owned by the module that keeps them and are only read at
 * scrape time.
 */
#include "metrics/metrics_int.h"
#include "obs/metrics.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>



/* ---- rag_net endpoints ------------------------------------------------- */

enum { EP_REQUESTS, EP_ATTEMPTS, EP_RETRIES, EP_FAILURES, EP_OPENS, EP_REJECTS,
       EP_IN_FLIGHT, EP_BREAKER, EP_N };

static const struct {
    metric_kind kind;
    const char *name, *help;
} ep_fields[EP_N] = {
    {KIND_COUNTER, "docrag_backend_requests_total", "Calls made to a remote back-end."},
    {KIND_COUNTER, "docrag_backend_attempts_total",
     "HTTP attempts sent to a remote back-end (retries included)."},
    {KIND_COUNTER, "docrag_backend_retries_total",
     "HTTP attempts after the first, per remote back-end."},
    {KIND_COUNTER, "docrag_backend_failures_total",
     "Calls to a remote back-end that failed after retries."},
    {KIND_COUNTER, "docrag_backend_breaker_opens_total",
     "Times a remote back-end's circuit breaker opened."},
    {KIND_COUNTER, "docrag_backend_breaker_rejects_total",
     "Calls failed fast by an open circuit breaker."},
    {KIND_GAUGE, "docrag_backend_in_flight", "Requests to a remote back-end in flight now."},
    {KIND_GAUGE, "docrag_backend_breaker_state",
     "Circuit breaker state of a remote back-end: 0 closed, 1 open, 2 half-open."},
};

struct ep_ref {
    rag_net_endpoint *ep;
    int field;
};

static int ep_value(double *value, void *userdata)
{
    const struct ep_ref *r = userdata;
    rag_net_metrics nm;

    if (r->field == EP_BREAKER) {
        *value = (double)rag_net_endpoint_breaker(r->ep);
        return 0;
    }
    rag_net_endpoint_metrics(r->ep, &nm);
    switch (r->field) {
    case EP_REQUESTS: *value = (double)nm.requests; break;
    case EP_ATTEMPTS: *value = (double)nm.attempts; break;
    case EP_RETRIES: *value = (double)nm.retries; break;
    case EP_FAILURES: *value = (double)nm.failures; break;
    case EP_OPENS: *value = (double)nm.breaker_opens; break;
    case EP_REJECTS: *value = (double)nm.breaker_rejects; break;
    default: *value = (double)nm.in_flight; break;
    }
    return 0;
}

int rag_metrics_add_endpoint(rag_metrics *m, rag_net_endpoint *ep, rag_err *err)
{
    const char *values[1] = {rag_net_endpoint_name(ep)};
    int rc = RAG_OK;

    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < EP_N && rc == RAG_OK; i++) {
        struct ep_ref *r = rag_malloc(sizeof *r);
        if (!r) {
            rc = rag_fail(err, RAG_ENOMEM, "metrics: out of memory");
            break;
        }
        r->ep = ep;
        r->field = i;
        rc = metrics_own_locked(m, r);
        if (rc < 0) {
            rc = rag_fail(err, rc, "metrics: out of memory");
            break;
        }
        rc = metrics_bind_locked(m, ep_fields[i].kind, ep_fields[i].name, ep_fields[i].help,
                         "backend", values, 64, ep_value, r, err);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- rag_usage back-ends ------------------------------------------------ */

enum { US_REQUESTS, US_ERRORS, US_TOKENS_IN, US_TOKENS_OUT, US_COST, US_N };

struct usage_ref {
    rag_usage *u;
    int field;
    char backend[]; /* NUL-terminated copy */
};

static int usage_value(double *value, void *userdata)
{
    const struct usage_ref *r = userdata;
    rag_usage_stats st;

    if (rag_usage_get(r->u, r->backend, &st) != RAG_OK)
        memset(&st, 0, sizeof st);
    switch (r->field) {
    case US_REQUESTS: *value = (double)st.requests; break;
    case US_ERRORS: *value = (double)st.errors; break;
    case US_TOKENS_IN: *value = (double)st.tokens_in; break;
    case US_TOKENS_OUT: *value = (double)st.tokens_out; break;
    default: *value = st.cost_usd; break;
    }
    return 0;
}

int rag_metrics_add_usage(rag_metrics *m, rag_usage *u, const char *backend,
                          rag_err *err)
{
    size_t n = strlen(backend);
    int rc = RAG_OK;

    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < US_N && rc == RAG_OK; i++) {
        struct usage_ref *r = rag_malloc(sizeof *r + n + 1);
        const char *one[1] = {backend};
        const char *two[2] = {backend, i == US_TOKENS_IN ? "in" : "out"};
        if (!r) {
            rc = rag_fail(err, RAG_ENOMEM, "metrics: out of memory");
            break;
        }
        r->u = u;
        r->field = i;
        memcpy(r->backend, backend, n + 1);
        rc = metrics_own_locked(m, r);
        if (rc < 0) {
            rc = rag_fail(err, rc, "metrics: out of memory");
            break;
        }
        if (i == US_TOKENS_IN || i == US_TOKENS_OUT) {
            rag_metric_desc d = {.name = "docrag_usage_tokens_total",
                                 .help = "Tokens sent to (in) and received from (out) a "
                                         "back-end, all runs.",
                                 .labels = {"backend", "direction"},
                                 .max_series = 128};
            struct family *f;
            rc = metrics_register_locked(&f, m, KIND_COUNTER, &d, 1, err);
            if (rc == RAG_OK)
                rc = metrics_bind_fn(f, two, usage_value, r, err);
        } else if (i == US_REQUESTS) {
            rc = metrics_bind_locked(m, KIND_COUNTER, "docrag_usage_requests_total",
                             "Calls to a back-end (local or remote), all runs.", "backend",
                             one, 64, usage_value, r, err);
        } else if (i == US_ERRORS) {
            rc = metrics_bind_locked(m, KIND_COUNTER, "docrag_usage_errors_total",
                             "Failed calls to a back-end, all runs.", "backend", one, 64,
                             usage_value, r, err);
        } else {
            rc = metrics_bind_locked(m, KIND_COUNTER, "docrag_usage_cost_usd_total",
                             "Estimated cost of a back-end's calls in US dollars, all runs.",
                             "backend", one, 64, usage_value, r, err);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}
