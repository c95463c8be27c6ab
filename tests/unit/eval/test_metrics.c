/* test_metrics.c - nDCG@10, Recall@100 and MRR@10 against values worked out
 * by hand from the trec_eval definitions. (The whole eval path is also
 * checked against ../shared/tools/ireval.py in tests/integration.) */
#include "test_support.h"

#include "eval/eval.h"

#include <math.h>

static void test_metrics__graded_ndcg_matches_hand_computation(void **state)
{
    const char *ranked[] = {"d3", "d9", "d1", "d7"};
    const char *rel[] = {"d1", "d3", "d5"};
    const int grades[] = {2, 1, 3};
    rag_query_metrics m;
    double dcg, idcg;
    (void)state;
    m = rag_eval_query(ranked, 4, rel, grades, 3);
    dcg = 1.0 / log2(2) + 2.0 / log2(4);
    idcg = 3.0 / log2(2) + 2.0 / log2(3) + 1.0 / log2(4);
    assert_float_equal(m.ndcg10, dcg / idcg, 1e-12);
    assert_float_equal(m.recall100, 2.0 / 3.0, 1e-12);
    assert_float_equal(m.mrr10, 1.0, 1e-12);
}

static void test_metrics__hits_after_rank_10_count_for_recall_only(void **state)
{
    const char *ranked[12] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "r"};
    const char *rel[] = {"r"};
    const int grades[] = {1};
    rag_query_metrics m;
    (void)state;
    m = rag_eval_query(ranked, 12, rel, grades, 1);
    assert_float_equal(m.ndcg10, 0.0, 0);
    assert_float_equal(m.mrr10, 0.0, 0);
    assert_float_equal(m.recall100, 1.0, 0);
}

static void test_metrics__empty_ranking_scores_zero(void **state)
{
    const char *rel[] = {"x"};
    const int grades[] = {4};
    rag_query_metrics m;
    (void)state;
    m = rag_eval_query(NULL, 0, rel, grades, 1);
    assert_float_equal(m.ndcg10 + m.recall100 + m.mrr10, 0.0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics__graded_ndcg_matches_hand_computation),
        cmocka_unit_test(test_metrics__hits_after_rank_10_count_for_recall_only),
        cmocka_unit_test(test_metrics__empty_ranking_scores_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
