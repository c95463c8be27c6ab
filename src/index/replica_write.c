/* replica_write.c - write-through: the attached writer's transactions
 * applied to PostgreSQL and logged (replica_int.h; the design: replica.c). */
#include "replica_int.h"

#include "index/store_sqlite.h"

#include <stdio.h>
#include <string.h>

/* ---- write-through ------------------------------------------------------------- */

/* The SQL value of v as a statement parameter; num: scratch for numbers. */
static void value_param(sqlite3_value *v, rag_pg_param *p, char num[32])
{
    switch (v ? sqlite3_value_type(v) : SQLITE_NULL) {
    case SQLITE_INTEGER:
        snprintf(num, 32, "%lld", (long long)sqlite3_value_int64(v));
        *p = (rag_pg_param){num, 0, 0};
        break;
    case SQLITE_FLOAT:
        snprintf(num, 32, "%.17g", sqlite3_value_double(v));
        *p = (rag_pg_param){num, 0, 0};
        break;
    case SQLITE_TEXT:
        *p = (rag_pg_param){sqlite3_value_text(v), 0, 0};
        break;
    case SQLITE_BLOB: {
        int n = sqlite3_value_bytes(v);
        const void *b = sqlite3_value_blob(v);
        *p = (rag_pg_param){n && b ? b : "", n, 1};
        break;
    }
    default:
        *p = (rag_pg_param){NULL, 0, 0};
        break;
    }
}

typedef struct {
    char kind[16];
    int64_t doc_id;
    char path[512];
    int seen[N_TABLES];
    int doc_insert, doc_delete;
} change_summary;

/* Column i of the row a change leaves (an update's unchanged columns:
 * their old values). */
static sqlite3_value *col_value(sqlite3_changeset_iter *it, int op, int i)
{
    sqlite3_value *v = NULL;
    if (op != SQLITE_DELETE)
        sqlite3changeset_new(it, i, &v);
    if (!v && op != SQLITE_INSERT)
        sqlite3changeset_old(it, i, &v);
    return v;
}

