/* rerank.h - rerankers: score (query, passage) pairs, one interface and
 * several back-ends (STYLE.md §6).
 *
 * Back-ends: "local" (rerank_local.c: WordPiece pair encoding + the BERT
 * cross-encoder of src/model); remote (rerank_remote.c): "tei" (POST
 * /rerank) and "openai" — the Cohere/Jina-style API that llama-server,
 * Jina (url https://api.jina.ai/v1), Cohere (url https://api.cohere.com/v2)
 * and OpenVINO serve at POST {url}/rerank; "none" (keeps the input order);
 * and a fallback chain (rerank_chain.c). Remote scores are whatever the
 * server returns (TEI: sigmoid, others: raw or calibrated); only the order
 * within one call is meaningful, and one call is always served by one
 * back-end.
 *
 * Scores are raw logits, not probabilities: for a num_labels == 1 model
 * (the ms-marco cross-encoders) the logit of label 0; for num_labels == 2
 * the log-odds logit[1] - logit[0]. Higher is more relevant; only the
 * order is meaningful across models.
 *
 * Thread safety: one score call at a time per reranker.
 */
#ifndef RAG_RERANK_H
#define RAG_RERANK_H

#include "config/config.h"
#include "core/core.h"
#include "model/model.h"
#include "obs/chain.h"
#include "obs/obs.h"
#include "obs/remote.h"

#include <stddef.h>

typedef struct rag_reranker rag_reranker;

struct rag_reranker_ops {
    const char *name;                                   /* back-end: "local" */
    /* Borrowed; valid until destroy. Never NULL. */
    const char *(*model_id)(const rag_reranker *r);
    /* Writes n_passages scores to out, in input order. Each pair is
     * truncated (longest first) to the model's max_seq_length tokens.
     * Blocks. Never NULL. */
    int (*score)(rag_reranker *r, const char *query, const char *const *passages,
                 size_t n_passages, float *out, rag_err *err);
    /* Frees everything the reranker owns. Never NULL. */
    void (*destroy)(rag_reranker *r);
    /* Optional (NULL for local): what the last score call cost. Borrowed. */
    const rag_call_info *(*last_call)(const rag_reranker *r);
    /* Optional: config name of the back-end that served the last call. */
    const char *(*served_by)(const rag_reranker *r);
    /* Optional (remote): the endpoint its requests go to, so a chain can
     * skip it while its circuit breaker is open. Borrowed. */
    rag_net_endpoint *(*endpoint)(const rag_reranker *r);
    /* Optional (chains, and wrappers of one): the chain's members in order
     * (config names, endpoints: their breakers), *out borrowed and fixed for
     * the reranker's life; returns how many. */
    size_t (*members)(const rag_reranker *r, const rag_chain_member **out);
};

struct rag_reranker {
    const struct rag_reranker_ops *ops;
};

static inline const char *rag_reranker_model_id(const rag_reranker *r)
{
    return r->ops->model_id(r);
}
static inline int rag_reranker_score(rag_reranker *r, const char *query,
                                     const char *const *passages, size_t n_passages,
                                     float *out, rag_err *err)
{
    return r->ops->score(r, query, passages, n_passages, out, err);
}
/* NULL is a no-op. */
static inline void rag_reranker_destroy(rag_reranker *r)
{
    if (r)
        r->ops->destroy(r);
}
/* The members of a chain (0, *out NULL, for anything else). Any thread. */
static inline size_t rag_reranker_members(const rag_reranker *r, const rag_chain_member **out)
{
    *out = NULL;
    return r->ops->members ? r->ops->members(r, out) : 0;
}
static inline const char *rag_reranker_served_by(const rag_reranker *r)
{
    const char *s = r->ops->served_by ? r->ops->served_by(r) : NULL;
    return s ? s : r->ops->name;
}
static inline const rag_call_info *rag_reranker_last_call(const rag_reranker *r)
{
    return r->ops->last_call ? r->ops->last_call(r) : NULL;
}

/* Local back-end: load a BertForSequenceClassification folder with 1 or 2
 * labels. opts may be NULL. Caller owns *out; free with
 * rag_reranker_destroy. */
int rag_reranker_local_create(rag_reranker **out, const char *model_dir,
                              const rag_model_opts *opts, rag_err *err);

/* Remote reranker of type b->type ("tei" or "openai", see above). Results
 * are mapped back to input order by their `index` (servers sort by score),
 * never by position; every index must come back exactly once (else
 * RAG_EFORMAT). More passages than the server's cap (TEI: /info
 * max_client_batch_size; others opts->max_batch or 1000) go out in several
 * requests; a 413/422 halves the batch and resends. usage (may be NULL)
 * gets one event per call. Caller owns *out. One call at a time. */
int rag_reranker_remote_create(rag_reranker **out, const rag_backend_cfg *b,
                               rag_usage *usage, const rag_remote_opts *opts,
                               rag_err *err);

/* "none": scores n_passages - i for passage i, so sorting by score keeps
 * the fusion order. model id "none". Caller owns *out. */
int rag_reranker_none_create(rag_reranker **out, rag_err *err);

/* Registry: the back-end named backend_name in cfg (types tei, openai,
 * local, none; the built-in name "none" is the none reranker). A disabled
 * back-end fails with RAG_EINVAL and its reason. Caller owns *out. */
int rag_reranker_from_config(rag_reranker **out, const rag_config *cfg,
                             const char *backend_name, rag_usage *usage,
                             rag_err *err);
int rag_reranker_from_config_ex(rag_reranker **out, const rag_config *cfg,
                                const char *backend_name, rag_usage *usage,
                                const rag_remote_opts *opts, rag_err *err);

/* Fallback chain over cfg->chain_rerank, walked by rag_chain_walk
 * (obs/chain.h: the rules shared with the embed and LLM chains). Per call,
 * members are tried in order: a disabled one (placeholder token; also
 * logged once at build), one whose monthly budget is spent, or one whose
 * circuit breaker is open is skipped without a request; one that fails
 * (any error) or gives a non-finite score falls through to the next.
 * "none" (always succeeds, keeps the order; built in: never skipped, not
 * recorded in usage) ends the list. Models may differ (scores are only
 * compared within one call). Every attempt and every budget or breaker
 * skip is recorded in usage (stage "rerank"). served_by names the member
 * that served the last call. When every member fails: RAG_EBACKEND
 * "chains.rerank: no back-end answered (a: ...)". An empty chain, or one
 * whose members are all disabled, is the none reranker. Caller owns *out. */
int rag_reranker_chain_create(rag_reranker **out, const rag_config *cfg,
                              rag_usage *usage, const rag_remote_opts *opts,
                              rag_err *err);

/* A reranker any number of threads may call at once (calls to inner are
 * serialised; served_by and last_call report the calling thread's own last
 * call). inner is TAKEN; NULL gives NULL. RAG_ENOMEM. (rerank_locked.c) */
int rag_reranker_locked_create(rag_reranker **out, rag_reranker *inner, rag_err *err);

#endif
