/* fusion.h - the score arithmetic of hybrid retrieval: merging candidate
 * lists, reciprocal rank fusion, weighted fusion of min-max normalised
 * scores, the bounded graph boost and the rerank combination.
 *
 * Pure functions over arrays of rag_cand (no I/O, no index): every formula
 * is tested against hand-computed values in tests/unit/retrieve/test_fusion.c
 * and written out in docs/retrieval.md.
 *
 * Conventions: ranks are 1-based, 0 = the candidate is absent from that
 * list (its score there is then 0 and ignored). Min-max normalisation over
 * a list maps its best score to 1 and its worst to 0; a list whose scores
 * are all equal maps every member to 1 (each is "the best").
 *
 * Thread safety: pure functions.
 */
#ifndef RAG_FUSION_H
#define RAG_FUSION_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* One entry of a ranked list: a chunk and its score (higher is better). */
typedef struct {
    int64_t chunk_id;
    double score;
} rag_scored;

/* A candidate of the pipeline with what each stage said about it. */
typedef struct {
    int64_t chunk_id;
    double bm25;        /* raw BM25 score (bm25_rank > 0) */
    double dense;       /* raw dot product (dense_rank > 0) */
    double fused;       /* fusion score (fused_rank > 0) */
    double rerank;      /* raw reranker score (rerank_rank > 0) */
    double final;       /* the score the hit is ranked by */
    int bm25_rank, dense_rank, fused_rank, rerank_rank;  /* 1-based; 0 = absent */
} rag_cand;

/* The union of two ranked lists (each best first, ids distinct within a
 * list): bm25 entries first in their order, then dense-only entries in
 * theirs; ranks are the 1-based positions in each list. Either list may be
 * empty (NULL with n 0). Caller owns *out (rag_free; NULL when *n_out is 0).
 * final = fused = 0. RAG_ENOMEM. */
int rag_fusion_merge(rag_cand **out, size_t *n_out, const rag_scored *bm25, size_t n_bm25,
                     const rag_scored *dense, size_t n_dense, rag_err *err);

/* RRF: fused = sum over the lists holding the candidate of 1 / (k + rank). */
void rag_fusion_rrf(rag_cand *c, size_t n, double k);

/* Weighted: fused = w * norm(dense) + (1 - w) * norm(bm25), each score
 * min-max normalised over the candidates present in its list; a candidate
 * absent from a list gets 0 for it. */
void rag_fusion_weighted(rag_cand *c, size_t n, double w);

/* Min-max normalise x[0..n) in place (all equal -> all 1; n = 0 no-op). */
void rag_fusion_minmax(double *x, size_t n);

/* Graph boost: fused' = norm(fused) + boost * ppr[i] / max(ppr), where
 * norm is min-max over the n candidates, so the boost adds at most `boost`
 * and can lift a candidate at most that far above its fused standing.
 * Negative ppr counts as 0; boost <= 0 or max(ppr) <= 0 leaves fused
 * unchanged. */
void rag_fusion_graph_boost(rag_cand *c, size_t n, const double *ppr, double boost);

/* Sort by final, best first; ties by fused rank, then bm25 rank, then
 * dense rank (present before absent, smaller first), then ascending chunk
 * id. Writes fused_rank = position + 1 when set_fused_rank. */
void rag_fusion_sort(rag_cand *c, size_t n, int set_fused_rank);

/* The rerank combination over the first n candidates, whose rerank score
 * has been set: final' = w * norm(rerank) + (1 - w) * norm(final), where
 * final on entry is the first-stage score (the fused score in hybrid mode,
 * else the BM25 or dense score); both min-max over these n; w = 1 orders
 * by the reranker alone. Sets
 * rerank_rank (1-based, by raw reranker score) and re-sorts the n by
 * final (ties: reranker rank). Candidates after the first n are not
 * touched by this call; the pipeline keeps them below with final = 0. */
void rag_fusion_rerank(rag_cand *c, size_t n, double w);

#endif
