/* graph_build.c - build the chunk graph at index time (see graph.h).
 *
 * Two passes over the chunks, in chunk-id order:
 *  1. definitions: entities each chunk defines (graph_terms.c) and its
 *     leaf heading. A one-term entity becomes a linking term everywhere;
 *     a multi-term entity (and an acronym's expansion) becomes a phrase
 *     recognised in every chunk's term stream.
 *  2. mentions: the chunk's text and section analysed in QUERY mode (a
 *     compound is one term: "RV32I" links as rv32i, not as rv/32/i); a term
 *     is kept if its source bytes look technical or it was defined
 *     anywhere; phrases are matched over the last 2-6 terms by rolling hash.
 * Terms are identified by a 64-bit hash of their analysed bytes (no
 * strings kept; a collision among a million terms has odds ~1e-7).
 *
 * Then, for each chunk u, the weights to every chunk sharing a term with
 * df in [2, max_df] are accumulated (cost sum over terms of df^2), the top
 * max_degree kept, and the union of those lists is written as one row per
 * undirected edge, in one transaction.
 */
#include "retrieve/graph_int.h"
#include "index/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHRASE_MAX 6
#define SALT_PHRASE 0x9E3779B97F4A7C15ull
#define SALT_HEADING 0xC2B2AE3D27D4EB4Full

rag_graph_opts rag_graph_default_opts(void)
{
    rag_graph_opts o = {64, 16, 0};
    return o;
}

/* ---- a uint64 -> uint64 open-addressing map (key 0 is reserved) ---------- */

typedef struct {
    uint64_t *keys, *vals;
    size_t cap, n;
} u64map;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static void map_fini(u64map *m)
{
    rag_free(m->keys);
    rag_free(m->vals);
    memset(m, 0, sizeof *m);
}

static int map_grow(u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *k = rag_calloc(cap, sizeof *k), *v = rag_calloc(cap, sizeof *v);
    if (!k || !v) {
        rag_free(k);
        rag_free(v);
        return RAG_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (!m->keys[i])
            continue;
        for (j = mix(m->keys[i]) & (cap - 1); k[j]; j = (j + 1) & (cap - 1))
            ;
        k[j] = m->keys[i];
        v[j] = m->vals[i];
    }
    rag_free(m->keys);
    rag_free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = cap;
    return RAG_OK;
}

