/* test_api_scopes.c - the parts of docrag.h a front end needs beyond
 * search and ask: engines opened for less than everything (configuration
 * only, index only, models only, one search mode), `config show` text, the
 * effective database, usage seen by read-only engines, the log sink,
 * evaluation and model folders. */
#include "test_support.h"

#include "docrag.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char notes_md[] =
    "# Vector unit\n\nThe vector length register vl holds the number of "
    "elements to process.\n";

static json_t *must_json(char *s)
{
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    docrag_free(s);
    return o;
}

static docrag_engine *open_engine(const char *db, int scope, int read_only)
{
    docrag_engine *e = NULL;
    docrag_engine_opts o;
    docrag_error err;
    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.scope = scope;
    o.read_only = read_only;
    o.quiet = 1;
    if (docrag_engine_open(&e, &o, &err) != 0)
        fail_msg("open: %s", err.msg);
    return e;
}

/* A database with notes.md indexed (BM25 only); caller frees dir and db. */
static void make_db(char **dir, char **db)
{
    const char *paths[1];
    docrag_engine *e;
    docrag_session *s = NULL;
    docrag_index_opts io;
    docrag_error err;
    char *notes;

    *dir = ts_tmpdir("api_scopes");
    *db = rag_asprintf("%s/t.db", *dir);
    notes = rag_asprintf("%s/notes.md", *dir);
    ts_write_file(notes, notes_md, strlen(notes_md));
    e = open_engine(*db, DOCRAG_SCOPE_ALL, 0);
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    docrag_index_opts_init(&io);
    io.no_embed = 1;
    paths[0] = notes;
    assert_int_equal(docrag_index(s, paths, 1, &io, NULL, &err), 0);
    docrag_session_close(s);
    docrag_engine_close(e);
    rag_free(notes);
}

static void test_api_scopes__config_only_opens_no_database(void **state)
{
    char *dir = ts_tmpdir("api_cfg"), *db = rag_asprintf("%s/none.db", dir), *text = NULL;
    docrag_engine *e;
    docrag_session *s = NULL;
    docrag_error err;
    struct stat st;
    (void)state;

    e = open_engine(db, DOCRAG_SCOPE_CONFIG, 0);
    assert_string_equal(docrag_engine_db_path(e), db);
    assert_int_equal(docrag_engine_config_show(e, DOCRAG_CONFIG_ORIGIN, &text, &err), 0);
    /* the database given to the engine shows as a command-line value */
    assert_non_null(strstr(text, "# --set db"));
    assert_non_null(strstr(text, db));
    docrag_free(text);
    assert_int_equal(docrag_engine_config_show(e, DOCRAG_CONFIG_JSON, &text, &err), 0);
    json_decref(must_json(text));
    assert_int_equal(docrag_session_open(&s, e, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "configuration only"));
    assert_int_equal(docrag_engine_info(e, &text, &err), DOCRAG_EINVAL);
    assert_int_equal(docrag_engine_refresh(e, &err), 0);
    docrag_engine_close(e);
    assert_int_not_equal(stat(db, &st), 0);
    rag_free(db);
    rag_free(dir);
}

static void test_api_scopes__index_scope_reads_without_models(void **state)
{
    char *dir, *db, *out = NULL;
    docrag_engine *e;
    docrag_session *s = NULL;
    docrag_error err;
    json_t *o;
    (void)state;

    make_db(&dir, &db);
    e = open_engine(db, DOCRAG_SCOPE_INDEX, 1);
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    assert_int_equal(docrag_stats(s, &out, &err), 0);
    o = must_json(out);
    assert_int_equal(json_integer_value(json_object_get(o, "documents")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "db")), db);
    json_decref(o);
    assert_int_equal(docrag_documents(s, &out, &err), 0);
    json_decref(must_json(out));
    assert_int_equal(docrag_search(s, "vector", NULL, &out, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "its index only"));
    assert_null(docrag_embed_model(e));
    docrag_session_close(s);
    docrag_engine_close(e);
    rag_free(db);
    rag_free(dir);
}

