/* embed_index.c - the index-time embedding pass and the vector loader
 * (embed_index.h).
 *
 * The pass first settles which model the stored vectors belong to (meta
 * embed_model / embed_dim; another model or dimension deletes them all in
 * one transaction), then lists the chunks that have no vector and walks
 * them in batches. The embed call of a batch runs outside any transaction
 * (it may block on a remote server for seconds); its results are written
 * in one short transaction with the cache rows and the counters, so a kill
 * between or during batches leaves every committed vector and nothing
 * half-written. Vectors are written only for chunks that still exist, so
 * a concurrent re-index cannot leave orphans.
 */
#include "embed/embed_index.h"
#include "index/store.h"
#include "index/store_sqlite.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTEXT_MAX_BYTES 160   /* title and section, each, in the embedded text */

rag_embed_index_opts rag_embed_index_default_opts(void)
{
    rag_embed_index_opts o = {32, NULL, NULL};
    return o;
}

rag_embed_index_opts rag_embed_index_opts_from_config(const rag_config *cfg)
{
    rag_embed_index_opts o = rag_embed_index_default_opts();
    if (cfg && cfg->embed_batch > 0)
        o.batch = (size_t)cfg->embed_batch;
    return o;
}

int rag_embed_chunk_text(rag_buf *b, const char *title, const char *section,
                         const char *text)
{
    const char *parts[2] = {title, section};
    int any = 0, rc;
    for (int i = 0; i < 2; i++) {
        size_t n;
        if (!parts[i] || !parts[i][0])
            continue;
        n = strlen(parts[i]);
        if (n > CONTEXT_MAX_BYTES)
            n = rag_utf8_floor(parts[i], CONTEXT_MAX_BYTES);
        if ((any && (rc = rag_buf_putc(b, '\n')) < 0) ||
            (rc = rag_buf_append(b, parts[i], n)) < 0)
            return rc;
        any = 1;
    }
    if (any && (rc = rag_buf_append(b, "\n\n", 2)) < 0)
        return rc;
    return rag_buf_puts(b, text ? text : "");
}

/* ---- one pass ---------------------------------------------------------- */

enum { SRC_GONE, SRC_CACHE, SRC_DUP, SRC_NEW };

typedef struct {
    rag_index *ix;
    rag_store *st;        /* the index's store (borrowed) */
    rag_embedder *e;
    char model[128];      /* the id vectors and cache rows are stored under */
    size_t dim;
    int64_t lookups, hits; /* cumulative counters (meta) */
} pass;

static int64_t meta_int(pass *p, const char *key, rag_err *err)
{
    char v[32];
    int rc = rag_index_meta_get(p->ix, key, v, sizeof v, err);
    if (rc < 0)
        return rc;
    return rc ? strtoll(v, NULL, 10) : 0;
}

static int meta_put_int(pass *p, const char *key, int64_t v, rag_err *err)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return rag_index_meta_set(p->ix, key, s, err);
}

/* Decide the stored model id; delete vectors of any other model or dim. */
static int settle_model(pass *p, const char *id, rag_embed_report *rep, rag_err *err)
{
    char stored[128];
    int64_t stored_dim, n_removed = 0;
    int rc, have;

    if ((have = rag_index_meta_get(p->ix, "embed_model", stored, sizeof stored, err)) < 0)
        return have;
    if ((stored_dim = meta_int(p, "embed_dim", err)) < 0)
        return (int)stored_dim;
    /* the same model under another spelling (local folder vs Hub id) keeps
     * its vectors and its cache under the spelling already stored */
    if (have && stored[0] && rag_embed_model_ids_match(stored, id) &&
        (size_t)stored_dim == p->dim)
        snprintf(p->model, sizeof p->model, "%s", stored);
    else
        snprintf(p->model, sizeof p->model, "%s", id);
    if (have && stored[0] && strcmp(stored, p->model) != 0) {
        snprintf(rep->prev_model, sizeof rep->prev_model, "%s", stored);
        rep->prev_dim = (size_t)stored_dim;
    }
    if ((rc = rag_index_begin(p->ix, err)) < 0)
        return rc;
    rc = p->st->ops->vectors_prune(p->st, p->model, p->dim, &n_removed, err);
    rep->n_removed = (size_t)n_removed;
    if (rc == RAG_OK)
        rc = rag_index_meta_set(p->ix, "embed_model", p->model, err);
    if (rc == RAG_OK)
        rc = meta_put_int(p, "embed_dim", (int64_t)p->dim, err);
    if (rc == RAG_OK)
        return rag_index_commit(p->ix, err);
    rag_index_rollback(p->ix);
    return rc;
}

