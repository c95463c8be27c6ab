/* bench_chunk_tokens.c - how many real WordPiece tokens the chunker's
 * windows hold, so chunk.* defaults can be checked against a 256-token
 * embedder (254 tokens plus [CLS] and [SEP]).
 *
 *   bench_chunk_tokens MODEL_DIR TARGET MAX OVERLAP FILE...
 *
 * FILEs are documents (any format docrag ingests) or BEIR corpus.jsonl
 * files. Prints chunks, mean real tokens, p50/p95/p99/max, the share over
 * 254 real tokens and the mean estimate/real ratio.
 */
#include "ingest/ingest.h"
#include "text/chunker.h"
#include "text/wordpiece.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

typedef struct {
    int *real;
    double ratio_sum;
    size_t n, cap;
} stats;

static void add_doc(stats *s, const rag_wordpiece *wp, const rag_doc *doc,
                    const rag_chunk_opts *o)
{
    rag_chunks *cs = NULL;
    rag_err err = {0};
    rag_encoding enc;
    memset(&enc, 0, sizeof enc);
    if (rag_chunker_split(&cs, doc, o, &err) < 0) {
        fprintf(stderr, "%s: %s\n", doc->path, err.msg);
        return;
    }
    for (size_t i = 0; i < cs->n; i++) {
        int real;
        if (rag_wordpiece_encode(wp, cs->items[i].text, cs->items[i].text_bytes, NULL, 0, 0,
                                 &enc, &err) < 0)
            continue;
        real = (int)enc.n - 2;
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 1024;
            s->real = realloc(s->real, s->cap * sizeof *s->real);
        }
        s->real[s->n++] = real;
        s->ratio_sum += real > 0 ? (double)cs->items[i].n_tokens / real : 1.0;
    }
    rag_encoding_fini(&enc);
    rag_chunks_destroy(cs);
}

int main(int argc, char **argv)
{
    rag_wordpiece *wp = NULL;
    rag_err err = {0};
    rag_chunk_opts o;
    stats s = {0};
    size_t over = 0;
    double sum = 0;

    if (argc < 6) {
        fprintf(stderr, "usage: bench_chunk_tokens MODEL_DIR TARGET MAX OVERLAP FILE...\n");
        return 2;
    }
    if (rag_wordpiece_load(&wp, argv[1], &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    o.target_tokens = atoi(argv[2]);
    o.max_tokens = atoi(argv[3]);
    o.overlap_tokens = atoi(argv[4]);
    for (int i = 5; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (len > 6 && !strcmp(argv[i] + len - 6, ".jsonl")) {
            FILE *f = fopen(argv[i], "r");
            char *line = NULL;
            size_t cap = 0;
            while (f && getline(&line, &cap, f) > 0) {
                json_t *j = json_loads(line, 0, NULL);
                const char *t = json_string_value(json_object_get(j, "text"));
                const char *ti = json_string_value(json_object_get(j, "title"));
                char *text = NULL;
                if (t && asprintf(&text, "%s\n\n%s", ti ? ti : "", t) > 0) {
                    rag_page_span pg = {1, 0, strlen(text)};
                    rag_doc d;
                    memset(&d, 0, sizeof d);
                    d.path = argv[i];
                    d.text = text;
                    d.text_bytes = strlen(text);
                    d.pages = &pg;
                    d.n_pages = 1;
                    add_doc(&s, wp, &d, &o);
                }
                free(text);
                json_decref(j);
            }
            free(line);
            if (f)
                fclose(f);
        } else {
            rag_doc *d = NULL;
            rag_extract_opts eo = rag_extract_default_opts();
            if (rag_extract_file(&d, argv[i], &eo, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                continue;
            }
            add_doc(&s, wp, d, &o);
            rag_doc_destroy(d);
        }
    }
    if (!s.n)
        return 1;
    qsort(s.real, s.n, sizeof *s.real, cmp_int);
    for (size_t i = 0; i < s.n; i++) {
        sum += s.real[i];
        over += s.real[i] > 254;
    }
    printf("target=%d max=%d overlap=%d chunks=%zu real_mean=%.1f p50=%d p95=%d p99=%d "
           "max=%d over254=%.2f%% est/real=%.3f\n",
           o.target_tokens, o.max_tokens, o.overlap_tokens, s.n, sum / (double)s.n,
           s.real[s.n / 2], s.real[s.n * 95 / 100], s.real[s.n * 99 / 100], s.real[s.n - 1],
           100.0 * (double)over / (double)s.n, s.ratio_sum / (double)s.n);
    free(s.real);
    rag_wordpiece_destroy(wp);
    return 0;
}
