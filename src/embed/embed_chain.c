/* embed_chain.c - an embedder that tries the back-ends of chains.embed in
 * order (embed.h: rag_embedder_chain_create).
 *
 * The walk itself, with its skip rules, usage events and error text, is
 * rag_chain_walk (obs/chain.h), shared with the rerank and LLM chains. What
 * is particular to embeddings is the vector space: every member serves the
 * same model (the chain refuses to build otherwise), and the chain has one
 * dimension, the caller's when it declares one, else the first available
 * member's. The check after each call makes a member whose vectors have
 * another dimension, or a non-finite value, fail like any other error, so
 * the next member is tried and the caller never sees such a vector.
 */
#include "embed/embed.h"
#include "obs/chain.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct chain_embedder {
    rag_embedder base;                 /* first: casts to and from rag_embedder */
    size_t n;
    rag_chain_member mem[RAG_MAX_CHAIN];  /* name = names[i], ep borrowed from m[i] */
    rag_embedder *m[RAG_MAX_CHAIN];    /* owned; NULL for a disabled member */
    char *names[RAG_MAX_CHAIN];        /* owned: config names */
    rag_usage *usage;                  /* borrowed, may be NULL */
    char id[256];
    size_t dim;                        /* 0 until declared or learned */
    const char *served;                /* names[i] or NULL */
    rag_call_info last;
};

/* One embed call, for the walker's callbacks. */
typedef struct {
    struct chain_embedder *c;
    const char *const *texts;
    size_t n_texts;
    float *out;
} embed_walk;

static void declare_dim(struct chain_embedder *c, size_t dim)
{
    c->dim = dim;
    for (size_t j = 0; j < c->n; j++)
        if (c->m[j] && c->m[j]->ops->set_dim)
            c->m[j]->ops->set_dim(c->m[j], dim);
}

static size_t chain_dim(const rag_embedder *base)
{
    struct chain_embedder *c = (struct chain_embedder *)base; /* lazy */
    for (size_t i = 0; !c->dim && i < c->n; i++) {
        size_t d;
        /* the walk's skip rules: no probe to a member a call would skip */
        if (rag_chain_skip_reason(c->usage, &c->mem[i], NULL))
            continue;
        d = rag_embedder_dim(c->m[i]);
        if (d) /* same model, same size: the others need no probe of their own */
            declare_dim(c, d);
    }
    if (!c->dim) {
        /* say why, member by member (dim() itself can only return 0) */
        size_t o = 0;
        c->last.message[0] = '\0';
        for (size_t i = 0; i < c->n && o < sizeof c->last.message - 1; i++) {
            const char *why = rag_chain_skip_reason(c->usage, &c->mem[i], NULL);
            const rag_call_info *li = why || !c->m[i] ? NULL : rag_embedder_last_call(c->m[i]);
            int w;
            if (!why && !c->m[i])
                why = "disabled";
            if (!why)
                why = li && li->message[0] ? li->message : "no answer";
            /* a remote member's message already starts with its name */
            if (!strncmp(why, c->names[i], strlen(c->names[i])) &&
                why[strlen(c->names[i])] == ':')
                w = snprintf(c->last.message + o, sizeof c->last.message - o, "%s%s",
                             o ? "; " : "", why);
            else
                w = snprintf(c->last.message + o, sizeof c->last.message - o, "%s%s: %s",
                             o ? "; " : "", c->names[i], why);
            if (w > 0)
                o += (size_t)w;
        }
    }
    return c->dim;
}

static int chain_set_dim(rag_embedder *base, size_t dim)
{
    if (!dim)
        return RAG_EINVAL;
    declare_dim((struct chain_embedder *)base, dim);
    return RAG_OK;
}

static const char *chain_model_id(const rag_embedder *base)
{
    const struct chain_embedder *c = (const struct chain_embedder *)base;
    if (c->id[0])
        return c->id;
    for (size_t i = 0; i < c->n; i++)
        if (c->m[i])
            return rag_embedder_model_id(c->m[i]);
    return "";
}

