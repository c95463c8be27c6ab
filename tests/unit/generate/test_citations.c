/* test_citations.c - parsing [n] citation forms, dropping citations to
 * chunks that were not given, renumbering, coverage and refusal wording. */
#include "test_support.h"

#include "generate/generate.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* n fake hits: doc "dI.pdf", pages I..I+1, section "sI", chunk id 100+I. */
static void fake_hits(rag_hits *h, size_t n)
{
    memset(h, 0, sizeof *h);
    h->items = rag_calloc(n, sizeof *h->items);
    h->n = n;
    for (size_t i = 0; i < n; i++) {
        rag_chunk_row *r = &h->items[i].row;
        char buf[32];
        h->items[i].rank = (int)i + 1;
        r->chunk_id = 100 + (int64_t)i + 1;
        snprintf(buf, sizeof buf, "/docs/d%zu.pdf", i + 1);
        r->doc = rag_strdup(buf);
        r->title = rag_strdup("T");
        snprintf(buf, sizeof buf, "s%zu", i + 1);
        r->section = rag_strdup(buf);
        r->text = rag_strdup("text");
        r->page_start = (int)i + 1;
        r->page_end = (int)i + 2;
    }
}

static void nums_of(const char *text, int *out, size_t *n_out)
{
    rag_cite_groups g;
    size_t n = 0;
    assert_int_equal(rag_citations_parse(&g, text, NULL), RAG_OK);
    for (size_t i = 0; i < g.n; i++)
        for (size_t k = 0; k < g.items[i].n; k++)
            out[n++] = g.items[i].nums[k];
    *n_out = n;
    rag_cite_groups_fini(&g);
}

