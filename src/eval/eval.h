/* eval.h - retrieval evaluation on BEIR-layout collections.
 *
 * The corpus (corpus.jsonl: _id, title, text) goes into a temporary
 * in-memory index through the same chunker and analyzer as real
 * documents; each query ranks chunks, a document scores as its best
 * chunk, and the ranking is scored against qrels/test.tsv exactly as
 * trec_eval / pytrec_eval do (../shared/tools/ireval.py): nDCG@10 with
 * linear gains, Recall@100 and MRR@10, averaged over the judged queries.
 *
 * Thread safety: one evaluation per thread.
 */
#ifndef RAG_EVAL_H
#define RAG_EVAL_H

#include "core/core.h"
#include "text/chunker.h"

#include <stdio.h>

typedef struct {
    rag_chunk_opts chunk;
    size_t chunk_depth;      /* chunks read per query before folding to docs */
    size_t doc_depth;        /* documents ranked per query (run file depth) */
    FILE *run;               /* TREC run output, or NULL */
    const char *run_tag;
} rag_eval_opts;

rag_eval_opts rag_eval_default_opts(void);

typedef struct {
    double ndcg10;
    double recall100;
    double mrr10;
    size_t n_queries;        /* judged queries */
    size_t n_docs;
    size_t n_chunks;
    double index_seconds;
    double query_seconds;
} rag_eval_result;

/* Evaluate BM25 on the BEIR folder dir. Errors name the file and line. */
int rag_eval_beir(rag_eval_result *out, const char *dir, const rag_eval_opts *opts,
                  rag_err *err);

/* Load a BEIR corpus.jsonl into ix (one transaction, then FTS optimize):
 * each record becomes a one-page text document "title\n\ntext" keyed by
 * its _id. Used by eval and by bench/. */
#include "index/index.h"
int rag_eval_index_corpus(rag_index *ix, const char *corpus_path,
                          const rag_chunk_opts *chunk, size_t *n_docs,
                          size_t *n_chunks, rag_err *err);

/* The metrics alone, for testing against ireval.py: ranked holds n_ranked
 * document ids best first; rel_ids/rel_grades the judged-relevant
 * documents (grade > 0) of one query. */
typedef struct {
    double ndcg10, recall100, mrr10;
} rag_query_metrics;
rag_query_metrics rag_eval_query(const char *const *ranked, size_t n_ranked,
                                 const char *const *rel_ids, const int *rel_grades,
                                 size_t n_rel);

#endif