/* One UPDATE of table t to PostgreSQL (the changed columns). */
static int pg_update(rag_replica *r, const struct table *t, sqlite3_changeset_iter *it,
                     rag_err *err)
{
    rag_pg_param p[24];
    char num[24][32];
    rag_buf sql = RAG_BUF_INIT;
    rag_pg_res *res = NULL;
    int n_p = 0, n_set = 0, rc = RAG_OK;

    rc = rag_buf_printf(&sql, "UPDATE %s SET ", t->name);
    for (int i = t->n_pk; rc == RAG_OK && i < t->n_cols; i++) {
        sqlite3_value *v = NULL;
        sqlite3changeset_new(it, i, &v);
        if (!v)
            continue;   /* unchanged */
        value_param(v, &p[n_p], num[n_p]);
        n_p++;
        rc = rag_buf_printf(&sql, "%s%s = $%d", n_set++ ? ", " : "", t->cols[i], n_p);
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(&sql, " WHERE ");
    for (int i = 0; rc == RAG_OK && i < t->n_pk; i++) {
        sqlite3_value *v = NULL;
        sqlite3changeset_old(it, i, &v);
        value_param(v, &p[n_p], num[n_p]);
        n_p++;
        rc = rag_buf_printf(&sql, "%s%s = $%d", i ? " AND " : "", t->cols[i], n_p);
    }
    if (n_set == 0) {
        rag_buf_fini(&sql);
        return RAG_OK;
    }
    if (rc < 0) {
        rag_buf_fini(&sql);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    rc = rag_pg_exec(r->wpg, &res, sql.data, p, n_p, 0, err);
    if (rc < 0)
        rag_err_prefix(err, "write-through to %s", t->name);
    if (rc == RAG_OK && rag_pg_res_affected(res) != 1)
        rc = rag_fail(err, RAG_EBACKEND,
                      "%s: write-through: the row updated in %s is not in PostgreSQL (the "
                      "copy was not at the store's state)",
                      r->endpoint, t->name);
    rag_pg_res_destroy(res);
    rag_buf_fini(&sql);
    return rc;
}

/* ---- batched statements: many rows of one table in one round trip ---- */

#define BATCH_MAX_PARAMS 20000
#define BATCH_MAX_BYTES (8u << 20)

typedef struct {
    rag_replica *r;
    const struct table *t;
    int deletes;           /* DELETE ... WHERE key IN (...); else an upsert */
    rag_pg_param *p;       /* BATCH_MAX_PARAMS */
    int n_p, n_rows;
    size_t n_bytes;
    rag_arena *a;          /* the values: an iterator's are gone at its next row */
} batch;

static int batch_init(batch *b, rag_replica *r, rag_err *err)
{
    memset(b, 0, sizeof *b);
    b->r = r;
    b->p = rag_malloc(BATCH_MAX_PARAMS * sizeof *b->p);
    b->a = rag_arena_create(1 << 16);
    if (!b->p || !b->a) {
        rag_free(b->p);
        rag_arena_destroy(b->a);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    return RAG_OK;
}

static void batch_fini(batch *b)
{
    rag_free(b->p);
    rag_arena_destroy(b->a);
}

/* Append v as the next parameter, copied into the arena. */
static int batch_value(batch *b, sqlite3_value *v)
{
    char num[32];
    rag_pg_param *p = &b->p[b->n_p++];
    const void *src = NULL;
    size_t n = 0;
    int binary = 0;
    char *copy;

    switch (v ? sqlite3_value_type(v) : SQLITE_NULL) {
    case SQLITE_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%lld", (long long)sqlite3_value_int64(v));
        src = num;
        break;
    case SQLITE_FLOAT:
        n = (size_t)snprintf(num, sizeof num, "%.17g", sqlite3_value_double(v));
        src = num;
        break;
    case SQLITE_TEXT:
        src = sqlite3_value_text(v);
        n = (size_t)sqlite3_value_bytes(v);
        break;
    case SQLITE_BLOB:
        src = sqlite3_value_blob(v);
        n = (size_t)sqlite3_value_bytes(v);
        binary = 1;
        break;
    default:
        *p = (rag_pg_param){NULL, 0, 0};
        return RAG_OK;
    }
    if (!(copy = rag_arena_alloc(b->a, n + 1)))
        return RAG_ENOMEM;
    if (n)
        memcpy(copy, src, n);
    copy[n] = '\0';
    b->n_bytes += n + 1;
    *p = (rag_pg_param){copy, (int)n, binary};
    return RAG_OK;
}

static int batch_flush(batch *b, rag_err *err)
{
    const struct table *t = b->t;
    rag_buf sql = RAG_BUF_INIT;
    int rc = RAG_OK, k = 0;

    if (b->n_rows == 0)
        return RAG_OK;
    if (b->deletes) {
        rc = rag_buf_printf(&sql, "DELETE FROM %s WHERE (", t->name);
        for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
            rc = rag_buf_printf(&sql, "%s%s", i ? ", " : "", t->cols[i]);
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, ") IN (");
        for (int row = 0; rc == RAG_OK && row < b->n_rows; row++) {
            rc = rag_buf_puts(&sql, row ? ", (" : "(");
            for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
                rc = rag_buf_printf(&sql, "%s$%d", i ? ", " : "", ++k);
            if (rc == RAG_OK)
                rc = rag_buf_putc(&sql, ')');
        }
        if (rc == RAG_OK)
            rc = rag_buf_putc(&sql, ')');
    } else {
        rc = rag_buf_printf(&sql, "INSERT INTO %s(", t->name);
        for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
            rc = rag_buf_printf(&sql, "%s%s", i ? ", " : "", t->cols[i]);
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, ") VALUES ");
        for (int row = 0; rc == RAG_OK && row < b->n_rows; row++) {
            rc = rag_buf_puts(&sql, row ? ", (" : "(");
            for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
                rc = rag_buf_printf(&sql, "%s$%d", i ? ", " : "", ++k);
            if (rc == RAG_OK)
                rc = rag_buf_putc(&sql, ')');
        }
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, " ON CONFLICT (");
        for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
            rc = rag_buf_printf(&sql, "%s%s", i ? ", " : "", t->cols[i]);
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, t->n_pk == t->n_cols ? ") DO NOTHING" : ") DO UPDATE SET ");
        for (int i = t->n_pk; rc == RAG_OK && i < t->n_cols; i++)
            rc = rag_buf_printf(&sql, "%s%s = excluded.%s", i > t->n_pk ? ", " : "", t->cols[i],
                                t->cols[i]);
    }
    if (rc < 0)
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    else if ((rc = rag_pg_exec(b->r->wpg, NULL, sql.data, b->p, b->n_p, 0, err)) < 0)
        rag_err_prefix(err, "write-through to %s (%d rows)", t->name, b->n_rows);
    rag_buf_fini(&sql);
    b->n_p = b->n_rows = 0;
    b->n_bytes = 0;
    rag_arena_destroy(b->a);
    b->a = rag_arena_create(1 << 16);
    if (rc == RAG_OK && !b->a)
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    return rc;
}

