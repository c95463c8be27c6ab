/* fts5_rank.c - FTS5 auxiliary function docrag_bm25: Lucene-style BM25.
 *
 *   score = sum over phrases p of the MATCH expression of
 *           idf(p) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
 *   idf(p) = log(1 + (N - n_p + 0.5) / (n_p + 0.5))
 *   tf     = sum over columns c of w_c * (hits of p in column c)
 *   dl     = sum over columns c of w_c * (tokens in column c)
 *   avgdl  = sum over columns c of w_c * (total tokens in c) / N
 *
 * With every weight 1 a row scores as one field holding all its columns,
 * which is how the Lucene baseline indexes title + text. A phrase repeated
 * in the expression counts once per occurrence (Lucene's OR query does the
 * same). Scores are positive: ORDER BY score DESC.
 *
 * Per query, the IDFs (one xQueryPhrase pass per phrase, as FTS5's own
 * bm25() does), weights and average length are computed once and kept
 * with xSetAuxdata; per row the work is one pass over the hit list.
 */
#include "fts5.h"

#include <math.h>
#include <string.h>

struct bm25_query {
    int n_phrase;
    int n_col;
    double k1, b;
    double avgdl;
    double *idf; /* [n_phrase] */
    double *w;   /* [n_col] */
    double *tf;  /* [n_phrase] scratch */
};

static void bm25_query_free(void *p)
{
    rag_free(p);
}

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *ud)
{
    (void)api;
    (void)fts;
    (*(sqlite3_int64 *)ud)++;
    return SQLITE_OK;
}

/* Builds the per-query state; on error sets *msg (static) and returns an
 * SQLite code. */
static int bm25_setup(const Fts5ExtensionApi *api, Fts5Context *fts,
                      int n_val, sqlite3_value **val, struct bm25_query **out,
                      const char **msg)
{
    int n_phrase = api->xPhraseCount(fts);
    int n_col = api->xColumnCount(fts);
    sqlite3_int64 n_rows = 0;
    struct bm25_query *q;
    size_t n_doubles = (size_t)(2 * n_phrase + n_col);
    int rc;

    *out = NULL;
    if (n_val > 2 + n_col) {
        *msg = "docrag_bm25: more column weights than columns";
        return SQLITE_ERROR;
    }
    q = rag_malloc(sizeof *q + n_doubles * sizeof(double));
    if (!q)
        return SQLITE_NOMEM;
    q->n_phrase = n_phrase;
    q->n_col = n_col;
    q->idf = (double *)(q + 1);
    q->tf = q->idf + n_phrase;
    q->w = q->tf + n_phrase;
    q->k1 = n_val > 0 ? sqlite3_value_double(val[0]) : 1.2;
    q->b = n_val > 1 ? sqlite3_value_double(val[1]) : 0.75;
    if (!(q->k1 >= 0.0) || !(q->b >= 0.0 && q->b <= 1.0)) {
        rag_free(q);
        *msg = "docrag_bm25: need k1 >= 0 and 0 <= b <= 1";
        return SQLITE_ERROR;
    }
    for (int c = 0; c < n_col; c++) {
        q->w[c] = 2 + c < n_val ? sqlite3_value_double(val[2 + c]) : 1.0;
        if (!(q->w[c] >= 0.0)) {
            rag_free(q);
            *msg = "docrag_bm25: column weights must be >= 0";
            return SQLITE_ERROR;
        }
    }

    rc = api->xRowCount(fts, &n_rows);
    if (rc != SQLITE_OK)
        goto fail;
    if (n_rows < 1)
        n_rows = 1;
    q->avgdl = 0.0;
    for (int c = 0; c < n_col; c++) {
        sqlite3_int64 total = 0;
        if (q->w[c] == 0.0)
            continue;
        rc = api->xColumnTotalSize(fts, c, &total);
        if (rc != SQLITE_OK)
            goto fail;
        q->avgdl += q->w[c] * (double)total / (double)n_rows;
    }
    if (q->avgdl <= 0.0)
        q->avgdl = 1.0;
    for (int p = 0; p < n_phrase; p++) {
        sqlite3_int64 n_hit = 0;
        rc = api->xQueryPhrase(fts, p, &n_hit, count_row);
        if (rc != SQLITE_OK)
            goto fail;
        q->idf[p] = log(1.0 + ((double)n_rows - (double)n_hit + 0.5) /
                                  ((double)n_hit + 0.5));
    }
    *out = q;
    return SQLITE_OK;
fail:
    rag_free(q);
    return rc;
}

static void bm25_fn(const Fts5ExtensionApi *api, Fts5Context *fts,
                    sqlite3_context *ctx, int n_val, sqlite3_value **val)
{
    struct bm25_query *q = api->xGetAuxdata(fts, 0);
    int rc = SQLITE_OK, n_inst = 0;
    double dl = 0.0, score = 0.0;

    if (!q) {
        const char *msg = NULL;
        rc = bm25_setup(api, fts, n_val, val, &q, &msg);
        if (rc == SQLITE_OK)
            rc = api->xSetAuxdata(fts, q, bm25_query_free);
        if (rc != SQLITE_OK) {
            if (msg)
                sqlite3_result_error(ctx, msg, -1);
            else
                sqlite3_result_error_code(ctx, rc);
            return;
        }
    }

    memset(q->tf, 0, (size_t)q->n_phrase * sizeof q->tf[0]);
    rc = api->xInstCount(fts, &n_inst);
    for (int i = 0; rc == SQLITE_OK && i < n_inst; i++) {
        int ip, ic, io;
        rc = api->xInst(fts, i, &ip, &ic, &io);
        if (rc == SQLITE_OK && ip >= 0 && ip < q->n_phrase && ic >= 0 &&
            ic < q->n_col)
            q->tf[ip] += q->w[ic];
    }
    for (int c = 0; rc == SQLITE_OK && c < q->n_col; c++) {
        int n_tok = 0;
        if (q->w[c] == 0.0)
            continue;
        rc = api->xColumnSize(fts, c, &n_tok);
        dl += q->w[c] * (double)n_tok;
    }
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double norm = q->k1 * (1.0 - q->b + q->b * dl / q->avgdl);
    for (int p = 0; p < q->n_phrase; p++) {
        double tf = q->tf[p];
        if (tf > 0.0)
            score += q->idf[p] * tf * (q->k1 + 1.0) / (tf + norm);
    }
    sqlite3_result_double(ctx, score);
}

int rag_bm25_rank_register(sqlite3 *db, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    fts5_api *api = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EBACKEND, "fts5: SELECT fts5(?1): %s",
                        sqlite3_errmsg(db));
    sqlite3_bind_pointer(st, 1, &api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api)
        return rag_fail(err, RAG_EBACKEND,
                        "fts5: this SQLite has no FTS5 (fts5_api_ptr is NULL)");
    rc = api->xCreateFunction(api, "docrag_bm25", NULL, bm25_fn, NULL);
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EBACKEND,
                        "fts5: xCreateFunction(\"docrag_bm25\") failed: %s",
                        sqlite3_errstr(rc));
    return RAG_OK;
}
