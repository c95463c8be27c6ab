/* cmd_embed.c - docrag embed: embed stdin lines with a local model.
 *
 *   docrag embed --model DIR [--precision f32|bf16|int8] [--threads N] < texts
 *
 * One text per input line (a trailing '\r' is dropped; empty lines embed
 * the empty text). Prints one JSON array of vectors, in input order, floats
 * with 9 significant digits (round-trips a float).
 *
 * The model is configured as a local back-end of its own (settings after
 * the user's --set flags) and the engine opened for its models only
 * (DOCRAG_SCOPE_MODELS): no database.
 */
#include "cli.h"
#include "cli_lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_USAGE "docrag embed --model DIR [--precision f32|bf16|int8] [--threads N] < lines"

int cmd_embed(int argc, char **argv)
{
    cli_common common;
    cli_model_sets ms;
    docrag_engine *e = NULL;
    docrag_error err;
    const char *model = NULL, *precision = NULL, *threads = NULL;
    char **texts = NULL;
    size_t n = 0, dim;
    float *vec = NULL;
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
        else
            return cli_usage(EMBED_USAGE);
    }
    if (!model || (precision && !cli_precision_known(precision)))
        return cli_usage(EMBED_USAGE);
    if (cli_model_sets_add(&ms, &common, "embed", model, precision, threads))
        return 2;
    common.engine.scope = DOCRAG_SCOPE_MODELS;
    if (cli_open(&e, NULL, &common))
        return 1;
    if (!docrag_embed_model(e)) {   /* not built: the call says why */
        docrag_embed(e, NULL, 0, NULL, &err);
        cli_error(&err);
        goto done;
    }
    if (cli_read_lines(&texts, &n) < 0) {
        fprintf(stderr, "docrag: out of memory reading stdin\n");
        goto done;
    }
    dim = docrag_embed_dim(e);
    vec = malloc((n ? n : 1) * (dim ? dim : 1) * sizeof *vec);
    if (!vec) {
        fprintf(stderr, "docrag: out of memory\n");
        goto done;
    }
    if (docrag_embed(e, (const char *const *)texts, n, vec, &err) < 0) {
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
    cli_lines_free(texts, n);
    free(vec);
    docrag_engine_close(e);
    return status;
}
