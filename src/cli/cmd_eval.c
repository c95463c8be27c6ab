/* cmd_eval.c - docrag eval: BEIR collections (nDCG@10, Recall@100, MRR@10)
 * and QA files over a document folder (page-hit@1/@5/@10, MRR@10).
 *
 *   docrag eval --beir DIR [--mode M] [--run OUT] [--json]
 *   docrag eval --qa FILE --docs DIR [--db F] [--mode M] [-k N] [--json] [--misses]
 *   docrag eval --qa FILE --docs DIR --check
 *
 * M is bm25 | dense | hybrid | hybrid+rerank. A mode that cannot run as
 * asked (no embedder, no reranker) falls back and its notice is printed
 * once, on stderr.
 */
#include "cli.h"
#include "eval/eval.h"
#include "retrieve/retrieve.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "docrag eval --beir DIR [--mode bm25|dense|hybrid|hybrid+rerank] [--run OUT] [--json]\n"
    "       docrag eval --qa FILE --docs DIR [--db F] [--mode M] [-k N] [--json] [--misses]\n"
    "       docrag eval --qa FILE --docs DIR --check";

/* "bm25" | "dense" | "hybrid" | "hybrid+rerank" -> mode and rerank. */
static int parse_mode(const char *s, rag_search_mode *mode, int *rerank)
{
    int m;
    *rerank = 0;
    if (!strcmp(s, "hybrid+rerank")) {
        *mode = RAG_MODE_HYBRID;
        *rerank = 1;
        return 0;
    }
    if ((m = rag_search_mode_parse(s)) < 0)
        return -1;
    *mode = (rag_search_mode)m;
    return 0;
}

static void print_json(json_t *o)
{
    if (!o) {
        fprintf(stderr, "docrag: out of memory\n");
        return;
    }
    json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
    fputc('\n', stdout);
    json_decref(o);
}

/* The embedding pass as JSON, or NULL when none ran. */
static json_t *embed_json(const rag_embed_report *r)
{
    if (r->n_chunks == 0 && !r->model[0])
        return NULL;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f}", "model", r->model, "dim",
                     (json_int_t)r->dim, "chunks", (json_int_t)r->n_chunks, "embedded",
                     (json_int_t)r->n_embedded, "cached", (json_int_t)r->n_cached, "kept",
                     (json_int_t)r->n_present, "seconds", r->seconds);
}

static void embed_print(const rag_embed_report *r)
{
    if (r->n_chunks == 0 && !r->model[0])
        return;
    printf("vectors: %zu chunks, model %s (%zu-d), %.2f s: %zu embedded, %zu from cache, "
           "%zu kept\n", r->n_chunks, r->model, r->dim, r->seconds, r->n_embedded,
           r->n_cached, r->n_present);
}

static void on_problem(void *ctx, const rag_qa_item *q, const char *msg)
{
    const char *file = ctx;
    fprintf(stderr, "%s:%d: %s: %s\n", file, q->line, q->id, msg);
}

static int run_check(const rag_qa_set *set, const char *file, const char *docs,
                     const rag_config *cfg)
{
    rag_indexer_opts io = rag_indexer_opts_from_config(cfg);
    rag_err err = {0};
    size_t n_bad = 0, n_pages = 0;
    if (rag_qa_check_evidence(set, docs, &io.extract, on_problem, (void *)file, &n_bad,
                              &err) < 0)
        return cli_error(&err);
    for (size_t i = 0; i < set->n; i++)
        n_pages += set->items[i].n_pages;
    printf("evidence: %zu questions, %zu pages checked, %zu problems\n", set->n, n_pages,
           n_bad);
    return n_bad ? 1 : 0;
}

