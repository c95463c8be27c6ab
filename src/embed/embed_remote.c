/* embed_remote.c - remote embedders over src/net: TEI /embed, HF router
 * feature-extraction, OpenAI-compatible /embeddings, Ollama /api/embed.
 * Request and response shapes follow ../shared/api_contracts.md §1, §2,
 * §4 and §5.
 *
 * One struct serves all four kinds; they differ in the path, the body and
 * where the vectors (and token usage) sit in the answer. Texts go out in
 * batches of at most max_batch (TEI: /info's max_client_batch_size, asked
 * once); a 413/422 on a batch of more than one text halves the batch and
 * resends, since the net layer never retries those statuses.
 */
#include "embed/embed.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum kind { K_TEI, K_HF, K_OPENAI, K_OLLAMA };

struct remote_embedder {
    rag_embedder base;            /* first: casts to and from rag_embedder */
    enum kind kind;
    char *name;                   /* owned: config name */
    char *model;                  /* owned, may be NULL (TEI) */
    char *path;                   /* owned: request path */
    char id[256];
    rag_net_endpoint *ep;         /* owned */
    rag_usage *usage;             /* borrowed, may be NULL */
    int normalize;
    size_t dim;                   /* 0 until known */
    size_t max_batch;
    int batch_known;
    rag_call_info last;
};

static const char *remote_name(enum kind k)
{
    static const char *const names[] = {"tei", "hf_inference", "openai", "ollama"};
    return names[k];
}

/* Vectors of one answer: TEI/HF a bare list of lists, OpenAI data[].index,
 * Ollama embeddings. out may be NULL (probe: only learn the dimension). */
static int parse_answer(struct remote_embedder *e, json_t *ans, size_t n, float *out,
                        rag_err *err)
{
    json_t *list = NULL, *usage;
    size_t n_got;

    switch (e->kind) {
    case K_TEI:
    case K_HF:
        list = ans;
        break;
    case K_OLLAMA:
        list = json_object_get(ans, "embeddings");
        usage = json_object_get(ans, "prompt_eval_count");
        if (json_is_integer(usage))
            e->last.tokens_in += json_integer_value(usage);
        break;
    case K_OPENAI:
        list = json_object_get(ans, "data");
        usage = json_object_get(json_object_get(ans, "usage"), "prompt_tokens");
        if (json_is_integer(usage))
            e->last.tokens_in += json_integer_value(usage);
        break;
    }
    if (!json_is_array(list))
        return rag_fail(err, RAG_EFORMAT, "%s %s: answer has no list of embeddings", e->name,
                        e->path);
    n_got = json_array_size(list);
    if (n_got != n)
        return rag_fail(err, RAG_EFORMAT, "%s %s: %zu embeddings for %zu texts", e->name,
                        e->path, n_got, n);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i), *vec = item;
        size_t slot = i, d;
        if (e->kind == K_OPENAI) {
            json_t *ix = json_object_get(item, "index");
            vec = json_object_get(item, "embedding");
            if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
                (size_t)json_integer_value(ix) >= n)
                return rag_fail(err, RAG_EFORMAT, "%s %s: data[%zu].index missing or out of "
                                "range", e->name, e->path, i);
            slot = (size_t)json_integer_value(ix);
        }
        if (!json_is_array(vec))
            return rag_fail(err, RAG_EFORMAT, "%s %s: embedding %zu is not a list", e->name,
                            e->path, i);
        d = json_array_size(vec);
        if (d && json_is_array(json_array_get(vec, 0)))
            return rag_fail(err, RAG_EFORMAT, "%s %s: token-level embeddings (the model "
                            "has no pooling)", e->name, e->path);
        if (!d)
            return rag_fail(err, RAG_EFORMAT, "%s %s: empty embedding %zu", e->name, e->path,
                            i);
        if (!e->dim)
            e->dim = d;
        if (d != e->dim)
            return rag_fail(err, RAG_EFORMAT, "%s %s: embedding %zu has %zu dimensions, "
                            "expected %zu", e->name, e->path, i, d, e->dim);
        if (!out)
            continue;
        double norm = 0.0;
        float *dst = out + slot * e->dim;
        for (size_t j = 0; j < d; j++) {
            json_t *x = json_array_get(vec, j);
            if (!json_is_number(x))
                return rag_fail(err, RAG_EFORMAT, "%s %s: embedding %zu[%zu] is not a number",
                                e->name, e->path, i, j);
            dst[j] = (float)json_number_value(x);
            norm += (double)dst[j] * dst[j];
        }
        if (e->normalize && norm > 0) {
            float inv = (float)(1.0 / sqrt(norm));
            for (size_t j = 0; j < d; j++)
                dst[j] *= inv;
        }
    }
    return RAG_OK;
}

