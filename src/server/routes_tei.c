/* routes_tei.c - the Text Embeddings Inference (TEI) routes, so docrag can
 * stand in for a TEI server on CPU: POST /embed, POST /rerank, GET /info.
 * Contract: docs/server.md, "TEI-compatible routes".
 *
 * They serve the default collection's engine (TEI serves one model): its
 * embedder for /embed, its reranker for /rerank. Shapes are TEI's: /embed
 * answers [[float...]...], /rerank a bare array sorted by score descending,
 * errors {"error": "...", "error_type": "Validation" | "Backend" | ...}.
 * Statuses: malformed JSON 400; an invalid field or an empty batch 422; a
 * batch over server.max_batch 413 (TEI's max_client_batch_size, with TEI's
 * message "batch size N > maximum allowed batch size M"); no model of the
 * kind asked for, or the model failing, 424.
 *
 * Differences from TEI, documented: docrag always truncates an over-long
 * input to the model's max_seq_length (TEI's auto-truncate), so
 * "truncate": false never fails; /rerank's scores are the sigmoid of the
 * engine's score (a logit for the local cross-encoder) unless raw_scores.
 */
#include "decode.h"
#include "srv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tei_error(srv_req *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void tei_error(srv_req *r, int status, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply_json(r, status, json_pack("{s:s,s:s}", "error", msg, "error_type", type));
}

/* An engine failure as TEI reports inference failures: 424 Backend (a
 * limit is 413 Validation; internals are logged, never sent). */
static void tei_docrag_error(srv_req *r, const docrag_error *err)
{
    switch (err->code) {
    case DOCRAG_ELIMIT: tei_error(r, 413, "Validation", "%s", err->msg); break;
    case DOCRAG_EINVAL:
    case DOCRAG_EFORMAT: tei_error(r, 422, "Validation", "%s", err->msg); break;
    case DOCRAG_EBACKEND:
    case DOCRAG_ENOTFOUND: tei_error(r, 424, "Backend", "%s", err->msg); break;
    default:
        rag_log(RAG_LOG_ERROR, "request %s: %s", r->id, err->msg);
        tei_error(r, 424, "Backend", "inference failed (request id %s)", r->id);
    }
}

static void decode_error(srv_req *r, const srv_decode_err *e)
{
    tei_error(r, e->status, "Validation", "%s", e->msg);
}

static size_t max_batch(srv_req *r)
{
    int m = srv_get_info(r->s)->cfg.max_batch;
    return m > 0 ? (size_t)m : 1;
}

static docrag_engine *engine(srv_req *r)
{
    return srv_get_info(r->s)->colls[0].engine;
}

/* Characters (code points) of n UTF-8 strings, for x-compute-characters. */
static size_t n_chars(const char *const *texts, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        for (const char *p = texts[i]; *p; p++)
            c += ((unsigned char)*p & 0xC0) != 0x80;
    return c;
}

/* Compute headers TEI sends (x-compute-characters, x-total-time in ms). */
static void reply_timed(srv_req *r, const rag_buf *b, size_t n_chars)
{
    char chars[64], total[64];
    const char *hs[] = {chars, total, NULL};
    snprintf(chars, sizeof chars, "x-compute-characters: %zu", n_chars);
    snprintf(total, sizeof total, "x-total-time: %.0f", rag_now_ms() - r->t0_ms);
    srv_reply(r, 200, "application/json", b->data, b->len, hs);
}

/* ---- POST /embed ------------------------------------------------------------------ */

static void embed(srv_req *r)
{
    docrag_engine *e = engine(r);
    srv_batch_req q;
    srv_decode_err derr;
    docrag_error err;
    size_t dim, n_floats;
    float *vec = NULL;
    rag_buf b = RAG_BUF_INIT;
    int bad = 0;

    if (srv_decode_tei_embed(&q, r->body, r->n_body, max_batch(r), &derr) < 0) {
        decode_error(r, &derr);
        return;
    }
    if (!docrag_embed_model(e)) {
        tei_error(r, 424, "Backend",
                  "model is not an embedding model: no embedder is configured (chains.embed)");
        goto done;
    }
    if (!(dim = docrag_embed_dim(e))) {
        tei_error(r, 424, "Backend", "the embedding back-end cannot tell its dimension");
        goto done;
    }
    if (q.dimensions && (size_t)q.dimensions != dim) {
        tei_error(r, 422, "Validation",
                  "`dimensions` must be %zu, the model's: docrag does not shorten vectors", dim);
        goto done;
    }
    if (rag_size_mul(q.n_texts, dim * sizeof *vec, &n_floats) < 0 ||
        !(vec = rag_malloc(n_floats))) {
        tei_error(r, 429, "Overloaded", "out of memory for %zu vectors", q.n_texts);
        goto done;
    }
    if (docrag_embed(e, q.texts, q.n_texts, vec, &err) != 0) {
        tei_docrag_error(r, &err);
        goto done;
    }
    bad |= rag_buf_putc(&b, '[');
    for (size_t i = 0; i < q.n_texts; i++) {
        float *v = vec + i * dim;
        double ss = 0;
        for (size_t d = 0; d < dim; d++)
            ss += (double)v[d] * v[d];
        if (!isfinite(ss)) {
            tei_error(r, 424, "Backend", "the model produced a non-finite value");
            goto done;
        }
        if (q.normalize && ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (size_t d = 0; d < dim; d++)
                v[d] *= inv;
        }
        bad |= rag_buf_puts(&b, i ? ",[" : "[");
        for (size_t d = 0; d < dim; d++)
            bad |= rag_buf_printf(&b, d ? ",%.9g" : "%.9g", (double)v[d]);
        bad |= rag_buf_putc(&b, ']');
    }
    bad |= rag_buf_putc(&b, ']');
    if (bad) {
        tei_error(r, 429, "Overloaded", "out of memory");
        goto done;
    }
    reply_timed(r, &b, n_chars(q.texts, q.n_texts));
done:
    rag_buf_fini(&b);
    rag_free(vec);
    srv_batch_req_fini(&q);
}

