/* test_analyzer.c - BM25 analysis: technical tokens, stemming, stop words,
 * offsets, query/document agreement, hostile bytes, and the FTS5 tokenizer
 * "docrag" with MATCH expressions built by rag_analyzer_match_expr. */
#include "test_support.h"

#include "index/fts5.h"
#include "text/analyzer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- collecting terms ------------------------------------------------- */

#define MAX_TERMS 256

typedef struct {
    int n;
    char term[MAX_TERMS][RAG_ANALYZER_MAX_TERM_BYTES + 1];
    size_t start[MAX_TERMS], end[MAX_TERMS];
    int coloc[MAX_TERMS];
} terms;

static int collect(void *ctx, const char *term, size_t n_bytes,
                   size_t byte_start, size_t byte_end, int colocated)
{
    terms *t = ctx;
    assert_true(n_bytes > 0 && n_bytes <= RAG_ANALYZER_MAX_TERM_BYTES);
    assert_true(byte_start < byte_end);
    if (t->n >= MAX_TERMS)
        return 0;
    memcpy(t->term[t->n], term, n_bytes);
    t->term[t->n][n_bytes] = '\0';
    t->start[t->n] = byte_start;
    t->end[t->n] = byte_end;
    t->coloc[t->n] = colocated;
    t->n++;
    return 0;
}

static void analyse(rag_analyzer *a, const char *text, rag_analyze_mode mode,
                    terms *out)
{
    memset(out, 0, sizeof *out);
    assert_int_equal(rag_analyzer_run_mode(a, text, strlen(text), mode,
                                           collect, out), 0);
}

/* Space-joined terms, colocated ones marked with '+': "risc-v +risc +v". */
static char *joined(const terms *t)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", i ? " " : "",
                              t->coloc[i] ? "+" : "", t->term[i]);
    return buf;
}

static rag_analyzer *new_analyzer(void)
{
    rag_analyzer *a = NULL;
    assert_int_equal(rag_analyzer_create(&a, NULL), RAG_OK);
    assert_non_null(a);
    return a;
}

/* ---- analysis --------------------------------------------------------- */

static void test_analyzer__technical_tokens_keep_whole_and_parts(void **state)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"RISC-V", "risc-v +risc +v"},
        {"x86_64", "x86_64 +x +86 +64"},
        {"v1.0", "v1.0 +v +1 +0"},
        {"0x7FF", "0x7ff +0 +x +7 +ff"},
        {"RV32I", "rv32i +rv +32"}, /* "i" is a stop word */
        {"std::vector", "std::vector +std +vector"},
        {"mcause", "mcaus"},
        {"HTTPServer", "httpserver"}, /* camel case is not split */
        {"e.g.", "e.g"},
        {"U.S.A.", "u.s.a"},
        {"boundary-layer", "boundary-layer +boundari +layer"},
        {"1,000", "1,000 +1 +000"},
    };
    rag_analyzer *a = new_analyzer();
    terms t;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        analyse(a, cases[i].text, RAG_ANALYZE_DOCUMENT, &t);
        if (strcmp(joined(&t), cases[i].expect) != 0)
            fail_msg("%s -> \"%s\", want \"%s\"", cases[i].text, joined(&t),
                     cases[i].expect);
        /* a query for the token asks for the whole form only */
        analyse(a, cases[i].text, RAG_ANALYZE_QUERY, &t);
        assert_int_equal(t.n, 1);
    }
    rag_analyzer_destroy(a);
}

static void test_analyzer__stems_and_drops_stop_words(void **state)
{
    rag_analyzer *a = new_analyzer();
    terms t;
    (void)state;
    analyse(a, "The running of the Runs and a runner", RAG_ANALYZE_DOCUMENT, &t);
    assert_string_equal(joined(&t), "run run runner");
    analyse(a, "the of and to in is it", RAG_ANALYZE_DOCUMENT, &t);
    assert_int_equal(t.n, 0);
    assert_true(rag_analyzer_is_stopword("the", 3));
    assert_false(rag_analyzer_is_stopword("thee", 4));
    assert_false(rag_analyzer_is_stopword("risc", 4));
    assert_true(rag_analyzer_is_stopword("a", 1));
    assert_true(rag_analyzer_is_stopword("yourselves", 10));
    assert_true(rag_analyzer_is_stopword("i'm", 3));
    analyse(a, "I\xE2\x80\x99m what", RAG_ANALYZE_DOCUMENT, &t);
    assert_int_equal(t.n, 0);
    rag_analyzer_destroy(a);
}

