/* test_embed_index.c - the index-time embedding pass over a real SQLite
 * index with a counting fake embedder: embeds each chunk once, reuses the
 * cache for unchanged and duplicate text, re-embeds on a model change with
 * one message, keeps committed batches when the back-end fails, rejects a
 * dimension that changes; the loader gives int8-only results equal to the
 * float32 matrix. */
#include "test_support.h"

#include "embed/embed_index.h"
#include "index/store_sqlite.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- a counting fake embedder ----------------------------------------- */

typedef struct {
    rag_embedder base;
    const char *id;
    size_t dim;
    size_t dim_after_first;   /* non-zero: dim() reports this after a call */
    int fail_at_call;         /* 1-based call that fails; 0 = never */
    size_t n_calls;
    size_t n_texts;
} fake_embedder;

static size_t fake_dim(const rag_embedder *b)
{
    const fake_embedder *f = (const fake_embedder *)b;
    return f->n_calls && f->dim_after_first ? f->dim_after_first : f->dim;
}

static const char *fake_model_id(const rag_embedder *b)
{
    return ((const fake_embedder *)b)->id;
}

/* Deterministic unit vector from the text's hash. */
static void fake_vector(const char *text, size_t dim, float *out)
{
    uint64_t x = rag_hash64(text, strlen(text)) | 1;
    double norm = 0;
    for (size_t j = 0; j < dim; j++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out[j] = (float)((double)(x * 0x2545F4914F6CDD1DULL >> 40) / (double)(1 << 24) - 0.5);
        norm += (double)out[j] * out[j];
    }
    for (size_t j = 0; j < dim; j++)
        out[j] = (float)(out[j] / sqrt(norm));
}

static int fake_embed(rag_embedder *b, const char *const *texts, size_t n, float *out,
                      rag_err *err)
{
    fake_embedder *f = (fake_embedder *)b;
    size_t dim = fake_dim(b);
    f->n_calls++;
    if (f->fail_at_call && (int)f->n_calls == f->fail_at_call)
        return rag_fail(err, RAG_EBACKEND, "server said 503");
    f->n_texts += n;
    for (size_t i = 0; i < n; i++)
        fake_vector(texts[i], dim, out + i * dim);
    return RAG_OK;
}

static void fake_destroy(rag_embedder *b)
{
    (void)b;
}

static const struct rag_embedder_ops fake_ops = {
    .name = "fake", .dim = fake_dim, .model_id = fake_model_id, .embed = fake_embed,
    .destroy = fake_destroy,
};

static fake_embedder make_fake(const char *id, size_t dim)
{
    fake_embedder f;
    memset(&f, 0, sizeof f);
    f.base.ops = &fake_ops;
    f.id = id;
    f.dim = dim;
    return f;
}

/* ---- documents --------------------------------------------------------- */

/* Put document path with n chunk texts (section "Sec", title "Title"). */
static void put_doc(rag_index *ix, const char *path, const char *const *texts, size_t n)
{
    rag_chunk items[16];
    rag_chunks cs = {items, n, NULL};
    rag_page_span page = {1, 0, 1};
    rag_doc d;
    rag_doc_meta meta = {path, "sha", 1, 1};
    rag_err err = {0};
    char key[256];

    assert_true(n <= 16);
    memset(&d, 0, sizeof d);
    d.path = (char *)path;
    d.title = "Title";
    d.kind = RAG_DOC_TEXT;
    d.text = "x";
    d.text_bytes = 1;
    d.pages = &page;
    d.n_pages = 1;
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s#%zu#%s", path, i, texts[i]);
        items[i] = (rag_chunk){(int64_t)(rag_hash64(key, strlen(key)) >> 2), (int)i, 1, 1,
                               "Sec", 0, 1, texts[i], strlen(texts[i]), 10};
    }
    assert_int_equal(rag_index_put_doc(ix, &meta, &d, &cs, &err), RAG_OK);
}

static const char *const doc_a[] = {"alpha one", "alpha two", "alpha three", "alpha four"};
static const char *const doc_b[] = {"beta one", "beta two", "beta three", "beta four"};
static const char *const doc_c[] = {"gamma one", "gamma two", "gamma three", "gamma four"};

static rag_index *three_docs(void)
{
    rag_index *ix = NULL;
    rag_err err = {0};
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    put_doc(ix, "/d/a.txt", doc_a, 4);
    put_doc(ix, "/d/b.txt", doc_b, 4);
    put_doc(ix, "/d/c.txt", doc_c, 4);
    return ix;
}

