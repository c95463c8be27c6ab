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

static const cli_opt opts[] = {
    {"--model", NULL, "DIR", "the sentence-transformers model folder (required)"},
    {"--precision", NULL, "P", "f32, bf16 or int8 (default: the back-end's, f32)"},
    {"--threads", NULL, "N", "threads, 0..256 (default: 0, one per core)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "embed",
    "docrag embed --model DIR [options] < lines",
    "Embed each line of stdin with a local model; print one JSON array of\n"
    "vectors in input order (floats with 9 significant digits).",
    opts,
    "printf 'hello\\nworld\\n' | docrag embed --model models/sentence-transformers/all-MiniLM-L6-v2",
    1,
};

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
    cli_args ar;
    char nb[CLI_NAME_BYTES];
    int status = 1, opt, n_threads = 0;

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
            return cli_bad(&help, "unexpected argument '%s' (the texts come on stdin)",
                           cli_name(nb, ar.value));
        else
            return cli_args_exit(opt);
    }
    if (!model)
        return cli_bad(&help, "--model DIR is required");
    if (precision && !cli_precision_known(precision))
        return cli_bad(&help, "--precision '%s': expected f32, bf16 or int8",
                       cli_name(nb, precision));
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
