/* embed_local.c - the "local" embedder: WordPiece + BERT encoder in-process.
 *
 * Texts are tokenized with [CLS]/[SEP] and truncated to the model's
 * max_seq_length (a 100k-character text embeds its first max_seq_length-2
 * word pieces). They are run in slices of SLICE texts so token buffers stay
 * bounded for any n_texts; the model sorts each slice by length and pads
 * within length buckets. An empty text embeds as "[CLS] [SEP]".
 */
#include "embed/embed.h"
#include "text/wordpiece.h"

#include <stdio.h>
#include <string.h>

#define SLICE 256

struct local_embedder {
    rag_embedder base;           /* first: casts to and from rag_embedder */
    rag_model *model;            /* owned */
    rag_session *session;        /* owned, one forward pass at a time */
    rag_wordpiece *wp;           /* owned */
    rag_model_info info;
    char id[256];
    rag_encoding enc;            /* reused scratch */
    int32_t *ids;                /* SLICE * max_seq token ids */
    const int32_t *rows[SLICE];
    size_t n_tokens[SLICE];
};

static size_t local_dim(const rag_embedder *e)
{
    return ((const struct local_embedder *)e)->info.dim;
}

static const char *local_model_id(const rag_embedder *e)
{
    return ((const struct local_embedder *)e)->id;
}

static int local_embed(rag_embedder *base, const char *const *texts, size_t n_texts,
                       float *out, rag_err *err)
{
    struct local_embedder *e = (struct local_embedder *)base;
    size_t max_seq = (size_t)e->info.max_seq;
    int rc;

    for (size_t off = 0; off < n_texts; off += SLICE) {
        size_t n = n_texts - off < SLICE ? n_texts - off : SLICE;
        for (size_t i = 0; i < n; i++) {
            const char *t = texts[off + i] ? texts[off + i] : "";
            rc = rag_wordpiece_encode(e->wp, t, strlen(t), NULL, 0, max_seq, &e->enc, err);
            if (rc < 0)
                return rag_err_prefix(err, "text %zu", off + i);
            memcpy(e->ids + i * max_seq, e->enc.ids, e->enc.n * sizeof(int32_t));
            e->rows[i] = e->ids + i * max_seq;
            e->n_tokens[i] = e->enc.n;
        }
        rc = rag_session_run(e->session, e->rows, NULL, e->n_tokens, n, out + off * e->info.dim,
                             err);
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

static void local_destroy(rag_embedder *base)
{
    struct local_embedder *e = (struct local_embedder *)base;
    rag_session_destroy(e->session);
    rag_model_destroy(e->model);
    rag_wordpiece_destroy(e->wp);
    rag_encoding_fini(&e->enc);
    rag_free(e->ids);
    rag_free(e);
}

static const struct rag_embedder_ops local_ops = {
    .name = "local",
    .dim = local_dim,
    .model_id = local_model_id,
    .embed = local_embed,
    .destroy = local_destroy,
};

int rag_embedder_local_create(rag_embedder **out, const char *model_dir,
                              const rag_model_opts *opts, rag_err *err)
{
    struct local_embedder *e;
    const char *base;
    size_t n_base;
    int rc;

    *out = NULL;
    e = rag_calloc(1, sizeof *e);
    if (!e)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    e->base.ops = &local_ops;
    rc = rag_wordpiece_load(&e->wp, model_dir, err);
    if (rc == RAG_OK)
        rc = rag_model_load(&e->model, model_dir, opts, err);
    if (rc == RAG_OK) {
        rag_model_get_info(e->model, &e->info);
        if (e->info.kind != RAG_MODEL_KIND_ENCODER)
            rc = rag_fail(err, RAG_EFORMAT, "%s/config.json: %s is a cross-encoder, not an "
                          "embedding model", model_dir, e->info.architecture);
    }
    if (rc == RAG_OK && rag_wordpiece_vocab_size(e->wp) > (size_t)e->info.vocab_size)
        rc = rag_fail(err, RAG_EFORMAT, "%s: tokenizer has %zu tokens but config.json "
                      "vocab_size is %d", model_dir, rag_wordpiece_vocab_size(e->wp),
                      e->info.vocab_size);
    if (rc == RAG_OK)
        rc = rag_session_create(&e->session, e->model, err);
    if (rc == RAG_OK) {
        e->ids = rag_malloc((size_t)SLICE * (size_t)e->info.max_seq * sizeof *e->ids);
        if (!e->ids)
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    if (rc < 0) {
        local_destroy(&e->base);
        return rc;
    }
    n_base = strlen(model_dir);
    while (n_base > 1 && model_dir[n_base - 1] == '/')
        n_base--;
    base = model_dir + n_base;
    while (base > model_dir && base[-1] != '/')
        base--;
    snprintf(e->id, sizeof e->id, "%.*s%s%s", (int)(model_dir + n_base - base), base,
             e->info.precision == RAG_PRECISION_F32 ? "" : "@",
             e->info.precision == RAG_PRECISION_F32 ? "" : rag_precision_name(e->info.precision));
    *out = &e->base;
    return RAG_OK;
}
