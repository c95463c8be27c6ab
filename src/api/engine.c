/* engine.c - the shared engine and the per-thread sessions (docrag.h).
 *
 * Opening loads everything once: config, index, the shared retriever
 * (embedder, vectors, reranker), the LLM chain and usage accounting; or
 * less, for a front end that needs less (docrag_engine_opts.scope: the
 * configuration alone, the index without models, the models without an
 * index; single_mode: a retriever for the one configured search mode).
 * Refreshing asks the store whether the index changed (its change_seq,
 * store.h: every committed change of documents, chunks, vectors or the
 * graph advances it, whichever process made it) and only then reloads the
 * vectors, so calling it often is cheap.
 *
 * A postgres:// db is served from a replica's local SQLite copy
 * (engine_replica.c): every connection below opens e->local_db, which is
 * the db itself for a SQLite file.
 */
#include "api_int.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_err(docrag_error *out, const rag_err *err)
{
    if (out) {
        out->code = err->code;
        memcpy(out->msg, err->msg, sizeof out->msg);
        out->msg[sizeof out->msg - 1] = '\0';
        if (!out->msg[0])
            snprintf(out->msg, sizeof out->msg, "%s", rag_status_name(err->code));
    }
    return err->code;
}

int api_take_json(json_t *o, char **out, rag_err *err)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(o);
    if (!s)
        return rag_fail(err, RAG_ENOMEM, "out of memory rendering JSON");
    *out = s;
    return RAG_OK;
}

/* s->last from a result's timings_ms and refused. */
static void record_call(docrag_session *s, const json_t *o)
{
    const json_t *t = json_object_get(o, "timings_ms");
    const char *k;
    json_t *v;
    memset(&s->last, 0, sizeof s->last);
    json_object_foreach((json_t *)t, k, v) {
        if (s->last.n_stages == sizeof s->last.stages / sizeof s->last.stages[0])
            break;
        snprintf(s->last.stages[s->last.n_stages].name,
                 sizeof s->last.stages[0].name, "%s", k);
        s->last.stages[s->last.n_stages++].ms = json_number_value(v);
    }
    s->last.refused = json_is_true(json_object_get(o, "refused"));
}

int api_session_json(docrag_session *s, json_t *o, int record, char **out, rag_err *err)
{
    char *text;
    if (o && record)
        record_call(s, o);
    if (!(s->out_flags & DOCRAG_OUT_PUBLIC))
        return api_take_json(o, out, err);
    rag_render_public_names(o);
    text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (!text)
        return rag_fail(err, RAG_ENOMEM, "out of memory rendering JSON");
    *out = text;
    return RAG_OK;
}

void docrag_session_set_output(docrag_session *s, unsigned flags)
{
    s->out_flags = flags & DOCRAG_OUT_PUBLIC;
}

void docrag_session_last_call(const docrag_session *s, docrag_call_info *out)
{
    *out = s->last;
}

const char *docrag_status_name(int code)
{
    return rag_status_name(code);
}

const char *docrag_version(void)
{
    return DOCRAG_VERSION_STRING;   /* the project version, from CMake */
}

void docrag_tune_process(void)
{
    rag_alloc_tune_process();
}

void docrag_free(void *p)
{
    free(p);
}

size_t docrag_visible(char *out, size_t n_out, const char *s)
{
    if (!out || n_out == 0)
        return 0;
    return rag_visible(out, n_out, s ? s : "");
}