static int64_t count_sql(rag_index *ix, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static rag_embed_index_opts batch_of(size_t n)
{
    rag_embed_index_opts o = rag_embed_index_default_opts();
    o.batch = n;
    return o;
}

/* ---- log capture ------------------------------------------------------- */

static char logged[2048];
static int n_warnings;

static void capture(rag_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (level >= RAG_LOG_WARN) {
        n_warnings++;
        snprintf(logged, sizeof logged, "%s", msg);
    }
}

/* ---- tests ------------------------------------------------------------- */

static void test_embed_index__first_pass_embeds_all_second_pass_none(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder f = make_fake("fake-a", 8);
    rag_embed_index_opts o = batch_of(5);
    rag_embed_report rep;
    rag_index_stats s;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_chunks, 12);
    assert_int_equal(rep.n_embedded, 12);
    assert_int_equal(rep.n_cached, 0);
    assert_int_equal(rep.n_present, 0);
    assert_int_equal(f.n_texts, 12);
    assert_int_equal(f.n_calls, 3);   /* 5 + 5 + 2 */
    assert_string_equal(rep.model, "fake-a");
    assert_int_equal(rep.dim, 8);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors WHERE model = 'fake-a'"
                                   " AND dim = 8 AND length(data) = 32"), 12);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM embed_cache"), 12);

    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_embedded, 0);
    assert_int_equal(rep.n_cached, 0);
    assert_int_equal(rep.n_present, 12);
    assert_int_equal(f.n_calls, 3);   /* no inference at all */

    assert_int_equal(rag_index_stats_get(ix, &s, &err), RAG_OK);
    assert_string_equal(s.embed_model, "fake-a");
    assert_int_equal(s.embed_dim, 8);
    assert_int_equal(s.n_vectors, 12);
    assert_int_equal(s.n_cache_lookups, 12);
    assert_int_equal(s.n_cache_hits, 0);
    rag_index_close(ix);
}

static void test_embed_index__stored_vector_is_the_embedding_of_context_and_text(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder f = make_fake("fake-a", 8);
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    float want[8], got[8];
    sqlite3_stmt *st;
    char sha[65];
    (void)state;

    assert_int_equal(rag_embed_index(ix, &f.base, NULL, NULL, &err), RAG_OK);
    assert_int_equal(rag_embed_chunk_text(&b, "Title", "Sec", "beta two"), RAG_OK);
    assert_string_equal(b.data, "Title\nSec\n\nbeta two");
    fake_vector(b.data, 8, want);
    rag_sha256_hex(b.data, b.len, sha);
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix),
        "SELECT v.data FROM vectors v JOIN chunks c ON c.id = v.chunk_id"
        " WHERE c.text = 'beta two'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), sizeof got);
    memcpy(got, sqlite3_column_blob(st, 0), sizeof got);
    sqlite3_finalize(st);
    assert_memory_equal(got, want, sizeof got);
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix),
        "SELECT data FROM embed_cache WHERE model = 'fake-a' AND content_sha256 = ?1", -1,
        &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_memory_equal(sqlite3_column_blob(st, 0), want, sizeof want);
    sqlite3_finalize(st);

    /* empty parts leave out their lines; long context is cut */
    rag_buf_clear(&b);
    assert_int_equal(rag_embed_chunk_text(&b, "", NULL, "only text"), RAG_OK);
    assert_string_equal(b.data, "only text");
    rag_buf_clear(&b);
    assert_int_equal(rag_embed_chunk_text(&b, NULL, "S", "t"), RAG_OK);
    assert_string_equal(b.data, "S\n\nt");
    rag_buf_fini(&b);
    rag_index_close(ix);
}

static void test_embed_index__changed_doc_embeds_only_its_new_text(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder f = make_fake("fake-a", 8);
    rag_embed_index_opts o = batch_of(32);
    const char *const b2[] = {"beta one", "beta two", "beta brand new"};
    rag_embed_report rep;
    rag_index_stats s;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_OK);
    put_doc(ix, "/d/b.txt", b2, 3);   /* replaces b: its vectors go with its chunks */
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors"), 8);
    f.n_texts = 0;
    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_chunks, 11);
    assert_int_equal(rep.n_present, 8);
    assert_int_equal(rep.n_cached, 2);
    assert_int_equal(rep.n_embedded, 1);
    assert_int_equal(f.n_texts, 1);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors"), 11);
    assert_int_equal(rag_index_stats_get(ix, &s, &err), RAG_OK);
    assert_int_equal(s.n_cache_lookups, 15);
    assert_int_equal(s.n_cache_hits, 2);
    rag_index_close(ix);
}

