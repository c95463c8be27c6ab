/* store_pg.c - the PostgreSQL back-end of the storage interface (store.h;
 * what it covers: store_pg.h).
 *
 * Transactions: begin/commit nest by depth, the outermost pair is BEGIN /
 * COMMIT; a write op outside one runs in its own. read_begin takes a
 * REPEATABLE READ READ ONLY snapshot (inside a write transaction it does
 * nothing). A transaction that changed vectors or the graph gets its
 * change_log row written last, just before COMMIT.
 *
 * Orders follow the SQLite back-end byte for byte: paths and usage keys
 * compare COLLATE "C" (SQLite's BINARY), vectors and cache entries are
 * the same float bytes. Large scans page by key (1000 rows a statement)
 * so a 185k-chunk scan never holds every text in one result.
 */
#include "index/store_pg.h"

#include "index/pg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_PAGE 1000
#define EDGE_BATCH 5000

typedef struct {
    rag_store base;         /* first: casts to and from rag_store */
    rag_pg *pg;             /* owned */
    int read_only;
    int depth;              /* nested begin calls */
    int read_depth;         /* nested read_begin calls outside a write transaction */
    char changed[16];       /* change-log kind pending in this transaction, "" none */
    char owner[96];         /* this connection's name as a job worker */
} pg_store;

static pg_store *ps(rag_store *s)
{
    return (pg_store *)s;
}

static const char *pg_location(const rag_store *s)
{
    return rag_pg_endpoint(((const pg_store *)s)->pg);
}

static int pg_read_only(const rag_store *s)
{
    return ((const pg_store *)s)->read_only;
}

static int refuse_write(pg_store *q, rag_err *err)
{
    return rag_fail(err, RAG_EINVAL, "%s: opened read-only", rag_pg_endpoint(q->pg));
}

/* ---- transactions ------------------------------------------------------------ */

static int pg_begin(rag_store *s, rag_err *err)
{
    pg_store *q = ps(s);
    int rc;
    if (q->read_only)
        return refuse_write(q, err);
    if (q->depth > 0) {
        q->depth++;
        return RAG_OK;
    }
    if (q->read_depth > 0)
        return rag_fail(err, RAG_EINVAL, "%s: write transaction inside a read snapshot",
                        rag_pg_endpoint(q->pg));
    if ((rc = rag_pg_begin(q->pg, err)) < 0)
        return rc;
    q->depth = 1;
    q->changed[0] = '\0';
    return RAG_OK;
}

static int pg_commit(rag_store *s, rag_err *err)
{
    pg_store *q = ps(s);
    int rc = RAG_OK;
    if (q->depth == 0)
        return rag_fail(err, RAG_EINVAL, "%s: commit without a transaction",
                        rag_pg_endpoint(q->pg));
    if (--q->depth > 0)
        return RAG_OK;
    if (q->changed[0])
        rc = rag_pg_change_log(q->pg, q->changed, 0, NULL, NULL, err);
    q->changed[0] = '\0';
    if (rc < 0) {
        rag_pg_rollback(q->pg);
        return rc;
    }
    return rag_pg_commit(q->pg, err);
}

static void pg_rollback(rag_store *s)
{
    pg_store *q = ps(s);
    if (q->depth == 0)
        return;
    q->depth = 0;
    q->changed[0] = '\0';
    rag_pg_rollback(q->pg);
}

static int pg_read_begin(rag_store *s, rag_err *err)
{
    pg_store *q = ps(s);
    int rc;
    if (q->depth > 0)
        return RAG_OK;
    if (q->read_depth++ > 0)
        return RAG_OK;
    rc = rag_pg_begin_read(q->pg, err);
    if (rc < 0)
        q->read_depth = 0;
    return rc;
}

static void pg_read_end(rag_store *s)
{
    pg_store *q = ps(s);
    if (q->depth > 0 || q->read_depth == 0)
        return;
    if (--q->read_depth == 0)
        rag_pg_rollback(q->pg);
}

