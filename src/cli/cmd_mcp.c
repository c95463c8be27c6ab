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
    cli_common common;
    docrag_error err;
    const char *dbs[1];

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
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
        fprintf(stderr, "docrag: unknown option or argument: %s\nusage: %s\n", argv[i], usage);
        return 2;
    }
    docrag_server_opts_init(&o);
    o.engine = common.engine;   /* --config, --profile, --set, -q, -v */
    o.engine.db_path = NULL;
    if (common.engine.db_path) {
        dbs[0] = common.engine.db_path;
        o.dbs = dbs;
        o.n_dbs = 1;
    }
    if (docrag_mcp_stdio(&o, stdin, stdout, &err) != 0) {
        fprintf(stderr, "docrag: mcp: %s\n", err.msg);
        return 1;
    }
    return 0;
}
