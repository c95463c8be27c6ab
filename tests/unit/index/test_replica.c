/* test_replica.c - replicas of a PostgreSQL store with local SQLite
 * copies (replica.h) against a real server (tests/support/pg_cluster.sh):
 * write-through from one replica's writer, follow on another, identical
 * rows and BM25 results on both copies, rollback on a PostgreSQL failure,
 * full copies for a foreign copy and a gap, a late replica, verify, the
 * mirror lock, a job whose lease was lost, and no password in any error.
 * Each test works in its own PostgreSQL schema (libpq options). */
#include "test_support.h"

#include "index/pg_conn.h"
#include "index/pg_schema.h"
#include "index/replica.h"
#include "index/store.h"
#include "index/store_sqlite.h"
#include "pg_support.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ts_pg_cluster cluster;
static rag_pg_opts opts;   /* short reconnects: a stopped server is found out fast */

static int setup(void **state)
{
    (void)state;
    opts = rag_pg_default_opts();
    opts.reconnect_ms = 1500;
    opts.connect_timeout_ms = 2000;
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

/* The password never shows in a message. */
static void no_password(const char *msg)
{
    if (strstr(msg, cluster.password))
        fail_msg("the password shows in: %s", msg);
}

static void must(int rc, const rag_err *err)
{
    if (rc < 0)
        fail_msg("rc %d: %s", rc, err->msg);
    no_password(err->msg);
}

/* A connection in a fresh, empty schema. */
static rag_pg *fresh(const char *schema)
{
    char *url = ts_pg_fresh_schema(&cluster, schema);
    rag_pg *pg = NULL;
    rag_err err = {0};
    must(rag_pg_open(&pg, url, NULL, &err), &err);
    rag_free(url);
    return pg;
}

static int64_t pg_scalar(rag_pg *pg, const char *sql)
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

/* Every row of sql on PostgreSQL as text, one line a row. */
static char *pg_dump(rag_pg *pg, const char *sql)
{
    rag_pg_res *r = NULL;
    rag_err err = {0};
    rag_buf b = RAG_BUF_INIT;
    if (rag_pg_exec(pg, &r, sql, NULL, 0, 0, &err) != RAG_OK)
        fail_msg("%s: %s", sql, err.msg);
    for (int i = 0; i < rag_pg_res_rows(r); i++) {
        for (int c = 0; c < rag_pg_res_cols(r); c++)
            rag_buf_printf(&b, "%s%s", c ? "|" : "",
                           rag_pg_res_is_null(r, i, c) ? "NULL" : rag_pg_res_get(r, i, c));
        rag_buf_putc(&b, '\n');
    }
    rag_pg_res_destroy(r);
    rag_buf_putc(&b, '\0');
    return rag_buf_take(&b);
}

/* Every row of sql on the SQLite file path, as pg_dump writes them. */
static char *sq_dump(const char *path, const char *sql)
{
    rag_index *ix = NULL;
    sqlite3 *db;
    sqlite3_stmt *st;
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    /* through rag_index: the FTS5 table needs docrag's tokenizer */
    must(rag_index_open(&ix, path, RAG_INDEX_READ_ONLY, &err), &err);
    db = rag_index_db(ix);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *v = sqlite3_column_text(st, c);
            rag_buf_printf(&b, "%s%s", c ? "|" : "", v ? (const char *)v : "NULL");
        }
        rag_buf_putc(&b, '\n');
    }
    sqlite3_finalize(st);
    rag_index_close(ix);
    rag_buf_putc(&b, '\0');
    return rag_buf_take(&b);
}

static void same_rows(const char *a_path, const char *b_path, const char *sql)
{
    char *a = sq_dump(a_path, sql), *b = sq_dump(b_path, sql);
    if (strcmp(a, b))
        fail_msg("%s differs:\n%s\n---\n%s", sql, a, b);
    rag_free(a);
    rag_free(b);
}

static const char *const compare_sql[] = {
    "SELECT id, path, sha256, title, kind, n_pages, version, doc_date, meta_rev FROM documents"
    " ORDER BY id",
    "SELECT doc_id, page, byte_start, byte_end FROM pages ORDER BY doc_id, page",
    "SELECT id, doc_id, ord, page_start, page_end, section, n_tokens, text FROM chunks ORDER BY id",
    "SELECT docno, chunk_id, dl FROM bm25_docs ORDER BY docno",
    "SELECT term, seg, df, lower(hex(data)) FROM bm25_postings ORDER BY term, seg",
    "SELECT docno FROM bm25_deleted ORDER BY docno",
    "SELECT chunk_id, model, dim, lower(hex(data)) FROM vectors ORDER BY chunk_id",
    "SELECT seq FROM sqlite_sequence WHERE name = 'bm25_docs'",
    "SELECT src, dst, w FROM graph_edges ORDER BY src, dst",
    "SELECT model, content_sha256, lower(hex(data)) FROM embed_cache"
    " ORDER BY model, content_sha256",
    "SELECT key, value FROM meta WHERE key NOT IN ('change_seq', 'pg_applied_seq',"
    " 'pg_store_id', 'schema_version') ORDER BY key",
    /* the FTS5 index as a reader sees it */
    "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'replica OR postgres OR manual'"
    " ORDER BY rowid",
};

