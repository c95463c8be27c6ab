/* test_hybrid.c - the retrieval pipeline over a real temporary index whose
 * vectors come from a deterministic fake embedder: dense, hybrid (RRF and
 * weighted), the rerank stage (a reversing and a failing reranker), the
 * graph hook, filters, the BM25 fallbacks and the JSON timings. */
#include "test_support.h"

#include "api/render.h"
#include "generate/generate.h"
#include "retrieve/retrieve.h"
#include "index/store_sqlite.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

/* ---- a fake embedder: words map to concept axes ------------------------ */

#define DIM 4
static const struct { const char *word; int axis; } concepts[] = {
    {"alpha", 0}, {"apples", 0}, {"first", 0},
    {"beta", 1}, {"bananas", 1}, {"second", 1},
    {"gamma", 2}, {"grapes", 2}, {"third", 2},
};

static void concept_vec(const char *text, float *v)
{
    double norm = 0;
    memset(v, 0, DIM * sizeof *v);
    v[3] = 0.01f;   /* never the zero vector */
    for (size_t i = 0; i < sizeof concepts / sizeof concepts[0]; i++) {
        size_t n = strlen(concepts[i].word);
        for (const char *p = strstr(text, concepts[i].word); p; p = strstr(p + n, concepts[i].word))
            v[concepts[i].axis] += 1;
    }
    for (int i = 0; i < DIM; i++)
        norm += (double)v[i] * v[i];
    for (int i = 0; i < DIM; i++)
        v[i] = (float)(v[i] / sqrt(norm));
}

typedef struct {
    rag_embedder base;
    int fail;
    int *n_calls;
} fake_embedder;

static size_t fe_dim(const rag_embedder *e) { (void)e; return DIM; }
static const char *fe_model(const rag_embedder *e) { (void)e; return "fake-concepts"; }
static int fe_embed(rag_embedder *e, const char *const *texts, size_t n, float *out, rag_err *err)
{
    fake_embedder *f = (fake_embedder *)e;
    if (f->n_calls)
        (*f->n_calls)++;
    if (f->fail)
        return rag_fail(err, RAG_EBACKEND, "fake embedder: down");
    for (size_t i = 0; i < n; i++)
        concept_vec(texts[i], out + i * DIM);
    return RAG_OK;
}
static void fe_destroy(rag_embedder *e) { rag_free(e); }
static const struct rag_embedder_ops fe_ops = {
    .name = "fake", .dim = fe_dim, .model_id = fe_model, .embed = fe_embed,
    .destroy = fe_destroy,
};

static rag_embedder *fake_embedder_new(int fail, int *n_calls)
{
    fake_embedder *f = rag_calloc(1, sizeof *f);
    assert_non_null(f);
    f->base.ops = &fe_ops;
    f->fail = fail;
    f->n_calls = n_calls;
    return &f->base;
}

/* ---- fake rerankers: one reverses the order, one always fails ---------- */

static const char *fr_model(const rag_reranker *r) { (void)r; return "fake-rerank"; }
static int fr_reverse(rag_reranker *r, const char *q, const char *const *p, size_t n,
                      float *out, rag_err *err)
{
    (void)r; (void)q; (void)p; (void)err;
    for (size_t i = 0; i < n; i++)
        out[i] = (float)i;   /* the last passage scores best */
    return RAG_OK;
}
static int fr_fail(rag_reranker *r, const char *q, const char *const *p, size_t n,
                   float *out, rag_err *err)
{
    (void)r; (void)q; (void)p; (void)n; (void)out;
    return rag_fail(err, RAG_EBACKEND, "chains.rerank: every back-end failed");
}
static const char *fr_served(const rag_reranker *r) { (void)r; return "fake-reverse"; }
static void fr_destroy(rag_reranker *r) { rag_free(r); }
static const struct rag_reranker_ops reverse_ops = {
    .name = "reverse", .model_id = fr_model, .score = fr_reverse, .destroy = fr_destroy,
    .served_by = fr_served,
};
static const struct rag_reranker_ops failing_ops = {
    .name = "failing", .model_id = fr_model, .score = fr_fail, .destroy = fr_destroy,
};