typedef struct {
    int64_t *v;
    size_t n, cap;
} id_list;

static int on_pending(void *ctx, int64_t id)
{
    id_list *l = ctx;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        int64_t *nv = rag_realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return RAG_ENOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = id;
    return RAG_OK;
}

/* Chunk ids without a vector, in (document path, ord) order. */
static int list_pending(pass *p, int64_t **ids, size_t *n_ids, rag_err *err)
{
    id_list l = {0};
    int rc = p->st->ops->vectors_missing(p->st, on_pending, &l, err);

    *ids = NULL;
    *n_ids = 0;
    if (rc < 0) {
        rag_free(l.v);
        if (rc == RAG_ENOMEM)
            return rag_fail(err, RAG_ENOMEM, "out of memory listing %zu chunks", l.n);
        return rc;
    }
    *ids = l.v;
    *n_ids = l.n;
    return RAG_OK;
}

static int all_finite(const float *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return 0;
    return 1;
}

/* Scratch for one batch of up to cap chunks. */
typedef struct {
    size_t cap;
    rag_buf texts;         /* NUL-separated embedded texts */
    size_t *off;           /* cap: offset of text i in texts */
    char (*sha)[65];       /* cap */
    int *src;              /* cap: SRC_* */
    size_t *uref;          /* cap: index into the unique list (SRC_DUP, SRC_NEW) */
    const char **utexts;   /* cap: distinct texts to embed */
    size_t *ufirst;        /* cap: the batch row of each distinct text */
    float *vecs;           /* cap * dim */
    float *uvecs;          /* cap * dim */
    char where[160];       /* "a.txt #3": the first chunk, for errors */
} batch;

static int batch_init(batch *b, size_t cap, size_t dim)
{
    size_t n_floats;
    memset(b, 0, sizeof *b);
    b->cap = cap;
    if (rag_size_mul(cap, dim, &n_floats) < 0 || n_floats > SIZE_MAX / sizeof(float))
        return RAG_ENOMEM;
    b->off = rag_calloc(cap, sizeof *b->off);
    b->sha = rag_calloc(cap, sizeof *b->sha);
    b->src = rag_calloc(cap, sizeof *b->src);
    b->uref = rag_calloc(cap, sizeof *b->uref);
    b->utexts = rag_calloc(cap, sizeof *b->utexts);
    b->ufirst = rag_calloc(cap, sizeof *b->ufirst);
    b->vecs = rag_calloc(n_floats, sizeof *b->vecs);
    b->uvecs = rag_calloc(n_floats, sizeof *b->uvecs);
    if (!b->off || !b->sha || !b->src || !b->uref || !b->utexts || !b->ufirst || !b->vecs ||
        !b->uvecs)
        return RAG_ENOMEM;
    return RAG_OK;
}

static void batch_fini(batch *b)
{
    rag_buf_fini(&b->texts);
    rag_free(b->off);
    rag_free(b->sha);
    rag_free(b->src);
    rag_free(b->uref);
    rag_free(b->utexts);
    rag_free(b->ufirst);
    rag_free(b->vecs);
    rag_free(b->uvecs);
}

typedef struct {
    batch *b;
    size_t i;
} read_ctx;

/* One chunk of the batch: its embedded text, into b->texts. */
static int on_chunk(void *ctx, const rag_store_chunk *c)
{
    read_ctx *r = ctx;
    batch *b = r->b;
    int rc;
    if (!b->where[0]) {
        const char *base = strrchr(c->doc, '/');
        snprintf(b->where, sizeof b->where, "%s #%d", base ? base + 1 : c->doc, c->ord);
    }
    b->off[r->i] = b->texts.len;
    rc = rag_embed_chunk_text(&b->texts, c->title, c->section, c->text);
    if (rc == RAG_OK)
        rc = rag_buf_putc(&b->texts, '\0');
    return rc < 0 ? RAG_ENOMEM : RAG_OK;
}

/* Read the chunks' texts, hash them, fill from the cache, and list the
 * distinct texts still to embed. */
