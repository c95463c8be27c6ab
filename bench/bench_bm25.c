/* bench_bm25.c - BM25 query latency on a large index.
 *
 *   bench_bm25 BEIR_DIR DB [N_QUERIES]
 *
 * Builds DB from BEIR_DIR/corpus.jsonl if DB does not exist yet (timing the
 * build), then runs the queries of BEIR_DIR/queries.jsonl through
 * rag_search (top 10, FTS5 ranking plus reading the 10 rows), one core,
 * after one warm-up pass, and prints p50/p90/p99/mean latency.
 */
#include "common.h"

#include "retrieve/retrieve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    rag_index *ix = NULL;
    rag_err err = {0};
    char **queries = NULL;
    size_t n_q = 0, max_q = argc > 3 ? (size_t)atol(argv[3]) : 1000;
    double *lat;
    struct rusage ru;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_bm25 BEIR_DIR DB [N_QUERIES]\n");
        return 2;
    }
    if (bench_build_corpus_index("bench_bm25", argv[1], argv[2]))
        return 1;
    if (rag_index_open(&ix, argv[2], RAG_INDEX_READ_ONLY, &err) < 0) {
        fprintf(stderr, "bench_bm25: %s\n", err.msg);
        return 1;
    }
    if (!(queries = bench_load_queries("bench_bm25", argv[1], max_q, &n_q)))
        return 1;
    lat = calloc(n_q ? n_q : 1, sizeof *lat);
    for (int pass = 0; pass < 2; pass++) {
        size_t total_hits = 0;
        for (size_t i = 0; i < n_q; i++) {
            rag_hits hits;
            rag_search_opts so = {.mode = RAG_MODE_BM25, .k = 10};
            double t0 = rag_now_ms();
            if (rag_search(&hits, ix, queries[i], &so, &err) < 0) {
                fprintf(stderr, "bench_bm25: query %zu: %s\n", i, err.msg);
                return 1;
            }
            lat[i] = rag_now_ms() - t0;
            total_hits += hits.n;
            rag_hits_fini(&hits);
        }
        if (pass == 1) {
            double sum = 0;
            for (size_t i = 0; i < n_q; i++)
                sum += lat[i];
            bench_sort(lat, n_q);
            getrusage(RUSAGE_SELF, &ru);
            printf("docrag bm25 top-10: chunks=%lld queries=%zu p50=%.2f ms p90=%.2f ms "
                   "p99=%.2f ms mean=%.2f ms hits=%zu peak_rss=%.0f MB\n",
                   (long long)rag_index_n_chunks(ix), n_q, lat[n_q / 2],
                   lat[n_q * 9 / 10], lat[n_q * 99 / 100], sum / (double)n_q, total_hits,
                   ru.ru_maxrss / 1024.0);
        }
    }
    bench_free_queries(queries, n_q);
    free(lat);
    rag_index_close(ix);
    return 0;
}
