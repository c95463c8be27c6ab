/* test_store_pg.c - the PostgreSQL back-end of store.h against a real
 * server (tests/support/pg_cluster.sh): each op keeps the contract the
 * SQLite back-end keeps (orders, return values, the change feed moving
 * once per write transaction), plus the shared job queue. */
#include "test_support.h"

#include "config/config.h"
#include "index/pg_schema.h"
#include "index/store_pg.h"
#include "index/store_sqlite.h"
#include "obs/obs.h"
#include "pg_support.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void must(int rc, const rag_err *err)
{
    if (rc < 0)
        fail_msg("%s", err->msg);
}

static char *url_in(const char *schema)
{
    return ts_pg_schema_url(&cluster, schema);
}

/* A raw connection to a fresh schema (for seeding rows). */
static rag_pg *fresh_raw(const char *schema)
{
    char *url = ts_pg_fresh_schema(&cluster, schema);
    rag_pg *pg = NULL;
    rag_err err = {0};
    must(rag_pg_open(&pg, url, NULL, &err), &err);
    rag_free(url);
    return pg;
}

static rag_store *open_store(const char *schema, int read_only)
{
    char *url = url_in(schema);
    rag_store *s = NULL;
    rag_err err = {0};
    must(rag_store_pg_open(&s, url, NULL, read_only, &err), &err);
    rag_free(url);
    return s;
}

/* two documents, "b/Z.md" (chunks 1, 2) and "a.md" (chunk 3): path order
 * is byte order, as SQLite's */
static void seed(rag_pg *pg)
{
    rag_err err = {0};
    must(rag_pg_exec_sql(pg,
                         "INSERT INTO documents(id, path, sha256, title) VALUES"
                         " (1, 'b/Z.md', 'x', 'Zed'), (2, 'a.md', 'y', 'Ay');"
                         "INSERT INTO chunks(id, doc_id, ord, section, text) VALUES"
                         " (1, 1, 0, 'Intro', 'first chunk'), (2, 1, 1, '', 'second'),"
                         " (3, 2, 0, 'S', 'third');"
                         "INSERT INTO bm25_docs(docno, chunk_id, dl) VALUES (1, 1, 2), (5, 2, 1);",
                         &err),
         &err);
}

static int64_t seq_of(rag_store *s)
{
    int64_t seq = -1;
    rag_err err = {0};
    must(s->ops->change_seq(s, &seq, &err), &err);
    return seq;
}

/* ---- collectors --------------------------------------------------------------- */

typedef struct {
    char text[512];
    int n;
} collect;

static int add_path(void *ctx, const char *path)
{
    collect *c = ctx;
    snprintf(c->text + strlen(c->text), sizeof c->text - strlen(c->text), "%s;", path);
    c->n++;
    return RAG_OK;
}

static int add_id(void *ctx, int64_t id)
{
    collect *c = ctx;
    snprintf(c->text + strlen(c->text), sizeof c->text - strlen(c->text), "%lld;",
             (long long)id);
    c->n++;
    return RAG_OK;
}

static int add_chunk(void *ctx, const rag_store_chunk *k)
{
    collect *c = ctx;
    snprintf(c->text + strlen(c->text), sizeof c->text - strlen(c->text), "%lld:%s:%s:%d:%s:%s:%zu;",
             (long long)k->chunk_id, k->doc, k->title, k->ord, k->section, k->text, k->n_text);
    c->n++;
    return RAG_OK;
}

static int add_model(void *ctx, const char *model, int64_t dim)
{
    collect *c = ctx;
    snprintf(c->text + strlen(c->text), sizeof c->text - strlen(c->text), "%s/%lld;", model,
             (long long)dim);
    c->n++;
    return RAG_OK;
}

