/* eval_int.h - internal to src/eval: the retriever an evaluation ranks with.
 */
#ifndef RAG_EVAL_INT_H
#define RAG_EVAL_INT_H

#include "embed/embed_index.h"
#include "retrieve/retrieve.h"

/* Make ix ready for mode (and the rerank stage if rerank) under cfg:
 * for dense and hybrid, embed every chunk of ix with chains.embed
 * (rag_embed_index: the embedding cache makes a re-run over an unchanged
 * --db cost no inference), then open the retriever. *out stays NULL (BM25
 * only) when cfg is NULL or neither a dense mode nor rerank is asked.
 * Missing pieces are not errors: what will not run is appended to notice
 * (rag_search adds its own reasons per query). An embedder that is
 * configured and built but fails during the pass is an error: numbers
 * silently measured on BM25 would mislead. rep (may be NULL) gets the
 * pass's report (n_chunks 0 if none ran). Caller owns *out. */
int eval_retriever_open(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                        rag_search_mode mode, int rerank, rag_embed_report *rep,
                        char *notice, size_t n_notice, rag_err *err);

/* Append "; "-separated text to notice unless it is already there. */
void eval_notice_add(char *notice, size_t n_notice, const char *text);

#endif