static int batch_read(pass *p, batch *b, const int64_t *ids, size_t n, size_t *n_unique,
                      rag_err *err)
{
    size_t nu = 0;
    rag_buf_clear(&b->texts);
    b->where[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        read_ctx r = {b, i};
        float *v = b->vecs + i * p->dim;
        int rc = p->st->ops->chunk_read(p->st, ids[i], on_chunk, &r, err);
        if (rc == RAG_ENOMEM)
            return rag_fail(err, RAG_ENOMEM, "out of memory for chunk texts");
        if (rc < 0)
            return rc;
        if (rc == 0) {   /* deleted since listed */
            b->src[i] = SRC_GONE;
            continue;
        }
        rag_sha256_hex(b->texts.data + b->off[i], b->texts.len - 1 - b->off[i], b->sha[i]);

        rc = p->st->ops->cache_get(p->st, p->model, b->sha[i], v, p->dim, err);
        if (rc < 0)
            return rc;
        if (rc == 1 && all_finite(v, p->dim)) {
            b->src[i] = SRC_CACHE;
            continue;
        }
        /* a cache miss (or a damaged row, rewritten below) */
        b->src[i] = SRC_NEW;
        for (size_t u = 0; u < nu; u++)
            if (!memcmp(b->sha[b->ufirst[u]], b->sha[i], 64)) {
                b->src[i] = SRC_DUP;
                b->uref[i] = u;
                break;
            }
        if (b->src[i] == SRC_NEW) {
            b->uref[i] = nu;
            b->ufirst[nu++] = i;
        }
    }
    for (size_t u = 0; u < nu; u++)
        b->utexts[u] = b->texts.data + b->off[b->ufirst[u]];
    *n_unique = nu;
    return RAG_OK;
}

/* Write the batch's vectors, new cache rows and counters in one transaction. */
static int batch_write(pass *p, batch *b, const int64_t *ids, size_t n, size_t nu,
                       rag_err *err)
{
    size_t n_looked = 0, n_hit = 0;
    int rc = rag_index_begin(p->ix, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (b->src[i] == SRC_GONE)
            continue;
        n_looked++;
        if (b->src[i] != SRC_NEW)
            n_hit++;
        rc = p->st->ops->vector_put(p->st, ids[i], p->model, b->vecs + i * p->dim, p->dim,
                                    err);
        if (rc < 0)
            goto fail;
    }
    for (size_t u = 0; u < nu; u++) {
        rc = p->st->ops->cache_put(p->st, p->model, b->sha[b->ufirst[u]],
                                   b->uvecs + u * p->dim, p->dim, err);
        if (rc < 0)
            goto fail;
    }
    if ((rc = meta_put_int(p, "embed_cache_lookups", p->lookups + (int64_t)n_looked, err)) < 0 ||
        (rc = meta_put_int(p, "embed_cache_hits", p->hits + (int64_t)n_hit, err)) < 0)
        goto fail;
    if ((rc = rag_index_commit(p->ix, err)) < 0)
        return rc;
    p->lookups += (int64_t)n_looked;
    p->hits += (int64_t)n_hit;
    return RAG_OK;
fail:
    rag_index_rollback(p->ix);
    return rc;
}

/* The int8 form a start loads (vector_index.h, the stored int8 copy),
 * stored again when the vectors changed; never needed, so a failure is a
 * warning (the next start quantises the table instead). */
static void store_int8(pass *p)
{
    rag_err e1 = {0};
    double t0 = rag_now_ms();
    int rc = rag_vector_int8_save(rag_index_db(p->ix), p->model, &e1);
    if (rc < 0)
        rag_log(RAG_LOG_WARN, "%s: storing the int8 vectors: %s (a start quantises "
                "them instead)", rag_index_path(p->ix), e1.msg);
    else if (rc > 0)
        rag_log(RAG_LOG_DEBUG, "%s: stored the int8 vectors of %s in %.0f ms",
                rag_index_path(p->ix), p->model, rag_now_ms() - t0);
}