/* Add the row of change it (op) to the batch of table t. */
static int batch_add(batch *b, const struct table *t, int deletes, sqlite3_changeset_iter *it,
                     int op, rag_err *err)
{
    int n = deletes ? t->n_pk : t->n_cols, rc = RAG_OK;
    if (b->t != t || b->deletes != deletes || b->n_p + n > BATCH_MAX_PARAMS ||
        b->n_bytes > BATCH_MAX_BYTES) {
        if ((rc = batch_flush(b, err)) < 0)
            return rc;
        b->t = t;
        b->deletes = deletes;
    }
    for (int i = 0; rc == RAG_OK && i < n; i++)
        rc = batch_value(b, col_value(it, op, i));
    if (rc < 0)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    b->n_rows++;
    return RAG_OK;
}

/* Apply changeset cs to the PostgreSQL tables (inside the open
 * transaction of wpg): deletes in reverse table order, then inserts and
 * updates in table order (foreign keys). Fills *sum. */
static int pg_apply(rag_replica *r, const void *cs, int n_cs, change_summary *sum, rag_err *err)
{
    batch b;
    int rc = batch_init(&b, r, err);
    memset(sum, 0, sizeof *sum);
    if (rc < 0)
        return rc;
    for (int pass = 0; pass < 2 * (int)N_TABLES && rc == RAG_OK; pass++) {
        int deletes = pass < (int)N_TABLES;
        size_t ti = deletes ? N_TABLES - 1 - (size_t)pass : (size_t)pass - N_TABLES;
        const struct table *t = &rep_tables[ti];
        sqlite3_changeset_iter *it;
        if (sqlite3changeset_start(&it, n_cs, (void *)cs) != SQLITE_OK)
            return rag_fail(err, RAG_EFORMAT, "%s: damaged changeset", r->mirror);
        while (rc == RAG_OK && sqlite3changeset_next(it) == SQLITE_ROW) {
            const char *tab;
            int n_col, op, indirect;
            sqlite3_value *k = NULL;
            sqlite3changeset_op(it, &tab, &n_col, &op, &indirect);
            if (strcmp(tab, t->name) || (op == SQLITE_DELETE) != deletes)
                continue;
            if (n_col != t->n_cols) {
                rc = rag_fail(err, RAG_EFORMAT, "%s: %s has %d columns, expected %d",
                              r->mirror, tab, n_col, t->n_cols);
                break;
            }
            if (ti == T_META) {
                if (op == SQLITE_INSERT)
                    sqlite3changeset_new(it, 0, &k);
                else
                    sqlite3changeset_old(it, 0, &k);
                if (k && rep_local_key((const char *)sqlite3_value_text(k),
                                   (size_t)sqlite3_value_bytes(k)))
                    continue;
            }
            sum->seen[ti] = 1;
            if (ti == T_DOCUMENTS) {
                sqlite3_value *v = NULL;
                if (op == SQLITE_DELETE) {
                    sum->doc_delete = 1;
                    sqlite3changeset_old(it, 1, &v);
                } else {
                    sum->doc_insert = 1;
                    sqlite3changeset_new(it, 1, &v);
                    if (!v)
                        sqlite3changeset_old(it, 1, &v);
                }
                if (v && sqlite3_value_type(v) == SQLITE_TEXT &&
                    (!sum->path[0] || op != SQLITE_DELETE))
                    snprintf(sum->path, sizeof sum->path, "%s", sqlite3_value_text(v));
                v = NULL;
                if (op == SQLITE_DELETE)
                    sqlite3changeset_old(it, 0, &v);
                else if (sqlite3changeset_new(it, 0, &v) != SQLITE_OK || !v)
                    sqlite3changeset_old(it, 0, &v);
                if (v && (!sum->doc_id || op != SQLITE_DELETE))
                    sum->doc_id = sqlite3_value_int64(v);
            }
            if (op == SQLITE_UPDATE && ti != T_META) {
                /* rare (a document id reused): its own statement, in order */
                if ((rc = batch_flush(&b, err)) == RAG_OK)
                    rc = pg_update(r, t, it, err);
            } else {
                rc = batch_add(&b, t, deletes, it, op, err);
            }
        }
        sqlite3changeset_finalize(it);
        if (rc == RAG_OK)
            rc = batch_flush(&b, err);
    }
    batch_fini(&b);
    snprintf(sum->kind, sizeof sum->kind, "%s",
             sum->doc_insert                 ? "put"
             : sum->doc_delete               ? "remove"
             : sum->seen[T_VECTORS]          ? "vectors"
             : sum->seen[T_GRAPH]            ? "graph"
             : sum->seen[T_POSTINGS] && !sum->seen[T_BM25_DOCS] ? "optimize"
                                             : "meta");
    return rc;
}