/* Slot of key, or NULL if absent. */
static uint64_t *map_get(const u64map *m, uint64_t key)
{
    if (!m->n)
        return NULL;
    for (size_t j = mix(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == key)
            return &m->vals[j];
    return NULL;
}

/* Insert key with value v unless present; *slot gets its value slot. */
static int map_put(u64map *m, uint64_t key, uint64_t v, uint64_t **slot)
{
    size_t j;
    if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0)
        return RAG_ENOMEM;
    for (j = mix(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == key)
            break;
    if (!m->keys[j]) {
        m->keys[j] = key;
        m->vals[j] = v;
        m->n++;
    }
    if (slot)
        *slot = &m->vals[j];
    return RAG_OK;
}

static uint64_t term_key(const char *s, size_t n)
{
    uint64_t h = rag_hash64(s, n);
    return h ? h : 1;
}

/* ---- growable arrays ----------------------------------------------------- */

typedef struct {
    uint32_t node;
    uint32_t term;     /* dense term id */
    uint32_t defined;  /* 1 if the chunk defines the term */
} occ;

typedef struct {
    uint64_t key;
    uint32_t defined;
} cterm;

#define VEC_PUSH(arr, n, cap, val, fail)                                         \
    do {                                                                         \
        if ((n) == (cap)) {                                                      \
            size_t nc_ = (cap) ? (cap) * 2 : 256;                                \
            void *p_ = rag_realloc((arr), nc_ * sizeof *(arr));                  \
            if (!p_)                                                             \
                goto fail;                                                       \
            (arr) = p_;                                                          \
            (cap) = nc_;                                                         \
        }                                                                        \
        (arr)[(n)++] = (val);                                                    \
    } while (0)

/* ---- the builder ---------------------------------------------------------- */

typedef struct {
    rag_analyzer *an;
    u64map defs;          /* one-term entity key -> 1 */
    u64map phrases;       /* phrase hash -> the term key it stands for */
    u64map term_ids;      /* term key -> dense id + 1 */
    cterm *cur;           /* terms of the current chunk */
    size_t n_cur, cap_cur;
    occ *occs;
    size_t n_occs, cap_occs;
    uint64_t ring[PHRASE_MAX];   /* keys of the last terms (phrase matching) */
    size_t n_ring;
    int defining;         /* pass 1: analysing a defined span */
    uint64_t span_hash;   /* pass 1: rolling hash of the span's terms */
    int span_terms;
    uint64_t first_key;
    const char *src;      /* pass 2: the analysed text */
    int oom;
} builder;

static int add_cur(builder *b, uint64_t key, uint32_t defined)
{
    VEC_PUSH(b->cur, b->n_cur, b->cap_cur, ((cterm){key, defined}), oom);
    return 0;
oom:
    b->oom = 1;
    return RAG_ENOMEM;
}

static uint64_t roll(uint64_t h, uint64_t key)
{
    return mix(h * 0x100000001B3ull ^ key) | 1;
}

/* pass 1: terms of a defined span */
static int on_span_term(void *ctx, const char *term, size_t n, size_t s, size_t e, int co)
{
    builder *b = ctx;
    uint64_t k = term_key(term, n);
    (void)s;
    (void)e;
    (void)co;
    if (b->span_terms == 0)
        b->first_key = k;
    b->span_hash = roll(b->span_terms ? b->span_hash : SALT_PHRASE, k);
    b->span_terms++;
    return 0;
}

static int analyse_span(builder *b, const char *s, size_t n)
{
    b->span_terms = 0;
    b->span_hash = 0;
    return rag_analyzer_run_mode(b->an, s, n, RAG_ANALYZE_QUERY, on_span_term, b);
}

typedef struct {
    builder *b;
    uint64_t acronym_key;   /* set by the acronym call, used by its expansion */
} def_ctx;

static int on_entity(void *ctx, const char *s, size_t n, int acronym)
{
    def_ctx *d = ctx;
    builder *b = d->b;
    int rc = analyse_span(b, s, n);
    if (rc < 0)
        return rc;
    if (b->span_terms == 0 || b->span_terms > PHRASE_MAX)
        return 0;
    if (acronym == 2) {
        /* the expansion stands for the acronym */
        if (d->acronym_key && b->span_terms >= 2 &&
            map_put(&b->phrases, b->span_hash, d->acronym_key, NULL) < 0)
            return RAG_ENOMEM;
        return 0;
    }
    if (b->span_terms == 1) {
        if (acronym)
            d->acronym_key = b->first_key;
        if (map_put(&b->defs, b->first_key, 1, NULL) < 0)
            return RAG_ENOMEM;
        return add_cur(b, b->first_key, 1);
    }
    if (map_put(&b->phrases, b->span_hash, b->span_hash, NULL) < 0)
        return RAG_ENOMEM;
    return add_cur(b, b->span_hash, 1);
}

/* pass 2: every term of the chunk */
static int on_term(void *ctx, const char *term, size_t n, size_t s, size_t e, int co)
{
    builder *b = ctx;
    uint64_t k = term_key(term, n);
    (void)co;
    if (map_get(&b->defs, k) || rag_graph_is_technical(b->src + s, e - s))
        if (add_cur(b, k, 0) < 0)
            return RAG_ENOMEM;
    if (b->phrases.n) {
        uint64_t h = SALT_PHRASE;
        memmove(b->ring + 1, b->ring, (PHRASE_MAX - 1) * sizeof *b->ring);
        b->ring[0] = k;
        if (b->n_ring < PHRASE_MAX)
            b->n_ring++;
        for (size_t len = 1; len <= b->n_ring; len++) {
            uint64_t *v;
            h = SALT_PHRASE;
            for (size_t j = len; j-- > 0;)
                h = roll(h, b->ring[j]);
            if (len >= 2 && (v = map_get(&b->phrases, h)) != NULL && add_cur(b, *v, 0) < 0)
                return RAG_ENOMEM;
        }
    }
    return 0;
}

static int cmp_occ(const void *x, const void *y)
{
    const occ *a = x, *b = y;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return a->term < b->term ? -1 : a->term > b->term;
}

static int cmp_cterm(const void *x, const void *y)
{
    const cterm *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* Deduplicate the current chunk's terms and append them as occurrences. */
static int flush_chunk(builder *b, uint32_t node)
{
    size_t i = 0;
    if (b->n_cur > 1)
        qsort(b->cur, b->n_cur, sizeof *b->cur, cmp_cterm);
    while (i < b->n_cur) {
        size_t j = i;
        uint32_t defined = 0;
        uint64_t *id;
        while (j < b->n_cur && b->cur[j].key == b->cur[i].key)
            defined |= b->cur[j++].defined;
        if (map_put(&b->term_ids, b->cur[i].key, b->term_ids.n + 1, &id) < 0)
            goto oom;
        VEC_PUSH(b->occs, b->n_occs, b->cap_occs,
                 ((occ){node, (uint32_t)(*id - 1), defined}), oom);
        i = j;
    }
    b->n_cur = 0;
    return 0;
oom:
    return RAG_ENOMEM;
}

static const char *leaf_heading(const char *section)
{
    const char *p = section, *q;
    while ((q = strstr(p, " > ")) != NULL)
        p = q + 3;
    return p;
}

/* ---- the index state ------------------------------------------------------ */

int rag_graph_index_state(rag_store *st, char *out, size_t cap, rag_err *err)
{
    int64_t n = 0, mx = 0;
    int rc = st->ops->bm25_state(st, &n, &mx, err);
    if (rc < 0)
        return rc;
    snprintf(out, cap, "v1 chunks=%lld docno=%lld", (long long)n, (long long)mx);
    return RAG_OK;
}

/* The stamp: the index state and the build options. */
static int current_stamp(rag_store *st, const rag_graph_opts *o, char *out, size_t cap,
                         rag_err *err)
{
    char state[96];
    int rc = rag_graph_index_state(st, state, sizeof state, err);
    if (rc < 0)
        return rc;
    snprintf(out, cap, "%s max_df=%d degree=%d", state, o->max_df, o->max_degree);
    return RAG_OK;
}

int rag_graph_stored_stamp(rag_store *st, char *out, size_t cap)
{
    int found = rag_store_meta_get(st, "graph_stamp", out, cap, NULL);
    if (found <= 0) {
        out[0] = '\0';
        return 0;
    }
    return 1;
}

/* ---- edges ------------------------------------------------------------------ */

typedef struct {
    uint32_t v;
    double w;
} nbr;

static int cmp_nbr(const void *x, const void *y)
{
    const nbr *a = x, *b = y;
    if (a->w != b->w)
        return a->w > b->w ? -1 : 1;
    return a->v < b->v ? -1 : a->v > b->v;
}

typedef struct {
    uint32_t u, v;   /* u < v (node indexes) */
    double w;
} edge;

static int cmp_edge(const void *x, const void *y)
{
    const edge *a = x, *b = y;
    if (a->u != b->u)
        return a->u < b->u ? -1 : 1;
    return a->v < b->v ? -1 : a->v > b->v;
}

typedef rag_store_edge id_edge;

static int cmp_id_edge(const void *x, const void *y)
{
    const id_edge *p = x, *q = y;
    if (p->src != q->src)
        return p->src < q->src ? -1 : 1;
    return p->dst < q->dst ? -1 : p->dst > q->dst;
}

/* The two passes over the chunks (store.h chunk_scan callbacks). */
enum { PASS_OOM = -1000, PASS_ANALYSE = -1001, PASS_CHANGED = -1002 };

typedef struct {
    builder *b;
    int64_t **ids;
    size_t *n_nodes, *cap_nodes;
    rag_graph_report *r;
    size_t node;          /* pass 2: the next node */
    int analyse_rc;       /* the analyser's status behind PASS_ANALYSE */
} pass_ctx;

static int on_definitions(void *ctx, const rag_store_chunk *c)
{
    pass_ctx *p = ctx;
    builder *b = p->b;
    def_ctx d = {b, 0};
    int rc;
    VEC_PUSH(*p->ids, *p->n_nodes, *p->cap_nodes, c->chunk_id, oom);
    if ((rc = rag_graph_find_definitions(c->text, c->n_text, on_entity, &d)) < 0)
        goto analyse_failed;
    if (*c->section) {
        const char *leaf = leaf_heading(c->section);
        if ((rc = rag_graph_find_definitions(leaf, strlen(leaf), on_entity, &d)) < 0 ||
            (rc = analyse_span(b, leaf, strlen(leaf))) < 0)
            goto analyse_failed;
        /* the leaf heading links the chunks under it (and same-named
         * headings elsewhere) */
        if (b->span_terms > 0 && add_cur(b, b->span_hash ^ SALT_HEADING, 1) < 0)
            goto oom;
    }
    if (b->oom)
        goto oom;
    p->r->n_defined += (int64_t)b->n_cur;
    if (flush_chunk(b, (uint32_t)(*p->n_nodes - 1)) < 0)
        goto oom;
    return RAG_OK;
analyse_failed:
    p->analyse_rc = rc;
    return PASS_ANALYSE;
oom:
    return PASS_OOM;
}

static int on_mentions(void *ctx, const rag_store_chunk *c)
{
    pass_ctx *p = ctx;
    builder *b = p->b;
    const char *cols[2] = {c->text, c->section};
    size_t lens[2] = {c->n_text, strlen(c->section)};
    size_t node = p->node++;
    if (node >= *p->n_nodes || c->chunk_id != (*p->ids)[node])
        return PASS_CHANGED;
    for (int i = 0; i < 2; i++) {
        int rc;
        b->src = cols[i];
        b->n_ring = 0;
        rc = rag_analyzer_run_mode(b->an, cols[i], lens[i], RAG_ANALYZE_QUERY, on_term, b);
        if (rc < 0 || b->oom) {
            p->analyse_rc = rc;
            return PASS_ANALYSE;
        }
    }
    if (flush_chunk(b, (uint32_t)node) < 0)
        return PASS_OOM;
    return RAG_OK;
}

int rag_graph_build(rag_index *ix, const rag_graph_opts *opts, rag_graph_report *rep,
                    rag_err *err)
{
    rag_graph_opts o = opts ? *opts : rag_graph_default_opts();
    rag_store *st = rag_index_store(ix);
    builder b;
    rag_graph_report r;
    pass_ctx pc;
    int64_t *ids = NULL;
    size_t n_nodes = 0, cap_nodes = 0, n_terms, n_edges = 0, cap_edges = 0;
    uint32_t *df = NULL, *inv_off = NULL, *inv = NULL, *fwd_off = NULL;
    occ *fwd = NULL;
    double *idf = NULL, *acc = NULL;
    uint32_t *touched = NULL;
    nbr *cand = NULL;
    edge *edges = NULL;
    id_edge *rows = NULL;
    char stamp[160], old[160];
    double t0 = rag_now_ms();
    int rc = RAG_OK;

    memset(&b, 0, sizeof b);
    memset(&r, 0, sizeof r);
    if (o.max_df < 2 || o.max_degree < 1)
        return rag_fail(err, RAG_EINVAL, "graph: max_df must be >= 2 and max_degree >= 1 "
                        "(got %d, %d)", o.max_df, o.max_degree);
    if ((rc = current_stamp(st, &o, stamp, sizeof stamp, err)) < 0)
        return rc;
    if (!o.force && rag_graph_stored_stamp(st, old, sizeof old) && !strcmp(old, stamp)) {
        r.skipped = 1;
        r.seconds = (rag_now_ms() - t0) / 1e3;
        if (rep)
            *rep = r;
        return RAG_OK;
    }
    b.an = rag_index_analyzer(ix);

    /* pass 1: definitions (chunk order fixes the node indexes) */
    pc = (pass_ctx){&b, &ids, &n_nodes, &cap_nodes, &r, 0, 0};
    rc = st->ops->chunk_scan(st, 0, on_definitions, &pc, err);
    /* pass 2: mentions */
    if (rc == RAG_OK)
        rc = st->ops->chunk_scan(st, 0, on_mentions, &pc, err);
    if (rc == PASS_OOM)
        goto oom;
    if (rc == PASS_ANALYSE) {
        rc = pc.analyse_rc;
        goto analyse_failed;
    }
    if (rc == PASS_CHANGED) {
        rc = rag_fail(err, RAG_EIO, "graph: chunks changed while building");
        goto done;
    }
    if (rc < 0)
        goto done;

    /* per term: df (occurrences are unique per (chunk, term) and pass) */
    n_terms = b.term_ids.n;
    df = rag_calloc(n_terms + 1, sizeof *df);
    idf = rag_calloc(n_terms + 1, sizeof *idf);
    if (!df || !idf)
        goto oom;
    /* a term defined in pass 1 and mentioned in pass 2 occurs twice for
     * one chunk: merge, by sorting occurrences by (node, term) */
    {
        size_t w = 0;
        if (b.n_occs > 1)
            qsort(b.occs, b.n_occs, sizeof *b.occs, cmp_occ);
        for (size_t i = 0; i < b.n_occs; i++) {
            if (w && b.occs[w - 1].node == b.occs[i].node && b.occs[w - 1].term == b.occs[i].term)
                b.occs[w - 1].defined |= b.occs[i].defined;
            else
                b.occs[w++] = b.occs[i];
        }
        b.n_occs = w;
    }
    for (size_t i = 0; i < b.n_occs; i++)
        df[b.occs[i].term]++;
    for (size_t t = 0; t < n_terms; t++) {
        if (df[t] >= 2 && df[t] <= (uint32_t)o.max_df) {
            double N = (double)n_nodes;
            idf[t] = log(1.0 + (N - df[t] + 0.5) / (df[t] + 0.5));
            r.n_terms++;
        }
    }
    /* forward lists (occs are sorted by node) and the inverted lists of
     * linking terms */
    fwd_off = rag_calloc(n_nodes + 1, sizeof *fwd_off);
    inv_off = rag_calloc(n_terms + 1, sizeof *inv_off);
    if (!fwd_off || !inv_off)
        goto oom;
    {
        size_t n_link = 0;
        for (size_t i = 0; i < b.n_occs; i++)
            if (idf[b.occs[i].term] > 0)
                n_link++;
        fwd = rag_malloc((n_link ? n_link : 1) * sizeof *fwd);
        inv = rag_malloc((n_link ? n_link : 1) * sizeof *inv);
        if (!fwd || !inv)
            goto oom;
        n_link = 0;
        for (size_t i = 0; i < b.n_occs; i++) {
            if (idf[b.occs[i].term] <= 0)
                continue;
            fwd[n_link++] = b.occs[i];
            fwd_off[b.occs[i].node + 1]++;
            inv_off[b.occs[i].term + 1]++;
        }
        for (size_t i = 0; i < n_nodes; i++)
            fwd_off[i + 1] += fwd_off[i];
        for (size_t t = 0; t < n_terms; t++)
            inv_off[t + 1] += inv_off[t];
        memset(df, 0, (n_terms + 1) * sizeof *df);   /* reused as fill cursor */
        for (size_t i = 0; i < n_link; i++)
            inv[inv_off[fwd[i].term] + df[fwd[i].term]++] = i;   /* index into fwd */
    }
    rag_free(b.occs);
    b.occs = NULL;

    /* accumulate weights per node, keep the best max_degree */
    acc = rag_calloc(n_nodes ? n_nodes : 1, sizeof *acc);
    touched = rag_malloc((n_nodes ? n_nodes : 1) * sizeof *touched);
    cand = rag_malloc((n_nodes ? n_nodes : 1) * sizeof *cand);
    if (!acc || !touched || !cand)
        goto oom;
    for (size_t u = 0; u < n_nodes; u++) {
        size_t n_touched = 0, keep;
        for (uint32_t i = fwd_off[u]; i < fwd_off[u + 1]; i++) {
            uint32_t t = fwd[i].term;
            for (uint32_t j = inv_off[t]; j < inv_off[t + 1]; j++) {
                const occ *other = &fwd[inv[j]];
                double w;
                if (other->node == u)
                    continue;
                w = idf[t] * (fwd[i].defined || other->defined ? 2.0 : 1.0);
                if (acc[other->node] == 0)
                    touched[n_touched++] = other->node;
                acc[other->node] += w;
            }
        }
        for (size_t i = 0; i < n_touched; i++) {
            cand[i] = (nbr){touched[i], acc[touched[i]]};
            acc[touched[i]] = 0;
        }
        if (n_touched > 1)
            qsort(cand, n_touched, sizeof *cand, cmp_nbr);
        keep = n_touched < (size_t)o.max_degree ? n_touched : (size_t)o.max_degree;
        for (size_t i = 0; i < keep; i++) {
            edge e = {(uint32_t)u, cand[i].v, cand[i].w};
            if (e.u > e.v) {
                e.u = cand[i].v;
                e.v = (uint32_t)u;
            }
            VEC_PUSH(edges, n_edges, cap_edges, e, oom);
        }
    }
    if (n_edges > 1)
        qsort(edges, n_edges, sizeof *edges, cmp_edge);
    rows = rag_malloc((n_edges ? n_edges : 1) * sizeof *rows);
    if (!rows)
        goto oom;
    {
        size_t n_rows = 0;
        for (size_t i = 0; i < n_edges; i++) {
            if (i && edges[i].u == edges[i - 1].u && edges[i].v == edges[i - 1].v)
                continue;
            int64_t a = ids[edges[i].u], c = ids[edges[i].v];
            rows[n_rows++] = (id_edge){a < c ? a : c, a < c ? c : a, edges[i].w};
        }
        n_edges = n_rows;
    }
    if (n_edges > 1)
        qsort(rows, n_edges, sizeof *rows, cmp_id_edge);

    /* write, in one transaction */
    if ((rc = st->ops->graph_replace(st, rows, n_edges, stamp, err)) < 0)
        goto done;
    r.n_nodes = (int64_t)n_nodes;
    r.n_edges = (int64_t)n_edges;
    r.seconds = (rag_now_ms() - t0) / 1e3;
    if (rep)
        *rep = r;
    rc = RAG_OK;
    goto done;

analyse_failed:
    rc = rag_fail(err, rc == RAG_ENOMEM || b.oom ? RAG_ENOMEM : rc,
                  "graph: analysing chunk %lld: %s", (long long)(n_nodes ? ids[n_nodes - 1] : 0),
                  rag_status_name(b.oom ? RAG_ENOMEM : rc));
    goto done;
oom:
    rc = rag_fail(err, RAG_ENOMEM, "graph: out of memory (%zu chunks)", n_nodes);
done:
    map_fini(&b.defs);
    map_fini(&b.phrases);
    map_fini(&b.term_ids);
    rag_free(b.cur);
    rag_free(b.occs);
    rag_free(ids);
    rag_free(df);
    rag_free(idf);
    rag_free(fwd_off);
    rag_free(inv_off);
    rag_free(fwd);
    rag_free(inv);
    rag_free(acc);
    rag_free(touched);
    rag_free(cand);
    rag_free(edges);
    rag_free(rows);
    return rc;
}

int rag_graph_drop(rag_index *ix, rag_err *err)
{
    rag_store *st = rag_index_store(ix);
    return st->ops->graph_drop(st, err);
}
