/* common.h - what the BEIR-corpus benchmarks share: building their index
 * once, loading their queries, sorting latencies. Linked into every bench_*. */
#ifndef DOCRAG_BENCH_COMMON_H
#define DOCRAG_BENCH_COMMON_H

#include <stddef.h>

/* Index BEIR_DIR/corpus.jsonl into db unless db exists (prints what it
 * built). 0, or 1 after printing "prog: error" to stderr. */
int bench_build_corpus_index(const char *prog, const char *beir_dir, const char *db);

/* The "text" of up to max_q lines of BEIR_DIR/queries.jsonl, each
 * malloc'd; *n_q set. NULL (after printing "prog: ...") if the file cannot
 * be read. Free with bench_free_queries. */
char **bench_load_queries(const char *prog, const char *beir_dir, size_t max_q, size_t *n_q);
void bench_free_queries(char **q, size_t n_q);

/* Sort v[0..n) ascending (latencies, before reading percentiles). */
void bench_sort(double *v, size_t n);

#endif
