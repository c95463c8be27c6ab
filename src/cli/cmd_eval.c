/* cmd_eval.c - docrag eval --beir DIR [--mode M] [--run OUT] [--json] */
#include "cli.h"
#include "eval/eval.h"
#include "retrieve/retrieve.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "docrag eval --beir DIR [--mode bm25|dense|hybrid] [--run OUT] [--json]";

int cmd_eval(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_eval_opts opts = rag_eval_default_opts();
    rag_eval_result res;
    rag_err err = {0};
    const char *dir = NULL, *run = NULL, *mode = "bm25";
    int json = 0, rc;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--beir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--run") && i + 1 < argc)
            run = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else
            return cli_usage(usage);
    }
    if (!dir)
        return cli_usage(usage);
    if (rag_search_mode_parse(mode) < 0) {
        fprintf(stderr, "docrag: unknown mode '%s' (bm25, dense, hybrid)\n", mode);
        return 2;
    }
    if (strcmp(mode, "bm25") != 0)
        fprintf(stderr, "docrag: notice: --mode %s needs an embedder and none is "
                        "configured; using bm25\n", mode);
    if (cli_load_config(&cfg, &common))
        return 1;
    opts.chunk.target_tokens = cfg->chunk_target_tokens;
    opts.chunk.max_tokens = cfg->chunk_max_tokens;
    opts.chunk.overlap_tokens = cfg->chunk_overlap_tokens;
    if (run && !(opts.run = fopen(run, "w"))) {
        fprintf(stderr, "docrag: %s: cannot write the run file\n", run);
        rag_config_destroy(cfg);
        return 1;
    }
    rc = rag_eval_beir(&res, dir, &opts, &err);
    if (opts.run && fclose(opts.run) != 0 && rc == RAG_OK)
        rc = rag_fail(&err, RAG_EIO, "%s: write failed", run);
    rag_config_destroy(cfg);
    if (rc < 0)
        return cli_error(&err);
    if (json) {
        json_t *o = json_pack("{s:f,s:f,s:f,s:I,s:I,s:I,s:s,s:f,s:f}", "ndcg@10",
                              res.ndcg10, "recall@100", res.recall100, "mrr@10",
                              res.mrr10, "queries", (json_int_t)res.n_queries, "docs",
                              (json_int_t)res.n_docs, "chunks", (json_int_t)res.n_chunks,
                              "mode", "bm25", "index_seconds", res.index_seconds,
                              "query_seconds", res.query_seconds);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fputc('\n', stdout);
            json_decref(o);
        }
    } else {
        printf("ndcg@10=%.4f recall@100=%.4f mrr@10=%.4f queries=%zu\n", res.ndcg10,
               res.recall100, res.mrr10, res.n_queries);
    }
    return 0;
}
