/* store_sqlite.c - the SQLite back-end of the storage interface (store.h).
 *
 * The store lives on the connection of its rag_index (index_store.c opens
 * the file, creates and migrates the schema, and writes documents with
 * their pages, chunks and postings); this file holds the rest of the ops
 * over that connection. Transactions and meta go through the index, so a
 * caller's write transaction and the index's own (with its pending BM25
 * segment) are one and the same.
 *
 * Statements are prepared per call: the callers here (embedding pass,
 * graph build, usage flush, listings) do far more work per row than a
 * prepare costs (a few microseconds).
 */
#include "store_sqlite.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rag_store base;        /* first: casts to and from rag_store */
    rag_index *ix;         /* borrowed: the owner */
    sqlite3 *db;           /* borrowed: the owner's connection */
    int read_only;
} sqlite_store;

static sqlite_store *sq(rag_store *s)
{
    return (sqlite_store *)s;
}

static int fail(sqlite_store *q, rag_err *err, const char *what)
{
    return rag_fail(err, RAG_EIO, "%s: %s: %s", rag_index_path(q->ix), what,
                    sqlite3_errmsg(q->db));
}

static int prepare(sqlite_store *q, const char *sql, sqlite3_stmt **st, rag_err *err,
                   const char *what)
{
    if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return fail(q, err, what);
    }
    return RAG_OK;
}

/* Step a statement that returns no rows; finalize it. */
static int step_done(sqlite_store *q, sqlite3_stmt *st, rag_err *err, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? RAG_OK : fail(q, err, what);
    sqlite3_finalize(st);
    return rc;
}

static const char *text_of(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static int exec(sqlite_store *q, const char *sql, rag_err *err, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = rag_fail(err, RAG_EIO, "%s: %s: %s", rag_index_path(q->ix), what,
                          msg ? msg : sqlite3_errmsg(q->db));
        sqlite3_free(msg);
        return rc;
    }
    return RAG_OK;
}

/* ---- lifetime, transactions, meta ------------------------------------------ */

static const char *sq_location(const rag_store *s)
{
    return rag_index_path(((const sqlite_store *)s)->ix);
}

static int sq_read_only(const rag_store *s)
{
    return ((const sqlite_store *)s)->read_only;
}

static void sq_close(rag_store *s)
{
    rag_free(s);
}

static int sq_begin(rag_store *s, rag_err *err)
{
    return rag_index_begin(sq(s)->ix, err);
}

static int sq_commit(rag_store *s, rag_err *err)
{
    return rag_index_commit(sq(s)->ix, err);
}

static void sq_rollback(rag_store *s)
{
    rag_index_rollback(sq(s)->ix);
}

static int sq_read_begin(rag_store *s, rag_err *err)
{
    return rag_index_read_begin(sq(s)->ix, err);
}

static void sq_read_end(rag_store *s)
{
    rag_index_read_end(sq(s)->ix);
}

static int sq_meta_get(rag_store *s, const char *key, char *buf, size_t n_buf, rag_err *err)
{
    return rag_index_meta_get(sq(s)->ix, key, buf, n_buf, err);
}

static int sq_meta_set(rag_store *s, const char *key, const char *value, rag_err *err)
{
    return rag_index_meta_set(sq(s)->ix, key, value, err);
}

/* ---- documents and chunks ------------------------------------------------------ */

static int sq_doc_id(rag_store *s, const char *path, int64_t *id, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT id FROM documents WHERE path = ?1", &st, err, "documents");
    if (rc < 0)
        return rc;
    *id = 0;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : fail(q, err, "documents");
    sqlite3_finalize(st);
    return rc;
}