static int run_qa(const char *file, const char *docs, const char *db, const char *mode_s,
                  rag_search_mode mode, int rerank, int k, int json, int misses, int check,
                  const rag_config *cfg)
{
    rag_qa_set set;
    rag_qa_opts opts = rag_qa_default_opts();
    rag_qa_result res;
    rag_err err = {0};
    int rc;

    if (rag_qa_load(&set, file, &err) < 0) {
        rag_qa_set_fini(&set);
        return cli_error(&err);
    }
    if (check) {
        rc = run_check(&set, file, docs, cfg);
        rag_qa_set_fini(&set);
        return rc;
    }
    opts.mode = mode;
    opts.rerank = rerank;
    opts.k = k > 0 ? (size_t)k : 10;
    opts.indexer = rag_indexer_opts_from_config(cfg);
    opts.db = db;
    opts.cfg = cfg;
    if (rag_eval_qa(&res, &set, docs, &opts, &err) < 0) {
        rag_qa_set_fini(&set);
        return cli_error(&err);
    }
    if (res.notice[0])
        fprintf(stderr, "docrag: notice: %s\n", res.notice);
    if (res.index.n_failed)
        fprintf(stderr, "docrag: warning: %zu files under %s failed to index\n",
                res.index.n_failed, docs);
    if (json) {
        json_t *ranks = json_array(), *o;
        for (size_t i = 0; ranks && i < set.n; i++)
            json_array_append_new(ranks, json_pack("{s:s,s:I}", "id", set.items[i].id,
                                                   "first_hit", (json_int_t)res.first_hit[i]));
        o = json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:s,s:s,s:b,s:I,s:s,s:I,s:f,s:o*,"
                      "s:{s:I,s:I,s:I,s:I,s:I},s:o?}",
                      "page-hit@1", res.m.hit1, "page-hit@5", res.m.hit5, "page-hit@10",
                      res.m.hit10, "mrr@10", res.m.mrr10, "questions",
                      (json_int_t)res.n_questions, "docs", (json_int_t)res.n_docs, "chunks",
                      (json_int_t)res.n_chunks, "mode", mode_s, "mode_used",
                      rag_search_mode_name(res.mode_used), "rerank_requested", rerank, "reranked",
                      (json_int_t)res.n_reranked, "notice",
                      res.notice, "k",
                      (json_int_t)opts.k, "query_seconds", res.query_seconds, "questions_hit",
                      ranks, "index", "added", (json_int_t)res.index.n_added, "updated",
                      (json_int_t)res.index.n_updated, "unchanged",
                      (json_int_t)res.index.n_unchanged, "removed",
                      (json_int_t)res.index.n_removed, "failed",
                      (json_int_t)res.index.n_failed, "embed", embed_json(&res.embed));
        print_json(o);
    } else {
        printf("qa: %zu questions, %lld documents, %lld chunks, mode %s (ran %s%s), k %zu\n",
               res.n_questions, (long long)res.n_docs, (long long)res.n_chunks, mode_s,
               rag_search_mode_name(res.mode_used), res.n_reranked ? " + rerank" : "",
               opts.k);
        printf("index: %s, %zu added, %zu updated, %zu unchanged, %zu removed\n",
               db ? db : "temporary", res.index.n_added, res.index.n_updated,
               res.index.n_unchanged, res.index.n_removed);
        embed_print(&res.embed);
        printf("%-14s %8s %8s %8s %8s\n", "mode", "hit@1", "hit@5", "hit@10", "mrr@10");
        printf("%-14s %8.4f %8.4f %8.4f %8.4f\n", mode_s, res.m.hit1, res.m.hit5,
               res.m.hit10, res.m.mrr10);
        printf("page-hit@1=%.4f page-hit@5=%.4f page-hit@10=%.4f mrr@10=%.4f questions=%zu\n",
               res.m.hit1, res.m.hit5, res.m.hit10, res.m.mrr10, res.n_questions);
        for (size_t i = 0; misses && i < set.n; i++)
            if (res.first_hit[i] == 0)
                printf("miss %s (%s p.%d): %s\n", set.items[i].id, set.items[i].doc,
                       set.items[i].pages[0], set.items[i].question);
    }
    rag_qa_result_fini(&res);
    rag_qa_set_fini(&set);
    return 0;
}