static docrag_engine *open_with(const char *db, const char *const *sets, size_t n_sets,
                                int read_only, int single_mode)
{
    docrag_engine *e = NULL;
    docrag_engine_opts o;
    docrag_error err;
    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.sets = sets;
    o.n_sets = n_sets;
    o.read_only = read_only;
    o.single_mode = single_mode;
    o.quiet = 1;
    if (docrag_engine_open(&e, &o, &err) != 0)
        fail_msg("open: %s", err.msg);
    return e;
}

static void test_api_scopes__single_mode_loads_only_its_mode(void **state)
{
    char *dir = ts_tmpdir("api_single"), *db = rag_asprintf("%s/t.db", dir);
    char *notes = rag_asprintf("%s/notes.md", dir), *out = NULL;
    char *model = ts_src_path("tests/data/models/bi-encoder");
    char *model_set = rag_asprintf("backends.local.model=%s", model);
    const char *sets[] = {"chains.embed=local", "backends.local.type=local", model_set,
                          "search.mode=bm25"};
    const char *paths[1] = {notes};
    docrag_engine *e;
    docrag_session *s = NULL;
    docrag_search_opts so;
    docrag_error err;
    json_t *j;
    (void)state;

    /* every chunk gets a vector of bi-encoder */
    ts_write_file(notes, notes_md, strlen(notes_md));
    e = open_with(db, sets, 3, 0, 0);
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    assert_int_equal(docrag_index(s, paths, 1, NULL, &out, &err), 0);
    j = must_json(out);
    assert_non_null(json_object_get(j, "embed"));
    json_decref(j);
    docrag_session_close(s);
    docrag_engine_close(e);

    /* bm25: no embedder; a dense search falls back with a notice */
    e = open_with(db, sets, 4, 1, 1);
    assert_null(docrag_embed_model(e));
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    docrag_search_opts_init(&so);
    so.mode = "dense";
    assert_int_equal(docrag_search(s, "vector length", &so, &out, &err), 0);
    j = must_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "bm25");
    assert_non_null(json_object_get(j, "notice"));
    json_decref(j);
    assert_int_equal(docrag_index(s, paths, 1, NULL, NULL, &err), DOCRAG_EINVAL);
    docrag_session_close(s);
    docrag_engine_close(e);

    /* dense: the embedder and its vectors */
    sets[3] = "search.mode=dense";
    e = open_with(db, sets, 4, 1, 1);
    assert_string_equal(docrag_embed_model(e), "bi-encoder");
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    assert_int_equal(docrag_search(s, "vector length", NULL, &out, &err), 0);
    j = must_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "dense");
    assert_null(json_object_get(j, "notice"));
    json_decref(j);
    docrag_session_close(s);
    docrag_engine_close(e);
    rag_free(model_set);
    rag_free(model);
    rag_free(notes);
    rag_free(db);
    rag_free(dir);
}