static void test_analyzer__drops_possessive_and_folds_accents(void **state)
{
    rag_analyzer *a = new_analyzer();
    terms t;
    (void)state;
    analyse(a, "Lucene's caf\xC3\xA9 CAFE na\xC3\xAFve RISC-V\xE2\x80\x99s",
            RAG_ANALYZE_DOCUMENT, &t);
    assert_string_equal(joined(&t), "lucen cafe cafe naiv risc-v +risc +v");
    rag_analyzer_destroy(a);
}

static void test_analyzer__offsets_point_at_the_source_bytes(void **state)
{
    const char *text = "  Caf\xC3\xA9, RISC-V's x86_64!";
    rag_analyzer *a = new_analyzer();
    terms t;
    (void)state;
    analyse(a, text, RAG_ANALYZE_DOCUMENT, &t);
    assert_int_equal(t.n, 8);
    const char *surface[] = {"Caf\xC3\xA9", "RISC-V", "RISC", "V",
                             "x86_64", "x", "86", "64"};
    for (int i = 0; i < 8; i++) {
        size_t n = t.end[i] - t.start[i];
        assert_int_equal(n, strlen(surface[i]));
        assert_memory_equal(text + t.start[i], surface[i], n);
    }
    rag_analyzer_destroy(a);
}

/* Every term's source bytes, analysed alone as a query, give that term:
 * the contract rag_analyzer_match_expr relies on. */
static void check_surfaces_agree(rag_analyzer *a, const char *text)
{
    terms doc, q;
    analyse(a, text, RAG_ANALYZE_DOCUMENT, &doc);
    for (int i = 0; i < doc.n; i++) {
        char surface[512];
        size_t n = doc.end[i] - doc.start[i];
        assert_true(n < sizeof surface);
        memcpy(surface, text + doc.start[i], n);
        surface[n] = '\0';
        analyse(a, surface, RAG_ANALYZE_QUERY, &q);
        if (q.n != 1 || strcmp(q.term[0], doc.term[i]) != 0)
            fail_msg("term \"%s\" from \"%s\": its source \"%s\" analyses to "
                     "\"%s\"", doc.term[i], text, surface, joined(&q));
    }
}

static void test_analyzer__query_and_document_analysis_agree(void **state)
{
    static const char *texts[] = {
        "RISC-V's RV32I and RV64GC ISAs define x86_64-like v1.0 ops",
        "mcause 0x7FF std::vector __init__ foo__bar a.b.c e.g. U.S.A.",
        "McCarthy's LaTeX HTTPServer iPhone JSONParser ABc",
        "Na\xC3\xAFve caf\xC3\xA9s \xEF\xAC\x81nance \xE2\x80\x9Cquoted\xE2\x80\x9D",
        "3.14 1,000,000 2nd 1960s -5 don't o'brien-smith rock'n'roll",
        "\xE4\xB8\xAD\xE6\x96\x87 mixed\xE4\xB8\xADtext \xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
        "boundary-layer heat-transfer two-dimensional supersonic-flow's",
    };
    rag_analyzer *a = new_analyzer();
    (void)state;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        check_surfaces_agree(a, texts[i]);
    rag_analyzer_destroy(a);
}

static void test_analyzer__caps_long_tokens(void **state)
{
    char text[600];
    rag_analyzer *a = new_analyzer();
    terms t;
    (void)state;
    memset(text, 'a', 200);
    strcpy(text + 200, " ok ");
    /* a long compound: whole too long, so its parts stand alone */
    for (int i = 0; i < 40; i++)
        memcpy(text + 204 + i * 3, "ab-", 3);
    memcpy(text + 204 + 120, "zz", 3);
    analyse(a, text, RAG_ANALYZE_DOCUMENT, &t);
    assert_string_equal(t.term[0], "ok");
    assert_int_equal(t.n, 1 + 40 + 1);
    for (int i = 1; i < t.n; i++)
        assert_false(t.coloc[i]);
    rag_analyzer_destroy(a);
}

