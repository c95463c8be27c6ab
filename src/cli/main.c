/* main.c - docrag entry point: dispatch to a subcommand. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_command commands[] = {
    {"index", cmd_index, "index files and folders (incremental)"},
    {"search", cmd_search, "rank chunks for a query"},
    {"ask", cmd_ask, "answer a question with citations"},
    {"eval", cmd_eval, "score retrieval on a BEIR collection"},
    {"stats", cmd_stats, "show index statistics"},
    {"docs", cmd_docs, "list documents: id, title, version, kind, pages, chunks"},
    {"check", cmd_check, "check the index for damage and inconsistencies"},
    {"store", cmd_store, "copy a SQLite index into a PostgreSQL store (store import)"},
    {"config", cmd_config, "show the effective configuration"},
    {"embed", cmd_embed, "embed stdin lines with a local model"},
    {"rerank", cmd_rerank, "rerank stdin passages for a query"},
    {"models", cmd_models, "pull or list model folders"},
    {"serve", cmd_serve, "serve the index over HTTP"},
    {"mcp", cmd_mcp, "serve the index to an MCP client on stdin/stdout"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: docrag [COMMON OPTIONS] COMMAND [options] [arguments]\n"
               "       docrag COMMAND --help | docrag help [COMMAND] | docrag --version\n"
               "\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\ncommon options (before or after the command):\n%s"
               "  --version          print the version and exit\n"
               "\nexample:\n  docrag index --db docs.db ~/specs && "
               "docrag --db docs.db ask \"What is RV32I?\"\n", cli_common_help);
}

static const cli_command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* A common option before the command: 1 (a flag), 2 (with its value), 0. */
static int common_width(const char *a)
{
    static const char *const with_value[] = {"--db", "--config", "--profile", "--set"};
    if (!strcmp(a, "-q") || !strcmp(a, "-v"))
        return 1;
    for (size_t w = 0; w < 4; w++) {
        size_t n = strlen(with_value[w]);
        if (!strncmp(a, with_value[w], n) && (a[n] == '\0' || a[n] == '='))
            return a[n] == '=' ? 1 : 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const cli_command *cmd;
    char **args;
    int first = 1, n = 0, rc;

    /* Buffers of 1 MB and more (model tensors while loading, activations,
     * vector matrices) go back to the system when freed (docrag.h). */
    docrag_tune_process();
    /* common options may come before the command: they move after it */
    while (first < argc && common_width(argv[first]))
        first += common_width(argv[first]);
    if (first > argc) {
        fprintf(stderr, "docrag: %s needs a value\n", argv[argc - 1]);
        return 2;
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[first], "--version") || !strcmp(argv[first], "-V")) {
        printf("docrag %s\n", docrag_version());
        return fflush(stdout) != 0;
    }
    if (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help") ||
        !strcmp(argv[first], "help")) {
        char help[] = "--help", *sub[3];
        if (first + 1 >= argc || argv[first][0] == '-') {
            usage(stdout);
            return fflush(stdout) != 0;
        }
        if (!(cmd = find(argv[first + 1]))) {
            fprintf(stderr, "docrag: help: unknown command '%s'\n", argv[first + 1]);
            return 2;
        }
        sub[0] = argv[first + 1];
        sub[1] = help;
        sub[2] = NULL;
        return cmd->run(2, sub);
    }
    if (!(cmd = find(argv[first]))) {
        char nb[CLI_NAME_BYTES];
        fprintf(stderr, "docrag: unknown %s '%s'\n",
                argv[first][0] == '-' ? "option" : "command", cli_name(nb, argv[first]));
        usage(stderr);
        return 2;
    }
    if (first == 1)
        return cmd->run(argc - 1, argv + 1);
    if (!(args = malloc(((size_t)argc + 1) * sizeof *args))) {
        fprintf(stderr, "docrag: out of memory\n");
        return 1;
    }
    args[n++] = argv[first];
    for (int i = 1; i < first; i++)
        args[n++] = argv[i];
    for (int i = first + 1; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    rc = cmd->run(n, args);
    free(args);
    return rc;
}
