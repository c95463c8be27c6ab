/* eval_int.h - internal to src/eval: the retriever an evaluation ranks with.
 */
#ifndef RAG_EVAL_INT_H
#define RAG_EVAL_INT_H

#include "embed/embed_index.h"
#include "retrieve/retrieve.h"

#include <jansson.h>

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

/* A kind of question file (QA set, answer set): one JSON object per line,
 * blank lines and "# ..." comments skipped. */
typedef struct {
    const char *what;   /* for messages: "the QA file" */
    size_t elem;        /* bytes of one item */
    /* fill a zeroed item from o (line lineno of path) */
    int (*fill)(void *item, json_t *o, const char *path, int lineno, rag_err *err);
    const char *(*id)(const void *item);    /* its id: ids must be unique */
    int (*line)(const void *item);          /* the line it came from */
} eval_items_kind;

/* Load path into *items (an array of k->elem-byte items, rag_realloc'd) and
 * *n, both zero on entry. Errors name the file and line: a line that is not
 * a JSON object, fill's error, a duplicate id; a file without items is
 * RAG_EFORMAT, a missing one RAG_ENOTFOUND. On error *n counts every item
 * fill was called on (some partly filled): the caller frees them all. */
int eval_items_load(const eval_items_kind *k, const char *path, void **items, size_t *n,
                    rag_err *err);

#endif