static void test_api_scopes__models_scope_embeds_and_reranks_without_a_database(void **state)
{
    char *bi = ts_src_path("tests/data/models/bi-encoder");
    char *ce = ts_src_path("tests/data/models/cross-encoder");
    char *bi_set = rag_asprintf("backends.b.model=%s", bi);
    char *ce_set = rag_asprintf("backends.c.model=%s", ce);
    char *dir = ts_tmpdir("api_models_scope"), *db = rag_asprintf("%s/never.db", dir);
    const char *sets[] = {"chains.embed=b", "backends.b.type=local", bi_set,
                          "chains.rerank=c", "backends.c.type=local", ce_set};
    const char *texts[2] = {"vector length register", "translation lookaside buffer"};
    float vec[2 * 64], scores[2];
    docrag_engine *e = NULL;
    docrag_engine_opts o;
    docrag_error err;
    struct stat st;
    (void)state;

    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.sets = sets;
    o.n_sets = 6;
    o.scope = DOCRAG_SCOPE_MODELS;
    o.quiet = 1;
    assert_int_equal(docrag_engine_open(&e, &o, &err), 0);
    assert_string_equal(docrag_embed_model(e), "bi-encoder");
    assert_true(docrag_embed_dim(e) > 0 && docrag_embed_dim(e) <= 64);
    assert_int_equal(docrag_embed(e, texts, 2, vec, &err), 0);
    assert_non_null(docrag_rerank_model(e));
    assert_int_equal(docrag_rerank(e, "vector length", texts, 2, scores, &err), 0);
    docrag_engine_close(e);
    assert_int_not_equal(stat(db, &st), 0);

    /* a folder that is not there: the call says which */
    sets[2] = "backends.b.model=/no/such/model";
    assert_int_equal(docrag_engine_open(&e, &o, &err), 0);
    assert_null(docrag_embed_model(e));
    assert_int_equal(docrag_embed(e, texts, 2, vec, &err), DOCRAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/no/such/model"));
    docrag_engine_close(e);
    rag_free(bi_set);
    rag_free(ce_set);
    rag_free(bi);
    rag_free(ce);
    rag_free(db);
    rag_free(dir);
}

typedef struct {
    int n;
    char last[512];
} log_seen;

static void on_log(void *ctx, int level, const char *msg)
{
    log_seen *l = ctx;
    if (level == DOCRAG_LOG_WARN) {
        l->n++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

static void test_api_scopes__index_warns_once_through_the_log_sink(void **state)
{
    char *dir = ts_tmpdir("api_log"), *db = rag_asprintf("%s/t.db", dir);
    char *notes = rag_asprintf("%s/n.md", dir);
    const char *sets[] = {"chains.embed=local", "backends.local.type=local",
                          "backends.local.model=/no/such/folder"};
    const char *paths[1] = {notes};
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_engine_opts o;
    docrag_error err;
    log_seen l = {0};
    char *out = NULL;
    json_t *r;
    (void)state;

    ts_write_file(notes, notes_md, strlen(notes_md));
    docrag_log_set(on_log, &l);
    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.sets = sets;
    o.n_sets = 3;
    assert_int_equal(docrag_engine_open(&e, &o, &err), 0);
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    assert_int_equal(docrag_index(s, paths, 1, NULL, &out, &err), 0);
    r = must_json(out);
    assert_int_equal(json_integer_value(json_object_get(r, "added")), 1);
    assert_null(json_object_get(r, "embed"));
    json_decref(r);
    assert_int_equal(l.n, 1);
    assert_non_null(strstr(l.last, "/no/such/folder"));
    assert_non_null(strstr(l.last, "BM25"));
    docrag_session_close(s);
    docrag_engine_close(e);
    docrag_log_set(NULL, NULL);
    docrag_log_set_level(DOCRAG_LOG_INFO);
    rag_free(notes);
    rag_free(db);
    rag_free(dir);
}

static void test_api_scopes__read_only_engine_sees_recorded_usage(void **state)
{
    char *dir, *db, *out = NULL;
    docrag_engine *e;
    docrag_session *s = NULL;
    docrag_error err;
    sqlite3 *c = NULL;
    json_t *o, *b;
    (void)state;

    make_db(&dir, &db);
    /* a month of usage recorded by an earlier run */
    assert_int_equal(sqlite3_open(db, &c), SQLITE_OK);
    /* (the writing engine of make_db created the table) */
    assert_int_equal(sqlite3_exec(c, "INSERT INTO usage(backend, month, requests)"
                                     " VALUES('remote', strftime('%Y-%m', 'now'), 7)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(c);
    e = open_engine(db, DOCRAG_SCOPE_INDEX, 1);
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    assert_int_equal(docrag_stats(s, &out, &err), 0);
    o = must_json(out);
    b = json_object_get(json_object_get(json_object_get(o, "usage"), "backends"), "remote");
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "requests")), 7);
    json_decref(o);
    docrag_session_close(s);
    docrag_engine_close(e);
    rag_free(db);
    rag_free(dir);
}

/* Engine info (hence /ready and /metrics) reports the circuit breaker of
 * every remote member of the embed chain, not only the LLM's: closed at
 * first, open after consecutive failures against a port nothing listens on
 * (connection refused, no retries). */
static void test_api_scopes__breakers_of_the_embed_chain_in_engine_info(void **state)
{
    const char *sets[] = {"chains.embed=tei_x", "backends.tei_x.type=tei",
                          "backends.tei_x.url=http://127.0.0.1:1",
                          "backends.tei_x.max_retries=0"};
    const char *texts[1] = {"mask register"};
    char *dir, *db, *out = NULL;
    docrag_engine *e = NULL;
    docrag_engine_opts o;
    docrag_error err;
    float v[1024];
    json_t *j, *emb;
    (void)state;

    make_db(&dir, &db);
    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.quiet = 1;
    o.sets = sets;
    o.n_sets = 4;
    assert_int_equal(docrag_engine_open(&e, &o, &err), 0);
    assert_int_equal(docrag_engine_info(e, &out, &err), 0);
    j = must_json(out);
    emb = json_object_get(json_object_get(j, "breakers"), "embed");
    assert_string_equal(json_string_value(json_object_get(emb, "tei_x")), "closed");
    assert_non_null(json_object_get(json_object_get(j, "breakers"), "llm"));
    json_decref(j);
    for (int i = 0; i < 8; i++)
        assert_true(docrag_embed(e, texts, 1, v, &err) < 0);
    assert_int_equal(docrag_engine_info(e, &out, &err), 0);
    j = must_json(out);
    emb = json_object_get(json_object_get(j, "breakers"), "embed");
    assert_string_equal(json_string_value(json_object_get(emb, "tei_x")), "open");
    json_decref(j);
    docrag_engine_close(e);
    rag_free(db);
    rag_free(dir);
}

static void test_api_scopes__eval_qa_and_check_on_the_samples(void **state)
{
    char *qa = ts_src_path("data/qa/samples.jsonl"), *docs = ts_src_path("data/samples");
    char *out = NULL;
    docrag_engine *e = open_engine(NULL, DOCRAG_SCOPE_CONFIG, 0);
    docrag_eval_opts eo;
    docrag_error err;
    json_t *o;
    (void)state;

    docrag_eval_opts_init(&eo);
    assert_int_equal(docrag_eval_qa(e, qa, docs, &eo, &out, &err), 0);
    o = must_json(out);
    assert_int_equal(json_integer_value(json_object_get(o, "questions")), 3);
    assert_int_equal(json_array_size(json_object_get(o, "misses")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "mode_used")), "bm25");
    json_decref(o);
    eo.mode = "sparse";
    assert_int_equal(docrag_eval_qa(e, qa, docs, &eo, &out, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "sparse"));
    assert_int_equal(docrag_eval_qa_check(e, qa, docs, &out, &err), 0);
    o = must_json(out);
    assert_int_equal(json_integer_value(json_object_get(o, "questions")), 3);
    assert_int_equal(json_array_size(json_object_get(o, "problems")), 0);
    json_decref(o);
    docrag_engine_close(e);
    rag_free(qa);
    rag_free(docs);
}

static void test_api_scopes__models_list_reads_a_root(void **state)
{
    char *root = ts_src_path("tests/data/models"), *out = NULL;
    docrag_models_opts mo;
    docrag_error err;
    json_t *o, *m;
    size_t i;
    int seen = 0;
    (void)state;

    docrag_models_opts_init(&mo);
    mo.dir = root;
    assert_int_equal(docrag_models_list(&mo, &out, &err), 0);
    o = must_json(out);
    assert_string_equal(json_string_value(json_object_get(o, "root")), root);
    json_array_foreach(json_object_get(o, "models"), i, m) {
        if (!strcmp(json_string_value(json_object_get(m, "id")), "bi-encoder")) {
            seen = 1;
            assert_true(json_is_true(json_object_get(m, "complete")));
            assert_true(json_integer_value(json_object_get(m, "bytes")) > 0);
        }
        if (i > 0)
            assert_true(strcmp(json_string_value(json_object_get(json_array_get(
                                   json_object_get(o, "models"), i - 1), "id")),
                               json_string_value(json_object_get(m, "id"))) < 0);
    }
    assert_true(seen);
    json_decref(o);
    rag_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_scopes__config_only_opens_no_database),
        cmocka_unit_test(test_api_scopes__index_scope_reads_without_models),
        cmocka_unit_test(test_api_scopes__single_mode_loads_only_its_mode),
        cmocka_unit_test(test_api_scopes__models_scope_embeds_and_reranks_without_a_database),
        cmocka_unit_test(test_api_scopes__index_warns_once_through_the_log_sink),
        cmocka_unit_test(test_api_scopes__read_only_engine_sees_recorded_usage),
        cmocka_unit_test(test_api_scopes__breakers_of_the_embed_chain_in_engine_info),
        cmocka_unit_test(test_api_scopes__eval_qa_and_check_on_the_samples),
        cmocka_unit_test(test_api_scopes__models_list_reads_a_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
