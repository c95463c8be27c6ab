/* test_api.c - the public API (docrag.h) end to end on a temporary
 * database: one engine, several sessions, writes seen by every session,
 * streaming order, documents, and concurrent searches during indexing. */
#include "test_support.h"

#include "docrag.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char notes_md[] =
    "# Vector unit\n\nThe vector length register vl holds the number of "
    "elements to process.\n\n## Masks\n\nMask register v0 controls which "
    "elements are active.\n";
static const char cache_md[] =
    "# Caches\n\nThe translation lookaside buffer caches page table walks so that "
    "address translation is fast.\n";

typedef struct {
    char *dir, *db, *notes, *cache;
    docrag_engine *e;
    docrag_session *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    docrag_engine_opts o;
    docrag_error err;
    f->dir = ts_tmpdir("api");
    f->db = rag_asprintf("%s/t.db", f->dir);
    f->notes = rag_asprintf("%s/notes.md", f->dir);
    f->cache = rag_asprintf("%s/cache.md", f->dir);
    ts_write_file(f->notes, notes_md, strlen(notes_md));
    docrag_engine_opts_init(&o);
    o.db_path = f->db;
    o.quiet = 1;
    if (docrag_engine_open(&f->e, &o, &err) != 0 || docrag_session_open(&f->s, f->e, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    docrag_session_close(f->s);
    docrag_engine_close(f->e);
    rag_free(f->db);
    rag_free(f->notes);
    rag_free(f->cache);
    rag_free(f->dir);
    free(f);
    return 0;
}

static json_t *must_json(char *s)
{
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    docrag_free(s);
    return o;
}

static json_t *index_paths(fixture *f, const char *p)
{
    const char *paths[1] = {p};
    docrag_error err;
    char *out = NULL;
    assert_int_equal(docrag_index(f->s, paths, 1, NULL, &out, &err), 0);
    return must_json(out);
}

static size_t n_results(docrag_session *s, const char *q, const docrag_search_opts *o)
{
    docrag_error err;
    char *out = NULL;
    json_t *j;
    size_t n;
    assert_int_equal(docrag_search(s, q, o, &out, &err), 0);
    j = must_json(out);
    n = json_array_size(json_object_get(j, "results"));
    json_decref(j);
    return n;
}

static void test_api__index_search_ask_round_trip(void **state)
{
    fixture *f = *state;
    docrag_error err;
    char *out = NULL;
    json_t *o, *d;

    o = index_paths(f, f->notes);
    assert_int_equal(json_integer_value(json_object_get(o, "added")), 1);
    d = json_array_get(json_object_get(o, "documents"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "action")), "added");
    assert_true(json_integer_value(json_object_get(d, "id")) > 0);
    json_decref(o);

    assert_int_equal(docrag_search(f->s, "mask register", NULL, &out, &err), 0);
    o = must_json(out);
    assert_true(json_array_size(json_object_get(o, "results")) >= 1);
    assert_non_null(strstr(json_string_value(json_object_get(
        json_array_get(json_object_get(o, "results"), 0), "text")), "v0"));
    json_decref(o);

    assert_int_equal(docrag_ask(f->s, "Which register holds the vector length?", NULL, &out,
                                &err), 0);
    o = must_json(out);
    assert_false(json_is_true(json_object_get(o, "refused")));
    assert_non_null(strstr(json_string_value(json_object_get(o, "answer")), "vl"));
    d = json_array_get(json_object_get(o, "citations"), 0);
    assert_non_null(json_object_get(d, "title"));
    /* each quoted sentence, with its citation and page; the gate's view */
    d = json_array_get(json_object_get(o, "sentences"), 0);
    assert_non_null(d);
    assert_non_null(strstr(json_string_value(json_object_get(o, "answer")),
                           json_string_value(json_object_get(d, "text"))));
    assert_int_equal(json_integer_value(json_object_get(d, "n")), 1);
    assert_true(json_integer_value(json_object_get(d, "page")) >= 1);
    d = json_object_get(o, "gate");
    assert_true(json_is_true(json_object_get(d, "relevant")));
    assert_true(json_real_value(json_object_get(d, "coverage")) >=
                json_real_value(json_object_get(d, "threshold")));
    assert_true(json_is_array(json_object_get(d, "missing")));
    json_decref(o);

    assert_int_equal(docrag_ask(f->s, "Who won the football world cup?", NULL, &out, &err), 0);
    o = must_json(out);
    assert_true(json_is_true(json_object_get(o, "refused")));
    assert_int_equal(json_array_size(json_object_get(o, "sentences")), 0);
    d = json_object_get(o, "gate");
    assert_false(json_is_true(json_object_get(d, "relevant")));
    assert_non_null(json_string_value(json_object_get(d, "reason")));
    assert_true(json_array_size(json_object_get(d, "missing")) >= 1);
    json_decref(o);
}

/* Regression (issue 13, defect 8): a name, path or query that is not valid
 * UTF-8 made json_pack fail ("s" refuses it): the hit vanished from search
 * JSON, the citation from the answer, the whole index report, and a query
 * came back as "out of memory". Every string now goes through
 * rag_render_str: invalid bytes become U+FFFD and nothing is dropped. */
static int has_fffd(const char *s)
{
    return s && strstr(s, "\xef\xbf\xbd") != NULL;
}

static void test_api__non_utf8_names_paths_and_queries_keep_their_json(void **state)
{
    fixture *f = *state;
    docrag_engine *e2 = NULL;
    docrag_session *s2 = NULL;
    docrag_engine_opts eo;
    docrag_error err;
    char *out = NULL, *sub, *bad, *bad_db;
    const char *paths[1];
    json_t *o, *docs, *r;
    size_t i, n_bad = 0;

    sub = rag_asprintf("%s/names", f->dir);
    bad = rag_asprintf("%s/bad\xff" "name.txt", sub);
    assert_int_equal(mkdir(sub, 0755), 0);
    {
        char *good = rag_asprintf("%s/good.txt", sub);
        ts_write_file(good, "zebrafish mcause one\n", 21);
        rag_free(good);
    }
    ts_write_file(bad, "zebrafish mcause two\n", 21);

    o = index_paths(f, sub);
    docs = json_object_get(o, "documents");
    assert_int_equal(json_array_size(docs), 2);
    json_array_foreach(docs, i, r) {
        if (!has_fffd(json_string_value(json_object_get(r, "path"))))
            continue;
        n_bad++;
        /* the id is looked up with the stored bytes, not the replaced ones */
        assert_true(json_integer_value(json_object_get(r, "id")) > 0);
    }
    assert_int_equal(n_bad, 1);
    json_decref(o);

    assert_int_equal(n_results(f->s, "zebrafish", NULL), 2);
    assert_int_equal(docrag_documents(f->s, &out, &err), 0);
    o = must_json(out);
    assert_int_equal(json_array_size(json_object_get(o, "documents")), 2);
    json_decref(o);

    assert_int_equal(docrag_ask(f->s, "zebrafish mcause two", NULL, &out, &err), 0);
    o = must_json(out);
    r = json_array_get(json_object_get(o, "citations"), 0);
    assert_non_null(r);
    assert_true(has_fffd(json_string_value(json_object_get(r, "doc"))));
    json_decref(o);

    /* a query with invalid bytes is searched with them replaced */
    assert_int_equal(docrag_search(f->s, "\xff zebrafish \xc0", NULL, &out, &err), 0);
    o = must_json(out);
    assert_string_equal(json_string_value(json_object_get(o, "query")),
                        "\xef\xbf\xbd zebrafish \xef\xbf\xbd");
    assert_int_equal(json_array_size(json_object_get(o, "results")), 2);
    json_decref(o);
    assert_int_equal(docrag_ask(f->s, "\xfe zebrafish two", NULL, &out, &err), 0);
    o = must_json(out);
    assert_true(has_fffd(json_string_value(json_object_get(o, "question"))));
    json_decref(o);

    /* a database path with invalid bytes: the report still comes back */
    bad_db = rag_asprintf("%s/x\xff.db", f->dir);
    docrag_engine_opts_init(&eo);
    eo.db_path = bad_db;
    eo.quiet = 1;
    assert_int_equal(docrag_engine_open(&e2, &eo, &err), 0);
    assert_int_equal(docrag_session_open(&s2, e2, &err), 0);
    paths[0] = sub;
    assert_int_equal(docrag_index(s2, paths, 1, NULL, &out, &err), 0);
    o = must_json(out);
    assert_true(has_fffd(json_string_value(json_object_get(o, "db"))));
    assert_int_equal(json_integer_value(json_object_get(o, "added")), 2);
    json_decref(o);
    assert_int_equal(docrag_stats(s2, &out, &err), 0);
    o = must_json(out);
    assert_true(has_fffd(json_string_value(json_object_get(o, "db"))));
    json_decref(o);
    assert_int_equal(docrag_engine_info(e2, &out, &err), 0);
    o = must_json(out);
    assert_true(has_fffd(json_string_value(json_object_get(o, "db"))));
    json_decref(o);
    docrag_session_close(s2);
    docrag_engine_close(e2);
    rag_free(bad_db);
    rag_free(bad);
    rag_free(sub);
}

static void test_api__bad_options_are_einval_naming_the_field(void **state)
{
    fixture *f = *state;
    docrag_search_opts o;
    docrag_error err;
    char *out = NULL;

    docrag_search_opts_init(&o);
    o.mode = "semantic";
    assert_int_equal(docrag_search(f->s, "vl", &o, &out, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "semantic"));
    docrag_search_opts_init(&o);
    o.k = 1001;
    assert_int_equal(docrag_search(f->s, "vl", &o, &out, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "k 1001"));
    docrag_search_opts_init(&o);
    o.page_min = 5;
    o.page_max = 2;
    assert_int_equal(docrag_search(f->s, "vl", &o, &out, &err), DOCRAG_EINVAL);
    assert_null(out);
}

static void test_api__doc_filter_matches_the_base_name(void **state)
{
    fixture *f = *state;
    docrag_search_opts o;
    json_decref(index_paths(f, f->dir));
    ts_write_file(f->cache, cache_md, strlen(cache_md));
    json_decref(index_paths(f, f->dir));
    docrag_search_opts_init(&o);
    o.doc = "cache.md";
    assert_int_equal(n_results(f->s, "register", &o), 0);
    assert_int_equal(n_results(f->s, "translation", &o), 1);
    o.doc = "notes.*";
    assert_int_equal(n_results(f->s, "register", &o), 1);
    assert_int_equal(n_results(f->s, "translation", &o), 0);
}

/* Streaming: sources arrive once, before any delta; a delta carries text. */
typedef struct {
    int n_sources, n_delta, delta_before_sources, stop_at_sources;
    char sources[4096];
    rag_buf text;
} stream_log;

static int log_sources(void *ctx, const char *json)
{
    stream_log *l = ctx;
    l->n_sources++;
    snprintf(l->sources, sizeof l->sources, "%s", json);
    return l->stop_at_sources;
}

static int log_delta(void *ctx, const char *text, size_t n)
{
    stream_log *l = ctx;
    if (!l->n_sources)
        l->delta_before_sources = 1;
    l->n_delta++;
    rag_buf_append(&l->text, text, n);
    return 0;
}

static void test_api__stream_sends_sources_before_any_delta(void **state)
{
    fixture *f = *state;
    stream_log l = {0};
    docrag_stream st = {log_sources, log_delta, NULL, NULL, &l};
    docrag_ask_opts o;
    docrag_error err;
    char *out = NULL;
    json_t *src, *ans;

    json_decref(index_paths(f, f->notes));
    docrag_ask_opts_init(&o);
    o.stream = &st;
    assert_int_equal(docrag_ask(f->s, "What does mask register v0 control?", &o, &out, &err), 0);
    ans = must_json(out);
    assert_int_equal(l.n_sources, 1);
    assert_false(l.delta_before_sources);
    assert_true(l.n_delta >= 1);
    /* the streamed text is the final answer */
    assert_string_equal(l.text.data, json_string_value(json_object_get(ans, "answer")));
    src = json_loads(l.sources, 0, NULL);
    assert_non_null(src);
    assert_true(json_array_size(json_object_get(src, "sources")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(src, "sources"), 0), "n")), 1);
    assert_non_null(json_object_get(json_array_get(json_object_get(src, "sources"), 0),
                                    "text"));
    json_decref(src);
    json_decref(ans);
    rag_buf_fini(&l.text);

    /* a nonzero return from on_sources cancels the answer */
    memset(&l, 0, sizeof l);
    l.stop_at_sources = 1;
    assert_int_equal(docrag_ask(f->s, "What does mask register v0 control?", &o, &out, &err),
                     DOCRAG_ECANCELLED);
    assert_int_equal(l.n_delta, 0);
    rag_buf_fini(&l.text);
}