/* The one text column of a one-row query with one int64 parameter. */
static int one_text(sqlite_store *q, const char *sql, int64_t arg, char **out, rag_err *err,
                    const char *what)
{
    sqlite3_stmt *st;
    int rc = prepare(q, sql, &st, err, what);
    if (rc < 0)
        return rc;
    *out = NULL;
    sqlite3_bind_int64(st, 1, arg);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = rag_strdup(text_of(st, 0));
        rc = *out ? 1 : rag_fail(err, RAG_ENOMEM, "%s: out of memory", rag_index_path(q->ix));
    } else {
        rc = rc == SQLITE_DONE ? 0 : fail(q, err, what);
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_doc_path(rag_store *s, int64_t id, char **path, rag_err *err)
{
    return one_text(sq(s), "SELECT path FROM documents WHERE id = ?1", id, path, err,
                    "documents");
}

static int sq_chunk_doc_path(rag_store *s, int64_t chunk_id, char **path, rag_err *err)
{
    return one_text(sq(s), "SELECT d.path FROM chunks c JOIN documents d ON d.id = c.doc_id"
                    " WHERE c.id = ?1", chunk_id, path, err, "chunks");
}

static void doc_of(sqlite3_stmt *st, rag_store_doc *d)
{
    d->id = sqlite3_column_int64(st, 0);
    d->path = text_of(st, 1);
    d->title = text_of(st, 2);
    d->kind = text_of(st, 3);
    d->n_pages = sqlite3_column_int64(st, 4);
    d->sha256 = text_of(st, 5);
    d->n_bytes = sqlite3_column_int64(st, 6);
    d->added_at = sqlite3_column_int64(st, 7);
    d->n_chunks = sqlite3_column_int64(st, 8);
    d->n_vectors = sqlite3_column_int64(st, 9);
    d->version = text_of(st, 10);
    d->doc_date = text_of(st, 11);
}

/* documents is a temporary view with version and doc_date for a reader of
 * a schema-1 file (index_store.c), so the columns are always there. */
#define DOC_SQL                                                                    \
    "SELECT d.id, d.path, d.title, d.kind, d.n_pages, d.sha256, d.n_bytes,"       \
    " d.added_at, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id),"          \
    " (SELECT count(*) FROM chunks c JOIN vectors v ON v.chunk_id = c.id"          \
    "  WHERE c.doc_id = d.id), d.version, d.doc_date FROM documents d"

static int sq_doc_list(rag_store *s, int64_t id, rag_store_doc_fn fn, void *ctx, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, id ? DOC_SQL " WHERE d.id = ?1" : DOC_SQL " ORDER BY d.id", &st, err,
                     "documents");
    int step, n = 0;
    if (rc < 0)
        return rc;
    if (id)
        sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rag_store_doc d;
        doc_of(st, &d);
        n++;
        if ((rc = fn(ctx, &d)) < 0)
            break;
    }
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "documents");
    sqlite3_finalize(st);
    return rc < 0 ? rc : id ? n > 0 : RAG_OK;
}

static int sq_doc_by_sha(rag_store *s, const char *sha, int64_t *id, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT id FROM documents WHERE sha256 = ?1 ORDER BY id LIMIT 1", &st,
                     err, "documents");
    if (rc < 0)
        return rc;
    *id = 0;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : fail(q, err, "documents");
    sqlite3_finalize(st);
    return rc;
}

static int sq_page_span(rag_store *s, int64_t doc_id, int page, int64_t *byte_start,
                        int64_t *byte_end, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT byte_start, byte_end FROM pages WHERE doc_id = ?1 AND page = ?2",
                     &st, err, "pages");
    if (rc < 0)
        return rc;
    *byte_start = *byte_end = 0;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_int(st, 2, page);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *byte_start = sqlite3_column_int64(st, 0);
        *byte_end = sqlite3_column_int64(st, 1);
    }
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : fail(q, err, "pages");
    sqlite3_finalize(st);
    return rc;
}

static int sq_doc_spans(rag_store *s, int64_t doc_id, int64_t lo, int64_t hi,
                        rag_store_span_fn fn, void *ctx, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT byte_start, byte_end, text FROM chunks WHERE doc_id = ?1"
                        " AND byte_end > ?2 AND byte_start < ?3 ORDER BY byte_start",
                     &st, err, "chunks");
    int step;
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                     text_of(st, 2), (size_t)sqlite3_column_bytes(st, 2))) < 0)
            break;
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "chunks");
    sqlite3_finalize(st);
    return rc;
}

