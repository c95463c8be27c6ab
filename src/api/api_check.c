/* api_check.c - docrag_check: rag_index_check on the session's read-only
 * connection, as JSON.
 *
 * The report is the same whether or not problems were found, so a caller
 * prints or stores it either way; the return code says which
 * (DOCRAG_EFORMAT: the index is inconsistent).
 */
#include "api_int.h"

#include <stdio.h>

int docrag_check(docrag_session *s, char **report_json, docrag_error *derr)
{
    rag_check_report r;
    rag_err err = {0};
    json_t *o, *problems;
    size_t n_found;
    int rc;

    *report_json = NULL;
    if (api_session_sync(s, &err) < 0)
        return api_err(derr, &err);
    rc = rag_index_check(s->ix, &r, &err);
    if (rc < 0)
        return api_err(derr, &err);
    n_found = r.n_problems + r.n_unlisted;
    problems = json_array();
    for (size_t i = 0; problems && i < r.n_problems; i++)
        json_array_append_new(problems, json_pack("{s:s,s:s}", "check", r.problems[i].check,
                                                  "message", r.problems[i].message));
    o = json_pack("{s:s,s:b,s:I,s:o,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "db",
                  rag_index_path(s->ix), "ok", n_found == 0, "n_problems",
                  (json_int_t)n_found, "problems", problems, "unlisted",
                  (json_int_t)r.n_unlisted, "checked", "documents",
                  (json_int_t)r.n_documents, "pages", (json_int_t)r.n_pages, "chunks",
                  (json_int_t)r.n_chunks, "vectors", (json_int_t)r.n_vectors, "terms",
                  (json_int_t)r.n_terms, "postings", (json_int_t)r.n_postings);
    if (n_found > 0)
        rag_fail(&err, RAG_EFORMAT, "%s: %zu problem%s, the first: %s: %s",
                 rag_index_path(s->ix), n_found, n_found == 1 ? "" : "s",
                 r.problems[0].check, r.problems[0].message);
    rag_check_report_fini(&r);
    if (api_take_json(o, report_json, &err) < 0)
        return api_err(derr, &err);
    return n_found ? api_err(derr, &err) : DOCRAG_OK;
}
