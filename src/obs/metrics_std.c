/* metrics_std.c - ready-made families for rag_metrics (metrics.h): process
 * memory from /proc/self/statm, a rag_net endpoint's counters and breaker
 * state, a back-end's rag_usage totals. All are callback series, so the
 * numbers stay owned by the module that keeps them and are only read at
 * scrape time.
 */
#include "obs/metrics_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* /proc/self/statm: "size resident shared text lib data dt", in pages. */
static int read_statm(double *vsize, double *rss)
{
    char buf[256];
    unsigned long long size, resident;
    long page = sysconf(_SC_PAGESIZE);
    ssize_t n;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || page <= 0)
        return -1;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return -1;
    *vsize = (double)size * (double)page;
    *rss = (double)resident * (double)page;
    return 0;
}

int rag_metrics_rss_bytes(double *value, void *userdata)
{
    double vsize;
    (void)userdata;
    return read_statm(&vsize, value);
}

int rag_metrics_vsize_bytes(double *value, void *userdata)
{
    double rss;
    (void)userdata;
    return read_statm(value, &rss);
}

/* Register (or reuse) a gauge/counter family and bind one callback series;
 * caller holds m->mu. */
static int bind_locked(rag_metrics *m, metric_kind kind, const char *name,
                       const char *help, const char *label, const char *const *values,
                       size_t max_series, rag_metric_fn fn, void *ud, rag_err *err)
{
    rag_metric_desc d = {.name = name, .help = help, .max_series = max_series};
    struct family *f;
    int rc;

    d.labels[0] = label;
    rc = metrics_register_locked(&f, m, kind, &d, 1, err);
    if (rc < 0)
        return rc;
    return metrics_bind_fn(f, values, fn, ud, err);
}

int rag_metrics_add_process(rag_metrics *m, rag_err *err)
{
    int rc;
    pthread_mutex_lock(&m->mu);
    rc = bind_locked(m, KIND_GAUGE, "process_resident_memory_bytes",
                     "Resident memory size in bytes.", NULL, NULL, 0, rag_metrics_rss_bytes,
                     NULL, err);
    if (rc == RAG_OK)
        rc = bind_locked(m, KIND_GAUGE, "process_virtual_memory_bytes",
                         "Virtual memory size in bytes.", NULL, NULL, 0,
                         rag_metrics_vsize_bytes, NULL, err);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

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
        rc = bind_locked(m, ep_fields[i].kind, ep_fields[i].name, ep_fields[i].help,
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
            rc = bind_locked(m, KIND_COUNTER, "docrag_usage_requests_total",
                             "Calls to a back-end (local or remote), all runs.", "backend",
                             one, 64, usage_value, r, err);
        } else if (i == US_ERRORS) {
            rc = bind_locked(m, KIND_COUNTER, "docrag_usage_errors_total",
                             "Failed calls to a back-end, all runs.", "backend", one, 64,
                             usage_value, r, err);
        } else {
            rc = bind_locked(m, KIND_COUNTER, "docrag_usage_cost_usd_total",
                             "Estimated cost of a back-end's calls in US dollars, all runs.",
                             "backend", one, 64, usage_value, r, err);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}