static json_t *build_body(const struct remote_embedder *e, const char *const *texts, size_t n)
{
    json_t *inputs = json_array(), *body = NULL;
    for (size_t i = 0; inputs && i < n; i++)
        if (json_array_append_new(inputs, json_string(texts[i] ? texts[i] : "")) < 0)
            goto fail;
    if (!inputs)
        return NULL;
    switch (e->kind) {
    case K_TEI:
    case K_HF:
        body = json_pack("{s:o,s:b,s:b}", "inputs", inputs, "truncate", 1, "normalize",
                         e->normalize);
        break;
    case K_OPENAI:
        body = json_pack("{s:s,s:o,s:s}", "model", e->model, "input", inputs,
                         "encoding_format", "float");
        break;
    case K_OLLAMA:
        body = json_pack("{s:s,s:o,s:b}", "model", e->model, "input", inputs, "truncate", 1);
        break;
    }
    return body;
fail:
    json_decref(inputs);
    return NULL;
}

/* One request for texts[0..n); writes out (may be NULL). */
static int send_batch(struct remote_embedder *e, const char *const *texts, size_t n,
                      float *out, rag_err *err)
{
    rag_net_response resp;
    json_t *body = build_body(e, texts, n), *ans = NULL;
    int rc;

    if (!body)
        return rag_fail(err, RAG_ENOMEM, "%s: cannot build the request", e->name);
    rag_net_response_init(&resp);
    rc = rag_net_post_json(e->ep, e->path, body, &ans, &resp, err);
    json_decref(body);
    rag_remote_account(&e->last, &resp);
    if (rc == RAG_OK) {
        rc = parse_answer(e, ans, n, out, err);
        if (rc < 0)
            e->last.error_class = "malformed";
    }
    json_decref(ans);
    rag_net_response_fini(&resp);
    return rc;
}

/* TEI: learn max_client_batch_size (and the model id) from GET /info. */
static void tei_info(struct remote_embedder *e)
{
    rag_net_request req;
    rag_net_response resp;
    rag_err ierr = {0};

    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/info";
    req.expect_json = 1;
    req.max_attempts = 1;
    rag_net_response_init(&resp);
    if (rag_net_request_do(e->ep, &req, &resp, &ierr) == RAG_OK) {
        json_t *cap = json_object_get(resp.json, "max_client_batch_size");
        json_t *mid = json_object_get(resp.json, "model_id");
        if (json_is_integer(cap) && json_integer_value(cap) > 0) {
            if (!e->max_batch || (size_t)json_integer_value(cap) < e->max_batch)
                e->max_batch = (size_t)json_integer_value(cap);
        }
        if (!e->model && json_is_string(mid))
            snprintf(e->id, sizeof e->id, "%s", json_string_value(mid));
        e->batch_known = 1;
    } else
        rag_log(RAG_LOG_DEBUG, "%s: GET /info failed (%s); batches of %zu", e->name,
                ierr.msg, e->max_batch ? e->max_batch : (size_t)32);
    e->last.n_requests++;
    rag_net_response_fini(&resp);
}

static size_t remote_dim(const rag_embedder *base)
{
    struct remote_embedder *e = (struct remote_embedder *)base; /* lazy probe */
    if (e->kind == K_TEI && !e->batch_known)
        tei_info(e); /* batch cap and, without a configured model, the id */
    if (!e->dim) {
        const char *probe = "dimension probe";
        rag_err perr = {0};
        /* dim() has no error channel: keep why, for last_call()->message */
        if (send_batch(e, &probe, 1, NULL, &perr) < 0) {
            rag_log(RAG_LOG_DEBUG, "%s: dimension probe failed: %s", e->name, perr.msg);
            snprintf(e->last.message, sizeof e->last.message, "%s",
                     perr.msg[0] ? perr.msg : rag_status_name(perr.code));
            if (!e->last.error_class)
                e->last.error_class = "error";
        }
    }
    return e->dim;
}

static const char *remote_model_id(const rag_embedder *base)
{
    struct remote_embedder *e = (struct remote_embedder *)base; /* lazy probe */
    /* TEI without a configured model: the id is what /info says it serves
     * (asked once; the answer also gives the batch cap) */
    if (e->kind == K_TEI && !e->id[0] && !e->batch_known)
        tei_info(e);
    return e->id;
}