void docrag_engine_opts_init(docrag_engine_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* The store's change sequence; -1 when it cannot be read. */
static int64_t data_version(rag_index *ix)
{
    rag_store *st = rag_index_store(ix);
    int64_t v = -1;
    if (st->ops->change_seq(st, &v, NULL) < 0)
        v = -1;
    return v;
}

/* Usage and budgets persist in the index file through a connection of
 * their own (rag_usage is called from every thread). A read-only engine
 * reads the recorded totals (so budgets and `stats` see earlier runs) and
 * meters in memory, unless write_usage; an engine without a database
 * meters in memory only. */
static int open_usage(docrag_engine *e, int write_usage, rag_err *err)
{
    if (e->scope == DOCRAG_SCOPE_ALL || e->scope == DOCRAG_SCOPE_INDEX) {
        unsigned flags = (!e->read_only || write_usage) && !e->read_only_storage
                             ? 0 : RAG_INDEX_READ_ONLY;
        int rc;
        if (e->replica)   /* one budget for every replica, in PostgreSQL */
            return rag_usage_open(&e->usage, api_store_usage(e), e->cfg, err);
        rc = rag_index_open(&e->usage_ix, e->local_db, flags, err);
        if (rc < 0) {
            rag_err_prefix(err, "cannot record usage");
            return rc;
        }
    }
    return rag_usage_open(&e->usage, e->usage_ix ? rag_index_store(e->usage_ix) : NULL,
                          e->cfg, err);
}

/* DOCRAG_SCOPE_MODELS: the embed and rerank chains without an index. A
 * chain that cannot be built leaves its reason (docrag_embed / docrag_rerank
 * report it); only out of memory fails. */
static int open_models(docrag_engine *e, rag_err *err)
{
    const rag_config *c = e->cfg;
    rag_embedder *emb = NULL;
    rag_reranker *rr = NULL;
    rag_err berr = {0};
    int rc;

    if (!rag_config_chain_active(c, c->chain_embed, c->n_chain_embed)) {
        snprintf(e->embed_reason, sizeof e->embed_reason,
                 "no embedder is configured (chains.embed)");
    } else if ((rc = rag_embedder_chain_create(&emb, c, e->usage, NULL, &berr)) < 0) {
        if (rc == RAG_ENOMEM)
            return rag_fail(err, rc, "%s", berr.msg);
        snprintf(e->embed_reason, sizeof e->embed_reason, "%s", berr.msg);
    } else if (rag_embedder_locked_create(&e->embedder, emb, err) < 0) {
        return RAG_ENOMEM;
    }
    if (!rag_config_chain_active(c, c->chain_rerank, c->n_chain_rerank)) {
        snprintf(e->rerank_reason, sizeof e->rerank_reason,
                 "no reranker is configured (chains.rerank)");
    } else if ((rc = rag_reranker_chain_create(&rr, c, e->usage, NULL, &berr)) < 0) {
        if (rc == RAG_ENOMEM)
            return rag_fail(err, rc, "%s", berr.msg);
        snprintf(e->rerank_reason, sizeof e->rerank_reason, "%s", berr.msg);
    } else if (rag_reranker_locked_create(&e->reranker, rr, err) < 0) {
        return RAG_ENOMEM;
    }
    return RAG_OK;
}

/* The index, usage, chain and retriever of DOCRAG_SCOPE_ALL / _INDEX. */
static int open_index(docrag_engine *e, const docrag_engine_opts *opts, rag_err *err)
{
    int rc;

    if (!e->read_only) {
        /* An index on read-only storage (a container's image layer) is
         * served for reading rather than not at all. */
        const char *why = rag_index_read_only_storage(e->local_db);
        if (why) {
            rag_log(RAG_LOG_WARN, "%s: %s: the index is open for reading only "
                    "(indexing and deletes are off)", e->local_db, why);
            e->read_only = 1;
            e->read_only_storage = 1;
            snprintf(e->read_only_why, sizeof e->read_only_why, "%s", why);
        }
    }
    /* on a replica's copy only the attached writer writes (api_writer_open) */
    if ((rc = rag_index_open(&e->ix, e->local_db,
                             e->read_only || e->replica ? RAG_INDEX_READ_ONLY : 0, err)) < 0 ||
        (rc = rag_index_open(&e->watch, e->local_db, RAG_INDEX_READ_ONLY, err)) < 0 ||
        (rc = open_usage(e, opts->write_usage, err)) < 0)
        return rc;
    if (e->scope == DOCRAG_SCOPE_INDEX)
        return RAG_OK;
    if ((rc = rag_llm_chain_create(&e->chain, e->cfg, NULL, err)) < 0)
        return rc;
    if (e->single_mode)
        return rag_retriever_open(&e->retriever, e->ix, e->cfg, e->mode, e->usage, err);
    return rag_retriever_open_shared(&e->retriever, e->ix, e->cfg, e->usage, err);
}

int docrag_engine_open(docrag_engine **out, const docrag_engine_opts *opts,
                       docrag_error *derr)
{
    docrag_engine_opts none;
    rag_config_source src;
    rag_err err = {0};
    docrag_engine *e;
    const char **sets = NULL;
    char *db_set = NULL;
    int m, rc;

    *out = NULL;
    if (!opts) {
        docrag_engine_opts_init(&none);
        opts = &none;
    }
    if (opts->scope < DOCRAG_SCOPE_ALL || opts->scope > DOCRAG_SCOPE_MODELS) {
        rag_fail(&err, RAG_EINVAL, "scope %d: expected a DOCRAG_SCOPE_* value", opts->scope);
        return api_err(derr, &err);
    }
    if (opts->quiet)
        rag_log_set_level(RAG_LOG_ERROR);
    else if (opts->verbose)
        rag_log_set_level(RAG_LOG_DEBUG);
    memset(&src, 0, sizeof src);
    src.config_path = opts->config_path;
    src.profile = opts->profile;
    src.sets = opts->sets;
    src.n_sets = opts->n_sets;
    /* the database as the last --set: it wins over a "db=" set and shows
     * as a command-line value in `config show` */
    if (opts->db_path) {
        sets = rag_calloc(opts->n_sets + 1, sizeof *sets);
        db_set = rag_asprintf("db=%s", opts->db_path);
        if (!sets || !db_set) {
            rag_free(sets);
            rag_free(db_set);
            return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
        }
        for (size_t i = 0; i < opts->n_sets; i++)
            sets[i] = opts->sets[i];
        sets[opts->n_sets] = db_set;
        src.sets = sets;
        src.n_sets = opts->n_sets + 1;
    }
    e = rag_calloc(1, sizeof *e);
    if (!e) {
        rag_free(sets);
        rag_free(db_set);
        rag_fail(&err, RAG_ENOMEM, "out of memory");
        return api_err(derr, &err);
    }
    pthread_mutex_init(&e->write_mu, NULL);
    pthread_mutex_init(&e->refresh_mu, NULL);
    pthread_mutex_init(&e->jobs_mu, NULL);
    e->scope = opts->scope;
    e->read_only = opts->read_only;
    e->single_mode = opts->single_mode;
    rc = rag_config_load(&e->cfg, &src, &err);
    rag_free(sets);
    rag_free(db_set);
    if (rc < 0)
        goto fail;
    if (!opts->quiet && !opts->verbose && e->cfg->log_level) {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(e->cfg->log_level, names[i]))
                rag_log_set_level((rag_log_level)i);
    }
    m = rag_search_mode_parse(e->cfg->search_mode);
    e->mode = m < 0 ? RAG_MODE_BM25 : (rag_search_mode)m;
    if (e->scope == DOCRAG_SCOPE_MODELS) {
        if (rag_usage_open(&e->usage, NULL, e->cfg, &err) < 0 || open_models(e, &err) < 0)
            goto fail;
    } else if (e->scope != DOCRAG_SCOPE_CONFIG) {
        /* a postgres:// db: a replica, its local copy opened below as the
         * SQLite file would be (engine_replica.c) */
        if (api_store_open(e, &err) < 0 || open_index(e, opts, &err) < 0)
            goto fail;
        e->data_version = data_version(e->watch);
    }
    *out = e;
    return DOCRAG_OK;
fail:
    docrag_engine_close(e);
    return api_err(derr, &err);
}