static int member_call(void *ctx, size_t i, rag_chain_outcome *oc, rag_err *err)
{
    embed_walk *w = ctx;
    struct chain_embedder *c = w->c;
    const rag_call_info *info;
    size_t d = c->dim ? rag_embedder_dim(c->m[i]) : 0;
    int rc;

    if (!c->dim) {
        /* chain_dim just asked every member: no second probe per member */
        info = rag_embedder_last_call(c->m[i]);
        oc->error_class = info && info->error_class ? info->error_class : "connect";
        if (info && info->message[0])
            return rag_fail(err, RAG_EBACKEND, "cannot tell its dimension: %s", info->message);
        return rag_fail(err, RAG_EBACKEND, "unreachable: cannot tell its dimension (%s)",
                        oc->error_class);
    }
    if (d != c->dim) {
        oc->error_class = rag_net_class_name(RAG_NET_MALFORMED);
        return rag_fail(err, RAG_EFORMAT, "gives %zu-dimensional vectors, the chain %zu", d,
                        c->dim);
    }
    rc = rag_embedder_embed(c->m[i], w->texts, w->n_texts, w->out, err);
    rag_chain_outcome_from_call(oc, rag_embedder_last_call(c->m[i]), rc);
    return rc;
}

/* A vector the caller can use: the chain's dimension, every value finite. */
static int member_check(void *ctx, size_t i, rag_err *err)
{
    embed_walk *w = ctx;
    struct chain_embedder *c = w->c;
    size_t d = rag_embedder_dim(c->m[i]);

    if (d != c->dim)
        return rag_fail(err, RAG_EFORMAT, "answered %zu-dimensional vectors, the chain %zu",
                        d, c->dim);
    for (size_t t = 0; t < w->n_texts; t++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(w->out[t * d + j]))
                return rag_fail(err, RAG_EFORMAT, "vector %zu has a non-finite value", t);
    return RAG_OK;
}

static int chain_embed(rag_embedder *base, const char *const *texts, size_t n_texts,
                       float *out, rag_err *err)
{
    struct chain_embedder *c = (struct chain_embedder *)base;
    embed_walk w = {c, texts, n_texts, out};
    rag_chain_walk_opts o = {.stage = "embed", .usage = c->usage, .call = member_call,
                             .check = member_check, .ctx = &w,
                             .log_fall_through = 1};
    rag_chain_result res;
    int rc;

    c->served = NULL;
    memset(&c->last, 0, sizeof c->last);
    chain_dim(base);
    rc = rag_chain_walk(&res, c->mem, c->n, &o, err);
    if (rc == RAG_OK) {
        const rag_call_info *info = rag_embedder_last_call(c->m[res.served]);
        if (info)
            c->last = *info;
        c->served = c->names[res.served];
    }
    rag_chain_result_fini(&res);
    return rc;
}

static void chain_destroy(rag_embedder *base)
{
    struct chain_embedder *c = (struct chain_embedder *)base;
    for (size_t i = 0; i < c->n; i++) {
        rag_embedder_destroy(c->m[i]);
        rag_free(c->names[i]);
    }
    rag_free(c);
}

static const rag_call_info *chain_last_call(const rag_embedder *base)
{
    return &((const struct chain_embedder *)base)->last;
}

static const char *chain_served_by(const rag_embedder *base)
{
    return ((const struct chain_embedder *)base)->served;
}

static size_t chain_members(const rag_embedder *base, const rag_chain_member **out)
{
    const struct chain_embedder *c = (const struct chain_embedder *)base;
    *out = c->mem;
    return c->n;
}

static const struct rag_embedder_ops chain_ops = {
    .name = "chain",
    .dim = chain_dim,
    .model_id = chain_model_id,
    .embed = chain_embed,
    .destroy = chain_destroy,
    .last_call = chain_last_call,
    .served_by = chain_served_by,
    .members = chain_members,
    .set_dim = chain_set_dim,
};

