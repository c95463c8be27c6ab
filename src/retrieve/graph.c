/* graph.c - the loaded chunk graph (CSR) and personalised PageRank.
 *
 * PPR is the forward push of Andersen, Chung and Lang (2006), weighted:
 * every node holds an estimate p and a residual r (r starts as the restart
 * distribution s). Pushing u moves alpha * r[u] into p[u] and spreads the
 * rest over u's neighbours in proportion to edge weight; a node is pushed
 * while r[u] >= epsilon * (number of neighbours of u). The invariant
 * pi_s = p + sum_u r[u] pi_u makes the result exact up to the residual
 * left, and the work is O(1 / (alpha * epsilon)) whatever the graph's size:
 * a query only touches the seeds' neighbourhood. A node without edges
 * keeps its mass (a self-loop), so p of an isolated seed is its restart
 * share.
 */
#include "retrieve/graph_int.h"
#include "index/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rag_graph {
    size_t n;            /* nodes */
    size_t n_edges;      /* undirected */
    int64_t *ids;        /* node -> chunk id */
    uint32_t *off;       /* n + 1 */
    uint32_t *adj;       /* 2 * n_edges */
    double *w;           /* 2 * n_edges */
    double *deg;         /* weighted degree */
    uint32_t *slot;      /* chunk id -> node + 1 (open addressing), cap entries */
    size_t cap;
    double alpha, epsilon;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Node of chunk id, or -1. */
static long node_of(const rag_graph *g, int64_t id)
{
    if (!g->cap)
        return -1;
    for (size_t j = mix64((uint64_t)id) & (g->cap - 1); g->slot[j]; j = (j + 1) & (g->cap - 1))
        if (g->ids[g->slot[j] - 1] == id)
            return (long)g->slot[j] - 1;
    return -1;
}

/* Node of id, adding it if new. */
static uint32_t node_add(rag_graph *g, int64_t id)
{
    size_t j;
    for (j = mix64((uint64_t)id) & (g->cap - 1); g->slot[j]; j = (j + 1) & (g->cap - 1))
        if (g->ids[g->slot[j] - 1] == id)
            return g->slot[j] - 1;
    g->ids[g->n] = id;
    g->slot[j] = (uint32_t)(g->n + 1);
    return (uint32_t)g->n++;
}

void rag_graph_destroy(rag_graph *g)
{
    if (!g)
        return;
    rag_free(g->ids);
    rag_free(g->off);
    rag_free(g->adj);
    rag_free(g->w);
    rag_free(g->deg);
    rag_free(g->slot);
    rag_free(g);
}

size_t rag_graph_n_nodes(const rag_graph *g) { return g ? g->n : 0; }
size_t rag_graph_n_edges(const rag_graph *g) { return g ? g->n_edges : 0; }

int rag_graph_set_ppr(rag_graph *g, double alpha, double epsilon, rag_err *err)
{
    if (!(alpha > 0 && alpha < 1) || !(epsilon > 0 && epsilon < 1))
        return rag_fail(err, RAG_EINVAL, "graph: ppr alpha must be in (0, 1) and epsilon in "
                        "(0, 1) (got %g, %g)", alpha, epsilon);
    g->alpha = alpha;
    g->epsilon = epsilon;
    return RAG_OK;
}

