/* rerank_chain.c - the "none" reranker, the config registry for rerankers
 * and the fallback chain over chains.rerank (rerank.h).
 *
 * One call is always served by exactly one member, so scores from
 * different models never meet in one ranking. The walk (skip rules, usage,
 * error text) is rag_chain_walk (obs/chain.h); what is particular here is
 * the check that every score is finite, and "none" as a built-in member.
 */
#include "rerank/rerank.h"
#include "model/model_config.h"
#include "obs/chain.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- none ------------------------------------------------------------- */

static const char *none_model_id(const rag_reranker *r)
{
    (void)r;
    return "none";
}

static int none_score(rag_reranker *r, const char *query, const char *const *passages,
                      size_t n_passages, float *out, rag_err *err)
{
    (void)r;
    (void)query;
    (void)passages;
    (void)err;
    for (size_t i = 0; i < n_passages; i++)
        out[i] = (float)(n_passages - i);
    return RAG_OK;
}

static void none_destroy(rag_reranker *r)
{
    rag_free(r);
}

static const struct rag_reranker_ops none_ops = {
    .name = "none",
    .model_id = none_model_id,
    .score = none_score,
    .destroy = none_destroy,
};

int rag_reranker_none_create(rag_reranker **out, rag_err *err)
{
    rag_reranker *r = rag_calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    r->ops = &none_ops;
    *out = r;
    return RAG_OK;
}

/* ---- registry --------------------------------------------------------- */

typedef int (*create_fn)(rag_reranker **out, const rag_backend_cfg *b, rag_usage *usage,
                         const rag_remote_opts *opts, rag_err *err);

static int local_from_cfg(rag_reranker **out, const rag_backend_cfg *b, rag_usage *usage,
                          const rag_remote_opts *opts, rag_err *err)
{
    rag_model_opts mo;
    int rc = rag_model_opts_from_backend(&mo, b, err);
    (void)usage;
    (void)opts;
    if (rc < 0)
        return rc;
    return rag_reranker_local_create(out, b->model, &mo, err);
}

static int none_from_cfg(rag_reranker **out, const rag_backend_cfg *b, rag_usage *usage,
                         const rag_remote_opts *opts, rag_err *err)
{
    (void)b;
    (void)usage;
    (void)opts;
    return rag_reranker_none_create(out, err);
}

static const struct {
    const char *type;
    create_fn create;
} registry[] = {
    {"tei", rag_reranker_remote_create},
    {"openai", rag_reranker_remote_create},
    {"local", local_from_cfg},
    {"none", none_from_cfg},
};

int rag_reranker_from_config_ex(rag_reranker **out, const rag_config *cfg,
                                const char *backend_name, rag_usage *usage,
                                const rag_remote_opts *opts, rag_err *err)
{
    const rag_backend_cfg *b;

    *out = NULL;
    if (!backend_name || !strcmp(backend_name, "none"))
        return rag_reranker_none_create(out, err);
    b = cfg ? rag_config_backend(cfg, backend_name) : NULL;
    if (!b)
        return rag_fail(err, RAG_ENOTFOUND, "back-end '%s' is not declared under backends",
                        backend_name);
    if (!b->enabled)
        return rag_fail(err, RAG_EINVAL, "back-end '%s' disabled: api_key is empty or a "
                        "placeholder", backend_name);
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (b->type && !strcmp(registry[i].type, b->type))
            return registry[i].create(out, b, usage, opts, err);
    return rag_fail(err, RAG_EINVAL, "back-end '%s': type %s cannot rerank", backend_name,
                    b->type ? b->type : "(none)");
}

int rag_reranker_from_config(rag_reranker **out, const rag_config *cfg,
                             const char *backend_name, rag_usage *usage, rag_err *err)
{
    return rag_reranker_from_config_ex(out, cfg, backend_name, usage, NULL, err);
}

/* ---- chain ------------------------------------------------------------ */

struct chain_reranker {
    rag_reranker base;                 /* first */
    size_t n;
    rag_chain_member mem[RAG_MAX_CHAIN];  /* name = names[i], ep borrowed from m[i] */
    rag_reranker *m[RAG_MAX_CHAIN];    /* owned; NULL for a disabled member */
    char *names[RAG_MAX_CHAIN];        /* owned */
    rag_usage *usage;                  /* borrowed */
    const char *served;
    rag_call_info last;
};

/* One score call, for the walker's callbacks. */
typedef struct {
    struct chain_reranker *c;
    const char *query;
    const char *const *passages;
    size_t n_passages;
    float *out;
} rerank_walk;

static const char *chain_model_id(const rag_reranker *base)
{
    const struct chain_reranker *c = (const struct chain_reranker *)base;
    for (size_t i = 0; i < c->n; i++)
        if (c->m[i])
            return rag_reranker_model_id(c->m[i]);
    return "none";
}

static int member_call(void *ctx, size_t i, rag_chain_outcome *oc, rag_err *err)
{
    rerank_walk *w = ctx;
    rag_reranker *m = w->c->m[i];
    int rc = rag_reranker_score(m, w->query, w->passages, w->n_passages, w->out, err);

    rag_chain_outcome_from_call(oc, rag_reranker_last_call(m), rc);
    return rc;
}

