/* sparse.c - the BM25 stage: top ids and scores from the postings index
 * (rag_index_bm25); rows are read later, for the final hits only (reading
 * text for every match costs 3-4x on common terms,
 * reference/dependencies_measured.md §7).
 *
 * Filters (document glob, page range) are applied to a deeper BM25 list
 * rather than inside the scorer: the list is read x4 deeper each round
 * until enough allowed chunks are found, so a selective filter costs more
 * rounds but never loses a hit.
 */
#include "retrieve_int.h"

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

static int has_id(const int64_t *ids, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id)
            return 1;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int rag_sparse_search(rag_scored **out, size_t *n_out, rag_index *ix, const char *query,
                      size_t want, int filtered, const int64_t *ids, size_t n_ids,
                      rag_err *err)
{
    rag_bm25_hit *top = NULL;
    rag_scored *res = NULL;
    size_t n_top = 0, n_res = 0, depth = want, n_all;
    int rc = RAG_OK;

    *out = NULL;
    *n_out = 0;
    if (!want || (filtered && !n_ids))
        return RAG_OK;
    n_all = (size_t)(rag_index_n_chunks(ix) > 0 ? rag_index_n_chunks(ix) : 0);
    if (filtered) {
        /* start deeper than want: a filter usually drops most of the top */
        depth = want > SIZE_MAX / 4 ? SIZE_MAX : want * 4;
        if (depth < 64)
            depth = 64;
    }
    if (n_all && depth > n_all)
        depth = n_all > want ? n_all : want;
    res = rag_calloc(want, sizeof *res);
    if (!res)
        return rag_fail(err, RAG_ENOMEM, "bm25: out of memory for %zu results", want);
    for (;;) {
        rag_bm25_hit *t = rag_realloc(top, depth * sizeof *top);
        if (!t) {
            rc = rag_fail(err, RAG_ENOMEM, "bm25: out of memory for %zu candidates", depth);
            goto done;
        }
        top = t;
        rc = rag_index_bm25(ix, query, depth, top, &n_top, err);
        if (rc < 0)
            goto done;
        n_res = 0;
        for (size_t i = 0; i < n_top && n_res < want; i++) {
            if (filtered && !has_id(ids, n_ids, top[i].chunk_id))
                continue;
            res[n_res].chunk_id = top[i].chunk_id;
            res[n_res++].score = top[i].score;
        }
        /* done: enough found, the matches ran out, or every chunk was read */
        if (n_res >= want || n_top < depth || (n_all && depth >= n_all))
            break;
        depth = depth > SIZE_MAX / 4 ? SIZE_MAX : depth * 4;
        if (n_all && depth > n_all)
            depth = n_all;
    }
done:
    rag_free(top);
    if (rc < 0) {
        rag_free(res);
        return rc;
    }
    *out = res;
    *n_out = n_res;
    return RAG_OK;
}
