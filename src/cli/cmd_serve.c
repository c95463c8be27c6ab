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
    docrag_error err;
    const char *dbs[16], *sets[64];
    size_t n_dbs = 0, n_sets = 0;

    docrag_server_opts_init(&o);
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
        if (!strcmp(a, "-q")) {
            o.engine.quiet = 1;
            continue;
        }
        if (!strcmp(a, "-v")) {
            o.engine.verbose = 1;
            continue;
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
        } else if (!strcmp(a, "--db")) {
            if (n_dbs == sizeof dbs / sizeof dbs[0]) {
                fprintf(stderr, "docrag: at most 16 --db\n");
                return 2;
            }
            dbs[n_dbs++] = v;
        } else if (!strcmp(a, "--config"))
            o.engine.config_path = v;
        else if (!strcmp(a, "--profile"))
            o.engine.profile = v;
        else if (!strcmp(a, "--set")) {
            if (n_sets == sizeof sets / sizeof sets[0]) {
                fprintf(stderr, "docrag: at most 64 --set\n");
                return 2;
            }
            sets[n_sets++] = v;
        } else {
            fprintf(stderr, "docrag: unknown option %s\nusage: %s\n", a, usage);
            return 2;
        }
        i++;
    }
    if (!n_dbs && getenv("DOCRAG_DB") == NULL) {
        /* the configured database (server.collections or db:) */
    }
    o.dbs = dbs;
    o.n_dbs = n_dbs;
    o.engine.sets = sets;
    o.engine.n_sets = n_sets;
    if (docrag_server_run(&o, &err) != 0) {
        fprintf(stderr, "docrag: serve: %s\n", err.msg);
        return 1;
    }
    return 0;
}