static int sq_n_chunks(rag_store *s, int64_t *n, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT count(*) FROM chunks", &st, err, "count chunks");
    if (rc < 0)
        return rc;
    *n = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = fail(q, err, "count chunks");
    sqlite3_finalize(st);
    return rc;
}

static int sq_doc_paths(rag_store *s, rag_store_path_fn fn, void *ctx, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT path FROM documents ORDER BY id", &st, err, "documents");
    int step;
    if (rc < 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(ctx, text_of(st, 0))) < 0)
            break;
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "documents");
    sqlite3_finalize(st);
    return rc;
}

static void chunk_of(sqlite3_stmt *st, int with_doc, rag_store_chunk *c)
{
    c->chunk_id = sqlite3_column_int64(st, 0);
    c->text = text_of(st, 1);
    c->n_text = (size_t)sqlite3_column_bytes(st, 1);
    c->section = text_of(st, 2);
    c->ord = sqlite3_column_int(st, 3);
    c->doc = with_doc ? text_of(st, 4) : "";
    c->title = with_doc ? text_of(st, 5) : "";
}

static int sq_chunk_scan(rag_store *s, int with_doc, rag_store_chunk_fn fn, void *ctx,
                         rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, with_doc
                            ? "SELECT c.id, c.text, c.section, c.ord, d.path, d.title"
                              " FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY c.id"
                            : "SELECT id, text, section, ord FROM chunks ORDER BY id",
                     &st, err, "reading chunks");
    int step;
    if (rc < 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rag_store_chunk c;
        chunk_of(st, with_doc, &c);
        if ((rc = fn(ctx, &c)) < 0)
            break;
    }
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "reading chunks");
    sqlite3_finalize(st);
    return rc;
}

static int sq_chunk_read(rag_store *s, int64_t chunk_id, rag_store_chunk_fn fn, void *ctx,
                         rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT c.id, c.text, c.section, c.ord, d.path, d.title"
                        " FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?1",
                     &st, err, "reading chunks");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, chunk_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rag_store_chunk c;
        chunk_of(st, 1, &c);
        rc = fn(ctx, &c);
        rc = rc < 0 ? rc : 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : fail(q, err, "reading chunks");
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_bm25_state(rag_store *s, int64_t *n_live, int64_t *max_docno, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT count(*), coalesce(max(docno), 0) FROM bm25_docs", &st, err,
                     "reading bm25_docs");
    if (rc < 0)
        return rc;
    *n_live = *max_docno = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n_live = sqlite3_column_int64(st, 0);
        *max_docno = sqlite3_column_int64(st, 1);
    } else {
        rc = fail(q, err, "reading bm25_docs");
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- vectors and the embedding cache ----------------------------------------- */

static int sq_vector_put_here(rag_store *s, int64_t chunk_id, const char *model, const float *v,
                         size_t n, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "INSERT OR REPLACE INTO vectors(chunk_id, model, dim, data)"
                        " SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?1)",
                     &st, err, "writing vectors");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, chunk_id);
    sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)n);
    sqlite3_bind_blob(st, 4, v, (int)(n * sizeof *v), SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = rag_fail(err, RAG_EIO, "%s: writing the vector of chunk %lld: %s",
                      rag_index_path(q->ix), (long long)chunk_id, sqlite3_errmsg(q->db));
    else
        rc = sqlite3_changes(q->db) > 0;
    sqlite3_finalize(st);
    if (rc > 0) {
        int r = rag_index_sqlite_changed(q->ix, err);
        if (r < 0)
            return r;
    }
    return rc;
}

static int sq_vectors_prune_here(rag_store *s, const char *model, size_t dim, int64_t *n_removed,
                            rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "DELETE FROM vectors WHERE model <> ?1 OR dim <> ?2", &st, err,
                     "vectors");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)dim);
    *n_removed = 0;
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fail(q, err, "vectors");
    else
        *n_removed = sqlite3_changes(q->db);
    sqlite3_finalize(st);
    if (rc == RAG_OK && *n_removed > 0)
        rc = rag_index_sqlite_changed(q->ix, err);
    return rc;
}

