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

#define RERANK_USAGE \
    "docrag rerank --model DIR [--precision f32|bf16|int8] [--threads N] QUERY < lines"

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
    const char *model = NULL, *query = NULL, *precision = NULL, *threads = NULL;
    char **texts = NULL;
    size_t n = 0;
    float *scores = NULL;
    ranked *rk = NULL;
    int status = 1;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc)
            precision = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = argv[++i];
        else if (argv[i][0] != '-' && !query)
            query = argv[i];
        else
            return cli_usage(RERANK_USAGE);
    }
    if (!model || !query || (precision && !cli_precision_known(precision)))
        return cli_usage(RERANK_USAGE);
    if (cli_model_sets_add(&ms, &common, "rerank", model, precision, threads))
        return 2;
    common.engine.scope = DOCRAG_SCOPE_MODELS;
    if (cli_open(&e, NULL, &common))
        return 1;
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
    docrag_engine_close(e);
    return status;
}