static void same_copies(const char *a, const char *b)
{
    for (size_t i = 0; i < sizeof compare_sql / sizeof compare_sql[0]; i++)
        same_rows(a, b, compare_sql[i]);
}

/* Put a document of n chunks (texts) at path through ix: rc. */
static int put_doc(rag_index *ix, const char *path, const char *title, const char *const *texts,
                   size_t n, rag_err *err)
{
    rag_chunk c[16];
    rag_page_span pg[1] = {{1, 0, 0}};
    rag_chunks cs = {c, n, NULL};
    rag_doc_meta m = {path, "0123abcd", 1, 100};
    rag_doc d;
    assert_true(n <= 16);
    memset(c, 0, sizeof c);
    for (size_t i = 0; i < n; i++) {
        c[i].id = (int64_t)(rag_now_ms() * 1000) % 1000000000 * 16 + (int64_t)i + 1;
        c[i].ord = (int)i;
        c[i].page_start = c[i].page_end = 1;
        c[i].section = "Intro";
        c[i].text = texts[i];
        c[i].text_bytes = strlen(texts[i]);
        c[i].n_tokens = 5;
    }
    memset(&d, 0, sizeof d);
    d.path = (char *)(uintptr_t)path;
    d.title = (char *)(uintptr_t)title;
    d.kind = RAG_DOC_TEXT;
    d.text = "";
    d.pages = pg;
    d.n_pages = 1;
    usleep(2000);   /* distinct chunk ids for the next call */
    return rag_index_put_doc(ix, &m, &d, &cs, err);
}

static const char *const doc1[] = {
    "A replica keeps a local copy of the postgres store.",
    "Every write goes through to postgres first, then to the copy.",
    "Reads run on the copy with the SQLite code.",
};
static const char *const doc2[] = {
    "The manual explains the replica setup step by step.",
    "Followers apply changesets from the change log.",
};

typedef struct {
    rag_replica *r;
    rag_index *ix;     /* attached writer on the mirror */
    char *mirror;
} replica_t;

static void replica_open(replica_t *t, const char *schema, const char *dir, const char *name)
{
    char *url = url_in(schema);
    rag_err err = {0};
    memset(t, 0, sizeof *t);
    t->mirror = rag_asprintf("%s/%s.db", dir, name);
    must(rag_replica_open(&t->r, url, t->mirror, &opts, 0, &err), &err);
    rag_free(url);
    must(rag_index_open(&t->ix, t->mirror, 0, &err), &err);
    must(rag_replica_attach(t->r, t->ix, &err), &err);
}

static void replica_close(replica_t *t)
{
    rag_index_close(t->ix);
    rag_replica_close(t->r);
    rag_free(t->mirror);
    memset(t, 0, sizeof *t);
}

static int follow_all(replica_t *t)
{
    rag_err err = {0};
    int n = rag_replica_follow(t->r, 0, &err);
    must(n, &err);
    return n;
}

/* docrag's own consistency check finds nothing wrong with the copy. */
static void check_clean(const char *mirror)
{
    rag_index *ix = NULL;
    rag_check_report rep;
    rag_err err = {0};
    must(rag_index_open(&ix, mirror, RAG_INDEX_READ_ONLY, &err), &err);
    memset(&rep, 0, sizeof rep);
    must(rag_index_check(ix, &rep, &err), &err);
    if (rep.n_problems)
        fail_msg("%s: %zu problems, the first: %s: %s", mirror, rep.n_problems,
                 rep.problems[0].check, rep.problems[0].message);
    assert_true(rep.n_chunks > 0);
    rag_check_report_fini(&rep);
    rag_index_close(ix);
}

static void bm25_same(replica_t *a, replica_t *b, const char *query)
{
    rag_bm25_hit ha[10], hb[10];
    size_t na = 0, nb = 0;
    rag_index *ra = NULL, *rb = NULL;
    rag_err err = {0};
    must(rag_index_open(&ra, a->mirror, RAG_INDEX_READ_ONLY, &err), &err);
    must(rag_index_open(&rb, b->mirror, RAG_INDEX_READ_ONLY, &err), &err);
    must(rag_index_bm25(ra, query, 10, ha, &na, &err), &err);
    must(rag_index_bm25(rb, query, 10, hb, &nb, &err), &err);
    assert_true(na > 0);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(ha[i].chunk_id, hb[i].chunk_id);
        assert_true(ha[i].score == hb[i].score);
    }
    rag_index_close(ra);
    rag_index_close(rb);
}

