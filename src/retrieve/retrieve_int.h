/* retrieve_int.h - private to src/retrieve: the retriever's fields, shared
 * by retriever.c (building it) and search.c (the pipeline). */
#ifndef RAG_RETRIEVE_INT_H
#define RAG_RETRIEVE_INT_H

#include "retrieve.h"

struct rag_retriever {
    rag_index *ix;                  /* borrowed */
    rag_retriever_params params;
    rag_embedder *embedder;         /* owned; NULL = no dense stage */
    rag_vector_index *vectors;      /* owned; NULL = no dense stage */
    rag_reranker *reranker;         /* owned; NULL = no rerank stage */
    char dense_reason[256];         /* "" or why there is no dense stage */
    char rerank_reason[256];        /* "" or why the rerank stage is missing */
    rag_ppr_fn ppr;                 /* graph hook; NULL = none */
    void *ppr_ctx;                  /* borrowed */
};

/* BM25 top `want` over the chunks in ids (sorted ascending) when filtered,
 * else over all. Exact when the filter is selective: the BM25 list is read
 * deeper (x4 each round, up to every chunk) until `want` allowed chunks are
 * found or the matches run out. Caller owns *out (rag_free). */
int rag_sparse_search(rag_scored **out, size_t *n_out, rag_index *ix, const char *query,
                      size_t want, int filtered, const int64_t *ids, size_t n_ids,
                      rag_err *err);

#endif