void docrag_engine_close(docrag_engine *e)
{
    if (!e)
        return;
    api_store_stop(e);
    rag_retriever_destroy(e->retriever);
    rag_embedder_destroy(e->embedder);
    rag_reranker_destroy(e->reranker);
    rag_llm_chain_destroy(e->chain);
    rag_usage_close(e->usage);
    rag_index_close(e->usage_ix);
    rag_index_close(e->watch);
    rag_index_close(e->ix);
    api_store_close(e);   /* last: nothing on its copy is open any more */
    rag_config_destroy(e->cfg);
    pthread_mutex_destroy(&e->write_mu);
    pthread_mutex_destroy(&e->refresh_mu);
    pthread_mutex_destroy(&e->jobs_mu);
    rag_free(e);
}

int api_need(const docrag_engine *e, int scope, rag_err *err)
{
    static const char *const what[] = {"everything", "its configuration", "its index",
                                       "its models"};
    int ok = e->scope == DOCRAG_SCOPE_ALL ||
             (scope == DOCRAG_SCOPE_INDEX && e->scope == DOCRAG_SCOPE_INDEX);
    if (ok)
        return RAG_OK;
    return rag_fail(err, RAG_EINVAL, "the engine was opened for %s only "
                    "(docrag_engine_opts.scope)", what[e->scope]);
}

