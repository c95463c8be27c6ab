/* graph_int.h - shared between graph_build.c and graph.c; not an API. */
#ifndef RAG_GRAPH_INT_H
#define RAG_GRAPH_INT_H

#include "index/store.h"
#include "retrieve/graph.h"

/* The index state a graph is built from, "v1 chunks=N docno=M" (the
 * largest BM25 docno only grows, so any added or replaced chunk changes
 * it), into out. */
int rag_graph_index_state(rag_store *st, char *out, size_t cap, rag_err *err);

/* The stamp stored with the graph into out; 1 if there is one. */
int rag_graph_stored_stamp(rag_store *st, char *out, size_t cap);

#endif