static int sq_vectors_missing(rag_store *s, rag_store_id_fn fn, void *ctx, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id"
                        " WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.chunk_id = c.id)"
                        " ORDER BY d.path, c.ord", &st, err, "list chunks");
    int step;
    if (rc < 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(ctx, sqlite3_column_int64(st, 0))) < 0)
            break;
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "list chunks");
    sqlite3_finalize(st);
    return rc;
}

static int sq_vector_models(rag_store *s,
                            int (*fn)(void *ctx, const char *model, int64_t dim), void *ctx,
                            rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT model, max(dim) FROM vectors GROUP BY model"
                        " ORDER BY count(*) DESC", &st, err, "reading the vectors table");
    int step;
    if (rc < 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(ctx, text_of(st, 0), sqlite3_column_int64(st, 1))) < 0)
            break;
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "reading the vectors table");
    sqlite3_finalize(st);
    return rc;
}

static int sq_cache_get(rag_store *s, const char *model, const char sha[64], float *v,
                        size_t n, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT data FROM embed_cache WHERE model = ?1 AND content_sha256 = ?2",
                     &st, err, "embedding cache");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha, 64, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == n * sizeof *v) {
        memcpy(v, sqlite3_column_blob(st, 0), n * sizeof *v);
        rc = 1;
    } else {
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(q, err, "embedding cache");
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_cache_put_here(rag_store *s, const char *model, const char sha[64], const float *v,
                        size_t n, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "INSERT OR REPLACE INTO embed_cache(model, content_sha256, data)"
                        " VALUES(?1, ?2, ?3)", &st, err, "embedding cache");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha, 64, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, v, (int)(n * sizeof *v), SQLITE_STATIC);
    return step_done(q, st, err, "embedding cache");
}

/* ---- graph edges ---------------------------------------------------------------- */

static int has_table(sqlite_store *q, const char *name, rag_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", &st,
                     err, "schema");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : fail(q, err, "schema");
    sqlite3_finalize(st);
    return rc;
}

static int sq_graph_replace_here(rag_store *s, const rag_store_edge *edges, size_t n_edges,
                            const char *stamp, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = exec(q, "SAVEPOINT graph_replace", err, "graph")) < 0)
        return rc;
    rc = exec(q, "DELETE FROM graph_edges", err, "graph");
    if (rc == RAG_OK)
        rc = prepare(q, "INSERT INTO graph_edges(src, dst, w) VALUES(?1, ?2, ?3)", &st, err,
                     "graph: insert");
    for (size_t i = 0; rc == RAG_OK && i < n_edges; i++) {
        sqlite3_bind_int64(st, 1, edges[i].src);
        sqlite3_bind_int64(st, 2, edges[i].dst);
        sqlite3_bind_double(st, 3, edges[i].w);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = rag_fail(err, RAG_EIO, "%s: graph: inserting edge %lld-%lld: %s",
                          rag_index_path(q->ix), (long long)edges[i].src,
                          (long long)edges[i].dst, sqlite3_errmsg(q->db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == RAG_OK)
        rc = rag_index_meta_set(q->ix, "graph_stamp", stamp, err);
    if (rc == RAG_OK)
        rc = rag_index_sqlite_changed(q->ix, err);
    if (rc == RAG_OK)
        return exec(q, "RELEASE graph_replace", err, "graph");
    sqlite3_exec(q->db, "ROLLBACK TO graph_replace", NULL, NULL, NULL);
    sqlite3_exec(q->db, "RELEASE graph_replace", NULL, NULL, NULL);
    return rc;
}

static int sq_graph_scan(rag_store *s, rag_store_edge_fn fn, void *ctx, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = has_table(q, "graph_edges", err), step;
    if (rc <= 0)
        return rc;
    if ((rc = prepare(q, "SELECT src, dst, w FROM graph_edges", &st, err, "graph")) < 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rag_store_edge e = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                            sqlite3_column_double(st, 2)};
        if ((rc = fn(ctx, &e)) < 0)
            break;
    }
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "graph");
    sqlite3_finalize(st);
    return rc;
}

static int sq_graph_drop_here(rag_store *s, rag_err *err)
{
    sqlite_store *q = sq(s);
    int rc = has_table(q, "graph_edges", err);
    if (rc < 0)
        return rc;
    return exec(q, rc ? "DELETE FROM graph_edges; DELETE FROM meta WHERE key = 'graph_stamp';"
                      : "DELETE FROM meta WHERE key = 'graph_stamp';", err, "graph");
}