static void test_write_through_and_follow(void **state)
{
    rag_pg *pg = fresh("rep_a");
    char *dir = ts_tmpdir("replica_wf");
    replica_t a, b;
    rag_replica_state sa, sb;
    rag_err err = {0};
    char *x, *y;
    (void)state;

    replica_open(&a, "rep_a", dir, "a");
    replica_open(&b, "rep_a", dir, "b");
    must(put_doc(a.ix, "docs/one.md", "Replica guide", doc1, 3, &err), &err);
    must(put_doc(a.ix, "docs/two.md", "Manual", doc2, 2, &err), &err);

    /* in PostgreSQL at once, with its changes logged with changesets */
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 2);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM chunks"), 5);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM change_log WHERE kind = 'put'"
                                   " AND changeset IS NOT NULL"), 2);
    /* the postings bytes are PostgreSQL's too, in the same order */
    x = pg_dump(pg, "SELECT term, seg, df, encode(data, 'hex') FROM bm25_postings"
                    " ORDER BY term, seg");
    y = sq_dump(a.mirror, "SELECT term, seg, df, lower(hex(data)) FROM bm25_postings"
                          " ORDER BY term, seg");
    assert_true(strlen(x) > 50);
    assert_string_equal(x, y);
    rag_free(x);
    rag_free(y);

    /* B follows: the same rows, postings and search results */
    assert_int_equal(follow_all(&b), 2);
    same_copies(a.mirror, b.mirror);
    bm25_same(&a, &b, "replica postgres copy");
    bm25_same(&a, &b, "changesets manual");
    rag_replica_state_get(a.r, &sa);
    rag_replica_state_get(b.r, &sb);
    assert_int_equal(sa.applied_seq, sb.applied_seq);
    assert_int_equal(sb.applied_seq, pg_scalar(pg, "SELECT max(seq) FROM change_log"));
    assert_int_equal(sb.n_applied, 2);
    assert_int_equal(sb.n_full_copies, 1);   /* its first copy at open */
    assert_int_equal(sb.reachable, 1);
    assert_int_equal(follow_all(&b), 0);

    /* replace a document through B (it is caught up first), remove one */
    must(put_doc(b.ix, "docs/two.md", "Manual v2", doc1, 2, &err), &err);
    assert_int_equal(rag_index_remove_doc(b.ix, "docs/one.md", &err), 1);
    assert_int_equal(follow_all(&a), 2);
    same_copies(a.mirror, b.mirror);
    bm25_same(&a, &b, "replica postgres copy");
    check_clean(a.mirror);
    check_clean(b.mirror);
    x = sq_dump(a.mirror, "SELECT path, title FROM documents");
    assert_string_equal(x, "docs/two.md|Manual v2\n");
    rag_free(x);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 1);
    /* the old chunks are gone from FTS5 on the follower */
    x = sq_dump(a.mirror, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'sqlite'");
    assert_string_equal(x, "0\n");
    rag_free(x);

    /* an optimize and a meta value write through as well */
    must(rag_index_optimize(a.ix, &err), &err);
    must(rag_index_meta_set(a.ix, "embed_model", "m1", &err), &err);
    assert_int_equal(follow_all(&b), 2);
    same_copies(a.mirror, b.mirror);
    bm25_same(&a, &b, "replica postgres copy");

    /* the store's write ops outside a transaction go through too, each its own */
    {
        rag_store *st = rag_index_store(a.ix);
        float v[4] = {0.25f, -1.5f, 3.0f, 1e-7f};
        char sha[65];
        int64_t first = 0;
        rag_store_edge e[2];
        x = sq_dump(a.mirror, "SELECT min(id) FROM chunks");
        first = atoll(x);
        rag_free(x);
        must(rag_index_meta_set(a.ix, "embed_dim", "4", &err), &err);
        assert_int_equal(st->ops->vector_put(st, first, "m1", v, 4, &err), 1);
        memset(sha, 'a', 64);
        sha[64] = '\0';
        must(st->ops->cache_put(st, "m1", sha, v, 4, &err), &err);
        e[0] = (rag_store_edge){first, first + 1, 0.1 + 0.2};
        e[1] = (rag_store_edge){first, first + 2, 1.0 / 3.0};
        must(st->ops->graph_replace(st, e, 2, "stamp-1", &err), &err);
        assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM vectors"), 1);
        /* weights bit for bit (sent as 17 digits) */
        assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM graph_edges WHERE"
                                       " w = 0.1::float8 + 0.2::float8 OR w = 1::float8 / 3"), 2);
        assert_int_equal(follow_all(&b), 4);
        same_copies(a.mirror, b.mirror);
        x = sq_dump(b.mirror, "SELECT value FROM meta WHERE key = 'graph_stamp'");
        assert_string_equal(x, "stamp-1\n");
        rag_free(x);
        x = pg_dump(pg, "SELECT kind FROM change_log ORDER BY seq DESC LIMIT 3");
        assert_string_equal(x, "graph\nmeta\nvectors\n");
        rag_free(x);
    }

    /* verify agrees, table by table */
    {
        rag_replica_table_count c[16];
        int n = 0;
        assert_int_equal(rag_replica_verify(a.r, c, 16, &n, &err), 0);
        assert_int_equal(rag_replica_verify(b.r, NULL, 0, NULL, &err), 0);
        assert_int_equal(n, 9);
        assert_string_equal(c[2].table, "chunks");
        assert_int_equal(c[2].mirror_rows, 2);
        assert_string_equal(c[8].table, "graph_edges");
        assert_int_equal(c[8].pg_rows, 2);
        assert_int_equal(c[2].pg_rows, 2);
        assert_true(c[2].pg_max_id > 0);
        /* a row PostgreSQL has and the copy lacks is found */
        must(rag_pg_exec_sql(pg, "INSERT INTO bm25_deleted VALUES (999999)", &err), &err);
        assert_int_equal(rag_replica_verify(a.r, c, 16, &n, &err), 1);
        assert_non_null(strstr(err.msg, "bm25_deleted"));
        no_password(err.msg);
        must(rag_pg_exec_sql(pg, "DELETE FROM bm25_deleted WHERE docno = 999999", &err), &err);
    }

    /* a late replica catches up to the same applied seq */
    {
        replica_t c;
        rag_replica_state sc;
        replica_open(&c, "rep_a", dir, "c");
        rag_replica_state_get(c.r, &sc);
        rag_replica_state_get(a.r, &sa);
        assert_int_equal(sc.applied_seq, sa.applied_seq);
        same_copies(a.mirror, c.mirror);
        bm25_same(&a, &c, "replica postgres copy");
        check_clean(c.mirror);   /* a full copy */
        replica_close(&c);
    }
    /* a replica restarted behind the head catches up from the log, no full copy */
    {
        rag_replica_state s0;
        rag_index_close(b.ix);
        rag_replica_close(b.r);
        b.ix = NULL;
        b.r = NULL;
        must(put_doc(a.ix, "docs/three.md", "While B was down", doc2, 2, &err), &err);
        assert_int_equal(rag_index_remove_doc(a.ix, "docs/two.md", &err), 1);
        {
            char *url = url_in("rep_a");
            must(rag_replica_open(&b.r, url, b.mirror, &opts, 0, &err), &err);
            rag_free(url);
        }
        rag_replica_state_get(b.r, &s0);
        rag_replica_state_get(a.r, &sa);
        assert_int_equal(s0.n_full_copies, 0);
        assert_int_equal(s0.n_applied, 2);
        assert_int_equal(s0.applied_seq, sa.applied_seq);
        same_copies(a.mirror, b.mirror);
        bm25_same(&a, &b, "changesets manual");
    }
    replica_close(&a);
    replica_close(&b);
    rag_pg_close(pg);
    rag_free(dir);
}

