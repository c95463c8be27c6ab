/* cmd_eval.c - docrag eval: BEIR collections (nDCG@10, Recall@100, MRR@10)
 * and QA files over a document folder (page-hit@1/@5/@10, MRR@10).
 *
 *   docrag eval --beir DIR [--mode M] [--run OUT] [--json]
 *   docrag eval --qa FILE --docs DIR [--db F] [--mode M] [-k N] [--json] [--misses]
 *   docrag eval --qa FILE --docs DIR --check
 *   docrag eval --answers FILE [--docs DIR] [--db F] [--mode M] [-k N] [--json] [--misses]
 *   docrag eval --answers FILE --docs DIR --check
 *
 * M is bm25 | dense | hybrid | hybrid+rerank. A mode that cannot run as
 * asked (no embedder, no reranker) falls back and its notice is printed
 * once, on stderr. The engine is opened for its configuration only: each
 * run builds its own index (in memory, or --db for QA).
 *
 * --answers asks every question through the whole answer path (the
 * configured LLM chain, else extractive) on a full engine: --db F is the
 * index asked (created or updated from --docs DIR when given); --docs
 * without --db indexes into a temporary file removed afterwards; neither
 * asks the configured database as it is.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_JSON, OPT_MISSES, OPT_CHECK, OPT_BEIR, OPT_QA, OPT_ANSWERS, OPT_DOCS, OPT_RUN, OPT_MODE,
    OPT_K
};

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the scores as JSON"},
    {"--misses", NULL, NULL, "QA: list the questions whose page was not found"},
    {"--check", NULL, NULL, "QA: check that each question's evidence is on its page"},
    {"--beir", NULL, "DIR", "score a BEIR collection (corpus, queries, qrels)"},
    {"--qa", NULL, "FILE", "score a QA file (JSON lines) over --docs"},
    {"--answers", NULL, "FILE", "score the answers to an answers file (nuggets, refusals)"},
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
    "       docrag eval --qa FILE --docs DIR --check\n"
    "       docrag eval --answers FILE [--docs DIR] [--db F] [--mode bm25|dense|hybrid] [-k N]\n"
    "                   [--json] [--misses]\n"
    "       docrag eval --answers FILE --docs DIR --check",
    "Score retrieval: nDCG@10, Recall@100 and MRR@10 on a BEIR collection, or\n"
    "page-hit@1/@5/@10 and MRR@10 on a QA file; score answers (every nugget held,\n"
    "refusals, junk quoted sentences, confidence AUC) on an answers file\n"
    "(docs/evaluation.md). Each QA run builds its own index (in memory, or --db).",
    opts,
    "docrag eval --beir ir/cranfield --mode bm25\n"
    "docrag eval --qa data/qa/questions.jsonl --docs corpus --misses\n"
    "docrag eval --answers data/qa/answers.jsonl --docs corpus --misses",
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

static int run_answers_check(docrag_engine *e, const char *file, const char *docs)
{
    docrag_error err;
    char *out = NULL;
    json_t *o, *p;
    size_t i, n_bad;

    if (docrag_eval_answers_check(e, file, docs, &out, &err) < 0)
        return cli_error(&err);
    o = cli_json(out);
    docrag_free(out);
    if (!o)
        return 1;
    json_array_foreach(json_object_get(o, "problems"), i, p)
        fprintf(stderr, "%s:%lld: %s: %s\n", file, cli_int(p, "line"), cli_str(p, "id"),
                cli_str(p, "message"));
    n_bad = json_array_size(json_object_get(o, "problems"));
    printf("nuggets: %lld questions, %lld nuggets checked, %zu problems\n",
           cli_int(o, "questions"), cli_int(o, "nuggets"), n_bad);
    json_decref(o);
    return n_bad ? 1 : 0;
}

/* A rate for the text form: "0.8125" or "-" (no denominator). */
static const char *rate_s(const json_t *o, const char *key, char buf[16])
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return "-";
    snprintf(buf, 16, "%.4f", json_number_value(v));
    return buf;
}

static void answers_print(const json_t *o, const char *db, int misses)
{
    char b1[16], b2[16], b3[16], b4[16], b5[16], b6[16], b7[16];
    const json_t *ix = json_object_get(o, "index"), *kv, *m;
    const char *name;
    size_t i;

    printf("answers: %lld questions (%lld answerable, %lld to refuse), mode %s, index %s\n",
           cli_int(o, "questions"), cli_int(o, "answerable"), cli_int(o, "unanswerable"),
           cli_str(o, "mode"), db);
    if (json_is_object(ix))
        printf("index: %lld added, %lld updated, %lld unchanged, %lld removed, %lld failed\n",
               cli_int(ix, "added"), cli_int(ix, "updated"), cli_int(ix, "unchanged"),
               cli_int(ix, "removed"), cli_int(ix, "failed"));
    printf("answered by:");
    json_object_foreach((json_t *)json_object_get(o, "backends"), name, kv)
        printf(" %s %lld", name, (long long)json_integer_value(kv));
    printf("\n");
    printf("all_nuggets=%s nugget_recall=%s false_refusal=%s refused_unanswerable=%s\n",
           rate_s(o, "all_nuggets", b1), rate_s(o, "nugget_recall", b2),
           rate_s(o, "false_refusal", b3), rate_s(o, "refused_unanswerable", b4));
    printf("sentences=%lld junk=%s duplicate=%s junk_or_duplicate=%s auc=%s\n",
           cli_int(o, "sentences"), rate_s(o, "junk", b5), rate_s(o, "duplicate", b6),
           rate_s(o, "junk_or_duplicate", b7), rate_s(o, "auc", b1));
    printf("%-17s %4s %8s %8s %8s\n", "kind", "n", "all", "recall", "refused");
    json_array_foreach(json_object_get(o, "by_kind"), i, kv)
        printf("%-17s %4lld %8s %8s %8s\n", cli_str(kv, "kind"), cli_int(kv, "n"),
               rate_s(kv, "all_nuggets", b1), rate_s(kv, "nugget_recall", b2),
               rate_s(kv, "refused", b3));
    json_array_foreach(misses ? json_object_get(o, "misses") : NULL, i, m) {
        const json_t *g;
        size_t k;
        printf("miss %s (%s): %s: %s", cli_str(m, "id"), cli_str(m, "kind"),
               cli_str(m, "why"), cli_str(m, "question"));
        json_array_foreach(json_object_get(m, "missing"), k, g)
            printf("%s\"%s\"", k ? ", " : " -- missing ", json_string_value(g));
        printf("\n");
    }
}

