/* cmd_serve.c - docrag serve [--host H] [--port P] [--db [NAME=]FILE]...
 * [--workers N]: the HTTP server (include/docrag_server.h, docs/server.md).
 */
#include "cli.h"

#include "docrag_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "docrag serve [--host H] [--port P] [--db [NAME=]FILE]... [--workers N] [--config F]";

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        fprintf(stderr, "docrag: %s '%s': expected an integer from %d to %d\n", flag, v, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    docrag_server_opts o;
    cli_common common;
    docrag_error err;
    const char *dbs[16];
    size_t n_dbs = 0;
    int out = 1;

    /* --db is repeatable here (one collection each): taken out before the
     * common flags (--config, --profile, --set, -q, -v) are */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db")) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "docrag: --db needs a value\nusage: %s\n", usage);
            return 2;
        }
        if (n_dbs == sizeof dbs / sizeof dbs[0]) {
            fprintf(stderr, "docrag: at most 16 --db\n");
            return 2;
        }
        dbs[n_dbs++] = argv[++i];
    }
    argc = out;
    argv[argc] = NULL;
    if (cli_common_parse(&common, &argc, argv))
        return 2;
    docrag_server_opts_init(&o);
    o.engine = common.engine;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: %s\n\nServe the index over HTTP (routes: docs/server.md).\n"
                   "  --host H      address to bind (server.host; default 127.0.0.1,\n"
                   "                hf_spaces 0.0.0.0)\n"
                   "  --port P      port (server.port; default 8080, hf_spaces 7860; 0 = any)\n"
                   "  --db F        database to serve; NAME=F serves it as collection NAME;\n"
                   "                repeat for several (the first is the default)\n"
                   "  --workers N   worker threads (server.workers; default: one per core)\n"
                   "  --config F, --profile P, --set KEY=VALUE, -q, -v  as for every command\n"
                   "\nexample: docrag serve --db docs=docrag.db --port 0\n", usage);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "docrag: unknown option or missing value: %s\nusage: %s\n", a,
                    usage);
            return 2;
        }
        if (!strcmp(a, "--host"))
            o.host = v;
        else if (!strcmp(a, "--port")) {
            if (parse_int("--port", v, 0, 65535, &o.port))
                return 2;
        } else if (!strcmp(a, "--workers")) {
            if (parse_int("--workers", v, 1, 256, &o.workers))
                return 2;
        } else {
            fprintf(stderr, "docrag: unknown option %s\nusage: %s\n", a, usage);
            return 2;
        }
        i++;
    }
    o.dbs = dbs;
    o.n_dbs = n_dbs;
    if (docrag_server_run(&o, &err) != 0) {
        fprintf(stderr, "docrag: serve: %s\n", err.msg);
        return 1;
    }
    return 0;
}
