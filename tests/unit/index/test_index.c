/* test_index.c - the SQLite store: replace is atomic, FTS stays in step,
 * errors name the file. */
#include "test_support.h"

#include "index/index.h"
#include "index/store_sqlite.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static rag_doc make_doc(const char *path, const char *text, rag_page_span *pages)
{
    rag_doc d;
    memset(&d, 0, sizeof d);
    d.path = (char *)path;
    d.title = "Test title";
    d.kind = RAG_DOC_TEXT;
    d.text = (char *)text;
    d.text_bytes = strlen(text);
    pages[0] = (rag_page_span){1, 0, d.text_bytes / 2};
    pages[1] = (rag_page_span){2, d.text_bytes / 2, d.text_bytes};
    d.pages = pages;
    d.n_pages = 2;
    return d;
}

static rag_chunks *two_chunks(const char *text, int64_t id0, int64_t id1)
{
    static rag_chunk items[2];
    static rag_chunks cs;
    size_t n = strlen(text);
    const char *dot = strstr(text, ". ");
    size_t h = dot ? (size_t)(dot - text) + 2 : n / 2;   /* split between sentences */
    items[0] = (rag_chunk){id0, 0, 1, 1, "Intro", 0, h, text, h, 10};
    items[1] = (rag_chunk){id1, 1, 2, 2, "Body", h, n, text + h, n - h, 10};
    cs.items = items;
    cs.n = 2;
    return &cs;
}

static int64_t count_matches(rag_index *ix, const char *word)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix),
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, word, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void assert_fts_consistent(rag_index *ix)
{
    char *msg = NULL;
    int rc = sqlite3_exec(rag_index_db(ix),
        "INSERT INTO chunks_fts(chunks_fts, rank) VALUES('integrity-check', 1)",
        NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("FTS integrity-check: %s", msg);
}

static void test_index__replace_swaps_rows_and_fts_entries(void **state)
{
    rag_page_span pages[2];
    const char *v1 = "alpha aardvark words here. and more zebra words follow";
    const char *v2 = "brand new content about quokka. second half on pangolin";
    rag_doc d1 = make_doc("/docs/a.txt", v1, pages);
    rag_doc_meta meta = {"/docs/a.txt", "sha1", 1, 10};
    rag_index *ix;
    rag_err err = {0};
    rag_chunk_row row;
    char sha[65];
    (void)state;

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &meta, &d1, two_chunks(v1, 11, 12), &err), RAG_OK);
    assert_int_equal(count_matches(ix, "aardvark"), 1);
    assert_int_equal(rag_index_get_chunk(ix, 12, &row, &err), RAG_OK);
    assert_string_equal(row.doc, "/docs/a.txt");
    assert_string_equal(row.section, "Body");
    assert_int_equal(row.page_start, 2);
    assert_string_equal(row.title, "Test title");
    rag_chunk_row_fini(&row);

    {
        rag_doc d2 = make_doc("/docs/a.txt", v2, pages);
        rag_doc_meta m2 = {"/docs/a.txt", "sha2", 2, 10};
        assert_int_equal(rag_index_put_doc(ix, &m2, &d2, two_chunks(v2, 21, 22), &err),
                         RAG_OK);
    }
    assert_int_equal(count_matches(ix, "aardvark"), 0);
    assert_int_equal(count_matches(ix, "quokka"), 1);
    assert_int_equal(rag_index_get_chunk(ix, 11, &row, &err), RAG_ENOTFOUND);
    assert_int_equal(rag_index_doc_sha(ix, "/docs/a.txt", sha, &err), 1);
    assert_string_equal(sha, "sha2");
    assert_int_equal(rag_index_n_chunks(ix), 2);
    assert_fts_consistent(ix);
    rag_index_close(ix);
}

static void test_index__failed_replace_keeps_the_old_version(void **state)
{
    rag_page_span pages[2];
    const char *v1 = "original text about aardvark. and the second half";
    const char *v2 = "replacement text about quokka. with a second half";
    rag_doc d1 = make_doc("/d/b.txt", v1, pages);
    rag_doc_meta m1 = {"/d/b.txt", "s1", 1, 1}, m2 = {"/d/b.txt", "s2", 1, 1};
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &m1, &d1, two_chunks(v1, 1, 2), &err), RAG_OK);
    {
        rag_doc d2 = make_doc("/d/b.txt", v2, pages);
        /* Two chunks with one id: the second insert fails mid-transaction. */
        assert_int_equal(rag_index_put_doc(ix, &m2, &d2, two_chunks(v2, 7, 7), &err),
                         RAG_EIO);
        assert_non_null(strstr(err.msg, "/d/b.txt"));
    }
    assert_int_equal(count_matches(ix, "aardvark"), 1);
    assert_int_equal(count_matches(ix, "quokka"), 0);
    assert_int_equal(rag_index_n_chunks(ix), 2);
    assert_fts_consistent(ix);
    rag_index_close(ix);
}

