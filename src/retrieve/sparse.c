/* sparse.c - BM25 search through FTS5.
 *
 * The top k ids and scores come from FTS5 first; rows are read afterwards
 * for those k only (reading text for every match costs 3-4x on common
 * terms, reference/dependencies_measured.md §7).
 */
#include "retrieve.h"

#include <stdio.h>
#include <string.h>

int rag_search_mode_parse(const char *s)
{
    if (!strcmp(s, "bm25"))
        return RAG_MODE_BM25;
    if (!strcmp(s, "dense"))
        return RAG_MODE_DENSE;
    if (!strcmp(s, "hybrid"))
        return RAG_MODE_HYBRID;
    return -1;
}

const char *rag_search_mode_name(rag_search_mode m)
{
    switch (m) {
    case RAG_MODE_DENSE: return "dense";
    case RAG_MODE_HYBRID: return "hybrid";
    default: return "bm25";
    }
}

void rag_hits_fini(rag_hits *hits)
{
    for (size_t i = 0; i < hits->n; i++)
        rag_chunk_row_fini(&hits->items[i].row);
    rag_free(hits->items);
    hits->items = NULL;
    hits->n = 0;
}

int rag_search(rag_hits *out, rag_index *ix, rag_analyzer *an, const char *query,
               const rag_search_opts *opts, rag_err *err)
{
    rag_buf expr = RAG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = rag_index_db(ix);
    double t0;
    int rc;

    memset(out, 0, sizeof *out);
    out->mode_used = RAG_MODE_BM25;
    if (opts->mode != RAG_MODE_BM25)
        snprintf(out->notice, sizeof out->notice,
                 "--mode %s needs an embedder and none is configured; "
                 "using bm25", rag_search_mode_name(opts->mode));
    if (opts->k == 0)
        return RAG_OK;
    rc = rag_analyzer_match_expr(an, &expr, query, err);
    if (rc < 0)
        goto done;
    if (expr.len == 0)
        goto done;
    out->items = rag_calloc(opts->k, sizeof *out->items);
    if (!out->items) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for %zu results", opts->k);
        goto done;
    }
    t0 = rag_now_ms();
    if (sqlite3_prepare_v2(db,
            "SELECT rowid, docrag_bm25(chunks_fts) AS s FROM chunks_fts"
            " WHERE chunks_fts MATCH ?1 ORDER BY s DESC LIMIT ?2", -1, &st,
            NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "%s: search: %s", rag_index_path(ix),
                      sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_text(st, 1, expr.data, (int)expr.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)opts->k);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < opts->k) {
        rag_hit *h = &out->items[out->n++];
        h->rank = (int)out->n;
        h->row.chunk_id = sqlite3_column_int64(st, 0);
        h->score = sqlite3_column_double(st, 1);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = rag_fail(err, RAG_EIO, "%s: search: %s", rag_index_path(ix),
                      sqlite3_errmsg(db));
        out->n = 0;
        goto done;
    }
    out->ms_search = rag_now_ms() - t0;
    t0 = rag_now_ms();
    for (size_t i = 0; i < out->n; i++) {
        int64_t id = out->items[i].row.chunk_id;
        rc = rag_index_get_chunk(ix, id, &out->items[i].row, err);
        if (rc < 0) {
            out->n = i;
            goto done;
        }
    }
    out->ms_fetch = rag_now_ms() - t0;
    rc = RAG_OK;
done:
    sqlite3_finalize(st);
    rag_buf_fini(&expr);
    if (rc < 0)
        rag_hits_fini(out);
    return rc < 0 ? rc : RAG_OK;
}
