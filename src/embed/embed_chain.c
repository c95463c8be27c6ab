/* embed_chain.c - an embedder that tries the back-ends of chains.embed in
 * order (embed.h: rag_embedder_chain_create).
 *
 * Every member serves the same model, so vectors from any of them live in
 * one space; the chain refuses to build otherwise. A call goes to the first
 * member whose budget allows it; a failure (including a fast failure from
 * an open breaker, which sends nothing) is recorded and the next member is
 * tried. Each attempt becomes one rag_usage event.
 */
#include "embed/embed.h"

#include <stdio.h>
#include <string.h>

struct chain_embedder {
    rag_embedder base;                 /* first: casts to and from rag_embedder */
    size_t n;
    rag_embedder *m[RAG_MAX_CHAIN];    /* owned */
    char *names[RAG_MAX_CHAIN];        /* owned: config names */
    rag_usage *usage;                  /* borrowed, may be NULL */
    char id[256];
    size_t dim;
    const char *served;                /* names[i] or NULL */
    rag_call_info last;
};

static size_t chain_dim(const rag_embedder *base)
{
    struct chain_embedder *c = (struct chain_embedder *)base; /* lazy */
    for (size_t i = 0; !c->dim && i < c->n; i++) {
        if (c->usage && !rag_usage_allowed(c->usage, c->names[i]))
            continue;
        c->dim = rag_embedder_dim(c->m[i]);
        /* same model, same size: the others need no probe of their own */
        for (size_t j = 0; c->dim && j < c->n; j++)
            if (j != i && c->m[j]->ops->set_dim)
                c->m[j]->ops->set_dim(c->m[j], c->dim);
    }
    return c->dim;
}

static const char *chain_model_id(const rag_embedder *base)
{
    const struct chain_embedder *c = (const struct chain_embedder *)base;
    return c->id[0] ? c->id : rag_embedder_model_id(c->m[0]);
}

static void record(struct chain_embedder *c, size_t i, int ok, const char *cls,
                   double latency_ms, int fell_back)
{
    const rag_call_info *info = rag_embedder_last_call(c->m[i]);
    rag_usage_event ev = {.backend = c->names[i], .stage = "embed", .ok = ok,
                          .error_class = ok ? NULL : cls, .fell_back = fell_back,
                          .latency_ms = latency_ms};
    if (info) {
        ev.retries = info->retries;
        ev.tokens_in = info->tokens_in;
        ev.tokens_out = info->tokens_out;
        if (!ok && info->error_class)
            ev.error_class = info->error_class;
    }
    if (c->usage)
        rag_usage_record(c->usage, &ev);
}

static int chain_embed(rag_embedder *base, const char *const *texts, size_t n_texts,
                       float *out, rag_err *err)
{
    struct chain_embedder *c = (struct chain_embedder *)base;
    int rc = RAG_EBACKEND, tried = 0;
    rag_err e1 = {0};

    c->served = NULL;
    memset(&c->last, 0, sizeof c->last);
    if (!chain_dim(base)) {
        /* nobody could tell the dimension: try each for a real error */
        snprintf(e1.msg, sizeof e1.msg, "no back-end reachable");
    }
    for (size_t i = 0; i < c->n; i++) {
        double t0;
        size_t d;
        if (c->usage && !rag_usage_allowed(c->usage, c->names[i])) {
            rag_log(RAG_LOG_DEBUG, "chains.embed: '%s' skipped: monthly budget spent",
                    c->names[i]);
            snprintf(e1.msg, sizeof e1.msg, "back-end '%s': monthly budget spent", c->names[i]);
            continue;
        }
        tried++;
        t0 = rag_now_ms();
        d = rag_embedder_dim(c->m[i]);
        if (!d || (c->dim && d != c->dim)) {
            const rag_call_info *info = rag_embedder_last_call(c->m[i]);
            if (d)
                snprintf(e1.msg, sizeof e1.msg, "back-end '%s' returns %zu dimensions, the "
                         "chain %zu", c->names[i], d, c->dim);
            else
                snprintf(e1.msg, sizeof e1.msg, "back-end '%s' unreachable (%s)", c->names[i],
                         info && info->error_class ? info->error_class : "no answer");
            record(c, i, 0, d ? "format" : "connect", rag_now_ms() - t0, i + 1 < c->n);
            continue;
        }
        if (!c->dim)
            c->dim = d;
        rc = rag_embedder_embed(c->m[i], texts, n_texts, out, &e1);
        if (rc == RAG_OK) {
            const rag_call_info *info = rag_embedder_last_call(c->m[i]);
            record(c, i, 1, NULL, rag_now_ms() - t0, 0);
            if (info)
                c->last = *info;
            c->served = c->names[i];
            return RAG_OK;
        }
        record(c, i, 0, rag_status_name(rc), rag_now_ms() - t0, i + 1 < c->n);
        if (i + 1 < c->n)
            rag_log(RAG_LOG_INFO, "chains.embed: '%s' failed (%s); trying '%s'", c->names[i],
                    e1.msg, c->names[i + 1]);
    }
    (void)tried;
    return rag_fail(err, rc < 0 && rc != RAG_OK ? rc : RAG_EBACKEND,
                    "chains.embed: every back-end failed; last: %s", e1.msg);
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

static const struct rag_embedder_ops chain_ops = {
    .name = "chain",
    .dim = chain_dim,
    .model_id = chain_model_id,
    .embed = chain_embed,
    .destroy = chain_destroy,
    .last_call = chain_last_call,
    .served_by = chain_served_by,
};

/* The model id a member is configured for (before any request). */
static const char *member_model(const rag_backend_cfg *b, rag_embedder *e)
{
    if (b->type && !strcmp(b->type, "local"))
        return rag_embedder_model_id(e);
    return b->model && b->model[0] ? b->model : NULL;
}

int rag_embedder_chain_create(rag_embedder **out, const rag_config *cfg, rag_usage *usage,
                              const rag_remote_opts *opts, rag_err *err)
{
    struct chain_embedder *c;
    const char *first_model = NULL, *first_name = NULL;
    int rc = RAG_OK, n_listed = 0;
    rag_err berr = {0};

    *out = NULL;
    c = rag_calloc(1, sizeof *c);
    if (!c)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    c->base.ops = &chain_ops;
    c->usage = usage;
    for (size_t i = 0; cfg && i < cfg->n_chain_embed; i++) {
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
        if (rc < 0) {
            if (rc == RAG_EINVAL && b && !b->enabled) {
                rag_log(RAG_LOG_INFO, "chains.embed: %s; skipped", berr.msg);
                rc = RAG_OK;
                continue;
            }
            rag_err_prefix(&berr, "chains.embed");
            goto fail;
        }
        c->m[c->n] = m;
        c->names[c->n] = rag_strdup(name);
        if (!c->names[c->n]) {
            rag_embedder_destroy(m);
            rc = rag_fail(&berr, RAG_ENOMEM, "out of memory");
            goto fail;
        }
        c->n++;
    }
    if (!c->n) {
        chain_destroy(&c->base);
        if (n_listed)
            return rag_fail(err, RAG_EINVAL, "chains.embed: no usable back-end (%s)",
                            berr.msg[0] ? berr.msg : "all disabled");
        return RAG_OK;
    }
    for (size_t i = 0; i < c->n; i++) {
        const rag_backend_cfg *b = rag_config_backend(cfg, c->names[i]);
        const char *model = member_model(b, c->m[i]);
        if (!model && c->n > 1) {
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