int rag_graph_from_edges(rag_graph **out, const int64_t *src, const int64_t *dst,
                         const double *w, size_t n_edges, rag_err *err)
{
    rag_graph *g;
    uint32_t *fill = NULL, (*ends)[2] = NULL;
    size_t max_nodes, n_dir;

    *out = NULL;
    for (size_t i = 0; i < n_edges; i++) {
        if (src[i] == dst[i])
            return rag_fail(err, RAG_EINVAL, "graph: edge %zu is a self-loop on chunk %lld", i,
                            (long long)src[i]);
        if (!(w[i] > 0) || !isfinite(w[i]))
            return rag_fail(err, RAG_EINVAL, "graph: edge %zu (%lld-%lld) has weight %g; "
                            "weights must be positive", i, (long long)src[i],
                            (long long)dst[i], w[i]);
    }
    if (n_edges > UINT32_MAX / 4)
        return rag_fail(err, RAG_ELIMIT, "graph: %zu edges is too many", n_edges);
    max_nodes = 2 * n_edges;
    n_dir = 2 * n_edges;
    g = rag_calloc(1, sizeof *g);
    if (!g)
        return rag_fail(err, RAG_ENOMEM, "graph: out of memory");
    g->alpha = 0.15;
    g->epsilon = 1e-5;
    for (g->cap = 16; g->cap < 2 * max_nodes + 16; g->cap *= 2)
        ;
    g->ids = rag_malloc((max_nodes ? max_nodes : 1) * sizeof *g->ids);
    g->slot = rag_calloc(g->cap, sizeof *g->slot);
    ends = rag_malloc((n_edges ? n_edges : 1) * sizeof *ends);
    if (!g->ids || !g->slot || !ends)
        goto oom;
    for (size_t i = 0; i < n_edges; i++) {
        ends[i][0] = node_add(g, src[i]);
        ends[i][1] = node_add(g, dst[i]);
    }
    g->off = rag_calloc(g->n + 1, sizeof *g->off);
    g->adj = rag_malloc((n_dir ? n_dir : 1) * sizeof *g->adj);
    g->w = rag_malloc((n_dir ? n_dir : 1) * sizeof *g->w);
    g->deg = rag_calloc(g->n ? g->n : 1, sizeof *g->deg);
    fill = rag_calloc(g->n ? g->n : 1, sizeof *fill);
    if (!g->off || !g->adj || !g->w || !g->deg || !fill)
        goto oom;
    for (size_t i = 0; i < n_edges; i++) {
        g->off[ends[i][0] + 1]++;
        g->off[ends[i][1] + 1]++;
    }
    for (size_t u = 0; u < g->n; u++)
        g->off[u + 1] += g->off[u];
    for (size_t i = 0; i < n_edges; i++) {
        uint32_t a = ends[i][0], b = ends[i][1];
        g->adj[g->off[a] + fill[a]] = b;
        g->w[g->off[a] + fill[a]++] = w[i];
        g->adj[g->off[b] + fill[b]] = a;
        g->w[g->off[b] + fill[b]++] = w[i];
        g->deg[a] += w[i];
        g->deg[b] += w[i];
    }
    g->n_edges = n_edges;
    rag_free(fill);
    rag_free(ends);
    *out = g;
    return RAG_OK;
oom:
    rag_free(fill);
    rag_free(ends);
    rag_graph_destroy(g);
    return rag_fail(err, RAG_ENOMEM, "graph: out of memory for %zu edges", n_edges);
}

typedef struct {
    int64_t *src, *dst;
    double *w;
    size_t n, cap;
} edge_list;

static int on_edge(void *ctx, const rag_store_edge *e)
{
    edge_list *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4096;
        int64_t *a = rag_realloc(l->src, nc * sizeof *a);
        if (a)
            l->src = a;
        int64_t *b = a ? rag_realloc(l->dst, nc * sizeof *b) : NULL;
        if (b)
            l->dst = b;
        double *c = b ? rag_realloc(l->w, nc * sizeof *c) : NULL;
        if (!c)
            return RAG_ENOMEM;
        l->w = c;
        l->cap = nc;
    }
    l->src[l->n] = e->src;
    l->dst[l->n] = e->dst;
    l->w[l->n] = e->w;
    l->n++;
    return RAG_OK;
}

