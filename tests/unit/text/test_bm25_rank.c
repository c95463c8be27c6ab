/* test_bm25_rank.c - docrag_bm25 scores rows as the BM25 formula says.
 *
 * The expected scores are computed here from the formula, over the rows'
 * words counted by splitting on spaces (the words are chosen so analysis
 * leaves them unchanged: no stop words, stemming is the identity), not by
 * asking FTS5 or the analyzer.
 */
#include "test_support.h"

#include "index/fts5.h"
#include "text/analyzer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *rows[][2] = {
    /* text, title */
    {"cat dog bird", "fish"},
    {"cat cat cat lamp lamp lamp lamp lamp lamp", "cat"},
    {"dog", "dog lamp"},
    {"bird fish lamp lamp", "bird"},
    {"lamp lamp", "fish lamp"},
    {"cat dog cat dog cat dog cat dog cat dog cat dog", "zebra"},
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static int count_word(const char *text, const char *word, int *n_words)
{
    char buf[256];
    int hits = 0;
    *n_words = 0;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
        (*n_words)++;
        hits += strcmp(w, word) == 0;
    }
    return hits;
}

/* Expected BM25 of row r for query words q[0..n_q) (repeats count). */
static double expected(size_t r, const char *const *q, int n_q, double k1,
                       double b, const double w[2])
{
    double total = 0.0, score = 0.0, dl = 0.0;
    int n_words;
    for (size_t i = 0; i < N_ROWS; i++)
        for (int c = 0; c < 2; c++) {
            count_word(rows[i][c], "", &n_words);
            total += w[c] * n_words;
            if (i == r)
                dl += w[c] * n_words;
        }
    double avgdl = total / (double)N_ROWS;
    for (int k = 0; k < n_q; k++) {
        int n_containing = 0;
        double tf = 0.0;
        for (size_t i = 0; i < N_ROWS; i++) {
            int in_row = 0;
            for (int c = 0; c < 2; c++) {
                int hits = count_word(rows[i][c], q[k], &n_words);
                in_row |= hits > 0;
                if (i == r)
                    tf += w[c] * hits;
            }
            n_containing += in_row;
        }
        double idf = log(1.0 + ((double)N_ROWS - n_containing + 0.5) /
                                   (n_containing + 0.5));
        if (tf > 0)
            score += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl));
    }
    return score;
}

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(rag_fts5_register(db, NULL), RAG_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE VIRTUAL TABLE t USING fts5(text, title, tokenize='docrag')",
        NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
        "INSERT INTO t(rowid, text, title) VALUES (?1, ?2, ?3)", -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < N_ROWS; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        sqlite3_bind_text(st, 2, rows[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, rows[i][1], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return db;
}

/* Runs the query and checks every returned score, and that the order is by
 * descending expected score. Returns the number of rows. */
static int check_query(sqlite3 *db, const char *call, const char *const *q,
                       int n_q, double k1, double b, const double w[2])
{
    rag_analyzer *a = NULL;
    rag_buf expr = RAG_BUF_INIT, sql = RAG_BUF_INIT;
    sqlite3_stmt *st;
    double prev = INFINITY;
    int n = 0, n_expect = 0, rc;

    assert_int_equal(rag_analyzer_create(&a, NULL), RAG_OK);
    for (int k = 0; k < n_q; k++) {
        assert_int_equal(rag_buf_puts(&expr, k ? " " : ""), RAG_OK);
        assert_int_equal(rag_buf_puts(&expr, q[k]), RAG_OK);
    }
    char *text = rag_buf_take(&expr);
    assert_int_equal(rag_analyzer_match_expr(a, &expr, text, NULL), RAG_OK);
    rag_free(text);
    assert_int_equal(rag_buf_printf(&sql,
        "SELECT rowid, %s AS s FROM t WHERE t MATCH ?1 ORDER BY s DESC", call),
        RAG_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql.data, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, expr.data, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t r = (size_t)sqlite3_column_int64(st, 0);
        double got = sqlite3_column_double(st, 1);
        double want = expected(r, q, n_q, k1, b, w);
        assert_true(r < N_ROWS);
        if (fabs(got - want) > 1e-9 * (1.0 + want))
            fail_msg("%s, query %s, row %zu: score %.12f, formula says %.12f",
                     call, expr.data, r, got, want);
        assert_true(want == 0.0 || got > 0.0);
        assert_true(got <= prev + 1e-12);
        prev = got;
        n++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    static const double ones[2] = {1.0, 1.0};
    for (size_t r = 0; r < N_ROWS; r++)
        n_expect += expected(r, q, n_q, k1, b, ones) > 0.0; /* rows matching */
    assert_int_equal(n, n_expect);
    sqlite3_finalize(st);
    rag_buf_fini(&expr);
    rag_buf_fini(&sql);
    rag_analyzer_destroy(a);
    return n;
}

static void test_bm25_rank__defaults_match_the_formula(void **state)
{
    static const double ones[2] = {1.0, 1.0};
    const char *q1[] = {"cat"};
    const char *q2[] = {"cat", "lamp"};
    const char *q3[] = {"dog", "bird", "zebra"};
    sqlite3 *db = open_db();
    (void)state;
    assert_int_equal(check_query(db, "docrag_bm25(t)", q1, 1, 1.2, 0.75, ones), 3);
    assert_true(check_query(db, "docrag_bm25(t)", q2, 2, 1.2, 0.75, ones) >= 4);
    assert_true(check_query(db, "docrag_bm25(t)", q3, 3, 1.2, 0.75, ones) >= 3);
    sqlite3_close(db);
}

static void test_bm25_rank__repeated_query_words_count_twice(void **state)
{
    static const double ones[2] = {1.0, 1.0};
    const char *q[] = {"cat", "lamp", "lamp"};
    sqlite3 *db = open_db();
    (void)state;
    assert_true(check_query(db, "docrag_bm25(t)", q, 3, 1.2, 0.75, ones) >= 4);
    sqlite3_close(db);
}

static void test_bm25_rank__k1_b_and_column_weights_apply(void **state)
{
    static const double w[2] = {1.0, 3.0};
    static const double w0[2] = {0.5, 0.0};
    const char *q[] = {"fish", "dog", "lamp"};
    sqlite3 *db = open_db();
    (void)state;
    check_query(db, "docrag_bm25(t, 2.0, 0.3, 1.0, 3.0)", q, 3, 2.0, 0.3, w);
    check_query(db, "docrag_bm25(t, 0.9, 0.4, 0.5, 0.0)", q, 3, 0.9, 0.4, w0);
    sqlite3_close(db);
}

static void test_bm25_rank__bad_arguments_are_errors(void **state)
{
    static const char *bad[] = {
        "SELECT docrag_bm25(t, 1.2, 1.5) FROM t WHERE t MATCH 'cat'",
        "SELECT docrag_bm25(t, -1) FROM t WHERE t MATCH 'cat'",
        "SELECT docrag_bm25(t, 1.2, 0.75, 1, 1, 1) FROM t WHERE t MATCH 'cat'",
        "SELECT docrag_bm25(t, 1.2, 0.75, -1) FROM t WHERE t MATCH 'cat'",
    };
    sqlite3 *db = open_db();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *msg = NULL;
        assert_int_not_equal(sqlite3_exec(db, bad[i], NULL, NULL, &msg),
                             SQLITE_OK);
        assert_non_null(msg);
        assert_non_null(strstr(msg, "docrag_bm25"));
        sqlite3_free(msg);
    }
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bm25_rank__defaults_match_the_formula),
        cmocka_unit_test(test_bm25_rank__repeated_query_words_count_twice),
        cmocka_unit_test(test_bm25_rank__k1_b_and_column_weights_apply),
        cmocka_unit_test(test_bm25_rank__bad_arguments_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
