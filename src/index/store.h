/* store.h - the storage interface: every row docrag keeps, behind one ops
 * table (STYLE.md section 6: a struct of function pointers, like the
 * embed, rerank and LLM back-ends).
 *
 * A rag_store is one connection to one store of record: documents, pages,
 * chunks, BM25 postings segments and their deletions, vectors, the
 * embedding cache, graph edges, usage rows, meta (key/value), jobs, and a
 * change feed. SQLite (store_sqlite.c, one WAL file) is the first back-end
 * and the default; PostgreSQL is the second (issue 14). Nothing outside
 * src/index sees SQL or a back-end's handle: callers reach a store through
 * rag_index (index.h), which owns it, or through the rag_store_* wrappers
 * below on rag_index_store(ix).
 *
 * Contract every back-end keeps (each op below repeats what is its own):
 * - Errors: < 0 is a rag_status; err gets a message naming the store
 *   (its path or URL, never a password) and what failed. RAG_ENOTFOUND
 *   only where an op says so; RAG_EFORMAT for a damaged or foreign store.
 * - Transactions: begin/commit/rollback make one write transaction; every
 *   write op inside it becomes visible to other connections at commit,
 *   all or nothing. A write op called outside a transaction is its own
 *   transaction. Writers are serialized (SQLite: BEGIN IMMEDIATE, waiting
 *   up to 10 s for another writer). read_begin/read_end make a snapshot:
 *   every read between them sees one committed state. Both nest inside a
 *   write transaction (they do nothing there).
 * - Change feed: every committed transaction that changed documents,
 *   chunks, vectors or the graph advances change_seq, a number that only
 *   grows and that other connections see once the commit is visible. A
 *   replica polls it (and, where the back-end has it, is woken by a
 *   notification) and reloads what changed.
 * - Ordering: scans return rows in the order each op states; none other
 *   is promised.
 * - Callbacks: a scan calls fn once per row with borrowed strings (valid
 *   for that call only); fn returning < 0 stops the scan, which returns
 *   that value.
 * - Every op is required unless it says it may be NULL (the jobs).
 *
 * Thread safety: one rag_store per thread (one connection), like rag_index.
 */
#ifndef RAG_STORE_H
#define RAG_STORE_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rag_store rag_store;

/* One usage row: totals of one back-end in one month. errors_by_class and
 * hist are the usage module's own text encodings, stored as given. */
typedef struct {
    const char *backend;
    const char *month;          /* "YYYY-MM" */
    int64_t requests, errors, retries, fallbacks, tokens_in, tokens_out;
    double cost_usd;
    const char *errors_by_class;
    const char *hist;
} rag_store_usage_row;

/* One graph edge between two chunks, src < dst. */
typedef struct {
    int64_t src, dst;
    double w;
} rag_store_edge;

/* One chunk as the embedding pass needs it. */
typedef struct {
    int64_t chunk_id;
    const char *doc;            /* document path */
    const char *title;
    const char *section;
    const char *text;
    size_t n_text;
    int ord;                    /* position in its document */
} rag_store_chunk;

/* One ingestion job (back-ends that run a shared queue; SQLite has none). */
typedef struct {
    int64_t id;
    const char *path;           /* what to ingest */
    int attempts;
} rag_store_job;

typedef int (*rag_store_path_fn)(void *ctx, const char *path);
typedef int (*rag_store_id_fn)(void *ctx, int64_t id);
typedef int (*rag_store_chunk_fn)(void *ctx, const rag_store_chunk *c);
typedef int (*rag_store_edge_fn)(void *ctx, const rag_store_edge *e);
typedef int (*rag_store_usage_fn)(void *ctx, const rag_store_usage_row *row);

struct rag_store_ops {
    const char *name;           /* "sqlite", "postgres" */

    /* ---- lifetime ------------------------------------------------------ */
    /* Where the store is, for messages: a path, or a URL without password.
     * Borrowed, valid until close. */
    const char *(*location)(const rag_store *s);
    /* 1 when this connection can only read (opened read-only, or on
     * read-only storage). */
    int (*read_only)(const rag_store *s);
    /* Rolls back an open transaction, closes, frees. */
    void (*close)(rag_store *s);

