/* api_eval.c - retrieval evaluation behind docrag.h: BEIR collections and
 * QA files over a document folder (src/eval), with the engine's
 * configuration (chunking, chains, search.*).
 *
 * Each run builds an index of its own (in memory, or the QA run's
 * db_path), so the engine's database is not touched and a
 * DOCRAG_SCOPE_CONFIG engine is enough. The JSON is the one `docrag eval
 * --json` prints, plus what its text form needs (the notice, the misses).
 */
#include "api_int.h"

#include "eval/eval.h"

#include <stdio.h>
#include <string.h>

void docrag_eval_opts_init(docrag_eval_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* "bm25" | "dense" | "hybrid" | "hybrid+rerank" -> mode and rerank. */
static int parse_mode(const char *s, rag_search_mode *mode, int *rerank, rag_err *err)
{
    int m;
    *rerank = 0;
    if (!strcmp(s, "hybrid+rerank")) {
        *mode = RAG_MODE_HYBRID;
        *rerank = 1;
        return RAG_OK;
    }
    if ((m = rag_search_mode_parse(s)) < 0)
        return rag_fail(err, RAG_EINVAL, "mode '%s': expected bm25, dense, hybrid or "
                        "hybrid+rerank", s);
    *mode = (rag_search_mode)m;
    return RAG_OK;
}

/* The embedding pass, or NULL when none ran. */
static json_t *embed_json(const rag_embed_report *r)
{
    if (r->n_chunks == 0 && !r->model[0])
        return NULL;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f}", "model", r->model, "dim",
                     (json_int_t)r->dim, "chunks", (json_int_t)r->n_chunks, "embedded",
                     (json_int_t)r->n_embedded, "cached", (json_int_t)r->n_cached, "kept",
                     (json_int_t)r->n_present, "seconds", r->seconds);
}

