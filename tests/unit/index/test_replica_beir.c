/* test_replica_beir.c - BM25 on a PostgreSQL store ranks exactly as on a
 * SQLite file (issue 14): for each of the four BEIR collections of
 * ../shared/ir, the run file (TREC format, scores to 6 decimals, every
 * query, 100 documents deep) and the metrics of `docrag eval --beir` on an
 * in-memory SQLite index are compared with the same evaluation on
 *  - a replica's copy that followed the writes of another replica (the
 *    corpus written through to PostgreSQL and applied from the changesets),
 *  - a late replica's full copy of the store.
 * Against a real server (tests/support/pg_cluster.sh); each collection in
 * its own schema. */
#include "test_support.h"

#include "eval/eval.h"
#include "index/index.h"
#include "index/pg_conn.h"
#include "index/replica.h"
#include "pg_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ts_pg_cluster cluster;
static rag_pg_opts opts;

static int setup(void **state)
{
    (void)state;
    opts = rag_pg_default_opts();
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
        fail_msg("rc %d: %s", rc, err->msg);
}

/* rag_eval_beir on dir, over ix (NULL: in memory); the run file's bytes
 * into *run (caller frees). */
static rag_eval_result eval_run(const char *dir, rag_index *ix, char **run)
{
    rag_eval_opts o = rag_eval_default_opts();
    rag_eval_result res;
    rag_err err = {0};
    size_t n = 0;
    FILE *f = open_memstream(run, &n);
    assert_non_null(f);
    o.run = f;
    o.ix = ix;
    must(rag_eval_beir(&res, dir, &o, &err), &err);
    fclose(f);
    return res;
}

/* Follow until the copy is at the store's head. */
static void follow_to_head(rag_replica *r)
{
    rag_replica_state st;
    rag_err err = {0};
    for (int i = 0; i < 1000; i++) {
        must(rag_replica_follow(r, 0, &err), &err);
        rag_replica_state_get(r, &st);
        if (st.applied_seq == st.head_seq && st.applied_seq > 0)
            return;
    }
    fail_msg("the copy never reached the head (applied %lld, head %lld)",
             (long long)st.applied_seq, (long long)st.head_seq);
}

static void same(const char *what, const char *name, const rag_eval_result *a, const char *run_a,
                 const rag_eval_result *b, const char *run_b)
{
    if (strcmp(run_a, run_b)) {
        size_t i = 0;
        while (run_a[i] && run_a[i] == run_b[i])
            i++;
        fail_msg("%s: %s: the run files differ at byte %zu", name, what, i);
    }
    assert_true(a->ndcg10 == b->ndcg10);
    assert_true(a->recall100 == b->recall100);
    assert_true(a->mrr10 == b->mrr10);
    assert_int_equal(a->n_docs, b->n_docs);
    assert_int_equal(a->n_chunks, b->n_chunks);
}

static void one_collection(const char *name)
{
    char rel[64], schema[64];
    char *dir, *corpus, *url, *tmp, *ma, *mb, *mc;
    char *run_ref = NULL, *run_b = NULL, *run_c = NULL;
    rag_replica *ra = NULL, *rb = NULL, *rc = NULL;
    rag_index *wa = NULL, *ixb = NULL, *ixc = NULL;
    rag_eval_result ref, rb_res, rc_res;
    rag_replica_state st0, st1;
    rag_chunk_opts chunk = rag_eval_default_opts().chunk;
    size_t n_docs = 0, n_chunks = 0;
    rag_err err = {0};

    snprintf(rel, sizeof rel, "ir/%s", name);
    dir = ts_shared_path(rel);
    assert_non_null(dir);
    corpus = rag_asprintf("%s/corpus.jsonl", dir);
    snprintf(schema, sizeof schema, "beir_%s", name);
    url = ts_pg_fresh_schema(&cluster, schema);
    tmp = ts_tmpdir("replica_beir");
    ma = rag_asprintf("%s/%s-a.db", tmp, name);
    mb = rag_asprintf("%s/%s-b.db", tmp, name);
    mc = rag_asprintf("%s/%s-c.db", tmp, name);

    ref = eval_run(dir, NULL, &run_ref);
    assert_true(ref.n_queries > 0 && strlen(run_ref) > 0);

    /* B follows what A writes through */
    must(rag_replica_open(&rb, url, mb, &opts, 0, &err), &err);
    must(rag_replica_open(&ra, url, ma, &opts, 0, &err), &err);
    must(rag_index_open(&wa, ma, 0, &err), &err);
    must(rag_replica_attach(ra, wa, &err), &err);
    must(rag_eval_index_corpus(wa, corpus, &chunk, &n_docs, &n_chunks, &err), &err);
    assert_int_equal(n_docs, ref.n_docs);
    rag_replica_state_get(rb, &st0);
    follow_to_head(rb);
    rag_replica_state_get(rb, &st1);
    /* applied from the changesets, not copied whole */
    assert_int_equal(st1.n_full_copies, st0.n_full_copies);
    assert_true(st1.n_applied > st0.n_applied);
    must(rag_index_open(&ixb, mb, RAG_INDEX_READ_ONLY, &err), &err);
    rb_res = eval_run(dir, ixb, &run_b);
    same("a copy that followed the changesets", name, &ref, run_ref, &rb_res, run_b);

    /* C starts late: a full copy */
    must(rag_replica_open(&rc, url, mc, &opts, 1, &err), &err);
    must(rag_index_open(&ixc, mc, RAG_INDEX_READ_ONLY, &err), &err);
    rc_res = eval_run(dir, ixc, &run_c);
    same("a full copy", name, &ref, run_ref, &rc_res, run_c);
    printf("%s: %zu docs, %zu queries, nDCG@10 %.4f: the same run on SQLite, a followed copy "
           "and a full copy\n", name, ref.n_docs, ref.n_queries, ref.ndcg10);

    rag_index_close(ixc);
    rag_index_close(ixb);
    rag_index_close(wa);
    rag_replica_close(rc);
    rag_replica_close(ra);
    rag_replica_close(rb);
    free(run_ref);
    free(run_b);
    free(run_c);
    rag_free(ma);
    rag_free(mb);
    rag_free(mc);
    rag_free(tmp);
    rag_free(url);
    rag_free(corpus);
    rag_free(dir);
}

static void test_adi(void **state)
{
    (void)state;
    one_collection("adi");
}

static void test_cranfield(void **state)
{
    (void)state;
    one_collection("cranfield");
}

static void test_medline(void **state)
{
    (void)state;
    one_collection("medline");
}

static void test_cacm(void **state)
{
    (void)state;
    one_collection("cacm");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adi),
        cmocka_unit_test(test_cranfield),
        cmocka_unit_test(test_medline),
        cmocka_unit_test(test_cacm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
