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

int rag_search(rag_hits *out, rag_index *ix, const char *query,
               const rag_search_opts *opts, rag_err *err)
{
    rag_bm25_hit *top = NULL;
    size_t n_top = 0;
    double t0;
    int rc = RAG_OK;

    memset(out, 0, sizeof *out);
    out->mode_used = RAG_MODE_BM25;
    if (opts->mode != RAG_MODE_BM25)
        snprintf(out->notice, sizeof out->notice,
                 "--mode %s needs an embedder and none is configured; "
                 "using bm25", rag_search_mode_name(opts->mode));
    if (opts->k == 0)
        return RAG_OK;
    top = rag_calloc(opts->k, sizeof *top);
    out->items = rag_calloc(opts->k, sizeof *out->items);
    if (!top || !out->items) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for %zu results", opts->k);
        goto done;
    }
    t0 = rag_now_ms();
    rc = rag_index_bm25(ix, query, opts->k, top, &n_top, err);
    if (rc < 0)
        goto done;
    out->ms_search = rag_now_ms() - t0;
    t0 = rag_now_ms();
    for (size_t i = 0; i < n_top; i++) {
        rag_hit *h = &out->items[out->n];
        rc = rag_index_get_chunk(ix, top[i].chunk_id, &h->row, err);
        if (rc < 0)
            goto done;
        h->rank = (int)++out->n;
        h->score = top[i].score;
    }
    out->ms_fetch = rag_now_ms() - t0;
done:
    rag_free(top);
    if (rc < 0)
        rag_hits_fini(out);
    return rc;
}
