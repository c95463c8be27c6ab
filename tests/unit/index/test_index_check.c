/* test_index_check.c - rag_index_check: a sound index has no problem, and
 * each kind of damage that SQLite's integrity_check does not see (r16) is
 * reported under its check, with the search or stats that met it failing
 * loudly instead of answering "no results". */
#include "test_support.h"

#include "index/index.h"
#include "index/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;       /* shared by the tests: the clean index and its docs */
static char *clean_db;

static void sh(const char *cmd)
{
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    rag_indexer_opts o;
    rag_indexer_report rep;
    rag_index *ix = NULL;
    rag_err err = {0};
    const char *paths[1];
    char *docs, *p;
    sqlite3_stmt *st;
    float vec[4] = {1, 0, 0, 0};
    (void)state;

    dir = ts_tmpdir("check");
    docs = rag_asprintf("%s/docs", dir);
    clean_db = rag_asprintf("%s/clean.db", dir);
    if (mkdir(docs, 0755) != 0)
        return -1;
    p = rag_asprintf("%s/a.txt", docs);
    ts_write_file(p, "the mcause register holds the trap cause\n\nmore words here\n", 58);
    rag_free(p);
    p = rag_asprintf("%s/b.md", docs);
    ts_write_file(p, "# Quokka\n\nA small marsupial.\n", 29);
    rag_free(p);
    memset(&o, 0, sizeof o);
    o.extract = rag_extract_default_opts();
    o.chunk = rag_chunk_default_opts();
    paths[0] = docs;
    if (rag_index_open(&ix, clean_db, 0, &err) < 0 ||
        rag_indexer_run(ix, paths, 1, &o, NULL, &rep, &err) < 0 || rep.n_added != 2) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    /* vectors as the embedding pass writes them: meta model and dim */
    if (rag_index_meta_set(ix, "embed_model", "test-model", &err) < 0 ||
        rag_index_meta_set(ix, "embed_dim", "4", &err) < 0 ||
        sqlite3_prepare_v2(rag_index_db(ix), "INSERT INTO vectors SELECT id, 'test-model', 4,"
                           " ?1 FROM chunks", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, vec, sizeof vec, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    sqlite3_finalize(st);
    rag_index_close(ix);
    rag_free(docs);
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
    rag_free(clean_db);
    rag_free(dir);
    return 0;
}

/* Copy the clean index, damage it with sql (NULL: leave it), check it.
 * Returns the report (caller frees with rag_check_report_fini). */
static rag_check_report check_copy(const char *name, const char *sql)
{
    char *db = rag_asprintf("%s/%s.db", dir, name), cmd[1200];
    rag_check_report r;
    rag_index *ix = NULL;
    rag_err err = {0};

    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", clean_db, db);
    sh(cmd);
    if (sql) {
        sqlite3 *raw;
        char *msg = NULL;
        assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
        if (sqlite3_exec(raw, sql, NULL, NULL, &msg) != SQLITE_OK)
            fail_msg("damage %s: %s", name, msg);
        sqlite3_close(raw);
    }
    /* read-only, as docrag check opens it */
    if (rag_index_open(&ix, db, RAG_INDEX_READ_ONLY, &err) < 0)
        fail_msg("open %s: %s", name, err.msg);
    assert_int_equal(rag_index_check(ix, &r, &err), RAG_OK);
    rag_index_close(ix);
    rag_free(db);
    return r;
}

/* 1 if a problem of group `check` mentions `word`. */
static int has_problem(const rag_check_report *r, const char *check, const char *word)
{
    for (size_t i = 0; i < r->n_problems; i++)
        if (!strcmp(r->problems[i].check, check) && strstr(r->problems[i].message, word))
            return 1;
    return 0;
}

static void dump(const rag_check_report *r)
{
    for (size_t i = 0; i < r->n_problems; i++)
        fprintf(stderr, "  %s: %s\n", r->problems[i].check, r->problems[i].message);
}

static void test_check__sound_index_has_no_problem(void **state)
{
    rag_check_report r = check_copy("sound", NULL);
    (void)state;
    dump(&r);
    assert_int_equal(r.n_problems, 0);
    assert_int_equal(r.n_documents, 2);
    assert_true(r.n_chunks >= 2);
    assert_int_equal(r.n_vectors, r.n_chunks);
    assert_true(r.n_postings > 0 && r.n_terms > 0);
    rag_check_report_fini(&r);
}

typedef struct {
    const char *name, *sql, *check, *word;
} damage;

static const damage damages[] = {
    /* the three of r16 that integrity_check passes */
    {"empty_postings", "UPDATE bm25_postings SET data = x''", "bm25", "than their df"},
    {"negative_count", "UPDATE meta SET value = '-5' WHERE key = 'bm25_n_docs'", "counts",
     "negative"},
    {"no_bm25_docs", "DELETE FROM bm25_docs", "bm25", "no bm25_docs row"},
    /* and the other invariants */
    {"orphan_chunks", "DELETE FROM documents WHERE path LIKE '%a.txt'", "chunks",
     "belong to no document"},
    {"page_missing", "DELETE FROM pages WHERE page = 1", "pages", "not covered"},
    {"page_count", "UPDATE documents SET n_pages = 7", "documents", "says 7 pages"},
    {"truncated_blob", "UPDATE bm25_postings SET data = x'ff' WHERE (term, seg) IN"
     " (SELECT term, seg FROM bm25_postings LIMIT 1)", "bm25", "do not decode"},
    {"n_docs_off", "UPDATE meta SET value = '99' WHERE key = 'bm25_n_docs'", "bm25",
     "bm25_n_docs is 99"},
    {"vector_dim", "UPDATE vectors SET dim = 3 WHERE rowid IN (SELECT rowid FROM vectors"
     " LIMIT 1)", "vectors", "dimension 4"},
    {"vector_model", "UPDATE vectors SET model = 'other'", "vectors", "test-model"},
    {"fts_rows", "DELETE FROM chunks_fts_docsize", "fts", "indexes 0 rows"},
    {"cache_counts", "INSERT INTO meta VALUES('embed_cache_lookups', '2'),"
     " ('embed_cache_hits', '5')", "counts", "exceeds"},
    {"table_dropped", "DROP TABLE bm25_deleted", "schema", "bm25_deleted is missing"},
};

static void test_check__each_damage_is_reported_under_its_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof damages / sizeof damages[0]; i++) {
        const damage *d = &damages[i];
        rag_check_report r = check_copy(d->name, d->sql);
        if (!has_problem(&r, d->check, d->word)) {
            dump(&r);
            fail_msg("%s: no '%s' problem mentioning \"%s\"", d->name, d->check, d->word);
        }
        rag_check_report_fini(&r);
    }
}

