/* metrics.h (obs) - exporters of the engine's own counters into a
 * rag_metrics registry (metrics/metrics.h): remote endpoints and usage
 * (metrics_std.c).
 *
 * Thread safety: as metrics/metrics.h.
 */
#ifndef RAG_OBS_METRICS_H
#define RAG_OBS_METRICS_H

#include "metrics/metrics.h"
#include "net/net.h"
#include "obs/obs.h"

/* Export one remote endpoint's rag_net_metrics and breaker state, label
 * backend=<endpoint name>: docrag_backend_requests_total,
 * _attempts_total, _retries_total, _failures_total,
 * _breaker_opens_total, _breaker_rejects_total (counters),
 * docrag_backend_in_flight and docrag_backend_breaker_state (0 closed,
 * 1 open, 2 half-open) gauges. The families are created by the first
 * call. ep is borrowed and must outlive the registry. RAG_EINVAL if that
 * endpoint name is already exported; RAG_ELIMIT past 64 endpoints. */
int rag_metrics_add_endpoint(rag_metrics *m, rag_net_endpoint *ep, rag_err *err);

/* Export one back-end's rag_usage totals (this process + persisted, so
 * they survive restarts), label backend=<name>:
 * docrag_usage_requests_total, docrag_usage_errors_total,
 * docrag_usage_tokens_total{direction="in"|"out"},
 * docrag_usage_cost_usd_total. A back-end nothing was recorded for yet
 * reads 0. u is borrowed and must outlive the registry; backend is
 * copied. RAG_EINVAL if that back-end is already exported; RAG_ELIMIT
 * past 64 back-ends. */
int rag_metrics_add_usage(rag_metrics *m, rag_usage *u, const char *backend,
                          rag_err *err);

#endif
