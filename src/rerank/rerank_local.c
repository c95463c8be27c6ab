/* rerank_local.c - the "local" reranker: WordPiece pair encoding and the
 * BERT cross-encoder (BertForSequenceClassification) in-process.
 *
 * Each (query, passage) pair is encoded "[CLS] q [SEP] p [SEP]" with token
 * types 0/1 and truncated longest-first to max_seq_length. Scores are raw
 * logits (rerank.h). Pairs run in slices of SLICE; the model sorts each
 * slice by length and pads within buckets.
 */
#include "rerank/rerank.h"
#include "text/wordpiece.h"

#include <stdio.h>
#include <string.h>

#define SLICE 128
#define RERANK_MAX_BATCH 4   /* pairs per forward batch by default */

struct local_reranker {
    rag_reranker base;           /* first: casts to and from rag_reranker */
    rag_model *model;            /* owned */
    rag_session *session;        /* owned */
    rag_wordpiece *wp;           /* owned */
    rag_model_info info;
    char id[256];
    rag_encoding enc;
    int32_t *ids, *types;        /* SLICE * max_seq each */
    float *logits;               /* SLICE * n_labels */
    const int32_t *rows[SLICE], *trows[SLICE];
    size_t n_tokens[SLICE];
};

static const char *local_model_id(const rag_reranker *r)
{
    return ((const struct local_reranker *)r)->id;
}

static int local_score(rag_reranker *base, const char *query, const char *const *passages,
                       size_t n_passages, float *out, rag_err *err)
{
    struct local_reranker *r = (struct local_reranker *)base;
    size_t max_seq = (size_t)r->info.max_seq, nl = (size_t)r->info.n_labels;
    int rc;

    if (!query)
        query = "";
    for (size_t off = 0; off < n_passages; off += SLICE) {
        size_t n = n_passages - off < SLICE ? n_passages - off : SLICE;
        for (size_t i = 0; i < n; i++) {
            const char *p = passages[off + i] ? passages[off + i] : "";
            rc = rag_wordpiece_encode(r->wp, query, strlen(query), p, strlen(p), max_seq,
                                      &r->enc, err);
            if (rc < 0)
                return rag_err_prefix(err, "passage %zu", off + i);
            memcpy(r->ids + i * max_seq, r->enc.ids, r->enc.n * sizeof(int32_t));
            memcpy(r->types + i * max_seq, r->enc.type_ids, r->enc.n * sizeof(int32_t));
            r->rows[i] = r->ids + i * max_seq;
            r->trows[i] = r->types + i * max_seq;
            r->n_tokens[i] = r->enc.n;
        }
        rc = rag_session_run(r->session, r->rows, r->trows, r->n_tokens, n, r->logits, err);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            out[off + i] = nl == 1 ? r->logits[i] : r->logits[i * nl + 1] - r->logits[i * nl];
    }
    return RAG_OK;
}

static void local_destroy(rag_reranker *base)
{
    struct local_reranker *r = (struct local_reranker *)base;
    rag_session_destroy(r->session);
    rag_model_destroy(r->model);
    rag_wordpiece_destroy(r->wp);
    rag_encoding_fini(&r->enc);
    rag_free(r->ids);
    rag_free(r->types);
    rag_free(r->logits);
    rag_free(r);
}

static const struct rag_reranker_ops local_ops = {
    .name = "local",
    .model_id = local_model_id,
    .score = local_score,
    .destroy = local_destroy,
};

int rag_reranker_local_create(rag_reranker **out, const char *model_dir,
                              const rag_model_opts *opts, rag_err *err)
{
    struct local_reranker *r;
    const char *base;
    size_t n_base, n_tok;
    int rc;

    *out = NULL;
    r = rag_calloc(1, sizeof *r);
    if (!r)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    r->base.ops = &local_ops;
    rc = rag_wordpiece_load(&r->wp, model_dir, err);
    if (rc == RAG_OK) {
        /* Rerank batches are query + passage pairs near max_seq: forward
         * them 4 at a time unless told otherwise. Against the model's
         * default 32 this keeps activations small (whole-process RSS of
         * bench/hybrid.sh on 100k chunks: 185 MB at 4, 235 MB at 8, 2 cores
         * int8) and was no slower (50 pairs p50 1.2-1.3 s at 4 or 8, 2.2 s
         * at 32: less padding within a batch). */
        rag_model_opts mo = opts ? *opts : rag_model_default_opts();
        if (mo.max_batch == 0)
            mo.max_batch = RERANK_MAX_BATCH;
        rc = rag_model_load(&r->model, model_dir, &mo, err);
    }
    if (rc == RAG_OK) {
        rag_model_get_info(r->model, &r->info);
        if (r->info.kind != RAG_MODEL_KIND_CROSS)
            rc = rag_fail(err, RAG_EFORMAT, "%s/config.json: %s is not a cross-encoder "
                          "(BertForSequenceClassification)", model_dir, r->info.architecture);
        else if (r->info.n_labels > 2)
            rc = rag_fail(err, RAG_EFORMAT, "%s/config.json: %d labels; a reranker needs 1 "
                          "or 2", model_dir, r->info.n_labels);
    }
    if (rc == RAG_OK && rag_wordpiece_vocab_size(r->wp) > (size_t)r->info.vocab_size)
        rc = rag_fail(err, RAG_EFORMAT, "%s: tokenizer has %zu tokens but config.json "
                      "vocab_size is %d", model_dir, rag_wordpiece_vocab_size(r->wp),
                      r->info.vocab_size);
    if (rc == RAG_OK)
        rc = rag_session_create(&r->session, r->model, err);
    if (rc == RAG_OK) {
        n_tok = (size_t)SLICE * (size_t)r->info.max_seq;
        r->ids = rag_malloc(n_tok * sizeof *r->ids);
        r->types = rag_malloc(n_tok * sizeof *r->types);
        r->logits = rag_malloc((size_t)SLICE * r->info.dim * sizeof *r->logits);
        if (!r->ids || !r->types || !r->logits)
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    if (rc < 0) {
        local_destroy(&r->base);
        return rc;
    }
    n_base = strlen(model_dir);
    while (n_base > 1 && model_dir[n_base - 1] == '/')
        n_base--;
    base = model_dir + n_base;
    while (base > model_dir && base[-1] != '/')
        base--;
    snprintf(r->id, sizeof r->id, "%.*s%s%s", (int)(model_dir + n_base - base), base,
             r->info.precision == RAG_PRECISION_F32 ? "" : "@",
             r->info.precision == RAG_PRECISION_F32 ? "" : rag_precision_name(r->info.precision));
    *out = &r->base;
    return RAG_OK;
}
