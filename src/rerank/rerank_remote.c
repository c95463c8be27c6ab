/* rerank_remote.c - remote rerankers over src/net: TEI POST /rerank
 * ({"query","texts"} -> bare array of {"index","score"} sorted by score)
 * and the Cohere/Jina-style POST {url}/rerank ({"model","query",
 * "documents","top_n"} -> {"results":[{"index","relevance_score"}]}), see
 * ../shared/api_contracts.md §1 and §7. Results are placed by `index`.
 */
#include "rerank/rerank.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum kind { K_TEI, K_API };

struct remote_reranker {
    rag_reranker base;            /* first: casts to and from rag_reranker */
    enum kind kind;
    char *name;                   /* owned */
    char *model;                  /* owned, may be NULL (TEI) */
    char id[256];
    rag_net_endpoint *ep;         /* owned */
    rag_usage *usage;             /* borrowed, may be NULL */
    size_t max_batch;
    int batch_known;
    unsigned char *seen;          /* scratch, one byte per passage */
    size_t n_seen;
    rag_call_info last;
};

static int parse_answer(struct remote_reranker *r, json_t *ans, size_t n, float *out,
                        rag_err *err)
{
    json_t *list = r->kind == K_TEI ? ans : json_object_get(ans, "results");
    const char *score_key = r->kind == K_TEI ? "score" : "relevance_score";
    json_t *tok = json_object_get(json_object_get(ans, "usage"), "total_tokens");

    if (json_is_integer(tok))
        r->last.tokens_in += json_integer_value(tok);
    if (!json_is_array(list))
        return rag_fail(err, RAG_EFORMAT, "%s /rerank: answer has no list of results", r->name);
    memset(r->seen, 0, n);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);
        json_t *ix = json_object_get(item, "index"), *sc = json_object_get(item, score_key);
        json_int_t k;
        if (!json_is_integer(ix) || !json_is_number(sc))
            return rag_fail(err, RAG_EFORMAT, "%s /rerank: result %zu lacks index or %s",
                            r->name, i, score_key);
        k = json_integer_value(ix);
        if (k < 0 || (size_t)k >= n || r->seen[k])
            return rag_fail(err, RAG_EFORMAT, "%s /rerank: result %zu has index %lld out of "
                            "range or repeated", r->name, i, (long long)k);
        r->seen[k] = 1;
        out[k] = (float)json_number_value(sc);
    }
    for (size_t k = 0; k < n; k++)
        if (!r->seen[k])
            return rag_fail(err, RAG_EFORMAT, "%s /rerank: no score for passage %zu", r->name,
                            k);
    return RAG_OK;
}

static int send_batch(struct remote_reranker *r, const char *query, const char *const *p,
                      size_t n, float *out, rag_err *err)
{
    rag_net_response resp;
    json_t *docs = json_array(), *body = NULL, *ans = NULL;
    int rc;

    for (size_t i = 0; docs && i < n; i++)
        json_array_append_new(docs, json_string(p[i] ? p[i] : ""));
    if (docs && r->kind == K_TEI)
        body = json_pack("{s:s,s:o,s:b,s:b}", "query", query, "texts", docs, "truncate", 1,
                         "return_text", 0);
    else if (docs)
        body = json_pack("{s:s,s:s,s:o,s:i}", "model", r->model, "query", query, "documents",
                         docs, "top_n", (int)n);
    if (!body)
        return rag_fail(err, RAG_ENOMEM, "%s: cannot build the request", r->name);
    rag_net_response_init(&resp);
    rc = rag_net_post_json(r->ep, "/rerank", body, &ans, &resp, err);
    json_decref(body);
    rag_remote_account(&r->last, &resp);
    if (rc == RAG_OK) {
        rc = parse_answer(r, ans, n, out, err);
        if (rc < 0)
            r->last.error_class = "malformed";
    }
    json_decref(ans);
    rag_net_response_fini(&resp);
    return rc;
}

static void tei_info(struct remote_reranker *r)
{
    rag_net_request req;
    rag_net_response resp;
    rag_err ierr = {0};

    memset(&req, 0, sizeof req);
    req.path = "/info";
    req.expect_json = 1;
    req.max_attempts = 1;
    rag_net_response_init(&resp);
    if (rag_net_request_do(r->ep, &req, &resp, &ierr) == RAG_OK) {
        json_t *cap = json_object_get(resp.json, "max_client_batch_size");
        json_t *mid = json_object_get(resp.json, "model_id");
        if (json_is_integer(cap) && json_integer_value(cap) > 0 &&
            (!r->max_batch || (size_t)json_integer_value(cap) < r->max_batch))
            r->max_batch = (size_t)json_integer_value(cap);
        if (!r->model && json_is_string(mid))
            snprintf(r->id, sizeof r->id, "%s", json_string_value(mid));
        r->batch_known = 1;
    }
    r->last.n_requests++;
    rag_net_response_fini(&resp);
}

static const char *remote_model_id(const rag_reranker *base)
{
    return ((const struct remote_reranker *)base)->id;
}

