/* api_index.c - writes through the engine: docrag_index (files, embedding
 * pass, chunk graph) and docrag_document_delete.
 *
 * One writer at a time: each write holds the engine's write_mu and opens a
 * writer connection for its duration (readers keep reading the last
 * committed state meanwhile: WAL). The embedding pass uses the engine's own
 * embedder (the shared, locked one), so indexing and dense queries share
 * one model copy, batch by batch. After the write the engine's vectors are
 * refreshed, so every session sees the change.
 */
#include "api_int.h"
#include "render.h"

#include "embed/embed_index.h"
#include "index/replica.h"
#include "retrieve/graph.h"

#include <stdio.h>
#include <string.h>

void docrag_index_opts_init(docrag_index_opts *o)
{
    memset(o, 0, sizeof *o);
}

typedef struct {
    const docrag_index_opts *o;
    json_t *errors;      /* [{"path","error"}] */
    json_t *docs;        /* [{"path","action"}], ids filled in afterwards */
    char **paths;        /* docs[i]'s path as stored (any bytes; the JSON one
                            has U+FFFD for invalid UTF-8), for fill_ids */
    size_t n_paths, cap_paths;
    int oom;             /* an entry could not be recorded */
} index_ctx;

static void on_file(void *ctx, const char *path, const char *action, size_t n_done,
                    size_t n_total)
{
    index_ctx *c = ctx;
    char *raw = rag_strdup(path);
    if (c->n_paths == c->cap_paths) {
        size_t nc = c->cap_paths ? c->cap_paths * 2 : 64;
        char **np = rag_realloc(c->paths, nc * sizeof *np);
        if (np) {
            c->paths = np;
            c->cap_paths = nc;
        }
    }
    if (!raw || c->n_paths == c->cap_paths ||
        json_array_append_new(c->docs, json_pack("{s:o,s:o}", "path", rag_render_str(path),
                                                 "action", rag_render_str(action))) < 0) {
        rag_free(raw);
        c->oom = 1;
    } else {
        c->paths[c->n_paths++] = raw;
    }
    if (c->o->on_progress)
        c->o->on_progress(c->o->ctx, "file", path, action, n_done, n_total);
}

static void on_error(void *ctx, const char *path, const rag_err *err)
{
    index_ctx *c = ctx;
    const char *msg = err->msg[0] ? err->msg : rag_status_name(err->code);
    if (json_array_append_new(c->errors, json_pack("{s:o,s:o}", "path", rag_render_str(path),
                                                   "error", rag_render_str(msg))) < 0)
        c->oom = 1;
    if (c->o->on_error)
        c->o->on_error(c->o->ctx, path, msg);
}

static void on_embed_progress(void *ctx, size_t n_done, size_t n_total)
{
    index_ctx *c = ctx;
    if (c->o->on_progress)
        c->o->on_progress(c->o->ctx, "embed", NULL, NULL, n_done, n_total);
}

/* Vectors for every chunk without one, with the engine's embedder. NULL
 * when no embedder is configured (nothing to do, nothing to say). */
static json_t *embed_pass(docrag_engine *e, rag_index *w, index_ctx *c)
{
    rag_embedder *emb = rag_retriever_embedder(e->retriever);
    rag_embed_index_opts opts = rag_embed_index_opts_from_config(e->cfg);
    rag_embed_report r;
    rag_err err = {0};
    size_t looked;
    int failed;
    json_t *o;

    if (!emb) {
        /* configured but not buildable (a missing model folder, a disabled
         * back-end): a warning once per index and reason (kept in meta
         * "embed_warning"), a debug line (-v) on later runs; not
         * configured: nothing to say */
        char why[256], before[256];
        const char *p = why;
        rag_err merr = {0};
        int seen;
        if (!rag_config_chain_active(e->cfg, e->cfg->chain_embed, e->cfg->n_chain_embed))
            return NULL;
        rag_retriever_dense_state(e->retriever, why, sizeof why);
        if (!strncmp(p, "needs an embedder: ", 19))
            p += 19;
        seen = rag_index_meta_get(w, "embed_warning", before, sizeof before, &merr) == 1 &&
               !strcmp(before, p);
        rag_log(seen ? RAG_LOG_DEBUG : RAG_LOG_WARN, "chunks not embedded: %s; dense and "
                "hybrid search will fall back to BM25%s", p,
                seen ? "" : " (said once for this index; -v repeats it)");
        if (!seen && rag_index_meta_set(w, "embed_warning", p, &merr) < 0)
            rag_log(RAG_LOG_DEBUG, "embed warning not recorded: %s", merr.msg);
        return NULL;
    }
    opts.progress = on_embed_progress;
    opts.ctx = c;
    failed = rag_embed_index(w, emb, &opts, &r, &err) < 0;
    if (failed)
        rag_log(RAG_LOG_WARN, "embedding stopped (finished batches kept; run again to "
                "resume): %s", err.msg);
    looked = r.n_cached + r.n_embedded;
    o = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:b,s:o}", "model",
                  rag_render_str(r.model),
                  "dim", (json_int_t)r.dim, "chunks", (json_int_t)r.n_chunks, "embedded",
                  (json_int_t)r.n_embedded, "cached", (json_int_t)r.n_cached, "kept",
                  (json_int_t)r.n_present, "removed", (json_int_t)r.n_removed,
                  "cache_hit_rate", looked ? (double)r.n_cached / (double)looked : 0.0,
                  "seconds", r.seconds, "failed", failed, "previous_model",
                  rag_render_str_or_null(r.prev_model[0] ? r.prev_model : NULL));
    if (o && failed)
        json_object_set_new(o, "error", rag_render_str(err.msg));
    return o;
}