static void test_api__documents_pages_chunks_and_delete(void **state)
{
    fixture *f = *state;
    docrag_session *s2 = NULL;
    docrag_error err;
    char *out = NULL, *path = NULL;
    json_t *o, *d;
    int64_t id, cid, found = 0;

    json_decref(index_paths(f, f->notes));
    /* a second session sees what the first wrote */
    assert_int_equal(docrag_session_open(&s2, f->e, &err), 0);
    assert_int_equal(docrag_documents(s2, &out, &err), 0);
    o = must_json(out);
    assert_int_equal(json_array_size(json_object_get(o, "documents")), 1);
    d = json_array_get(json_object_get(o, "documents"), 0);
    id = json_integer_value(json_object_get(d, "id"));
    assert_string_equal(json_string_value(json_object_get(d, "name")), "notes.md");
    assert_true(json_integer_value(json_object_get(d, "chunks")) >= 1);
    assert_int_equal(docrag_document_by_sha(s2, json_string_value(json_object_get(d, "sha256")),
                                            &found, &err), 1);
    assert_int_equal(found, id);
    json_decref(o);
    assert_int_equal(docrag_document_by_sha(s2, "00", &found, &err), 0);

    assert_int_equal(docrag_document_path(s2, id, &path, &err), 0);
    assert_non_null(strstr(path, "notes.md"));
    docrag_free(path);

    /* page 1 of a Markdown file is its whole text */
    assert_int_equal(docrag_page(s2, id, 1, &out, &err), 0);
    o = must_json(out);
    assert_non_null(strstr(json_string_value(json_object_get(o, "text")), "vector length register vl"));
    assert_non_null(strstr(json_string_value(json_object_get(o, "text")), "Mask register v0"));
    json_decref(o);
    assert_int_equal(docrag_page(s2, id, 9, &out, &err), DOCRAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no page 9"));
    assert_int_equal(docrag_document(s2, id + 100, &out, &err), DOCRAG_ENOTFOUND);

    assert_int_equal(docrag_search(s2, "mask", NULL, &out, &err), 0);
    o = must_json(out);
    /* ids leave the engine as strings of digits (past 2^53 for JavaScript) */
    assert_true(json_is_string(json_object_get(json_array_get(json_object_get(o, "results"), 0),
                                               "chunk_id")));
    cid = strtoll(json_string_value(json_object_get(
                      json_array_get(json_object_get(o, "results"), 0), "chunk_id")),
                  NULL, 10);
    assert_true(cid > 0);
    json_decref(o);
    assert_int_equal(docrag_chunk(s2, cid, &out, &err), 0);
    o = must_json(out);
    assert_int_equal(json_integer_value(json_object_get(o, "document_id")), id);
    json_decref(o);

    assert_int_equal(docrag_document_delete(f->s, id, &err), 0);
    assert_int_equal(n_results(s2, "mask", NULL), 0);
    assert_int_equal(docrag_document_delete(f->s, id, &err), DOCRAG_ENOTFOUND);
    docrag_session_close(s2);
}

/* Searches on their own sessions while another session indexes: every
 * search answers, and the new document is searchable once indexing
 * returns. Run under TSan in CI. */
typedef struct {
    docrag_engine *e;
    int n_ok, n_fail;
    volatile int *stop;
} searcher;

static void *search_loop(void *arg)
{
    searcher *sr = arg;
    docrag_session *s = NULL;
    docrag_error err;
    if (docrag_session_open(&s, sr->e, &err) != 0) {
        sr->n_fail++;
        return NULL;
    }
    for (int i = 0; i < 200 && (i < 20 || !__atomic_load_n(sr->stop, __ATOMIC_ACQUIRE)); i++) {
        char *out = NULL;
        if (docrag_search(s, i % 2 ? "register" : "translation", NULL, &out, &err) == 0) {
            sr->n_ok++;
        } else {
            sr->n_fail++;
            fprintf(stderr, "search %d failed: %s\n", i, err.msg);
        }
        docrag_free(out);
    }
    docrag_session_close(s);
    return NULL;
}

static void test_api__searches_go_on_while_another_session_indexes(void **state)
{
    fixture *f = *state;
    pthread_t th[3];
    searcher sr[3];
    volatile int stop = 0;

    json_decref(index_paths(f, f->notes));
    for (int i = 0; i < 3; i++) {
        sr[i] = (searcher){f->e, 0, 0, &stop};
        pthread_create(&th[i], NULL, search_loop, &sr[i]);
    }
    ts_write_file(f->cache, cache_md, strlen(cache_md));
    json_decref(index_paths(f, f->dir));
    assert_int_equal(n_results(f->s, "translation lookaside", NULL), 1);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(sr[i].n_fail, 0);
        assert_true(sr[i].n_ok > 0);
    }
}

