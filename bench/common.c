/* common.c - see common.h. */
#include "common.h"

#include "eval/eval.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_build_corpus_index(const char *prog, const char *beir_dir, const char *db)
{
    rag_index *ix = NULL;
    rag_err err = {0};
    rag_chunk_opts co = rag_chunk_default_opts();
    size_t n_docs = 0, n_chunks = 0;
    char path[4096];
    double t0 = rag_now_ms();

    if (access(db, F_OK) == 0)
        return 0;
    snprintf(path, sizeof path, "%s/corpus.jsonl", beir_dir);
    if (rag_index_open(&ix, db, 0, &err) < 0 ||
        rag_eval_index_corpus(ix, path, &co, &n_docs, &n_chunks, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        rag_index_close(ix);
        return 1;
    }
    printf("built %s: %zu docs, %zu chunks in %.1f s\n", db, n_docs, n_chunks,
           (rag_now_ms() - t0) / 1e3);
    rag_index_close(ix);
    return 0;
}

char **bench_load_queries(const char *prog, const char *beir_dir, size_t max_q, size_t *n_q)
{
    char path[4096], *line = NULL, **q;
    size_t cap = 0;
    FILE *f;

    *n_q = 0;
    snprintf(path, sizeof path, "%s/queries.jsonl", beir_dir);
    if (!(f = fopen(path, "r"))) {
        fprintf(stderr, "%s: %s: cannot open\n", prog, path);
        return NULL;
    }
    q = calloc(max_q ? max_q : 1, sizeof *q);
    while (q && *n_q < max_q && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *t = o ? json_object_get(o, "text") : NULL;
        if (json_is_string(t))
            q[(*n_q)++] = strdup(json_string_value(t));
        json_decref(o);
    }
    fclose(f);
    free(line);
    return q;
}

void bench_free_queries(char **q, size_t n_q)
{
    for (size_t i = 0; q && i < n_q; i++)
        free(q[i]);
    free(q);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_sort(double *v, size_t n)
{
    if (n)
        qsort(v, n, sizeof *v, cmp_double);
}
