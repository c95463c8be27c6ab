/* cmd_rerank.c - docrag rerank: score stdin passages against a query.
 *
 *   docrag rerank --model DIR [--precision f32|bf16|int8] [--threads N] QUERY < passages
 *
 * One passage per line. Prints a JSON array [{"index": i, "score": s}, ...]
 * sorted by score, highest first (ties by index). Scores are the
 * cross-encoder's raw logits, not probabilities. The model is configured
 * as a local back-end of its own, as for `docrag embed`.
 */
#include "cli.h"
#include "cli_lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"--model", NULL, "DIR", "the cross-encoder model folder (required)"},
    {"--precision", NULL, "P", "f32, bf16 or int8 (default: the back-end's, f32)"},
    {"--threads", NULL, "N", "threads, 0..256 (default: 0, one per core)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "rerank",
    "docrag rerank --model DIR [options] QUERY... < lines",
    "Score each line of stdin against QUERY with a cross-encoder; print a JSON\n"
    "array [{\"index\", \"score\"}] sorted by score (raw logits), highest first.",
    opts,
    "docrag rerank --model models/cross-encoder/ms-marco-MiniLM-L-6-v2 \"trap\" < passages",
    1,
};

typedef struct {
    size_t index;
    float score;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

int cmd_rerank(int argc, char **argv)
{
    cli_common common;
    cli_model_sets ms;
    docrag_engine *e = NULL;
    docrag_error err;
    const char *model = NULL, *precision = NULL, *threads = NULL;
    char *query = NULL;
    char **texts = NULL;
    size_t n = 0;
    float *scores = NULL;
    ranked *rk = NULL;
    cli_args ar;
    char nb[CLI_NAME_BYTES];
    int status = 1, opt, n_threads = 0, n_pos = 0;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == 0)
            model = ar.value;
        else if (opt == 1)
            precision = ar.value;
        else if (opt == 2) {
            if (cli_args_int(&ar, 0, 256, &n_threads))
                return 2;
            threads = ar.value;
        } else if (opt == CLI_ARGS_POS)
            argv[n_pos++] = (char *)ar.value;
        else
            return cli_args_exit(opt);
    }
    if (!model)
        return cli_bad(&help, "--model DIR is required");
    if (precision && !cli_precision_known(precision))
        return cli_bad(&help, "--precision '%s': expected f32, bf16 or int8",
                       cli_name(nb, precision));
    if (n_pos == 0)
        return cli_bad(&help, "no QUERY given");
    if (!(query = cli_join_args(n_pos, argv, 0))) {
        fprintf(stderr, "docrag: out of memory\n");
        return 1;
    }
    if (cli_model_sets_add(&ms, &common, "rerank", model, precision, threads)) {
        free(query);
        return 2;
    }
    common.engine.scope = DOCRAG_SCOPE_MODELS;
    if (cli_open(&e, NULL, &common))
        goto done;
    if (!docrag_rerank_model(e)) {   /* not built: the call says why */
        docrag_rerank(e, query, NULL, 0, NULL, &err);
        cli_error(&err);
        goto done;
    }
    if (cli_read_lines(&texts, &n) < 0)
        goto oom;
    scores = malloc((n ? n : 1) * sizeof *scores);
    rk = malloc((n ? n : 1) * sizeof *rk);
    if (!scores || !rk)
        goto oom;
    if (docrag_rerank(e, query, (const char *const *)texts, n, scores, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        rk[i] = (ranked){i, scores[i]};
    qsort(rk, n, sizeof *rk, cmp_ranked);
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s{\"index\":%zu,\"score\":%.9g}", i ? ",\n" : "", rk[i].index,
               (double)rk[i].score);
    fputs("]\n", stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
    goto done;
oom:
    fprintf(stderr, "docrag: out of memory\n");
done:
    cli_lines_free(texts, n);
    free(scores);
    free(rk);
    free(query);
    docrag_engine_close(e);
    return status;
}