static int remote_score(rag_reranker *base, const char *query, const char *const *passages,
                        size_t n_passages, float *out, rag_err *err)
{
    struct remote_reranker *r = (struct remote_reranker *)base;
    double t0 = rag_now_ms();
    size_t off = 0;
    int rc = RAG_OK;

    memset(&r->last, 0, sizeof r->last);
    if (!query)
        query = "";
    if (!rag_utf8_valid(query, strlen(query)))
        return rag_fail(err, RAG_EFORMAT, "%s: query is not valid UTF-8", r->name);
    for (size_t i = 0; i < n_passages; i++)
        if (passages[i] && !rag_utf8_valid(passages[i], strlen(passages[i])))
            return rag_fail(err, RAG_EFORMAT, "%s: passage %zu is not valid UTF-8", r->name, i);
    if (r->kind == K_TEI && !r->batch_known && n_passages)
        tei_info(r);
    while (rc == RAG_OK && off < n_passages) {
        size_t cap = r->max_batch ? r->max_batch : 32;
        size_t n = n_passages - off < cap ? n_passages - off : cap;
        if (n > r->n_seen) {
            unsigned char *s = rag_realloc(r->seen, n);
            if (!s)
                return rag_fail(err, RAG_ENOMEM, "out of memory");
            r->seen = s;
            r->n_seen = n;
        }
        rc = send_batch(r, query, passages + off, n, out + off, err);
        if (rc < 0 && n > 1 && (r->last.status == 413 || r->last.status == 422)) {
            r->max_batch = n / 2;
            rag_log(RAG_LOG_INFO, "%s: batch of %zu refused (HTTP %ld); now %zu", r->name, n,
                    r->last.status, r->max_batch);
            r->last.error_class = NULL;
            rc = RAG_OK;
            continue;
        }
        off += n;
    }
    if (rc < 0 && !r->last.error_class)
        r->last.error_class = "error";
    if (rc == RAG_OK)
        r->last.error_class = NULL;
    r->last.latency_ms = rag_now_ms() - t0;
    if (r->usage) {
        rag_usage_event ev = {.backend = r->name, .stage = "rerank", .ok = rc == RAG_OK,
                              .error_class = r->last.error_class,
                              .retries = r->last.retries, .latency_ms = r->last.latency_ms,
                              .tokens_in = r->last.tokens_in};
        rag_usage_record(r->usage, &ev);
    }
    return rc;
}

static void remote_destroy(rag_reranker *base)
{
    struct remote_reranker *r = (struct remote_reranker *)base;
    rag_net_endpoint_destroy(r->ep);
    rag_free(r->name);
    rag_free(r->model);
    rag_free(r->seen);
    rag_free(r);
}

static const rag_call_info *remote_last_call(const rag_reranker *base)
{
    return &((const struct remote_reranker *)base)->last;
}

static const char *remote_served_by(const rag_reranker *base)
{
    return ((const struct remote_reranker *)base)->name;
}

static rag_net_endpoint *remote_endpoint(const rag_reranker *base)
{
    return ((const struct remote_reranker *)base)->ep;
}

static const struct rag_reranker_ops remote_ops = {
    .name = "remote",
    .model_id = remote_model_id,
    .score = remote_score,
    .destroy = remote_destroy,
    .last_call = remote_last_call,
    .served_by = remote_served_by,
    .endpoint = remote_endpoint,
};

int rag_reranker_remote_create(rag_reranker **out, const rag_backend_cfg *b,
                               rag_usage *usage, const rag_remote_opts *opts, rag_err *err)
{
    rag_remote_opts dflt = rag_remote_default_opts();
    struct remote_reranker *r;
    enum kind k;
    int rc;

    *out = NULL;
    if (!opts)
        opts = &dflt;
    if (b->type && !strcmp(b->type, "tei"))
        k = K_TEI;
    else if (b->type && !strcmp(b->type, "openai"))
        k = K_API;
    else
        return rag_fail(err, RAG_EINVAL, "back-end '%s': type %s cannot rerank", b->name,
                        b->type ? b->type : "(none)");
    if (k == K_API && (!b->model || !b->model[0]))
        return rag_fail(err, RAG_EINVAL, "back-end '%s': backends.%s.model is required for "
                        "a rerank API", b->name, b->name);
    r = rag_calloc(1, sizeof *r);
    if (!r)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    r->base.ops = &remote_ops;
    r->kind = k;
    r->usage = usage;
    r->max_batch = opts->max_batch ? opts->max_batch : (k == K_TEI ? 0 : 1000);
    r->name = rag_strdup(b->name);
    r->model = b->model && b->model[0] ? rag_strdup(b->model) : NULL;
    if (!r->name || (b->model && b->model[0] && !r->model)) {
        remote_destroy(&r->base);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    snprintf(r->id, sizeof r->id, "%s", r->model ? r->model : "");
    rc = rag_remote_endpoint_create(&r->ep, b, opts, err);
    if (rc < 0) {
        remote_destroy(&r->base);
        return rc;
    }
    *out = &r->base;
    return RAG_OK;
}
