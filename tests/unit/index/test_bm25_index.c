/* test_bm25_index.c - the postings index scores exactly as FTS5 with the
 * docrag_bm25 function does over the same MATCH expression (an independent
 * implementation of the same formula inside SQLite), before and after
 * deletions, replacements and a merge. */
#include "test_support.h"

#include "index/index.h"
#include "index/store_sqlite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const texts[] = {
    "The RISC-V base integer ISA has four core instruction formats.",
    "Vector registers hold elements; the vector length register vl counts them.",
    "The mcause register records the cause of a trap, interrupt or exception.",
    "Immediates are sign-extended; the RV32I formats keep rs1 and rs2 in place.",
    "An x86_64 comparison: RISC-V keeps register fields fixed across formats.",
    "Exception handling writes mepc and mcause before jumping to mtvec.",
    "Vector masks in v0 select the active elements of a vector instruction.",
    "Software validation guidance describes testing of medical device software.",
};

static void put(rag_index *ix, const char *path, size_t first, size_t n, int64_t id0)
{
    rag_chunk items[8];
    for (size_t i = 0; i < n; i++)
        items[i] = (rag_chunk){id0 + (int64_t)i, (int)i, 1, 1, i % 2 ? "Formats" : "",
                               0, 0, texts[first + i], strlen(texts[first + i]), 10};
    ts_put_doc(ix, path, items, n, 1);
}

/* Compare both engines on one query: same chunks, same scores. */
static void same_scores(rag_index *ix, const char *query)
{
    rag_bm25_hit hits[16];
    size_t n = 0, n_fts = 0;
    rag_buf expr = RAG_BUF_INIT;
    sqlite3_stmt *st;
    rag_err err = {0};

    assert_int_equal(rag_index_bm25(ix, query, 16, hits, &n, &err), RAG_OK);
    assert_int_equal(rag_analyzer_match_expr(rag_index_analyzer(ix), &expr, query, &err),
                     RAG_OK);
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix),
        "SELECT rowid, docrag_bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?1",
        -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, expr.data, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        double s = sqlite3_column_double(st, 1);
        int found = 0;
        n_fts++;
        for (size_t i = 0; i < n; i++)
            if (hits[i].chunk_id == id) {
                found = 1;
                if (fabs(hits[i].score - s) > 1e-9 * (1 + fabs(s)))
                    fail_msg("%s: chunk %lld: postings %.12f, FTS5 %.12f", query,
                             (long long)id, hits[i].score, s);
            }
        if (!found)
            fail_msg("%s: chunk %lld matched by FTS5 only", query, (long long)id);
    }
    sqlite3_finalize(st);
    assert_int_equal(n, n_fts);
    for (size_t i = 1; i < n; i++)
        assert_true(hits[i - 1].score >= hits[i].score);
    rag_buf_fini(&expr);
}

static const char *const queries[] = {
    "RISC-V instruction formats", "vector register", "mcause trap exception",
    "RV32I immediates", "x86_64", "formats formats register", "medical software testing",
    "manual",
};

static void check_all(rag_index *ix)
{
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++)
        same_scores(ix, queries[q]);
}

static void test_bm25_index__scores_equal_fts5_docrag_bm25(void **state)
{
    rag_index *ix;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    put(ix, "/a", 0, 4, 100);
    put(ix, "/b", 4, 4, 200);
    check_all(ix);
    rag_index_close(ix);
}

static void test_bm25_index__deletes_replaces_and_merge_keep_them_equal(void **state)
{
    rag_index *ix;
    rag_err err = {0};
    rag_bm25_hit hits[16];
    size_t n;
    (void)state;
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    put(ix, "/a", 0, 4, 100);
    put(ix, "/b", 4, 4, 200);
    put(ix, "/a", 2, 3, 300);            /* replace: old chunks deleted */
    assert_int_equal(rag_index_remove_doc(ix, "/b", &err), 1);
    assert_true(rag_index_segments(ix) >= 2);
    check_all(ix);
    assert_int_equal(rag_index_bm25(ix, "medical software", 16, hits, &n, &err), RAG_OK);
    assert_int_equal(n, 0);              /* only in the removed document */
    assert_int_equal(rag_index_optimize(ix, &err), RAG_OK);
    assert_int_equal(rag_index_segments(ix), 1);
    check_all(ix);
    put(ix, "/c", 5, 3, 400);            /* a new segment after the merge */
    check_all(ix);
    rag_index_close(ix);
}

static void test_bm25_index__empty_and_stopword_queries_return_nothing(void **state)
{
    rag_index *ix;
    rag_err err = {0};
    rag_bm25_hit hits[4];
    size_t n = 99;
    (void)state;
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_index_bm25(ix, "vector", 4, hits, &n, &err), RAG_OK);
    assert_int_equal(n, 0);              /* empty index */
    put(ix, "/a", 0, 4, 100);
    assert_int_equal(rag_index_bm25(ix, "the of and", 4, hits, &n, &err), RAG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(rag_index_bm25(ix, "", 4, hits, &n, &err), RAG_OK);
    assert_int_equal(n, 0);
    rag_index_close(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bm25_index__scores_equal_fts5_docrag_bm25),
        cmocka_unit_test(test_bm25_index__deletes_replaces_and_merge_keep_them_equal),
        cmocka_unit_test(test_bm25_index__empty_and_stopword_queries_return_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
