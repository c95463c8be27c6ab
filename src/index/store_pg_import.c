/* store_pg_import.c - copy a SQLite index into an empty PostgreSQL store
 * (store_pg.h): the way onto PostgreSQL for an existing index, and what
 * lets the tests compare the two back-ends on the same rows.
 *
 * Generic over columns: each table is read with SELECT * and written with
 * the column names SQLite reports, so a column added to both schemas
 * needs no change here. Values keep their SQLite storage class: integers
 * and reals as text (reals at 17 digits, exact), text as text, blobs as
 * binary BYTEA. Ids are copied, so the BIGSERIAL sequences are moved past
 * the largest id afterwards.
 */
#include "index/store_pg.h"

#include "index/index.h"
#include "index/pg_schema.h"
#include "index/store_sqlite.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char *const tables[] = {
    "documents", "pages", "chunks", "vectors", "embed_cache", "bm25_docs",
    "bm25_postings", "bm25_deleted", "graph_edges", "usage", "meta",
};

static int sqlite_has(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int copy_table(rag_pg *pg, sqlite3 *db, const char *path, const char *table,
                      int64_t *n_rows, rag_err *err)
{
    char sql[256];
    sqlite3_stmt *st;
    rag_buf ins = RAG_BUF_INIT;
    int n_cols, rc = RAG_OK, step;

    snprintf(sql, sizeof sql, "SELECT * FROM main.%s%s", table,
             !strcmp(table, "meta") ? " WHERE key <> 'schema_version'" : "");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: reading %s: %s", path, table, sqlite3_errmsg(db));
    n_cols = sqlite3_column_count(st);
    if (n_cols > 32) {
        sqlite3_finalize(st);
        return rag_fail(err, RAG_ELIMIT, "%s: %s has %d columns", path, table, n_cols);
    }
    rc = rag_buf_printf(&ins, "INSERT INTO %s(", table);
    for (int i = 0; rc == RAG_OK && i < n_cols; i++)
        rc = rag_buf_printf(&ins, "%s%s", i ? ", " : "", sqlite3_column_name(st, i));
    rc = rc == RAG_OK ? rag_buf_puts(&ins, ") VALUES (") : rc;
    for (int i = 0; rc == RAG_OK && i < n_cols; i++)
        rc = rag_buf_printf(&ins, "%s$%d", i ? ", " : "", i + 1);
    rc = rc == RAG_OK ? rag_buf_puts(&ins, ")") : rc;
    if (!strcmp(table, "meta") && rc == RAG_OK)
        rc = rag_buf_puts(&ins, " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (rc < 0) {
        sqlite3_finalize(st);
        rag_buf_fini(&ins);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    while (rc == RAG_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rag_pg_param p[32];
        char num[32][40];
        for (int i = 0; i < n_cols; i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL:
                p[i] = (rag_pg_param){NULL, 0, 0};
                break;
            case SQLITE_INTEGER:
                snprintf(num[i], sizeof num[i], "%lld", (long long)sqlite3_column_int64(st, i));
                p[i] = (rag_pg_param){num[i], 0, 0};
                break;
            case SQLITE_FLOAT:
                snprintf(num[i], sizeof num[i], "%.17g", sqlite3_column_double(st, i));
                p[i] = (rag_pg_param){num[i], 0, 0};
                break;
            case SQLITE_BLOB: {
                const void *b = sqlite3_column_blob(st, i);
                p[i] = (rag_pg_param){b ? b : "", sqlite3_column_bytes(st, i), 1};
                break;
            }
            default:
                p[i] = (rag_pg_param){(const char *)sqlite3_column_text(st, i), 0, 0};
            }
        }
        rc = rag_pg_exec(pg, NULL, ins.data, p, n_cols, 0, err);
        if (rc < 0)
            rag_err_prefix(err, "copying %s", table);
        else
            (*n_rows)++;
    }
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = rag_fail(err, RAG_EIO, "%s: reading %s: %s", path, table, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    rag_buf_fini(&ins);
    return rc;
}

int rag_store_pg_import_sqlite(rag_store *dst, struct rag_index *src, rag_err *err)
{
    rag_pg *pg;
    sqlite3 *db = rag_index_db(src);
    const char *path = rag_index_path(src);
    int64_t n_docs = 0, n_rows = 0;
    int rc;

    if (strcmp(dst->ops->name, "postgres"))
        return rag_fail(err, RAG_EINVAL, "import: %s is not a PostgreSQL store",
                        rag_store_location(dst));
    pg = rag_store_pg_conn(dst);
    {
        rag_pg_res *r;
        if ((rc = rag_pg_exec(pg, &r, "SELECT count(*) FROM documents", NULL, 0, RAG_PG_RETRY,
                              err)) < 0)
            return rc;
        n_docs = rag_pg_res_i64(r, 0, 0);
        rag_pg_res_destroy(r);
    }
    if (n_docs > 0)
        return rag_fail(err, RAG_EINVAL, "%s: import into a store that has documents (%lld)",
                        rag_pg_endpoint(pg), (long long)n_docs);
    if ((rc = rag_store_begin(dst, err)) < 0)
        return rc;
    for (size_t i = 0; rc == RAG_OK && i < sizeof tables / sizeof tables[0]; i++)
        if (sqlite_has(db, tables[i]))
            rc = copy_table(pg, db, path, tables[i], &n_rows, err);
    /* ids were given: the sequences continue past them */
    if (rc == RAG_OK)
        rc = rag_pg_exec_sql(pg,
                             "SELECT setval(pg_get_serial_sequence('documents', 'id'),"
                             " coalesce((SELECT max(id) FROM documents), 0) + 1, false);"
                             "SELECT setval(pg_get_serial_sequence('chunks', 'id'),"
                             " coalesce((SELECT max(id) FROM chunks), 0) + 1, false);"
                             "SELECT setval(pg_get_serial_sequence('bm25_docs', 'docno'),"
                             " coalesce((SELECT max(docno) FROM bm25_docs), 0) + 1, false)",
                             err);
    if (rc == RAG_OK)
        rc = rag_pg_change_log(pg, "put", 0, NULL, NULL, err);
    if (rc < 0) {
        rag_store_rollback(dst);
        return rc;
    }
    rc = rag_store_commit(dst, err);
    if (rc == RAG_OK)
        rag_log(RAG_LOG_INFO, "%s: imported %lld rows from %s", rag_pg_endpoint(pg),
                (long long)n_rows, path);
    return rc;
}
