/* api_docs.c - reading documents, pages and chunks (docrag.h) on a
 * session's connection, and the stats object.
 *
 * A page's text is rebuilt from the chunks: each chunk is the exact byte
 * range [byte_start, byte_end) of its document's extracted text, and the
 * pages table gives each page's range of that same text, so the page is
 * the union of the chunk ranges clipped to it (overlaps taken once). A
 * highlight (docrag_page_highlight) is a document byte range mapped through
 * that same assembly into offsets of the page text.
 */
#include "api_int.h"
#include "render.h"
#include "index/store.h"

#include <stdio.h>
#include <string.h>

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static json_t *doc_row(const rag_store_doc *d)
{
    json_t *o = json_pack("{s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:o,s:I,s:I,s:s}", "id",
                     (json_int_t)d->id, "name", rag_render_str(base_name(d->path)), "path",
                     rag_render_str(d->path), "title", rag_render_str(d->title), "kind",
                     rag_render_str(d->kind), "pages", (json_int_t)d->n_pages, "chunks",
                     (json_int_t)d->n_chunks, "vectors", (json_int_t)d->n_vectors, "sha256",
                     rag_render_str(d->sha256), "bytes", (json_int_t)d->n_bytes, "added",
                     (json_int_t)d->added_at, "status", d->n_chunks > 0 ? "indexed" : "no text");
    if (o) {
        json_object_set_new(o, "version", rag_render_str(d->version ? d->version : ""));
        json_object_set_new(o, "date", rag_render_str(d->doc_date ? d->doc_date : ""));
    }
    return o;
}

/* doc_list callbacks: append to an array, or keep the one object. */
static int on_doc_append(void *ctx, const rag_store_doc *d)
{
    /* never a list with a document missing */
    return json_array_append_new(ctx, doc_row(d)) < 0 ? RAG_ENOMEM : RAG_OK;
}

static int on_doc_one(void *ctx, const rag_store_doc *d)
{
    json_t **o = ctx;
    *o = doc_row(d);
    return *o ? RAG_OK : RAG_ENOMEM;
}