/* ---- POST /rerank ----------------------------------------------------------------- */

typedef struct {
    size_t index;
    float score;
} rank;

static int by_score_desc(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void rerank(srv_req *r)
{
    docrag_engine *e = engine(r);
    srv_batch_req q;
    srv_decode_err derr;
    docrag_error err;
    float *scores = NULL;
    rank *ranks = NULL;
    json_t *out = NULL;

    if (srv_decode_tei_rerank(&q, r->body, r->n_body, max_batch(r), &derr) < 0) {
        decode_error(r, &derr);
        return;
    }
    if (!docrag_rerank_model(e)) {
        tei_error(r, 424, "Backend", "model is not a re-ranker model: no reranker is "
                                     "configured (chains.rerank)");
        goto done;
    }
    scores = rag_calloc(q.n_texts, sizeof *scores);
    ranks = rag_calloc(q.n_texts, sizeof *ranks);
    if (!scores || !ranks) {
        tei_error(r, 429, "Overloaded", "out of memory for %zu texts", q.n_texts);
        goto done;
    }
    if (docrag_rerank(e, q.query, q.texts, q.n_texts, scores, &err) != 0) {
        tei_docrag_error(r, &err);
        goto done;
    }
    for (size_t i = 0; i < q.n_texts; i++) {
        if (isnan(scores[i])) {
            tei_error(r, 424, "Backend", "score is NaN");
            goto done;
        }
        ranks[i].index = i;
        /* TEI: sigmoid of the logit unless raw_scores */
        ranks[i].score = q.raw_scores ? scores[i] : (float)(1.0 / (1.0 + exp(-(double)scores[i])));
    }
    qsort(ranks, q.n_texts, sizeof *ranks, by_score_desc);
    out = json_array();
    for (size_t i = 0; out && i < q.n_texts; i++) {
        json_t *o = json_pack("{s:I,s:f}", "index", (json_int_t)ranks[i].index, "score",
                              (double)ranks[i].score);
        if (o && q.return_text)
            json_object_set_new(o, "text", json_string(q.texts[ranks[i].index]));
        if (json_array_append_new(out, o) < 0) {
            json_decref(out);
            out = NULL;
        }
    }
    {
        char *t = out ? json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
        rag_buf b = {t, t ? strlen(t) : 0, 0, 0};
        if (!t)
            tei_error(r, 429, "Overloaded", "out of memory");
        else
            reply_timed(r, &b, n_chars(q.texts, q.n_texts) + n_chars(&q.query, 1) * q.n_texts);
        free(t);
    }
done:
    json_decref(out);
    rag_free(ranks);
    rag_free(scores);
    srv_batch_req_fini(&q);
}

/* ---- GET /info -------------------------------------------------------------------- */

/* TEI's model_dtype from docrag's model id ("name@int8", "name@bf16";
 * computation is float32 otherwise). */
static const char *dtype_of(const char *model_id)
{
    const char *at = model_id ? strrchr(model_id, '@') : NULL;
    if (at && !strcmp(at, "@int8"))
        return "int8";
    if (at && !strcmp(at, "@bf16"))
        return "bfloat16";
    return "float32";
}

static void info(srv_req *r)
{
    const srv_info *si = srv_get_info(r->s);
    docrag_engine *e = engine(r);
    const char *em = docrag_embed_model(e), *rm = docrag_rerank_model(e), *id = em ? em : rm;
    char version[64];
    json_t *o, *type, *ext;

    if (!id) {
        tei_error(r, 424, "Backend", "no model is configured: set chains.embed (for /embed) "
                                     "or chains.rerank (for /rerank)");
        return;
    }
    snprintf(version, sizeof version, "docrag-%s", docrag_version());
    /* docrag.h does not expose the local model's pooling or max_seq_length:
     * null rather than a guess (docs/server.md) */
    if (em)
        type = json_pack("{s:{s:n}}", "embedding", "pooling");
    else
        type = json_pack("{s:{s:{},s:{}}}", "reranker", "id2label", "label2id");
    ext = json_pack("{s:s,s:o,s:o}", "collection", si->colls[0].name, "embedding",
                    em ? json_pack("{s:s,s:I}", "model", em, "dim",
                                   (json_int_t)docrag_embed_dim(e))
                       : json_null(),
                    "reranker", rm ? json_pack("{s:s}", "model", rm) : json_null());
    o = json_pack("{s:s,s:n,s:s,s:s,s:o,s:i,s:n,s:n,s:n,s:i,s:b,s:n,s:s,s:n,s:n,s:o}",
                  "model_id", id, "model_sha", "model_dtype", dtype_of(id),
                  "served_model_name", id, "model_type", type, "max_concurrent_requests",
                  si->cfg.max_queue, "max_input_length", "max_batch_tokens",
                  "max_batch_requests", "max_client_batch_size", (int)max_batch(r),
                  "auto_truncate", 1, "tokenization_workers", "version", version, "sha",
                  "docker_label", "docrag", ext);
    srv_reply_json(r, 200, o);
}

const srv_route srv_routes_tei[] = {
    {"POST", "/embed", SRV_ROLE_READ, SRV_BODY_JSON, 0, embed, "tei_embed"},
    {"POST", "/rerank", SRV_ROLE_READ, SRV_BODY_JSON, 0, rerank, "tei_rerank"},
    {"GET", "/info", SRV_ROLE_READ, SRV_BODY_NONE, 0, info, "tei_info"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
