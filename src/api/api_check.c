/* api_check.c - docrag_check: rag_index_check on the session's read-only
 * connection, as JSON.
 *
 * The report is the same whether or not problems were found, so a caller
 * prints or stores it either way; the return code says which
 * (DOCRAG_EFORMAT: the index is inconsistent).
 *
 * On a postgres:// db the local copy is checked, and then compared with
 * the store table by table (rag_replica_verify: row counts and max ids in
 * one snapshot): "store" in the report, a difference is a problem.
 */
#include "api_int.h"

#include "index/replica.h"

#include <stdio.h>

/* {"endpoint","tables":[{"table","copy_rows","store_rows","copy_max_id",
 * "store_max_id"}]}; a difference is appended to problems (*n_found + 1). */
static int verify_store(docrag_engine *e, json_t *problems, size_t *n_found, json_t **out,
                        rag_err *err)
{
    rag_replica_table_count t[16];
    rag_err verr = {0};
    json_t *tables = json_array();
    int n = 0, rc = rag_replica_verify(e->replica, t, 16, &n, &verr);

    if (rc < 0) {
        json_decref(tables);
        *err = verr;
        return rc;
    }
    for (int i = 0; tables && i < n && i < 16; i++)
        json_array_append_new(tables, json_pack("{s:s,s:I,s:I,s:I,s:I}", "table", t[i].table,
                                                "copy_rows", (json_int_t)t[i].mirror_rows,
                                                "store_rows", (json_int_t)t[i].pg_rows,
                                                "copy_max_id", (json_int_t)t[i].mirror_max_id,
                                                "store_max_id", (json_int_t)t[i].pg_max_id));
    if (rc == 1) {
        json_array_append_new(problems, json_pack("{s:s,s:s}", "check", "store", "message",
                                                  verr.msg));
        (*n_found)++;
    }
    *out = json_pack("{s:s,s:o,s:b}", "endpoint", rag_replica_endpoint(e->replica), "tables",
                     tables, "same", rc == 0);
    return RAG_OK;
}

int docrag_check(docrag_session *s, char **report_json, docrag_error *derr)
{
    rag_check_report r;
    rag_err err = {0};
    json_t *o, *problems, *st_json = NULL;
    char first_store_problem[256] = "";
    size_t n_found;
    int rc;

    *report_json = NULL;
    rc = rag_index_check(s->ix, &r, &err);
    if (rc < 0)
        return api_err(derr, &err);
    n_found = r.n_problems + r.n_unlisted;
    problems = json_array();
    for (size_t i = 0; problems && i < r.n_problems; i++)
        json_array_append_new(problems, json_pack("{s:s,s:s}", "check", r.problems[i].check,
                                                  "message", r.problems[i].message));
    if (s->e->replica) {
        size_t before = n_found;
        json_t *store = NULL;
        if ((rc = verify_store(s->e, problems, &n_found, &store, &err)) < 0) {
            json_decref(problems);
            rag_check_report_fini(&r);
            return api_err(derr, &err);
        }
        st_json = store;
        if (n_found > before && !first_store_problem[0])
            snprintf(first_store_problem, sizeof first_store_problem, "%s",
                     json_string_value(json_object_get(
                         json_array_get(problems, json_array_size(problems) - 1), "message")));
    }
    o = json_pack("{s:s,s:b,s:I,s:o,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "db",
                  rag_index_path(s->ix), "ok", n_found == 0, "n_problems",
                  (json_int_t)n_found, "problems", problems, "unlisted",
                  (json_int_t)r.n_unlisted, "checked", "documents",
                  (json_int_t)r.n_documents, "pages", (json_int_t)r.n_pages, "chunks",
                  (json_int_t)r.n_chunks, "vectors", (json_int_t)r.n_vectors, "terms",
                  (json_int_t)r.n_terms, "postings", (json_int_t)r.n_postings);
    if (o && st_json)
        json_object_set_new(o, "store", st_json);
    else
        json_decref(st_json);
    if (n_found > 0)
        rag_fail(&err, RAG_EFORMAT, "%s: %zu problem%s, the first: %s: %s",
                 rag_index_path(s->ix), n_found, n_found == 1 ? "" : "s",
                 r.n_problems ? r.problems[0].check : "store",
                 r.n_problems ? r.problems[0].message : first_store_problem);
    rag_check_report_fini(&r);
    if (api_take_json(o, report_json, &err) < 0)
        return api_err(derr, &err);
    return n_found ? api_err(derr, &err) : DOCRAG_OK;
}
