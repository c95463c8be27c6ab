/* bench_graph.c - chunk graph build cost and personalised PageRank latency.
 *
 *   bench_graph BEIR_DIR DB [N_QUERIES] [EPSILON]
 *
 * Builds DB from BEIR_DIR/corpus.jsonl if DB does not exist yet. Then
 * rebuilds the graph (forced, timed: analysis, weights and the SQLite
 * write), loads it (timed), and for each query of BEIR_DIR/queries.jsonl
 * takes the BM25 top 50 as seeds (weighted by score) and times
 * rag_graph_ppr over those 50 ids alone (the fusion use), after a warm-up
 * pass. Prints build time, edges, load time, PPR p50/p90/p99 and how many
 * of the 50 seeds got a non-zero score from a neighbour.
 */
#include "common.h"

#include "retrieve/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define N_SEEDS 50

int main(int argc, char **argv)
{
    rag_index *ix = NULL;
    rag_graph *g = NULL;
    rag_graph_report rep;
    rag_graph_opts go = rag_graph_default_opts();
    rag_err err = {0};
    size_t n_q = 0, max_q = argc > 3 ? (size_t)atol(argv[3]) : 1000;
    double eps = argc > 4 ? atof(argv[4]) : 1e-5, t0, *lat;
    struct rusage ru;
    char **queries;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_graph BEIR_DIR DB [N_QUERIES] [EPSILON]\n");
        return 2;
    }
    if (bench_build_corpus_index("bench_graph", argv[1], argv[2]))
        return 1;
    if (rag_index_open(&ix, argv[2], 0, &err) < 0) {
        fprintf(stderr, "bench_graph: %s\n", err.msg);
        return 1;
    }
    go.force = 1;
    if (rag_graph_build(ix, &go, &rep, &err) < 0) {
        fprintf(stderr, "bench_graph: %s\n", err.msg);
        return 1;
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("build: chunks=%lld linking_terms=%lld defined=%lld edges=%lld (%.1f per chunk) "
           "time=%.2f s peak_rss=%.0f MB\n", (long long)rep.n_nodes, (long long)rep.n_terms,
           (long long)rep.n_defined, (long long)rep.n_edges,
           rep.n_nodes ? 2.0 * (double)rep.n_edges / (double)rep.n_nodes : 0.0, rep.seconds,
           ru.ru_maxrss / 1024.0);
    t0 = rag_now_ms();
    if (rag_graph_load(&g, ix, &err) < 0 || !g) {
        fprintf(stderr, "bench_graph: load: %s\n", g ? err.msg : "no graph");
        return 1;
    }
    printf("load: %.1f ms for %zu nodes, %zu edges\n", rag_now_ms() - t0, rag_graph_n_nodes(g),
           rag_graph_n_edges(g));
    if (rag_graph_set_ppr(g, 0.15, eps, &err) < 0) {
        fprintf(stderr, "bench_graph: %s\n", err.msg);
        return 1;
    }

    if (!(queries = bench_load_queries("bench_graph", argv[1], max_q, &n_q)))
        return 1;
    lat = calloc(n_q ? n_q : 1, sizeof *lat);
    for (int pass = 0; pass < 2; pass++) {
        size_t boosted = 0, total = 0;
        for (size_t i = 0; i < n_q; i++) {
            rag_bm25_hit hits[N_SEEDS];
            int64_t ids[N_SEEDS];
            double w[N_SEEDS], out[N_SEEDS];
            size_t n = 0;
            if (rag_index_bm25(ix, queries[i], N_SEEDS, hits, &n, &err) < 0) {
                fprintf(stderr, "bench_graph: query %zu: %s\n", i, err.msg);
                return 1;
            }
            for (size_t k = 0; k < n; k++) {
                ids[k] = hits[k].chunk_id;
                w[k] = hits[k].score;
            }
            t0 = rag_now_ms();
            if (rag_graph_ppr(g, ids, w, n, ids, n, out, &err) < 0) {
                fprintf(stderr, "bench_graph: ppr %zu: %s\n", i, err.msg);
                return 1;
            }
            lat[i] = rag_now_ms() - t0;
            /* a seed's score above its own restart share came from neighbours */
            for (size_t k = 0; k < n; k++) {
                double sum = 0;
                for (size_t j = 0; j < n; j++)
                    sum += w[j];
                boosted += sum > 0 && out[k] > 0.15 * w[k] / sum * 1.0001;
            }
            total += n;
        }
        if (pass == 1) {
            double sum = 0;
            for (size_t i = 0; i < n_q; i++)
                sum += lat[i];
            bench_sort(lat, n_q);
            getrusage(RUSAGE_SELF, &ru);
            printf("ppr: alpha=0.15 epsilon=%g seeds=%d queries=%zu p50=%.3f ms p90=%.3f ms "
                   "p99=%.3f ms mean=%.3f ms; seeds raised by neighbours %.1f%%; "
                   "peak_rss=%.0f MB\n", eps, N_SEEDS, n_q, lat[n_q / 2], lat[n_q * 9 / 10],
                   lat[n_q * 99 / 100], sum / (double)(n_q ? n_q : 1),
                   total ? 100.0 * (double)boosted / (double)total : 0.0, ru.ru_maxrss / 1024.0);
        }
    }
    bench_free_queries(queries, n_q);
    free(lat);
    rag_graph_destroy(g);
    rag_index_close(ix);
    return 0;
}
