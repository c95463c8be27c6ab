/* fusion.c - score arithmetic of hybrid retrieval (fusion.h).
 *
 * Lists are short (search.candidates, default 50, each), so the merge finds
 * duplicates with a sort of the bm25 ids and a binary search rather than a
 * hash table.
 */
#include "fusion.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t id;
    size_t pos;
} id_pos;

static int cmp_id_pos(const void *a, const void *b)
{
    int64_t x = ((const id_pos *)a)->id, y = ((const id_pos *)b)->id;
    return (x > y) - (x < y);
}

static const id_pos *find_id(const id_pos *v, size_t n, int64_t id)
{
    id_pos key = {id, 0};
    return bsearch(&key, v, n, sizeof *v, cmp_id_pos);
}

int rag_fusion_merge(rag_cand **out, size_t *n_out, const rag_scored *bm25, size_t n_bm25,
                     const rag_scored *dense, size_t n_dense, rag_err *err)
{
    rag_cand *c = NULL;
    id_pos *idx = NULL;
    size_t n = 0, total;

    *out = NULL;
    *n_out = 0;
    if (n_bm25 > SIZE_MAX / 2 || n_dense > SIZE_MAX / 2 - n_bm25)
        return rag_fail(err, RAG_ELIMIT, "fusion: too many candidates");
    total = n_bm25 + n_dense;
    if (!total)
        return RAG_OK;
    c = rag_calloc(total, sizeof *c);
    idx = n_bm25 ? rag_calloc(n_bm25, sizeof *idx) : NULL;
    if (!c || (n_bm25 && !idx)) {
        rag_free(c);
        rag_free(idx);
        return rag_fail(err, RAG_ENOMEM, "fusion: out of memory for %zu candidates", total);
    }
    for (size_t i = 0; i < n_bm25; i++) {
        c[n].chunk_id = bm25[i].chunk_id;
        c[n].bm25 = bm25[i].score;
        c[n].bm25_rank = (int)i + 1;
        idx[i].id = bm25[i].chunk_id;
        idx[i].pos = n++;
    }
    if (n_bm25 > 1)
        qsort(idx, n_bm25, sizeof *idx, cmp_id_pos);
    for (size_t i = 0; i < n_dense; i++) {
        const id_pos *hit = n_bm25 ? find_id(idx, n_bm25, dense[i].chunk_id) : NULL;
        rag_cand *t = hit ? &c[hit->pos] : &c[n++];
        t->chunk_id = dense[i].chunk_id;
        t->dense = dense[i].score;
        t->dense_rank = (int)i + 1;
    }
    rag_free(idx);
    *out = c;
    *n_out = n;
    return RAG_OK;
}

void rag_fusion_rrf(rag_cand *c, size_t n, double k)
{
    for (size_t i = 0; i < n; i++) {
        double f = 0;
        if (c[i].bm25_rank > 0)
            f += 1.0 / (k + c[i].bm25_rank);
        if (c[i].dense_rank > 0)
            f += 1.0 / (k + c[i].dense_rank);
        c[i].fused = c[i].final = f;
    }
}

