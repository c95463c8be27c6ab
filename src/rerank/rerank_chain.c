/* rerank_chain.c - the "none" reranker, the config registry for rerankers
 * and the fallback chain over chains.rerank (rerank.h).
 *
 * One call is always served by exactly one member, so scores from
 * different models never meet in one ranking.
 */
#include "rerank/rerank.h"
#include "model/model_config.h"

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
    rag_reranker *m[RAG_MAX_CHAIN];    /* owned */
    char *names[RAG_MAX_CHAIN];        /* owned */
    rag_usage *usage;                  /* borrowed */
    const char *served;
    rag_call_info last;
};

static const char *chain_model_id(const rag_reranker *base)
{
    const struct chain_reranker *c = (const struct chain_reranker *)base;
    return rag_reranker_model_id(c->m[0]);
}

static int chain_score(rag_reranker *base, const char *query, const char *const *passages,
                       size_t n_passages, float *out, rag_err *err)
{
    struct chain_reranker *c = (struct chain_reranker *)base;
    rag_err e1 = {0};
    int rc = RAG_EBACKEND;

    c->served = NULL;
    memset(&c->last, 0, sizeof c->last);
    snprintf(e1.msg, sizeof e1.msg, "no usable back-end");
    for (size_t i = 0; i < c->n; i++) {
        const rag_call_info *info;
        double t0;
        if (c->usage && !rag_usage_allowed(c->usage, c->names[i])) {
            snprintf(e1.msg, sizeof e1.msg, "back-end '%s': monthly budget spent", c->names[i]);
            continue;
        }
        t0 = rag_now_ms();
        rc = rag_reranker_score(c->m[i], query, passages, n_passages, out, &e1);
        info = rag_reranker_last_call(c->m[i]);
        if (c->usage && strcmp(c->m[i]->ops->name, "none")) {
            rag_usage_event ev = {.backend = c->names[i], .stage = "rerank",
                                  .ok = rc == RAG_OK,
                                  .error_class = rc == RAG_OK ? NULL
                                                 : info && info->error_class
                                                     ? info->error_class
                                                     : rag_status_name(rc),
                                  .fell_back = rc != RAG_OK && i + 1 < c->n,
                                  .latency_ms = rag_now_ms() - t0};
            if (info) {
                ev.retries = info->retries;
                ev.tokens_in = info->tokens_in;
                ev.tokens_out = info->tokens_out;
            }
            rag_usage_record(c->usage, &ev);
        }
        if (rc == RAG_OK) {
            if (info)
                c->last = *info;
            c->served = c->names[i];
            return RAG_OK;
        }
        if (i + 1 < c->n)
            rag_log(RAG_LOG_INFO, "chains.rerank: '%s' failed (%s); trying '%s'", c->names[i],
                    e1.msg, c->names[i + 1]);
    }
    return rag_fail(err, rc < 0 ? rc : RAG_EBACKEND,
                    "chains.rerank: every back-end failed; last: %s", e1.msg);
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

static const struct rag_reranker_ops chain_ops = {
    .name = "chain",
    .model_id = chain_model_id,
    .score = chain_score,
    .destroy = chain_destroy,
    .last_call = chain_last_call,
    .served_by = chain_served_by,
};

int rag_reranker_chain_create(rag_reranker **out, const rag_config *cfg, rag_usage *usage,
                              const rag_remote_opts *opts, rag_err *err)
{
    struct chain_reranker *c;
    rag_err berr = {0};
    int rc = RAG_OK;

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
        if (rc < 0) {
            if (rc == RAG_EINVAL && b && !b->enabled) {
                rag_log(RAG_LOG_INFO, "chains.rerank: %s; skipped", berr.msg);
                rc = RAG_OK;
                continue;
            }
            rag_err_prefix(&berr, "chains.rerank");
            goto fail;
        }
        c->m[c->n] = m;
        c->names[c->n] = rag_strdup(name);
        if (!c->names[c->n]) {
            rag_reranker_destroy(m);
            rc = rag_fail(&berr, RAG_ENOMEM, "out of memory");
            goto fail;
        }
        c->n++;
        if (!strcmp(m->ops->name, "none"))
            break; /* never fails: later members are unreachable */
    }
    if (!c->n) {
        rc = rag_reranker_none_create(&c->m[0], &berr);
        c->names[0] = rag_strdup("none");
        if (rc < 0 || !c->names[0]) {
            rc = rc < 0 ? rc : rag_fail(&berr, RAG_ENOMEM, "out of memory");
            c->n = c->m[0] ? 1 : 0;
            goto fail;
        }
        c->n = 1;
    }
    *out = &c->base;
    return RAG_OK;
fail:
    chain_destroy(&c->base);
    if (err)
        *err = berr;
    return rc;
}
