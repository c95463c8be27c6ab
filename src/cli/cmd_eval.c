/* cmd_eval.c - docrag eval: BEIR collections (nDCG@10, Recall@100, MRR@10)
 * and QA files over a document folder (page-hit@1/@5/@10, MRR@10).
 *
 *   docrag eval --beir DIR [--mode M] [--run OUT] [--json]
 *   docrag eval --qa FILE --docs DIR [--db F] [--mode M] [-k N] [--json] [--misses]
 *   docrag eval --qa FILE --docs DIR --check
 *
 * M is bm25 | dense | hybrid | hybrid+rerank. A mode that cannot run as
 * asked (no embedder, no reranker) falls back and its notice is printed
 * once, on stderr. The engine is opened for its configuration only: each
 * run builds its own index (in memory, or --db for QA).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON, OPT_MISSES, OPT_CHECK, OPT_BEIR, OPT_QA, OPT_DOCS, OPT_RUN, OPT_MODE, OPT_K };

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the scores as JSON"},
    {"--misses", NULL, NULL, "QA: list the questions whose page was not found"},
    {"--check", NULL, NULL, "QA: check that each question's evidence is on its page"},
    {"--beir", NULL, "DIR", "score a BEIR collection (corpus, queries, qrels)"},
    {"--qa", NULL, "FILE", "score a QA file (JSON lines) over --docs"},
    {"--docs", NULL, "DIR", "QA: the documents the questions are about"},
    {"--run", NULL, "OUT", "BEIR: write the run (TREC format) to OUT"},
    {"--mode", NULL, "M", "bm25, dense, hybrid or hybrid+rerank (default: bm25)"},
    {"-k", "--k", "N", "QA: results read per question, 1..1000 (default: 10)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "eval",
    "docrag eval --beir DIR [--mode M] [--run OUT] [--json]\n"
    "       docrag eval --qa FILE --docs DIR [--db F] [--mode M] [-k N] [--json] [--misses]\n"
    "       docrag eval --qa FILE --docs DIR --check",
    "Score retrieval: nDCG@10, Recall@100 and MRR@10 on a BEIR collection, or\n"
    "page-hit@1/@5/@10 and MRR@10 on a QA file (docs/evaluation.md). Each run\n"
    "builds its own index (in memory, or --db for QA).",
    opts,
    "docrag eval --beir ir/cranfield --mode bm25\n"
    "docrag eval --qa data/qa/questions.jsonl --docs corpus --misses",
    1,
};

static void print_notice(const json_t *o)
{
    if (cli_str(o, "notice")[0])
        fprintf(stderr, "docrag: notice: %s\n", cli_str(o, "notice"));
}

static void embed_print(const json_t *emb)
{
    if (!json_is_object(emb))   /* null: no embedding pass ran */
        return;
    printf("vectors: %lld chunks, model %s (%lld-d), %.2f s: %lld embedded, %lld from cache, "
           "%lld kept\n", cli_int(emb, "chunks"), cli_str(emb, "model"), cli_int(emb, "dim"),
           cli_num(emb, "seconds"), cli_int(emb, "embedded"), cli_int(emb, "cached"),
           cli_int(emb, "kept"));
}

static int run_check(docrag_engine *e, const char *file, const char *docs)
{
    docrag_error err;
    char *out = NULL;
    json_t *o, *p;
    size_t i, n_bad;

    if (docrag_eval_qa_check(e, file, docs, &out, &err) < 0)
        return cli_error(&err);
    o = cli_json(out);
    docrag_free(out);
    if (!o)
        return 1;
    json_array_foreach(json_object_get(o, "problems"), i, p)
        fprintf(stderr, "%s:%lld: %s: %s\n", file, cli_int(p, "line"), cli_str(p, "id"),
                cli_str(p, "message"));
    n_bad = json_array_size(json_object_get(o, "problems"));
    printf("evidence: %lld questions, %lld pages checked, %zu problems\n",
           cli_int(o, "questions"), cli_int(o, "pages"), n_bad);
    json_decref(o);
    return n_bad ? 1 : 0;
}