static void check_duplicates_embedded_once(size_t batch)
{
    rag_index *ix = NULL;
    fake_embedder f = make_fake("fake-a", 8);
    rag_embed_index_opts o = batch_of(batch);
    const char *const x[] = {"shared paragraph", "only in x"};
    const char *const y[] = {"only in y", "shared paragraph"};
    rag_embed_report rep;
    rag_err err = {0};

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    put_doc(ix, "/d/x.txt", x, 2);
    put_doc(ix, "/d/y.txt", y, 2);
    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_embedded, 3);
    assert_int_equal(rep.n_cached, 1);
    assert_int_equal(f.n_texts, 3);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors"), 4);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM embed_cache"), 3);
    assert_int_equal(count_sql(ix, "SELECT count(DISTINCT data) FROM vectors"), 3);
    rag_index_close(ix);
}

static void test_embed_index__identical_text_in_two_docs_is_embedded_once(void **state)
{
    (void)state;
    check_duplicates_embedded_once(1);    /* across batches: through the cache */
    check_duplicates_embedded_once(16);   /* within one batch */
}

static void test_embed_index__model_change_clears_vectors_and_says_so(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder a = make_fake("fake-a", 8), b = make_fake("fake-b", 16);
    rag_embed_report rep;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_embed_index(ix, &a.base, NULL, &rep, &err), RAG_OK);
    n_warnings = 0;
    logged[0] = '\0';
    rag_log_set(capture, NULL);
    assert_int_equal(rag_embed_index(ix, &b.base, NULL, &rep, &err), RAG_OK);
    rag_log_set(NULL, NULL);
    assert_int_equal(n_warnings, 1);
    assert_string_equal(logged, "embedding model changed from fake-a (8-d) to fake-b "
                                "(16-d): re-embedding 12 chunks");
    assert_string_equal(rep.prev_model, "fake-a");
    assert_int_equal(rep.prev_dim, 8);
    assert_int_equal(rep.n_removed, 12);
    assert_int_equal(rep.n_embedded, 12);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors WHERE model = 'fake-b'"
                                   " AND dim = 16"), 12);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM embed_cache"), 24);

    /* back to a: its cache rows were kept, so no inference */
    a.n_texts = 0;
    assert_int_equal(rag_embed_index(ix, &a.base, NULL, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_removed, 12);
    assert_int_equal(rep.n_cached, 12);
    assert_int_equal(rep.n_embedded, 0);
    assert_int_equal(a.n_texts, 0);

    /* same dimension, other id: also a change */
    b = make_fake("fake-c", 8);
    assert_int_equal(rag_embed_index(ix, &b.base, NULL, &rep, &err), RAG_OK);
    assert_string_equal(rep.prev_model, "fake-a");
    assert_int_equal(rep.n_embedded, 12);
    rag_index_close(ix);
}

static void test_embed_index__same_model_spelled_as_hub_id_keeps_vectors(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder local = make_fake("all-MiniLM-L6-v2", 8);
    fake_embedder hub = make_fake("sentence-transformers/all-MiniLM-L6-v2", 8);
    rag_vector_index *vi = NULL;
    rag_embed_report rep;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_embed_index(ix, &local.base, NULL, &rep, &err), RAG_OK);
    assert_int_equal(rag_embed_index(ix, &hub.base, NULL, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_removed, 0);
    assert_int_equal(rep.n_present, 12);
    assert_string_equal(rep.model, "all-MiniLM-L6-v2");
    assert_int_equal(hub.n_calls, 0);
    assert_int_equal(rag_embed_load_vectors(&vi, ix, hub.id, NULL, &err), RAG_OK);
    assert_int_equal(rag_vector_index_count(vi), 12);
    rag_vector_index_destroy(vi);
    rag_index_close(ix);
}

static void test_embed_index__backend_failure_keeps_committed_batches(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder f = make_fake("fake-a", 8);
    rag_embed_index_opts o = batch_of(4);
    rag_embed_report rep;
    rag_err err = {0};
    (void)state;

    f.fail_at_call = 2;
    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_EBACKEND);
    assert_non_null(strstr(err.msg, "chunks 5-8 of 12"));
    assert_non_null(strstr(err.msg, "'fake'"));
    assert_non_null(strstr(err.msg, "server said 503"));
    assert_non_null(strstr(err.msg, "b.txt #0"));
    assert_int_equal(rep.n_embedded, 4);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors"), 4);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM embed_cache"), 4);

    f.fail_at_call = 0;
    f.n_texts = 0;
    assert_int_equal(rag_embed_index(ix, &f.base, &o, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_present, 4);
    assert_int_equal(rep.n_embedded, 8);
    assert_int_equal(f.n_texts, 8);
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors"), 12);
    rag_index_close(ix);
}