int docrag_eval_beir(docrag_engine *e, const char *dir, const docrag_eval_opts *o,
                     char **out, docrag_error *derr)
{
    const rag_config *cfg = e->cfg;
    rag_eval_opts opts = rag_eval_default_opts();
    rag_eval_result res;
    rag_err err = {0};
    docrag_eval_opts none;
    const char *mode_s;
    json_t *j;
    int rc;

    *out = NULL;
    if (!o) {
        docrag_eval_opts_init(&none);
        o = &none;
    }
    mode_s = o->mode ? o->mode : "bm25";
    if (!dir)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the BEIR folder is missing"});
    if (parse_mode(mode_s, &opts.mode, &opts.rerank, &err) < 0)
        return api_err(derr, &err);
    opts.chunk.target_tokens = cfg->chunk_target_tokens;
    opts.chunk.max_tokens = cfg->chunk_max_tokens;
    opts.chunk.overlap_tokens = cfg->chunk_overlap_tokens;
    opts.cfg = cfg;
    if (o->run_path && !(opts.run = fopen(o->run_path, "w"))) {
        rag_fail(&err, RAG_EIO, "%s: cannot write the run file", o->run_path);
        return api_err(derr, &err);
    }
    rc = rag_eval_beir(&res, dir, &opts, &err);
    if (opts.run && fclose(opts.run) != 0 && rc == RAG_OK)
        rc = rag_fail(&err, RAG_EIO, "%s: write failed", o->run_path);
    if (rc < 0)
        return api_err(derr, &err);
    j = json_pack("{s:f,s:f,s:f,s:I,s:I,s:I,s:s,s:s,s:f,s:f,s:o?}", "ndcg@10", res.ndcg10,
                  "recall@100", res.recall100, "mrr@10", res.mrr10, "queries",
                  (json_int_t)res.n_queries, "docs", (json_int_t)res.n_docs, "chunks",
                  (json_int_t)res.n_chunks, "mode", mode_s, "mode_used",
                  rag_search_mode_name(res.mode_used), "index_seconds", res.index_seconds,
                  "query_seconds", res.query_seconds, "embed", embed_json(&res.embed));
    if (j && res.notice[0])
        json_object_set_new(j, "notice", json_string(res.notice));
    if (api_take_json(j, out, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

static json_t *qa_json(const rag_qa_set *set, const rag_qa_result *res, const char *mode_s,
                       int rerank, size_t k)
{
    json_t *ranks = json_array(), *misses = json_array(), *o;
    for (size_t i = 0; ranks && misses && i < set->n; i++) {
        const rag_qa_item *q = &set->items[i];
        json_array_append_new(ranks, json_pack("{s:s,s:I}", "id", q->id, "first_hit",
                                               (json_int_t)res->first_hit[i]));
        if (res->first_hit[i] == 0)
            json_array_append_new(misses, json_pack("{s:s,s:s,s:i,s:s}", "id", q->id, "doc",
                                                    q->doc, "page", q->pages[0],
                                                    "question", q->question));
    }
    o = json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:s,s:s,s:b,s:I,s:s,s:I,s:f,s:o*,"
                  "s:{s:I,s:I,s:I,s:I,s:I},s:o?}",
                  "page-hit@1", res->m.hit1, "page-hit@5", res->m.hit5, "page-hit@10",
                  res->m.hit10, "mrr@10", res->m.mrr10, "questions",
                  (json_int_t)res->n_questions, "docs", (json_int_t)res->n_docs, "chunks",
                  (json_int_t)res->n_chunks, "mode", mode_s, "mode_used",
                  rag_search_mode_name(res->mode_used), "rerank_requested", rerank,
                  "reranked", (json_int_t)res->n_reranked, "notice", res->notice, "k",
                  (json_int_t)k, "query_seconds", res->query_seconds, "questions_hit",
                  ranks, "index", "added", (json_int_t)res->index.n_added, "updated",
                  (json_int_t)res->index.n_updated, "unchanged",
                  (json_int_t)res->index.n_unchanged, "removed",
                  (json_int_t)res->index.n_removed, "failed",
                  (json_int_t)res->index.n_failed, "embed", embed_json(&res->embed));
    if (o && misses)
        json_object_set_new(o, "misses", misses);
    else
        json_decref(misses);
    return o;
}

int docrag_eval_qa(docrag_engine *e, const char *qa_path, const char *docs_dir,
                   const docrag_eval_opts *o, char **out, docrag_error *derr)
{
    rag_qa_set set;
    rag_qa_opts opts = rag_qa_default_opts();
    rag_qa_result res;
    rag_err err = {0};
    docrag_eval_opts none;
    const char *mode_s;
    int rc;

    *out = NULL;
    if (!o) {
        docrag_eval_opts_init(&none);
        o = &none;
    }
    mode_s = o->mode ? o->mode : "bm25";
    if (!qa_path || !docs_dir)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the QA file or documents folder is "
                                        "missing"});
    if (o->k < 0 || o->k > DOCRAG_K_MAX) {
        rag_fail(&err, RAG_EINVAL, "k %d: expected 1 to %d", o->k, DOCRAG_K_MAX);
        return api_err(derr, &err);
    }
    if (parse_mode(mode_s, &opts.mode, &opts.rerank, &err) < 0)
        return api_err(derr, &err);
    if (rag_qa_load(&set, qa_path, &err) < 0) {
        rag_qa_set_fini(&set);
        return api_err(derr, &err);
    }
    opts.k = o->k > 0 ? (size_t)o->k : 10;
    opts.indexer = rag_indexer_opts_from_config(e->cfg);
    opts.db = o->db_path;
    opts.cfg = e->cfg;
    rc = rag_eval_qa(&res, &set, docs_dir, &opts, &err);
    if (rc == RAG_OK) {
        rc = api_take_json(qa_json(&set, &res, mode_s, opts.rerank, opts.k), out, &err);
        rag_qa_result_fini(&res);
    }
    rag_qa_set_fini(&set);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

static void on_problem(void *ctx, const rag_qa_item *q, const char *msg)
{
    json_array_append_new(ctx, json_pack("{s:i,s:s,s:s}", "line", q->line, "id", q->id,
                                         "message", msg));
}

int docrag_eval_qa_check(docrag_engine *e, const char *qa_path, const char *docs_dir,
                         char **out, docrag_error *derr)
{
    rag_indexer_opts io = rag_indexer_opts_from_config(e->cfg);
    rag_qa_set set;
    rag_err err = {0};
    size_t n_bad = 0, n_pages = 0;
    json_t *problems;
    int rc;

    *out = NULL;
    if (!qa_path || !docs_dir)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the QA file or documents folder is "
                                        "missing"});
    if (rag_qa_load(&set, qa_path, &err) < 0) {
        rag_qa_set_fini(&set);
        return api_err(derr, &err);
    }
    if (!(problems = json_array())) {
        rag_qa_set_fini(&set);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    rc = rag_qa_check_evidence(&set, docs_dir, &io.extract, on_problem, problems, &n_bad,
                               &err);
    for (size_t i = 0; i < set.n; i++)
        n_pages += set.items[i].n_pages;
    if (rc == RAG_OK)
        rc = api_take_json(json_pack("{s:I,s:I,s:o}", "questions", (json_int_t)set.n, "pages",
                                     (json_int_t)n_pages, "problems", problems),
                           out, &err);
    else
        json_decref(problems);
    rag_qa_set_fini(&set);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}
