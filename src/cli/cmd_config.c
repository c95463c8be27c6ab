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

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the configuration as JSON"},
    {"--no-origin", NULL, NULL, "leave out where each value came from"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "config",
    "docrag config show [options]",
    "Print the effective configuration (defaults < profile < file < DOCRAG_*\n"
    "< flags), secrets masked, each value with where it came from.",
    opts,
    "docrag --set search.k=20 config show --no-origin",
    1,
};

int cmd_config(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_error err;
    unsigned flags = DOCRAG_CONFIG_ORIGIN;
    char *text = NULL, nb[CLI_NAME_BYTES];
    cli_args ar;
    int rc = 1, opt, show = 0;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == 0)
            flags |= DOCRAG_CONFIG_JSON;
        else if (opt == 1)
            flags &= ~(unsigned)DOCRAG_CONFIG_ORIGIN;
        else if (opt == CLI_ARGS_POS && !show && !strcmp(ar.value, "show"))
            show = 1;
        else if (opt == CLI_ARGS_POS)
            return cli_bad(&help, "unexpected argument '%s' (the subcommand is 'show')",
                           cli_name(nb, ar.value));
        else
            return cli_args_exit(opt);
    }
    if (!show)
        return cli_bad(&help, "no subcommand given (the one there is: show)");
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
