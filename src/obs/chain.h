/* chain.h - the one fallback-chain walker behind chains.embed,
 * chains.rerank and chains.llm.
 *
 * A chain is a list of members (config names) tried in order for one call.
 * The rules are the same for the three chains, and they live here so that
 * no chain can grow its own (docs/remote_backends.md, "Fallback chains"):
 *
 *   skip, without a request, checked in this order
 *     disabled (placeholder token)   note "NAME: skipped (disabled: no usable
 *                                    token)"; no usage event
 *     monthly budget spent           note "NAME: skipped (monthly budget
 *     (rag_usage_allowed == 0)       spent)"; usage: a failure of class
 *                                    "budget"
 *     circuit breaker open           note "NAME: skipped (circuit open)";
 *     (rag_net_endpoint_breaker)     usage: a failure of class "breaker_open"
 *   call      RAG_OK, then `check` (if given) accepts the result: served,
 *             the walk ends. Any error, or a result `check` rejects (class
 *             "malformed": wrong dimension, non-finite value, empty reply),
 *             is a failure: note "NAME: MESSAGE", usage failure with the
 *             member's class, and the next member is tried.
 *   stop      RAG_ENOMEM, an outcome with `stop` set (the caller cancelled),
 *             or a failing built-in member (extractive, the none reranker:
 *             not a remote back-end, nothing to fall back from) end the walk
 *             with that member's error.
 *   all fail  RAG_EBACKEND "chains.STAGE: no back-end answered (NOTICE)", or
 *             "(empty chain)" when there was nothing to try.
 *
 * Usage (when a rag_usage is given): one event per attempt and per budget or
 * breaker skip, stage STAGE, fell_back = 1 when a later member exists and
 * the walk goes on. Built-in members are neither skipped nor recorded.
 *
 * Why availability is not a callback: the three copies this replaces each
 * had their own idea of it (embed and rerank never looked at the breaker,
 * rerank never recorded a budget skip); one fixed set is the point.
 *
 * Why in src/obs: the walker needs rag_usage (obs) and the breaker state
 * (net); obs already sits on net (remote.h), and embed, rerank and
 * generate all use obs. Nothing lower sees both.
 *
 * Thread safety: rag_chain_walk keeps no state between calls; it is as
 * thread safe as the members' callbacks and the rag_usage (thread safe).
 */
#ifndef RAG_OBS_CHAIN_H
#define RAG_OBS_CHAIN_H

#include "core/core.h"
#include "net/net.h"
#include "obs/obs.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;        /* config name; notices and usage use it */
    int enabled;             /* 0 = disabled (placeholder token): skipped */
    int builtin;             /* 1 = extractive / none: never skipped, not
                                recorded, its failure ends the walk */
    rag_net_endpoint *ep;    /* borrowed; NULL = no breaker to check */
} rag_chain_member;

/* What one attempt cost and how it failed; the call callback fills it
 * (zeroed by the walker before each call). */
typedef struct {
    const char *error_class; /* failure class (rag_net class name, ...);
                                NULL = "error" */
    int retries;
    int64_t tokens_in;
    int64_t tokens_out;
    int stop;                /* 1 = end the walk with this failure */
} rag_chain_outcome;

typedef struct {
    const char *stage;       /* "embed", "rerank", "llm": usage stage and
                                the "chains.STAGE" error prefix */
    rag_usage *usage;        /* borrowed; NULL = no budgets, no accounting */
    /* Try member i. Returns RAG_OK or an error (message in err, class in
     * oc). Required. */
    int (*call)(void *ctx, size_t i, rag_chain_outcome *oc, rag_err *err);
    /* After a successful call: RAG_OK if the result is valid, else an error
     * with the reason in err; the attempt then fails with class
     * "malformed" and the walk goes on. May be NULL. */
    int (*check)(void *ctx, size_t i, rag_err *err);
    /* After every failed attempt, before it is noted: may rewrite err->msg
     * (the text the notice gets) and tell the caller. May be NULL. */
    void (*on_fail)(void *ctx, size_t i, int rc, rag_err *err);
    void *ctx;
    /* 1 = log each fall-through at RAG_LOG_INFO, "chains.STAGE: 'a' failed
     * (MESSAGE); trying 'b'" (embed, rerank: their callers get no notice);
     * 0 = the notice is the only trace (llm: the answer carries it). */
    int log_fall_through;
} rag_chain_walk_opts;

typedef struct {
    long served;             /* index of the member that served, -1 if none */
    size_t n_skipped;        /* members skipped */
    size_t n_failed;         /* members tried that failed */
    rag_buf notice;          /* "; "-separated skips and failures before the
                                one that served (empty if none); owned:
                                rag_chain_result_fini */
} rag_chain_result;

/* The skip rule above for one member: NULL if it may be called, else the
 * reason ("disabled: no usable token", "monthly budget spent", "circuit
 * open") with *error_class set to the usage class (NULL for disabled: not
 * recorded). usage may be NULL. error_class may be NULL. */
const char *rag_chain_skip_reason(rag_usage *usage, const rag_chain_member *m,
                                  const char **error_class);

/* Walk members[0..n) with the rules above. res (caller's storage) is always
 * initialised; free its notice with rag_chain_result_fini, on failure too.
 * Returns RAG_OK when a member served (res->served >= 0); RAG_EBACKEND when
 * none did; the member's error for a stop (see above); RAG_ENOMEM if the
 * notice could not be written. err gets the message; on RAG_OK it is left
 * alone. Blocks as long as the members' calls. */
int rag_chain_walk(rag_chain_result *res, const rag_chain_member *members, size_t n,
                   const rag_chain_walk_opts *opts, rag_err *err);

void rag_chain_result_fini(rag_chain_result *res);

/* For call callbacks of members that report a rag_call_info (may be NULL):
 * retries and tokens into oc, and on failure (rc < 0) its error class. */
void rag_chain_outcome_from_call(rag_chain_outcome *oc, const rag_call_info *info, int rc);

#endif