/* --docs without --db: a temporary index file, removed with its WAL. */
static char *temp_db(void)
{
    const char *dir = getenv("TMPDIR");
    char *path = malloc(4096);
    int fd;
    if (!path)
        return NULL;
    snprintf(path, 4096, "%s/docrag-eval-XXXXXX", dir && dir[0] ? dir : "/tmp");
    if ((fd = mkstemp(path)) < 0) {
        free(path);
        return NULL;
    }
    close(fd);
    unlink(path);   /* the engine creates it as a fresh database */
    return path;
}

static void temp_db_remove(const char *path)
{
    static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    char buf[4200];
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        snprintf(buf, sizeof buf, "%s%s", path, ext[i]);
        unlink(buf);
    }
}

static int run_answers(cli_common *common, const char *file, const char *docs,
                       const docrag_eval_opts *eo, int json, int misses)
{
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_error err;
    char *out = NULL, *tmp = NULL;
    const char *db = common->engine.db_path;
    json_t *o, *ix;
    int rc = 0;

    if (docs && !db) {
        if (!(tmp = temp_db())) {
            fprintf(stderr, "docrag: eval: cannot create a temporary index under %s\n",
                    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
            return 1;
        }
        common->engine.db_path = tmp;
    }
    if (cli_open(&e, &s, common)) {
        rc = 1;
        goto done;
    }
    if (docrag_eval_answers(s, file, docs, eo, &out, &err) < 0) {
        rc = cli_error(&err);
        goto done;
    }
    if (!(o = cli_json(out))) {
        rc = 1;
        goto done;
    }
    ix = json_object_get(o, "index");
    print_notice(o);
    if (json_is_object(ix) && cli_int(ix, "failed"))
        fprintf(stderr, "docrag: warning: %lld files under %s failed to index\n",
                cli_int(ix, "failed"), docs);
    if (json) {
        rc = cli_print_json(out);
        out = NULL;
    } else {
        answers_print(o, tmp ? "temporary" : docrag_engine_db_path(e), misses);
    }
    json_decref(o);
    rc = rc || fflush(stdout) != 0;
done:
    docrag_free(out);
    cli_close(e, s);
    if (tmp) {
        temp_db_remove(tmp);
        free(tmp);
    }
    return rc;
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
    const char *answers = NULL;
    cli_args ar;
    int json = 0, misses = 0, check = 0, k = 0, mode_given = 0, opt, rc;

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
        else if (opt == OPT_ANSWERS)
            answers = ar.value;
        else if (opt == OPT_DOCS)
            docs = ar.value;
        else if (opt == OPT_RUN)
            run = ar.value;
        else if (opt == OPT_MODE) {
            mode_s = ar.value;
            mode_given = 1;
        } else if (opt == OPT_K) {
            if (cli_args_int(&ar, 1, DOCRAG_K_MAX, &k))
                return 2;
        } else if (opt == CLI_ARGS_POS) {
            char nb[CLI_NAME_BYTES];
            return cli_bad(&help, "unexpected argument '%s'", cli_name(nb, ar.value));
        } else
            return cli_args_exit(opt);
    }
    if (!!dir + !!qa + !!answers != 1)
        return cli_bad(&help, "give one of --beir DIR, --qa FILE and --answers FILE");
    if (qa && !docs)
        return cli_bad(&help, "--qa needs --docs DIR");
    if (answers && check && !docs)
        return cli_bad(&help, "--answers FILE --check needs --docs DIR");
    if (dir && (docs || check || k || misses))
        return cli_bad(&help, "--docs, --check, -k and --misses go with --qa or --answers, "
                       "not --beir");
    if ((qa || answers) && run)
        return cli_bad(&help, "--run goes with --beir, not --qa or --answers");
    if (!mode_known(mode_s)) {
        char nb[CLI_NAME_BYTES];
        return cli_bad(&help, "--mode '%s': expected bm25, dense, hybrid or hybrid+rerank",
                       cli_name(nb, mode_s));
    }
    if (answers && !check) {
        if (!strcmp(mode_s, "hybrid+rerank")) {
            fprintf(stderr, "docrag: eval --answers: --mode is bm25, dense or hybrid (the "
                    "rerank stage runs as configured)\n");
            return 2;
        }
        docrag_eval_opts_init(&eo);
        eo.mode = mode_given ? mode_s : NULL;
        eo.k = k;
        return run_answers(&common, answers, docs, &eo, json, misses);
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
    if (answers) {
        rc = run_answers_check(e, answers, docs);
    } else if (qa && check) {
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