static void test_pg_failure_rolls_back(void **state)
{
    rag_pg *pg = fresh("rep_f");
    char *dir = ts_tmpdir("replica_fail");
    replica_t a;
    rag_err err = {0};
    char *x;
    int rc;
    (void)state;

    replica_open(&a, "rep_f", dir, "a");
    must(put_doc(a.ix, "ok.md", "Fine", doc2, 2, &err), &err);
    /* PostgreSQL refuses one document's row */
    must(rag_pg_exec_sql(pg,
                         "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
                         " $$BEGIN RAISE EXCEPTION 'refused by a test trigger'; END$$;"
                         "CREATE TRIGGER boom BEFORE INSERT ON documents FOR EACH ROW"
                         " WHEN (NEW.path LIKE '%boom%') EXECUTE FUNCTION boom()",
                         &err),
         &err);
    rc = put_doc(a.ix, "boom.md", "Refused", doc1, 3, &err);
    assert_int_equal(rc, RAG_EBACKEND);
    assert_non_null(strstr(err.msg, "refused by a test trigger"));
    assert_non_null(strstr(err.msg, rag_replica_endpoint(a.r)));
    no_password(err.msg);
    /* nothing written anywhere */
    x = sq_dump(a.mirror, "SELECT path FROM documents ORDER BY id");
    assert_string_equal(x, "ok.md\n");
    rag_free(x);
    x = sq_dump(a.mirror, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'sqlite'");
    assert_string_equal(x, "0\n");
    rag_free(x);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM change_log"), 1);
    /* and the writer goes on */
    must(put_doc(a.ix, "fine.md", "Fine too", doc1, 1, &err), &err);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 2);
    assert_int_equal(rag_replica_verify(a.r, NULL, 0, NULL, &err), 0);

    /* the server stopped: the write fails with RAG_EIO, the copy keeps its rows */
    assert_int_equal(ts_pg_ctl(&cluster, "stop", "primary"), 0);
    rc = put_doc(a.ix, "down.md", "Down", doc1, 1, &err);
    assert_true(rc == RAG_EIO || rc == RAG_EBACKEND);
    no_password(err.msg);
    assert_non_null(strstr(err.msg, "postgres://"));
    {
        rag_replica_state s;
        rag_err e2 = {0};
        assert_true(rag_replica_follow(a.r, 0, &e2) < 0);
        no_password(e2.msg);
        rag_replica_state_get(a.r, &s);
        assert_int_equal(s.reachable, 0);
        no_password(s.error);
    }
    x = sq_dump(a.mirror, "SELECT path FROM documents ORDER BY path");
    assert_string_equal(x, "fine.md\nok.md\n");
    rag_free(x);
    assert_int_equal(ts_pg_ctl(&cluster, "start", "primary"), 0);
    must(put_doc(a.ix, "up.md", "Up", doc1, 1, &err), &err);
    assert_int_equal(rag_replica_verify(a.r, NULL, 0, NULL, &err), 0);
    replica_close(&a);
    rag_pg_close(pg);
    rag_free(dir);
}

