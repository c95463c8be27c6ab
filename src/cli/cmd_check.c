/* cmd_check.c - docrag check [--db F] [--json]: is the index sound?
 *
 * Runs docrag_check (SQLite's integrity_check and docrag's own invariants,
 * docs/check.md) on a read-only engine, so it also works on read-only
 * storage and beside a running indexer. Uses docrag.h only.
 *
 * Output: one line per problem on stdout ("DB: CHECK: MESSAGE"), or one
 * "ok" line; --json prints the report object instead. Exit status: 0
 * consistent, 1 problems found or the check could not run (message on
 * stderr), 2 usage.
 */
#include "cli.h"

#include "docrag.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the report as JSON"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "check",
    "docrag check [options]",
    "Check the index for damage and inconsistencies: SQLite's integrity_check\n"
    "and docrag's own invariants (docs/check.md). Exit status 0 consistent,\n"
    "1 problems found (one line each) or the check could not run.",
    opts,
    "docrag check --db docs.db",
    1,
};

static int print_text(const char *report)
{
    json_error_t jerr;
    json_t *o = json_loads(report, 0, &jerr), *p, *c;
    char name[CLI_NAME_BYTES];
    const char *db;
    size_t i;

    if (!o) {
        fprintf(stderr, "docrag: check: unreadable report: %s\n", jerr.text);
        return 1;
    }
    db = cli_name(name, json_string_value(json_object_get(o, "db")));
    c = json_object_get(o, "checked");
    json_array_foreach(json_object_get(o, "problems"), i, p) {
        char msg[CLI_NAME_BYTES];
        printf("%s: %s: %s\n", db, json_string_value(json_object_get(p, "check")),
               cli_name(msg, json_string_value(json_object_get(p, "message"))));
    }
    if (json_integer_value(json_object_get(o, "unlisted")) > 0)
        printf("%s: and %lld more problems\n", db,
               (long long)json_integer_value(json_object_get(o, "unlisted")));
    if (json_is_true(json_object_get(o, "ok")))
        printf("ok: %s: %lld documents, %lld pages, %lld chunks, %lld vectors, %lld postings"
               " checked\n", db,
               (long long)json_integer_value(json_object_get(c, "documents")),
               (long long)json_integer_value(json_object_get(c, "pages")),
               (long long)json_integer_value(json_object_get(c, "chunks")),
               (long long)json_integer_value(json_object_get(c, "vectors")),
               (long long)json_integer_value(json_object_get(c, "postings")));
    json_decref(o);
    return 0;
}

int cmd_check(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_error err = {0};
    char *report = NULL, nb[CLI_NAME_BYTES];
    cli_args ar;
    int json = 0, opt, rc;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == 0)
            json = 1;
        else if (opt == CLI_ARGS_POS)
            return cli_bad(&help, "unexpected argument '%s'", cli_name(nb, ar.value));
        else
            return cli_args_exit(opt);
    }
    common.engine.read_only = 1;
    if (cli_open(&e, &s, &common))
        return 1;
    rc = docrag_check(s, &report, &err);
    if (report) {
        if (json)
            printf("%s\n", report);
        else if (print_text(report) != 0)
            rc = DOCRAG_ENOMEM;
    }
    if (rc != 0)
        fprintf(stderr, "docrag: %s\n", err.msg);
    docrag_free(report);
    cli_close(e, s);
    return rc == 0 ? 0 : 1;
}
