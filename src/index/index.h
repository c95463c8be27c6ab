/* index.h - the SQLite store: documents, pages, chunks, FTS5, vectors and
 * the embedding cache in one WAL-mode file; and the incremental indexer
 * that walks files, skips unchanged ones by sha256, replaces changed ones
 * in one transaction and removes vanished ones.
 *
 * Schema (versioned, numbered migration steps): see index_store.c; older
 * files are upgraded by the first writer that opens them. Pages are stored too (doc, page,
 * byte range) so citations can name the exact page of a sentence.
 *
 * Storage goes through the store of the index (store.h, rag_index_store);
 * no caller sees the SQLite connection (store_sqlite.h, private to
 * src/index and its tests).
 *
 * Thread safety: one rag_index (one SQLite connection) per thread.
 */
#ifndef RAG_INDEX_H
#define RAG_INDEX_H

#include "core/core.h"
#include "ingest/ingest.h"
#include "text/analyzer.h"
#include "text/chunker.h"

#include <stdint.h>

/* The schema this docrag writes, and the oldest it upgrades in place (a
 * writer, index_store.c migrations[]) or reads (a reader, through temporary
 * views where columns were added). */
#define RAG_INDEX_SCHEMA_VERSION 4
#define RAG_INDEX_SCHEMA_VERSION_STR "4"
#define RAG_INDEX_SCHEMA_OLDEST 1

typedef struct rag_index rag_index;

typedef enum {
    RAG_INDEX_READ_ONLY = 1,  /* open an existing file for reading */
    RAG_INDEX_MEMORY = 2,     /* path ignored: a private in-memory database */
} rag_index_flags;

/* Open (creating if needed, unless read-only) the database at path.
 * Caller owns *out; close with rag_index_close. Errors name the file.
 * A read-only open works on read-only storage too (a read-only file,
 * folder or mount, e.g. a container's image layer): when SQLite cannot
 * create the WAL index (-shm) there and no -wal holds uncheckpointed
 * changes, the file is read as immutable. A writer on read-only storage
 * fails with RAG_EIO saying why (rag_index_read_only_storage). */
int rag_index_open(rag_index **out, const char *path, unsigned flags,
                   rag_err *err);
/* Why an existing database at path cannot be written here: "a read-only
 * mount", "the file is not writable", "its folder is not writable" (a
 * WAL writer creates -wal and -shm beside it); NULL when it can be (or
 * does not exist). Static string. */
const char *rag_index_read_only_storage(const char *path);
void rag_index_close(rag_index *ix);
const char *rag_index_path(const rag_index *ix);
/* The storage interface of the index (store.h): borrowed, valid until close;
 * the same thread rules as the index. */
struct rag_store;
struct rag_store *rag_index_store(rag_index *ix);

/* ---- documents --------------------------------------------------------- */

typedef struct {
    const char *path;        /* key: canonical path or external id */
    const char *sha256;      /* content hash (hex) */
    int64_t mtime;
    int64_t n_bytes;
} rag_doc_meta;

/* Replace (or insert) a document with its pages and chunks, all in one
 * transaction: either every row is written or none is. */
int rag_index_put_doc(rag_index *ix, const rag_doc_meta *meta,
                      const rag_doc *doc, const rag_chunks *chunks,
                      rag_err *err);
/* Stored sha256 of path into hex; returns 1 if found, 0 if not, <0 error. */
int rag_index_doc_sha(rag_index *ix, const char *path, char hex[65],
                      rag_err *err);
/* As rag_index_doc_sha, and *meta_rev (may be NULL): the RAG_DOC_META_REV
 * that filled the row's title/version (0: before there was one). */
int rag_index_doc_state(rag_index *ix, const char *path, char hex[65], int *meta_rev,
                        rag_err *err);
/* Remove a document and its rows in one transaction. 0 if absent. */
int rag_index_remove_doc(rag_index *ix, const char *path, rag_err *err);

/* A consistent snapshot for several reads (a whole search: postings,
 * counts and chunk rows from one committed state while a writer commits
 * elsewhere). Calls nest; inside a write transaction they do nothing.
 * rag_index_read_end must follow every successful begin. */
int rag_index_read_begin(rag_index *ix, rag_err *err);
void rag_index_read_end(rag_index *ix);

/* Bulk loading (eval): wrap many put_doc calls in one transaction. */
int rag_index_begin(rag_index *ix, rag_err *err);
int rag_index_commit(rag_index *ix, rag_err *err);
void rag_index_rollback(rag_index *ix);
/* Write-transaction hooks (the PostgreSQL write-through of replica.h):
 * called around every write transaction of ix, rag_index_begin/commit's
 * and the implicit ones of put_doc, remove_doc, meta_set, optimize and the
 * store's write ops (vectors, cache, graph), which, with hooks set, run in
 * a transaction of their own when called outside one. */
