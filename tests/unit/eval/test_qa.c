/* test_qa.c - QA evaluation: page-hit scoring on hand-made rankings, the
 * QA file loader and its errors, the evidence checker and a small end-to-end
 * run over data/samples. */
#include "test_support.h"

#include "eval/eval.h"

#include <stdio.h>
#include <string.h>

static rag_qa_item item(const char *doc, const int *pages, size_t n_pages)
{
    rag_qa_item q;
    memset(&q, 0, sizeof q);
    q.id = "q";
    q.doc = (char *)doc;
    for (size_t i = 0; i < n_pages; i++)
        q.pages[i] = pages[i];
    q.n_pages = n_pages;
    return q;
}

static void test_qa__hit_at_rank_3(void **state)
{
    const int pages[] = {12};
    rag_qa_item q = item("spec.pdf", pages, 1);
    const rag_qa_span ranked[] = {
        {"/data/spec.pdf", 1, 11},          /* right doc, page before */
        {"/data/other.pdf", 12, 12},        /* right page, wrong doc */
        {"/data/spec.pdf", 12, 13},         /* the hit */
        {"/data/spec.pdf", 12, 12},
    };
    (void)state;
    assert_int_equal(rag_qa_first_hit(&q, ranked, 4), 3);
    assert_int_equal(rag_qa_first_hit(&q, ranked, 2), 0);   /* cut before it */
}

static void test_qa__multi_page_expected_hits_on_any_page(void **state)
{
    const int pages[] = {62, 63};
    rag_qa_item q = item("riscv-base-instructions.pdf", pages, 2);
    const rag_qa_span before[] = {{"/x/riscv-base-instructions.pdf", 60, 61}};
    const rag_qa_span second[] = {{"/x/riscv-base-instructions.pdf", 63, 64}};
    const rag_qa_span after[] = {{"/x/riscv-base-instructions.pdf", 64, 70}};
    (void)state;
    assert_int_equal(rag_qa_first_hit(&q, before, 1), 0);
    assert_int_equal(rag_qa_first_hit(&q, second, 1), 1);
    assert_int_equal(rag_qa_first_hit(&q, after, 1), 0);
}

static void test_qa__wrong_doc_is_a_miss_even_with_a_suffix_match(void **state)
{
    const int pages[] = {2};
    rag_qa_item q = item("card.pdf", pages, 1);
    const rag_qa_span ranked[] = {
        {"/c/riscv-card.pdf", 1, 3},     /* name ends with card.pdf but is not it */
        {"riscv-card.pdf", 2, 2},
        {NULL, 2, 2},                    /* a row without a document never hits */
    };
    const rag_qa_span exact[] = {{"card.pdf", 2, 2}};
    (void)state;
    assert_int_equal(rag_qa_first_hit(&q, ranked, 3), 0);
    assert_int_equal(rag_qa_first_hit(&q, exact, 1), 1);
}

static void test_qa__empty_ranking_is_a_miss(void **state)
{
    const int pages[] = {1};
    rag_qa_item q = item("a.pdf", pages, 1);
    size_t ranks[] = {0, 0};
    rag_qa_metrics m;
    (void)state;
    assert_int_equal(rag_qa_first_hit(&q, NULL, 0), 0);
    m = rag_qa_summarize(ranks, 2);
    assert_float_equal(m.hit1 + m.hit5 + m.hit10 + m.mrr10, 0.0, 0);
    m = rag_qa_summarize(NULL, 0);
    assert_float_equal(m.hit10, 0.0, 0);
}

static void test_qa__summary_averages_over_all_questions(void **state)
{
    const size_t ranks[] = {3, 1, 0, 12, 5};
    rag_qa_metrics m;
    (void)state;
    m = rag_qa_summarize(ranks, 5);
    assert_float_equal(m.hit1, 1.0 / 5, 1e-12);
    assert_float_equal(m.hit5, 3.0 / 5, 1e-12);
    assert_float_equal(m.hit10, 3.0 / 5, 1e-12);      /* rank 12 is past 10 */
    assert_float_equal(m.mrr10, (1.0 / 3 + 1.0 + 1.0 / 5) / 5, 1e-12);
}

/* ---- loading -------------------------------------------------------------- */

static char *write_qa(const char *tag, const char *text)
{
    char *dir = ts_tmpdir(tag);
    char *path = rag_asprintf("%s/qa.jsonl", dir);
    ts_write_file(path, text, strlen(text));
    rag_free(dir);
    return path;
}