static int remote_embed(rag_embedder *base, const char *const *texts, size_t n_texts,
                        float *out, rag_err *err)
{
    struct remote_embedder *e = (struct remote_embedder *)base;
    double t0 = rag_now_ms();
    size_t off = 0;
    int rc = RAG_OK;

    memset(&e->last, 0, sizeof e->last);
    for (size_t i = 0; i < n_texts; i++) {
        const char *t = texts[i] ? texts[i] : "";
        if (!rag_utf8_valid(t, strlen(t))) {
            e->last.error_class = "format";
            return rag_fail(err, RAG_EFORMAT, "%s: text %zu is not valid UTF-8", e->name, i);
        }
    }
    if (e->kind == K_TEI && !e->batch_known)
        tei_info(e);
    if (!e->dim && n_texts) {
        /* caller sized out with dim(); learn it from the first batch */
        rc = send_batch(e, texts, 1, out, err);
        off = 1;
    }
    while (rc == RAG_OK && off < n_texts) {
        size_t cap = e->max_batch ? e->max_batch : 32;
        size_t n = n_texts - off < cap ? n_texts - off : cap;
        rc = send_batch(e, texts + off, n, out ? out + off * e->dim : NULL, err);
        if (rc < 0 && n > 1 && (e->last.status == 413 || e->last.status == 422)) {
            e->max_batch = n / 2;
            rag_log(RAG_LOG_INFO, "%s: batch of %zu refused (HTTP %ld); now %zu", e->name, n,
                    e->last.status, e->max_batch);
            e->last.error_class = NULL;
            rc = RAG_OK;
            continue;
        }
        off += n;
    }
    if (rc < 0 && !e->last.error_class)
        e->last.error_class = "error";
    if (rc < 0 && err)
        snprintf(e->last.message, sizeof e->last.message, "%s", err->msg);
    if (rc == RAG_OK)
        e->last.error_class = NULL;
    e->last.latency_ms = rag_now_ms() - t0;
    if (e->usage) {
        rag_usage_event ev = {.backend = e->name, .stage = "embed", .ok = rc == RAG_OK,
                              .error_class = e->last.error_class,
                              .retries = e->last.retries, .latency_ms = e->last.latency_ms,
                              .tokens_in = e->last.tokens_in};
        rag_usage_record(e->usage, &ev);
    }
    return rc;
}

static void remote_destroy(rag_embedder *base)
{
    struct remote_embedder *e = (struct remote_embedder *)base;
    rag_net_endpoint_destroy(e->ep);
    rag_free(e->name);
    rag_free(e->model);
    rag_free(e->path);
    rag_free(e);
}

static const rag_call_info *remote_last_call(const rag_embedder *base)
{
    return &((const struct remote_embedder *)base)->last;
}

static const char *remote_served_by(const rag_embedder *base)
{
    return ((const struct remote_embedder *)base)->name;
}

static int remote_set_dim(rag_embedder *base, size_t dim)
{
    struct remote_embedder *e = (struct remote_embedder *)base;
    if (!dim)
        return RAG_EINVAL;
    /* the caller's dimension wins over one learned from an answer: answers
     * of another size are then refused (parse_answer) */
    e->dim = dim;
    return RAG_OK;
}

static rag_net_endpoint *remote_endpoint(const rag_embedder *base)
{
    return ((const struct remote_embedder *)base)->ep;
}

static const struct rag_embedder_ops remote_ops = {
    .name = "remote",
    .dim = remote_dim,
    .model_id = remote_model_id,
    .embed = remote_embed,
    .destroy = remote_destroy,
    .last_call = remote_last_call,
    .served_by = remote_served_by,
    .set_dim = remote_set_dim,
    .endpoint = remote_endpoint,
};

int rag_embedder_remote_create(rag_embedder **out, const rag_backend_cfg *b,
                               rag_usage *usage, const rag_remote_opts *opts, rag_err *err)
{
    rag_remote_opts dflt = rag_remote_default_opts();
    struct remote_embedder *e;
    enum kind k;
    int rc;

    *out = NULL;
    if (!opts)
        opts = &dflt;
    if (!b->type)
        return rag_fail(err, RAG_EINVAL, "back-end '%s': no type", b->name);
    if (!strcmp(b->type, "tei"))
        k = K_TEI;
    else if (!strcmp(b->type, "hf_inference"))
        k = K_HF;
    else if (!strcmp(b->type, "openai"))
        k = K_OPENAI;
    else if (!strcmp(b->type, "ollama"))
        k = K_OLLAMA;
    else
        return rag_fail(err, RAG_EINVAL, "back-end '%s': type %s cannot embed", b->name,
                        b->type);
    if (k != K_TEI && (!b->model || !b->model[0]))
        return rag_fail(err, RAG_EINVAL, "back-end '%s': backends.%s.model is required for "
                        "type %s", b->name, b->name, b->type);
    e = rag_calloc(1, sizeof *e);
    if (!e)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    e->base.ops = &remote_ops;
    e->kind = k;
    e->usage = usage;
    e->normalize = opts->normalize;
    e->max_batch = opts->max_batch ? opts->max_batch : (k == K_TEI ? 0 : 64);
    e->name = rag_strdup(b->name ? b->name : remote_name(k));
    e->model = b->model && b->model[0] ? rag_strdup(b->model) : NULL;
    if (k == K_HF)
        e->path = rag_asprintf("/models/%s/pipeline/feature-extraction", b->model);
    else
        e->path = rag_strdup(k == K_TEI ? "/embed" : k == K_OPENAI ? "/embeddings"
                                                                   : "/api/embed");
    if (!e->name || !e->path || (b->model && b->model[0] && !e->model)) {
        remote_destroy(&e->base);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    snprintf(e->id, sizeof e->id, "%s", e->model ? e->model : "");
    rc = rag_remote_endpoint_create(&e->ep, b, opts, err);
    if (rc < 0) {
        remote_destroy(&e->base);
        return rc;
    }
    *out = &e->base;
    return RAG_OK;
}