/* ---- usage rows ------------------------------------------------------------------ */

static void usage_of(sqlite3_stmt *st, rag_store_usage_row *r)
{
    r->backend = text_of(st, 0);
    r->month = text_of(st, 1);
    r->requests = sqlite3_column_int64(st, 2);
    r->errors = sqlite3_column_int64(st, 3);
    r->retries = sqlite3_column_int64(st, 4);
    r->fallbacks = sqlite3_column_int64(st, 5);
    r->tokens_in = sqlite3_column_int64(st, 6);
    r->tokens_out = sqlite3_column_int64(st, 7);
    r->cost_usd = sqlite3_column_double(st, 8);
    r->errors_by_class = text_of(st, 9);
    r->hist = text_of(st, 10);
}

#define USAGE_COLS "backend, month, requests, errors, retries, fallbacks, tokens_in," \
                   " tokens_out, cost_usd, errors_by_class, hist"

static int usage_rows(sqlite_store *q, const char *backend, const char *month,
                      rag_store_usage_fn fn, void *ctx, rag_err *err)
{
    sqlite3_stmt *st;
    int rc = has_table(q, "usage", err), step, n = 0;
    if (rc <= 0)
        return rc;
    rc = prepare(q, backend ? "SELECT " USAGE_COLS " FROM usage WHERE backend = ?1"
                              " AND month = ?2"
                            : "SELECT " USAGE_COLS " FROM usage ORDER BY backend, month",
                 &st, err, "usage table");
    if (rc < 0)
        return rc;
    if (backend) {
        sqlite3_bind_text(st, 1, backend, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rag_store_usage_row r;
        usage_of(st, &r);
        n++;
        if ((rc = fn(ctx, &r)) < 0)
            break;
    }
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = fail(q, err, "usage table");
    sqlite3_finalize(st);
    return rc < 0 ? rc : n > 0;
}

static int sq_usage_scan(rag_store *s, rag_store_usage_fn fn, void *ctx, rag_err *err)
{
    int rc = usage_rows(sq(s), NULL, NULL, fn, ctx, err);
    return rc < 0 ? rc : RAG_OK;
}

static int sq_usage_get(rag_store *s, const char *backend, const char *month,
                        rag_store_usage_fn fn, void *ctx, rag_err *err)
{
    return usage_rows(sq(s), backend, month, fn, ctx, err);
}

static int sq_usage_add(rag_store *s, const rag_store_usage_row *d, rag_err *err)
{
    sqlite_store *q = sq(s);
    sqlite3_stmt *st;
    int rc = prepare(q, "INSERT INTO usage (" USAGE_COLS ")"
                    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
                    " ON CONFLICT (backend, month) DO UPDATE SET"
                    " requests=requests+?3, errors=errors+?4, retries=retries+?5,"
                    " fallbacks=fallbacks+?6, tokens_in=tokens_in+?7,"
                    " tokens_out=tokens_out+?8, cost_usd=cost_usd+?9,"
                    " errors_by_class=?10, hist=?11", &st, err, "usage table");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, d->backend, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->month, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, d->requests);
    sqlite3_bind_int64(st, 4, d->errors);
    sqlite3_bind_int64(st, 5, d->retries);
    sqlite3_bind_int64(st, 6, d->fallbacks);
    sqlite3_bind_int64(st, 7, d->tokens_in);
    sqlite3_bind_int64(st, 8, d->tokens_out);
    sqlite3_bind_double(st, 9, d->cost_usd);
    sqlite3_bind_text(st, 10, d->errors_by_class, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, d->hist, -1, SQLITE_STATIC);
    return step_done(q, st, err, "usage table");
}

/* ---- change feed ------------------------------------------------------------------ */

/* meta change_seq: advanced inside each write transaction that changed
 * documents, chunks, vectors or the graph (rag_index_sqlite_changed), so
 * every connection reads the same number once the commit is visible. */
