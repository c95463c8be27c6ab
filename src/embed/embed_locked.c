/* embed_locked.c - an embedder that many threads may call: a mutex around
 * one inner embedder (rag_embedder_locked_create, embed.h).
 *
 * A local model already uses every core for one forward pass, and a remote
 * back-end's client object holds one call's state, so calls are serialised
 * rather than duplicated (one copy of the weights per process). What the
 * inner embedder says about its last call (served_by, last_call) belongs
 * to the caller whose call it was: it is copied, still under the lock, into
 * thread-local slots that this thread's next served_by / last_call read.
 */
#include "embed.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct locked_embedder {
    rag_embedder base;
    rag_embedder *inner;    /* owned */
    pthread_mutex_t mu;
};

static _Thread_local char tl_served_by[64];
static _Thread_local rag_call_info tl_call;
static _Thread_local int tl_have_call;

static size_t locked_dim(const rag_embedder *e)
{
    struct locked_embedder *l = (struct locked_embedder *)e;
    size_t d;
    /* dim() may probe a remote server once: same rule as embed */
    pthread_mutex_lock(&l->mu);
    d = rag_embedder_dim(l->inner);
    if (!d) { /* a failed probe: why is in the inner's last call */
        const rag_call_info *ci = rag_embedder_last_call(l->inner);
        tl_have_call = ci != NULL;
        if (ci)
            tl_call = *ci;
    }
    pthread_mutex_unlock(&l->mu);
    return d;
}

static const char *locked_model_id(const rag_embedder *e)
{
    struct locked_embedder *l = (struct locked_embedder *)e;
    const char *id;
    pthread_mutex_lock(&l->mu);
    id = rag_embedder_model_id(l->inner);
    pthread_mutex_unlock(&l->mu);
    return id;
}

static int locked_embed(rag_embedder *e, const char *const *texts, size_t n_texts,
                        float *out, rag_err *err)
{
    struct locked_embedder *l = (struct locked_embedder *)e;
    const rag_call_info *ci;
    int rc;

    pthread_mutex_lock(&l->mu);
    rc = rag_embedder_embed(l->inner, texts, n_texts, out, err);
    snprintf(tl_served_by, sizeof tl_served_by, "%s", rag_embedder_served_by(l->inner));
    ci = rag_embedder_last_call(l->inner);
    tl_have_call = ci != NULL;
    if (ci)
        tl_call = *ci;   /* error_class points at a static class name */
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static const rag_call_info *locked_last_call(const rag_embedder *e)
{
    (void)e;
    return tl_have_call ? &tl_call : NULL;
}

static const char *locked_served_by(const rag_embedder *e)
{
    struct locked_embedder *l = (struct locked_embedder *)e;
    return tl_served_by[0] ? tl_served_by : l->inner->ops->name;
}

static int locked_set_dim(rag_embedder *e, size_t dim)
{
    struct locked_embedder *l = (struct locked_embedder *)e;
    int rc = RAG_OK;
    pthread_mutex_lock(&l->mu);
    if (l->inner->ops->set_dim)
        rc = l->inner->ops->set_dim(l->inner, dim);
    else if (rag_embedder_dim(l->inner) != dim)
        rc = RAG_EINVAL;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static void locked_destroy(rag_embedder *e)
{
    struct locked_embedder *l = (struct locked_embedder *)e;
    rag_embedder_destroy(l->inner);
    pthread_mutex_destroy(&l->mu);
    rag_free(l);
}

/* fixed after creation: read without the lock */
static size_t locked_members(const rag_embedder *base, const rag_chain_member **out)
{
    const struct locked_embedder *l = (const struct locked_embedder *)base;
    return rag_embedder_members(l->inner, out);
}

static const struct rag_embedder_ops locked_ops = {
    .name = "locked",
    .dim = locked_dim,
    .model_id = locked_model_id,
    .embed = locked_embed,
    .destroy = locked_destroy,
    .last_call = locked_last_call,
    .served_by = locked_served_by,
    .members = locked_members,
    .set_dim = locked_set_dim,
};

int rag_embedder_locked_create(rag_embedder **out, rag_embedder *inner, rag_err *err)
{
    struct locked_embedder *l;

    *out = NULL;
    if (!inner)
        return RAG_OK;
    l = rag_calloc(1, sizeof *l);
    if (!l) {
        rag_embedder_destroy(inner);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    l->base.ops = &locked_ops;
    l->inner = inner;
    pthread_mutex_init(&l->mu, NULL);
    *out = &l->base;
    return RAG_OK;
}
