/* cmd_serve.c - docrag serve [--host H] [--port P] [--db [NAME=]FILE]...
 * [--workers N]: the HTTP server (include/docrag_server.h, docs/server.md).
 */
#include "cli.h"

#include "docrag_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_HOST, OPT_PORT, OPT_DB, OPT_WORKERS };

static const cli_opt opts[] = {
    {"--host", NULL, "H", "address to bind (server.host; default 127.0.0.1,\nhf_spaces 0.0.0.0)"},
    {"--port", NULL, "P", "port, 0..65535 (server.port; default 8080, hf_spaces 7860;\n0 = any)"},
    {"--db", NULL, "[NAME=]F", "database to serve; NAME=F serves it as collection NAME;\n"
                               "repeat for several (the first is the default)"},
    {"--workers", NULL, "N", "worker threads, 1..256 (server.workers; default: one per core)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "serve",
    "docrag serve [options]",
    "Serve the index over HTTP: the JSON API, SSE streams, the web UI and\n"
    "/metrics (routes: docs/server.md).",
    opts,
    "docrag serve --db docs=docrag.db --port 0",
    1,
};

int cmd_serve(int argc, char **argv)
{
    docrag_server_opts o;
    cli_common common;
    docrag_error err;
    const char *dbs[16];
    size_t n_dbs = 0;
    cli_args ar;
    char nb[CLI_NAME_BYTES];
    int out = 1, opt;

    /* --db is repeatable here (one collection each): taken out before the
     * common flags (--config, --profile, --set, -q, -v) are */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(a, "--db") && strncmp(a, "--db=", 5)) {
            argv[out++] = argv[i];
            continue;
        }
        if (!a[4] && i + 1 >= argc)
            return cli_bad(&help, "--db needs a value ([NAME=]F)");
        if (n_dbs == sizeof dbs / sizeof dbs[0])
            return cli_bad(&help, "at most %zu --db", sizeof dbs / sizeof dbs[0]);
        dbs[n_dbs++] = a[4] ? a + 5 : argv[++i];
    }
    argc = out;
    argv[argc] = NULL;
    if (cli_common_parse(&common, &argc, argv))
        return 2;
    docrag_server_opts_init(&o);
    o.engine = common.engine;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == OPT_HOST)
            o.host = ar.value;
        else if (opt == OPT_PORT) {
            if (cli_args_int(&ar, 0, 65535, &o.port))
                return 2;
        } else if (opt == OPT_WORKERS) {
            if (cli_args_int(&ar, 1, 256, &o.workers))
                return 2;
        } else if (opt == CLI_ARGS_POS)
            return cli_bad(&help, "unexpected argument '%s'", cli_name(nb, ar.value));
        else
            return cli_args_exit(opt);
    }
    o.dbs = dbs;
    o.n_dbs = n_dbs;
    if (docrag_server_run(&o, &err) != 0) {
        fprintf(stderr, "docrag: serve: %s\n", err.msg);
        return 1;
    }
    return 0;
}
