/* store_pg.h - private to src/index: the PostgreSQL back-end of store.h
 * (docs/postgres.md), over pg_conn (libpq) and pg_schema (tables, change
 * log, job queue).
 *
 * What it has: every op of store.h's table, the jobs included (a shared
 * queue: SKIP LOCKED, leases, completion inside the caller's transaction).
 * What it does not have yet: writing documents with their pages, chunks
 * and postings, and BM25 search, which store.h leaves to rag_index (the
 * SQLite back-end's) today; so `docrag index` and `docrag search` cannot
 * run on it yet.
 *
 * Change feed: a write transaction that changed vectors or the graph
 * writes one change_log row just before its COMMIT (so the change-log
 * lock is held only for the commit), and change_seq is the log's head.
 * Usage rows and meta do not move it, as on SQLite.
 */
#ifndef RAG_STORE_PG_H
#define RAG_STORE_PG_H

#include "index/pg_conn.h"
#include "index/store.h"

/* Connect to url (pg_conn.h: ${VAR}, libpq options) and, unless
 * read_only, create or migrate the schema. A read-only store connects
 * with target_session_attrs=any unless the URL says otherwise (a standby
 * will do) and needs the schema to be there. Caller owns *out; free with
 * its close op. Errors name the endpoint, never the password:
 * RAG_EFORMAT newer, foreign or (read-only) missing schema. */
int rag_store_pg_open(rag_store **out, const char *url, const rag_pg_opts *opts, int read_only,
                      rag_err *err);

/* The connection of a PostgreSQL store (borrowed, valid until close). */
rag_pg *rag_store_pg_conn(rag_store *s);

/* Copy every row of the SQLite index src (documents, pages, chunks,
 * postings segments and deletions, vectors, embedding cache, graph edges,
 * usage, meta but its schema_version) into the empty PostgreSQL store
 * dst, in one transaction, column by column under the same names: ids,
 * docnos and segment bytes are kept, so both stores hold the same index.
 * RAG_EINVAL when dst already has documents; one change is logged. */
struct rag_index;
int rag_store_pg_import_sqlite(rag_store *dst, struct rag_index *src, rag_err *err);

#endif