typedef struct {
    /* Just after BEGIN IMMEDIATE, inside the SQLite transaction; < 0 fails
     * the begin (SQLite rolls back; the hook cleans up after itself). */
    int (*begin)(void *ctx, rag_index *ix, rag_err *err);
    /* After the pending postings are written, just before COMMIT; < 0
     * rolls the SQLite transaction back (then rollback is called). */
    int (*precommit)(void *ctx, rag_index *ix, rag_err *err);
    /* After COMMIT (committed = 1) or ROLLBACK (0) of a transaction whose
     * begin hook succeeded, a failed precommit or COMMIT included. */
    void (*end)(void *ctx, rag_index *ix, int committed);
    /* rag_index_close, or hooks replaced: ctx is no longer used (may be NULL). */
    void (*detach)(void *ctx, rag_index *ix);
} rag_index_tx_hooks;
/* Install hooks (NULL removes them; the old ones' detach is called). Not
 * inside a transaction. hooks and ctx are borrowed until detach. */
int rag_index_set_tx_hooks(rag_index *ix, const rag_index_tx_hooks *hooks, void *ctx,
                           rag_err *err);
/* Merge FTS5 segments after bulk loading. */
int rag_index_optimize(rag_index *ix, rag_err *err);

/* ---- chunks ------------------------------------------------------------ */

typedef struct {
    int64_t chunk_id;
    int64_t doc_id;
    char *doc;         /* document path */
    char *title;
    char *version;     /* as the document states it; "" when it does not */
    char *date;        /* ISO "YYYY-MM-DD" / "YYYY-MM"; "" */
    int page_start;
    int page_end;
    char *section;
    int64_t byte_start; /* into the document's extracted text */
    int64_t byte_end;
    char *text;
} rag_chunk_row;

/* Fill row for chunk_id (strings owned by row: free with
 * rag_chunk_row_fini). RAG_ENOTFOUND if absent. */
int rag_index_get_chunk(rag_index *ix, int64_t chunk_id, rag_chunk_row *row,
                        rag_err *err);
void rag_chunk_row_fini(rag_chunk_row *row);
/* The chunk delta places after chunk_id in its document (-1 the one
 * before, +1 the one after) into row, as rag_index_get_chunk.
 * RAG_ENOTFOUND when there is none. */
int rag_index_chunk_beside(rag_index *ix, int64_t chunk_id, int delta, rag_chunk_row *row,
                           rag_err *err);
/* Page of byte offset `at` in document doc_id (0 if unknown). */
int rag_index_page_at(rag_index *ix, int64_t doc_id, int64_t at, rag_err *err);

/* ---- BM25 ----------------------------------------------------------------- */

typedef struct {
    int64_t chunk_id;
    double score;    /* Lucene-style BM25, k1 = 1.2, b = 0.75; higher is better */
} rag_bm25_hit;

/* Top k chunks for a free-text query: the query is analysed like
 * rag_analyzer_match_expr (the same terms, repeated words counted twice)
 * and scored over the postings index term-at-a-time. Scores equal FTS5's
 * docrag_bm25 over the same MATCH expression. hits must hold k entries;
 * *n_hits gets how many were filled, best first (ties: the earlier indexed first). */
int rag_index_bm25(rag_index *ix, const char *query, size_t k, rag_bm25_hit *hits,
                   size_t *n_hits, rag_err *err);
/* The index's analyzer (borrowed; same thread rules as the index). */
rag_analyzer *rag_index_analyzer(rag_index *ix);
/* Score scratch of rag_index_bm25, kept by the handle across queries (one
 * allocation per session, not a calloc and an mmap/munmap of ~1.5 MB per
 * query on a 185k-chunk index): *acc gets n doubles, all 0, and *touched n
 * slots. The caller puts back to 0 every acc entry it set before it calls
 * again. Borrowed; freed by rag_index_close. */
int rag_index_bm25_scratch(rag_index *ix, size_t n, double **acc, uint32_t **touched,
                           rag_err *err);
/* The postings buffer of rag_index_bm25, kept by the handle like the score
 * scratch: at least n_bytes (its contents kept when it grows; *cap_bytes
 * gets the size), or NULL with err set. Borrowed; freed by rag_index_close. */