int rag_embed_index(rag_index *ix, rag_embedder *e, const rag_embed_index_opts *opts,
                    rag_embed_report *rep, rag_err *err)
{
    rag_embed_index_opts o = opts ? *opts : rag_embed_index_default_opts();
    rag_embed_report local;
    pass p;
    batch b;
    int64_t *pending = NULL, n_all;
    size_t n_pending = 0;
    double t0 = rag_now_ms();
    const char *id;
    int rc;

    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    memset(&p, 0, sizeof p);
    memset(&b, 0, sizeof b);
    if (o.batch == 0)
        o.batch = 32;
    p.ix = ix;
    p.st = rag_index_store(ix);
    p.e = e;
    id = rag_embedder_model_id(e);
    if (!id || !id[0])
        return rag_fail(err, RAG_EINVAL, "embedder '%s' has no model id",
                        rag_embedder_served_by(e));
    if (strlen(id) >= sizeof p.model)
        return rag_fail(err, RAG_EINVAL, "embedder '%s': model id longer than %zu bytes",
                        rag_embedder_served_by(e), sizeof p.model - 1);
    p.dim = rag_embedder_dim(e);
    if (p.dim == 0) {
        /* the probe's own error names the back-end, its URL and the status */
        const rag_call_info *li = rag_embedder_last_call(e);
        if (li && li->message[0])
            return rag_fail(err, RAG_EBACKEND, "embedder '%s' (model %s) cannot tell its "
                            "dimension: %s", rag_embedder_served_by(e), id, li->message);
        return rag_fail(err, RAG_EBACKEND, "embedder '%s' (model %s) cannot tell its "
                        "dimension: is it reachable?", rag_embedder_served_by(e), id);
    }

    if ((rc = settle_model(&p, id, rep, err)) < 0)
        goto done;
    snprintf(rep->model, sizeof rep->model, "%s", p.model);
    rep->dim = p.dim;
    if ((p.lookups = meta_int(&p, "embed_cache_lookups", err)) < 0 ||
        (p.hits = meta_int(&p, "embed_cache_hits", err)) < 0) {
        rc = RAG_EIO;
        goto done;
    }
    if ((rc = list_pending(&p, &pending, &n_pending, err)) < 0)
        goto done;
    if ((rc = p.st->ops->n_chunks(p.st, &n_all, err)) < 0)
        goto done;
    rep->n_chunks = (size_t)n_all;
    rep->n_present = rep->n_chunks > n_pending ? rep->n_chunks - n_pending : 0;
    if (rep->prev_model[0])
        rag_log(RAG_LOG_WARN, "embedding model changed from %s (%zu-d) to %s (%zu-d): "
                "re-embedding %zu chunks", rep->prev_model, rep->prev_dim, p.model, p.dim,
                n_pending);
    else if (rep->n_removed)
        rag_log(RAG_LOG_WARN, "removed %zu vectors of another model or dimension than %s "
                "(%zu-d): re-embedding %zu chunks", rep->n_removed, p.model, p.dim,
                n_pending);
    if (n_pending == 0)
        goto done;
    if (batch_init(&b, o.batch < n_pending ? o.batch : n_pending, p.dim) < 0) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory for a batch of %zu vectors of dim %zu",
                      o.batch, p.dim);
        goto done;
    }
    for (size_t off = 0; off < n_pending; off += b.cap) {
        size_t n = n_pending - off < b.cap ? n_pending - off : b.cap, nu = 0;
        const int64_t *ids = pending + off;

        if ((rc = batch_read(&p, &b, ids, n, &nu, err)) < 0)
            goto done;
        if (nu) {
            rag_err e1 = {0};
            size_t d2;
            rc = rag_embedder_embed(e, b.utexts, nu, b.uvecs, &e1);
            if (rc < 0) {
                rag_fail(err, rc, "embedding chunks %zu-%zu of %zu (from %s) with '%s': %s",
                         off + 1, off + n, n_pending, b.where, rag_embedder_served_by(e),
                         e1.msg[0] ? e1.msg : rag_status_name(rc));
                goto done;
            }
            d2 = rag_embedder_dim(e);
            if (d2 != p.dim) {
                rc = rag_fail(err, RAG_EFORMAT, "embedding chunks %zu-%zu of %zu: '%s' now "
                              "returns %zu-d vectors, the index holds %zu-d (model %s)",
                              off + 1, off + n, n_pending, rag_embedder_served_by(e), d2,
                              p.dim, p.model);
                goto done;
            }
            for (size_t u = 0; u < nu; u++)
                if (!all_finite(b.uvecs + u * p.dim, p.dim)) {
                    rc = rag_fail(err, RAG_EFORMAT, "embedding chunks %zu-%zu of %zu "
                                  "(from %s): '%s' returned a non-finite value for text %zu",
                                  off + 1, off + n, n_pending, b.where,
                                  rag_embedder_served_by(e), b.ufirst[u] + 1);
                    goto done;
                }
            for (size_t i = 0; i < n; i++)
                if (b.src[i] == SRC_NEW || b.src[i] == SRC_DUP)
                    memcpy(b.vecs + i * p.dim, b.uvecs + b.uref[i] * p.dim,
                           p.dim * sizeof(float));
        }
        if ((rc = batch_write(&p, &b, ids, n, nu, err)) < 0)
            goto done;
        for (size_t i = 0; i < n; i++) {
            if (b.src[i] == SRC_NEW)
                rep->n_embedded++;
            else if (b.src[i] != SRC_GONE)
                rep->n_cached++;
        }
        if (o.progress)
            o.progress(o.ctx, rep->n_present + off + n, rep->n_chunks);
    }