static void test_index__remove_deletes_everything_of_the_doc(void **state)
{
    rag_page_span pages[2];
    const char *v = "some pangolin text. more pangolin text";
    rag_doc d = make_doc("/d/c.txt", v, pages);
    rag_doc_meta m = {"/d/c.txt", "s", 1, 1};
    rag_index *ix;
    rag_index_stats st;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &m, &d, two_chunks(v, 5, 6), &err), RAG_OK);
    assert_int_equal(rag_index_remove_doc(ix, "/d/c.txt", &err), 1);
    assert_int_equal(rag_index_remove_doc(ix, "/d/c.txt", &err), 0);
    assert_int_equal(rag_index_stats_get(ix, &st, &err), RAG_OK);
    assert_int_equal(st.n_documents, 0);
    assert_int_equal(st.n_chunks, 0);
    assert_int_equal(st.n_pages, 0);
    assert_int_equal(count_matches(ix, "pangolin"), 0);
    assert_fts_consistent(ix);
    rag_index_close(ix);
}

static void test_index__read_only_open_of_missing_file_names_it(void **state)
{
    rag_index *ix = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_index_open(&ix, "/nonexistent/dir/x.db", RAG_INDEX_READ_ONLY, &err),
                     RAG_ENOTFOUND);
    assert_null(ix);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x.db"));
}

static void test_index__newer_schema_is_refused(void **state)
{
    char *dir = ts_tmpdir("schema");
    char *path = rag_asprintf("%s/x.db", dir);
    rag_index *ix = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_int_equal(sqlite3_exec(rag_index_db(ix),
        "UPDATE meta SET value='99' WHERE key='schema_version'", NULL, NULL, NULL), SQLITE_OK);
    rag_index_close(ix);
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "schema version 99"));
    rag_free(path);
    rag_free(dir);
}

static const char *doc_col(rag_index *ix, const char *sql, char *buf, size_t n_buf)
{
    sqlite3_stmt *st;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(rag_index_db(ix), sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, n_buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* A schema-1 file as the previous release wrote it: the schema-2 file
 * without documents.version, doc_date, meta_rev. */
static void make_v1_file(const char *path)
{
    rag_page_span pages[2];
    const char *v = "alpha aardvark words here. and more zebra words follow";
    rag_doc d = make_doc("/docs/old.txt", v, pages);
    rag_doc_meta m = {"/docs/old.txt", "sha-old", 1, 10};
    rag_index *ix = NULL;
    rag_err err = {0};
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &m, &d, two_chunks(v, 21, 22), &err), RAG_OK);
    assert_int_equal(sqlite3_exec(rag_index_db(ix),
        "ALTER TABLE documents DROP COLUMN version;"
        "ALTER TABLE documents DROP COLUMN doc_date;"
        "ALTER TABLE documents DROP COLUMN meta_rev;"
        "UPDATE meta SET value='1' WHERE key='schema_version'", NULL, NULL, NULL), SQLITE_OK);
    rag_index_close(ix);
}