void rag_fusion_minmax(double *x, size_t n)
{
    double lo, hi;
    if (!n)
        return;
    lo = hi = x[0];
    for (size_t i = 1; i < n; i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    for (size_t i = 0; i < n; i++)
        x[i] = hi > lo ? (x[i] - lo) / (hi - lo) : 1.0;
}

/* min and max of one list's scores over the candidates present in it */
static void list_range(const rag_cand *c, size_t n, int dense, double *lo, double *hi)
{
    int any = 0;
    *lo = *hi = 0;
    for (size_t i = 0; i < n; i++) {
        int rank = dense ? c[i].dense_rank : c[i].bm25_rank;
        double s = dense ? c[i].dense : c[i].bm25;
        if (rank <= 0)
            continue;
        if (!any || s < *lo)
            *lo = s;
        if (!any || s > *hi)
            *hi = s;
        any = 1;
    }
}

static double norm_in(double s, double lo, double hi)
{
    return hi > lo ? (s - lo) / (hi - lo) : 1.0;
}

void rag_fusion_weighted(rag_cand *c, size_t n, double w)
{
    double blo, bhi, dlo, dhi;
    list_range(c, n, 0, &blo, &bhi);
    list_range(c, n, 1, &dlo, &dhi);
    for (size_t i = 0; i < n; i++) {
        double b = c[i].bm25_rank > 0 ? norm_in(c[i].bm25, blo, bhi) : 0;
        double d = c[i].dense_rank > 0 ? norm_in(c[i].dense, dlo, dhi) : 0;
        c[i].fused = c[i].final = w * d + (1 - w) * b;
    }
}

void rag_fusion_graph_boost(rag_cand *c, size_t n, const double *ppr, double boost)
{
    double lo, hi, pmax = 0;
    if (!n || boost <= 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (ppr[i] > pmax)
            pmax = ppr[i];
    if (pmax <= 0)
        return;
    lo = hi = c[0].fused;
    for (size_t i = 1; i < n; i++) {
        if (c[i].fused < lo)
            lo = c[i].fused;
        if (c[i].fused > hi)
            hi = c[i].fused;
    }
    for (size_t i = 0; i < n; i++) {
        double p = ppr[i] > 0 ? ppr[i] : 0;
        c[i].fused = c[i].final = norm_in(c[i].fused, lo, hi) + boost * p / pmax;
    }
}

/* present ranks first, smaller first */
static int cmp_rank(int a, int b)
{
    if (a == b)
        return 0;
    if (a <= 0)
        return 1;
    if (b <= 0)
        return -1;
    return a < b ? -1 : 1;
}

static int cmp_cand(const void *pa, const void *pb)
{
    const rag_cand *a = pa, *b = pb;
    int r;
    if (a->final != b->final)
        return a->final > b->final ? -1 : 1;
    if ((r = cmp_rank(a->rerank_rank, b->rerank_rank)) ||
        (r = cmp_rank(a->fused_rank, b->fused_rank)) ||
        (r = cmp_rank(a->bm25_rank, b->bm25_rank)) ||
        (r = cmp_rank(a->dense_rank, b->dense_rank)))
        return r;
    return (a->chunk_id > b->chunk_id) - (a->chunk_id < b->chunk_id);
}

void rag_fusion_sort(rag_cand *c, size_t n, int set_fused_rank)
{
    if (n > 1)
        qsort(c, n, sizeof *c, cmp_cand);
    for (size_t i = 0; set_fused_rank && i < n; i++)
        c[i].fused_rank = (int)i + 1;
}

typedef struct {
    double score;
    size_t pos;
} score_pos;

static int cmp_score_pos(const void *pa, const void *pb)
{
    const score_pos *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

void rag_fusion_rerank(rag_cand *c, size_t n, double w)
{
    double rlo, rhi, flo, fhi;
    score_pos small[64], *order = small;

    if (!n)
        return;
    if (n > 64 && !(order = rag_calloc(n, sizeof *order)))
        order = NULL;
    rlo = rhi = c[0].rerank;
    flo = fhi = c[0].final;
    for (size_t i = 0; i < n; i++) {
        if (c[i].rerank < rlo)
            rlo = c[i].rerank;
        if (c[i].rerank > rhi)
            rhi = c[i].rerank;
        if (c[i].final < flo)
            flo = c[i].final;
        if (c[i].final > fhi)
            fhi = c[i].final;
    }
    if (order) {
        /* rerank ranks: by raw score, ties by the incoming order */
        for (size_t i = 0; i < n; i++) {
            order[i].score = c[i].rerank;
            order[i].pos = i;
        }
        if (n > 1)
            qsort(order, n, sizeof *order, cmp_score_pos);
        for (size_t i = 0; i < n; i++)
            c[order[i].pos].rerank_rank = (int)i + 1;
        if (order != small)
            rag_free(order);
    } else {
        /* out of memory for the rank table: count, O(n^2), still exact */
        for (size_t i = 0; i < n; i++) {
            int r = 1;
            for (size_t j = 0; j < n; j++)
                if (c[j].rerank > c[i].rerank || (c[j].rerank == c[i].rerank && j < i))
                    r++;
            c[i].rerank_rank = r;
        }
    }
    for (size_t i = 0; i < n; i++)
        c[i].final = w * norm_in(c[i].rerank, rlo, rhi) + (1 - w) * norm_in(c[i].final, flo, fhi);
    if (n > 1)
        qsort(c, n, sizeof *c, cmp_cand);
}