static void test_analyzer__odd_bytes_never_crash(void **state)
{
    static const char *odd[] = {
        "\xFF\xFE\xC0\xAF", "abc\xE2\x82", "\xED\xA0\x80x-", "a'\xCC\x81'b",
        "\xCC\x81\xCC\x81word", "--::__..,,", "x:\xFF:y", "a\xE2\x80\x99",
        "'s", "x's's's", "A'S-B'S", "1,a", "a,1",
    };
    rag_analyzer *a = new_analyzer();
    terms t;
    unsigned seed = 12345;
    char buf[257];
    (void)state;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        analyse(a, odd[i], RAG_ANALYZE_DOCUMENT, &t);
        for (int k = 0; k < t.n; k++)
            assert_true(t.end[k] <= strlen(odd[i]));
        check_surfaces_agree(a, odd[i]);
    }
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 256);
        for (size_t i = 0; i < n; i++) {
            int r = rand_r(&seed) % 8;
            buf[i] = r < 3 ? (char)rand_r(&seed)
                   : r < 5 ? "aZ9-_.:',"[rand_r(&seed) % 9]
                           : (char)('a' + rand_r(&seed) % 26);
        }
        memset(&t, 0, sizeof t);
        assert_true(rag_analyzer_run(a, buf, n, collect, &t) == 0);
        for (int k = 0; k < t.n; k++) {
            assert_true(t.end[k] <= n);
            assert_true(rag_utf8_valid(t.term[k], strlen(t.term[k])));
        }
    }
    rag_analyzer_destroy(a);
}

static void test_analyzer__create_reports_out_of_memory(void **state)
{
    rag_analyzer *a = (rag_analyzer *)1;
    rag_err err = {0};
    (void)state;
    ts_fail_alloc_after(0);
    assert_int_equal(rag_analyzer_create(&a, &err), RAG_ENOMEM);
    ts_fail_alloc_after(-1);
    assert_null(a);
    assert_int_equal(err.code, RAG_ENOMEM);
}

/* ---- MATCH expressions ------------------------------------------------ */

static void test_match_expr__quotes_terms_and_ors_them(void **state)
{
    rag_analyzer *a = new_analyzer();
    rag_buf b = RAG_BUF_INIT;
    (void)state;
    assert_int_equal(rag_analyzer_match_expr(a, &b, "the running RISC-V", NULL),
                     RAG_OK);
    assert_string_equal(b.data,
                        "\"running\" OR \"RISC-V\" OR \"RISC\" OR \"V\"");
    rag_buf_clear(&b);
    /* hyphenated words give their words; repeats are kept */
    assert_int_equal(rag_analyzer_match_expr(a, &b, "boundary-layer layer x86_64",
                                             NULL), RAG_OK);
    assert_string_equal(b.data, "\"boundary\" OR \"layer\" OR \"layer\" OR "
                                "\"x86_64\" OR \"x\" OR \"86\" OR \"64\"");
    rag_buf_clear(&b);
    assert_int_equal(rag_analyzer_match_expr(a, &b, "say \"x-ray\"", NULL),
                     RAG_OK);
    assert_string_equal(b.data, "\"say\" OR \"x\" OR \"ray\"");
    rag_buf_clear(&b);
    assert_int_equal(rag_analyzer_match_expr(a, &b, "the of \"\" ...", NULL),
                     RAG_OK);
    assert_int_equal(b.len, 0);
    rag_buf_fini(&b);
    rag_analyzer_destroy(a);
}