static void test_index__schema_1_is_read_as_is_and_upgraded_by_a_writer(void **state)
{
    char *dir = ts_tmpdir("migrate");
    char *path = rag_asprintf("%s/v1.db", dir);
    rag_index *ix = NULL;
    rag_err err = {0};
    rag_check_report rep;
    char buf[64];
    (void)state;

    make_v1_file(path);
    /* a reader cannot upgrade: it sees the new columns at their defaults
     * and leaves the file at schema 1 */
    assert_int_equal(rag_index_open(&ix, path, RAG_INDEX_READ_ONLY, &err), RAG_OK);
    assert_string_equal(doc_col(ix, "SELECT title || '|' || version || '|' || meta_rev"
                                " FROM documents", buf, sizeof buf), "Test title||0");
    assert_int_equal(count_matches(ix, "aardvark"), 1);
    assert_int_equal(rag_index_check(ix, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_problems, 0);
    rag_check_report_fini(&rep);
    rag_index_close(ix);
    assert_int_equal(rag_index_open(&ix, path, RAG_INDEX_READ_ONLY, &err), RAG_OK);
    assert_string_equal(doc_col(ix, "SELECT value FROM main.meta WHERE key="
                                "'schema_version'", buf, sizeof buf), "1");
    rag_index_close(ix);

    /* the first writer upgrades in place, keeping every row */
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_string_equal(doc_col(ix, "SELECT value FROM meta WHERE key='schema_version'",
                                buf, sizeof buf), RAG_INDEX_SCHEMA_VERSION_STR);
    assert_string_equal(doc_col(ix, "SELECT path || '|' || version || '|' || meta_rev"
                                " FROM documents", buf, sizeof buf), "/docs/old.txt||0");
    assert_int_equal(count_matches(ix, "aardvark"), 1);
    assert_fts_consistent(ix);
    assert_int_equal(rag_index_check(ix, &rep, &err), RAG_OK);
    for (size_t i = 0; i < rep.n_problems; i++)
        print_message("%s: %s\n", rep.problems[i].check, rep.problems[i].message);
    assert_int_equal(rep.n_problems, 0);
    rag_check_report_fini(&rep);
    rag_index_close(ix);
    /* and a second writer finds nothing left to do */
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    rag_index_close(ix);

    /* check names a schema-2 file that lacks the new columns */
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_OK);
    assert_int_equal(sqlite3_exec(rag_index_db(ix), "ALTER TABLE documents DROP COLUMN"
                                  " doc_date", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(rag_index_check(ix, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_problems, 1);
    assert_non_null(strstr(rep.problems[0].message, "no column doc_date"));
    rag_check_report_fini(&rep);
    rag_index_close(ix);
    rag_free(path);
    rag_free(dir);
}

static void test_index__page_lookup_follows_byte_offsets(void **state)
{
    rag_page_span pages[2];
    const char *v = "0123456789abcdefghij";
    rag_doc d = make_doc("/d/p.txt", v, pages);
    rag_doc_meta m = {"/d/p.txt", "s", 1, 1};
    rag_index *ix;
    rag_chunk_row row;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &m, &d, two_chunks(v, 3, 4), &err), RAG_OK);
    assert_int_equal(rag_index_get_chunk(ix, 3, &row, &err), RAG_OK);
    assert_int_equal(rag_index_page_at(ix, row.doc_id, 0, &err), 1);
    assert_int_equal(rag_index_page_at(ix, row.doc_id, 9, &err), 1);
    assert_int_equal(rag_index_page_at(ix, row.doc_id, 10, &err), 2);
    assert_int_equal(rag_index_page_at(ix, row.doc_id, 19, &err), 2);
    rag_chunk_row_fini(&row);
    rag_index_close(ix);
}

/* The chunk beside another in its document, by order, for an answer that
 * reads across a chunk boundary; none before the first, none after the
 * last, none for an unknown chunk, and never another document's. */
static void test_index__chunk_beside_follows_the_order_of_one_document(void **state)
{
    rag_page_span pages[2], pages2[2];
    const char *v = "First sentence here. Second sentence there.";
    const char *w = "Other text. More of it.";
    rag_doc d = make_doc("/d/a.txt", v, pages), d2 = make_doc("/d/b.txt", w, pages2);
    rag_doc_meta m = {"/d/a.txt", "s", 1, 1}, m2 = {"/d/b.txt", "t", 1, 1};
    rag_index *ix;
    rag_chunk_row row;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &m, &d, two_chunks(v, 30, 40), &err), RAG_OK);
    assert_int_equal(rag_index_put_doc(ix, &m2, &d2, two_chunks(w, 50, 60), &err), RAG_OK);
    assert_int_equal(rag_index_chunk_beside(ix, 30, 1, &row, &err), RAG_OK);
    assert_int_equal(row.chunk_id, 40);
    assert_string_equal(row.text, "Second sentence there.");
    rag_chunk_row_fini(&row);
    assert_int_equal(rag_index_chunk_beside(ix, 40, -1, &row, &err), RAG_OK);
    assert_int_equal(row.chunk_id, 30);
    rag_chunk_row_fini(&row);
    /* the last of a.txt has nothing after it, b.txt's first nothing before */
    assert_int_equal(rag_index_chunk_beside(ix, 40, 1, &row, &err), RAG_ENOTFOUND);
    assert_int_equal(rag_index_chunk_beside(ix, 50, -1, &row, &err), RAG_ENOTFOUND);
    assert_int_equal(rag_index_chunk_beside(ix, 12345, 1, &row, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "12345"));
    rag_index_close(ix);
}