static int sq_change_seq(rag_store *s, int64_t *seq, rag_err *err)
{
    char v[32];
    int rc = rag_index_meta_get(sq(s)->ix, "change_seq", v, sizeof v, err);
    if (rc < 0)
        return rc;
    *seq = rc ? strtoll(v, NULL, 10) : 0;
    return RAG_OK;
}

/* ---- write ops in a transaction of their own when hooks want one ------------ */

static int sq_vector_put(rag_store *s, int64_t chunk_id, const char *model, const float *v,
                         size_t n, rag_err *err)
{
    int own, rc = rag_index_auto_begin(sq(s)->ix, &own, err);
    if (rc < 0)
        return rc;
    return rag_index_auto_end(sq(s)->ix, own, sq_vector_put_here(s, chunk_id, model, v, n, err),
                              err);
}

static int sq_vectors_prune(rag_store *s, const char *model, size_t dim, int64_t *n_removed,
                            rag_err *err)
{
    int own, rc = rag_index_auto_begin(sq(s)->ix, &own, err);
    if (rc < 0)
        return rc;
    return rag_index_auto_end(sq(s)->ix, own, sq_vectors_prune_here(s, model, dim, n_removed, err),
                              err);
}

static int sq_cache_put(rag_store *s, const char *model, const char sha[64], const float *v,
                        size_t n, rag_err *err)
{
    int own, rc = rag_index_auto_begin(sq(s)->ix, &own, err);
    if (rc < 0)
        return rc;
    return rag_index_auto_end(sq(s)->ix, own, sq_cache_put_here(s, model, sha, v, n, err), err);
}

static int sq_graph_replace(rag_store *s, const rag_store_edge *edges, size_t n_edges,
                            const char *stamp, rag_err *err)
{
    int own, rc = rag_index_auto_begin(sq(s)->ix, &own, err);
    if (rc < 0)
        return rc;
    return rag_index_auto_end(sq(s)->ix, own,
                              sq_graph_replace_here(s, edges, n_edges, stamp, err), err);
}

static int sq_graph_drop(rag_store *s, rag_err *err)
{
    int own, rc = rag_index_auto_begin(sq(s)->ix, &own, err);
    if (rc < 0)
        return rc;
    return rag_index_auto_end(sq(s)->ix, own, sq_graph_drop_here(s, err), err);
}

static const struct rag_store_ops sqlite_ops = {
    .name = "sqlite",
    .location = sq_location,
    .read_only = sq_read_only,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .doc_id = sq_doc_id,
    .doc_path = sq_doc_path,
    .chunk_doc_path = sq_chunk_doc_path,
    .doc_list = sq_doc_list,
    .doc_by_sha = sq_doc_by_sha,
    .page_span = sq_page_span,
    .doc_spans = sq_doc_spans,
    .n_chunks = sq_n_chunks,
    .doc_paths = sq_doc_paths,
    .chunk_scan = sq_chunk_scan,
    .chunk_read = sq_chunk_read,
    .bm25_state = sq_bm25_state,
    .vector_put = sq_vector_put,
    .vectors_prune = sq_vectors_prune,
    .vectors_missing = sq_vectors_missing,
    .vector_models = sq_vector_models,
    .cache_get = sq_cache_get,
    .cache_put = sq_cache_put,
    .graph_replace = sq_graph_replace,
    .graph_scan = sq_graph_scan,
    .graph_drop = sq_graph_drop,
    .usage_scan = sq_usage_scan,
    .usage_get = sq_usage_get,
    .usage_add = sq_usage_add,
    .job_put = NULL,
    .job_take = NULL,
    .job_done = NULL,
    .change_seq = sq_change_seq,
};

int rag_store_sqlite_create(rag_store **out, rag_index *ix, sqlite3 *db, int read_only,
                            rag_err *err)
{
    sqlite_store *q = rag_calloc(1, sizeof *q);
    *out = NULL;
    if (!q)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", rag_index_path(ix));
    q->base.ops = &sqlite_ops;
    q->ix = ix;
    q->db = db;
    q->read_only = read_only || sqlite3_db_readonly(db, "main") == 1;
    *out = &q->base;
    return RAG_OK;
}