void *rag_index_bm25_postbuf(rag_index *ix, size_t n_bytes, size_t *cap_bytes, rag_err *err);
/* Postings segments; rag_index_optimize merges them into one. */
int64_t rag_index_segments(rag_index *ix);

/* ---- meta (key/value) ---------------------------------------------------- */

/* Value of key into buf (NUL-terminated, truncated to n_buf). Returns 1 if
 * found, 0 if not (buf gets ""), <0 on a database error naming the file. */
int rag_index_meta_get(rag_index *ix, const char *key, char *buf, size_t n_buf,
                       rag_err *err);
/* Insert or replace key = value (inside the open transaction, if any). */
int rag_index_meta_set(rag_index *ix, const char *key, const char *value, rag_err *err);

/* ---- statistics -------------------------------------------------------- */

typedef struct {
    int64_t n_documents;
    int64_t n_chunks;
    int64_t n_pages;
    int64_t n_text_bytes;
    int64_t n_vectors;
    int64_t n_cache_entries;
    int64_t db_bytes;
    int schema_version;
    char embed_model[128];   /* "" when none (meta embed_model) */
    int64_t embed_dim;       /* meta embed_dim; 0 when none */
    int64_t n_cache_lookups; /* cumulative, by rag_embed_index (meta) */
    int64_t n_cache_hits;    /* of those, served without inference */
    struct { char kind[16]; int64_t n; } kinds[8];
    int n_kinds;
} rag_index_stats;

int rag_index_stats_get(rag_index *ix, rag_index_stats *out, rag_err *err);
/* Only n_documents, n_chunks and n_pages of the above (the rest zero):
 * index lookups, without the walks over every chunk text and vector that
 * the full stats make (what a server's /ready and info need). */
int rag_index_counts_get(rag_index *ix, rag_index_stats *out, rag_err *err);

/* ---- consistency check ------------------------------------------------- */

typedef struct {
    char check[16];       /* the group: "sqlite", "schema", "documents", "pages",
                             "chunks", "bm25", "fts", "vectors", "counts" */
    char message[256];    /* what is wrong, with a count and an example id */
} rag_check_problem;

typedef struct {
    rag_check_problem *problems;   /* owned; free with rag_check_report_fini */
    size_t n_problems;
    size_t n_unlisted;             /* more problems found than listed (100) */
    int64_t n_documents, n_pages, n_chunks, n_vectors;
    int64_t n_terms, n_postings;   /* BM25 postings decoded */
} rag_check_report;

/* Check the file (PRAGMA integrity_check) and docrag's own invariants
 * (index_check.c lists them) on one snapshot; works on a read-only
 * connection. Problems go to *out (none = consistent), a damaged file
 * included: the return is < 0 only when the check cannot run (RAG_ENOMEM,
 * or no read transaction). Reads everything: seconds on a large index. */
int rag_index_check(rag_index *ix, rag_check_report *out, rag_err *err);
void rag_check_report_fini(rag_check_report *r);

/* Number of chunks containing analysed term (for IDF), and N. */
int rag_index_term_docs(rag_index *ix, const char *term, int64_t *n_docs,
                        rag_err *err);
int64_t rag_index_n_chunks(rag_index *ix);

/* ---- the incremental indexer ------------------------------------------- */

typedef struct {
    rag_extract_opts extract;
    rag_chunk_opts chunk;
    int remove_vanished;   /* remove stored docs under the roots that are gone */
} rag_indexer_opts;

typedef struct {
    size_t n_seen;         /* files found by the walk */
    size_t n_added;
    size_t n_updated;
    size_t n_unchanged;
    size_t n_removed;
    size_t n_failed;
    size_t n_chunks;       /* chunks written */
    size_t n_pages;        /* pages extracted */
    double seconds;
} rag_indexer_report;

/* Options from the configuration (chunk.*, ingest.*). */
struct rag_config;
rag_indexer_opts rag_indexer_opts_from_config(const struct rag_config *cfg);

/* Progress and per-file problems; any callback may be NULL. */
typedef struct {
    void (*on_file)(void *ctx, const char *path, const char *action,
                    size_t n_done, size_t n_total);
    void (*on_error)(void *ctx, const char *path, const rag_err *err);
    void *ctx;
} rag_indexer_events;

/* Index files and folders. A file that fails is reported through
 * on_error and counted; indexing goes on and the index keeps its last
 * good state for that file. Returns <0 only for errors of the database. */
int rag_indexer_run(rag_index *ix, const char *const *paths, size_t n_paths,
                    const rag_indexer_opts *opts,
                    const rag_indexer_events *events,
                    rag_indexer_report *report, rag_err *err);

#endif
