/* items.c - the loader of question files (eval_int.h: eval_items_load),
 * shared by the QA set (qa.c) and the answer set (answers.c). */
#include "eval_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append one zeroed item to *items and fill it from o; it counts in *n
 * even when fill fails partway, so the caller's fini frees what it holds. */
static int add_item(const eval_items_kind *k, void **items, size_t *n, size_t *cap, json_t *o,
                    const char *path, int lineno, rag_err *err)
{
    char *item;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        void *ni = rag_realloc(*items, nc * k->elem);
        if (!ni)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
        *items = ni;
        *cap = nc;
    }
    item = (char *)*items + *n * k->elem;
    memset(item, 0, k->elem);
    (*n)++;
    return k->fill(item, o, path, lineno, err);
}

/* RAG_EFORMAT when the last item's id is taken by an earlier one. */
static int check_unique(const eval_items_kind *k, const void *items, size_t n, const char *path,
                        int lineno, rag_err *err)
{
    const char *last = (const char *)items + (n - 1) * k->elem;
    for (size_t i = 0; i + 1 < n; i++) {
        const char *it = (const char *)items + i * k->elem;
        if (!strcmp(k->id(it), k->id(last)))
            return rag_fail(err, RAG_EFORMAT, "%s:%d: duplicate id \"%s\" (first on line %d)",
                            path, lineno, k->id(it), k->line(it));
    }
    return RAG_OK;
}

int eval_items_load(const eval_items_kind *k, const char *path, void **items, size_t *n,
                    rag_err *err)
{
    FILE *f;
    char *line = NULL;
    size_t line_cap = 0, cap = 0;
    ssize_t got;
    int lineno = 0, rc = RAG_OK;

    if (!(f = fopen(path, "r")))
        return rag_fail(err, RAG_ENOTFOUND, "%s: cannot open %s", path, k->what);
    while (rc == RAG_OK && (got = getline(&line, &line_cap, f)) >= 0) {
        json_t *o;
        json_error_t je;
        size_t start = 0;
        lineno++;
        while (start < (size_t)got && isspace((unsigned char)line[start]))
            start++;
        if (start == (size_t)got || line[start] == '#')
            continue;   /* blank lines and # comments */
        o = json_loadb(line + start, (size_t)got - start, 0, &je);
        if (!o)
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d: %s", path, lineno, je.text);
        else if (!json_is_object(o))
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d: expected a JSON object", path, lineno);
        else if ((rc = add_item(k, items, n, &cap, o, path, lineno, err)) == RAG_OK)
            rc = check_unique(k, *items, *n, path, lineno, err);
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (rc == RAG_OK && *n == 0)
        rc = rag_fail(err, RAG_EFORMAT, "%s: no questions", path);
    return rc;
}
