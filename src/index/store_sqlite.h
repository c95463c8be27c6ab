/* store_sqlite.h - private to src/index: the SQLite back-end of store.h.
 *
 * index_store.c creates it over the index's own connection at open and
 * destroys it at close; everything else reaches it as rag_index_store(ix).
 */
#ifndef RAG_STORE_SQLITE_H
#define RAG_STORE_SQLITE_H

#include "index.h"
#include "store.h"

#include <sqlite3.h>

/* The index's SQLite connection: borrowed, valid until close. For the
 * SQLite back-end's own files (index_store.c, bm25_*.c, vector_index.c,
 * index_check.c, indexer.c) and tests only. */
sqlite3 *rag_index_db(rag_index *ix);

/* A store over db, the connection of ix (both borrowed; they must outlive
 * it). Caller owns *out; free with its close op. */
int rag_store_sqlite_create(rag_store **out, rag_index *ix, sqlite3 *db, int read_only,
                            rag_err *err);

/* Record a change of documents, chunks, vectors or the graph: advances
 * meta change_seq once per write transaction (once per call outside one). */
int rag_index_sqlite_changed(rag_index *ix, rag_err *err);

/* With write hooks set (rag_index_set_tx_hooks), a write op called
 * outside a transaction runs in one of its own: auto_begin starts it
 * (*own = 1) when none is open and hooks are set; auto_end commits it
 * (rc >= 0) or rolls it back, and returns rc or the commit's error. */
int rag_index_auto_begin(rag_index *ix, int *own, rag_err *err);
int rag_index_auto_end(rag_index *ix, int own, int rc, rag_err *err);
/* 1 inside a write transaction of rag_index_begin. */
int rag_index_in_tx(const rag_index *ix);

#endif