int rag_graph_load(rag_graph **out, rag_index *ix, rag_err *err)
{
    rag_store *st = rag_index_store(ix);
    edge_list l = {0};
    char now[96], stored[160];
    size_t n_now;
    int rc, has_stamp;

    *out = NULL;
    if ((rc = rag_graph_index_state(st, now, sizeof now, err)) < 0)
        return rc;
    has_stamp = rag_graph_stored_stamp(st, stored, sizeof stored);
    rc = st->ops->graph_scan(st, on_edge, &l, err);
    if (rc == RAG_ENOMEM)
        rc = rag_fail(err, RAG_ENOMEM, "graph: out of memory loading %zu edges", l.n);
    if (rc < 0)
        goto done;
    if (!has_stamp && l.n == 0)
        goto done;   /* no graph was built */
    /* built from another state of the index: stale (O(1), unlike checking
     * every edge's chunks) */
    n_now = strlen(now);
    if (!has_stamp || strncmp(stored, now, n_now) || stored[n_now] != ' ') {
        rc = rag_fail(err, RAG_EFORMAT, "%s: graph_edges: built for another state of "
                      "the index (\"%s\", now \"%s\"); the graph is stale (re-run "
                      "docrag index to rebuild it)", rag_index_path(ix), stored, now);
        goto done;
    }
    rc = rag_graph_from_edges(out, l.src, l.dst, l.w, l.n, err);
    if (rc < 0)
        rag_err_prefix(err, "%s: graph_edges", rag_index_path(ix));
done:
    rag_free(l.src);
    rag_free(l.dst);
    rag_free(l.w);
    return rc;
}

int rag_graph_ppr(const rag_graph *g, const int64_t *seeds, const double *seed_w,
                  size_t n_seeds, const int64_t *ids, size_t n_ids, double *out,
                  rag_err *err)
{
    double *p = NULL, *r = NULL, total = 0;
    uint32_t *queue = NULL;
    unsigned char *inq = NULL;
    size_t head = 0, n_q = 0;
    int rc = RAG_OK;

    for (size_t i = 0; i < n_seeds; i++)
        if (!(seed_w[i] >= 0) || !isfinite(seed_w[i]))
            return rag_fail(err, RAG_EINVAL, "graph: ppr seed %lld has weight %g; seed "
                            "weights must be finite and >= 0", (long long)seeds[i], seed_w[i]);
    for (size_t i = 0; i < n_ids; i++)
        out[i] = 0;
    if (!g || g->n == 0)
        return RAG_OK;
    for (size_t i = 0; i < n_seeds; i++)
        if (node_of(g, seeds[i]) >= 0)
            total += seed_w[i];
    if (total <= 0)
        return RAG_OK;
    p = rag_calloc(g->n, sizeof *p);
    r = rag_calloc(g->n, sizeof *r);
    inq = rag_calloc(g->n, 1);
    queue = rag_malloc(g->n * sizeof *queue);
    if (!p || !r || !inq || !queue) {
        rc = rag_fail(err, RAG_ENOMEM, "graph: out of memory for ppr over %zu nodes", g->n);
        goto done;
    }
    for (size_t i = 0; i < n_seeds; i++) {
        long u = node_of(g, seeds[i]);
        if (u < 0 || seed_w[i] == 0)
            continue;
        r[u] += seed_w[i] / total;
        if (!inq[u]) {
            inq[u] = 1;
            queue[(head + n_q++) % g->n] = (uint32_t)u;
        }
    }
    /* FIFO: every node is queued at most once at a time, so n slots do */
    while (n_q) {
        uint32_t u = queue[head];
        uint32_t d = g->off[u + 1] - g->off[u];
        double ru = r[u], m;
        head = (head + 1) % g->n;
        n_q--;
        inq[u] = 0;
        if (d == 0) {
            p[u] += ru;
            r[u] = 0;
            continue;
        }
        if (ru < g->epsilon * d)
            continue;
        p[u] += g->alpha * ru;
        r[u] = 0;
        m = (1 - g->alpha) * ru / g->deg[u];
        for (uint32_t k = g->off[u]; k < g->off[u + 1]; k++) {
            uint32_t v = g->adj[k];
            r[v] += m * g->w[k];
            if (!inq[v] && r[v] >= g->epsilon * (g->off[v + 1] - g->off[v])) {
                inq[v] = 1;
                queue[(head + n_q++) % g->n] = v;
            }
        }
    }
    for (size_t i = 0; i < n_ids; i++) {
        long u = node_of(g, ids[i]);
        out[i] = u >= 0 ? p[u] : 0;
    }
done:
    rag_free(p);
    rag_free(r);
    rag_free(inq);
    rag_free(queue);
    return rc;
}