    /* ---- transactions (see the contract above) ------------------------- */
    int (*begin)(rag_store *s, rag_err *err);
    /* Commits; on failure the transaction is rolled back. */
    int (*commit)(rag_store *s, rag_err *err);
    void (*rollback)(rag_store *s);          /* no-op outside a transaction */
    int (*read_begin)(rag_store *s, rag_err *err);
    void (*read_end)(rag_store *s);

    /* ---- meta (key/value) ---------------------------------------------- */
    /* Value into buf (NUL-terminated, truncated to n_buf): 1 found, 0 not
     * (buf ""), < 0 error. */
    int (*meta_get)(rag_store *s, const char *key, char *buf, size_t n_buf, rag_err *err);
    /* Insert or replace. */
    int (*meta_set)(rag_store *s, const char *key, const char *value, rag_err *err);

    /* ---- documents, pages, chunks -------------------------------------- */
    /* Document id of path: 1 and *id, or 0 when absent. */
    int (*doc_id)(rag_store *s, const char *path, int64_t *id, rag_err *err);
    /* Path of document id: 1 and *path (caller frees with rag_free), or 0. */
    int (*doc_path)(rag_store *s, int64_t id, char **path, rag_err *err);
    /* Path of the document chunk_id belongs to: 1 and *path (rag_free), or 0. */
    int (*chunk_doc_path)(rag_store *s, int64_t chunk_id, char **path, rag_err *err);
    /* Chunks stored (with or without text), counted now. */
    int (*n_chunks)(rag_store *s, int64_t *n, rag_err *err);
    /* Every document path, in id order. */
    int (*doc_paths)(rag_store *s, rag_store_path_fn fn, void *ctx, rag_err *err);
    /* Chunks in id order; with_doc = 0 leaves doc and title "" (cheaper). */
    int (*chunk_scan)(rag_store *s, int with_doc, rag_store_chunk_fn fn, void *ctx,
                      rag_err *err);
    /* One chunk as chunk_scan gives it: 1 found, 0 not. */
    int (*chunk_read)(rag_store *s, int64_t chunk_id, rag_store_chunk_fn fn, void *ctx,
                      rag_err *err);
    /* Writing documents (with their pages, chunks and postings) and the
     * chunk/page reads of search go through rag_index (index.h) today:
     * rag_index_put_doc, _remove_doc, _get_chunk, _page_at, _bm25, _stats,
     * _check are the SQLite back-end's (store_sqlite.c, bm25_*.c). */

    /* ---- BM25 postings (state only; the segment format is bm25_index.h) - */
    /* Live scored chunks and the largest docno ever given (only grows, so
     * an added or replaced chunk changes it). */
    int (*bm25_state)(rag_store *s, int64_t *n_live, int64_t *max_docno, rag_err *err);

    /* ---- vectors and the embedding cache ------------------------------- */
    /* Insert or replace the vector of chunk_id (n floats): 1 written, 0 when
     * the chunk no longer exists (nothing written). */
    int (*vector_put)(rag_store *s, int64_t chunk_id, const char *model, const float *v,
                      size_t n, rag_err *err);
    /* Delete vectors not of (model, dim); *n_removed gets how many. */
    int (*vectors_prune)(rag_store *s, const char *model, size_t dim, int64_t *n_removed,
                         rag_err *err);
    /* Chunks without a vector, in (document path, ord) order. */
    int (*vectors_missing)(rag_store *s, rag_store_id_fn fn, void *ctx, rag_err *err);
    /* Each stored model with its largest dim, the model with most vectors
     * first. */
    int (*vector_models)(rag_store *s, int (*fn)(void *ctx, const char *model, int64_t dim),
                         void *ctx, rag_err *err);
    /* The cached embedding of (model, content sha256 hex): 1 and n floats
     * copied into v when present with exactly n floats; 0 otherwise. */
    int (*cache_get)(rag_store *s, const char *model, const char sha[64], float *v,
                     size_t n, rag_err *err);
    int (*cache_put)(rag_store *s, const char *model, const char sha[64], const float *v,
                     size_t n, rag_err *err);