int docrag_documents(docrag_session *s, char **out, docrag_error *derr)
{
    rag_store *st = rag_index_store(s->ix);
    rag_err err = {0};
    json_t *arr = json_array();
    int rc;

    if (!arr)
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    rc = st->ops->doc_list(st, 0, on_doc_append, arr, &err);
    if (rc < 0) {
        json_decref(arr);
        if (rc == RAG_ENOMEM && !err.msg[0])
            return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
        return api_err(derr, &err);
    }
    if (api_take_json(json_pack("{s:o}", "documents", arr), out, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

int docrag_document(docrag_session *s, int64_t id, char **out, docrag_error *derr)
{
    rag_store *st = rag_index_store(s->ix);
    rag_err err = {0};
    json_t *o = NULL;
    int rc;

    if (id <= 0)
        return api_err(derr, &(rag_err){RAG_ENOTFOUND, "no such document"});
    rc = st->ops->doc_list(st, id, on_doc_one, &o, &err);
    if (rc == RAG_ENOMEM && !err.msg[0])
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    if (rc < 0)
        return api_err(derr, &err);
    if (rc == 0)
        return api_err(derr, &(rag_err){RAG_ENOTFOUND, "no such document"});
    if (api_take_json(o, out, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

int docrag_document_by_sha(docrag_session *s, const char *sha, int64_t *id,
                           docrag_error *derr)
{
    rag_store *st = rag_index_store(s->ix);
    rag_err err = {0};
    int rc = st->ops->doc_by_sha(st, sha, id, &err);
    if (rc < 0)
        return api_err(derr, &err);
    return rc;
}

int docrag_document_path(docrag_session *s, int64_t id, char **path, docrag_error *derr)
{
    rag_store *st = rag_index_store(s->ix);
    rag_err err = {0};
    char *p = NULL;
    int rc;

    *path = NULL;
    rc = st->ops->doc_path(st, id, &p, &err);
    if (rc < 0)
        return api_err(derr, &err);
    if (rc == 0)
        return api_err(derr, &(rag_err){RAG_ENOTFOUND, "no such document"});
    /* the caller frees with docrag_free (free) */
    *path = strdup(p);
    rag_free(p);
    if (!*path)
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    return DOCRAG_OK;
}

/* doc_range_text's assembly state. */
typedef struct {
    rag_buf *b;
    int64_t pos, hi;
    int64_t *hl, hl_lo, hl_hi, ts, te;
} range_ctx;

static int on_span(void *ctx, int64_t a, int64_t z, const char *t, size_t n_text)
{
    range_ctx *r = ctx;
    int64_t from, to;
    if (z - a != (int64_t)n_text)
        return RAG_OK;   /* a chunk not stored verbatim cannot be clipped by offset */
    if (a > r->pos && r->b->len)
        rag_buf_putc(r->b, '\n');   /* a gap between chunks (dropped whitespace) */
    from = r->pos > a ? r->pos : a;
    to = r->hi < z ? r->hi : z;
    if (r->hl && to > from) {
        /* segment [from, to) of the document lands at b->len */
        if (r->ts < 0 && r->hl_lo < to)
            r->ts = (int64_t)r->b->len + (r->hl_lo > from ? r->hl_lo - from : 0);
        if (r->hl_hi > from)
            r->te = (int64_t)r->b->len + ((r->hl_hi < to ? r->hl_hi : to) - from);
    }
    if (to > from && rag_buf_append(r->b, t + (from - a), (size_t)(to - from)) < 0)
        return RAG_ENOMEM;
    if (to > r->pos)
        r->pos = to;
    return RAG_OK;
}

/* The text of bytes [lo, hi) of document doc_id, from its chunks. hl
 * (may be NULL): a document byte range [hl[0], hl[1]) inside [lo, hi),
 * replaced by the offsets in b where it starts and ends (-1, -1 if none of
 * it is in the text). */
static int doc_range_text(rag_index *ix, int64_t doc_id, int64_t lo, int64_t hi, rag_buf *b,
                          int64_t *hl, rag_err *err)
{
    rag_store *st = rag_index_store(ix);
    range_ctx r = {b, lo, hi, hl, hl ? hl[0] : 0, hl ? hl[1] : 0, -1, -1};
    int rc = st->ops->doc_spans(st, doc_id, lo, hi, on_span, &r, err);

    if (rc == RAG_ENOMEM)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    if (rc < 0)
        return rc;
    if (hl) {
        hl[0] = r.ts;
        hl[1] = r.te > r.ts ? r.te : r.ts;
        if (r.ts < 0)
            hl[0] = hl[1] = -1;
    }
    return RAG_OK;
}

static int on_page_doc(void *ctx, const rag_store_doc *d)
{
    api_page_info *pi = ctx;
    pi->path = rag_strdup(d->path);
    pi->title = rag_strdup(d->title);
    snprintf(pi->kind, sizeof pi->kind, "%s", d->kind);
    pi->n_pages = d->n_pages;
    return RAG_OK;
}

int api_page_row(rag_index *ix, int64_t doc_id, int page, api_page_info *pi, rag_err *err)
{
    rag_store *st = rag_index_store(ix);
    int rc;

    memset(pi, 0, sizeof *pi);
    rc = doc_id > 0 ? st->ops->doc_list(st, doc_id, on_page_doc, pi, err) : 0;
    if (rc == 0)
        rc = rag_fail(err, RAG_ENOTFOUND, "no such document");
    else if (rc > 0 && (!pi->path || !pi->title))
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    else if (rc > 0) {
        rc = st->ops->page_span(st, doc_id, page, &pi->byte_start, &pi->byte_end, err);
        if (rc == 0)
            rc = rag_fail(err, RAG_ENOTFOUND, "document %lld has no page %d (it has %lld)",
                          (long long)doc_id, page, (long long)pi->n_pages);
    }
    if (rc < 0) {
        api_page_info_fini(pi);
        return rc;
    }
    return RAG_OK;
}

void api_page_info_fini(api_page_info *pi)
{
    rag_free(pi->path);
    rag_free(pi->title);
    memset(pi, 0, sizeof *pi);
}

int api_highlight_chunk(rag_index *ix, int64_t doc_id, int64_t chunk_id, rag_chunk_row *row,
                        rag_err *err)
{
    int rc;

    memset(row, 0, sizeof *row);
    rc = rag_index_get_chunk(ix, chunk_id, row, err);
    if (rc == RAG_ENOTFOUND)
        return rag_fail(err, RAG_ENOTFOUND, "no chunk %lld", (long long)chunk_id);
    if (rc < 0)
        return rc;
    if (row->doc_id != doc_id) {
        rc = rag_fail(err, RAG_EINVAL, "chunk %lld belongs to document %lld, not %lld",
                      (long long)chunk_id, (long long)row->doc_id, (long long)doc_id);
        rag_chunk_row_fini(row);
        return rc;
    }
    return RAG_OK;
}

/* docrag_page, and with extras docrag_page_highlight ("kind",
 * "highlights"). */
static int page_json(docrag_session *s, int64_t doc_id, int page, int extras,
                     int64_t chunk_id, char **out, docrag_error *derr)
{
    rag_err err = {0};
    rag_buf b = RAG_BUF_INIT;
    api_page_info pi;
    rag_chunk_row row;
    int64_t hl[2] = {-1, -1};
    int have_chunk = 0, rc;
    json_t *o = NULL;

    memset(&row, 0, sizeof row);
    *out = NULL;
    rc = api_page_row(s->ix, doc_id, page, &pi, &err);
    if (rc < 0)
        return api_err(derr, &err);
    if (chunk_id) {
        rc = api_highlight_chunk(s->ix, doc_id, chunk_id, &row, &err);
        have_chunk = rc == RAG_OK;
        if (have_chunk) {
            /* the chunk's part on this page */
            hl[0] = row.byte_start > pi.byte_start ? row.byte_start : pi.byte_start;
            hl[1] = row.byte_end < pi.byte_end ? row.byte_end : pi.byte_end;
        }
    }
    if (rc == RAG_OK)
        rc = doc_range_text(s->ix, doc_id, pi.byte_start, pi.byte_end, &b,
                            have_chunk && hl[1] > hl[0] ? hl : NULL, &err);
    if (rc == RAG_OK) {
        o = json_pack("{s:I,s:o,s:o,s:i,s:I,s:o}", "document_id", (json_int_t)doc_id, "doc",
                      rag_render_str(pi.path), "title", rag_render_str(pi.title), "page", page,
                      "pages", (json_int_t)pi.n_pages, "text",
                      rag_render_strn(b.data ? b.data : "", b.len));
        if (o && extras) {
            json_t *hls = json_array();
            json_object_set_new(o, "kind", rag_render_str(pi.kind));
            if (hls && have_chunk && hl[0] >= 0 && hl[1] > hl[0])
                json_array_append_new(hls, json_pack("{s:I,s:I}", "start", (json_int_t)hl[0],
                                                     "end", (json_int_t)hl[1]));
            if (chunk_id)
                json_object_set_new(o, "chunk_id", rag_render_id(chunk_id));
            if (!hls || json_object_set_new(o, "highlights", hls) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        rc = api_take_json(o, out, &err);
    }
    rag_chunk_row_fini(&row);
    rag_buf_fini(&b);
    api_page_info_fini(&pi);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

int docrag_page(docrag_session *s, int64_t doc_id, int page, char **out, docrag_error *derr)
{
    return page_json(s, doc_id, page, 0, 0, out, derr);
}

int docrag_page_highlight(docrag_session *s, int64_t doc_id, int page, int64_t chunk_id,
                          char **out, docrag_error *derr)
{
    if (chunk_id < 0) {
        rag_err err = {0};
        rag_fail(&err, RAG_EINVAL, "chunk id %lld is not valid", (long long)chunk_id);
        return api_err(derr, &err);
    }
    return page_json(s, doc_id, page, 1, chunk_id, out, derr);
}

int docrag_chunk(docrag_session *s, int64_t chunk_id, char **out, docrag_error *derr)
{
    rag_chunk_row r;
    rag_err err = {0};
    int rc;

    memset(&r, 0, sizeof r);
    rc = rag_index_get_chunk(s->ix, chunk_id, &r, &err);
    if (rc == RAG_OK)
        rc = api_session_json(s, json_pack("{s:o,s:I,s:o,s:o,s:i,s:i,s:o,s:I,s:I,s:o}", "chunk_id",
                                     rag_render_id(r.chunk_id), "document_id",
                                     (json_int_t)r.doc_id, "doc", rag_render_str(r.doc),
                                     "title", rag_render_str(r.title), "page_start",
                                     r.page_start, "page_end", r.page_end, "section",
                                     rag_render_str(r.section), "byte_start",
                                     (json_int_t)r.byte_start, "byte_end",
                                     (json_int_t)r.byte_end, "text", rag_render_str(r.text)),
                              0, out, &err);
    rag_chunk_row_fini(&r);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

int docrag_stats(docrag_session *s, char **out, docrag_error *derr)
{
    rag_index_stats st;
    rag_buf ub = RAG_BUF_INIT;
    rag_err err = {0};
    json_t *kinds, *o, *uj = NULL;

    if (rag_index_stats_get(s->ix, &st, &err) < 0)
        return api_err(derr, &err);
    if (rag_usage_json(s->e->usage, &ub, &err) == RAG_OK)
        uj = json_loads(ub.data, 0, NULL);
    rag_buf_fini(&ub);
    kinds = json_object();
    for (int i = 0; kinds && i < st.n_kinds; i++) {
        char *key = rag_render_utf8_dup(st.kinds[i].kind); /* keys must be UTF-8 too */
        if (key)
            json_object_set_new(kinds, key, json_integer(st.kinds[i].n));
        rag_free(key);
    }
    o = json_pack("{s:o,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "db",
                  rag_render_str(s->e->db_shown), "schema_version", st.schema_version, "documents",
                  (json_int_t)st.n_documents, "chunks", (json_int_t)st.n_chunks, "pages",
                  (json_int_t)st.n_pages, "text_bytes", (json_int_t)st.n_text_bytes,
                  "vectors", (json_int_t)st.n_vectors, "embed_cache_entries",
                  (json_int_t)st.n_cache_entries, "db_bytes", (json_int_t)st.db_bytes,
                  "kinds", kinds, "embed_model",
                  rag_render_str_or_null(st.embed_model[0] ? st.embed_model : NULL));
    if (o) {
        json_object_set_new(o, "embed_dim", json_integer(st.embed_dim));
        json_object_set_new(o, "embed_cache_lookups", json_integer(st.n_cache_lookups));
        json_object_set_new(o, "embed_cache_hits", json_integer(st.n_cache_hits));
        json_object_set_new(o, "embed_cache_hit_rate",
                            json_real(st.n_cache_lookups ? (double)st.n_cache_hits /
                                                               (double)st.n_cache_lookups
                                                         : 0.0));
        json_object_set_new(o, "usage", uj ? json_incref(uj) : json_object());
    }
    json_decref(uj);
    if (api_take_json(o, out, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

/* ---- models ---------------------------------------------------------------- */

/* Why there is no embedder / reranker: the reason recorded at open
 * (DOCRAG_SCOPE_MODELS), else that none is configured. */
static int no_stage(docrag_error *derr, const char *reason, const char *fallback)
{
    rag_err err = {RAG_ENOTFOUND, ""};
    snprintf(err.msg, sizeof err.msg, "%s", reason && reason[0] ? reason : fallback);
    return api_err(derr, &err);
}

int docrag_embed(docrag_engine *e, const char *const *texts, size_t n, float *vecs,
                 docrag_error *derr)
{
    rag_embedder *emb = api_embedder(e);
    rag_err err = {0};
    if (!emb)
        return no_stage(derr, e->embed_reason, "no embedder is configured (chains.embed)");
    if (rag_embedder_embed(emb, texts, n, vecs, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

size_t docrag_embed_dim(docrag_engine *e)
{
    rag_embedder *emb = api_embedder(e);
    return emb ? rag_embedder_dim(emb) : 0;
}

const char *docrag_embed_model(docrag_engine *e)
{
    rag_embedder *emb = api_embedder(e);
    return emb ? rag_embedder_model_id(emb) : NULL;
}

int docrag_rerank(docrag_engine *e, const char *query, const char *const *passages,
                  size_t n, float *scores, docrag_error *derr)
{
    rag_reranker *rr = api_reranker(e);
    rag_err err = {0};
    if (!rr)
        return no_stage(derr, e->rerank_reason,
                        "no reranker is configured (chains.rerank, search.rerank_top_n)");
    if (rag_reranker_score(rr, query, passages, n, scores, &err) < 0)
        return api_err(derr, &err);
    return DOCRAG_OK;
}

const char *docrag_rerank_model(docrag_engine *e)
{
    rag_reranker *rr = api_reranker(e);
    return rr ? rag_reranker_model_id(rr) : NULL;
}
