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

/* A store over db, the connection of ix (both borrowed; they must outlive
 * it). Caller owns *out; free with its close op. */
int rag_store_sqlite_create(rag_store **out, rag_index *ix, sqlite3 *db, int read_only,
                            rag_err *err);

/* Record a change of documents, chunks, vectors or the graph: advances
 * meta change_seq once per write transaction (once per call outside one). */
int rag_index_sqlite_changed(rag_index *ix, rag_err *err);

#endif