static int run_beir(const char *dir, const char *run, const char *mode_s,
                    rag_search_mode mode, int rerank, int json, const rag_config *cfg)
{
    rag_eval_opts opts = rag_eval_default_opts();
    rag_eval_result res;
    rag_err err = {0};
    int rc;

    opts.chunk.target_tokens = cfg->chunk_target_tokens;
    opts.chunk.max_tokens = cfg->chunk_max_tokens;
    opts.chunk.overlap_tokens = cfg->chunk_overlap_tokens;
    opts.mode = mode;
    opts.rerank = rerank;
    opts.cfg = cfg;
    if (run && !(opts.run = fopen(run, "w"))) {
        fprintf(stderr, "docrag: %s: cannot write the run file\n", run);
        return 1;
    }
    rc = rag_eval_beir(&res, dir, &opts, &err);
    if (opts.run && fclose(opts.run) != 0 && rc == RAG_OK)
        rc = rag_fail(&err, RAG_EIO, "%s: write failed", run);
    if (rc < 0)
        return cli_error(&err);
    if (res.notice[0])
        fprintf(stderr, "docrag: notice: %s\n", res.notice);
    if (json) {
        print_json(json_pack("{s:f,s:f,s:f,s:I,s:I,s:I,s:s,s:s,s:f,s:f,s:o?}", "ndcg@10",
                             res.ndcg10, "recall@100", res.recall100, "mrr@10", res.mrr10,
                             "queries", (json_int_t)res.n_queries, "docs",
                             (json_int_t)res.n_docs, "chunks", (json_int_t)res.n_chunks,
                             "mode", mode_s, "mode_used", rag_search_mode_name(res.mode_used),
                             "index_seconds", res.index_seconds, "query_seconds",
                             res.query_seconds, "embed", embed_json(&res.embed)));
    } else {
        printf("ndcg@10=%.4f recall@100=%.4f mrr@10=%.4f queries=%zu\n", res.ndcg10,
               res.recall100, res.mrr10, res.n_queries);
    }
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    const char *dir = NULL, *run = NULL, *mode_s = "bm25", *qa = NULL, *docs = NULL;
    rag_search_mode mode;
    int json = 0, misses = 0, check = 0, k = 0, rerank, rc;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--misses"))
            misses = 1;
        else if (!strcmp(argv[i], "--check"))
            check = 1;
        else if (!strcmp(argv[i], "--beir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--qa") && i + 1 < argc)
            qa = argv[++i];
        else if (!strcmp(argv[i], "--docs") && i + 1 < argc)
            docs = argv[++i];
        else if (!strcmp(argv[i], "--run") && i + 1 < argc)
            run = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode_s = argv[++i];
        else if ((!strcmp(argv[i], "-k") || !strcmp(argv[i], "--k")) && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000) {
                fprintf(stderr, "docrag: -k must be 1..1000, got '%s'\n", argv[i]);
                return 2;
            }
            k = (int)v;
        } else
            return cli_usage(usage);
    }
    if (!!dir + !!qa != 1 || (qa && !docs) || (dir && (docs || check || k || misses)) ||
        (qa && run))
        return cli_usage(usage);
    if (parse_mode(mode_s, &mode, &rerank) < 0) {
        fprintf(stderr, "docrag: unknown mode '%s' (bm25, dense, hybrid, hybrid+rerank)\n",
                mode_s);
        return 2;
    }
    if (cli_load_config(&cfg, &common))
        return 1;
    if (qa)
        rc = run_qa(qa, docs, common.db, mode_s, mode, rerank, k, json, misses, check, cfg);
    else
        rc = run_beir(dir, run, mode_s, mode, rerank, json, cfg);
    rag_config_destroy(cfg);
    return rc;
}
