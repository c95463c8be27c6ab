/* test_fusion.c - the fusion arithmetic against hand-computed values
 * (docs/retrieval.md gives the formulas). */
#include "test_support.h"

#include "retrieve/fusion.h"

#include <string.h>

#define A 101
#define B 102
#define C 103
#define D 104

static const rag_scored bm25[] = {{A, 10}, {B, 8}, {C, 6}};
static const rag_scored dense[] = {{C, 0.9}, {D, 0.8}, {A, 0.7}};

static rag_cand *find(rag_cand *c, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].chunk_id == id)
            return &c[i];
    fail_msg("chunk %lld not among the candidates", (long long)id);
    return NULL;
}

static void test_fusion__merge_is_the_union_with_ranks_per_list(void **state)
{
    rag_cand *c;
    size_t n;
    (void)state;
    assert_int_equal(rag_fusion_merge(&c, &n, bm25, 3, dense, 3, NULL), RAG_OK);
    assert_int_equal(n, 4);
    /* bm25 order first, then dense-only */
    assert_int_equal(c[0].chunk_id, A);
    assert_int_equal(c[1].chunk_id, B);
    assert_int_equal(c[2].chunk_id, C);
    assert_int_equal(c[3].chunk_id, D);
    assert_int_equal(c[0].bm25_rank, 1);
    assert_int_equal(c[0].dense_rank, 3);
    assert_int_equal(c[1].dense_rank, 0);
    assert_int_equal(c[2].bm25_rank, 3);
    assert_int_equal(c[2].dense_rank, 1);
    assert_int_equal(c[3].bm25_rank, 0);
    assert_int_equal(c[3].dense_rank, 2);
    assert_true(c[2].dense == 0.9 && c[2].bm25 == 6);
    rag_free(c);

    assert_int_equal(rag_fusion_merge(&c, &n, NULL, 0, NULL, 0, NULL), RAG_OK);
    assert_int_equal(n, 0);
    assert_null(c);
}

static void test_fusion__rrf_sums_reciprocal_ranks(void **state)
{
    rag_cand *c;
    size_t n;
    (void)state;
    assert_int_equal(rag_fusion_merge(&c, &n, bm25, 3, dense, 3, NULL), RAG_OK);
    rag_fusion_rrf(c, n, 60);
    assert_float_equal(find(c, n, A)->fused, 1.0 / 61 + 1.0 / 63, 1e-12);
    assert_float_equal(find(c, n, B)->fused, 1.0 / 62, 1e-12);
    assert_float_equal(find(c, n, C)->fused, 1.0 / 63 + 1.0 / 61, 1e-12);
    assert_float_equal(find(c, n, D)->fused, 1.0 / 62, 1e-12);
    rag_fusion_sort(c, n, 1);
    /* A and C tie (A has the better BM25 rank); B and D tie (B is in BM25) */
    assert_int_equal(c[0].chunk_id, A);
    assert_int_equal(c[1].chunk_id, C);
    assert_int_equal(c[2].chunk_id, B);
    assert_int_equal(c[3].chunk_id, D);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(c[i].fused_rank, (int)i + 1);
    rag_free(c);

    /* k matters: k = 1 gives 1/2 + 1/4 for A */
    assert_int_equal(rag_fusion_merge(&c, &n, bm25, 3, dense, 3, NULL), RAG_OK);
    rag_fusion_rrf(c, n, 1);
    assert_float_equal(find(c, n, A)->fused, 0.5 + 0.25, 1e-12);
    rag_free(c);
}

