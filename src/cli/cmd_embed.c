/* cmd_embed.c - docrag embed: embed stdin lines with a local model.
 *
 *   docrag embed --model DIR [--precision f32|bf16|int8] [--threads N] < texts
 *
 * One text per input line (a trailing '\r' is dropped; empty lines embed
 * the empty text). Prints one JSON array of vectors, in input order, floats
 * with 9 significant digits (round-trips a float).
 */
#include "cli.h"
#include "embed/embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_USAGE "docrag embed --model DIR [--precision f32|bf16|int8] [--threads N] < lines"

/* Shared with cmd_rerank.c's pattern: read stdin lines into an array. */
static int read_lines(char ***out, size_t *n_out)
{
    char *line = NULL, **v = NULL;
    size_t cap_line = 0, n = 0, cap = 0;
    ssize_t got;

    while ((got = getline(&line, &cap_line, stdin)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **nv = rag_realloc(v, nc * sizeof *nv);
            if (!nv)
                goto oom;
            v = nv;
            cap = nc;
        }
        if (!(v[n] = rag_strndup(line, (size_t)got)))
            goto oom;
        n++;
    }
    free(line);
    *out = v;
    *n_out = n;
    return 0;
oom:
    free(line);
    for (size_t i = 0; i < n; i++)
        rag_free(v[i]);
    rag_free(v);
    return -1;
}

int cmd_embed(int argc, char **argv)
{
    cli_common common;
    const char *model = NULL;
    rag_model_opts opts = rag_model_default_opts();
    rag_embedder *e = NULL;
    rag_err err = {0};
    char **texts = NULL;
    size_t n = 0, dim;
    float *vec = NULL;
    int status = 1;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            int p = rag_precision_parse(argv[++i]);
            if (p < 0)
                return cli_usage(EMBED_USAGE);
            opts.precision = (rag_precision)p;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            opts.n_threads = atoi(argv[++i]);
        } else {
            return cli_usage(EMBED_USAGE);
        }
    }
    if (!model)
        return cli_usage(EMBED_USAGE);
    if (rag_embedder_local_create(&e, model, &opts, &err) < 0)
        return cli_error(&err);
    if (read_lines(&texts, &n) < 0) {
        fprintf(stderr, "docrag: out of memory reading stdin\n");
        goto done;
    }
    dim = rag_embedder_dim(e);
    vec = rag_malloc((n ? n : 1) * dim * sizeof *vec);
    if (!vec) {
        fprintf(stderr, "docrag: out of memory\n");
        goto done;
    }
    if (rag_embedder_embed(e, (const char *const *)texts, n, vec, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n[" : "[", stdout);
        for (size_t d = 0; d < dim; d++)
            printf(d ? ",%.9g" : "%.9g", (double)vec[i * dim + d]);
        putchar(']');
    }
    fputs("]\n", stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
done:
    for (size_t i = 0; i < n; i++)
        rag_free(texts[i]);
    rag_free(texts);
    rag_free(vec);
    rag_embedder_destroy(e);
    return status;
}