static int member_check(void *ctx, size_t i, rag_err *err)
{
    rerank_walk *w = ctx;
    (void)i;
    for (size_t k = 0; k < w->n_passages; k++)
        if (!isfinite(w->out[k]))
            return rag_fail(err, RAG_EFORMAT, "score %zu is not finite", k);
    return RAG_OK;
}

static int chain_score(rag_reranker *base, const char *query, const char *const *passages,
                       size_t n_passages, float *out, rag_err *err)
{
    struct chain_reranker *c = (struct chain_reranker *)base;
    rerank_walk w = {c, query, passages, n_passages, out};
    rag_chain_walk_opts o = {.stage = "rerank", .usage = c->usage, .call = member_call,
                             .check = member_check, .ctx = &w,
                             .log_fall_through = 1};
    rag_chain_result res;
    int rc;

    c->served = NULL;
    memset(&c->last, 0, sizeof c->last);
    rc = rag_chain_walk(&res, c->mem, c->n, &o, err);
    if (rc == RAG_OK) {
        const rag_call_info *info = rag_reranker_last_call(c->m[res.served]);
        if (info)
            c->last = *info;
        c->served = c->names[res.served];
    }
    rag_chain_result_fini(&res);
    return rc;
}

static void chain_destroy(rag_reranker *base)
{
    struct chain_reranker *c = (struct chain_reranker *)base;
    for (size_t i = 0; i < c->n; i++) {
        rag_reranker_destroy(c->m[i]);
        rag_free(c->names[i]);
    }
    rag_free(c);
}

static const rag_call_info *chain_last_call(const rag_reranker *base)
{
    return &((const struct chain_reranker *)base)->last;
}

static const char *chain_served_by(const rag_reranker *base)
{
    return ((const struct chain_reranker *)base)->served;
}

static size_t chain_members(const rag_reranker *base, const rag_chain_member **out)
{
    const struct chain_reranker *c = (const struct chain_reranker *)base;
    *out = c->mem;
    return c->n;
}

static const struct rag_reranker_ops chain_ops = {
    .name = "chain",
    .model_id = chain_model_id,
    .score = chain_score,
    .destroy = chain_destroy,
    .last_call = chain_last_call,
    .served_by = chain_served_by,
    .members = chain_members,
};

/* Entry i of the chain: the member (NULL when disabled) and its name. */
static int add_member(struct chain_reranker *c, const char *name, rag_reranker *m,
                      rag_err *err)
{
    char *copy = rag_strdup(name);
    if (!copy) {
        rag_reranker_destroy(m);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    c->m[c->n] = m;
    c->names[c->n] = copy;
    c->mem[c->n] = (rag_chain_member){
        .name = copy, .enabled = m != NULL,
        .builtin = m && !strcmp(m->ops->name, "none"),
        .ep = m && m->ops->endpoint ? m->ops->endpoint(m) : NULL};
    c->n++;
    return RAG_OK;
}

int rag_reranker_chain_create(rag_reranker **out, const rag_config *cfg, rag_usage *usage,
                              const rag_remote_opts *opts, rag_err *err)
{
    struct chain_reranker *c;
    rag_err berr = {0};
    int rc = RAG_OK, n_usable = 0;

    *out = NULL;
    c = rag_calloc(1, sizeof *c);
    if (!c)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    c->base.ops = &chain_ops;
    c->usage = usage;
    for (size_t i = 0; cfg && i < cfg->n_chain_rerank && c->n < RAG_MAX_CHAIN; i++) {
        const char *name = cfg->chain_rerank[i];
        const rag_backend_cfg *b = rag_config_backend(cfg, name);
        rag_reranker *m = NULL;
        rc = rag_reranker_from_config_ex(&m, cfg, name, NULL, opts, &berr);
        if (rc < 0 && !(rc == RAG_EINVAL && b && !b->enabled)) {
            rag_err_prefix(&berr, "chains.rerank");
            goto fail;
        }
        if (rc < 0) /* kept, so that each call says it was skipped */
            rag_log(RAG_LOG_INFO, "chains.rerank: %s; skipped", berr.msg);
        n_usable += rc == RAG_OK;
        if ((rc = add_member(c, name, m, &berr)) < 0)
            goto fail;
        if (c->mem[c->n - 1].builtin)
            break; /* never fails: later members are unreachable */
    }
    if (!n_usable) {
        /* nothing usable (empty, or all disabled): keep the fusion order */
        for (size_t i = 0; i < c->n; i++) {
            rag_reranker_destroy(c->m[i]);
            rag_free(c->names[i]);
        }
        c->n = 0;
        rc = rag_reranker_none_create(&c->m[0], &berr);
        if (rc < 0)
            goto fail;
        if ((rc = add_member(c, "none", c->m[0], &berr)) < 0) {
            c->m[0] = NULL; /* add_member destroyed it */
            goto fail;
        }
    }
    *out = &c->base;
    return RAG_OK;
fail:
    chain_destroy(&c->base);
    if (err)
        *err = berr;
    return rc;
}