static void test_embed_index__dimension_change_or_zero_is_an_error(void **state)
{
    rag_index *ix = three_docs();
    fake_embedder f = make_fake("fake-a", 8);
    rag_embed_index_opts o = batch_of(4);
    rag_err err = {0};
    (void)state;

    f.dim_after_first = 9;
    assert_int_equal(rag_embed_index(ix, &f.base, &o, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "9-d"));
    assert_non_null(strstr(err.msg, "8-d"));
    assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors"), 0);

    f = make_fake("fake-a", 0);
    assert_int_equal(rag_embed_index(ix, &f.base, &o, NULL, &err), RAG_EBACKEND);
    assert_non_null(strstr(err.msg, "'fake'"));
    rag_index_close(ix);
}

static void test_embed_index__int8_only_load_equals_f32(void **state)
{
    rag_index *ix = NULL;
    fake_embedder f = make_fake("fake-a", 40);
    rag_vector_index *v8 = NULL, *v32 = NULL;
    rag_vector_opts o32 = rag_vector_default_opts();
    rag_err err = {0};
    char texts[16][32];
    const char *t[16];
    (void)state;

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    for (int d = 0; d < 8; d++) {
        char path[32];
        for (int i = 0; i < 16; i++) {
            snprintf(texts[i], sizeof texts[i], "doc %d text %d", d, i);
            t[i] = texts[i];
        }
        snprintf(path, sizeof path, "/d/%d.txt", d);
        put_doc(ix, path, t, 16);
    }
    assert_int_equal(rag_embed_index(ix, &f.base, NULL, NULL, &err), RAG_OK);
    assert_int_equal(rag_embed_load_vectors(&v8, ix, "fake-a", NULL, &err), RAG_OK);
    assert_int_equal(rag_vector_index_load_ix(&v32, ix, "fake-a", &o32, &err), RAG_OK);
    assert_int_equal(rag_vector_index_count(v8), 128);
    assert_true(rag_vector_index_bytes(v8) < rag_vector_index_bytes(v32));
    for (int q = 0; q < 10; q++) {
        float qv[40];
        rag_vector_hit h8[10], h32[10];
        size_t n8, n32;
        char qt[32];
        snprintf(qt, sizeof qt, "query %d", q);
        fake_vector(qt, 40, qv);
        assert_int_equal(rag_vector_index_search(v8, qv, 40, 10, NULL, h8, &n8, &err), RAG_OK);
        assert_int_equal(rag_vector_index_search(v32, qv, 40, 10, NULL, h32, &n32, &err),
                         RAG_OK);
        assert_int_equal(n8, n32);
        for (size_t i = 0; i < n8; i++) {
            assert_int_equal(h8[i].chunk_id, h32[i].chunk_id);
            assert_memory_equal(&h8[i].score, &h32[i].score, sizeof(float));
        }
    }
    rag_vector_index_destroy(v8);
    rag_vector_index_destroy(v32);

    /* another model: not found, with what the index holds */
    assert_int_equal(rag_embed_load_vectors(&v8, ix, "other", NULL, &err), RAG_ENOTFOUND);
    assert_null(v8);
    assert_non_null(strstr(err.msg, "fake-a (40-d)"));
    rag_index_close(ix);

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(rag_embed_load_vectors(&v8, ix, "fake-a", NULL, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "docrag index"));
    rag_index_close(ix);
}

static void test_embed_index__allocation_failures_fail_cleanly(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        rag_index *ix = three_docs();
        fake_embedder f = make_fake("fake-a", 8);
        rag_embed_index_opts o = batch_of(5);
        rag_err err = {0};
        long seen;
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_embed_index(ix, &f.base, &o, NULL, &err);
        seen = ts_alloc_count();
        ts_fail_alloc_after(-1);
        assert_true(rc == RAG_OK || rc == RAG_ENOMEM);
        /* whatever happened, every stored vector is whole and of fake-a */
        assert_int_equal(count_sql(ix, "SELECT count(*) FROM vectors WHERE model <> 'fake-a'"
                                       " OR length(data) <> 32"), 0);
        rag_index_close(ix);
        if (rc == RAG_OK && seen <= n)
            break;
        assert_true(n < 10000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_index__first_pass_embeds_all_second_pass_none),
        cmocka_unit_test(test_embed_index__stored_vector_is_the_embedding_of_context_and_text),
        cmocka_unit_test(test_embed_index__changed_doc_embeds_only_its_new_text),
        cmocka_unit_test(test_embed_index__identical_text_in_two_docs_is_embedded_once),
        cmocka_unit_test(test_embed_index__model_change_clears_vectors_and_says_so),
        cmocka_unit_test(test_embed_index__same_model_spelled_as_hub_id_keeps_vectors),
        cmocka_unit_test(test_embed_index__backend_failure_keeps_committed_batches),
        cmocka_unit_test(test_embed_index__dimension_change_or_zero_is_an_error),
        cmocka_unit_test(test_embed_index__int8_only_load_equals_f32),
        cmocka_unit_test(test_embed_index__allocation_failures_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
