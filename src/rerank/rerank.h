/* rerank.h - rerankers: score (query, passage) pairs, one interface and
 * several back-ends (STYLE.md §6).
 *
 * Back-ends: "local" (rerank_local.c: WordPiece pair encoding + the BERT
 * cross-encoder of src/model). Remote back-ends implement the same table.
 *
 * Scores are raw logits, not probabilities: for a num_labels == 1 model
 * (the ms-marco cross-encoders) the logit of label 0; for num_labels == 2
 * the log-odds logit[1] - logit[0]. Higher is more relevant; only the
 * order is meaningful across models.
 *
 * Thread safety: one score call at a time per reranker.
 */
#ifndef RAG_RERANK_H
#define RAG_RERANK_H

#include "core/core.h"
#include "model/model.h"

#include <stddef.h>

typedef struct rag_reranker rag_reranker;

struct rag_reranker_ops {
    const char *name;                                   /* back-end: "local" */
    /* Borrowed; valid until destroy. Never NULL. */
    const char *(*model_id)(const rag_reranker *r);
    /* Writes n_passages scores to out, in input order. Each pair is
     * truncated (longest first) to the model's max_seq_length tokens.
     * Blocks. Never NULL. */
    int (*score)(rag_reranker *r, const char *query, const char *const *passages,
                 size_t n_passages, float *out, rag_err *err);
    /* Frees everything the reranker owns. Never NULL. */
    void (*destroy)(rag_reranker *r);
};

struct rag_reranker {
    const struct rag_reranker_ops *ops;
};

static inline const char *rag_reranker_model_id(const rag_reranker *r)
{
    return r->ops->model_id(r);
}
static inline int rag_reranker_score(rag_reranker *r, const char *query,
                                     const char *const *passages, size_t n_passages,
                                     float *out, rag_err *err)
{
    return r->ops->score(r, query, passages, n_passages, out, err);
}
/* NULL is a no-op. */
static inline void rag_reranker_destroy(rag_reranker *r)
{
    if (r)
        r->ops->destroy(r);
}

/* Local back-end: load a BertForSequenceClassification folder with 1 or 2
 * labels. opts may be NULL. Caller owns *out; free with
 * rag_reranker_destroy. */
int rag_reranker_local_create(rag_reranker **out, const char *model_dir,
                              const rag_model_opts *opts, rag_err *err);

#endif
