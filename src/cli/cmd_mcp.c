/* cmd_mcp.c - docrag mcp [--db F] [--config F] [--profile P] [--set K=V]...:
 * the index as a Model Context Protocol server on stdin/stdout, for an
 * agent that starts docrag as its tool process (docs/server.md, MCP).
 * stdout carries protocol messages only; everything else goes to stderr.
 */
#include "cli.h"

#include "docrag_server.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "docrag mcp [--db F] [--config F] [--profile P] [--set KEY=VALUE]... [-q] [-v]";

int cmd_mcp(int argc, char **argv)
{
    docrag_server_opts o;
    docrag_error err;
    const char *dbs[1], *sets[64];
    size_t n_dbs = 0, n_sets = 0;

    docrag_server_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: %s\n\n"
                   "Serve the index to one MCP client over stdio: newline-delimited\n"
                   "JSON-RPC on stdin and stdout (tools search, ask, get_page), logs on\n"
                   "stderr, exit 0 when stdin ends. The database is opened read-only.\n"
                   "  --db F        the database (default: $DOCRAG_DB, db: in the config,\n"
                   "                ./docrag.db)\n"
                   "  --config F, --profile P, --set KEY=VALUE, -q, -v  as for every command\n"
                   "\nexample (an MCP client's server entry):\n"
                   "  {\"command\": \"docrag\", \"args\": [\"mcp\", \"--db\", \"/data/docrag.db\"]}\n",
                   usage);
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
        if (!strcmp(a, "--db")) {
            if (n_dbs) {
                fprintf(stderr, "docrag: mcp serves one --db\n");
                return 2;
            }
            dbs[n_dbs++] = v;
        } else if (!strcmp(a, "--config")) {
            o.engine.config_path = v;
        } else if (!strcmp(a, "--profile")) {
            o.engine.profile = v;
        } else if (!strcmp(a, "--set")) {
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
    o.dbs = dbs;
    o.n_dbs = n_dbs;
    o.engine.sets = sets;
    o.engine.n_sets = n_sets;
    if (docrag_mcp_stdio(&o, stdin, stdout, &err) != 0) {
        fprintf(stderr, "docrag: mcp: %s\n", err.msg);
        return 1;
    }
    return 0;
}
