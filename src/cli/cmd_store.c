/* cmd_store.c - docrag store import SRC.db --db postgres://… [--json]
 *
 * Copies an existing SQLite index into an empty PostgreSQL store
 * (docrag_store_import), the first step of docs/scaling.md's recipe. The
 * engine is opened for its configuration only: the target is the db it
 * names, which must be a postgres:// URL; the source is opened read-only.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the report as JSON"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "store",
    "docrag store import SRC.db --db postgres://USER@HOST/DB [options]",
    "Copy the SQLite index SRC.db into the (empty) PostgreSQL store that --db\n"
    "or db: names: every row, ids and BM25 postings kept, in one transaction.\n"
    "Replicas (`docrag serve` on the store) take a full copy of it.",
    opts,
    "docrag store import docs.db --db 'postgres://docrag:${PGPASSWORD}@db1/docrag'",
    1,
};

int cmd_store(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_error err;
    char *out = NULL, nb[CLI_NAME_BYTES];
    const char *src = NULL;
    json_t *o = NULL;
    cli_args ar;
    int rc = 1, opt, json = 0, import = 0;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == 0)
            json = 1;
        else if (opt == CLI_ARGS_POS && !import && !strcmp(ar.value, "import"))
            import = 1;
        else if (opt == CLI_ARGS_POS && import && !src)
            src = ar.value;
        else if (opt == CLI_ARGS_POS)
            return cli_bad(&help, "unexpected argument '%s'%s", cli_name(nb, ar.value),
                           import ? "" : " (the subcommand is 'import')");
        else
            return cli_args_exit(opt);
    }
    if (!import)
        return cli_bad(&help, "no subcommand given (the one there is: import)");
    if (!src)
        return cli_bad(&help, "import: the SQLite index to copy (SRC.db) is missing");
    common.engine.scope = DOCRAG_SCOPE_CONFIG;
    if (cli_open(&e, NULL, &common))
        return 1;
    if (docrag_store_import(e, src, &out, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    if (json) {
        rc = cli_print_json(out);
        out = NULL;
    } else if ((o = cli_json(out))) {
        printf("imported %lld documents, %lld pages, %lld chunks from %s into %s\n",
               cli_int(o, "documents"), cli_int(o, "pages"), cli_int(o, "chunks"),
               cli_name(nb, cli_str(o, "from")), cli_str(o, "db"));
        rc = fflush(stdout) != 0;
    }
done:
    json_decref(o);
    docrag_free(out);
    cli_close(e, NULL);
    return rc;
}
