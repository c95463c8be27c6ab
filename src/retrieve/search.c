/* search.c - the retrieval pipeline (retrieve.h): BM25 and/or dense
 * candidates, fusion, the graph boost hook, the rerank stage, rows.
 *
 * Stages that need a model (embedding the query, reranking) can fail at
 * query time (a remote back-end down, a dimension that does not match):
 * the search then goes on without that stage and says so in the notice.
 * Only database and memory errors fail a search.
 *
 * Candidate depth: BM25 alone without a reranker reads exactly k (as the
 * plain BM25 search always did); a rerank stage needs max(k, rerank_top_n)
 * candidates; hybrid reads max(that, search.candidates) from each list.
 */
#include "retrieve_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rag_hits_fini(rag_hits *hits)
{
    for (size_t i = 0; i < hits->n; i++)
        rag_chunk_row_fini(&hits->items[i].row);
    rag_free(hits->items);
    hits->items = NULL;
    hits->n = 0;
}

static void add_notice(rag_hits *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_notice(rag_hits *h, const char *fmt, ...)
{
    size_t used = strlen(h->notice);
    va_list ap;
    if (used && used + 2 < sizeof h->notice) {
        memcpy(h->notice + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= sizeof h->notice)
        return;
    va_start(ap, fmt);
    vsnprintf(h->notice + used, sizeof h->notice - used, fmt, ap);
    va_end(ap);
}

/* A stage that failed with e1: out of memory fails the search (< 0); any
 * other failure becomes the notice "<what> failed (<message>)<then>" and
 * the search goes on without the stage (0). */
static int stage_failed(rag_hits *out, const rag_err *e1, rag_err *err, const char *what,
                        const char *then)
{
    if (e1->code == RAG_ENOMEM)
        return rag_fail(err, RAG_ENOMEM, "%s", e1->msg);
    add_notice(out, "%s failed (%s)%s", what, e1->msg, then);
    return 0;
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* The dense list: embed the query, kNN. 1 = done, 0 = the stage failed
 * (notice set), <0 error. */
static int dense_stage(rag_hits *out, rag_retriever *r, const char *query, size_t depth,
                       int filtered, const int64_t *ids, size_t n_ids, rag_scored **list,
                       size_t *n_list, rag_err *err)
{
    size_t dim = rag_embedder_dim(r->embedder), vdim, n_hits = 0;
    rag_vector_filter f = {ids, n_ids, NULL, NULL};
    rag_vector_hit *vh = NULL;
    float *qv = NULL;
    rag_err e1 = {0};
    double t0;
    int rc = 1;

    *list = NULL;
    *n_list = 0;
    if (filtered && !n_ids)
        return 1;   /* the filter allows nothing (NULL ids would mean "all") */
    /* the vectors may be swapped by a reload between searches, never
     * during one: held for reading until the kNN scan is done */
    pthread_rwlock_rdlock(&r->vec_lock);
    if (!r->vectors) {
        pthread_rwlock_unlock(&r->vec_lock);
        add_notice(out, "the index has no vectors of the embedder's model");
        return 0;
    }
    vdim = rag_vector_index_dim(r->vectors);
    if (!dim) {
        pthread_rwlock_unlock(&r->vec_lock);
        add_notice(out, "embedding the query failed (the embedder cannot tell its "
                   "dimension: back-end unreachable)");
        return 0;
    }
    if (dim != vdim) {
        pthread_rwlock_unlock(&r->vec_lock);
        add_notice(out, "the embedder gives %zu dimensions, the stored vectors have %zu: "
                   "run `docrag index`", dim, vdim);
        return 0;
    }
    qv = rag_calloc(dim, sizeof *qv);
    vh = rag_calloc(depth, sizeof *vh);
    *list = rag_calloc(depth, sizeof **list);
    if (!qv || !vh || !*list) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for the dense stage");
        goto done;
    }
    t0 = rag_now_ms();
    if (rag_embedder_embed(r->embedder, &query, 1, qv, &e1) < 0) {
        out->t.embed = rag_now_ms() - t0;
        rc = stage_failed(out, &e1, err, "embedding the query", "");
        goto done;
    }
    out->t.embed = rag_now_ms() - t0;
    t0 = rag_now_ms();
    if (rag_vector_index_search(r->vectors, qv, dim, depth, filtered ? &f : NULL, vh, &n_hits,
                                &e1) < 0) {
        rc = stage_failed(out, &e1, err, "dense search", "");
        goto done;
    }
    out->t.knn = rag_now_ms() - t0;
    for (size_t i = 0; i < n_hits; i++) {
        (*list)[i].chunk_id = vh[i].chunk_id;
        (*list)[i].score = vh[i].score;
    }
    *n_list = n_hits;
done:
    pthread_rwlock_unlock(&r->vec_lock);
    rag_free(qv);
    rag_free(vh);
    if (rc <= 0) {
        rag_free(*list);
        *list = NULL;
    }
    return rc;
}

/* The graph hook: seeds are the top fused candidates, weighted by their
 * fused score; the boost then re-sorts. Failure keeps the fused order. */
static int graph_stage(rag_hits *out, rag_retriever *r, rag_cand *c, size_t n, rag_err *err)
{
    size_t n_seeds = n < 10 ? n : 10;
    int64_t *ids = rag_calloc(n, sizeof *ids), *seeds = rag_calloc(n_seeds, sizeof *seeds);
    double *ppr = rag_calloc(n, sizeof *ppr), *seed_w = rag_calloc(n_seeds, sizeof *seed_w);
    rag_err e1 = {0};
    int rc = RAG_OK;

    if (!ids || !seeds || !ppr || !seed_w) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for the graph stage");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = c[i].chunk_id;
    for (size_t i = 0; i < n_seeds; i++) {
        seeds[i] = c[i].chunk_id;
        seed_w[i] = c[i].fused;
    }
    if (r->ppr(r->ppr_ctx, seeds, seed_w, n_seeds, ids, n, ppr, &e1) < 0) {
        add_notice(out, "graph boost failed (%s); keeping the fused order", e1.msg);
        goto done;
    }
    rag_fusion_graph_boost(c, n, ppr, r->params.graph_boost);
    rag_fusion_sort(c, n, 1);
done:
    rag_free(ids);
    rag_free(seeds);
    rag_free(ppr);
    rag_free(seed_w);
    return rc;
}

/* Rerank the first n_top candidates (rows[i] is c[i]'s row); on success
 * rows are permuted along with the candidates. */
static int rerank_stage(rag_hits *out, rag_retriever *r, const char *query, rag_cand *c,
                        rag_chunk_row *rows, size_t n_top, rag_err *err)
{
    const char **texts = rag_calloc(n_top, sizeof *texts);
    float *scores = rag_calloc(n_top, sizeof *scores);
    rag_chunk_row *tmp = rag_calloc(n_top, sizeof *tmp);
    int64_t *order = rag_calloc(n_top, sizeof *order);
    rag_err e1 = {0};
    const char *by;
    int rc = RAG_OK;

    if (!texts || !scores || !tmp || !order) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for the rerank stage");
        goto done;
    }
    for (size_t i = 0; i < n_top; i++) {
        texts[i] = rows[i].text;
        order[i] = c[i].chunk_id;
    }
    if (rag_reranker_score(r->reranker, query, texts, n_top, scores, &e1) < 0) {
        rc = stage_failed(out, &e1, err, "rerank",
                          out->mode_used == RAG_MODE_HYBRID ? "; keeping the fused order"
                                                            : "; keeping the first-stage order");
        goto done;
    }
    for (size_t i = 0; i < n_top; i++)
        c[i].rerank = scores[i];
    rag_fusion_rerank(c, n_top, r->params.rerank_weight);
    /* follow the permutation: n_top is at most a few hundred */
    memcpy(tmp, rows, n_top * sizeof *tmp);
    for (size_t i = 0; i < n_top; i++)
        for (size_t j = 0; j < n_top; j++)
            if (order[j] == c[i].chunk_id) {
                rows[i] = tmp[j];
                break;
            }
    out->reranked = 1;
    by = rag_reranker_served_by(r->reranker);
    snprintf(out->rerank_backend, sizeof out->rerank_backend, "%s", by ? by : "");
done:
    rag_free(texts);
    rag_free(scores);
    rag_free(tmp);
    rag_free(order);
    return rc;
}

/* Word-set Jaccard of two passages' first 64 words of 3+ letters (lower
 * case): near-duplicates across versions of a manual score >= 0.6. */
static double passage_overlap(const char *a, const char *b)
{
    char wa[64][20], wb[64][20];
    size_t na = 0, nb = 0, inter = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *p = pass ? b : a;
        char (*w)[20] = pass ? wb : wa;
        size_t *n = pass ? &nb : &na;
        while (*p && *n < 64) {
            size_t k = 0;
            while (*p && !isalnum((unsigned char)*p))
                p++;
            while (p[k] && isalnum((unsigned char)p[k]))
                k++;
            if (k >= 3 && k < 20) {
                for (size_t i = 0; i < k; i++)
                    w[*n][i] = (char)tolower((unsigned char)p[i]);
                w[*n][k] = '\0';
                (*n)++;
            }
            p += k;
        }
    }
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(wa[i], wb[j]) == 0) {
                inter++;
                break;
            }
    return na + nb > inter ? (double)inter / (double)(na + nb - inter) : 0.0;
}