static void test_full_copies(void **state)
{
    rag_pg *p1 = fresh("rep_s1"), *p2 = fresh("rep_s2");
    char *dir = ts_tmpdir("replica_full");
    replica_t a, b, c;
    rag_replica_state s;
    rag_err err = {0};
    char *x, *url, *m2;
    (void)state;

    replica_open(&a, "rep_s1", dir, "a");
    must(put_doc(a.ix, "s1.md", "Store one", doc1, 3, &err), &err);
    replica_close(&a);
    replica_open(&b, "rep_s2", dir, "b");
    must(put_doc(b.ix, "s2.md", "Store two", doc2, 2, &err), &err);

    /* a copy of store one opened against store two: copied whole */
    m2 = rag_asprintf("%s/a.db", dir);
    url = url_in("rep_s2");
    must(rag_replica_open(&c.r, url, m2, &opts, 0, &err), &err);
    rag_replica_state_get(c.r, &s);
    assert_int_equal(s.n_full_copies, 1);
    x = sq_dump(m2, "SELECT path FROM documents");
    assert_string_equal(x, "s2.md\n");
    rag_free(x);
    same_copies(b.mirror, m2);
    bm25_same(&b, &(replica_t){c.r, NULL, m2}, "changesets manual");

    /* a change logged without a changeset (a gap): the follower copies whole */
    must(rag_pg_begin(p2, &err), &err);
    must(rag_pg_exec_sql(p2, "INSERT INTO meta VALUES ('outside', 'x')", &err), &err);
    must(rag_pg_change_log(p2, "meta", 0, NULL, NULL, &err), &err);
    must(rag_pg_commit(p2, &err), &err);
    assert_int_equal(rag_replica_follow(c.r, 0, &err), 1);
    rag_replica_state_get(c.r, &s);
    assert_int_equal(s.n_full_copies, 2);
    assert_int_equal(s.applied_seq, pg_scalar(p2, "SELECT max(seq) FROM change_log"));
    x = sq_dump(m2, "SELECT value FROM meta WHERE key = 'outside'");
    assert_string_equal(x, "x\n");
    rag_free(x);
    /* the writer of b is behind the gap: its write fails until its follower copies */
    assert_int_equal(put_doc(b.ix, "s3.md", "Three", doc1, 1, &err), RAG_EIO);
    assert_non_null(strstr(err.msg, "full copy"));
    no_password(err.msg);
    assert_int_equal(rag_replica_follow(b.r, 0, &err), 1);
    must(put_doc(b.ix, "s3.md", "Three", doc1, 1, &err), &err);
    assert_int_equal(rag_replica_follow(c.r, 0, &err), 1);
    same_copies(b.mirror, m2);
    assert_int_equal(rag_replica_verify(c.r, NULL, 0, NULL, &err), 0);

    /* a copy that conflicts (a row changed behind its back) is copied whole */
    {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(m2, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(sqlite3_exec(db, "UPDATE documents SET sha256 = 'tampered'"
                                          " WHERE path = 's3.md'", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
    }
    assert_int_equal(rag_index_remove_doc(b.ix, "s3.md", &err), 1);
    assert_int_equal(rag_replica_follow(c.r, 0, &err), 1);
    rag_replica_state_get(c.r, &s);
    assert_int_equal(s.n_full_copies, 3);
    same_copies(b.mirror, m2);
    assert_int_equal(rag_replica_verify(c.r, NULL, 0, NULL, &err), 0);

    /* a damaged changeset in the log: copied whole, no crash */
    must(rag_pg_begin(p2, &err), &err);
    must(rag_pg_change_log_cs(p2, "meta", 0, NULL, "\x12\x34garbage\x01\x02", 11, NULL, &err),
         &err);
    must(rag_pg_commit(p2, &err), &err);
    assert_int_equal(rag_replica_follow(c.r, 0, &err), 1);
    rag_replica_state_get(c.r, &s);
    assert_int_equal(s.n_full_copies, 4);
    assert_int_equal(s.applied_seq, pg_scalar(p2, "SELECT max(seq) FROM change_log"));
    same_copies(b.mirror, m2);   /* b's copy had no change of rows to miss */
    rag_replica_close(c.r);
    replica_close(&b);
    rag_free(url);
    rag_free(m2);
    rag_pg_close(p1);
    rag_pg_close(p2);
    rag_free(dir);
}

static void test_mirror_lock_and_password(void **state)
{
    rag_pg *pg = fresh("rep_l");
    char *dir = ts_tmpdir("replica_lock");
    char *url = url_in("rep_l"), *m = rag_asprintf("%s/m.db", dir), *bad;
    rag_replica *r1 = NULL, *r2 = NULL;
    rag_err err = {0};
    (void)state;

    must(rag_replica_open(&r1, url, m, NULL, 0, &err), &err);
    assert_int_equal(rag_replica_open(&r2, url, m, NULL, 0, &err), RAG_EIO);
    assert_null(r2);
    assert_non_null(strstr(err.msg, "in use by another process"));
    assert_non_null(strstr(err.msg, m));
    no_password(err.msg);
    {
        /* a writer must be open on the replica's own copy */
        rag_index *other = NULL;
        char *o = rag_asprintf("%s/other.db", dir);
        must(rag_index_open(&other, o, 0, &err), &err);
        assert_int_equal(rag_replica_attach(r1, other, &err), RAG_EINVAL);
        assert_non_null(strstr(err.msg, "not on the local copy"));
        rag_index_close(other);
        rag_free(o);
    }
    rag_replica_close(r1);
    /* free again once closed */
    must(rag_replica_open(&r2, url, m, NULL, 1, &err), &err);
    assert_int_equal(rag_replica_attach(r2, NULL, &err), RAG_EINVAL);
    rag_replica_close(r2);

    /* a read-only replica follows a streaming standby (which cannot LISTEN) */
    {
        char extra[128], *surl, *sm = rag_asprintf("%s/standby.db", dir);
        replica_t w;
        rag_replica *ro = NULL;
        rag_replica_state s, sw;
        double t0;
        snprintf(extra, sizeof extra, "?options=-c%%20search_path%%3Drep_l");
        surl = ts_pg_url(&cluster, 1, extra);
        replica_open(&w, "rep_l", dir, "w");
        must(put_doc(w.ix, "standby.md", "Standby", doc1, 2, &err), &err);
        rag_replica_state_get(w.r, &sw);
        t0 = rag_now_ms();
        do {
            if (ro == NULL && rag_replica_open(&ro, surl, sm, &opts, 1, &err) < 0) {
                no_password(err.msg);   /* the schema may not have reached the standby yet */
                usleep(100 * 1000);
                continue;
            }
            must(rag_replica_follow(ro, 100, &err), &err);
            rag_replica_state_get(ro, &s);
        } while ((!ro || s.applied_seq < sw.applied_seq) && rag_now_ms() - t0 < 20000);
        assert_non_null(ro);
        assert_int_equal(s.applied_seq, sw.applied_seq);
        same_copies(w.mirror, sm);
        assert_int_equal(rag_replica_attach(ro, w.ix, &err), RAG_EINVAL);
        rag_replica_close(ro);
        replica_close(&w);
        rag_free(surl);
        rag_free(sm);
    }

    /* a wrong password, an unreachable port: errors by endpoint only */
    bad = rag_asprintf("postgres://%s:%sX@%s:%d/%s", cluster.user, cluster.password,
                       cluster.host, cluster.primary_port, cluster.db);
    assert_int_equal(rag_replica_open(&r2, bad, m, NULL, 0, &err), RAG_EBACKEND);
    no_password(err.msg);
    assert_non_null(strstr(err.msg, "postgres://"));
    rag_free(bad);
    bad = rag_asprintf("postgres://%s:%s@127.0.0.1:1/%s", cluster.user, cluster.password,
                       cluster.db);
    assert_int_equal(rag_replica_open(&r2, bad, m, NULL, 0, &err), RAG_EIO);
    no_password(err.msg);
    rag_free(bad);
    rag_free(m);
    rag_free(url);
    rag_pg_close(pg);
    rag_free(dir);
}

static void test_job_lease_lost(void **state)
{
    rag_pg *pg = fresh("rep_j");
    char *dir = ts_tmpdir("replica_job");
    replica_t a;
    rag_replica_job j1, j2;
    char st[16];
    int64_t id = 0;
    int created = 0, attempts = 0;
    rag_err err = {0};
    (void)state;

    replica_open(&a, "rep_j", dir, "a");
    must(rag_replica_job_enqueue(a.r, "doc.md:abc", "doc.md", 6, &id, &created, &err), &err);
    assert_int_equal(created, 1);
    assert_int_equal(rag_replica_job_claim(a.r, "w1", 1, &j1, &err), 1);
    assert_int_equal(j1.id, id);
    assert_int_equal(j1.n_payload, 6);
    assert_memory_equal(j1.payload, "doc.md", 6);
    usleep(50 * 1000);   /* w1's lease runs out; w2 takes the job over */
    assert_int_equal(rag_replica_job_claim(a.r, "w2", 60000, &j2, &err), 1);
    assert_int_equal(j2.id, id);

    /* w1 finishes late: its write and completion are refused together */
    must(rag_replica_job_complete_on_commit(a.r, id, "w1", &err), &err);
    assert_int_equal(put_doc(a.ix, "doc.md", "Late", doc1, 2, &err), RAG_ENOTFOUND);
    no_password(err.msg);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 0);
    {
        char *x = sq_dump(a.mirror, "SELECT count(*) FROM documents");
        assert_string_equal(x, "0\n");
        rag_free(x);
    }
    must(rag_replica_job_state(a.r, id, st, &attempts, &err), &err);
    assert_string_equal(st, "running");
    assert_int_equal(attempts, 2);

    /* w2 writes it once */
    must(rag_replica_job_complete_on_commit(a.r, id, "w2", &err), &err);
    must(put_doc(a.ix, "doc.md", "On time", doc1, 2, &err), &err);
    must(rag_replica_job_state(a.r, id, st, &attempts, &err), &err);
    assert_string_equal(st, "done");
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(rag_replica_verify(a.r, NULL, 0, NULL, &err), 0);
    rag_replica_job_fini(&j1);
    rag_replica_job_fini(&j2);
    replica_close(&a);
    rag_pg_close(pg);
    rag_free(dir);
}

/* The fuzz corpus's changesets (made on a copy holding seed.md, as
 * fuzz/fuzz_changeset.c seeds it) applied to such a copy. */
static void seed_copy(rag_index *ix)
{
    static const char *const texts[] = {"A replica keeps a local copy of the store.",
                                        "Followers apply changesets from the log."};
    rag_chunk c[2];
    rag_page_span pg[1] = {{1, 0, 0}};
    rag_chunks cs = {c, 2, NULL};
    rag_doc_meta m = {"seed.md", "00ff", 1, 10};
    rag_doc d;
    rag_err err = {0};
    memset(c, 0, sizeof c);
    for (int i = 0; i < 2; i++) {
        c[i].id = 1001 + i;
        c[i].ord = i;
        c[i].page_start = c[i].page_end = 1;
        c[i].section = "Intro";
        c[i].text = texts[i];
        c[i].text_bytes = strlen(texts[i]);
        c[i].n_tokens = 8;
    }
    memset(&d, 0, sizeof d);
    d.path = "seed.md";
    d.title = "Seed";
    d.kind = RAG_DOC_TEXT;
    d.text = "";
    d.pages = pg;
    d.n_pages = 1;
    must(rag_index_put_doc(ix, &m, &d, &cs, &err), &err);
    /* the corpus was made on a copy whose row says 1 */
    assert_int_equal(sqlite3_exec(rag_index_db(ix), "UPDATE documents SET added_at = 1", NULL, NULL,
                                  NULL), SQLITE_OK);
}

static int apply_file(const char *dir, const char *name, const char *copy)
{
    char *path = rag_asprintf("%s/%s", dir, name);
    rag_buf b = RAG_BUF_INIT;
    rag_index *ix = NULL;
    rag_err err = {0};
    int rc;
    must(rag_read_file(&b, path, 1 << 20, &err), &err);
    unlink(copy);
    must(rag_index_open(&ix, copy, 0, &err), &err);
    seed_copy(ix);
    rc = rag_replica_apply_changeset(ix, 9, b.data, b.len, &err);
    rag_index_close(ix);
    rag_buf_fini(&b);
    rag_free(path);
    return rc;
}

static void test_apply_changeset_files(void **state)
{
    char *dir = ts_src_path("fuzz/corpus/changeset"), *tmp = ts_tmpdir("replica_cs");
    char *copy = rag_asprintf("%s/c.db", tmp), *x;
    (void)state;

    assert_int_equal(apply_file(dir, "put", copy), 0);
    x = sq_dump(copy, "SELECT d.path, d.title, count(*) FROM chunks c JOIN documents d"
                      " ON d.id = c.doc_id GROUP BY d.id ORDER BY d.id");
    assert_string_equal(x, "seed.md|Seed|2\ntwo.md|Manual|3\n");
    rag_free(x);
    x = sq_dump(copy,
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'manual' ORDER BY rowid");
    assert_string_equal(x, "2001\n2002\n2003\n");   /* the title is indexed with each chunk */
    rag_free(x);
    x = sq_dump(copy, "SELECT value FROM meta WHERE key = 'pg_applied_seq'");
    assert_string_equal(x, "9\n");
    rag_free(x);

    assert_int_equal(apply_file(dir, "replace", copy), 0);
    x = sq_dump(copy, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'seed' ORDER BY rowid");
    assert_string_equal(x, "3001\n3002\n");          /* Seed v2's chunks; 1001, 1002 gone */
    rag_free(x);

    assert_int_equal(apply_file(dir, "remove", copy), 0);
    x = sq_dump(copy, "SELECT count(*) FROM documents UNION ALL SELECT count(*) FROM chunks_fts"
                      " WHERE chunks_fts MATCH 'replica'");
    assert_string_equal(x, "0\n0\n");
    rag_free(x);

    assert_int_equal(apply_file(dir, "garbage", copy), 1);
    assert_int_equal(apply_file(dir, "truncated_put", copy), 1);
    x = sq_dump(copy, "SELECT count(*) FROM documents UNION ALL SELECT count(*) FROM meta"
                      " WHERE key = 'pg_applied_seq'");
    assert_string_equal(x, "1\n0\n");                /* untouched */
    rag_free(x);
    rag_free(copy);
    rag_free(dir);
    rag_free(tmp);
}

typedef struct {
    rag_replica *r;
    int stop;          /* __atomic */
    int n_applied, n_errors;
    char error[256];
} follower_t;

static void *follower_main(void *arg)
{
    follower_t *f = arg;
    while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
        rag_err err = {0};
        int n = rag_replica_follow(f->r, 20, &err);
        if (n < 0) {
            f->n_errors++;
            snprintf(f->error, sizeof f->error, "%s", err.msg);
        } else {
            f->n_applied += n;
        }
    }
    return NULL;
}

/* Writers on both replicas while B's follower thread applies A's changes
 * to the same file B's writer writes: one history, the same copies. */
static void test_concurrent_writers_and_follower(void **state)
{
    rag_pg *pg = fresh("rep_c");
    char *dir = ts_tmpdir("replica_conc");
    replica_t a, b;
    follower_t f = {0};
    pthread_t th;
    rag_replica_state sa, sb;
    rag_err err = {0};
    (void)state;

    replica_open(&a, "rep_c", dir, "a");
    replica_open(&b, "rep_c", dir, "b");
    f.r = b.r;
    assert_int_equal(pthread_create(&th, NULL, follower_main, &f), 0);
    for (int i = 0; i < 12; i++) {
        char path[64];
        snprintf(path, sizeof path, "docs/%c%d.md", i % 2 ? 'b' : 'a', i);
        must(put_doc(i % 2 ? b.ix : a.ix, path, i % 3 ? "Manual" : "Replica guide",
                     i % 2 ? doc1 : doc2, i % 2 ? 3 : 2, &err), &err);
        if (i % 4 == 3)
            assert_int_equal(rag_index_remove_doc(i % 2 ? a.ix : b.ix, "docs/a0.md", &err) >= 0, 1);
        rag_replica_state_get(b.r, &sb);   /* from this thread while the follower runs */
        no_password(sb.error);
    }
    __atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    if (f.n_errors)
        fail_msg("follower: %d errors, the last: %s", f.n_errors, f.error);
    follow_all(&a);
    follow_all(&b);
    same_copies(a.mirror, b.mirror);
    bm25_same(&a, &b, "replica postgres copy manual");
    check_clean(a.mirror);
    check_clean(b.mirror);
    rag_replica_state_get(a.r, &sa);
    rag_replica_state_get(b.r, &sb);
    assert_int_equal(sa.applied_seq, pg_scalar(pg, "SELECT max(seq) FROM change_log"));
    assert_int_equal(sb.applied_seq, sa.applied_seq);
    assert_int_equal(sa.n_full_copies, 1);
    assert_int_equal(sb.n_full_copies, 1);
    assert_int_equal(pg_scalar(pg, "SELECT count(*) FROM documents"), 11);
    assert_int_equal(rag_replica_verify(a.r, NULL, 0, NULL, &err), 0);
    assert_int_equal(rag_replica_verify(b.r, NULL, 0, NULL, &err), 0);
    replica_close(&a);
    replica_close(&b);
    rag_pg_close(pg);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_through_and_follow),
        cmocka_unit_test(test_pg_failure_rolls_back),
        cmocka_unit_test(test_full_copies),
        cmocka_unit_test(test_mirror_lock_and_password),
        cmocka_unit_test(test_job_lease_lost),
        cmocka_unit_test(test_concurrent_writers_and_follower),
        cmocka_unit_test(test_apply_changeset_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