static int run_qa(docrag_engine *e, const char *file, const char *docs, const char *db,
                  const docrag_eval_opts *eo, int json, int misses)
{
    docrag_error err;
    char *out = NULL;
    json_t *o, *ix, *m;
    size_t i;
    int rc = 0;

    if (docrag_eval_qa(e, file, docs, eo, &out, &err) < 0)
        return cli_error(&err);
    if (!(o = cli_json(out))) {
        docrag_free(out);
        return 1;
    }
    ix = json_object_get(o, "index");
    print_notice(o);
    if (cli_int(ix, "failed"))
        fprintf(stderr, "docrag: warning: %lld files under %s failed to index\n",
                cli_int(ix, "failed"), docs);
    if (json) {
        rc = cli_print_json(out);
        out = NULL;
    } else {
        printf("qa: %lld questions, %lld documents, %lld chunks, mode %s (ran %s%s), k %lld\n",
               cli_int(o, "questions"), cli_int(o, "docs"), cli_int(o, "chunks"),
               cli_str(o, "mode"), cli_str(o, "mode_used"),
               cli_int(o, "reranked") ? " + rerank" : "", cli_int(o, "k"));
        printf("index: %s, %lld added, %lld updated, %lld unchanged, %lld removed\n",
               db ? db : "temporary", cli_int(ix, "added"), cli_int(ix, "updated"),
               cli_int(ix, "unchanged"), cli_int(ix, "removed"));
        embed_print(json_object_get(o, "embed"));
        printf("%-14s %8s %8s %8s %8s\n", "mode", "hit@1", "hit@5", "hit@10", "mrr@10");
        printf("%-14s %8.4f %8.4f %8.4f %8.4f\n", cli_str(o, "mode"), cli_num(o, "page-hit@1"),
               cli_num(o, "page-hit@5"), cli_num(o, "page-hit@10"), cli_num(o, "mrr@10"));
        printf("page-hit@1=%.4f page-hit@5=%.4f page-hit@10=%.4f mrr@10=%.4f questions=%lld\n",
               cli_num(o, "page-hit@1"), cli_num(o, "page-hit@5"), cli_num(o, "page-hit@10"),
               cli_num(o, "mrr@10"), cli_int(o, "questions"));
        json_array_foreach(misses ? json_object_get(o, "misses") : NULL, i, m)
            printf("miss %s (%s p.%lld): %s\n", cli_str(m, "id"), cli_str(m, "doc"),
                   cli_int(m, "page"), cli_str(m, "question"));
    }
    json_decref(o);
    docrag_free(out);
    return rc || fflush(stdout) != 0;
}

static int run_beir(docrag_engine *e, const char *dir, const docrag_eval_opts *eo, int json)
{
    docrag_error err;
    char *out = NULL;
    json_t *o;

    if (docrag_eval_beir(e, dir, eo, &out, &err) < 0)
        return cli_error(&err);
    if (!(o = cli_json(out))) {
        docrag_free(out);
        return 1;
    }
    print_notice(o);
    if (json) {
        if (cli_print_json(out)) {
            json_decref(o);
            return 1;
        }
        out = NULL;
    } else {
        printf("ndcg@10=%.4f recall@100=%.4f mrr@10=%.4f queries=%lld\n",
               cli_num(o, "ndcg@10"), cli_num(o, "recall@100"), cli_num(o, "mrr@10"),
               cli_int(o, "queries"));
    }
    json_decref(o);
    docrag_free(out);
    return fflush(stdout) != 0;
}

static int mode_known(const char *s)
{
    return cli_mode_known(s) || !strcmp(s, "hybrid+rerank");
}

int cmd_eval(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_eval_opts eo;
    const char *dir = NULL, *run = NULL, *mode_s = "bm25", *qa = NULL, *docs = NULL, *db;
    cli_args ar;
    int json = 0, misses = 0, check = 0, k = 0, opt, rc;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == OPT_JSON)
            json = 1;
        else if (opt == OPT_MISSES)
            misses = 1;
        else if (opt == OPT_CHECK)
            check = 1;
        else if (opt == OPT_BEIR)
            dir = ar.value;
        else if (opt == OPT_QA)
            qa = ar.value;
        else if (opt == OPT_DOCS)
            docs = ar.value;
        else if (opt == OPT_RUN)
            run = ar.value;
        else if (opt == OPT_MODE)
            mode_s = ar.value;
        else if (opt == OPT_K) {
            if (cli_args_int(&ar, 1, DOCRAG_K_MAX, &k))
                return 2;
        } else if (opt == CLI_ARGS_POS) {
            char nb[CLI_NAME_BYTES];
            return cli_bad(&help, "unexpected argument '%s'", cli_name(nb, ar.value));
        } else
            return cli_args_exit(opt);
    }
    if (!!dir + !!qa != 1)
        return cli_bad(&help, "give one of --beir DIR and --qa FILE");
    if (qa && !docs)
        return cli_bad(&help, "--qa needs --docs DIR");
    if (dir && (docs || check || k || misses))
        return cli_bad(&help, "--docs, --check, -k and --misses go with --qa, not --beir");
    if (qa && run)
        return cli_bad(&help, "--run goes with --beir, not --qa");
    if (!mode_known(mode_s)) {
        char nb[CLI_NAME_BYTES];
        return cli_bad(&help, "--mode '%s': expected bm25, dense, hybrid or hybrid+rerank",
                       cli_name(nb, mode_s));
    }
    /* --db is the QA run's own index, not the engine's database */
    db = common.engine.db_path;
    common.engine.db_path = NULL;
    common.engine.scope = DOCRAG_SCOPE_CONFIG;
    if (cli_open(&e, NULL, &common))
        return 1;
    docrag_eval_opts_init(&eo);
    eo.mode = mode_s;
    eo.k = k;
    if (qa && check) {
        rc = run_check(e, qa, docs);
    } else if (qa) {
        eo.db_path = db;
        rc = run_qa(e, qa, docs, db, &eo, json, misses);
    } else {
        eo.run_path = run;
        rc = run_beir(e, dir, &eo, json);
    }
    docrag_engine_close(e);
    return rc;
}