/* A write op's own transaction when the caller has none. */
static int wbegin(pg_store *q, int *own, rag_err *err)
{
    int rc;
    *own = 0;
    if (q->read_only)
        return refuse_write(q, err);
    if (q->depth > 0)
        return RAG_OK;
    if ((rc = pg_begin(&q->base, err)) < 0)
        return rc;
    *own = 1;
    return RAG_OK;
}

static int wend(pg_store *q, int own, int rc, rag_err *err)
{
    if (!own)
        return rc;
    if (rc < 0) {
        pg_rollback(&q->base);
        return rc;
    }
    {
        int c = pg_commit(&q->base, err);
        return c < 0 ? c : rc;
    }
}

static void changed(pg_store *q, const char *kind)
{
    if (!q->changed[0])
        snprintf(q->changed, sizeof q->changed, "%s", kind);
}

/* ---- helpers ---------------------------------------------------------------------- */

static int exec1(pg_store *q, rag_pg_res **out, const char *sql, const rag_pg_param *p, int n,
                 unsigned flags, rag_err *err)
{
    /* reads may be retried after a lost connection; outside a transaction
     * only (pg_conn never retries inside one) */
    return rag_pg_exec(q->pg, out, sql, p, n, flags, err);
}

static rag_pg_param text_p(const char *s)
{
    return (rag_pg_param){s, 0, 0};
}

static rag_pg_param bytes_p(const void *v, size_t n)
{
    return (rag_pg_param){v ? v : "", (int)n, 1};
}

/* ---- meta -------------------------------------------------------------------------- */

