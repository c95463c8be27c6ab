/* cli_lines.c - stdin lines and one-model settings (cli_lines.h). */
#include "cli_lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_read_lines(char ***out, size_t *n_out)
{
    char *line = NULL, **v = NULL;
    size_t cap_line = 0, n = 0, cap = 0;
    ssize_t got;

    *out = NULL;
    *n_out = 0;
    while ((got = getline(&line, &cap_line, stdin)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv)
                goto oom;
            v = nv;
            cap = nc;
        }
        if (!(v[n] = strndup(line, (size_t)got)))
            goto oom;
        n++;
    }
    free(line);
    *out = v;
    *n_out = n;
    return 0;
oom:
    free(line);
    cli_lines_free(v, n);
    return -1;
}

void cli_lines_free(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

int cli_precision_known(const char *s)
{
    return !strcmp(s, "f32") || !strcmp(s, "bf16") || !strcmp(s, "int8");
}

/* The back-end's name: one no configuration file is expected to use. */
#define CLI_BACKEND "cli_model"

int cli_model_sets_add(cli_model_sets *ms, cli_common *c, const char *stage,
                       const char *model, const char *precision, const char *threads)
{
    int k = 0;
    if (strlen(model) > sizeof ms->text[0] - 64) {
        fprintf(stderr, "docrag: --model: path too long\n");
        return 2;
    }
    snprintf(ms->text[k++], sizeof ms->text[0], "chains.%s=" CLI_BACKEND, stage);
    snprintf(ms->text[k++], sizeof ms->text[0], "chains.%s=none",
             strcmp(stage, "embed") ? "embed" : "rerank");
    snprintf(ms->text[k++], sizeof ms->text[0], "backends." CLI_BACKEND ".type=local");
    snprintf(ms->text[k++], sizeof ms->text[0], "backends." CLI_BACKEND ".model=%s", model);
    if (precision)
        snprintf(ms->text[k++], sizeof ms->text[0], "backends." CLI_BACKEND ".precision=%s",
                 precision);
    if (threads)
        snprintf(ms->text[k++], sizeof ms->text[0], "backends." CLI_BACKEND ".threads=%d",
                 atoi(threads));
    for (int i = 0; i < k; i++)
        if (cli_common_set(c, ms->text[i]))
            return 2;
    return 0;
}
