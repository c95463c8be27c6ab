/* main.c - docrag entry point: dispatch to a subcommand. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
    {"index", cmd_index, "index files and folders (incremental)"},
    {"search", cmd_search, "rank chunks for a query"},
    {"ask", cmd_ask, "answer a question with citations"},
    {"eval", cmd_eval, "score retrieval on a BEIR collection"},
    {"stats", cmd_stats, "show index statistics"},
    {"docs", cmd_docs, "list documents: id, title, version, kind, pages, chunks"},
    {"check", cmd_check, "check the index for damage and inconsistencies"},
    {"config", cmd_config, "show the effective configuration"},
    {"embed", cmd_embed, "embed stdin lines with a local model"},
    {"rerank", cmd_rerank, "rerank stdin passages for a query"},
    {"models", cmd_models, "pull or list model folders"},
    {"serve", cmd_serve, "serve the index over HTTP"},
    {"mcp", cmd_mcp, "serve the index to an MCP client on stdin/stdout"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: docrag COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\ncommon options: --db FILE  --config FILE  --profile NAME"
               "  --set KEY=VALUE  -q  -v\n");
}

int main(int argc, char **argv)
{
    /* Buffers of 1 MB and more (model tensors while loading, activations,
     * vector matrices) go back to the system when freed (docrag.h). */
    docrag_tune_process();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "docrag: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