    /* ---- graph edges ---------------------------------------------------- */
    /* Replace every edge and the stamp (meta graph_stamp) at once: inside
     * the open transaction if any, else its own. */
    int (*graph_replace)(rag_store *s, const rag_store_edge *edges, size_t n_edges,
                         const char *stamp, rag_err *err);
    /* Edges in no particular order; 0 rows when no graph was built. */
    int (*graph_scan)(rag_store *s, rag_store_edge_fn fn, void *ctx, rag_err *err);
    /* Forget the graph (edges and stamp). */
    int (*graph_drop)(rag_store *s, rag_err *err);

    /* ---- usage rows ----------------------------------------------------- */
    /* Every row, in (backend, month) order; none on a store without them. */
    int (*usage_scan)(rag_store *s, rag_store_usage_fn fn, void *ctx, rag_err *err);
    /* The row of (backend, month) to fn: 1 found, 0 not. */
    int (*usage_get)(rag_store *s, const char *backend, const char *month,
                     rag_store_usage_fn fn, void *ctx, rag_err *err);
    /* Add the counts of delta to its (backend, month) row (created at 0)
     * and replace its errors_by_class and hist with delta's. Call inside a
     * transaction with the usage_get it merged from (one writer at a time
     * across processes, so concurrent flushes add up). */
    int (*usage_add)(rag_store *s, const rag_store_usage_row *delta, rag_err *err);

    /* ---- jobs (optional: NULL on SQLite, where ingestion is in-process) -- */
    /* Queue path; *id gets the job id. */
    int (*job_put)(rag_store *s, const char *path, int64_t *id, rag_err *err);
    /* Lease the oldest free job (or one whose lease expired) for lease_ms:
     * 1 and fn called, 0 when none. Two workers never hold one job. */
    int (*job_take)(rag_store *s, int64_t lease_ms, int (*fn)(void *ctx,
                    const rag_store_job *job), void *ctx, rag_err *err);
    /* Done (removed) in the caller's transaction, so a document is
     * ingested exactly once. */
    int (*job_done)(rag_store *s, int64_t id, rag_err *err);

    /* ---- change feed ---------------------------------------------------- */
    /* The sequence of the last committed change (0: none yet): advanced
     * once by each write transaction that changed documents, chunks,
     * vectors or the graph, inside it, so every connection reads the same
     * number once the commit is visible (a usage flush or a meta counter
     * does not move it). Cheap: meant to be polled. SQLite keeps it in
     * meta change_seq; a back-end with a change log adds one row per
     * change with this number, for replicas to replay. */
    int (*change_seq)(rag_store *s, int64_t *seq, rag_err *err);
};

struct rag_store {
    const struct rag_store_ops *ops;
};

/* ---- wrappers (required ops; an optional op is called as s->ops->x after
 * checking it is not NULL) ------------------------------------------------ */

static inline const char *rag_store_location(const rag_store *s)
{
    return s->ops->location(s);
}
static inline int rag_store_read_only(const rag_store *s)
{
    return s->ops->read_only(s);
}
static inline int rag_store_begin(rag_store *s, rag_err *err)
{
    return s->ops->begin(s, err);
}
static inline int rag_store_commit(rag_store *s, rag_err *err)
{
    return s->ops->commit(s, err);
}
static inline void rag_store_rollback(rag_store *s)
{
    s->ops->rollback(s);
}
static inline int rag_store_meta_get(rag_store *s, const char *key, char *buf, size_t n_buf,
                                     rag_err *err)
{
    return s->ops->meta_get(s, key, buf, n_buf, err);
}
static inline int rag_store_meta_set(rag_store *s, const char *key, const char *value,
                                     rag_err *err)
{
    return s->ops->meta_set(s, key, value, err);
}

#endif