static const char good_qa[] =
    "# comment lines and blank lines are skipped\n"
    "\n"
    "{\"id\":\"a\",\"question\":\"What is a NOP?\",\"doc\":\"x.pdf\",\"pages\":[38],"
    "\"evidence\":[\"NOP is encoded\"],\"kind\":\"instruction\"}\n"
    "{\"id\":\"b\",\"question\":\"Two pages\",\"doc\":\"sub/y.pdf\",\"pages\":[2,3],"
    "\"evidence\":[\"one\",\"two\"]}\n";

static void test_qa__load_reads_items_and_lines(void **state)
{
    char *path = write_qa("qa_load", good_qa);
    rag_qa_set set;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_qa_load(&set, path, &err), RAG_OK);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.items[0].id, "a");
    assert_int_equal(set.items[0].line, 3);
    assert_int_equal(set.items[0].pages[0], 38);
    assert_string_equal(set.items[1].doc, "sub/y.pdf");
    assert_int_equal(set.items[1].n_pages, 2);
    assert_string_equal(set.items[1].evidence[1], "two");
    rag_qa_set_fini(&set);
    rag_free(path);
}

static void expect_load_error(const char *text, int code, const char *needle)
{
    char *path = write_qa("qa_bad", text);
    rag_qa_set set;
    rag_err err = {0};
    assert_int_equal(rag_qa_load(&set, path, &err), code);
    if (!strstr(err.msg, needle) || !strstr(err.msg, path))
        fail_msg("message \"%s\" lacks \"%s\" or the path", err.msg, needle);
    rag_qa_set_fini(&set);
    rag_free(path);
}

static void test_qa__load_errors_name_file_line_and_key(void **state)
{
    (void)state;
    expect_load_error("{\"id\":\"a\",\"question\":\"q\",\"doc\":\"x.pdf\",\"pages\":[1,2],"
                      "\"evidence\":[\"e\"]}\n",
                      RAG_EFORMAT, ":1: a: \"evidence\" needs one string per page");
    expect_load_error("\n{\"id\":\"a\",\"question\":\"q\",\"doc\":\"x.pdf\",\"pages\":[0],"
                      "\"evidence\":[\"e\"]}\n",
                      RAG_EFORMAT, ":2: a: pages[0] must be an integer >= 1");
    expect_load_error("{\"id\":\"a\",\"question\":\"q\",\"pages\":[1],\"evidence\":[\"e\"]}\n",
                      RAG_EFORMAT, ":1: needs non-empty");
    expect_load_error("{\"id\":\"a\",\"question\":\"q\",\"doc\":\"x\",\"pages\":[1],"
                      "\"evidence\":[\"e\"]}\n{\"id\":\"a\",\"question\":\"r\",\"doc\":\"x\","
                      "\"pages\":[2],\"evidence\":[\"f\"]}\n",
                      RAG_EFORMAT, ":2: duplicate id \"a\" (first on line 1)");
    expect_load_error("{\"id\": \"a\",\n", RAG_EFORMAT, ":1:");
    expect_load_error("# nothing\n", RAG_EFORMAT, "no questions");
}