rag_embedder *api_embedder(docrag_engine *e)
{
    return e->retriever ? rag_retriever_embedder(e->retriever) : e->embedder;
}

rag_reranker *api_reranker(docrag_engine *e)
{
    return e->retriever ? rag_retriever_reranker(e->retriever) : e->reranker;
}

int api_refresh(docrag_engine *e, int force, rag_err *err)
{
    int64_t v;
    int rc = RAG_OK;

    if (!e->retriever)
        return RAG_OK;   /* no vectors in memory to follow the file */
    pthread_mutex_lock(&e->refresh_mu);
    v = data_version(e->watch);
    if (force || v != e->data_version) {
        rc = rag_retriever_reload_vectors(e->retriever, err);
        if (rc == RAG_OK) {
            e->data_version = v;
            atomic_fetch_add(&e->generation, 1);
            rc = 1;
        }
    }
    pthread_mutex_unlock(&e->refresh_mu);
    return rc;
}

uint64_t docrag_engine_generation(docrag_engine *e)
{
    return atomic_load(&e->generation);
}

/* At most once a second: flush this process's usage and read back what
 * every process sharing the store (replicas on one PostgreSQL, processes
 * on one file) has spent, so a monthly budget is one budget for all of
 * them; it can be overrun by what the others spent in the last second. */
static void sync_usage(docrag_engine *e)
{
    int64_t now = (int64_t)rag_now_ms(), last = atomic_load(&e->usage_synced_ms);
    rag_err err = {0};

    if (!e->usage || now - last < 1000 ||
        !atomic_compare_exchange_strong(&e->usage_synced_ms, &last, now))
        return;
    if (rag_usage_sync(e->usage, &err) < 0) {
        if (!atomic_exchange(&e->usage_sync_failing, 1))
            rag_log(RAG_LOG_WARN, "usage: cannot share totals with the store (kept here, "
                    "flushed when it answers): %s", err.msg);
    } else if (atomic_exchange(&e->usage_sync_failing, 0)) {
        rag_log(RAG_LOG_INFO, "usage: totals shared with the store again");
    }
}

int docrag_engine_refresh(docrag_engine *e, docrag_error *derr)
{
    rag_err err = {0};
    int rc;
    api_store_follow_start(e);   /* a front end that refreshes lives long */
    sync_usage(e);
    rc = api_refresh(e, 0, &err);
    if (rc < 0)
        return api_err(derr, &err);
    return rc;
}

/* {"NAME": "closed" | "open" | "half-open"} for the members with an HTTP
 * endpoint (the circuit breaker each call consults) of one chain. */
static json_t *members_breakers(const rag_chain_member *m, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (m[i].ep)
            json_object_set_new(o, m[i].name, json_string(rag_net_breaker_state_name(
                                                  rag_net_endpoint_breaker(m[i].ep))));
    return o;
}

/* {"llm": {...}, "embed": {...}, "rerank": {...}}: the breakers of each
 * stage's chain (members_breakers); emb and rr may be NULL. */
static json_t *breakers_json(const rag_llm_chain *c, const rag_embedder *emb,
                             const rag_reranker *rr)
{
    const rag_chain_member *em, *rm;
    size_t n_em = emb ? rag_embedder_members(emb, &em) : 0;
    size_t n_rm = rr ? rag_reranker_members(rr, &rm) : 0;
    json_t *llm = json_object();

    for (size_t i = 0; llm && i < rag_llm_chain_size(c); i++) {
        const rag_llm_entry *en = rag_llm_chain_get(c, i);
        if (en->llm && en->llm->ep)
            json_object_set_new(llm, en->name, json_string(rag_net_breaker_state_name(
                                                   rag_net_endpoint_breaker(en->llm->ep))));
    }
    return json_pack("{s:o*,s:o*,s:o*}", "llm", llm, "embed",
                     members_breakers(n_em ? em : NULL, n_em), "rerank",
                     members_breakers(n_rm ? rm : NULL, n_rm));
}

