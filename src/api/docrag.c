/* docrag.c - the public API (include/docrag.h) over the library modules. */
#include "docrag.h"

#include "config/config.h"
#include "generate/generate.h"
#include "llm/llm.h"
#include "obs/obs.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

struct docrag {
    rag_config *cfg;
    rag_index *ix;
    rag_llm_chain *chain;   /* chains.llm; extractive-only by default */
    rag_usage *usage;       /* usage and budgets, in the index file */
    rag_retriever *retriever; /* search.mode's pipeline: embedder, vectors, reranker */
    rag_search_mode mode;
};

static int put_err(docrag_error *out, const rag_err *err)
{
    if (out) {
        out->code = err->code;
        memcpy(out->msg, err->msg, sizeof out->msg);
        out->msg[sizeof out->msg - 1] = '\0';
    }
    return err->code;
}

const char *docrag_status_name(int code)
{
    return rag_status_name(code);
}

const char *docrag_version(void)
{
    return "0.1.0";
}

void docrag_free(char *s)
{
    free(s);
}

int docrag_open(docrag **out, const char *db_path, const char *config_path,
                docrag_error *e)
{
    rag_config_source src;
    rag_err err = {0};
    docrag *d;

    *out = NULL;
    memset(&src, 0, sizeof src);
    src.config_path = config_path;
    d = rag_calloc(1, sizeof *d);
    if (!d) {
        rag_fail(&err, RAG_ENOMEM, "out of memory");
        return put_err(e, &err);
    }
    if (rag_config_load(&d->cfg, &src, &err) < 0)
        goto fail;
    if (db_path) {
        char *p = rag_strdup(db_path);
        if (!p) {
            rag_fail(&err, RAG_ENOMEM, "out of memory");
            goto fail;
        }
        rag_free(d->cfg->db_path);
        d->cfg->db_path = p;
    }
    if (rag_index_open(&d->ix, d->cfg->db_path, 0, &err) < 0 ||
        rag_llm_chain_create(&d->chain, d->cfg, NULL, &err) < 0 ||
        rag_usage_open(&d->usage, rag_index_db(d->ix), d->cfg, &err) < 0)
        goto fail;
    {
        int m = rag_search_mode_parse(d->cfg->search_mode);
        d->mode = m < 0 ? RAG_MODE_BM25 : (rag_search_mode)m;
    }
    if (rag_retriever_open(&d->retriever, d->ix, d->cfg, d->mode, d->usage, &err) < 0)
        goto fail;
    *out = d;
    return 0;
fail:
    docrag_close(d);
    return put_err(e, &err);
}

void docrag_close(docrag *d)
{
    if (!d)
        return;
    rag_retriever_destroy(d->retriever);
    rag_usage_close(d->usage);
    rag_llm_chain_destroy(d->chain);
    rag_index_close(d->ix);
    rag_config_destroy(d->cfg);
    rag_free(d);
}

static int take_json(json_t *o, char **out, rag_err *err)
{
    char *s = o ? rag_render_dump(o) : NULL;
    json_decref(o);
    if (!s)
        return rag_fail(err, RAG_ENOMEM, "out of memory rendering JSON");
    *out = s;
    return 0;
}

typedef struct {
    json_t *errors;
} index_ctx;

static void on_index_error(void *ctx, const char *path, const rag_err *err)
{
    index_ctx *c = ctx;
    json_array_append_new(c->errors, json_pack("{s:s,s:s}", "path", path, "error",
                                               err->msg));
}

int docrag_index(docrag *d, const char *const *paths, size_t n_paths,
                 char **report_json, docrag_error *e)
{
    rag_indexer_opts o;
    rag_indexer_report rep;
    index_ctx ctx = {json_array()};
    rag_indexer_events ev = {NULL, on_index_error, &ctx};
    rag_err err = {0};

    o = rag_indexer_opts_from_config(d->cfg);
    if (!ctx.errors) {
        rag_fail(&err, RAG_ENOMEM, "out of memory");
        return put_err(e, &err);
    }
    if (rag_indexer_run(d->ix, paths, n_paths, &o, &ev, &rep, &err) < 0) {
        json_decref(ctx.errors);
        return put_err(e, &err);
    }
    if (report_json &&
        take_json(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o}", "files",
                            (json_int_t)rep.n_seen, "added", (json_int_t)rep.n_added,
                            "updated", (json_int_t)rep.n_updated, "unchanged",
                            (json_int_t)rep.n_unchanged, "removed",
                            (json_int_t)rep.n_removed, "failed", (json_int_t)rep.n_failed,
                            "chunks", (json_int_t)rep.n_chunks, "pages",
                            (json_int_t)rep.n_pages, "seconds", rep.seconds, "errors",
                            ctx.errors),
                  report_json, &err) < 0)
        return put_err(e, &err);
    if (!report_json)
        json_decref(ctx.errors);
    return 0;
}

int docrag_search(docrag *d, const char *query, int k, char **results_json,
                  docrag_error *e)
{
    rag_search_opts so = {.mode = d->mode,
                          .k = k > 0 ? (size_t)k : (size_t)d->cfg->search_k};
    rag_hits hits;
    rag_err err = {0};
    double t0 = rag_now_ms();
    int rc;

    so.retriever = d->retriever;
    if (rag_search(&hits, d->ix, query, &so, &err) < 0)
        return put_err(e, &err);
    rc = take_json(rag_render_hits(query, &hits, rag_now_ms() - t0), results_json, &err);
    rag_hits_fini(&hits);
    return rc < 0 ? put_err(e, &err) : 0;
}

int docrag_ask(docrag *d, const char *question, char **answer_json, docrag_error *e)
{
    rag_ask_opts o = rag_ask_opts_from_config(d->cfg);
    o.llm = d->chain;
    o.usage = d->usage;
    o.mode = d->mode;
    o.retriever = d->retriever;
    rag_answer a;
    rag_ask_timings t;
    rag_err err = {0};
    int rc;

    if (rag_ask(&a, &t, d->ix, question, &o, &err) < 0)
        return put_err(e, &err);
    rc = take_json(rag_render_answer(question, &a, &t), answer_json, &err);
    rag_answer_fini(&a);
    return rc < 0 ? put_err(e, &err) : 0;
}