static void test_fusion__weighted_mixes_min_max_normalised_scores(void **state)
{
    rag_cand *c;
    size_t n;
    (void)state;
    assert_int_equal(rag_fusion_merge(&c, &n, bm25, 3, dense, 3, NULL), RAG_OK);
    rag_fusion_weighted(c, n, 0.75);
    /* bm25 norm: A 1, B 0.5, C 0; dense norm: C 1, D 0.5, A 0 */
    assert_float_equal(find(c, n, A)->fused, 0.25, 1e-12);
    assert_float_equal(find(c, n, B)->fused, 0.125, 1e-12);
    assert_float_equal(find(c, n, C)->fused, 0.75, 1e-12);
    assert_float_equal(find(c, n, D)->fused, 0.375, 1e-12);
    rag_fusion_sort(c, n, 1);
    assert_int_equal(c[0].chunk_id, C);
    assert_int_equal(c[1].chunk_id, D);
    assert_int_equal(c[2].chunk_id, A);
    assert_int_equal(c[3].chunk_id, B);
    rag_free(c);

    /* w = 0 is BM25's order; w = 1 is the dense order */
    assert_int_equal(rag_fusion_merge(&c, &n, bm25, 3, dense, 3, NULL), RAG_OK);
    rag_fusion_weighted(c, n, 0);
    rag_fusion_sort(c, n, 1);
    assert_int_equal(c[0].chunk_id, A);
    assert_int_equal(c[1].chunk_id, B);
    rag_fusion_weighted(c, n, 1);
    rag_fusion_sort(c, n, 1);
    assert_int_equal(c[0].chunk_id, C);
    assert_int_equal(c[1].chunk_id, D);
    rag_free(c);
}

static void test_fusion__a_missing_list_counts_as_zero(void **state)
{
    rag_cand *c;
    size_t n;
    (void)state;
    assert_int_equal(rag_fusion_merge(&c, &n, bm25, 3, NULL, 0, NULL), RAG_OK);
    assert_int_equal(n, 3);
    rag_fusion_weighted(c, n, 0.5);
    assert_float_equal(find(c, n, A)->fused, 0.5, 1e-12);
    assert_float_equal(find(c, n, B)->fused, 0.25, 1e-12);
    assert_float_equal(find(c, n, C)->fused, 0.0, 1e-12);
    rag_fusion_rrf(c, n, 60);
    assert_float_equal(find(c, n, C)->fused, 1.0 / 63, 1e-12);
    rag_free(c);

    assert_int_equal(rag_fusion_merge(&c, &n, NULL, 0, dense, 3, NULL), RAG_OK);
    assert_int_equal(n, 3);
    rag_fusion_weighted(c, n, 0.5);
    assert_float_equal(find(c, n, C)->fused, 0.5, 1e-12);
    assert_float_equal(find(c, n, A)->fused, 0.0, 1e-12);
    rag_free(c);
}

static void test_fusion__equal_scores_normalise_to_one(void **state)
{
    double x[] = {3, 1, 2}, y[] = {2, 2};
    static const rag_scored flat[] = {{A, 5}, {B, 5}};
    rag_cand *c;
    size_t n;
    (void)state;
    rag_fusion_minmax(x, 3);
    assert_float_equal(x[0], 1, 1e-12);
    assert_float_equal(x[1], 0, 1e-12);
    assert_float_equal(x[2], 0.5, 1e-12);
    rag_fusion_minmax(y, 2);
    assert_float_equal(y[0], 1, 1e-12);
    assert_float_equal(y[1], 1, 1e-12);
    rag_fusion_minmax(NULL, 0);

    assert_int_equal(rag_fusion_merge(&c, &n, flat, 2, NULL, 0, NULL), RAG_OK);
    rag_fusion_weighted(c, n, 0.25);
    assert_float_equal(c[0].fused, 0.75, 1e-12);
    assert_float_equal(c[1].fused, 0.75, 1e-12);
    /* full tie: the better BM25 rank first, then the smaller id */
    rag_fusion_sort(c, n, 1);
    assert_int_equal(c[0].chunk_id, A);
    rag_free(c);
}