/* r22: an SQLite file of another application is refused, named, and left
 * exactly as it was: no docrag table, journal mode unchanged. An empty
 * file is a new index. */
static void test_index__foreign_database_is_refused_untouched(void **state)
{
    char *dir = ts_tmpdir("foreign");
    char *path = rag_asprintf("%s/app.sqlite", dir);
    char *empty = rag_asprintf("%s/empty.db", dir);
    rag_index *ix = NULL;
    rag_err err = {0};
    sqlite3 *db;
    sqlite3_stmt *st;
    (void)state;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE bookmarks(url TEXT);"
                                  "INSERT INTO bookmarks VALUES('https://example.org')",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(rag_index_open(&ix, path, 0, &err), RAG_EFORMAT);
    assert_null(ix);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not a docrag index"));
    assert_non_null(strstr(err.msg, "bookmarks"));
    assert_int_equal(rag_index_open(&ix, path, RAG_INDEX_READ_ONLY, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "not a docrag index"));
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(name) FROM sqlite_master",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "bookmarks");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "delete");
    sqlite3_finalize(st);
    sqlite3_close(db);

    ts_write_file(empty, "", 0);
    assert_int_equal(rag_index_open(&ix, empty, 0, &err), RAG_OK);
    rag_index_close(ix);
    assert_int_equal(rag_index_open(&ix, empty, RAG_INDEX_READ_ONLY, &err), RAG_OK);
    rag_index_close(ix);
    rag_free(empty);
    rag_free(path);
    rag_free(dir);
}

typedef struct {
    const char *path;
    int hold_ms;
    int rc;
} holder;

/* Create the index as the first of two processes would and stay in the
 * schema transaction for a while: a rollback-journal write lock on a file
 * the other opener has just found empty. */
static void *hold_write_lock(void *arg)
{
    holder *h = arg;
    sqlite3 *db;
    h->rc = sqlite3_open(h->path, &db);
    if (h->rc == SQLITE_OK)
        h->rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    usleep((useconds_t)h->hold_ms * 1000);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

/* r10: two openers of a database that does not exist yet. SQLite returns
 * SQLITE_BUSY at once, without the busy handler, when the journal-mode
 * switch meets another connection's write lock (a deadlock guard); the
 * open must wait for it like for any other lock, not fail in 13 ms with
 * "database is locked". */
static void test_index__open_waits_for_a_concurrent_creator(void **state)
{
    char *dir = ts_tmpdir("race");
    char *path = rag_asprintf("%s/f.db", dir);
    holder h = {path, 400, -1};
    rag_index *ix = NULL;
    rag_err err = {0};
    pthread_t t;
    double t0;
    (void)state;

    ts_write_file(path, "", 0);
    assert_int_equal(pthread_create(&t, NULL, hold_write_lock, &h), 0);
    usleep(100 * 1000);
    t0 = rag_now_ms();
    if (rag_index_open(&ix, path, 0, &err) != RAG_OK)
        fail_msg("open during a concurrent creation failed after %.0f ms: %s",
                 rag_now_ms() - t0, err.msg);
    pthread_join(t, NULL);
    assert_int_equal(h.rc, SQLITE_OK);
    rag_index_close(ix);
    /* the index it made is whole */
    assert_int_equal(rag_index_open(&ix, path, RAG_INDEX_READ_ONLY, &err), RAG_OK);
    rag_index_close(ix);
    rag_free(path);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index__replace_swaps_rows_and_fts_entries),
        cmocka_unit_test(test_index__failed_replace_keeps_the_old_version),
        cmocka_unit_test(test_index__remove_deletes_everything_of_the_doc),
        cmocka_unit_test(test_index__read_only_open_of_missing_file_names_it),
        cmocka_unit_test(test_index__newer_schema_is_refused),
        cmocka_unit_test(test_index__schema_1_is_read_as_is_and_upgraded_by_a_writer),
        cmocka_unit_test(test_index__page_lookup_follows_byte_offsets),
        cmocka_unit_test(test_index__chunk_beside_follows_the_order_of_one_document),
        cmocka_unit_test(test_index__foreign_database_is_refused_untouched),
        cmocka_unit_test(test_index__open_waits_for_a_concurrent_creator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
