/* retrieve_int.h - private to src/retrieve: the retriever's fields, shared
 * by retriever.c (building it) and search.c (the pipeline). */
#ifndef RAG_RETRIEVE_INT_H
#define RAG_RETRIEVE_INT_H

#include "retrieve.h"

#include <pthread.h>

struct rag_retriever {
    rag_index *ix;                  /* borrowed */
    rag_retriever_params params;
    rag_embedder *embedder;         /* owned; NULL = no dense stage */
    rag_vector_index *vectors;      /* owned; NULL = no dense stage; swapped
                                       by rag_retriever_reload_vectors under
                                       vec_lock (searches hold it to read) */
    rag_index *vec_ix;              /* owned: the connection a reloaded
                                       int8-only vector index reads from
                                       (NULL: the vectors use ix) */
    pthread_rwlock_t vec_lock;
    int shared;                     /* opened by rag_retriever_open_shared */
    rag_reranker *reranker;         /* owned; NULL = no rerank stage */
    char dense_reason[256];         /* "" or why there is no dense stage */
    char rerank_reason[256];        /* "" or why the rerank stage is missing */
    rag_ppr_fn ppr;                 /* graph hook; NULL = none */
    void *ppr_ctx;                  /* borrowed (unless it is graph) */
    struct rag_graph *graph;        /* owned: the index's chunk graph, when
                                       rag_retriever_open loaded it */
    char graph_reason[256];         /* "" or why graph boosting is off */
};

/* BM25 top `want` over the chunks in ids (sorted ascending) when filtered,
 * else over all. Exact when the filter is selective: the BM25 list is read
 * deeper (x4 each round, up to every chunk) until `want` allowed chunks are
 * found or the matches run out. Caller owns *out (rag_free). */
int rag_sparse_search(rag_scored **out, size_t *n_out, rag_index *ix, const char *query,
                      size_t want, int filtered, const int64_t *ids, size_t n_ids,
                      rag_err *err);

#endif