static void test_api__read_only_engine_refuses_writes(void **state)
{
    fixture *f = *state;
    docrag_engine *ro = NULL;
    docrag_session *s = NULL;
    docrag_engine_opts o;
    docrag_error err;
    const char *paths[1] = {f->notes};

    json_decref(index_paths(f, f->notes));
    docrag_engine_opts_init(&o);
    o.db_path = f->db;
    o.read_only = 1;
    o.quiet = 1;
    assert_int_equal(docrag_engine_open(&ro, &o, &err), 0);
    assert_int_equal(docrag_session_open(&s, ro, &err), 0);
    assert_int_equal(n_results(s, "mask", NULL), 1);
    assert_int_equal(docrag_index(s, paths, 1, NULL, NULL, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "read-only"));
    docrag_session_close(s);
    docrag_engine_close(ro);
}

/* A SQLite engine's store: backend sqlite, always ready and reachable, the
 * file itself as the local copy; the shared job calls refuse, naming what
 * they need, and an index run given a job id fails before writing. */
static void test_api__sqlite_store_state_and_no_shared_jobs(void **state)
{
    fixture *f = *state;
    docrag_store_state st;
    docrag_index_opts io;
    docrag_job jb;
    docrag_error err;
    const char *paths[1] = {f->notes};
    char why[128] = "x", js[16];
    int64_t id = 0;
    int created = 0, attempts = 0;

    docrag_engine_store_state(f->e, &st);
    assert_string_equal(st.backend, "sqlite");
    assert_string_equal(st.endpoint, f->db);
    assert_string_equal(st.local_copy, f->db);
    assert_int_equal(st.reachable, 1);
    assert_int_equal(st.applied_seq, 0);
    assert_int_equal(docrag_engine_store_ready(f->e, why, sizeof why), 1);
    assert_string_equal(why, "");
    assert_int_equal(docrag_engine_shared_jobs(f->e), 0);
    assert_int_equal(docrag_job_enqueue(f->e, "k", "p", 1, &id, &created, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "postgres://"));
    assert_int_equal(docrag_job_claim(f->e, "me", 1000, &jb, &err), DOCRAG_EINVAL);
    assert_null(jb.payload);
    assert_int_equal(docrag_job_state(f->e, 1, js, &attempts, &err), DOCRAG_EINVAL);
    assert_int_equal(docrag_job_wait(f->e, 0, &err), DOCRAG_EINVAL);
    docrag_index_opts_init(&io);
    io.job_id = 7;
    io.job_owner = "me";
    assert_int_equal(docrag_index(f->s, paths, 1, &io, NULL, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "postgres://"));
    assert_int_equal(n_results(f->s, "mask", NULL), 0);   /* nothing was written */
}