static int hook_begin(void *ctx, rag_index *ix, rag_err *err)
{
    rag_replica *r = ctx;
    sqlite3 *db = rag_index_db(ix);
    int need_full = 0, rc;

    if (rep_get_need_full(r))
        return rag_fail(err, RAG_EIO,
                        "%s: the local copy of %s needs a full copy first (the follower makes "
                        "it); nothing written",
                        r->mirror, r->endpoint);
    if ((rc = rag_pg_begin(r->wpg, err)) < 0)
        goto fail;
    /* the change-log lock, to COMMIT: one writer across every replica, and
     * no change logged by anyone while this one writes */
    rc = rag_pg_exec_sql(r->wpg, "SELECT pg_advisory_xact_lock(" RAG_PG_CHANGES_LOCK ")", err);
    if (rc == RAG_OK)
        rc = rep_apply_pending(r, r->wpg, db, 1, &need_full, err);
    if (rc >= 0 && need_full) {
        rep_set_need_full(r, 1);
        rc = rag_fail(err, RAG_EIO,
                      "%s: the local copy of %s is behind a change it cannot replay: it needs a "
                      "full copy (the follower makes it); nothing written",
                      r->mirror, r->endpoint);
    }
    if (rc >= 0) {
        rc = sqlite3session_create(db, "main", &r->sess) == SQLITE_OK ? RAG_OK : RAG_ENOMEM;
        for (size_t i = 0; rc == RAG_OK && i < N_TABLES; i++)
            if (sqlite3session_attach(r->sess, rep_tables[i].name) != SQLITE_OK)
                rc = RAG_EIO;
        if (rc < 0)
            rc = rag_fail(err, rc, "%s: cannot record the changes (session): %s", r->mirror,
                          sqlite3_errmsg(db));
    }
    if (rc >= 0)
        return RAG_OK;
fail:
    if (r->sess) {
        sqlite3session_delete(r->sess);
        r->sess = NULL;
    }
    rag_pg_rollback(r->wpg);
    rep_set_state_err(r, rc, err);
    return rc;
}