static void test_qa__load_missing_file_is_not_found(void **state)
{
    rag_qa_set set;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_qa_load(&set, "/nonexistent/qa.jsonl", &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/qa.jsonl"));
    rag_qa_set_fini(&set);
}

static void test_qa__load_survives_every_allocation_failure(void **state)
{
    char *path = write_qa("qa_oom", good_qa);
    (void)state;
    for (long n = 0;; n++) {
        rag_qa_set set;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_qa_load(&set, path, &err);
        ts_fail_alloc_after(-1);
        rag_qa_set_fini(&set);
        if (rc == RAG_OK)
            break;
        assert_int_equal(rc, RAG_ENOMEM);
        assert_true(n < 1000);
    }
    rag_free(path);
}

/* ---- evidence and the end-to-end run over data/samples ---------------------- */

static void count_problem(void *ctx, const rag_qa_item *q, const char *msg)
{
    char *log = ctx;
    (void)q;
    strncat(log, msg, 1023 - strlen(log));
    strncat(log, "\n", 1023 - strlen(log));
}

static const char samples_qa[] =
    "{\"id\":\"nop\",\"question\":\"How is the canonical no-operation instruction "
    "encoded?\",\"doc\":\"riscv-base-instructions.pdf\",\"pages\":[38],"
    "\"evidence\":[\"NOP is encoded as   ADDI x0, x0, 0\"]}\n"
    "{\"id\":\"gmlp\",\"question\":\"Are training data sets kept independent of test "
    "sets?\",\"doc\":\"GMLP_Guiding_Principles.pdf\",\"pages\":[1],"
    "\"evidence\":[\"Training Data Sets Are Independent\"]}\n"
    "{\"id\":\"gone\",\"question\":\"q\",\"doc\":\"missing.pdf\",\"pages\":[1],"
    "\"evidence\":[\"x\"]}\n";

static void test_qa__evidence_checker_reports_wrong_page_and_missing_doc(void **state)
{
    char *path = write_qa("qa_evidence", samples_qa);
    char *docs = ts_src_path("data/samples");
    rag_extract_opts xo = rag_extract_default_opts();
    rag_qa_set set;
    rag_err err = {0};
    char log[1024] = "";
    size_t n_bad = 99;
    (void)state;
    assert_int_equal(rag_qa_load(&set, path, &err), RAG_OK);
    assert_int_equal(rag_qa_check_evidence(&set, docs, &xo, count_problem, log, &n_bad,
                                           &err), RAG_OK);
    assert_int_equal(n_bad, 2);   /* gmlp's evidence is on page 2, and missing.pdf */
    assert_non_null(strstr(log, "GMLP_Guiding_Principles.pdf page 1 does not contain"));
    assert_non_null(strstr(log, "missing.pdf"));
    assert_null(strstr(log, "riscv-base-instructions.pdf"));
    rag_qa_set_fini(&set);
    rag_free(docs);
    rag_free(path);
}

static void test_qa__eval_over_samples_scores_and_rejects_unknown_docs(void **state)
{
    char *path = write_qa("qa_eval", samples_qa);
    char *docs = ts_src_path("data/samples");
    rag_qa_opts opts = rag_qa_default_opts();
    rag_qa_set set;
    rag_qa_result res;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_qa_load(&set, path, &err), RAG_OK);
    /* missing.pdf is not under data/samples: a broken QA file, not a miss. */
    assert_int_equal(rag_eval_qa(&res, &set, docs, &opts, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "gone: document \"missing.pdf\" is not in"));
    set.n = 2;                         /* drop it (still freed below: n restored) */
    assert_int_equal(rag_eval_qa(&res, &set, docs, &opts, &err), RAG_OK);
    assert_int_equal(res.n_questions, 2);
    assert_int_equal(res.first_hit[0], 1);   /* NOP page 38 comes first */
    assert_int_equal(res.first_hit[1], 0);   /* expected page 1: the answer is on 2 */
    assert_float_equal(res.m.hit1, 0.5, 1e-12);
    assert_int_equal(res.index.n_added, 5);
    assert_int_equal(res.mode_used, RAG_MODE_BM25);
    assert_string_equal(res.notice, "");
    rag_qa_result_fini(&res);
    opts.mode = RAG_MODE_DENSE;              /* no embedder yet: falls back, says so */
    assert_int_equal(rag_eval_qa(&res, &set, docs, &opts, &err), RAG_OK);
    assert_int_equal(res.mode_used, RAG_MODE_BM25);
    assert_non_null(strstr(res.notice, "using bm25"));
    assert_int_equal(res.first_hit[0], 1);
    rag_qa_result_fini(&res);
    set.n = 3;
    rag_qa_set_fini(&set);
    rag_free(docs);
    rag_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qa__hit_at_rank_3),
        cmocka_unit_test(test_qa__multi_page_expected_hits_on_any_page),
        cmocka_unit_test(test_qa__wrong_doc_is_a_miss_even_with_a_suffix_match),
        cmocka_unit_test(test_qa__empty_ranking_is_a_miss),
        cmocka_unit_test(test_qa__summary_averages_over_all_questions),
        cmocka_unit_test(test_qa__load_reads_items_and_lines),
        cmocka_unit_test(test_qa__load_errors_name_file_line_and_key),
        cmocka_unit_test(test_qa__load_missing_file_is_not_found),
        cmocka_unit_test(test_qa__load_survives_every_allocation_failure),
        cmocka_unit_test(test_qa__evidence_checker_reports_wrong_page_and_missing_doc),
        cmocka_unit_test(test_qa__eval_over_samples_scores_and_rejects_unknown_docs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
