/* cmd_rerank.c - docrag rerank: score stdin passages against a query.
 *
 *   docrag rerank --model DIR [--precision f32|bf16|int8] [--threads N] QUERY < passages
 *
 * One passage per line. Prints a JSON array [{"index": i, "score": s}, ...]
 * sorted by score, highest first (ties by index). Scores are the
 * cross-encoder's raw logits (see src/rerank/rerank.h), not probabilities.
 */
#include "cli.h"
#include "rerank/rerank.h"

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
    const char *model = NULL, *query = NULL;
    rag_model_opts opts = rag_model_default_opts();
    rag_reranker *r = NULL;
    rag_err err = {0};
    char **texts = NULL, *line = NULL;
    size_t n = 0, cap = 0, cap_line = 0;
    ssize_t got;
    float *scores = NULL;
    ranked *rk = NULL;
    int status = 1;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            int p = rag_precision_parse(argv[++i]);
            if (p < 0)
                return cli_usage(RERANK_USAGE);
            opts.precision = (rag_precision)p;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            opts.n_threads = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !query) {
            query = argv[i];
        } else {
            return cli_usage(RERANK_USAGE);
        }
    }
    if (!model || !query)
        return cli_usage(RERANK_USAGE);
    if (rag_reranker_local_create(&r, model, &opts, &err) < 0)
        return cli_error(&err);
    while ((got = getline(&line, &cap_line, stdin)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **nv = rag_realloc(texts, nc * sizeof *nv);
            if (!nv)
                goto oom;
            texts = nv;
            cap = nc;
        }
        if (!(texts[n] = rag_strndup(line, (size_t)got)))
            goto oom;
        n++;
    }
    scores = rag_malloc((n ? n : 1) * sizeof *scores);
    rk = rag_malloc((n ? n : 1) * sizeof *rk);
    if (!scores || !rk)
        goto oom;
    if (rag_reranker_score(r, query, (const char *const *)texts, n, scores, &err) < 0) {
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
    free(line);
    for (size_t i = 0; i < n; i++)
        rag_free(texts[i]);
    rag_free(texts);
    rag_free(scores);
    rag_free(rk);
    rag_reranker_destroy(r);
    return status;
}