#define NEAR_DUPLICATE 0.6

/* search.prefer_newest: a passage that nearly repeats a better-ranked one
 * of another version of the same text (rag_title_same_family) is dropped,
 * and the newer document's passage takes the better rank. Returns the new
 * count; rows and candidates move together. */
static size_t prefer_newest(rag_cand *c, rag_chunk_row *rows, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < out; j++)
            if (rows[j].doc_id != rows[i].doc_id &&
                rag_title_same_family(rows[j].title, rows[i].title) &&
                passage_overlap(rows[j].text, rows[i].text) >= NEAR_DUPLICATE)
                break;
        if (j < out) {
            if (rag_doc_version_cmp(rows[i].version, rows[i].date, rows[j].version,
                                    rows[j].date) > 0) {
                rag_chunk_row t = rows[j];
                rag_cand tc = c[j];
                rows[j] = rows[i];
                rows[i] = t;
                c[j] = c[i];
                c[i] = tc;
                c[j].final = tc.final;   /* the newer passage at the better score */
            }
            rag_chunk_row_fini(&rows[i]);
            continue;
        }
        if (out != i) {
            rows[out] = rows[i];
            memset(&rows[i], 0, sizeof rows[i]);
            c[out] = c[i];
        }
        out++;
    }
    return out;
}