/* The model id a member is configured for (before any request). */
static const char *member_model(const rag_backend_cfg *b, rag_embedder *e)
{
    if (b->type && !strcmp(b->type, "local"))
        return rag_embedder_model_id(e);
    return b->model && b->model[0] ? b->model : NULL;
}

/* Entry i of the chain: the member (NULL when disabled) and its name. */
static int add_member(struct chain_embedder *c, const char *name, rag_embedder *m,
                      rag_err *err)
{
    char *copy = rag_strdup(name);
    if (!copy) {
        rag_embedder_destroy(m);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    c->m[c->n] = m;
    c->names[c->n] = copy;
    c->mem[c->n] = (rag_chain_member){.name = copy, .enabled = m != NULL,
                                      .ep = m && m->ops->endpoint ? m->ops->endpoint(m)
                                                                  : NULL};
    c->n++;
    return RAG_OK;
}

int rag_embedder_chain_create(rag_embedder **out, const rag_config *cfg, rag_usage *usage,
                              const rag_remote_opts *opts, rag_err *err)
{
    struct chain_embedder *c;
    const char *first_model = NULL, *first_name = NULL;
    int rc = RAG_OK, n_listed = 0, n_usable = 0;
    rag_err berr = {0};

    *out = NULL;
    c = rag_calloc(1, sizeof *c);
    if (!c)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    c->base.ops = &chain_ops;
    c->usage = usage;
    for (size_t i = 0; cfg && i < cfg->n_chain_embed && c->n < RAG_MAX_CHAIN; i++) {
        const char *name = cfg->chain_embed[i];
        const rag_backend_cfg *b;
        rag_embedder *m = NULL;
        if (!strcmp(name, "none"))
            break;
        n_listed++;
        b = rag_config_backend(cfg, name);
        if (b && b->type && !strcmp(b->type, "none"))
            break;
        rc = rag_embedder_from_config_ex(&m, cfg, name, NULL, opts, &berr);
        if (rc < 0 && !(rc == RAG_EINVAL && b && !b->enabled)) {
            rag_err_prefix(&berr, "chains.embed");
            goto fail;
        }
        if (rc < 0) /* kept, so that each call says it was skipped */
            rag_log(RAG_LOG_INFO, "chains.embed: %s; skipped", berr.msg);
        n_usable += rc == RAG_OK;
        if ((rc = add_member(c, name, m, &berr)) < 0)
            goto fail;
    }
    if (!n_usable) {
        chain_destroy(&c->base);
        if (n_listed)
            return rag_fail(err, RAG_EINVAL, "chains.embed: no usable back-end (%s)",
                            berr.msg[0] ? berr.msg : "all disabled");
        return RAG_OK;
    }
    for (size_t i = 0; i < c->n; i++) {
        const rag_backend_cfg *b = rag_config_backend(cfg, c->names[i]);
        const char *model;
        if (!c->m[i])
            continue; /* disabled: never serves, cannot mix */
        model = member_model(b, c->m[i]);
        if (!model && n_usable > 1) {
            rc = rag_fail(&berr, RAG_EINVAL, "chains.embed: set backends.%s.model: a fallback "
                          "chain must know every member's model", c->names[i]);
            goto fail;
        }
        if (!first_model) {
            first_model = model;
            first_name = c->names[i];
        } else if (!rag_embed_model_ids_match(first_model, model)) {
            rc = rag_fail(&berr, RAG_EINVAL, "chains.embed mixes models: '%s' serves %s but "
                          "'%s' serves %s; vectors of different models must not mix",
                          first_name, first_model, c->names[i], model);
            goto fail;
        }
    }
    /* empty: a single TEI member without a model reports the server's id */
    snprintf(c->id, sizeof c->id, "%s", first_model ? first_model : "");
    *out = &c->base;
    return RAG_OK;
fail:
    chain_destroy(&c->base);
    if (err)
        *err = berr;
    return rc;
}