static int add_usage(void *ctx, const rag_store_usage_row *u)
{
    collect *c = ctx;
    snprintf(c->text + strlen(c->text), sizeof c->text - strlen(c->text),
             "%s@%s:%lld,%lld,%lld,%lld,%lld,%lld,%.17g,%s,%s;", u->backend, u->month,
             (long long)u->requests, (long long)u->errors, (long long)u->retries,
             (long long)u->fallbacks, (long long)u->tokens_in, (long long)u->tokens_out,
             u->cost_usd, u->errors_by_class, u->hist);
    c->n++;
    return RAG_OK;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_store_pg__opens_migrates_and_names_no_password(void **state)
{
    rag_pg *raw = fresh_raw("st_open");
    char *url = url_in("st_open");
    rag_store *s = NULL;
    rag_err err = {0};
    char buf[32];
    (void)state;
    /* a reader needs the schema to be there */
    assert_int_equal(rag_store_pg_open(&s, url, NULL, 1, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "no docrag schema"));
    assert_null(strstr(err.msg, cluster.password));
    s = open_store("st_open", 0);
    assert_string_equal(s->ops->name, "postgres");
    assert_null(strstr(s->ops->location(s), cluster.password));
    assert_non_null(strstr(s->ops->location(s), "postgres://docrag@"));
    assert_int_equal(s->ops->read_only(s), 0);
    assert_int_equal(rag_store_meta_get(s, "schema_version", buf, sizeof buf, &err), 1);
    assert_int_equal(atoi(buf), RAG_PG_SCHEMA_VERSION);
    assert_int_equal(rag_store_meta_get(s, "nope", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "");
    s->ops->close(s);
    /* read-only: reads work, writes are refused by name */
    s = open_store("st_open", 1);
    assert_int_equal(s->ops->read_only(s), 1);
    assert_int_equal(rag_store_meta_set(s, "k", "v", &err), RAG_EINVAL);
    assert_non_null(strstr(err.msg, "read-only"));
    assert_int_equal(rag_store_begin(s, &err), RAG_EINVAL);
    s->ops->close(s);
    rag_pg_close(raw);
    rag_free(url);
}

static void test_store_pg__documents_and_chunks(void **state)
{
    rag_pg *raw = fresh_raw("st_docs");
    rag_store *s = open_store("st_docs", 0);
    rag_err err = {0};
    collect c = {0};
    int64_t id = -1, n = 0, live = 0, maxno = 0;
    char *path = NULL;
    (void)state;
    seed(raw);
    assert_int_equal(s->ops->doc_id(s, "a.md", &id, &err), 1);
    assert_int_equal(id, 2);
    assert_int_equal(s->ops->doc_id(s, "none.md", &id, &err), 0);
    assert_int_equal(s->ops->doc_path(s, 1, &path, &err), 1);
    assert_string_equal(path, "b/Z.md");
    rag_free(path);
    assert_int_equal(s->ops->doc_path(s, 9, &path, &err), 0);
    assert_null(path);
    assert_int_equal(s->ops->chunk_doc_path(s, 3, &path, &err), 1);
    assert_string_equal(path, "a.md");
    rag_free(path);
    must(s->ops->n_chunks(s, &n, &err), &err);
    assert_int_equal(n, 3);
    must(s->ops->doc_paths(s, add_path, &c, &err), &err);
    assert_string_equal(c.text, "b/Z.md;a.md;");   /* id order */
    memset(&c, 0, sizeof c);
    must(s->ops->chunk_scan(s, 1, add_chunk, &c, &err), &err);
    assert_string_equal(c.text, "1:b/Z.md:Zed:0:Intro:first chunk:11;2:b/Z.md:Zed:1::second:6;"
                                "3:a.md:Ay:0:S:third:5;");
    memset(&c, 0, sizeof c);
    must(s->ops->chunk_scan(s, 0, add_chunk, &c, &err), &err);
    assert_string_equal(c.text, "1:::0:Intro:first chunk:11;2:::1::second:6;3:::0:S:third:5;");
    memset(&c, 0, sizeof c);
    assert_int_equal(s->ops->chunk_read(s, 2, add_chunk, &c, &err), 1);
    assert_string_equal(c.text, "2:b/Z.md:Zed:1::second:6;");
    assert_int_equal(s->ops->chunk_read(s, 99, add_chunk, &c, &err), 0);
    must(s->ops->bm25_state(s, &live, &maxno, &err), &err);
    assert_int_equal(live, 2);
    assert_int_equal(maxno, 5);
    s->ops->close(s);
    rag_pg_close(raw);
}

static void test_store_pg__vectors_move_the_change_feed_once_per_transaction(void **state)
{
    rag_pg *raw = fresh_raw("st_vec");
    rag_store *s = open_store("st_vec", 0);
    rag_err err = {0};
    const float v[3] = {0.25f, -1.5f, 3.0e-7f};
    float got[3] = {0};
    char sha[64];
    collect c = {0};
    int64_t seq0, removed = -1;
    (void)state;
    seed(raw);
    seq0 = seq_of(s);
    assert_int_equal(seq0, 0);
    assert_int_equal(s->ops->vector_put(s, 1, "m1", v, 3, &err), 1);
    assert_true(seq_of(s) > seq0);
    seq0 = seq_of(s);
    /* a vanished chunk: nothing written, nothing logged */
    assert_int_equal(s->ops->vector_put(s, 42, "m1", v, 3, &err), 0);
    assert_int_equal(seq_of(s), seq0);
    /* two writes in one transaction: one change */
    must(rag_store_begin(s, &err), &err);
    assert_int_equal(s->ops->vector_put(s, 2, "m1", v, 3, &err), 1);
    assert_int_equal(s->ops->vector_put(s, 3, "m2", v, 2, &err), 1);
    must(rag_store_commit(s, &err), &err);
    assert_true(seq_of(s) > seq0);
    {
        rag_pg_res *r;
        must(rag_pg_exec(raw, &r, "SELECT count(*) FROM change_log", NULL, 0, 0, &err), &err);
        assert_int_equal(rag_pg_res_i64(r, 0, 0), 2);
        rag_pg_res_destroy(r);
    }
    seq0 = seq_of(s);
    /* usage and meta do not move it */
    must(rag_store_meta_set(s, "embed_model", "m1", &err), &err);
    assert_int_equal(seq_of(s), seq0);
    /* a rolled-back transaction does not either */
    must(rag_store_begin(s, &err), &err);
    assert_int_equal(s->ops->vector_put(s, 1, "m9", v, 3, &err), 1);
    rag_store_rollback(s);
    assert_int_equal(seq_of(s), seq0);

    must(s->ops->vector_models(s, add_model, &c, &err), &err);
    assert_string_equal(c.text, "m1/3;m2/2;");
    memset(&c, 0, sizeof c);
    /* chunks without a vector, in (path, ord) byte order: none yet */
    must(s->ops->vectors_missing(s, add_id, &c, &err), &err);
    assert_int_equal(c.n, 0);
    must(s->ops->vectors_prune(s, "m1", 3, &removed, &err), &err);
    assert_int_equal(removed, 1);
    assert_true(seq_of(s) > seq0);
    must(rag_pg_exec_sql(raw, "DELETE FROM vectors WHERE chunk_id = 1", &err), &err);
    memset(&c, 0, sizeof c);
    must(s->ops->vectors_missing(s, add_id, &c, &err), &err);
    assert_string_equal(c.text, "3;1;");   /* "a.md" < "b/Z.md" */

    memset(sha, 'a', sizeof sha);
    assert_int_equal(s->ops->cache_get(s, "m1", sha, got, 3, &err), 0);
    must(s->ops->cache_put(s, "m1", sha, v, 3, &err), &err);
    must(s->ops->cache_put(s, "m1", sha, v, 3, &err), &err);  /* replace */
    assert_int_equal(s->ops->cache_get(s, "m1", sha, got, 3, &err), 1);
    assert_memory_equal(got, v, sizeof v);
    assert_int_equal(s->ops->cache_get(s, "m1", sha, got, 2, &err), 0);  /* other dim */
    s->ops->close(s);
    rag_pg_close(raw);
}

typedef struct {
    size_t n;
    double sum_w;
    int64_t sum_ids;
    int exact;
    const rag_store_edge *want;
} edge_check;

static int check_edge(void *ctx, const rag_store_edge *e)
{
    edge_check *c = ctx;
    /* edges i have src = i, dst = i + 1, w = 1 / (i + 3): exact doubles */
    size_t i = (size_t)e->src;
    if (e->dst != e->src + 1 || e->w != c->want[i].w)
        c->exact = 0;
    c->n++;
    return RAG_OK;
}

static void test_store_pg__graph_replaces_whole_and_keeps_exact_weights(void **state)
{
    rag_pg *raw = fresh_raw("st_graph");
    rag_store *s = open_store("st_graph", 0);
    rag_err err = {0};
    size_t n = 12001;   /* more than two insert batches */
    rag_store_edge *e = rag_calloc(n, sizeof *e);
    edge_check c = {0};
    char stamp[64];
    int64_t seq0;
    (void)state;
    assert_non_null(e);
    for (size_t i = 0; i < n; i++)
        e[i] = (rag_store_edge){(int64_t)i, (int64_t)i + 1, 1.0 / (double)(i + 3)};
    seq0 = seq_of(s);
    must(s->ops->graph_replace(s, e, n, "stamp-1", &err), &err);
    assert_true(seq_of(s) > seq0);
    assert_int_equal(rag_store_meta_get(s, "graph_stamp", stamp, sizeof stamp, &err), 1);
    assert_string_equal(stamp, "stamp-1");
    c.exact = 1;
    c.want = e;
    must(s->ops->graph_scan(s, check_edge, &c, &err), &err);
    assert_int_equal(c.n, n);
    assert_true(c.exact);
    /* replace is whole: the old edges are gone */
    must(s->ops->graph_replace(s, e, 10, "stamp-2", &err), &err);
    memset(&c, 0, sizeof c);
    c.exact = 1;
    c.want = e;
    must(s->ops->graph_scan(s, check_edge, &c, &err), &err);
    assert_int_equal(c.n, 10);
    must(s->ops->graph_drop(s, &err), &err);
    memset(&c, 0, sizeof c);
    c.want = e;
    must(s->ops->graph_scan(s, check_edge, &c, &err), &err);
    assert_int_equal(c.n, 0);
    assert_int_equal(rag_store_meta_get(s, "graph_stamp", stamp, sizeof stamp, &err), 0);
    rag_free(e);
    s->ops->close(s);
    rag_pg_close(raw);
}

static void test_store_pg__usage_rows_add_up_across_connections(void **state)
{
    rag_pg *raw = fresh_raw("st_usage");
    rag_store *a = open_store("st_usage", 0), *b = open_store("st_usage", 0);
    rag_err err = {0};
    collect c = {0};
    rag_store_usage_row d = {"hf", "2026-12", 3, 1, 2, 0, 100, 50, 0.125, "timeout=1", "h1"};
    rag_store_usage_row e = {"Ollama", "2026-11", 1, 0, 0, 1, 7, 8, 0.0, "", ""};
    int64_t seq0 = seq_of(a);
    (void)state;
    must(a->ops->usage_add(a, &d, &err), &err);
    d.hist = "h2";
    must(b->ops->usage_add(b, &d, &err), &err);   /* another replica's flush */
    must(a->ops->usage_add(a, &e, &err), &err);
    must(a->ops->usage_scan(a, add_usage, &c, &err), &err);
    /* (backend, month) in byte order: "Ollama" < "hf" */
    assert_string_equal(c.text, "Ollama@2026-11:1,0,0,1,7,8,0,,;"
                                "hf@2026-12:6,2,4,0,200,100,0.25,timeout=1,h2;");
    memset(&c, 0, sizeof c);
    assert_int_equal(a->ops->usage_get(a, "hf", "2026-12", add_usage, &c, &err), 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(a->ops->usage_get(a, "hf", "2026-01", add_usage, &c, &err), 0);
    assert_int_equal(seq_of(a), seq0);
    a->ops->close(a);
    b->ops->close(b);
    rag_pg_close(raw);
}

/* Two replicas' meters on one schema: a budget is one budget for both once
 * each syncs (rag_usage_sync), not one per process. */
static void test_store_pg__budget_is_shared_by_replicas_that_sync(void **state)
{
    static const char yaml[] = "profile: local\nchains:\n  embed: [paid]\nbackends:\n"
                               "  paid:\n    type: openai\n    model: m\n"
                               "    price_in_per_mtok: 2\n    price_out_per_mtok: 10\n"
                               "    monthly_budget_usd: 0.001\n";
    rag_pg *raw = fresh_raw("st_budget");
    rag_store *sa = open_store("st_budget", 0), *sb = open_store("st_budget", 0);
    rag_config_source src = {.yaml_text = yaml, .yaml_len = sizeof yaml - 1};
    rag_config *cfg = NULL;
    rag_usage *a = NULL, *b = NULL;
    rag_usage_stats st;
    rag_err err = {0};
    /* 100 * 2 / 1e6 + 20 * 10 / 1e6 = $0.0004 a call */
    rag_usage_event ev = {.backend = "paid", .stage = "embed", .ok = 1, .latency_ms = 5,
                          .tokens_in = 100, .tokens_out = 20};
    (void)state;
    must(rag_config_load(&cfg, &src, &err), &err);
    must(rag_usage_open(&a, sa, cfg, &err), &err);
    must(rag_usage_open(&b, sb, cfg, &err), &err);
    rag_usage_record(a, &ev);
    rag_usage_record(a, &ev);
    rag_usage_record(b, &ev);
    /* each alone is under the budget */
    assert_int_equal(rag_usage_allowed(a, "paid"), 1);
    assert_int_equal(rag_usage_allowed(b, "paid"), 1);
    must(rag_usage_sync(a, &err), &err);
    assert_int_equal(rag_usage_allowed(a, "paid"), 1);   /* B has not flushed yet */
    must(rag_usage_sync(b, &err), &err);                  /* B sees A's $0.0008 */
    assert_int_equal(rag_usage_allowed(b, "paid"), 0);
    must(rag_usage_get(b, "paid", &st), &err);
    assert_int_equal(st.requests, 3);
    assert_float_equal(st.month_cost_usd, 0.0012, 1e-12);
    must(rag_usage_sync(a, &err), &err);                  /* and A sees B's */
    assert_int_equal(rag_usage_allowed(a, "paid"), 0);
    must(rag_usage_get(a, "paid", &st), &err);
    assert_int_equal(st.requests, 3);
    /* a second sync adds nothing twice */
    must(rag_usage_sync(a, &err), &err);
    must(rag_usage_get(a, "paid", &st), &err);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.tokens_in, 300);
    /* the store gone: the totals held are kept and nothing is lost */
    rag_usage_record(a, &ev);
    {
        rag_err perr = {0};
        rag_pg *kill = NULL;
        char *url = url_in("st_budget");
        must(rag_pg_open(&kill, url, NULL, &perr), &perr);
        rag_free(url);
        must(rag_pg_exec_sql(kill, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                               "AND backend_type = 'client backend'", &perr), &perr);
        rag_pg_close(kill);
    }
    (void)rag_usage_sync(a, &err);   /* may reconnect, or fail: either keeps the counts */
    must(rag_usage_get(a, "paid", &st), &err);
    assert_int_equal(st.requests, 4);
    rag_usage_close(a);
    rag_usage_close(b);
    sa->ops->close(sa);
    sb->ops->close(sb);
    rag_config_destroy(cfg);
    rag_pg_close(raw);
}

typedef struct {
    int64_t id;
    char path[64];
    int attempts;
} taken;

static int take(void *ctx, const rag_store_job *j)
{
    taken *t = ctx;
    t->id = j->id;
    snprintf(t->path, sizeof t->path, "%s", j->path);
    t->attempts = j->attempts;
    return RAG_OK;
}

static void test_store_pg__jobs_are_shared_and_done_once(void **state)
{
    rag_pg *raw = fresh_raw("st_jobs");
    rag_store *a = open_store("st_jobs", 0), *b = open_store("st_jobs", 0);
    rag_err err = {0};
    int64_t id = 0, id2 = 0;
    taken t = {0};
    char st[16];
    (void)state;
    assert_non_null(a->ops->job_put);
    must(a->ops->job_put(a, "uploads/x.pdf", &id, &err), &err);
    must(b->ops->job_put(b, "uploads/x.pdf", &id2, &err), &err);
    assert_int_equal(id, id2);   /* queued twice: one job */
    assert_int_equal(b->ops->job_take(b, 10000, take, &t, &err), 1);
    assert_int_equal(t.id, id);
    assert_string_equal(t.path, "uploads/x.pdf");
    assert_int_equal(t.attempts, 1);
    assert_int_equal(a->ops->job_take(a, 10000, take, &t, &err), 0);
    /* only the worker holding the lease completes it, in its transaction */
    assert_int_equal(a->ops->job_done(a, id, &err), RAG_ENOTFOUND);
    must(rag_store_begin(b, &err), &err);
    must(b->ops->job_done(b, id, &err), &err);
    must(rag_store_commit(b, &err), &err);
    must(rag_pg_job_state(raw, id, st, NULL, &err), &err);
    assert_string_equal(st, "done");
    /* the same path uploaded again later is a new attempt of that job */
    must(a->ops->job_put(a, "uploads/x.pdf", &id2, &err), &err);
    assert_int_equal(id2, id);
    assert_int_equal(a->ops->job_take(a, 10000, take, &t, &err), 1);
    assert_int_equal(t.attempts, 1);
    a->ops->close(a);
    b->ops->close(b);
    rag_pg_close(raw);
}

static void test_store_pg__read_snapshot_sees_one_state(void **state)
{
    rag_pg *raw = fresh_raw("st_snap");
    rag_store *r = open_store("st_snap", 0), *w = open_store("st_snap", 0);
    rag_err err = {0};
    char buf[16];
    (void)state;
    must(rag_store_meta_set(w, "k", "1", &err), &err);
    must(r->ops->read_begin(r, &err), &err);
    must(r->ops->read_begin(r, &err), &err);   /* nests */
    assert_int_equal(rag_store_meta_get(r, "k", buf, sizeof buf, &err), 1);
    assert_string_equal(buf, "1");
    must(rag_store_meta_set(w, "k", "2", &err), &err);
    r->ops->read_end(r);
    assert_int_equal(rag_store_meta_get(r, "k", buf, sizeof buf, &err), 1);
    assert_string_equal(buf, "1");   /* still the snapshot */
    r->ops->read_end(r);
    assert_int_equal(rag_store_meta_get(r, "k", buf, sizeof buf, &err), 1);
    assert_string_equal(buf, "2");
    r->ops->close(r);
    w->ops->close(w);
    rag_pg_close(raw);
}


/* ---- the same index on both back-ends ------------------------------------------ */

typedef struct {
    rag_buf b;
} dump;

static int dump_path(void *ctx, const char *path)
{
    return rag_buf_printf(&((dump *)ctx)->b, "%s\n", path);
}

static int dump_id(void *ctx, int64_t id)
{
    return rag_buf_printf(&((dump *)ctx)->b, "%lld\n", (long long)id);
}

static int dump_chunk(void *ctx, const rag_store_chunk *k)
{
    rag_buf *b = &((dump *)ctx)->b;
    int rc = rag_buf_printf(b, "%lld|%s|%s|%d|%s|%zu|", (long long)k->chunk_id, k->doc,
                            k->title, k->ord, k->section, k->n_text);
    return rc < 0 ? rc : rag_buf_append(b, k->text, k->n_text);
}

/* Every op's output on s, as one text. */
static char *dump_store(rag_store *s)
{
    dump d = {RAG_BUF_INIT};
    rag_err err = {0};
    int64_t n = 0, live = 0, maxno = 0;
    must(s->ops->doc_paths(s, dump_path, &d, &err), &err);
    must(s->ops->chunk_scan(s, 1, dump_chunk, &d, &err), &err);
    must(s->ops->vectors_missing(s, dump_id, &d, &err), &err);
    must(s->ops->n_chunks(s, &n, &err), &err);
    must(s->ops->bm25_state(s, &live, &maxno, &err), &err);
    rag_buf_printf(&d.b, "n=%lld live=%lld max=%lld\n", (long long)n, (long long)live,
                   (long long)maxno);
    return rag_buf_take(&d.b);
}

static void sha_sqlite_postings(sqlite3 *db, char hex[65])
{
    rag_buf b = RAG_BUF_INIT;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT term, seg, df, data FROM bm25_postings"
                                            " ORDER BY term, seg", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        rag_buf_printf(&b, "%s|%lld|%lld|", (const char *)sqlite3_column_text(st, 0),
                       (long long)sqlite3_column_int64(st, 1),
                       (long long)sqlite3_column_int64(st, 2));
        rag_buf_append(&b, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
    }
    sqlite3_finalize(st);
    rag_sha256_hex(b.data ? b.data : "", b.len, hex);
    rag_buf_fini(&b);
}

static void sha_pg_postings(rag_pg *pg, char hex[65])
{
    rag_buf b = RAG_BUF_INIT;
    rag_pg_res *r;
    rag_err err = {0};
    must(rag_pg_exec(pg, &r, "SELECT term, seg::text, df::text, data FROM bm25_postings"
                             " ORDER BY term, seg", NULL, 0, RAG_PG_BINARY, &err), &err);
    for (int i = 0; i < rag_pg_res_rows(r); i++) {
        rag_buf_printf(&b, "%s|%s|%s|", rag_pg_res_get(r, i, 0), rag_pg_res_get(r, i, 1),
                       rag_pg_res_get(r, i, 2));
        rag_buf_append(&b, rag_pg_res_get(r, i, 3), rag_pg_res_len(r, i, 3));
    }
    rag_pg_res_destroy(r);
    rag_sha256_hex(b.data ? b.data : "", b.len, hex);
    rag_buf_fini(&b);
}

static void test_store_pg__samples_imported_read_the_same_on_both(void **state)
{
    rag_pg *raw = fresh_raw("st_import");
    rag_store *pgs = open_store("st_import", 0);
    char *dir = ts_tmpdir("store-pg"), *dbp = rag_asprintf("%s/samples.db", dir);
    char *samples = ts_src_path("data/samples");
    const char *paths[1] = {samples};
    rag_config *cfg = NULL;
    rag_config_source src = {0};
    rag_index *ix = NULL;
    rag_indexer_opts io;
    rag_indexer_report rep = {0};
    rag_err err = {0};
    char *a, *b, ha[65], hb[65];
    int64_t seq = 0;
    (void)state;
    must(rag_config_load(&cfg, &src, &err), &err);
    io = rag_indexer_opts_from_config(cfg);
    must(rag_index_open(&ix, dbp, 0, &err), &err);
    must(rag_indexer_run(ix, paths, 1, &io, NULL, &rep, &err), &err);
    assert_true(rep.n_chunks > 10);
    must(rag_store_pg_import_sqlite(pgs, ix, &err), &err);
    /* a second import into a store that has documents is refused */
    assert_int_equal(rag_store_pg_import_sqlite(pgs, ix, &err), RAG_EINVAL);

    a = dump_store(rag_index_store(ix));
    b = dump_store(pgs);
    assert_string_equal(a, b);
    sha_sqlite_postings(rag_index_db(ix), ha);
    sha_pg_postings(raw, hb);
    assert_string_equal(ha, hb);   /* the segments, byte for byte, in the same order */
    must(pgs->ops->change_seq(pgs, &seq, &err), &err);
    assert_true(seq > 0);
    rag_free(a);
    rag_free(b);
    rag_index_close(ix);
    rag_config_destroy(cfg);
    pgs->ops->close(pgs);
    rag_pg_close(raw);
    rag_free(samples);
    rag_free(dbp);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_pg__opens_migrates_and_names_no_password),
        cmocka_unit_test(test_store_pg__documents_and_chunks),
        cmocka_unit_test(test_store_pg__vectors_move_the_change_feed_once_per_transaction),
        cmocka_unit_test(test_store_pg__graph_replaces_whole_and_keeps_exact_weights),
        cmocka_unit_test(test_store_pg__usage_rows_add_up_across_connections),
        cmocka_unit_test(test_store_pg__budget_is_shared_by_replicas_that_sync),
        cmocka_unit_test(test_store_pg__jobs_are_shared_and_done_once),
        cmocka_unit_test(test_store_pg__read_snapshot_sees_one_state),
        cmocka_unit_test(test_store_pg__samples_imported_read_the_same_on_both),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