static int pg_meta_get(rag_store *s, const char *key, char *buf, size_t n_buf, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_param p[1] = {text_p(key)};
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT value FROM meta WHERE key = $1", p, 1, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    rc = rag_pg_res_rows(r) > 0;
    if (n_buf)
        snprintf(buf, n_buf, "%s", rc ? rag_pg_res_get(r, 0, 0) : "");
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_meta_set(rag_store *s, const char *key, const char *value, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_param p[2] = {text_p(key), text_p(value)};
    int own, rc = wbegin(q, &own, err);
    if (rc < 0)
        return rc;
    rc = exec1(q, NULL, "INSERT INTO meta(key, value) VALUES ($1, $2)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", p, 2, 0, err);
    return wend(q, own, rc, err);
}

/* ---- documents and chunks ------------------------------------------------------------ */

static int pg_doc_id(rag_store *s, const char *path, int64_t *id, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_param p[1] = {text_p(path)};
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT id FROM documents WHERE path = $1", p, 1, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    rc = rag_pg_res_rows(r) > 0;
    *id = rc ? rag_pg_res_i64(r, 0, 0) : 0;
    rag_pg_res_destroy(r);
    return rc;
}

static int one_text(pg_store *q, const char *sql, int64_t arg, char **out, rag_err *err)
{
    char a[24];
    rag_pg_param p[1];
    rag_pg_res *r;
    int rc;
    *out = NULL;
    snprintf(a, sizeof a, "%lld", (long long)arg);
    p[0] = text_p(a);
    if ((rc = exec1(q, &r, sql, p, 1, RAG_PG_RETRY, err)) < 0)
        return rc;
    rc = rag_pg_res_rows(r) > 0;
    if (rc && !(*out = rag_strdup(rag_pg_res_get(r, 0, 0))))
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", rag_pg_endpoint(q->pg));
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_doc_path(rag_store *s, int64_t id, char **path, rag_err *err)
{
    return one_text(ps(s), "SELECT path FROM documents WHERE id = $1", id, path, err);
}

static int pg_chunk_doc_path(rag_store *s, int64_t chunk_id, char **path, rag_err *err)
{
    return one_text(ps(s), "SELECT d.path FROM chunks c JOIN documents d ON d.id = c.doc_id"
                           " WHERE c.id = $1", chunk_id, path, err);
}

static int pg_n_chunks(rag_store *s, int64_t *n, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT count(*) FROM chunks", NULL, 0, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    *n = rag_pg_res_i64(r, 0, 0);
    rag_pg_res_destroy(r);
    return RAG_OK;
}

static int pg_doc_paths(rag_store *s, rag_store_path_fn fn, void *ctx, rag_err *err)
{
    pg_store *q = ps(s);
    char last[24] = "0";
    for (;;) {
        rag_pg_param p[1] = {text_p(last)};
        rag_pg_res *r;
        int rc = exec1(q, &r, "SELECT id, path FROM documents WHERE id > $1 ORDER BY id"
                              " LIMIT 1000", p, 1, RAG_PG_RETRY, err);
        int n;
        if (rc < 0)
            return rc;
        n = rag_pg_res_rows(r);
        for (int i = 0; i < n && rc == RAG_OK; i++)
            rc = fn(ctx, rag_pg_res_get(r, i, 1));
        if (n > 0)
            snprintf(last, sizeof last, "%s", rag_pg_res_get(r, n - 1, 0));
        rag_pg_res_destroy(r);
        if (rc < 0 || n < SCAN_PAGE)
            return rc;
    }
}

static void chunk_of(const rag_pg_res *r, int i, int with_doc, rag_store_chunk *c)
{
    c->chunk_id = rag_pg_res_i64(r, i, 0);
    c->text = rag_pg_res_get(r, i, 1);
    c->n_text = rag_pg_res_len(r, i, 1);
    c->section = rag_pg_res_get(r, i, 2);
    c->ord = (int)rag_pg_res_i64(r, i, 3);
    c->doc = with_doc ? rag_pg_res_get(r, i, 4) : "";
    c->title = with_doc ? rag_pg_res_get(r, i, 5) : "";
}

static int pg_chunk_scan(rag_store *s, int with_doc, rag_store_chunk_fn fn, void *ctx,
                         rag_err *err)
{
    pg_store *q = ps(s);
    char last[24] = "0";
    for (;;) {
        rag_pg_param p[1] = {text_p(last)};
        rag_pg_res *r;
        int rc = exec1(q, &r, with_doc
                                  ? "SELECT c.id, c.text, c.section, c.ord, d.path, d.title"
                                    " FROM chunks c JOIN documents d ON d.id = c.doc_id"
                                    " WHERE c.id > $1 ORDER BY c.id LIMIT 1000"
                                  : "SELECT id, text, section, ord FROM chunks"
                                    " WHERE id > $1 ORDER BY id LIMIT 1000",
                       p, 1, RAG_PG_RETRY, err);
        int n;
        if (rc < 0)
            return rc;
        n = rag_pg_res_rows(r);
        for (int i = 0; i < n && rc == RAG_OK; i++) {
            rag_store_chunk c;
            chunk_of(r, i, with_doc, &c);
            rc = fn(ctx, &c);
        }
        if (n > 0)
            snprintf(last, sizeof last, "%s", rag_pg_res_get(r, n - 1, 0));
        rag_pg_res_destroy(r);
        if (rc < 0 || n < SCAN_PAGE)
            return rc;
    }
}

static int pg_chunk_read(rag_store *s, int64_t chunk_id, rag_store_chunk_fn fn, void *ctx,
                         rag_err *err)
{
    pg_store *q = ps(s);
    char a[24];
    rag_pg_param p[1];
    rag_pg_res *r;
    int rc;
    snprintf(a, sizeof a, "%lld", (long long)chunk_id);
    p[0] = text_p(a);
    rc = exec1(q, &r, "SELECT c.id, c.text, c.section, c.ord, d.path, d.title"
                      " FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = $1",
               p, 1, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) > 0) {
        rag_store_chunk c;
        chunk_of(r, 0, 1, &c);
        rc = fn(ctx, &c);
        rc = rc < 0 ? rc : 1;
    }
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_bm25_state(rag_store *s, int64_t *n_live, int64_t *max_docno, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT count(*), coalesce(max(docno), 0) FROM bm25_docs", NULL, 0,
                   RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    *n_live = rag_pg_res_i64(r, 0, 0);
    *max_docno = rag_pg_res_i64(r, 0, 1);
    rag_pg_res_destroy(r);
    return RAG_OK;
}

/* ---- vectors and the embedding cache ------------------------------------------------ */

static int pg_vector_put(rag_store *s, int64_t chunk_id, const char *model, const float *v,
                         size_t n, rag_err *err)
{
    pg_store *q = ps(s);
    char id[24], dim[24];
    rag_pg_param p[4];
    rag_pg_res *r = NULL;
    int own, rc;
    if (n > 0x7fffffff / sizeof *v)
        return rag_fail(err, RAG_ELIMIT, "%s: vector too long", rag_pg_endpoint(q->pg));
    if ((rc = wbegin(q, &own, err)) < 0)
        return rc;
    snprintf(id, sizeof id, "%lld", (long long)chunk_id);
    snprintf(dim, sizeof dim, "%zu", n);
    p[0] = text_p(id);
    p[1] = text_p(model);
    p[2] = text_p(dim);
    p[3] = bytes_p(v, n * sizeof *v);
    rc = exec1(q, &r, "INSERT INTO vectors(chunk_id, model, dim, data)"
                      " SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM chunks WHERE id = $1)"
                      " ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model,"
                      " dim = excluded.dim, data = excluded.data", p, 4, 0, err);
    if (rc == RAG_OK) {
        rc = rag_pg_res_affected(r) > 0;
        if (rc)
            changed(q, "vectors");
    } else {
        rag_err_prefix(err, "writing the vector of chunk %lld", (long long)chunk_id);
    }
    rag_pg_res_destroy(r);
    return wend(q, own, rc, err);
}

static int pg_vectors_prune(rag_store *s, const char *model, size_t dim, int64_t *n_removed,
                            rag_err *err)
{
    pg_store *q = ps(s);
    char d[24];
    rag_pg_param p[2];
    rag_pg_res *r = NULL;
    int own, rc;
    *n_removed = 0;
    if ((rc = wbegin(q, &own, err)) < 0)
        return rc;
    snprintf(d, sizeof d, "%zu", dim);
    p[0] = text_p(model);
    p[1] = text_p(d);
    rc = exec1(q, &r, "DELETE FROM vectors WHERE model <> $1 OR dim <> $2", p, 2, 0, err);
    if (rc == RAG_OK) {
        *n_removed = rag_pg_res_affected(r);
        if (*n_removed > 0)
            changed(q, "vectors");
    }
    rag_pg_res_destroy(r);
    return wend(q, own, rc, err);
}

static int pg_vectors_missing(rag_store *s, rag_store_id_fn fn, void *ctx, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id"
                          " WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.chunk_id = c.id)"
                          " ORDER BY d.path COLLATE \"C\", c.ord", NULL, 0, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < rag_pg_res_rows(r) && rc == RAG_OK; i++)
        rc = fn(ctx, rag_pg_res_i64(r, i, 0));
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_vector_models(rag_store *s, int (*fn)(void *ctx, const char *model, int64_t dim),
                            void *ctx, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT model, max(dim) FROM vectors GROUP BY model"
                          " ORDER BY count(*) DESC, model COLLATE \"C\"", NULL, 0, RAG_PG_RETRY,
                   err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < rag_pg_res_rows(r) && rc == RAG_OK; i++)
        rc = fn(ctx, rag_pg_res_get(r, i, 0), rag_pg_res_i64(r, i, 1));
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_cache_get(rag_store *s, const char *model, const char sha[64], float *v, size_t n,
                        rag_err *err)
{
    pg_store *q = ps(s);
    char hex[65];
    rag_pg_param p[2];
    rag_pg_res *r;
    int rc;
    memcpy(hex, sha, 64);
    hex[64] = '\0';
    p[0] = text_p(model);
    p[1] = text_p(hex);
    rc = exec1(q, &r, "SELECT data FROM embed_cache WHERE model = $1 AND content_sha256 = $2", p,
               2, RAG_PG_RETRY | RAG_PG_BINARY, err);
    if (rc < 0)
        return rc;
    rc = rag_pg_res_rows(r) > 0 && rag_pg_res_len(r, 0, 0) == n * sizeof *v;
    if (rc)
        memcpy(v, rag_pg_res_get(r, 0, 0), n * sizeof *v);
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_cache_put(rag_store *s, const char *model, const char sha[64], const float *v,
                        size_t n, rag_err *err)
{
    pg_store *q = ps(s);
    char hex[65];
    rag_pg_param p[3];
    int own, rc;
    if (n > 0x7fffffff / sizeof *v)
        return rag_fail(err, RAG_ELIMIT, "%s: vector too long", rag_pg_endpoint(q->pg));
    memcpy(hex, sha, 64);
    hex[64] = '\0';
    if ((rc = wbegin(q, &own, err)) < 0)
        return rc;
    p[0] = text_p(model);
    p[1] = text_p(hex);
    p[2] = bytes_p(v, n * sizeof *v);
    rc = exec1(q, NULL, "INSERT INTO embed_cache(model, content_sha256, data) VALUES ($1, $2, $3)"
                        " ON CONFLICT (model, content_sha256) DO UPDATE SET data = excluded.data",
               p, 3, 0, err);
    return wend(q, own, rc, err);
}

/* ---- graph edges ------------------------------------------------------------------- */

static int put_edges(pg_store *q, const rag_store_edge *e, size_t n, rag_err *err)
{
    rag_buf a = RAG_BUF_INIT, b = RAG_BUF_INIT, w = RAG_BUF_INIT;
    rag_pg_param p[3];
    int rc = RAG_OK;
    if (rag_buf_putc(&a, '{') < 0 || rag_buf_putc(&b, '{') < 0 || rag_buf_putc(&w, '{') < 0)
        rc = RAG_ENOMEM;
    for (size_t i = 0; rc == RAG_OK && i < n; i++) {
        const char *sep = i ? "," : "";
        if (rag_buf_printf(&a, "%s%lld", sep, (long long)e[i].src) < 0 ||
            rag_buf_printf(&b, "%s%lld", sep, (long long)e[i].dst) < 0 ||
            rag_buf_printf(&w, "%s%.17g", sep, e[i].w) < 0)
            rc = RAG_ENOMEM;
    }
    if (rc == RAG_OK &&
        (rag_buf_putc(&a, '}') < 0 || rag_buf_putc(&b, '}') < 0 || rag_buf_putc(&w, '}') < 0))
        rc = RAG_ENOMEM;
    if (rc == RAG_ENOMEM)
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", rag_pg_endpoint(q->pg));
    if (rc == RAG_OK) {
        p[0] = text_p(a.data);
        p[1] = text_p(b.data);
        p[2] = text_p(w.data);
        rc = exec1(q, NULL, "INSERT INTO graph_edges(src, dst, w)"
                            " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[])",
                   p, 3, 0, err);
    }
    rag_buf_fini(&a);
    rag_buf_fini(&b);
    rag_buf_fini(&w);
    return rc;
}

static int pg_graph_replace(rag_store *s, const rag_store_edge *edges, size_t n_edges,
                            const char *stamp, rag_err *err)
{
    pg_store *q = ps(s);
    int own, rc = wbegin(q, &own, err);
    if (rc < 0)
        return rc;
    rc = exec1(q, NULL, "DELETE FROM graph_edges", NULL, 0, 0, err);
    for (size_t i = 0; rc == RAG_OK && i < n_edges; i += EDGE_BATCH)
        rc = put_edges(q, edges + i, n_edges - i < EDGE_BATCH ? n_edges - i : EDGE_BATCH, err);
    if (rc == RAG_OK)
        rc = pg_meta_set(s, "graph_stamp", stamp, err);
    if (rc == RAG_OK)
        changed(q, "graph");
    return wend(q, own, rc, err);
}

static int pg_graph_scan(rag_store *s, rag_store_edge_fn fn, void *ctx, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_res *r;
    int rc = exec1(q, &r, "SELECT src, dst, w::text FROM graph_edges", NULL, 0, RAG_PG_RETRY,
                   err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < rag_pg_res_rows(r) && rc == RAG_OK; i++) {
        rag_store_edge e = {rag_pg_res_i64(r, i, 0), rag_pg_res_i64(r, i, 1),
                            strtod(rag_pg_res_get(r, i, 2), NULL)};
        rc = fn(ctx, &e);
    }
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_graph_drop(rag_store *s, rag_err *err)
{
    pg_store *q = ps(s);
    int own, rc = wbegin(q, &own, err);
    if (rc < 0)
        return rc;
    rc = exec1(q, NULL, "DELETE FROM graph_edges", NULL, 0, 0, err);
    if (rc == RAG_OK)
        rc = exec1(q, NULL, "DELETE FROM meta WHERE key = 'graph_stamp'", NULL, 0, 0, err);
    if (rc == RAG_OK)
        changed(q, "graph");
    return wend(q, own, rc, err);
}

/* ---- usage rows ------------------------------------------------------------------------- */

#define USAGE_COLS "backend, month, requests, errors, retries, fallbacks, tokens_in," \
                   " tokens_out, cost_usd, errors_by_class, hist"

static int usage_rows(pg_store *q, const char *backend, const char *month,
                      rag_store_usage_fn fn, void *ctx, rag_err *err)
{
    rag_pg_param p[2] = {text_p(backend), text_p(month)};
    rag_pg_res *r;
    int rc = exec1(q, &r,
                   backend ? "SELECT backend, month, requests, errors, retries, fallbacks,"
                             " tokens_in, tokens_out, cost_usd::text, coalesce(errors_by_class, ''),"
                             " coalesce(hist, '') FROM usage WHERE backend = $1 AND month = $2"
                           : "SELECT backend, month, requests, errors, retries, fallbacks,"
                             " tokens_in, tokens_out, cost_usd::text, coalesce(errors_by_class, ''),"
                             " coalesce(hist, '') FROM usage"
                             " ORDER BY backend COLLATE \"C\", month COLLATE \"C\"",
                   backend ? p : NULL, backend ? 2 : 0, RAG_PG_RETRY, err);
    int n;
    if (rc < 0)
        return rc;
    n = rag_pg_res_rows(r);
    for (int i = 0; i < n && rc == RAG_OK; i++) {
        rag_store_usage_row u;
        u.backend = rag_pg_res_get(r, i, 0);
        u.month = rag_pg_res_get(r, i, 1);
        u.requests = rag_pg_res_i64(r, i, 2);
        u.errors = rag_pg_res_i64(r, i, 3);
        u.retries = rag_pg_res_i64(r, i, 4);
        u.fallbacks = rag_pg_res_i64(r, i, 5);
        u.tokens_in = rag_pg_res_i64(r, i, 6);
        u.tokens_out = rag_pg_res_i64(r, i, 7);
        u.cost_usd = strtod(rag_pg_res_get(r, i, 8), NULL);
        u.errors_by_class = rag_pg_res_get(r, i, 9);
        u.hist = rag_pg_res_get(r, i, 10);
        rc = fn(ctx, &u);
    }
    rag_pg_res_destroy(r);
    return rc < 0 ? rc : n > 0;
}

static int pg_usage_scan(rag_store *s, rag_store_usage_fn fn, void *ctx, rag_err *err)
{
    int rc = usage_rows(ps(s), NULL, NULL, fn, ctx, err);
    return rc < 0 ? rc : RAG_OK;
}

static int pg_usage_get(rag_store *s, const char *backend, const char *month,
                        rag_store_usage_fn fn, void *ctx, rag_err *err)
{
    return usage_rows(ps(s), backend, month, fn, ctx, err);
}

static int pg_usage_add(rag_store *s, const rag_store_usage_row *d, rag_err *err)
{
    pg_store *q = ps(s);
    char n[7][24], cost[40];
    rag_pg_param p[11];
    int64_t v[6] = {d->requests, d->errors, d->retries, d->fallbacks, d->tokens_in,
                    d->tokens_out};
    int own, rc;
    if ((rc = wbegin(q, &own, err)) < 0)
        return rc;
    p[0] = text_p(d->backend);
    p[1] = text_p(d->month);
    for (int i = 0; i < 6; i++) {
        snprintf(n[i], sizeof n[i], "%lld", (long long)v[i]);
        p[2 + i] = text_p(n[i]);
    }
    snprintf(cost, sizeof cost, "%.17g", d->cost_usd);
    p[8] = text_p(cost);
    p[9] = text_p(d->errors_by_class);
    p[10] = text_p(d->hist);
    rc = exec1(q, NULL, "INSERT INTO usage (" USAGE_COLS ")"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                        " ON CONFLICT (backend, month) DO UPDATE SET"
                        " requests = usage.requests + $3, errors = usage.errors + $4,"
                        " retries = usage.retries + $5, fallbacks = usage.fallbacks + $6,"
                        " tokens_in = usage.tokens_in + $7, tokens_out = usage.tokens_out + $8,"
                        " cost_usd = usage.cost_usd + $9,"
                        " errors_by_class = $10, hist = $11",
               p, 11, 0, err);
    return wend(q, own, rc, err);
}

/* ---- jobs ------------------------------------------------------------------------------ */

static int pg_job_put(rag_store *s, const char *path, int64_t *id, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_param p[1] = {text_p(path)};
    rag_pg_res *r;
    int rc;
    *id = 0;
    if (q->read_only)
        return refuse_write(q, err);
    /* a path queued again after it was done (or failed) is a new attempt;
     * while it is queued or running it stays the one job */
    rc = exec1(q, &r, "INSERT INTO jobs(key) VALUES ($1) ON CONFLICT (key) DO UPDATE"
                      " SET state = 'queued', attempts = 0, owner = NULL, lease_until = NULL,"
                      " finished_at = NULL, error = NULL"
                      " WHERE jobs.state IN ('done', 'failed') RETURNING id", p, 1, 0, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) > 0) {
        char note[24];
        rag_pg_param n[1];
        *id = rag_pg_res_i64(r, 0, 0);
        rag_pg_res_destroy(r);
        snprintf(note, sizeof note, "%lld", (long long)*id);
        n[0] = text_p(note);
        return exec1(q, NULL, "SELECT pg_notify('" RAG_PG_JOBS_CHANNEL "', $1)", n, 1,
                     RAG_PG_RETRY, err);
    }
    rag_pg_res_destroy(r);
    rc = exec1(q, &r, "SELECT id FROM jobs WHERE key = $1", p, 1, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) > 0)
        *id = rag_pg_res_i64(r, 0, 0);
    else
        rc = rag_fail(err, RAG_EBACKEND, "%s: job %s vanished while queued",
                      rag_pg_endpoint(q->pg), path);
    rag_pg_res_destroy(r);
    return rc;
}

static int pg_job_take(rag_store *s, int64_t lease_ms,
                       int (*fn)(void *ctx, const rag_store_job *job), void *ctx, rag_err *err)
{
    pg_store *q = ps(s);
    rag_pg_job job;
    int rc;
    if (q->read_only)
        return refuse_write(q, err);
    rc = rag_pg_job_claim(q->pg, q->owner, lease_ms > 0x7fffffff ? 0x7fffffff : (int)lease_ms,
                          &job, err);
    if (rc == 1) {
        rag_store_job j = {job.id, job.key, job.attempts};
        int r = fn(ctx, &j);
        rc = r < 0 ? r : 1;
    }
    rag_pg_job_fini(&job);
    return rc;
}

static int pg_job_done(rag_store *s, int64_t id, rag_err *err)
{
    pg_store *q = ps(s);
    int own, rc = wbegin(q, &own, err);
    if (rc < 0)
        return rc;
    rc = rag_pg_job_complete(q->pg, id, q->owner, err);
    return wend(q, own, rc, err);
}

/* ---- change feed ------------------------------------------------------------------------ */

static int pg_change_seq(rag_store *s, int64_t *seq, rag_err *err)
{
    return rag_pg_changes_head(ps(s)->pg, seq, err);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void pg_close(rag_store *s)
{
    pg_store *q = ps(s);
    if (!q)
        return;
    if (q->depth > 0 || q->read_depth > 0)
        rag_pg_rollback(q->pg);
    rag_pg_close(q->pg);
    rag_free(q);
}

static const struct rag_store_ops pg_ops = {
    .name = "postgres",
    .location = pg_location,
    .read_only = pg_read_only,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .doc_id = pg_doc_id,
    .doc_path = pg_doc_path,
    .chunk_doc_path = pg_chunk_doc_path,
    .n_chunks = pg_n_chunks,
    .doc_paths = pg_doc_paths,
    .chunk_scan = pg_chunk_scan,
    .chunk_read = pg_chunk_read,
    .bm25_state = pg_bm25_state,
    .vector_put = pg_vector_put,
    .vectors_prune = pg_vectors_prune,
    .vectors_missing = pg_vectors_missing,
    .vector_models = pg_vector_models,
    .cache_get = pg_cache_get,
    .cache_put = pg_cache_put,
    .graph_replace = pg_graph_replace,
    .graph_scan = pg_graph_scan,
    .graph_drop = pg_graph_drop,
    .usage_scan = pg_usage_scan,
    .usage_get = pg_usage_get,
    .usage_add = pg_usage_add,
    .job_put = pg_job_put,
    .job_take = pg_job_take,
    .job_done = pg_job_done,
    .change_seq = pg_change_seq,
};

int rag_store_pg_open(rag_store **out, const char *url, const rag_pg_opts *opts, int read_only,
                      rag_err *err)
{
    rag_pg_opts o = opts ? *opts : rag_pg_default_opts();
    pg_store *q;
    char host[64] = "";
    int rc, version = 0;

    *out = NULL;
    if (read_only)
        o.target = RAG_PG_ANY;
    q = rag_calloc(1, sizeof *q);
    if (!q)
        return rag_fail(err, RAG_ENOMEM, "postgres: out of memory");
    q->base.ops = &pg_ops;
    q->read_only = read_only;
    if ((rc = rag_pg_open(&q->pg, url, &o, err)) < 0) {
        rag_free(q);
        return rc;
    }
    if (read_only) {
        rc = rag_pg_schema_version(q->pg, &version, err);
        if (rc == RAG_OK && version == 0)
            rc = rag_fail(err, RAG_EFORMAT, "%s: no docrag schema here (index into it first)",
                          rag_pg_endpoint(q->pg));
        else if (rc == RAG_OK && version > RAG_PG_SCHEMA_VERSION)
            rc = rag_fail(err, RAG_EFORMAT, "%s: schema version %d is newer than this docrag (%d)",
                          rag_pg_endpoint(q->pg), version, RAG_PG_SCHEMA_VERSION);
    } else {
        rc = rag_pg_schema_migrate(q->pg, NULL, err);
    }
    if (rc < 0) {
        pg_close(&q->base);
        return rc;
    }
    gethostname(host, sizeof host - 1);
    snprintf(q->owner, sizeof q->owner, "%s:%ld:%p", host, (long)getpid(), (void *)q);
    *out = &q->base;
    return RAG_OK;
}

rag_pg *rag_store_pg_conn(rag_store *s)
{
    return ps(s)->pg;
}
