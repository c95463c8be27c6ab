/* rerank_locked.c - a reranker many threads may call: a mutex around one
 * inner reranker (rag_reranker_locked_create, rerank.h). Same design as
 * embed_locked.c: one model copy, one pass at a time, the last call's
 * facts kept per thread. */
#include "rerank.h"

#include <pthread.h>
#include <stdio.h>

struct locked_reranker {
    rag_reranker base;
    rag_reranker *inner;    /* owned */
    pthread_mutex_t mu;
};

static _Thread_local char tl_served_by[64];
static _Thread_local rag_call_info tl_call;
static _Thread_local int tl_have_call;

static const char *locked_model_id(const rag_reranker *r)
{
    struct locked_reranker *l = (struct locked_reranker *)r;
    const char *id;
    pthread_mutex_lock(&l->mu);
    id = rag_reranker_model_id(l->inner);
    pthread_mutex_unlock(&l->mu);
    return id;
}

static int locked_score(rag_reranker *r, const char *query, const char *const *passages,
                        size_t n_passages, float *out, rag_err *err)
{
    struct locked_reranker *l = (struct locked_reranker *)r;
    const rag_call_info *ci;
    int rc;

    pthread_mutex_lock(&l->mu);
    rc = rag_reranker_score(l->inner, query, passages, n_passages, out, err);
    snprintf(tl_served_by, sizeof tl_served_by, "%s", rag_reranker_served_by(l->inner));
    ci = rag_reranker_last_call(l->inner);
    tl_have_call = ci != NULL;
    if (ci)
        tl_call = *ci;   /* error_class points at a static class name */
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static const rag_call_info *locked_last_call(const rag_reranker *r)
{
    (void)r;
    return tl_have_call ? &tl_call : NULL;
}

static const char *locked_served_by(const rag_reranker *r)
{
    struct locked_reranker *l = (struct locked_reranker *)r;
    return tl_served_by[0] ? tl_served_by : l->inner->ops->name;
}

static void locked_destroy(rag_reranker *r)
{
    struct locked_reranker *l = (struct locked_reranker *)r;
    rag_reranker_destroy(l->inner);
    pthread_mutex_destroy(&l->mu);
    rag_free(l);
}

/* fixed after creation: read without the lock */
static size_t locked_members(const rag_reranker *base, const rag_chain_member **out)
{
    const struct locked_reranker *l = (const struct locked_reranker *)base;
    return rag_reranker_members(l->inner, out);
}

static const struct rag_reranker_ops locked_ops = {
    .name = "locked",
    .model_id = locked_model_id,
    .score = locked_score,
    .destroy = locked_destroy,
    .last_call = locked_last_call,
    .served_by = locked_served_by,
    .members = locked_members,
};

int rag_reranker_locked_create(rag_reranker **out, rag_reranker *inner, rag_err *err)
{
    struct locked_reranker *l;

    *out = NULL;
    if (!inner)
        return RAG_OK;
    l = rag_calloc(1, sizeof *l);
    if (!l) {
        rag_reranker_destroy(inner);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    l->base.ops = &locked_ops;
    l->inner = inner;
    pthread_mutex_init(&l->mu, NULL);
    *out = &l->base;
    return RAG_OK;
}