/* An engine opened for writing on read-only storage (a Space's image
 * layer) serves reads instead of failing, and says why writes fail. As
 * root the storage is a read-only bind mount; otherwise file and folder
 * lose their write permission. */
static void test_api__engine_on_read_only_storage_serves_reads(void **state)
{
    fixture *f = *state;
    char *mnt = rag_asprintf("%s.ro", f->dir);
    char *db = NULL, cmd[2048];
    docrag_engine *ro = NULL;
    docrag_session *s = NULL;
    docrag_engine_opts o;
    docrag_error err;
    const char *paths[1] = {f->notes};
    int as_root = geteuid() == 0;

    json_decref(index_paths(f, f->notes));
    docrag_session_close(f->s);     /* checkpoint: no -wal left behind */
    docrag_engine_close(f->e);
    f->s = NULL;
    f->e = NULL;
    if (as_root) {
        assert_int_equal(mkdir(mnt, 0755), 0);
        snprintf(cmd, sizeof cmd, "mount --bind -o ro '%s' '%s' 2>/dev/null", f->dir, mnt);
        if (system(cmd) != 0) {
            rmdir(mnt);
            rag_free(mnt);
            skip();
        }
        db = rag_asprintf("%s/t.db", mnt);
    } else {
        db = rag_asprintf("%s", f->db);
        assert_int_equal(chmod(f->db, 0444), 0);
        assert_int_equal(chmod(f->dir, 0555), 0);
    }
    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.quiet = 1;
    if (docrag_engine_open(&ro, &o, &err) != 0)
        fail_msg("engine on read-only storage: %s", err.msg);
    assert_int_equal(docrag_session_open(&s, ro, &err), 0);
    assert_int_equal(n_results(s, "mask", NULL), 1);
    assert_int_equal(docrag_index(s, paths, 1, NULL, NULL, &err), DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "read-only storage"));
    docrag_session_close(s);
    docrag_engine_close(ro);
    if (as_root) {
        snprintf(cmd, sizeof cmd, "umount '%s'", mnt);
        assert_int_equal(system(cmd), 0);
        rmdir(mnt);
    } else {
        chmod(f->dir, 0755);
        chmod(f->db, 0644);
    }
    rag_free(db);
    rag_free(mnt);
}