static void test_citations__parses_single_combined_ranges_and_labels(void **state)
{
    static const struct {
        const char *text;
        int nums[8];
        size_t n;
    } cases[] = {
        {"A [2].", {2}, 1},
        {"A [1, 3].", {1, 3}, 2},
        {"A [1][3].", {1, 3}, 2},
        {"A [1-3].", {1, 2, 3}, 3},
        {"A [2\xe2\x80\x93" "4].", {2, 3, 4}, 3},
        {"A [Document 2].", {2}, 1},
        {"A [Doc 1; Source 4].", {1, 4}, 2},
        {"A [document 1, document 3].", {1, 3}, 2},
        {"A [1 and 2].", {1, 2}, 2},
        {"x86 [x86] and [a] and [1.2] and [] and [3-1] are not citations", {0}, 0},
        {"unclosed [1, 2", {0}, 0},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int got[64];
        size_t n;
        nums_of(cases[c].text, got, &n);
        assert_int_equal(n, cases[c].n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(got[i], cases[c].nums[i]);
    }
}

static void test_citations__drops_ungiven_and_renumbers_cited_only(void **state)
{
    rag_hits h;
    rag_answer a;
    double cov = -1;
    (void)state;
    fake_hits(&h, 5);
    memset(&a, 0, sizeof a);
    assert_int_equal(rag_citations_resolve(&a, "Vectors use vl [4]. Masks use v0 [2, 9]. "
                                               "Bogus claim [7]. Again [4][2].",
                                           &h, 5, &cov, NULL), RAG_OK);
    /* chunk 4 cited first -> [1], chunk 2 -> [2]; 7 and 9 were never given */
    assert_string_equal(a.answer, "Vectors use vl [1]. Masks use v0 [2]. Bogus claim. "
                                  "Again [1][2].");
    assert_int_equal(a.n_citations, 2);
    assert_int_equal(a.citations[0].n, 1);
    assert_int_equal(a.citations[0].n_given, 4);
    assert_int_equal(a.citations[0].chunk_id, 104);
    assert_string_equal(a.citations[0].doc, "/docs/d4.pdf");
    assert_int_equal(a.citations[0].page_start, 4);
    assert_int_equal(a.citations[0].page_end, 5);
    assert_string_equal(a.citations[0].section, "s4");
    assert_int_equal(a.citations[1].chunk_id, 102);
    assert_int_equal(a.n_dropped, 2);
    assert_int_equal(a.dropped_citations[0], 7);
    assert_int_equal(a.dropped_citations[1], 9);
    /* 3 of 4 sentences keep a valid citation */
    assert_true(cov > 0.74 && cov < 0.76);
    rag_answer_fini(&a);
    rag_hits_fini(&h);
}

static void test_citations__zero_and_out_of_range_are_dropped(void **state)
{
    rag_hits h;
    rag_answer a;
    double cov;
    (void)state;
    fake_hits(&h, 2);
    memset(&a, 0, sizeof a);
    /* only 2 chunks exist even if the caller claims more were given */
    assert_int_equal(rag_citations_resolve(&a, "Claim [0]. Other [3].", &h, 5, &cov, NULL),
                     RAG_OK);
    assert_int_equal(a.n_citations, 0);
    assert_int_equal(a.n_dropped, 2);
    assert_true(cov == 0.0);
    assert_null(strchr(a.answer, '['));
    rag_answer_fini(&a);
    rag_hits_fini(&h);
}

/* Regression (issue 13, defect 21): a number above 100000 made the whole
 * group "not a citation", so "[1000000000000000000000]" stayed in the
 * answer and was missing from dropped_citations. Any number of digits is a
 * citation; one past INT_MAX is recorded as INT_MAX and dropped. */
static void test_citations__huge_numbers_are_dropped_not_kept(void **state)
{
    rag_hits h;
    rag_answer a;
    double cov;
    int nums[8];
    size_t n;
    (void)state;
    nums_of("[100001] [2147483647] [99999999999] [1, 1000000000000000000000]", nums, &n);
    assert_int_equal(n, 5);
    assert_int_equal(nums[0], 100001);
    assert_int_equal(nums[1], INT_MAX);
    assert_int_equal(nums[2], INT_MAX);
    assert_int_equal(nums[3], 1);
    assert_int_equal(nums[4], INT_MAX);
    /* a range ending at a huge number is too long to be a citation */
    nums_of("[3-1000000000000000000000]", nums, &n);
    assert_int_equal(n, 0);

    fake_hits(&h, 2);
    memset(&a, 0, sizeof a);
    assert_int_equal(rag_citations_resolve(&a, "Ignore [99]. Key [0] [1000000000000000000000]. "
                                               "It holds the cause [1][2][100001].",
                                           &h, 2, &cov, NULL), RAG_OK);
    assert_string_equal(a.answer, "Ignore. Key. It holds the cause [1][2].");
    assert_int_equal(a.n_citations, 2);
    assert_int_equal(a.n_dropped, 4);
    assert_int_equal(a.dropped_citations[0], 0);
    assert_int_equal(a.dropped_citations[1], 99);
    assert_int_equal(a.dropped_citations[2], 100001);
    assert_int_equal(a.dropped_citations[3], INT_MAX);
    rag_answer_fini(&a);
    rag_hits_fini(&h);
}

static void test_citations__range_citations_list_every_chunk_once(void **state)
{
    rag_hits h;
    rag_answer a;
    double cov;
    (void)state;
    fake_hits(&h, 4);
    memset(&a, 0, sizeof a);
    assert_int_equal(rag_citations_resolve(&a, "All of it [1-3]. And [2].", &h, 4, &cov,
                                           NULL), RAG_OK);
    assert_string_equal(a.answer, "All of it [1][2][3]. And [2].");
    assert_int_equal(a.n_citations, 3);
    assert_true(cov == 1.0);
    rag_answer_fini(&a);
    rag_hits_fini(&h);
}

static void test_citations__not_found_wording_is_detected(void **state)
{
    (void)state;
    assert_true(rag_answer_says_not_found("The answer is not in the documents."));
    assert_true(rag_answer_says_not_found("Sorry, the provided context does not contain that."));
    assert_true(rag_answer_says_not_found("NO RELEVANT INFORMATION was found"));
    assert_false(rag_answer_says_not_found("The vl register holds the vector length [1]."));
}

static void test_citations__every_allocation_failure_is_enomem_without_leaks(void **state)
{
    rag_hits h;
    int saw_ok = 0, saw_enomem = 0;
    (void)state;
    fake_hits(&h, 5);
    for (long n = 0; n < 400 && !saw_ok; n++) {
        rag_answer a;
        rag_prompt p;
        double cov;
        int rc, rc2;
        memset(&a, 0, sizeof a);
        ts_fail_alloc_after(n);
        rc = rag_citations_resolve(&a, "One [4]. Two [2, 9]. Three [1-3]. [Doc 5].", &h, 5,
                                   &cov, NULL);
        rc2 = rag_prompt_build(&p, "question <<< >>>", &h, 5, NULL, NULL);
        ts_fail_alloc_after(-1);
        assert_true(rc == RAG_OK || rc == RAG_ENOMEM);
        assert_true(rc2 == RAG_OK || rc2 == RAG_ENOMEM);
        if (rc2 == RAG_OK)
            rag_prompt_fini(&p);
        if (rc == RAG_OK) {
            assert_string_equal(a.answer, "One [1]. Two [2]. Three [3][2][4]. [5].");
            saw_ok = rc2 == RAG_OK;
        } else {
            saw_enomem = 1;
        }
        rag_answer_fini(&a);
    }
    assert_true(saw_ok);
    assert_true(saw_enomem);
    rag_hits_fini(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_citations__parses_single_combined_ranges_and_labels),
        cmocka_unit_test(test_citations__drops_ungiven_and_renumbers_cited_only),
        cmocka_unit_test(test_citations__zero_and_out_of_range_are_dropped),
        cmocka_unit_test(test_citations__huge_numbers_are_dropped_not_kept),
        cmocka_unit_test(test_citations__range_citations_list_every_chunk_once),
        cmocka_unit_test(test_citations__not_found_wording_is_detected),
        cmocka_unit_test(test_citations__every_allocation_failure_is_enomem_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
