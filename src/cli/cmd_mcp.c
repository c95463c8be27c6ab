/* cmd_mcp.c - docrag mcp [--db F] [--config F] [--profile P] [--set K=V]...:
 * the index as a Model Context Protocol server on stdin/stdout, for an
 * agent that starts docrag as its tool process (docs/server.md, MCP).
 * stdout carries protocol messages only; everything else goes to stderr.
 */
#include "cli.h"

#include "docrag_server.h"

#include <stdio.h>
#include <string.h>

static const cli_help help = {
    "mcp",
    "docrag mcp [options]",
    "Serve the index to one MCP client over stdio: newline-delimited JSON-RPC on\n"
    "stdin and stdout (tools search, ask, get_page), logs on stderr, exit 0 when\n"
    "stdin ends. The database is opened read-only.",
    NULL,
    "an MCP client's server entry:\n"
    "  {\"command\": \"docrag\", \"args\": [\"mcp\", \"--db\", \"/data/docrag.db\"]}",
    1,
};

int cmd_mcp(int argc, char **argv)
{
    docrag_server_opts o;
    cli_common common;
    docrag_error err;
    const char *dbs[1];
    cli_args ar;
    char nb[CLI_NAME_BYTES];
    int opt;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == CLI_ARGS_POS)
            return cli_bad(&help, "unexpected argument '%s'", cli_name(nb, ar.value));
        return cli_args_exit(opt);
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