static int hook_precommit(void *ctx, rag_index *ix, rag_err *err)
{
    rag_replica *r = ctx;
    sqlite3 *db = rag_index_db(ix);
    void *cs = NULL;
    int n_cs = 0, rc;
    int64_t seq = 0;

    if (!r->sess)
        return rag_fail(err, RAG_EINVAL, "%s: commit without a recorded begin", r->mirror);
    rc = sqlite3session_changeset(r->sess, &n_cs, &cs) == SQLITE_OK
             ? RAG_OK
             : rag_fail(err, RAG_ENOMEM, "%s: cannot take the changes (session)", r->mirror);
    sqlite3session_delete(r->sess);
    r->sess = NULL;
    if (rc == RAG_OK && n_cs > 0) {
        change_summary sum;
        rc = pg_apply(r, cs, n_cs, &sum, err);
        if (rc == RAG_OK)
            rc = rag_pg_change_log_cs(r->wpg, sum.kind, sum.doc_id, sum.path, cs, (size_t)n_cs,
                                      &seq, err);
    }
    for (size_t i = 0; rc == RAG_OK && i < r->n_jobs; i++)
        rc = rag_pg_job_complete(r->wpg, r->jobs[i].id, r->jobs[i].owner, err);
    if (rc == RAG_OK && seq)
        rc = rep_meta_put_i64(db, "pg_applied_seq", seq, err);
    if (rc == RAG_OK)
        rc = rag_pg_commit(r->wpg, err);
    else
        rag_pg_rollback(r->wpg);
    sqlite3_free(cs);
    r->n_jobs = 0;
    if (rc < 0) {
        rep_set_state_err(r, rc, err);
        return rc;
    }
    r->pending_seq = seq;
    return RAG_OK;
}

static void hook_end(void *ctx, rag_index *ix, int committed)
{
    rag_replica *r = ctx;
    (void)ix;
    if (r->sess) {
        sqlite3session_delete(r->sess);
        r->sess = NULL;
    }
    rag_pg_rollback(r->wpg);   /* no-op when committed or gone */
    r->n_jobs = 0;
    if (committed && r->pending_seq) {
        pthread_mutex_lock(&r->mu);
        if (r->pending_seq > r->st.applied_seq)
            r->st.applied_seq = r->pending_seq;
        if (r->pending_seq > r->st.head_seq)
            r->st.head_seq = r->pending_seq;
        r->st.reachable = 1;
        r->st.error[0] = '\0';
        pthread_mutex_unlock(&r->mu);
    }
    r->pending_seq = 0;
}

static void hook_detach(void *ctx, rag_index *ix)
{
    rag_replica *r = ctx;
    if (r->wix == ix) {
        r->wix = NULL;
        r->n_jobs = 0;   /* a completion no commit carried does not ride on the next writer */
    }
}

static const rag_index_tx_hooks write_through = {
    .begin = hook_begin,
    .precommit = hook_precommit,
    .end = hook_end,
    .detach = hook_detach,
};

int rag_replica_attach(rag_replica *r, struct rag_index *ix, rag_err *err)
{
    int rc;
    if (r->read_only)
        return rag_fail(err, RAG_EINVAL, "%s: a read-only replica has no writer", r->endpoint);
    if (!ix)
        return rag_fail(err, RAG_EINVAL, "%s: no index to attach", r->endpoint);
    if (r->wix && r->wix != ix)
        return rag_fail(err, RAG_EINVAL, "%s: a writer is attached already", r->endpoint);
    if (strcmp(rag_index_path(ix), r->mirror))
        return rag_fail(err, RAG_EINVAL, "%s: the writer is open on %s, not on the local copy %s",
                        r->endpoint, rag_index_path(ix), r->mirror);
    if (!r->wpg && (rc = rag_pg_open(&r->wpg, r->url, &r->opts, err)) < 0)
        return rc;
    if ((rc = rag_index_set_tx_hooks(ix, &write_through, r, err)) < 0)
        return rc;
    r->wix = ix;
    return RAG_OK;
}