/* The chunk graph, only when graph boosting is on; on failure it is
 * dropped, so search runs without the boost rather than on a stale graph. */
static void graph_pass(docrag_engine *e, rag_index *w, index_ctx *c)
{
    rag_graph_report rep;
    rag_err err = {0};

    if (e->cfg->search_graph_boost <= 0)
        return;
    if (c->o->on_progress)
        c->o->on_progress(c->o->ctx, "graph", NULL, NULL, 0, 1);
    if (rag_graph_build(w, NULL, &rep, &err) < 0) {
        rag_log(RAG_LOG_WARN, "chunk graph not built: %s", err.msg);
        rag_graph_drop(w, NULL);
    } else if (!rep.skipped) {
        rag_log(RAG_LOG_INFO, "graph: %lld chunks, %lld edges in %.2f s",
                (long long)rep.n_nodes, (long long)rep.n_edges, rep.seconds);
    }
    if (c->o->on_progress)
        c->o->on_progress(c->o->ctx, "graph", NULL, NULL, 1, 1);
}

/* The document id of each file the run touched (removed and failed files
 * have none: id null). */
static int fill_ids(rag_index *w, json_t *docs, char *const *paths, rag_err *err)
{
    rag_store *st = rag_index_store(w);
    size_t i;
    json_t *d;

    json_array_foreach(docs, i, d) {
        int64_t id = 0;
        int rc = st->ops->doc_id(st, paths[i], &id, err);
        if (rc < 0)
            return rc;
        json_object_set_new(d, "id", rc ? json_integer(id) : json_null());
    }
    return RAG_OK;
}

/* A shared job's completion rides on the run's first write-through commit
 * (the document's), so the document and the job's end are one PostgreSQL
 * transaction: a worker whose lease was taken over has its write rolled
 * back (replica.h) and the document is written once. */
static int job_arm(docrag_engine *e, const docrag_index_opts *o, rag_err *err)
{
    if (!e->replica)
        return rag_fail(err, RAG_EINVAL, "%s: a shared job needs a postgres:// db",
                        e->db_shown);
    return rag_replica_job_complete_on_commit(e->replica, o->job_id,
                                              o->job_owner ? o->job_owner : "", err);
}

/* After the run. Done (the document's commit carried it): nothing to do.
 * Nothing had to be written (the document was there, unchanged): no
 * transaction ran and the completion is still registered; commit it on its
 * own, with a meta row (not empty). A file that failed: the job is its
 * caller's to give back (docrag_job_fail: retried, then failed), and an
 * empty transaction rolled back drops the registration, which would
 * otherwise ride on the writer's next commit (the engine's writer stays
 * attached; a transaction's end clears it, and so does detaching). */
static int job_settle(docrag_engine *e, rag_index *w, const docrag_index_opts *o,
                      const rag_indexer_report *rep, rag_err *err)
{
    char state[16], id[32];
    int attempts, rc;

    pthread_mutex_lock(&e->jobs_mu);
    rc = rag_replica_job_state(e->replica, o->job_id, state, &attempts, err);
    pthread_mutex_unlock(&e->jobs_mu);
    if (rc < 0 || !strcmp(state, "done"))
        return rc;
    if ((rc = rag_index_begin(w, err)) < 0)
        return rc;
    if (rep->n_failed > 0) {
        rag_index_rollback(w);
        return RAG_OK;
    }
    snprintf(id, sizeof id, "%lld", (long long)o->job_id);
    if ((rc = rag_index_meta_set(w, "last_job", id, err)) < 0) {
        rag_index_rollback(w);
        return rc;
    }
    return rag_index_commit(w, err);
}

