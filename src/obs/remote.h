/* remote.h - shared plumbing for remote back-ends (embed, rerank, llm):
 * a rag_net endpoint built from a rag_backend_cfg, and call accounting.
 *
 * rag_remote_endpoint_create maps the config (url or the type's default,
 * api_key as bearer and extra secret, timeouts, max_retries, rate limit,
 * in-flight cap) onto rag_net_endpoint_opts; rag_remote_opts carries what
 * the config does not (injectable clock, backoff, breaker; tests use them
 * to run fast and deterministically).
 *
 * Thread safety: pure functions; the endpoint is as thread safe as net.h.
 */
#ifndef RAG_OBS_REMOTE_H
#define RAG_OBS_REMOTE_H

#include "config/config.h"
#include "net/net.h"
#include "obs/obs.h"

typedef struct {
    rag_net_clock clock;          /* NULL functions = real clock */
    double backoff_base_ms;       /* 0 = net default (200) */
    double backoff_cap_ms;        /* 0 = net default (10000) */
    double max_server_wait_ms;    /* 0 = the back-end's max_retry_after_ms */
    double budget_ms;             /* 0 = the back-end's deadline
                                     (rag_backend_deadline_ms) */
    const rag_net_breaker_policy *breaker; /* NULL = net default */
    uint64_t jitter_seed;         /* 0 = from the clock */
    int normalize;                /* embedders: L2-normalize (default 1) */
    size_t max_batch;             /* 0 = per type: TEI asks /info, else 64
                                     (embed) / 1000 (rerank) */
} rag_remote_opts;

rag_remote_opts rag_remote_default_opts(void);

/* Default base URL for a back-end type ("tei" -> http://127.0.0.1:8080,
 * ...; docs/configuration.md), or NULL for a type without one. */
const char *rag_remote_default_url(const char *type);

/* Caller owns *out (rag_net_endpoint_destroy). opts may be NULL. Fails with
 * RAG_EINVAL naming the back-end when it is disabled (placeholder token).
 * The error never contains the api_key. */
int rag_remote_endpoint_create(rag_net_endpoint **out, const rag_backend_cfg *b,
                               const rag_remote_opts *opts, rag_err *err);

/* Add one finished request's outcome (resp) to info. */
void rag_remote_account(rag_call_info *info, const rag_net_response *resp);

#endif