/* A second engine stands for another process writing the same file: the
 * first engine's vectors follow after a refresh (what `docrag serve` does
 * once a second), and dense search then runs instead of falling back. */
static void test_api__vectors_written_elsewhere_appear_after_refresh(void **state)
{
    fixture *f = *state;
    docrag_engine *a = NULL, *b = NULL;
    docrag_session *sa = NULL, *sb = NULL;
    docrag_engine_opts o;
    docrag_search_opts so;
    docrag_error err;
    char *model = ts_src_path("tests/data/models/bi-encoder");
    char *set_model = rag_asprintf("backends.local.model=%s", model);
    const char *sets[] = {"chains.embed=local", "backends.local.type=local", set_model};
    char *db = rag_asprintf("%s/v.db", f->dir);
    const char *paths[1] = {f->notes};
    char *out = NULL;
    json_t *j;

    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.quiet = 1;
    o.sets = sets;
    o.n_sets = 3;
    assert_int_equal(docrag_engine_open(&a, &o, &err), 0);
    assert_int_equal(docrag_session_open(&sa, a, &err), 0);
    assert_int_equal(docrag_engine_open(&b, &o, &err), 0);
    assert_int_equal(docrag_session_open(&sb, b, &err), 0);
    docrag_search_opts_init(&so);
    so.mode = "dense";

    /* empty index: dense falls back to BM25 and says so */
    assert_int_equal(docrag_search(sa, "mask register", &so, &out, &err), 0);
    j = must_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "bm25");
    json_decref(j);

    assert_int_equal(docrag_index(sb, paths, 1, NULL, &out, &err), 0);
    j = must_json(out);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "embed"), "embedded")),
                     json_integer_value(json_object_get(j, "chunks")));
    json_decref(j);

    /* 1: the file changed since the last refresh; then nothing more */
    assert_int_equal(docrag_engine_refresh(a, &err), 1);
    assert_int_equal(docrag_engine_refresh(a, &err), 0);
    assert_int_equal(docrag_search(sa, "mask register", &so, &out, &err), 0);
    j = must_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "dense");
    assert_true(json_array_size(json_object_get(j, "results")) >= 1);
    json_decref(j);
    assert_int_equal(docrag_engine_info(a, &out, &err), 0);
    j = must_json(out);
    assert_true(json_integer_value(json_object_get(j, "vectors")) >= 1);
    assert_true(json_is_true(json_object_get(json_object_get(j, "dense"), "available")));
    json_decref(j);

    docrag_session_close(sa);
    docrag_session_close(sb);
    docrag_engine_close(a);
    docrag_engine_close(b);
    rag_free(db);
    rag_free(set_model);
    rag_free(model);
}

