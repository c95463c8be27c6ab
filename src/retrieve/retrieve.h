/* retrieve.h - ranking chunks for a query.
 *
 * BM25 (sparse) runs over the index's postings (rag_index_bm25): the
 * docrag analyzer, Lucene's BM25; only the final top k rows are read back.
 * Dense and hybrid modes need an embedder; until one is configured they
 * fall back to BM25 with one notice (rag_search_opts.notice).
 *
 * Thread safety: one call at a time per rag_index.
 */
#ifndef RAG_RETRIEVE_H
#define RAG_RETRIEVE_H

#include "core/core.h"
#include "index/index.h"
#include "text/analyzer.h"

typedef enum {
    RAG_MODE_BM25 = 0,
    RAG_MODE_DENSE,
    RAG_MODE_HYBRID,
} rag_search_mode;

/* Parse "bm25" | "dense" | "hybrid"; -1 if unknown. */
int rag_search_mode_parse(const char *s);
const char *rag_search_mode_name(rag_search_mode m);

typedef struct {
    rag_search_mode mode;
    size_t k;              /* results wanted */
} rag_search_opts;

typedef struct {
    int rank;              /* 1-based */
    double score;          /* BM25, higher is better */
    rag_chunk_row row;     /* owned */
} rag_hit;

typedef struct {
    rag_hit *items;
    size_t n;
    rag_search_mode mode_used;   /* what actually ran */
    char notice[160];            /* "" or why the mode fell back */
    double ms_search;            /* ranking in FTS5 */
    double ms_fetch;             /* reading the rows */
} rag_hits;

/* Rank chunks for query. Caller owns out's contents: free with
 * rag_hits_fini. A query without searchable terms gives zero hits. */
int rag_search(rag_hits *out, rag_index *ix, const char *query,
               const rag_search_opts *opts, rag_err *err);
void rag_hits_fini(rag_hits *hits);

/* ---- query terms, coverage and the off-topic gate ----------------------- */

/* The analysed, distinct terms of a query with their IDF in the index,
 * idf = ln(1 + (N - n + 0.5) / (n + 0.5)); a term absent from the index
 * gets the largest IDF (n = 0). At most 64 terms are kept. */
typedef struct {
    char *term;
    uint64_t hash;
    double idf;
    int64_t n_docs;
} rag_qterm;

typedef struct {
    rag_qterm items[64];
    size_t n;
    double idf_total;
} rag_qterms;

int rag_qterms_build(rag_qterms *out, rag_index *ix, const char *query,
                     rag_err *err);
void rag_qterms_fini(rag_qterms *q);
/* IDF-weighted fraction of q's terms that occur in text, in [0,1];
 * *matched gets a bit per matched term (may be NULL). */
int rag_qterms_coverage(const rag_qterms *q, rag_analyzer *an, const char *text,
                        size_t n_bytes, double *coverage, uint64_t *matched);

typedef struct {
    double min_coverage;   /* best chunk must cover this much IDF mass */
    size_t n_check;        /* how many top hits to look at */
} rag_gate_opts;

rag_gate_opts rag_gate_default_opts(void);

/* The off-topic gate, run before any answer (and any paid call): 1 if the
 * hits are relevant to the question, 0 if not. *best_coverage gets the best
 * hit's coverage. */
int rag_gate_check(const rag_qterms *q, rag_analyzer *an, const rag_hits *hits,
                   const rag_gate_opts *opts, double *best_coverage, rag_err *err);

#endif