int docrag_index(docrag_session *s, const char *const *paths, size_t n_paths,
                 const docrag_index_opts *o, char **report, docrag_error *derr)
{
    docrag_engine *e = s->e;
    docrag_index_opts none;
    rag_indexer_opts io = rag_indexer_opts_from_config(e->cfg);
    rag_indexer_report rep;
    rag_index *w = NULL;
    rag_err err = {0};
    index_ctx c;
    rag_indexer_events ev = {on_file, on_error, &c};
    json_t *emb = NULL, *out;
    int rc;

    if (!o) {
        docrag_index_opts_init(&none);
        o = &none;
    }
    if (api_need(e, DOCRAG_SCOPE_ALL, &err) < 0)
        return api_err(derr, &err);
    if (e->read_only) {
        if (e->read_only_storage)
            rag_fail(&err, RAG_EINVAL, "%s: cannot write the index here: %s (read-only storage)",
                     e->db_shown, e->read_only_why);
        else
            rag_fail(&err, RAG_EINVAL, "%s: the index is open read-only", e->db_shown);
        return api_err(derr, &err);
    }
    if (e->single_mode)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the engine was opened with single_mode:"
                                        " it cannot index"});
    memset(&c, 0, sizeof c);
    c.o = o;
    c.errors = json_array();
    c.docs = json_array();
    if (!c.errors || !c.docs) {
        json_decref(c.errors);
        json_decref(c.docs);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    io.remove_vanished = !o->keep_vanished;
    pthread_mutex_lock(&e->write_mu);
    rc = api_writer_open(e, &w, &err);
    if (rc == RAG_OK && o->job_id)
        rc = job_arm(e, o, &err);
    if (rc == RAG_OK)
        rc = rag_indexer_run(w, paths, n_paths, &io, &ev, &rep, &err);
    if (rc == RAG_OK && o->job_id)
        rc = job_settle(e, w, o, &rep, &err);
    if (rc == RAG_OK && !o->no_embed)
        emb = embed_pass(e, w, &c);
    if (rc == RAG_OK)
        graph_pass(e, w, &c);
    if (rc == RAG_OK && c.oom)
        rc = rag_fail(&err, RAG_ENOMEM, "out of memory recording the report");
    if (rc == RAG_OK)
        rc = fill_ids(w, c.docs, c.paths, &err);
    rag_index_close(w);
    pthread_mutex_unlock(&e->write_mu);
    for (size_t i = 0; i < c.n_paths; i++)
        rag_free(c.paths[i]);
    rag_free(c.paths);
    if (rc == RAG_OK && (rc = api_refresh(e, 1, &err)) > 0)
        rc = RAG_OK;
    if (rc < 0) {
        json_decref(c.errors);
        json_decref(c.docs);
        json_decref(emb);
        return api_err(derr, &err);
    }
    out = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:o}", "db",
                    rag_render_str(e->db_shown), "files", (json_int_t)rep.n_seen, "added",
                    (json_int_t)rep.n_added, "updated", (json_int_t)rep.n_updated,
                    "unchanged", (json_int_t)rep.n_unchanged, "removed",
                    (json_int_t)rep.n_removed, "failed", (json_int_t)rep.n_failed,
                    "chunks", (json_int_t)rep.n_chunks, "pages", (json_int_t)rep.n_pages,
                    "seconds", rep.seconds, "errors", c.errors, "documents", c.docs);
    if (out && emb)
        json_object_set_new(out, "embed", emb);
    else
        json_decref(emb);
    if (!report) {
        json_decref(out);
        return DOCRAG_OK;
    }
    if (api_take_json(out, report, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

int docrag_document_delete(docrag_session *s, int64_t doc_id, docrag_error *derr)
{
    docrag_engine *e = s->e;
    rag_index *w = NULL;
    rag_err err = {0};
    char *path = NULL;
    int rc;

    if (api_need(e, DOCRAG_SCOPE_INDEX, &err) < 0)
        return api_err(derr, &err);
    if (e->read_only)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the index is open read-only"});
    pthread_mutex_lock(&e->write_mu);
    rc = api_writer_open(e, &w, &err);
    if (rc == RAG_OK) {
        rag_store *st = rag_index_store(w);
        rc = st->ops->doc_path(st, doc_id, &path, &err);
        if (rc == 0)
            rc = rag_fail(&err, RAG_ENOTFOUND, "document %lld not found", (long long)doc_id);
        else if (rc > 0)
            rc = RAG_OK;
    }
    if (rc == RAG_OK)
        rc = rag_index_remove_doc(w, path, &err);
    rag_index_close(w);
    pthread_mutex_unlock(&e->write_mu);
    rag_free(path);
    if (rc == RAG_OK && (rc = api_refresh(e, 1, &err)) > 0)
        rc = RAG_OK;
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}