/* ---- through FTS5 ----------------------------------------------------- */

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    rag_err err = {0};
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    if (rag_fts5_register(db, &err) != RAG_OK)
        fail_msg("register: %s", err.msg);
    assert_int_equal(sqlite3_exec(db,
        "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='docrag')",
        NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void insert(sqlite3 *db, long rowid, const char *text)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
        "INSERT INTO t(rowid, text) VALUES (?1, ?2)", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Rowids matching the free-text query, best first, into ids; returns n. */
static int search(sqlite3 *db, rag_analyzer *a, const char *query, long *ids,
                  int max_ids)
{
    rag_buf expr = RAG_BUF_INIT;
    sqlite3_stmt *st;
    int n = 0, rc;
    assert_int_equal(rag_analyzer_match_expr(a, &expr, query, NULL), RAG_OK);
    if (expr.len == 0)
        return 0;
    assert_int_equal(sqlite3_prepare_v2(db,
        "SELECT rowid, docrag_bm25(t) AS s FROM t WHERE t MATCH ?1 "
        "ORDER BY s DESC, rowid", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, expr.data, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max_ids)
        ids[n++] = (long)sqlite3_column_int64(st, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("query %s: %s", expr.data, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    rag_buf_fini(&expr);
    return n;
}

static void test_fts5__technical_tokens_found_by_whole_and_parts(void **state)
{
    /* whole forms (any case) must rank the row first; parts must find it */
    static const struct {
        const char *doc;
        const char *whole[3];
        const char *parts[4];
    } cases[] = {
        {"The RISC-V privileged spec", {"RISC-V", "risc-v", NULL}, {"risc", "V", "Risc", NULL}},
        {"compiled for x86_64 hosts", {"x86_64", "X86_64", NULL}, {"x86", "64", "x", "86"}},
        {"release v1.0 notes", {"v1.0", "V1.0", NULL}, {"1.0", "v", "1", "0"}},
        {"the mcause register", {"mcause", "MCAUSE", NULL}, {NULL}},
        {"mask 0x7FF applied", {"0x7FF", "0x7ff", NULL}, {"7ff", "ff", "7", "0x"}},
        {"the RV32I base ISA", {"RV32I", "rv32i", NULL}, {"rv32", "32", "rv", NULL}},
        {"a std::vector of ints", {"std::vector", NULL, NULL}, {"vector", "std", NULL, NULL}},
    };
    sqlite3 *db = open_db();
    rag_analyzer *a = new_analyzer();
    long ids[16];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        insert(db, (long)i + 1, cases[i].doc);
    insert(db, 100, "unrelated filler text about wings");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int k = 0; k < 3 && cases[i].whole[k]; k++) {
            int n = search(db, a, cases[i].whole[k], ids, 16);
            if (n < 1 || ids[0] != (long)i + 1)
                fail_msg("query \"%s\" should rank \"%s\" first (got %d hits)",
                         cases[i].whole[k], cases[i].doc, n);
        }
        for (int k = 0; k < 4 && cases[i].parts[k]; k++) {
            int n = search(db, a, cases[i].parts[k], ids, 16), hit = 0;
            for (int j = 0; j < n; j++)
                hit |= ids[j] == (long)i + 1;
            if (!hit)
                fail_msg("query \"%s\" should find \"%s\"", cases[i].parts[k],
                         cases[i].doc);
            assert_false(ids[n - 1] == 100);
        }
    }
    rag_analyzer_destroy(a);
    sqlite3_close(db);
}

static void test_fts5__exact_technical_match_ranks_first(void **state)
{
    sqlite3 *db = open_db();
    rag_analyzer *a = new_analyzer();
    long ids[8];
    (void)state;
    insert(db, 1, "risc machines and v notation");
    insert(db, 2, "the RISC-V manual");
    insert(db, 3, "risc v");
    int n = search(db, a, "RISC-V", ids, 8);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 2);
    rag_analyzer_destroy(a);
    sqlite3_close(db);
}

static void test_fts5__stemming_and_stop_words_apply_to_both_sides(void **state)
{
    sqlite3 *db = open_db();
    rag_analyzer *a = new_analyzer();
    long ids[8];
    (void)state;
    insert(db, 1, "She runs every morning");
    insert(db, 2, "The café opened");
    insert(db, 3, "nothing else");
    int n = search(db, a, "running", ids, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 1);
    n = search(db, a, "CAFE", ids, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 2);
    /* stop words are not indexed: a raw MATCH on "the" finds nothing */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
        "SELECT count(*) FROM t WHERE t MATCH '\"the\" OR \"every\"'", -1, &st,
        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_equal(search(db, a, "the and of", ids, 8), 0);
    rag_analyzer_destroy(a);
    sqlite3_close(db);
}

static void test_fts5__tokenizer_rejects_arguments(void **state)
{
    sqlite3 *db = NULL;
    (void)state;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(rag_fts5_register(db, NULL), RAG_OK);
    assert_int_not_equal(sqlite3_exec(db,
        "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='docrag bogus')",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analyzer__technical_tokens_keep_whole_and_parts),
        cmocka_unit_test(test_analyzer__stems_and_drops_stop_words),
        cmocka_unit_test(test_analyzer__drops_possessive_and_folds_accents),
        cmocka_unit_test(test_analyzer__offsets_point_at_the_source_bytes),
        cmocka_unit_test(test_analyzer__query_and_document_analysis_agree),
        cmocka_unit_test(test_analyzer__caps_long_tokens),
        cmocka_unit_test(test_analyzer__odd_bytes_never_crash),
        cmocka_unit_test(test_analyzer__create_reports_out_of_memory),
        cmocka_unit_test(test_match_expr__quotes_terms_and_ors_them),
        cmocka_unit_test(test_fts5__technical_tokens_found_by_whole_and_parts),
        cmocka_unit_test(test_fts5__exact_technical_match_ranks_first),
        cmocka_unit_test(test_fts5__stemming_and_stop_words_apply_to_both_sides),
        cmocka_unit_test(test_fts5__tokenizer_rejects_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
