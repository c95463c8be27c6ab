/* graph.h - the chunk graph for graph-boosted fusion.
 *
 * Built at index time: nodes are chunks; two chunks are linked when they
 * share linking terms — technical terms (RV32I, x86_64, mcause, CSR, ...)
 * and defined entities (acronym definitions, "X is a ...", "X: ..." at a
 * line start, heading words) — whose chunk frequency is in [2, max_df].
 * An edge weighs the sum of the shared terms' idf (doubled for a term one
 * side defines); each chunk keeps its best max_degree neighbours and the
 * graph is the union of those lists (undirected). Stored in SQLite
 * (graph_edges, meta 'graph_stamp'); docs/graph.md has the rules.
 *
 * At query time, personalised PageRank from the query's seed chunks
 * (push-style, local: cost independent of the graph's size) gives each
 * chunk a score; fusion adds boost * ppr / max ppr to its normalised score.
 *
 * Thread safety: rag_graph_build uses the index's connection (one thread).
 * A loaded rag_graph is read-only: rag_graph_ppr may run on many threads.
 */
#ifndef RAG_GRAPH_H
#define RAG_GRAPH_H

#include "core/core.h"
#include "index/index.h"

#include <stdint.h>

typedef struct rag_graph rag_graph;

typedef struct {
    int max_df;          /* a term links chunks only if 2 <= df <= max_df (default 64) */
    int max_degree;      /* neighbours kept per chunk before the union (default 16) */
    int force;           /* rebuild even when the build stamp matches the index */
} rag_graph_opts;

rag_graph_opts rag_graph_default_opts(void);

typedef struct {
    int skipped;            /* 1: the stored graph already matched the index */
    int64_t n_nodes;        /* chunks */
    int64_t n_terms;        /* linking terms with df in [2, max_df] */
    int64_t n_defined;      /* (chunk, defined entity) pairs found */
    int64_t n_edges;        /* undirected edges stored (one row each, src < dst) */
    double seconds;
} rag_graph_report;

/* Rebuild the graph of every chunk of ix, in one transaction (the old
 * graph stays if anything fails). Skipped (rep->skipped = 1) when the
 * stamp stored with the graph equals the index's current one and
 * opts->force is 0. opts may be NULL (defaults), rep may be NULL.
 * Errors: RAG_EIO (SQLite, message names the statement), RAG_ENOMEM,
 * RAG_EINVAL (max_df < 2 or max_degree < 1). */
int rag_graph_build(rag_index *ix, const rag_graph_opts *opts, rag_graph_report *rep,
                    rag_err *err);

/* Drop the stored graph (tables and stamp). */
int rag_graph_drop(rag_index *ix, rag_err *err);

/* Load the stored graph as CSR. *out = NULL and RAG_OK when the index has
 * no graph (never built, or an older database). Caller owns *out; free
 * with rag_graph_destroy. A graph built for another state of the index
 * (chunks added, replaced or removed since: its stamp differs) is
 * RAG_EFORMAT naming both states: rebuild it. */
int rag_graph_load(rag_graph **out, rag_index *ix, rag_err *err);

/* A graph from an edge list (tests, tools): edge i joins src[i] and
 * dst[i] with weight w[i] > 0, in both directions; repeated pairs add
 * up. Self-loops and weights <= 0 or not finite are RAG_EINVAL. */
int rag_graph_from_edges(rag_graph **out, const int64_t *src, const int64_t *dst,
                         const double *w, size_t n_edges, rag_err *err);

void rag_graph_destroy(rag_graph *g);   /* NULL is a no-op */

size_t rag_graph_n_nodes(const rag_graph *g);
size_t rag_graph_n_edges(const rag_graph *g);   /* directed: 2 per undirected edge */

/* Personalised PageRank parameters: restart probability alpha in (0, 1)
 * (default 0.15) and the push threshold epsilon > 0 (default 1e-5): the
 * result is exact up to a residual below epsilon * degree per node. */
int rag_graph_set_ppr(rag_graph *g, double alpha, double epsilon, rag_err *err);

/* Personalised PageRank: restart to the seeds with probabilities
 * proportional to seed_w (>= 0, not all 0 over the known seeds), walk
 * along edges with probability proportional to their weight; a chunk
 * without edges keeps its mass. out[i] gets the score of ids[i] (0 for an
 * id not in the graph: a chunk without edges is not in it); scores over
 * all nodes sum to at most 1. Seeds not in the graph are ignored; if none
 * is known every out[i] is 0. Allocates O(nodes) scratch per call.
 * Errors: RAG_EINVAL (negative or non-finite weight), RAG_ENOMEM. */
int rag_graph_ppr(const rag_graph *g, const int64_t *seeds, const double *seed_w,
                  size_t n_seeds, const int64_t *ids, size_t n_ids, double *out,
                  rag_err *err);

/* ---- the linking-term rules (exposed for tests) ---------------------- */

/* 1 if the word bytes [s, s+n) look technical by shape: a digit with a
 * letter, a connector other than a lower-case word hyphen ("x86_64",
 * "v1.0", "std::vector"), an upper-case letter after the first
 * ("RISC-V", "McCarthy", "FreeRTOS"), an all-capitals acronym of 2-5
 * letters ("CSR"), or an identifier-shaped lower-case word ("mcause",
 * "mtvec", "csrrw": an initial or final consonant cluster English words
 * do not have, or no vowel). */
int rag_graph_is_technical(const char *s, size_t n);

/* Call fn(ctx, s, n, acronym) for each entity the text defines: the
 * acronym of "Control and Status Register (CSR)" (acronym = 1, with the
 * expansion given by a second call with acronym = 2), the subject of a
 * sentence "X is a|an|the ..." and a line start "X: ..." (1 to 4 words).
 * Returns fn's negative return, else 0. */
typedef int (*rag_graph_entity_fn)(void *ctx, const char *s, size_t n, int acronym);
int rag_graph_find_definitions(const char *text, size_t n_bytes, rag_graph_entity_fn fn,
                               void *ctx);

#endif
