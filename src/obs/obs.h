/* obs.h - usage, cost and health of every back-end (local or remote).
 *
 * One rag_usage per process records, per back-end name: requests, errors
 * by class, retries, fallbacks away from it, a latency histogram,
 * input/output tokens and the estimated cost from the configured prices.
 * A monthly budget per back-end, once spent, makes rag_usage_allowed()
 * say no (the chain then treats the back-end like an open breaker).
 * Alert thresholds (error rate, p95 latency, cost) are logged once when
 * crossed. Totals persist in SQLite (table `usage`, per back-end and
 * month) so budgets hold across runs; `docrag stats --json` shows them.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef RAG_OBS_H
#define RAG_OBS_H

#include "config/config.h"
#include "core/core.h"
#include "index/store.h"

#include <stdint.h>

typedef struct rag_usage rag_usage;

typedef struct {
    const char *backend;      /* config name, e.g. "hf_router" */
    const char *stage;        /* "embed", "rerank", "llm" */
    int ok;                   /* 1 success, 0 failure */
    const char *error_class;  /* NULL or rag_net class name ("timeout", ...) */
    int retries;
    int fell_back;            /* 1 if the chain moved on to the next back-end */
    double latency_ms;
    int64_t tokens_in;
    int64_t tokens_out;
    int skipped;              /* 1: no request was sent (a chain skipped the
                                 back-end: budget spent, circuit open);
                                 counted, but not in the latency histogram */
} rag_usage_event;

/* Open usage accounting over store (borrowed: usage rows of store.h; the
 * SQLite table is created at the first flush; NULL = in memory only; a
 * read-only store is only read, and nothing recorded is saved). The store
 * is used under the rag_usage's own lock, so it must be a connection of
 * its own (no other thread uses it). cfg gives prices, budgets and alert
 * thresholds per back-end (borrowed; must outlive the rag_usage; may be
 * NULL: no prices, no budgets). This month's and all-time totals are
 * loaded from the table, so a budget spent in an earlier run still holds. */
int rag_usage_open(rag_usage **out, rag_store *store, const rag_config *cfg,
                   rag_err *err);
/* Flush totals to the store and free. NULL is a no-op. The store must
 * still be open. */
void rag_usage_close(rag_usage *u);

void rag_usage_record(rag_usage *u, const rag_usage_event *ev);
/* 0 when backend's monthly budget is spent (it must not be called). */
int rag_usage_allowed(rag_usage *u, const char *backend);
/* Estimated cost in USD of tokens on backend, from its prices. */
double rag_usage_cost(const rag_usage *u, const char *backend, int64_t tokens_in,
                      int64_t tokens_out);
/* Write persisted totals (this month and all time) as a JSON object into
 * out: {"month":"YYYY-MM","backends":{"name":{"requests","errors":{class:n},
 * "retries","fallbacks","tokens_in","tokens_out","cost_usd","budget_usd",
 * "allowed","latency_ms":{"p50","p95","p99"},"month":{"requests","errors",
 * "retries","fallbacks","tokens_in","tokens_out","cost_usd"}}}}.
 * Includes what this process recorded and has not flushed yet. */
int rag_usage_json(rag_usage *u, rag_buf *out, rag_err *err);

/* ---- extensions (compatible additions) -------------------------------- */

/* Write unflushed counts to the database now (rag_usage_close does it too).
 * A no-op without a database. */
int rag_usage_flush(rag_usage *u, rag_err *err);

/* Flush, then read the totals back from the database, so that what other
 * processes sharing it (replicas on one PostgreSQL, or processes on one
 * SQLite file) have flushed counts here too: one monthly budget for all of
 * them, exact up to what each recorded since its last sync. On a failure
 * the totals held before are kept, and counts not written are written by
 * the next sync. The database is used without holding the counters' lock:
 * rag_usage_record / _allowed / _get in other threads do not wait for it.
 * A no-op without a database. */
int rag_usage_sync(rag_usage *u, rag_err *err);

/* Alert thresholds; a value <= 0 disables that alert. Each alert is logged
 * (RAG_LOG_WARN, naming the back-end) once when crossed and re-armed when
 * the value falls back under the threshold. */
typedef struct {
    double error_rate;      /* failures / outcomes over the last `window`
                               events, default 0.5 */
    int window;             /* events in the error-rate window, default 20
                               (max 64); alert needs a full window */
    double p95_latency_ms;  /* default 10000; needs >= 20 samples */
    double cost_fraction;   /* of the monthly budget, default 0.8 */
} rag_usage_alerts;
rag_usage_alerts rag_usage_default_alerts(void);
void rag_usage_set_alerts(rag_usage *u, const rag_usage_alerts *a);

/* Snapshot of one back-end (this process + persisted), for tests and the
 * CLI. Returns RAG_ENOTFOUND if nothing was ever recorded for it. */
typedef struct {
    int64_t requests, errors, retries, fallbacks, tokens_in, tokens_out;
    double cost_usd;
    int64_t month_requests, month_errors, month_tokens_in, month_tokens_out;
    double month_cost_usd;
    double p50_ms, p95_ms, p99_ms;   /* all time, from the histogram */
} rag_usage_stats;
int rag_usage_get(rag_usage *u, const char *backend, rag_usage_stats *out);
/* Errors of one class recorded for backend (all time). */
int64_t rag_usage_errors(rag_usage *u, const char *backend, const char *error_class);

/* What one call to a back-end cost, reported by remote back-ends (see the
 * `last_call` ops in embed.h / rerank.h) so chains can record it. */
typedef struct {
    int n_requests;           /* HTTP requests made (batches, probes) */
    int retries;              /* attempts after the first, summed */
    const char *error_class;  /* NULL on success, else a rag_net class name
                                 or "budget", "disabled", "format" */
    long status;              /* last HTTP status, 0 if none */
    double latency_ms;        /* whole call */
    int64_t tokens_in;        /* as reported by the API; 0 if it does not */
    int64_t tokens_out;
    char message[256];        /* why the last call (or dimension probe) failed,
                                 naming back-end, URL and status as the net
                                 layer does (redacted); "" if it did not */
} rag_call_info;

#endif
