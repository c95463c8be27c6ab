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

#include <sqlite3.h>
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
} rag_usage_event;

/* Open usage accounting over db (borrowed; the table is created if
 * missing; NULL = in memory only). cfg gives prices, budgets and alert
 * thresholds per back-end (borrowed; must outlive the rag_usage). */
int rag_usage_open(rag_usage **out, sqlite3 *db, const rag_config *cfg,
                   rag_err *err);
/* Flush totals to the database and free. NULL is a no-op. */
void rag_usage_close(rag_usage *u);

void rag_usage_record(rag_usage *u, const rag_usage_event *ev);
/* 0 when backend's monthly budget is spent (it must not be called). */
int rag_usage_allowed(rag_usage *u, const char *backend);
/* Estimated cost in USD of tokens on backend, from its prices. */
double rag_usage_cost(const rag_usage *u, const char *backend, int64_t tokens_in,
                      int64_t tokens_out);
/* Write persisted totals (this month and all time) as a JSON object into
 * out: {"backends":{"name":{"requests","errors":{class:n},"retries",
 * "fallbacks","tokens_in","tokens_out","cost_usd","budget_usd",
 * "latency_ms":{"p50","p95","p99"}}}}. */
int rag_usage_json(rag_usage *u, rag_buf *out, rag_err *err);

#endif
