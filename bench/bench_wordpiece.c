/* bench_wordpiece.c - WordPiece encoding throughput on real text.
 *
 *   bench_wordpiece [MODEL_DIR] [TEXT_FILE...]
 *
 * MODEL_DIR defaults to $DOCRAG_SHARED/models/all-MiniLM-L6-v2-no-weights
 * (DOCRAG_SHARED defaults to ../shared). Each TEXT_FILE (UTF-8; e.g.
 * pdftotext output) is cut into ~1000-byte pieces at whitespace, like
 * chunks; with no files the texts of $DOCRAG_SHARED/ir/cranfield/corpus.jsonl
 * are used. Prints tokens/s and MB/s for single encoding without truncation
 * and with max_len 256, best of 5 runs, then the same for short texts (the
 * cranfield queries, x20) and for query/passage pairs with max_len 128 (the
 * cross-encoder's shape). Invalid UTF-8 is repaired first.
 */
#include "text/wordpiece.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pieces {
    char **s;
    size_t *n_bytes;
    size_t n, cap, total_bytes;
};

static void add_piece(struct pieces *p, const char *s, size_t n)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->s = realloc(p->s, p->cap * sizeof *p->s);
        p->n_bytes = realloc(p->n_bytes, p->cap * sizeof *p->n_bytes);
        if (!p->s || !p->n_bytes) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    p->s[p->n] = rag_strndup(s, n);
    p->n_bytes[p->n++] = n;
    p->total_bytes += n;
}

/* Cut text into ~1000-byte pieces ending at whitespace. */
static void cut(struct pieces *p, const char *text, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t end = pos + 1000 < n ? pos + 1000 : n;
        while (end < n && end > pos + 500 && text[end] != ' ' && text[end] != '\n')
            end--;
        end = pos + rag_utf8_floor(text + pos, end - pos);
        if (end == pos)
            end = n;
        add_piece(p, text + pos, end - pos);
        pos = end;
    }
}

static void load_file(struct pieces *p, const char *path)
{
    rag_buf raw = RAG_BUF_INIT, clean = RAG_BUF_INIT;
    rag_err err;
    if (rag_read_file(&raw, path, 0, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    rag_utf8_sanitize(&clean, raw.data ? raw.data : "", raw.len, NULL);
    cut(p, clean.data ? clean.data : "", clean.len);
    rag_buf_fini(&raw);
    rag_buf_fini(&clean);
}

static void load_cranfield(struct pieces *p, const char *shared)
{
    char *path = rag_asprintf("%s/ir/cranfield/corpus.jsonl", shared);
    FILE *f = fopen(path, "r");
    char line[1 << 16];
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    while (fgets(line, sizeof line, f)) {
        json_t *doc = json_loads(line, 0, NULL);
        json_t *t = json_object_get(doc, "text");
        if (json_is_string(t) && json_string_length(t))
            cut(p, json_string_value(t), json_string_length(t));
        json_decref(doc);
    }
    fclose(f);
    rag_free(path);
}

static void load_queries(struct pieces *p, const char *shared)
{
    char *path = rag_asprintf("%s/ir/cranfield/queries.jsonl", shared);
    FILE *f = fopen(path, "r");
    char line[1 << 14];
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    while (fgets(line, sizeof line, f)) {
        json_t *doc = json_loads(line, 0, NULL);
        json_t *t = json_object_get(doc, "text");
        if (json_is_string(t))
            for (int r = 0; r < 20; r++)
                add_piece(p, json_string_value(t), json_string_length(t));
        json_decref(doc);
    }
    fclose(f);
    rag_free(path);
}

/* pair = NULL: single texts; else each text is paired with pair->s[i % pair->n]. */
static double run(const rag_wordpiece *wp, const struct pieces *p, const struct pieces *pair,
                  size_t max_len, size_t *n_tokens)
{
    rag_encoding enc = {0};
    rag_err err;
    double t0 = rag_now_ms();
    *n_tokens = 0;
    for (size_t i = 0; i < p->n; i++) {
        const char *b = pair ? pair->s[i % pair->n] : NULL;
        size_t n_b = pair ? pair->n_bytes[i % pair->n] : 0;
        if (rag_wordpiece_encode(wp, p->s[i], p->n_bytes[i], b, n_b, max_len, &enc, &err) != 0) {
            fprintf(stderr, "encode: %s\n", err.msg);
            exit(1);
        }
        *n_tokens += enc.n;
    }
    rag_encoding_fini(&enc);
    return rag_now_ms() - t0;
}

int main(int argc, char **argv)
{
    const char *shared = getenv("DOCRAG_SHARED") ? getenv("DOCRAG_SHARED") : "../shared";
    char *model = argc > 1 ? rag_strdup(argv[1])
                           : rag_asprintf("%s/models/all-MiniLM-L6-v2-no-weights", shared);
    struct pieces p = {0}, q = {0};
    rag_wordpiece *wp;
    rag_err err;
    double t_load = rag_now_ms();

    if (rag_wordpiece_load(&wp, model, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t_load = rag_now_ms() - t_load;
    if (argc > 2)
        for (int i = 2; i < argc; i++)
            load_file(&p, argv[i]);
    else
        load_cranfield(&p, shared);
    printf("model %s loaded in %.1f ms (%zu ids)\n", model, t_load, rag_wordpiece_vocab_size(wp));
    printf("text: %zu pieces, %.2f MB\n", p.n, p.total_bytes / 1e6);
    load_queries(&q, shared);
    for (int m = 0; m < 4; m++) {
        static const char *const what[] = {"passages", "passages", "queries", "query+passage"};
        const struct pieces *texts = m < 2 ? &p : &q;
        const struct pieces *pair = m == 3 ? &p : NULL;
        size_t max_len = m == 0 || m == 2 ? 0 : m == 1 ? 256 : 128, n_tokens = 0;
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
            double ms = run(wp, texts, pair, max_len, &n_tokens);
            if (ms < best)
                best = ms;
        }
        printf("%-13s max_len %-4zu %7zu encodings, %8zu tokens in %6.1f ms: %.2f M tokens/s, "
               "%.2f us/encoding\n",
               what[m], max_len, texts->n, n_tokens, best, n_tokens / best / 1e3,
               best * 1e3 / texts->n);
    }
    for (size_t i = 0; i < p.n; i++)
        rag_free(p.s[i]);
    for (size_t i = 0; i < q.n; i++)
        rag_free(q.s[i]);
    free(p.s);
    free(p.n_bytes);
    free(q.s);
    free(q.n_bytes);
    rag_wordpiece_destroy(wp);
    rag_free(model);
    return 0;
}