int rag_search(rag_hits *out, rag_index *ix, const char *query,
               const rag_search_opts *opts, rag_err *err)
{
    rag_retriever *r = opts->retriever;
    rag_search_mode mode = opts->mode;
    rag_scored *bl = NULL, *dl = NULL;
    size_t n_bl = 0, n_dl = 0, n_c = 0, need, depth, n_keep = 0, n_ids = 0;
    rag_cand *c = NULL;
    rag_chunk_row *rows = NULL;
    int64_t *ids = NULL;
    int filtered, rerank, rc = RAG_OK;
    double t_start = rag_now_ms(), t0;

    memset(out, 0, sizeof *out);
    if (mode != RAG_MODE_BM25) {
        char reason[256];
        if (!rag_retriever_dense_state(r, reason, sizeof reason)) {
            add_notice(out, "--mode %s %s; using bm25", rag_search_mode_name(mode), reason);
            mode = RAG_MODE_BM25;
        }
    }
    rerank = !opts->no_rerank && rag_retriever_has_rerank(r);
    if (!opts->no_rerank && r && r->params.rerank_top_n > 0 && r->rerank_reason[0])
        add_notice(out, "no rerank stage: %s", r->rerank_reason);
    if (mode == RAG_MODE_HYBRID && r && r->params.graph_boost > 0 && r->graph_reason[0])
        add_notice(out, "no graph boost: %s", r->graph_reason);
    out->mode_used = mode;
    if (opts->k == 0)
        goto done;
    need = rerank ? max_sz(opts->k, r->params.rerank_top_n) : opts->k;
    depth = mode == RAG_MODE_HYBRID ? max_sz(need, r->params.candidates) : need;
    filtered = opts->doc_glob || opts->page_min > 0 || opts->page_max > 0;
    if (filtered) {
        rc = rag_vector_filter_ids(&ids, &n_ids, ix, opts->doc_glob,
                                   opts->page_min, opts->page_max, err);
        if (rc < 0)
            goto done;
    }

    if (mode != RAG_MODE_BM25) {
        rc = dense_stage(out, r, query, depth, filtered, ids, n_ids, &dl, &n_dl, err);
        if (rc < 0)
            goto done;
        if (rc == 0) {
            add_notice(out, "using bm25");
            mode = out->mode_used = RAG_MODE_BM25;
            depth = need;
        }
        rc = RAG_OK;
    }
    if (mode != RAG_MODE_DENSE) {
        t0 = rag_now_ms();
        rc = rag_sparse_search(&bl, &n_bl, ix, query, depth, filtered, ids, n_ids, err);
        if (rc < 0)
            goto done;
        out->t.bm25 = rag_now_ms() - t0;
    }

    t0 = rag_now_ms();
    rc = rag_fusion_merge(&c, &n_c, bl, n_bl, dl, n_dl, err);
    if (rc < 0)
        goto done;
    if (mode == RAG_MODE_HYBRID) {
        out->fusion_used = (int)r->params.fusion;
        if (r->params.fusion == RAG_FUSION_WEIGHTED)
            rag_fusion_weighted(c, n_c, r->params.dense_weight);
        else
            rag_fusion_rrf(c, n_c, r->params.rrf_k);
        rag_fusion_sort(c, n_c, 1);
    } else {
        /* one list: merge kept its order; it ranks by its own score */
        for (size_t i = 0; i < n_c; i++)
            c[i].final = mode == RAG_MODE_DENSE ? c[i].dense : c[i].bm25;
    }
    out->t.fuse = rag_now_ms() - t0;

    /* ---- graph-boosted fusion: personalised PageRank from the fused seeds
     * over the index's chunk graph (rag_retriever_open installs
     * rag_graph_ppr; tests may install their own hook). ---- */
    if (mode == RAG_MODE_HYBRID && r->ppr && r->params.graph_boost > 0 && n_c) {
        t0 = rag_now_ms();
        rc = graph_stage(out, r, c, n_c, err);
        if (rc < 0)
            goto done;
        out->t.graph = rag_now_ms() - t0;
    }

    n_keep = n_c < need ? n_c : need;
    t0 = rag_now_ms();
    if (n_keep && !(rows = rag_calloc(n_keep, sizeof *rows))) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for %zu rows", n_keep);
        goto done;
    }
    for (size_t i = 0; i < n_keep; i++) {
        rc = rag_index_get_chunk(ix, c[i].chunk_id, &rows[i], err);
        if (rc < 0)
            goto done;
    }
    out->t.fetch = rag_now_ms() - t0;

    if (rerank && n_keep) {
        size_t n_top = n_keep < r->params.rerank_top_n ? n_keep : r->params.rerank_top_n;
        t0 = rag_now_ms();
        rc = rerank_stage(out, r, query, c, rows, n_top, err);
        if (rc < 0)
            goto done;
        out->t.rerank = rag_now_ms() - t0;
        for (size_t i = n_top; out->reranked && i < n_keep; i++)
            c[i].final = 0;
    }

    if (n_keep && r && r->params.prefer_newest)
        n_keep = prefer_newest(c, rows, n_keep);
    if (n_keep) {
        size_t n_out = n_keep < opts->k ? n_keep : opts->k;
        out->items = rag_calloc(n_out, sizeof *out->items);
        if (!out->items) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory for %zu results", n_out);
            goto done;
        }
        for (size_t i = 0; i < n_out; i++) {
            rag_hit *h = &out->items[i];
            h->rank = (int)i + 1;
            h->score = c[i].final;
            h->stages = c[i];
            h->row = rows[i];
            memset(&rows[i], 0, sizeof rows[i]);
            out->n++;
        }
    }
done:
    for (size_t i = 0; rows && i < n_keep; i++)
        rag_chunk_row_fini(&rows[i]);
    rag_free(rows);
    rag_free(c);
    rag_free(bl);
    rag_free(dl);
    rag_free(ids);
    out->t.total = rag_now_ms() - t_start;
    if (rc < 0)
        rag_hits_fini(out);
    return rc < 0 ? rc : RAG_OK;
}