static void test_fusion__graph_boost_is_bounded(void **state)
{
    rag_cand c[3];
    double ppr[] = {2, 0, 1}, zero[] = {0, 0, 0}, neg[] = {-5, 0, 1};
    (void)state;
    memset(c, 0, sizeof c);
    c[0].fused = 0.2;
    c[1].fused = 0.6;
    c[2].fused = 1.0;
    rag_fusion_graph_boost(c, 3, ppr, 0.3);
    /* norm(fused) = 0, 0.5, 1; + 0.3 * ppr / 2 */
    assert_float_equal(c[0].fused, 0.3, 1e-12);
    assert_float_equal(c[1].fused, 0.5, 1e-12);
    assert_float_equal(c[2].fused, 1.15, 1e-12);
    assert_float_equal(c[2].final, 1.15, 1e-12);

    /* off (0) or no graph signal: untouched */
    rag_fusion_graph_boost(c, 3, ppr, 0);
    assert_float_equal(c[0].fused, 0.3, 1e-12);
    rag_fusion_graph_boost(c, 3, zero, 0.3);
    assert_float_equal(c[0].fused, 0.3, 1e-12);
    assert_float_equal(c[2].fused, 1.15, 1e-12);

    /* negative PageRank counts as 0; never more than boost is added */
    c[0].fused = 0;
    c[1].fused = 0.5;
    c[2].fused = 1;
    rag_fusion_graph_boost(c, 3, neg, 0.3);
    assert_float_equal(c[0].fused, 0.0, 1e-12);
    assert_float_equal(c[1].fused, 0.5, 1e-12);
    assert_float_equal(c[2].fused, 1.3, 1e-12);
}

static void set3(rag_cand *c, const double *final, const double *rr)
{
    memset(c, 0, 3 * sizeof *c);
    for (int i = 0; i < 3; i++) {
        c[i].chunk_id = A + i;
        c[i].final = final[i];
        c[i].rerank = rr[i];
    }
}

static void test_fusion__rerank_combines_normalised_scores(void **state)
{
    const double fin[] = {1.0, 0.5, 0.0}, rr[] = {-1, 3, 1};
    rag_cand c[3];
    (void)state;
    set3(c, fin, rr);
    rag_fusion_rerank(c, 3, 1.0);   /* the reranker's order: B, C, A */
    assert_int_equal(c[0].chunk_id, B);
    assert_int_equal(c[1].chunk_id, C);
    assert_int_equal(c[2].chunk_id, A);
    assert_float_equal(c[0].final, 1.0, 1e-12);
    assert_float_equal(c[1].final, 0.5, 1e-12);
    assert_float_equal(c[2].final, 0.0, 1e-12);
    assert_int_equal(c[0].rerank_rank, 1);
    assert_int_equal(c[2].rerank_rank, 3);

    set3(c, fin, rr);
    rag_fusion_rerank(c, 3, 0.5);   /* A .5, B .75, C .25 */
    assert_int_equal(c[0].chunk_id, B);
    assert_float_equal(c[0].final, 0.75, 1e-12);
    assert_int_equal(c[1].chunk_id, A);
    assert_float_equal(c[1].final, 0.5, 1e-12);
    assert_int_equal(c[2].chunk_id, C);
    assert_float_equal(c[2].final, 0.25, 1e-12);

    set3(c, fin, rr);
    rag_fusion_rerank(c, 3, 0.0);   /* first-stage order kept */
    assert_int_equal(c[0].chunk_id, A);
    assert_int_equal(c[1].chunk_id, B);
    assert_int_equal(c[2].chunk_id, C);
    assert_int_equal(c[0].rerank_rank, 3);
}

static void test_fusion__rerank_ties_keep_the_incoming_order(void **state)
{
    const double fin[] = {3, 2, 1}, rr[] = {7, 7, 7};
    rag_cand c[3];
    (void)state;
    set3(c, fin, rr);
    rag_fusion_rerank(c, 3, 1.0);
    /* all reranker scores equal: every norm is 1, ranks follow the input */
    assert_int_equal(c[0].chunk_id, A);
    assert_int_equal(c[1].chunk_id, B);
    assert_int_equal(c[2].chunk_id, C);
    assert_int_equal(c[0].rerank_rank, 1);
    assert_int_equal(c[1].rerank_rank, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fusion__merge_is_the_union_with_ranks_per_list),
        cmocka_unit_test(test_fusion__rrf_sums_reciprocal_ranks),
        cmocka_unit_test(test_fusion__weighted_mixes_min_max_normalised_scores),
        cmocka_unit_test(test_fusion__a_missing_list_counts_as_zero),
        cmocka_unit_test(test_fusion__equal_scores_normalise_to_one),
        cmocka_unit_test(test_fusion__graph_boost_is_bounded),
        cmocka_unit_test(test_fusion__rerank_combines_normalised_scores),
        cmocka_unit_test(test_fusion__rerank_ties_keep_the_incoming_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
