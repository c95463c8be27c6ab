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

#define CHECK_USAGE "docrag check [--db F] [--config F] [--profile P] [--set KEY=VALUE]" \
                    " [-q|-v] [--json]"
#define MAX_SETS 256

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
    const char *sets[MAX_SETS];
    docrag_engine_opts eo;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_error err = {0};
    char *report = NULL;
    int json = 0, rc;

    docrag_engine_opts_init(&eo);
    eo.read_only = 1;
    eo.sets = sets;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "-q")) {
            eo.quiet = 1;
        } else if (!strcmp(a, "-v")) {
            eo.verbose = 1;
        } else if ((!strcmp(a, "--db") || !strcmp(a, "--config") || !strcmp(a, "--profile") ||
                    !strcmp(a, "--set")) && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--db"))
                eo.db_path = v;
            else if (!strcmp(a, "--config"))
                eo.config_path = v;
            else if (!strcmp(a, "--profile"))
                eo.profile = v;
            else if (!strchr(v, '=') || eo.n_sets == MAX_SETS)
                return cli_usage(CHECK_USAGE);
            else
                sets[eo.n_sets++] = v;
        } else {
            return cli_usage(CHECK_USAGE);
        }
    }
    if (docrag_engine_open(&e, &eo, &err) != 0 || docrag_session_open(&s, e, &err) != 0) {
        fprintf(stderr, "docrag: %s\n", err.msg);
        docrag_engine_close(e);
        return 1;
    }
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
    docrag_session_close(s);
    docrag_engine_close(e);
    return rc == 0 ? 0 : 1;
}
