/* cmd_config.c - docrag config show [--json] [--no-origin]
 *
 * Prints the effective configuration (defaults < profile < file < DOCRAG_*
 * < flags) with secrets masked and, unless --no-origin, where each value
 * came from. The engine is opened for its configuration only: no database
 * is needed or created. --db is a command-line value like --set db=F.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define USAGE "docrag config show [--json] [--no-origin] [--config F] [--profile P] " \
              "[--set KEY=VALUE]..."

int cmd_config(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_error err;
    unsigned flags = DOCRAG_CONFIG_ORIGIN;
    char *text = NULL;
    int rc = 1;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    if (argc < 2 || strcmp(argv[1], "show") != 0)
        return cli_usage(USAGE);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            flags |= DOCRAG_CONFIG_JSON;
        else if (!strcmp(argv[i], "--no-origin"))
            flags &= ~(unsigned)DOCRAG_CONFIG_ORIGIN;
        else
            return cli_usage(USAGE);
    }
    common.engine.scope = DOCRAG_SCOPE_CONFIG;
    if (cli_open(&e, NULL, &common))
        return 1;
    if (docrag_engine_config_show(e, flags, &text, &err) < 0) {
        cli_error(&err);
    } else {
        fputs(text, stdout);
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    docrag_free(text);
    docrag_engine_close(e);
    return rc;
}