static rag_reranker *fake_reranker_new(const struct rag_reranker_ops *ops)
{
    rag_reranker *r = rag_calloc(1, sizeof *r);
    assert_non_null(r);
    r->ops = ops;
    return r;
}

/* ---- the index ----------------------------------------------------------- */

typedef struct {
    char *dir;
    rag_index *ix;
} fixture;

static void write_doc(const char *dir, const char *name, const char *text)
{
    char *p = rag_asprintf("%s/%s", dir, name);
    ts_write_file(p, text, strlen(text));
    rag_free(p);
}

/* Store a vector of `model` for every chunk (the fake embedder's). */
static void write_vectors(rag_index *ix, const char *model)
{
    sqlite3 *db = rag_index_db(ix);
    sqlite3_stmt *sel, *ins;
    float v[DIM];
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT c.id, c.text || ' ' || d.path FROM chunks c"
                                        " JOIN documents d ON d.id = c.doc_id", -1, &sel, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO vectors VALUES(?,?,?,?)", -1,
                                        &ins, NULL), SQLITE_OK);
    while (sqlite3_step(sel) == SQLITE_ROW) {
        concept_vec((const char *)sqlite3_column_text(sel, 1), v);
        sqlite3_bind_int64(ins, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_text(ins, 2, model, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 3, DIM);
        sqlite3_bind_blob(ins, 4, v, sizeof v, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
}

static int setup(void **state)
{
    fixture *f = rag_calloc(1, sizeof *f);
    rag_indexer_opts o = {rag_extract_default_opts(), rag_chunk_default_opts(), 0};
    rag_indexer_report rep;
    rag_err err = {0};
    char *db;
    const char *paths[1];

    f->dir = ts_tmpdir("hybrid");
    write_doc(f->dir, "alpha.md", "# Orchard\n\nalpha notes: text about apples.\n");
    write_doc(f->dir, "beta.md", "# Market\n\nbeta notes: text about bananas.\n");
    write_doc(f->dir, "mixed.md", "# Mixed\n\nalpha and beta notes: text about cherries.\n");
    write_doc(f->dir, "gamma.md", "# Vineyard\n\ngamma notes: text about grapes, one text.\n");
    /* many documents that outrank the others for "text" (filter depth) */
    for (int i = 0; i < 90; i++) {
        char name[32], body[128];
        snprintf(name, sizeof name, "filler%02d.md", i);
        snprintf(body, sizeof body, "# Filler %d\n\ntext text text text filler%d\n", i, i);
        write_doc(f->dir, name, body);
    }
    db = rag_asprintf("%s/t.db", f->dir);
    assert_int_equal(rag_index_open(&f->ix, db, 0, &err), RAG_OK);
    paths[0] = f->dir;
    assert_int_equal(rag_indexer_run(f->ix, paths, 1, &o, NULL, &rep, &err), RAG_OK);
    assert_int_equal(rep.n_failed, 0);
    rag_free(db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rag_index_close(f->ix);
    rag_free(f->dir);
    rag_free(f);
    return 0;
}

static rag_retriever_params params(void)
{
    rag_retriever_params p;
    memset(&p, 0, sizeof p);
    p.candidates = 50;
    p.fusion = RAG_FUSION_RRF;
    p.rrf_k = 60;
    p.dense_weight = 0.5;
    p.rerank_weight = 1;
    return p;
}

static const char *base(const rag_hit *h)
{
    const char *s = strrchr(h->row.doc, '/');
    return s ? s + 1 : h->row.doc;
}

static rag_retriever *open_with_vectors(fixture *f, const rag_retriever_params *p,
                                        rag_reranker *rr)
{
    rag_retriever *r = NULL;
    rag_err err = {0};
    sqlite3_exec(rag_index_db(f->ix), "DELETE FROM vectors", NULL, NULL, NULL);
    write_vectors(f->ix, "fake-concepts");
    assert_int_equal(rag_retriever_create(&r, f->ix, p, fake_embedder_new(0, NULL), rr, &err),
                     RAG_OK);
    assert_true(rag_retriever_has_dense(r));
    return r;
}

static void search(rag_hits *h, fixture *f, rag_retriever *r, rag_search_mode mode, size_t k,
                   const char *q)
{
    rag_search_opts so = {.mode = mode, .k = k, .retriever = r};
    rag_err err = {0};
    assert_int_equal(rag_search(h, f->ix, q, &so, &err), RAG_OK);
}

/* ---- tests --------------------------------------------------------------- */

static void test_hybrid__dense_finds_what_bm25_cannot(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r = open_with_vectors(f, &p, NULL);
    rag_hits h;

    search(&h, f, r, RAG_MODE_BM25, 3, "first");   /* no document says "first" */
    assert_int_equal(h.n, 0);
    rag_hits_fini(&h);

    search(&h, f, r, RAG_MODE_DENSE, 3, "first");
    assert_int_equal(h.mode_used, RAG_MODE_DENSE);
    assert_string_equal(h.notice, "");
    assert_true(h.n >= 1);
    assert_string_equal(base(&h.items[0]), "alpha.md");
    assert_int_equal(h.items[0].stages.dense_rank, 1);
    assert_int_equal(h.items[0].stages.bm25_rank, 0);
    assert_float_equal(h.items[0].score, 1.0, 1e-3);   /* ~ the unit vector e0 */
    assert_true(h.t.embed >= 0 && h.t.knn >= 0 && h.t.bm25 == 0);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
}

static void test_hybrid__rrf_and_weighted_fusion(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r = open_with_vectors(f, &p, NULL);
    rag_hits h;

    /* BM25: only beta.md says "bananas"; dense: mixed.md is exactly e0+e1 */
    search(&h, f, r, RAG_MODE_HYBRID, 5, "first bananas");
    assert_int_equal(h.mode_used, RAG_MODE_HYBRID);
    assert_int_equal(h.fusion_used, RAG_FUSION_RRF);
    assert_string_equal(base(&h.items[0]), "beta.md");
    assert_int_equal(h.items[0].stages.bm25_rank, 1);
    assert_true(h.items[0].stages.dense_rank > 1);
    assert_int_equal(h.items[0].stages.fused_rank, 1);
    assert_float_equal(h.items[0].score,
                       1.0 / 61 + 1.0 / (60 + h.items[0].stages.dense_rank), 1e-12);
    assert_string_equal(base(&h.items[1]), "mixed.md");
    assert_int_equal(h.items[1].stages.bm25_rank, 0);
    assert_int_equal(h.items[1].stages.dense_rank, 1);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    p.fusion = RAG_FUSION_WEIGHTED;
    p.dense_weight = 1.0;   /* the dense order */
    r = open_with_vectors(f, &p, NULL);
    search(&h, f, r, RAG_MODE_HYBRID, 5, "first bananas");
    assert_int_equal(h.fusion_used, RAG_FUSION_WEIGHTED);
    assert_string_equal(base(&h.items[0]), "mixed.md");
    assert_float_equal(h.items[0].score, 1.0, 1e-12);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
}

static void test_hybrid__rerank_reverses_and_a_failure_keeps_the_order(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r;
    rag_hits plain, h;
    rag_search_opts so = {.mode = RAG_MODE_BM25, .k = 4};
    rag_err err = {0};

    p.rerank_top_n = 4;
    assert_int_equal(rag_search(&plain, f->ix, "apples bananas cherries grapes", &so, &err),
                     RAG_OK);
    assert_int_equal(plain.n, 4);

    assert_int_equal(rag_retriever_create(&r, f->ix, &p, NULL, fake_reranker_new(&reverse_ops),
                                          &err), RAG_OK);
    search(&h, f, r, RAG_MODE_BM25, 4, "apples bananas cherries grapes");
    assert_true(h.reranked);
    assert_string_equal(h.rerank_backend, "fake-reverse");
    assert_int_equal(h.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(h.items[i].row.chunk_id, plain.items[3 - i].row.chunk_id);
        assert_int_equal(h.items[i].stages.rerank_rank, (int)i + 1);
        assert_int_equal(h.items[i].stages.bm25_rank, 4 - (int)i);
    }
    assert_float_equal(h.items[0].score, 1.0, 1e-12);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    assert_int_equal(rag_retriever_create(&r, f->ix, &p, NULL, fake_reranker_new(&failing_ops),
                                          &err), RAG_OK);
    search(&h, f, r, RAG_MODE_BM25, 4, "apples bananas cherries grapes");
    assert_false(h.reranked);
    assert_non_null(strstr(h.notice, "rerank failed"));
    assert_non_null(strstr(h.notice, "every back-end failed"));
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(h.items[i].row.chunk_id, plain.items[i].row.chunk_id);
        assert_float_equal(h.items[i].score, plain.items[i].score, 1e-12);
    }
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
    rag_hits_fini(&plain);
}

static int ppr_favour_one(void *ctx, const int64_t *seeds, const double *seed_w,
                            size_t n_seeds, const int64_t *ids, size_t n_ids, double *out,
                            rag_err *err)
{
    int64_t gamma = *(int64_t *)ctx;
    (void)seeds; (void)seed_w; (void)err;
    assert_true(n_seeds >= 1);
    for (size_t i = 0; i < n_ids; i++)
        out[i] = ids[i] == gamma ? 1.0 : 0.0;
    return RAG_OK;
}

static void test_hybrid__graph_hook_boosts_within_bounds(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r = open_with_vectors(f, &p, NULL);
    rag_hits h;
    int64_t gamma = 0;
    size_t pos = 0;

    search(&h, f, r, RAG_MODE_HYBRID, 50, "first bananas");
    /* the graph will favour the last fused candidate */
    assert_true(h.n > 2);
    pos = h.n - 1;
    gamma = h.items[pos].row.chunk_id;
    rag_hits_fini(&h);

    rag_retriever_set_graph(r, ppr_favour_one, &gamma);
    search(&h, f, r, RAG_MODE_HYBRID, 50, "first bananas");   /* boost 0: off */
    assert_int_not_equal(h.items[0].row.chunk_id, gamma);
    assert_true(h.t.graph == 0);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    /* boost 1: the last (fused norm 0) rises to exactly 1, tying the first
     * (norm 1, no graph score), which keeps its place on the tie */
    p.graph_boost = 1.0;
    r = open_with_vectors(f, &p, NULL);
    rag_retriever_set_graph(r, ppr_favour_one, &gamma);
    search(&h, f, r, RAG_MODE_HYBRID, 50, "first bananas");
    assert_int_equal(h.items[1].row.chunk_id, gamma);
    assert_float_equal(h.items[1].score, 1.0, 1e-12);
    assert_float_equal(h.items[0].score, 1.0, 1e-12);
    assert_true(h.items[2].score < 1.0);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    p.graph_boost = 0.5;   /* half a boost: from last to exactly the middle */
    r = open_with_vectors(f, &p, NULL);
    rag_retriever_set_graph(r, ppr_favour_one, &gamma);
    search(&h, f, r, RAG_MODE_HYBRID, 50, "first bananas");
    for (size_t i = 0; i < h.n; i++)
        if (h.items[i].row.chunk_id == gamma)
            assert_float_equal(h.items[i].score, 0.5, 1e-12);
    assert_int_not_equal(h.items[h.n - 1].row.chunk_id, gamma);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
}

static void test_hybrid__filters_hold_in_every_mode(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r = open_with_vectors(f, &p, NULL);
    rag_search_mode modes[] = {RAG_MODE_BM25, RAG_MODE_DENSE, RAG_MODE_HYBRID};
    rag_err err = {0};
    rag_hits h;

    for (int m = 0; m < 3; m++) {
        /* 90 filler chunks outrank gamma.md for "text": the filter must dig */
        rag_search_opts so = {.mode = modes[m], .k = 1, .retriever = r,
                              .doc_glob = "*/gamma.md"};
        assert_int_equal(rag_search(&h, f->ix, "text", &so, &err), RAG_OK);
        assert_int_equal(h.n, 1);
        assert_string_equal(base(&h.items[0]), "gamma.md");
        rag_hits_fini(&h);

        so.doc_glob = NULL;
        so.page_min = 2;   /* markdown is one page */
        so.page_max = 3;
        assert_int_equal(rag_search(&h, f->ix, "text", &so, &err), RAG_OK);
        assert_int_equal(h.n, 0);
        rag_hits_fini(&h);

        so.page_min = so.page_max = 1;
        so.doc_glob = "*/filler0?.md";
        so.k = 20;
        assert_int_equal(rag_search(&h, f->ix, "text", &so, &err), RAG_OK);
        assert_int_equal(h.n, 10);   /* filler00..filler09 */
        for (size_t i = 0; i < h.n; i++)
            assert_non_null(strstr(base(&h.items[i]), "filler0"));
        rag_hits_fini(&h);
    }
    rag_retriever_destroy(r);
}

static void test_hybrid__falls_back_to_bm25_with_one_notice(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r = NULL;
    rag_search_opts so = {.mode = RAG_MODE_BM25, .k = 5};
    rag_err err = {0};
    rag_hits plain, h;
    int n_calls = 0;

    assert_int_equal(rag_search(&plain, f->ix, "bananas text", &so, &err), RAG_OK);
    assert_int_equal(plain.mode_used, RAG_MODE_BM25);
    assert_string_equal(plain.notice, "");

    /* no embedder */
    assert_int_equal(rag_retriever_create(&r, f->ix, &p, NULL, NULL, &err), RAG_OK);
    assert_false(rag_retriever_has_dense(r));
    search(&h, f, r, RAG_MODE_HYBRID, 5, "bananas text");
    assert_int_equal(h.mode_used, RAG_MODE_BM25);
    assert_non_null(strstr(h.notice, "--mode hybrid needs an embedder"));
    assert_non_null(strstr(h.notice, "using bm25"));
    assert_null(strstr(strstr(h.notice, "using bm25") + 1, "using bm25"));   /* once */
    assert_int_equal(h.n, plain.n);
    for (size_t i = 0; i < h.n; i++) {
        assert_int_equal(h.items[i].row.chunk_id, plain.items[i].row.chunk_id);
        assert_true(h.items[i].score == plain.items[i].score);
    }
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    /* an embedder, but no vectors in the index */
    sqlite3_exec(rag_index_db(f->ix), "DELETE FROM vectors", NULL, NULL, NULL);
    assert_int_equal(rag_retriever_create(&r, f->ix, &p, fake_embedder_new(0, &n_calls), NULL,
                                          &err), RAG_OK);
    assert_false(rag_retriever_has_dense(r));
    search(&h, f, r, RAG_MODE_DENSE, 5, "bananas text");
    assert_int_equal(h.mode_used, RAG_MODE_BM25);
    assert_non_null(strstr(h.notice, "the index holds no vectors of model fake-concepts: run "
                                     "`docrag index`"));
    assert_int_equal(h.n, plain.n);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
    assert_int_equal(n_calls, 0);

    /* vectors of another model */
    write_vectors(f->ix, "other-model");
    assert_int_equal(rag_retriever_create(&r, f->ix, &p, fake_embedder_new(0, NULL), NULL,
                                          &err), RAG_OK);
    search(&h, f, r, RAG_MODE_HYBRID, 5, "bananas text");
    assert_int_equal(h.mode_used, RAG_MODE_BM25);
    assert_non_null(strstr(h.notice, "the stored vectors are of model other-model"));
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    /* the embedder fails at query time: BM25, with the reason */
    sqlite3_exec(rag_index_db(f->ix), "DELETE FROM vectors", NULL, NULL, NULL);
    write_vectors(f->ix, "fake-concepts");
    assert_int_equal(rag_retriever_create(&r, f->ix, &p, fake_embedder_new(1, NULL), NULL,
                                          &err), RAG_OK);
    search(&h, f, r, RAG_MODE_HYBRID, 5, "bananas text");
    assert_int_equal(h.mode_used, RAG_MODE_BM25);
    assert_non_null(strstr(h.notice, "fake embedder: down"));
    assert_int_equal(h.n, plain.n);
    assert_int_equal(h.items[0].row.chunk_id, plain.items[0].row.chunk_id);
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
    rag_hits_fini(&plain);
}

static void test_hybrid__open_from_config_names_the_missing_folder(void **state)
{
    fixture *f = *state;
    const char *yaml = "backends:\n  local:\n    type: local\n    model: /nonexistent/minilm\n"
                       "chains:\n  embed: [local]\n";
    rag_config_source src;
    rag_config *cfg = NULL;
    rag_retriever *r = NULL;
    rag_err err = {0};
    rag_hits h;

    memset(&src, 0, sizeof src);
    src.yaml_text = yaml;
    src.yaml_len = strlen(yaml);
    src.profile = "local";
    assert_int_equal(rag_config_load(&cfg, &src, &err), RAG_OK);
    assert_int_equal(rag_retriever_open(&r, f->ix, cfg, RAG_MODE_HYBRID, NULL, &err), RAG_OK);
    search(&h, f, r, RAG_MODE_HYBRID, 3, "bananas");
    assert_int_equal(h.mode_used, RAG_MODE_BM25);
    assert_non_null(strstr(h.notice, "model folder /nonexistent/minilm not found "
                                     "(backends.local.model)"));
    rag_hits_fini(&h);
    rag_retriever_destroy(r);

    /* no embedder in the chain */
    rag_config_destroy(cfg);
    src.yaml_text = "chains:\n  embed: [none]\n";
    src.yaml_len = strlen(src.yaml_text);
    assert_int_equal(rag_config_load(&cfg, &src, &err), RAG_OK);
    assert_int_equal(rag_retriever_open(&r, f->ix, cfg, RAG_MODE_DENSE, NULL, &err), RAG_OK);
    search(&h, f, r, RAG_MODE_DENSE, 3, "bananas");
    assert_non_null(strstr(h.notice, "needs an embedder and none is configured (chains.embed)"));
    rag_hits_fini(&h);
    rag_retriever_destroy(r);
    rag_config_destroy(cfg);
}

static void test_hybrid__json_carries_stage_timings_and_scores(void **state)
{
    fixture *f = *state;
    rag_retriever_params p = params();
    rag_retriever *r;
    rag_hits h;
    json_t *o, *t, *st;
    static const char *const keys[] = {"bm25", "embed", "knn", "fuse", "graph", "rerank",
                                       "fetch", "total"};
    rag_ask_opts ao = rag_ask_default_opts();
    rag_answer ans;
    rag_ask_timings at;
    rag_err err = {0};

    p.rerank_top_n = 3;
    r = open_with_vectors(f, &p, fake_reranker_new(&reverse_ops));
    search(&h, f, r, RAG_MODE_HYBRID, 3, "first bananas");
    o = rag_render_hits("first bananas", &h, 1.5);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "hybrid");
    assert_string_equal(json_string_value(json_object_get(o, "fusion")), "rrf");
    assert_string_equal(json_string_value(json_object_get(o, "reranked_by")), "fake-reverse");
    t = json_object_get(o, "timings_ms");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_true(json_is_real(json_object_get(t, keys[i])));
    assert_float_equal(json_real_value(json_object_get(t, "total")), 1.5, 1e-9);
    st = json_object_get(json_array_get(json_object_get(o, "results"), 0), "stages");
    assert_non_null(json_object_get(st, "fused"));
    assert_non_null(json_object_get(st, "rerank"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "rerank"), "rank")), 1);
    json_decref(o);
    rag_hits_fini(&h);

    /* ask runs the same pipeline before its gate */
    ao.mode = RAG_MODE_HYBRID;
    ao.retriever = r;
    assert_int_equal(rag_ask(&ans, &at, f->ix, "What about bananas?", &ao, &err), RAG_OK);
    assert_int_equal(at.mode_used, RAG_MODE_HYBRID);
    assert_string_equal(at.reranked_by, "fake-reverse");
    o = rag_render_answer("What about bananas?", &ans, &at);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "hybrid");
    t = json_object_get(o, "timings_ms");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_true(json_is_real(json_object_get(t, keys[i])));
    assert_true(json_is_real(json_object_get(t, "gate")));
    assert_true(json_is_real(json_object_get(t, "search")));
    json_decref(o);
    rag_answer_fini(&ans);
    rag_retriever_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hybrid__dense_finds_what_bm25_cannot),
        cmocka_unit_test(test_hybrid__rrf_and_weighted_fusion),
        cmocka_unit_test(test_hybrid__rerank_reverses_and_a_failure_keeps_the_order),
        cmocka_unit_test(test_hybrid__graph_hook_boosts_within_bounds),
        cmocka_unit_test(test_hybrid__filters_hold_in_every_mode),
        cmocka_unit_test(test_hybrid__falls_back_to_bm25_with_one_notice),
        cmocka_unit_test(test_hybrid__open_from_config_names_the_missing_folder),
        cmocka_unit_test(test_hybrid__json_carries_stage_timings_and_scores),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
