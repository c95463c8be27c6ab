/* test_pg_schema.c - the PostgreSQL schema, change log and job queue
 * against a real server (tests/support/pg_cluster.sh). Each test works in
 * its own PostgreSQL schema, chosen through the URL's options (libpq
 * options pass through). */
#include "test_support.h"

#include "index/pg_schema.h"
#include "pg_support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ts_pg_cluster cluster;

static int setup(void **state)
{
    (void)state;
    return ts_pg_start(&cluster) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_pg_stop(&cluster);
    return 0;
}

static char *url_in(const char *schema)
{
    return ts_pg_schema_url(&cluster, schema);
}

/* A connection whose search_path is a fresh, empty schema. */
static rag_pg *fresh(const char *schema)
{
    char *url = ts_pg_fresh_schema(&cluster, schema);
    rag_pg *pg = NULL;
    rag_err err = {0};
    if (rag_pg_open(&pg, url, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    rag_free(url);
    return pg;
}

static rag_pg *again(const char *schema)
{
    char *url = url_in(schema);
    rag_pg *pg = NULL;
    rag_err err = {0};
    if (rag_pg_open(&pg, url, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    rag_free(url);
    return pg;
}

static int64_t scalar(rag_pg *pg, const char *sql)
{
    rag_pg_res *r = NULL;
    rag_err err = {0};
    int64_t v;
    if (rag_pg_exec(pg, &r, sql, NULL, 0, 0, &err) != RAG_OK)
        fail_msg("%s: %s", sql, err.msg);
    v = rag_pg_res_i64(r, 0, 0);
    rag_pg_res_destroy(r);
    return v;
}

static void must(int rc, const rag_err *err)
{
    if (rc < 0)
        fail_msg("%s", err->msg);
}

/* ---- schema ---------------------------------------------------------------- */

static void test_pg_schema__migrates_an_empty_database_once(void **state)
{
    rag_pg *pg = fresh("s_once");
    rag_err err = {0};
    int from = -1, v = 0;
    (void)state;
    must(rag_pg_schema_migrate(pg, &from, &err), &err);
    assert_int_equal(from, 0);
    must(rag_pg_schema_version(pg, &v, &err), &err);
    assert_int_equal(v, RAG_PG_SCHEMA_VERSION);
    assert_int_equal(scalar(pg, "SELECT count(*) FROM schema_migrations"), RAG_PG_SCHEMA_VERSION);
    assert_int_equal(scalar(pg, "SELECT value::int FROM meta WHERE key = 'schema_version'"),
                     RAG_PG_SCHEMA_VERSION);
    /* every table of the store is there */
    assert_int_equal(scalar(pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 's_once'"
                                " AND tablename IN ('documents', 'pages', 'chunks', 'vectors',"
                                " 'embed_cache', 'bm25_docs', 'bm25_postings', 'bm25_deleted',"
                                " 'graph_edges', 'usage', 'meta', 'change_log', 'jobs')"),
                     13);
    must(rag_pg_schema_migrate(pg, &from, &err), &err);
    assert_int_equal(from, RAG_PG_SCHEMA_VERSION);
    assert_int_equal(scalar(pg, "SELECT count(*) FROM schema_migrations"), RAG_PG_SCHEMA_VERSION);
    rag_pg_close(pg);
}

static void test_pg_schema__older_database_gets_the_missing_steps(void **state)
{
    rag_pg *pg = fresh("s_old");
    rag_err err = {0};
    int from = -1;
    (void)state;
    must(rag_pg_schema_migrate_to(pg, 1, &from, &err), &err);
    assert_int_equal(scalar(pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 's_old'"
                                " AND tablename = 'jobs'"),
                     0);
    /* rows written at version 1 survive the later steps */
    must(rag_pg_exec_sql(pg, "INSERT INTO documents(path, sha256) VALUES ('a.md', 'x')", &err),
         &err);
    must(rag_pg_schema_migrate(pg, &from, &err), &err);
    assert_int_equal(from, 1);
    assert_int_equal(scalar(pg, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(scalar(pg, "SELECT max(version) FROM schema_migrations"),
                     RAG_PG_SCHEMA_VERSION);
    rag_pg_close(pg);
}

static void test_pg_schema__newer_or_foreign_database_is_refused(void **state)
{
    rag_pg *pg = fresh("s_new");
    rag_err err = {0};
    (void)state;
    must(rag_pg_schema_migrate(pg, NULL, &err), &err);
    must(rag_pg_exec_sql(pg, "INSERT INTO schema_migrations(version, name) VALUES (99, 'future')",
                         &err),
         &err);
    assert_int_equal(rag_pg_schema_migrate(pg, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "schema version 99 is newer"));
    assert_non_null(strstr(err.msg, rag_pg_endpoint(pg)));
    rag_pg_close(pg);

    pg = fresh("s_foreign");
    must(rag_pg_exec_sql(pg, "CREATE TABLE documents(x int)", &err), &err);
    assert_int_equal(rag_pg_schema_migrate(pg, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "not a docrag database"));
    rag_pg_close(pg);
}

struct migrator {
    int rc;
    char msg[256];
};

static void *migrate_thread(void *arg)
{
    struct migrator *m = arg;
    rag_pg *pg = again("s_race");
    rag_err err = {0};
    m->rc = rag_pg_schema_migrate(pg, NULL, &err);
    snprintf(m->msg, sizeof m->msg, "%s", err.msg);
    rag_pg_close(pg);
    return NULL;
}

static void test_pg_schema__concurrent_migrators_migrate_once(void **state)
{
    pthread_t t[3];
    struct migrator m[3];
    rag_pg *pg = fresh("s_race");
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, migrate_thread, &m[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        if (m[i].rc < 0)
            fail_msg("migrator %d: %s", i, m[i].msg);
    }
    assert_int_equal(scalar(pg, "SELECT count(*) FROM schema_migrations"), RAG_PG_SCHEMA_VERSION);
    rag_pg_close(pg);
}

static void test_pg_schema__segments_round_trip_byte_for_byte(void **state)
{
    /* a postings segment as SQLite stores it: varints with 0x00 and 0xff */
    unsigned char seg[300];
    rag_pg *pg = fresh("s_bytes");
    rag_pg_param p[2];
    rag_pg_res *r;
    rag_err err = {0};
    (void)state;
    for (size_t i = 0; i < sizeof seg; i++)
        seg[i] = (unsigned char)(i * 37 + (i % 3 ? 0 : 0x80));
    seg[0] = 0;
    seg[1] = 0xff;
    must(rag_pg_schema_migrate(pg, NULL, &err), &err);
    p[0] = (rag_pg_param){"w\xc3\xa9rm", 0, 0};
    p[1] = (rag_pg_param){seg, (int)sizeof seg, 1};
    must(rag_pg_exec(pg, NULL, "INSERT INTO bm25_postings(term, seg, df, data)"
                               " VALUES ($1, 1, 3, $2)", p, 2, 0, &err),
         &err);
    must(rag_pg_exec(pg, &r, "SELECT data FROM bm25_postings WHERE term = $1", p, 1,
                     RAG_PG_BINARY, &err),
         &err);
    assert_int_equal(rag_pg_res_rows(r), 1);
    assert_int_equal(rag_pg_res_len(r, 0, 0), sizeof seg);
    assert_memory_equal(rag_pg_res_get(r, 0, 0), seg, sizeof seg);
    rag_pg_res_destroy(r);
    rag_pg_close(pg);
}

/* ---- change log ---------------------------------------------------------------- */

static void test_pg_schema__change_log_is_written_with_the_change(void **state)
{
    rag_pg *w = fresh("s_log"), *r = again("s_log");
    rag_pg_change ch[8];
    rag_err err = {0};
    size_t n = 9;
    int64_t seq = 0, head = -1;
    char chan[64], payload[32];
    (void)state;
    must(rag_pg_schema_migrate(w, NULL, &err), &err);
    assert_int_equal(rag_pg_change_log(w, "put", 1, "a.md", &seq, &err), RAG_EINVAL);
    must(rag_pg_listen(r, RAG_PG_CHANGES_CHANNEL, &err), &err);

    must(rag_pg_begin(w, &err), &err);
    must(rag_pg_exec_sql(w, "INSERT INTO documents(path, sha256) VALUES ('a.md', 'x')", &err),
         &err);
    must(rag_pg_change_log(w, "put", 1, "a.md", &seq, &err), &err);
    assert_true(seq > 0);
    /* not visible, not announced before COMMIT */
    must(rag_pg_changes_since(r, 0, ch, 8, &n, &err), &err);
    assert_int_equal(n, 0);
    assert_int_equal(rag_pg_wait_notify(r, 100, chan, sizeof chan, payload, sizeof payload, &err),
                     0);
    must(rag_pg_commit(w, &err), &err);
    assert_int_equal(rag_pg_wait_notify(r, 5000, chan, sizeof chan, payload, sizeof payload, &err),
                     1);
    assert_string_equal(chan, RAG_PG_CHANGES_CHANNEL);
    assert_int_equal(strtoll(payload, NULL, 10), seq);
    must(rag_pg_changes_since(r, 0, ch, 8, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].seq, seq);
    assert_string_equal(ch[0].kind, "put");
    assert_int_equal(ch[0].doc_id, 1);
    assert_string_equal(ch[0].path, "a.md");

    /* a rolled-back change leaves no row (and no notification) */
    must(rag_pg_begin(w, &err), &err);
    must(rag_pg_change_log(w, "remove", 1, "a.md", NULL, &err), &err);
    rag_pg_rollback(w);
    must(rag_pg_changes_since(r, seq, ch, 8, &n, &err), &err);
    assert_int_equal(n, 0);
    must(rag_pg_changes_head(r, &head, &err), &err);
    assert_int_equal(head, seq);
    assert_int_equal(rag_pg_wait_notify(r, 100, chan, sizeof chan, payload, sizeof payload, &err),
                     0);
    /* a kind the log does not know is refused by the table */
    must(rag_pg_begin(w, &err), &err);
    assert_int_equal(rag_pg_change_log(w, "bogus", 0, NULL, NULL, &err), RAG_EBACKEND);
    rag_pg_rollback(w);
    rag_pg_close(w);
    rag_pg_close(r);
}

struct logger {
    int64_t seq;
    double done_ms;
    int rc;
};

static void *second_writer(void *arg)
{
    struct logger *l = arg;
    rag_pg *pg = again("s_order");
    rag_err err = {0};
    l->rc = rag_pg_begin(pg, &err);
    if (l->rc == RAG_OK)
        l->rc = rag_pg_change_log(pg, "put", 2, "b.md", &l->seq, &err);
    if (l->rc == RAG_OK)
        l->rc = rag_pg_commit(pg, &err);
    l->done_ms = rag_now_ms();
    rag_pg_close(pg);
    return NULL;
}

static void test_pg_schema__seq_order_is_commit_order(void **state)
{
    rag_pg *a = fresh("s_order");
    rag_err err = {0};
    pthread_t t;
    struct logger l = {0};
    int64_t seq_a = 0;
    double commit_ms;
    rag_pg_change ch[4];
    size_t n = 0;
    (void)state;
    must(rag_pg_schema_migrate(a, NULL, &err), &err);
    must(rag_pg_begin(a, &err), &err);
    must(rag_pg_change_log(a, "put", 1, "a.md", &seq_a, &err), &err);
    /* a second writer logs while the first is open: it waits for it */
    assert_int_equal(pthread_create(&t, NULL, second_writer, &l), 0);
    usleep(300 * 1000);
    assert_int_equal(l.done_ms, 0);
    commit_ms = rag_now_ms();
    must(rag_pg_commit(a, &err), &err);
    pthread_join(t, NULL);
    assert_int_equal(l.rc, RAG_OK);
    assert_true(l.done_ms >= commit_ms);
    assert_true(l.seq > seq_a);
    must(rag_pg_changes_since(a, 0, ch, 4, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_int_equal(ch[0].seq, seq_a);
    assert_int_equal(ch[1].seq, l.seq);
    rag_pg_close(a);
}

/* ---- jobs ----------------------------------------------------------------------- */

static void test_pg_schema__job_key_is_one_job(void **state)
{
    rag_pg *pg = fresh("s_jobkey");
    rag_err err = {0};
    int64_t id1, id2;
    int created = -1;
    rag_pg_job job;
    (void)state;
    must(rag_pg_schema_migrate(pg, NULL, &err), &err);
    must(rag_pg_job_enqueue(pg, "doc.pdf@abc", "payload", 7, 3, &id1, &created, &err), &err);
    assert_int_equal(created, 1);
    must(rag_pg_job_enqueue(pg, "doc.pdf@abc", "other", 5, 3, &id2, &created, &err), &err);
    assert_int_equal(created, 0);
    assert_int_equal(id1, id2);
    assert_int_equal(rag_pg_job_enqueue(pg, "", NULL, 0, 3, &id2, NULL, &err), RAG_EINVAL);
    assert_int_equal(rag_pg_job_claim(pg, "w1", 10000, &job, &err), 1);
    assert_int_equal(job.id, id1);
    assert_string_equal(job.key, "doc.pdf@abc");
    assert_int_equal(job.n_payload, 7);
    assert_memory_equal(job.payload, "payload", 7);
    assert_int_equal(job.attempts, 1);
    rag_pg_job_fini(&job);
    /* the only job is taken: nothing for a second worker */
    assert_int_equal(rag_pg_job_claim(pg, "w2", 10000, &job, &err), 0);
    rag_pg_close(pg);
}

static void test_pg_schema__claim_skips_locked_jobs(void **state)
{
    rag_pg *a = fresh("s_skip"), *b = again("s_skip");
    rag_err err = {0};
    int64_t j1, j2;
    rag_pg_job job;
    double t0;
    (void)state;
    must(rag_pg_schema_migrate(a, NULL, &err), &err);
    must(rag_pg_job_enqueue(a, "one", NULL, 0, 3, &j1, NULL, &err), &err);
    must(rag_pg_job_enqueue(a, "two", NULL, 0, 3, &j2, NULL, &err), &err);
    /* b holds job one's row locked (as a claim or completion in flight) */
    must(rag_pg_begin(b, &err), &err);
    must(rag_pg_exec_sql(b, "SELECT id FROM jobs WHERE key = 'one' FOR UPDATE", &err), &err);
    t0 = rag_now_ms();
    assert_int_equal(rag_pg_job_claim(a, "wa", 10000, &job, &err), 1);
    assert_true(rag_now_ms() - t0 < 2000); /* not blocked behind b */
    assert_int_equal(job.id, j2);
    rag_pg_job_fini(&job);
    rag_pg_rollback(b);
    assert_int_equal(rag_pg_job_claim(a, "wa", 10000, &job, &err), 1);
    assert_int_equal(job.id, j1);
    rag_pg_job_fini(&job);
    rag_pg_close(a);
    rag_pg_close(b);
}

static void test_pg_schema__dead_worker_job_is_retried_exactly_once(void **state)
{
    rag_pg *a = fresh("s_lease"), *b = again("s_lease");
    rag_err err = {0};
    int64_t id;
    rag_pg_job ja, jb;
    char st[16];
    int attempts = 0;
    (void)state;
    must(rag_pg_schema_migrate(a, NULL, &err), &err);
    must(rag_pg_job_enqueue(a, "manual.pdf", NULL, 0, 3, &id, NULL, &err), &err);
    assert_int_equal(rag_pg_job_claim(a, "worker-a", 1500, &ja, &err), 1);
    /* worker a stalls past its lease; b takes the job over */
    assert_int_equal(rag_pg_job_claim(b, "worker-b", 10000, &jb, &err), 0);
    usleep(1700 * 1000);
    assert_int_equal(rag_pg_job_claim(b, "worker-b", 10000, &jb, &err), 1);
    assert_int_equal(jb.id, id);
    assert_int_equal(jb.attempts, 2);
    assert_int_equal(rag_pg_job_renew(a, id, "worker-a", 1000, &err), RAG_ENOTFOUND);

    /* both finish: each writes the document and completes in one
     * transaction; only the lease holder's commits */
    must(rag_pg_begin(a, &err), &err);
    must(rag_pg_exec_sql(a, "INSERT INTO documents(path, sha256) VALUES ('manual.pdf', 'a')",
                         &err),
         &err);
    assert_int_equal(rag_pg_job_complete(a, id, "worker-a", &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no longer holds its lease"));
    rag_pg_rollback(a);
    must(rag_pg_begin(b, &err), &err);
    must(rag_pg_exec_sql(b, "INSERT INTO documents(path, sha256) VALUES ('manual.pdf', 'b')",
                         &err),
         &err);
    must(rag_pg_job_renew(b, id, "worker-b", 10000, &err), &err);
    must(rag_pg_job_complete(b, id, "worker-b", &err), &err);
    must(rag_pg_commit(b, &err), &err);
    assert_int_equal(scalar(a, "SELECT count(*) FROM documents WHERE path = 'manual.pdf'"), 1);
    assert_int_equal(scalar(a, "SELECT count(*) FROM documents WHERE sha256 = 'b'"), 1);
    must(rag_pg_job_state(a, id, st, &attempts, &err), &err);
    assert_string_equal(st, "done");
    assert_int_equal(attempts, 2);
    /* a done job is never claimed again */
    usleep(350 * 1000);
    assert_int_equal(rag_pg_job_claim(a, "worker-a", 300, &ja, &err), 0);
    rag_pg_job_fini(&ja);
    rag_pg_job_fini(&jb);
    rag_pg_close(a);
    rag_pg_close(b);
}

static void test_pg_schema__job_fails_after_max_attempts(void **state)
{
    rag_pg *pg = fresh("s_fail");
    rag_err err = {0};
    int64_t id;
    rag_pg_job job;
    char st[16];
    int attempts;
    (void)state;
    must(rag_pg_schema_migrate(pg, NULL, &err), &err);
    must(rag_pg_job_enqueue(pg, "bad.pdf", NULL, 0, 2, &id, NULL, &err), &err);
    /* attempt 1 reports an error: queued again */
    assert_int_equal(rag_pg_job_claim(pg, "w", 10000, &job, &err), 1);
    must(rag_pg_job_fail(pg, id, "w", "bad.pdf: not a PDF", &err), &err);
    must(rag_pg_job_state(pg, id, st, &attempts, &err), &err);
    assert_string_equal(st, "queued");
    assert_int_equal(rag_pg_job_fail(pg, id, "w", "twice", &err), RAG_ENOTFOUND);
    /* attempt 2 dies holding the lease: failed once it expires */
    assert_int_equal(rag_pg_job_claim(pg, "w", 200, &job, &err), 1);
    assert_int_equal(job.attempts, 2);
    usleep(300 * 1000);
    assert_int_equal(rag_pg_job_claim(pg, "w2", 10000, &job, &err), 0);
    must(rag_pg_job_state(pg, id, st, &attempts, &err), &err);
    assert_string_equal(st, "failed");
    assert_int_equal(scalar(pg, "SELECT count(*) FROM jobs WHERE error LIKE '%not a PDF%'"), 1);
    assert_int_equal(rag_pg_job_state(pg, 9999, st, &attempts, &err), RAG_ENOTFOUND);
    rag_pg_job_fini(&job);
    rag_pg_close(pg);
}

static void test_pg_schema__enqueue_is_announced(void **state)
{
    rag_pg *pg = fresh("s_note"), *l = again("s_note");
    rag_err err = {0};
    int64_t id;
    char chan[64], payload[32];
    (void)state;
    must(rag_pg_schema_migrate(pg, NULL, &err), &err);
    must(rag_pg_listen(l, RAG_PG_JOBS_CHANNEL, &err), &err);
    must(rag_pg_job_enqueue(pg, "new.md", NULL, 0, 3, &id, NULL, &err), &err);
    assert_int_equal(rag_pg_wait_notify(l, 5000, chan, sizeof chan, payload, sizeof payload, &err),
                     1);
    assert_int_equal(strtoll(payload, NULL, 10), id);
    /* the same key again is no new job, and no announcement */
    must(rag_pg_job_enqueue(pg, "new.md", NULL, 0, 3, &id, NULL, &err), &err);
    assert_int_equal(rag_pg_wait_notify(l, 150, chan, sizeof chan, payload, sizeof payload, &err),
                     0);
    rag_pg_close(pg);
    rag_pg_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_schema__migrates_an_empty_database_once),
        cmocka_unit_test(test_pg_schema__older_database_gets_the_missing_steps),
        cmocka_unit_test(test_pg_schema__newer_or_foreign_database_is_refused),
        cmocka_unit_test(test_pg_schema__concurrent_migrators_migrate_once),
        cmocka_unit_test(test_pg_schema__segments_round_trip_byte_for_byte),
        cmocka_unit_test(test_pg_schema__change_log_is_written_with_the_change),
        cmocka_unit_test(test_pg_schema__seq_order_is_commit_order),
        cmocka_unit_test(test_pg_schema__job_key_is_one_job),
        cmocka_unit_test(test_pg_schema__claim_skips_locked_jobs),
        cmocka_unit_test(test_pg_schema__dead_worker_job_is_retried_exactly_once),
        cmocka_unit_test(test_pg_schema__job_fails_after_max_attempts),
        cmocka_unit_test(test_pg_schema__enqueue_is_announced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
