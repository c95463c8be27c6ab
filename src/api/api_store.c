/* api_store.c - docrag_store_import: a SQLite index into a PostgreSQL
 * store (docs/scaling.md, the way onto replicas for an existing index).
 *
 * The rows are copied by store_pg_import.c in one PostgreSQL transaction,
 * ids and postings segments kept, with one change-log row that carries no
 * changeset: every replica that follows the store takes a full copy, so a
 * replica started before the import serves the imported index too.
 */
#include "api_int.h"
#include "render.h"

#include "index/pg_conn.h"
#include "index/store_pg.h"

#include <string.h>

int docrag_store_import(docrag_engine *e, const char *src_path, char **report,
                        docrag_error *derr)
{
    const char *url = e->cfg->db_path;
    rag_pg_opts po = rag_pg_opts_from_config(e->cfg);
    rag_index_stats st;
    rag_index *src = NULL;
    rag_store *dst = NULL;
    rag_err err = {0};
    char ep[256];
    json_t *o;
    int rc;

    if (report)
        *report = NULL;
    if (!src_path || !*src_path)
        return api_err(derr, &(rag_err){RAG_EINVAL, "import: the SQLite index to copy is "
                                        "missing"});
    if (!rag_pg_is_url(url))
        return api_err(derr, &(rag_err){RAG_EINVAL, "import: db must be a postgres:// URL "
                                        "(--db postgres://USER@HOST/DB)"});
    if ((rc = rag_pg_endpoint_of(ep, sizeof ep, url, &err)) < 0)
        return api_err(derr, &err);
    if (rag_pg_is_url(src_path))
        return api_err(derr, &(rag_err){RAG_EINVAL, "import: the source must be a SQLite "
                                        "index file"});
    memset(&st, 0, sizeof st);
    rc = rag_index_open(&src, src_path, RAG_INDEX_READ_ONLY, &err);
    if (rc == RAG_OK)
        rc = rag_index_counts_get(src, &st, &err);
    if (rc == RAG_OK)
        rc = rag_store_pg_open(&dst, url, &po, 0, &err);
    if (rc == RAG_OK)
        rc = rag_store_pg_import_sqlite(dst, src, &err);
    if (dst)
        dst->ops->close(dst);
    rag_index_close(src);
    if (rc < 0)
        return api_err(derr, &err);
    o = json_pack("{s:s,s:o,s:I,s:I,s:I}", "db", ep, "from", rag_render_str(src_path),
                  "documents", (json_int_t)st.n_documents, "chunks", (json_int_t)st.n_chunks,
                  "pages", (json_int_t)st.n_pages);
    if (!report) {
        json_decref(o);
        return DOCRAG_OK;
    }
    if (api_take_json(o, report, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}