/* DOCRAG_OUT_PUBLIC: the same result with documents by base name and
 * reals at 6 digits; the last call's timings and refusal without a parse. */
static void test_api__public_output_and_last_call(void **state)
{
    fixture *f = *state;
    docrag_call_info info;
    docrag_error err;
    char *out = NULL;
    json_t *full, *pub, *h;
    const char *doc;
    long long chunk_id;
    int has_total = 0;

    json_decref(index_paths(f, f->notes));
    assert_int_equal(docrag_search(f->s, "mask register", NULL, &out, &err), 0);
    full = must_json(out);
    docrag_session_last_call(f->s, &info);
    assert_true(info.n_stages >= 2);
    for (size_t i = 0; i < info.n_stages; i++)
        if (!strcmp(info.stages[i].name, "total")) {
            has_total = 1;
            assert_true(info.stages[i].ms >= 0);
        }
    assert_true(has_total);
    assert_false(info.refused);
    doc = json_string_value(json_object_get(json_array_get(json_object_get(full, "results"), 0),
                                            "doc"));
    assert_string_equal(doc, f->notes);   /* the stored path */
    chunk_id = strtoll(json_string_value(json_object_get(
                           json_array_get(json_object_get(full, "results"), 0), "chunk_id")),
                       NULL, 10);

    docrag_session_set_output(f->s, DOCRAG_OUT_PUBLIC);
    assert_int_equal(docrag_search(f->s, "mask register", NULL, &out, &err), 0);
    assert_null(strstr(out, f->dir));      /* no path anywhere in the text */
    pub = must_json(out);
    h = json_array_get(json_object_get(pub, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "doc")), "notes.md");
    {   /* the same score, to 6 significant digits */
        char a[32], b[32];
        snprintf(a, sizeof a, "%.6g", json_real_value(json_object_get(
                     json_array_get(json_object_get(full, "results"), 0), "score")));
        snprintf(b, sizeof b, "%.6g", json_real_value(json_object_get(h, "score")));
        assert_string_equal(a, b);
    }
    assert_int_equal(json_array_size(json_object_get(pub, "results")),
                     json_array_size(json_object_get(full, "results")));
    json_decref(full);
    json_decref(pub);

    /* a refused answer says so in the last call */
    assert_int_equal(docrag_ask(f->s, "What is the boiling point of zebrafish milk?", NULL,
                                &out, &err), 0);
    pub = must_json(out);
    docrag_session_last_call(f->s, &info);
    assert_int_equal(info.refused, json_is_true(json_object_get(pub, "refused")));
    assert_true(info.refused);
    json_decref(pub);

    /* back to paths; a failing call leaves no stale figures */
    docrag_session_set_output(f->s, 0);
    assert_int_equal(docrag_chunk(f->s, chunk_id, &out, &err), 0);
    pub = must_json(out);
    assert_string_equal(json_string_value(json_object_get(pub, "doc")), f->notes);
    json_decref(pub);
    assert_int_equal(docrag_search(f->s, NULL, NULL, &out, &err), DOCRAG_EINVAL);
    docrag_session_last_call(f->s, &info);
    assert_int_equal(info.n_stages, 0);
    assert_false(info.refused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api__index_search_ask_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_api__non_utf8_names_paths_and_queries_keep_their_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api__bad_options_are_einval_naming_the_field,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_api__doc_filter_matches_the_base_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api__stream_sends_sources_before_any_delta,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_api__public_output_and_last_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api__documents_pages_chunks_and_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api__searches_go_on_while_another_session_indexes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_api__engine_on_read_only_storage_serves_reads,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_api__sqlite_store_state_and_no_shared_jobs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api__read_only_engine_refuses_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api__vectors_written_elsewhere_appear_after_refresh,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
