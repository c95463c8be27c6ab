/* cmd_docs.c - docrag docs [--json]: the indexed documents with their
 * titles and versions, from docrag_documents on a read-only engine that
 * loads no models (DOCRAG_SCOPE_INDEX). Text: one line per document,
 * columns id, title, version, kind, pages, chunks, file; --json prints
 * docrag_documents' object as it is. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print docrag_documents' JSON ({\"documents\":[...]})"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "docs",
    "docrag docs [options]",
    "The indexed documents, one line each: id, title, version (or the date the\n"
    "document states), kind, pages, chunks, file. Titles and versions come from\n"
    "the documents themselves (docs/ingestion.md).",
    opts,
    "docrag docs --db docs.db\n"
    "docrag docs --json",
    1,
};

static void print_text(const json_t *o)
{
    const json_t *docs = json_object_get(o, "documents");
    size_t i;
    json_t *d;

    printf("%4s  %-60s  %-18s  %-8s  %5s  %6s  %s\n", "id", "title", "version", "kind",
           "pages", "chunks", "file");
    json_array_foreach(docs, i, d) {
        char tb[CLI_NAME_BYTES], vb[CLI_NAME_BYTES], fb[CLI_NAME_BYTES];
        const char *version = cli_str(d, "version"), *date = cli_str(d, "date");
        char vd[128];
        /* the version, else the date the document states, else "-" */
        snprintf(vd, sizeof vd, "%s", version[0] ? version : date[0] ? date : "-");
        printf("%4lld  %-60s  %-18s  %-8s  %5lld  %6lld  %s\n", cli_int(d, "id"),
               cli_name(tb, cli_str(d, "title")), cli_name(vb, vd), cli_str(d, "kind"),
               cli_int(d, "pages"), cli_int(d, "chunks"), cli_name(fb, cli_str(d, "name")));
    }
    if (json_array_size(docs) == 0)
        printf("no documents\n");
}

int cmd_docs(int argc, char **argv)
{
    return cli_report(argc, argv, &help, docrag_documents, print_text);
}