done:
    batch_fini(&b);
    rag_free(pending);
    if (rc == RAG_OK)
        store_int8(&p);
    rep->seconds = (rag_now_ms() - t0) / 1000.0;
    return rc;
}

/* ---- loading for search ------------------------------------------------ */

rag_vector_opts rag_embed_vector_opts(const rag_config *cfg)
{
    rag_vector_opts o = rag_vector_default_opts();
    if (!cfg || !cfg->embed_vectors || strcmp(cfg->embed_vectors, "f32") != 0) {
        o.int8 = 1;
        o.int8_only = 1;
    }
    return o;
}

/* Which stored model matches model_id (an empty id takes the only model
 * stored): 1 and stored[] set, or RAG_ENOTFOUND with the reason a user can
 * act on. Scans the vectors table, not meta, so that an index embedded
 * only in part, or by two models, is told as it is. */
typedef struct {
    const char *model;
    char *stored;
    size_t n_stored, n_models;
    char other[128];
    long long other_dim;
} model_scan;

static int on_model(void *ctx, const char *m, int64_t dim)
{
    model_scan *ms = ctx;
    ms->n_models++;
    if (!ms->stored[0] &&
        (ms->model[0] ? rag_embed_model_ids_match(ms->model, m) : ms->n_models == 1)) {
        snprintf(ms->stored, ms->n_stored, "%s", m);
    } else if (!ms->other[0]) {
        snprintf(ms->other, sizeof ms->other, "%s", m);
        ms->other_dim = (long long)dim;
    }
    return RAG_OK;
}

static int find_stored_model(rag_index *ix, const char *model, char *stored, size_t n_stored,
                             rag_err *err)
{
    rag_store *st = rag_index_store(ix);
    model_scan ms = {model, stored, n_stored, 0, "", 0};
    int rc;

    stored[0] = '\0';
    if ((rc = st->ops->vector_models(st, on_model, &ms, err)) < 0)
        return rc;
    if (stored[0] && !ms.other[0])
        return 1;
    if (stored[0])
        return rag_fail(err, RAG_ENOTFOUND, "the index holds vectors of several models (%s "
                        "and %s): run `docrag index` to re-embed", stored, ms.other);
    if (ms.other[0])
        return rag_fail(err, RAG_ENOTFOUND, "the stored vectors are of model %s (%lld-d), "
                        "the embedder serves %s: run `docrag index` to re-embed", ms.other,
                        ms.other_dim, model[0] ? model : "(unknown)");
    return rag_fail(err, RAG_ENOTFOUND, "the index holds no vectors of model %s: run "
                    "`docrag index`", model[0] ? model : "(unknown)");
}

int rag_embed_load_vectors(rag_vector_index **out, rag_index *ix, const char *model_id,
                           const rag_vector_opts *opts, rag_err *err)
{
    rag_vector_opts o = opts ? *opts : rag_embed_vector_opts(NULL);
    char stored[128];
    int rc;

    *out = NULL;
    rc = find_stored_model(ix, model_id ? model_id : "", stored, sizeof stored, err);
    if (rc < 0)
        return rc;
    rc = rag_vector_index_load_ix(out, ix, stored, &o, err);
#ifdef __GLIBC__
    /* Loading read every vector blob through SQLite's page cache, in small
     * blocks that glibc keeps after they are freed (70 MB on 185k vectors):
     * hand them back to the system. */
    malloc_trim(0);
#endif
    return rc;
}