/* Searching or counting a damaged index fails naming the damage, where it
 * used to answer "no results" or "stats: not an error". */
static void test_check__search_and_stats_fail_loudly_on_damage(void **state)
{
    static const char *const sqls[] = {
        "UPDATE bm25_postings SET data = x''",
        "UPDATE meta SET value = '-5' WHERE key = 'bm25_n_docs'",
        "DELETE FROM bm25_docs",
    };
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        char *db = rag_asprintf("%s/loud%zu.db", dir, i), cmd[1200];
        rag_bm25_hit hits[4];
        size_t n_hits = 0;
        rag_index *ix = NULL;
        rag_err err = {0};
        sqlite3 *raw;
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", clean_db, db);
        sh(cmd);
        assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
        assert_int_equal(sqlite3_exec(raw, sqls[i], NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(raw);
        assert_int_equal(rag_index_open(&ix, db, RAG_INDEX_READ_ONLY, &err), RAG_OK);
        assert_true(rag_index_bm25(ix, "mcause register", 4, hits, &n_hits, &err) < 0);
        assert_non_null(strstr(err.msg, "damaged index"));
        assert_non_null(strstr(err.msg, "docrag check"));
        rag_index_close(ix);
        rag_free(db);
    }
    {
        char *db = rag_asprintf("%s/meta_only.db", dir);
        rag_index_stats st;
        rag_index *ix = NULL;
        rag_err err = {0};
        sqlite3 *raw;
        assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
        assert_int_equal(sqlite3_exec(raw, "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
                                      "INSERT INTO meta VALUES('schema_version', '1')",
                                      NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(raw);
        assert_int_equal(rag_index_open(&ix, db, RAG_INDEX_READ_ONLY, &err), RAG_OK);
        assert_true(rag_index_stats_get(ix, &st, &err) < 0);
        assert_null(strstr(err.msg, "not an error"));
        assert_non_null(strstr(err.msg, "no such table"));
        rag_index_close(ix);
        rag_free(db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check__sound_index_has_no_problem),
        cmocka_unit_test(test_check__each_damage_is_reported_under_its_check),
        cmocka_unit_test(test_check__search_and_stats_fail_loudly_on_damage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