static json_t *chain_json(const rag_llm_chain *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < rag_llm_chain_size(c); i++)
        json_array_append_new(a, rag_render_str(rag_llm_chain_get(c, i)->name));
    return a;
}

int docrag_engine_info(docrag_engine *e, char **out, docrag_error *derr)
{
    rag_index_stats st;
    rag_err err = {0};
    char reason[256];
    rag_embedder *emb = rag_retriever_embedder(e->retriever);
    rag_reranker *rr = rag_retriever_reranker(e->retriever);
    int dense;
    json_t *o;

    if (api_need(e, DOCRAG_SCOPE_ALL, &err) < 0)
        return api_err(derr, &err);
    pthread_mutex_lock(&e->refresh_mu);
    if (rag_index_counts_get(e->watch, &st, &err) < 0) {
        pthread_mutex_unlock(&e->refresh_mu);
        return api_err(derr, &err);
    }
    pthread_mutex_unlock(&e->refresh_mu);
    dense = rag_retriever_dense_state(e->retriever, reason, sizeof reason);
    o = json_pack("{s:o,s:o,s:I,s:I,s:I,s:I,s:b}", "db", rag_render_str(e->db_shown),
                  "profile", rag_render_str(e->cfg->profile ? e->cfg->profile : "local"),
                  "documents",
                  (json_int_t)st.n_documents, "chunks", (json_int_t)st.n_chunks, "pages",
                  (json_int_t)st.n_pages, "vectors",
                  (json_int_t)rag_retriever_n_vectors(e->retriever), "read_only",
                  e->read_only);
    if (o) {
        json_t *d = json_pack("{s:b,s:o,s:I}", "available", dense, "model",
                              rag_render_str_or_null(emb ? rag_embedder_model_id(emb) : NULL),
                              "dim",
                              (json_int_t)(emb ? rag_embedder_dim(emb) : 0));
        if (d && !dense)
            json_object_set_new(d, "reason", rag_render_str(reason));
        json_object_set_new(o, "dense", d);
        json_object_set_new(o, "rerank",
                            json_pack("{s:b,s:o}", "available",
                                      rag_retriever_has_rerank(e->retriever), "model",
                                      rag_render_str_or_null(rr ? rag_reranker_model_id(rr)
                                                                : NULL)));
        json_object_set_new(o, "breakers", breakers_json(e->chain, emb, rr));
        json_object_set_new(o, "llm", json_pack("{s:o,s:b}", "chain", chain_json(e->chain),
                                                "extractive_only",
                                                rag_llm_chain_extractive_only(e->chain)));
        json_object_set_new(o, "search_mode", json_string(rag_search_mode_name(e->mode)));
    }
    if (api_take_json(o, out, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

int docrag_engine_config(docrag_engine *e, char **out, docrag_error *derr)
{
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    if (rag_config_show_ex(&b, e->cfg, RAG_CONFIG_SHOW_JSON) < 0 || !(*out = strdup(b.data ? b.data : "{}"))) {
        rag_buf_fini(&b);
        rag_fail(&err, RAG_ENOMEM, "out of memory");
        return api_err(derr, &err);
    }
    rag_buf_fini(&b);
    return DOCRAG_OK;
}

int docrag_engine_config_show(docrag_engine *e, unsigned flags, char **out,
                              docrag_error *derr)
{
    rag_buf b = RAG_BUF_INIT;
    unsigned f = 0;

    *out = NULL;
    if (flags & DOCRAG_CONFIG_JSON)
        f |= RAG_CONFIG_SHOW_JSON;
    if (flags & DOCRAG_CONFIG_ORIGIN)
        f |= RAG_CONFIG_SHOW_ORIGIN;
    if (rag_config_show_ex(&b, e->cfg, f) < 0 ||
        !(*out = strdup(b.data ? b.data : ""))) {
        rag_buf_fini(&b);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    rag_buf_fini(&b);
    return DOCRAG_OK;
}

const char *docrag_engine_db_path(docrag_engine *e)
{
    /* a postgres:// db by its endpoint: the URL may carry a password */
    return e->db_shown ? e->db_shown : e->cfg->db_path;
}

int docrag_engine_usage(docrag_engine *e, char **out, docrag_error *derr)
{
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    if (!e->usage)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the engine was opened for its "
                                        "configuration only (docrag_engine_opts.scope)"});
    if (rag_usage_json(e->usage, &b, &err) < 0) {
        rag_buf_fini(&b);
        return api_err(derr, &err);
    }
    *out = strdup(b.data ? b.data : "{}");
    rag_buf_fini(&b);
    if (!*out) {
        rag_fail(&err, RAG_ENOMEM, "out of memory");
        return api_err(derr, &err);
    }
    return DOCRAG_OK;
}

void docrag_engine_server_config(docrag_engine *e, docrag_server_config *out)
{
    const rag_config *c = e->cfg;
    memset(out, 0, sizeof *out);
    out->profile = c->profile ? c->profile : "local";
    out->db_path = c->db_path;
    out->host = c->server_host;
    out->port = c->server_port;
    out->workers = c->server_workers;
    out->max_queue = c->server_max_queue;
    out->stream_workers = c->server_stream_workers;
    out->max_json_body = c->server_max_json_body;
    out->max_upload = c->server_max_upload;
    out->max_header_bytes = c->server_max_header_bytes;
    out->timeout_s = c->server_timeout_s;
    out->rate_limit = c->server_rate_limit;
    out->rate_burst = c->server_rate_burst;
    out->anonymous_read = c->server_anonymous && !strcmp(c->server_anonymous, "read");
    out->keys = (const char *const *)c->server_keys;
    out->n_keys = c->n_server_keys;
    out->cors_origins = (const char *const *)c->server_cors_origins;
    out->n_cors_origins = c->n_server_cors_origins;
    out->metrics_public = c->server_metrics_public;
    out->collections = (const char *const *)c->server_collections;
    out->n_collections = c->n_server_collections;
    out->upload_dir = c->server_upload_dir && *c->server_upload_dir ? c->server_upload_dir
                                                                     : NULL;
    out->shutdown_grace_ms = c->server_shutdown_grace_ms;
    out->job_lease_ms = c->server_job_lease_ms;
    out->max_batch = c->server_max_batch;
    out->sse_ping_s = c->server_sse_ping_s;
    out->access_log = c->server_access_log;
}

int docrag_session_open(docrag_session **out, docrag_engine *e, docrag_error *derr)
{
    rag_err err = {0};
    docrag_session *s;

    *out = NULL;
    if (api_need(e, DOCRAG_SCOPE_INDEX, &err) < 0)
        return api_err(derr, &err);
    s = rag_calloc(1, sizeof *s);
    if (!s) {
        rag_fail(&err, RAG_ENOMEM, "out of memory");
        return api_err(derr, &err);
    }
    s->e = e;
    if (rag_index_open(&s->ix, e->local_db, RAG_INDEX_READ_ONLY, &err) < 0) {
        rag_free(s);
        return api_err(derr, &err);
    }
    *out = s;
    return DOCRAG_OK;
}

void docrag_session_close(docrag_session *s)
{
    if (!s)
        return;
    rag_index_close(s->ix);
    rag_free(s);
}

/* ---- logging ----------------------------------------------------------------- */

/* The public sink behind rag_log_set; set before threads start (docrag.h),
 * like the internal one it feeds. */
static struct {
    docrag_log_fn fn;
    void *ctx;
} log_sink;

static void log_to_public(rag_log_level level, const char *msg, void *userdata)
{
    (void)userdata;
    log_sink.fn(log_sink.ctx, (int)level, msg);
}

void docrag_log_set(docrag_log_fn fn, void *ctx)
{
    log_sink.fn = fn;
    log_sink.ctx = ctx;
    rag_log_set(fn ? log_to_public : NULL, NULL);
}

void docrag_log_set_level(int level)
{
    if (level < DOCRAG_LOG_DEBUG)
        level = DOCRAG_LOG_DEBUG;
    if (level > DOCRAG_LOG_ERROR)
        level = DOCRAG_LOG_ERROR;
    rag_log_set_level((rag_log_level)level);
}
