/* bench_chunker.c - time rag_chunker_split on a 10 MB document.
 *
 * Usage: bench_chunker [corpus.jsonl] [MB]
 * Text: the "text" fields of a BEIR corpus (default
 * ../shared/ir/cranfield/corpus.jsonl) repeated up to MB megabytes (10), and
 * the same size of random words without any punctuation. The peer, measured
 * in the same run, is one pass of rag_chunk_estimate_tokens over the whole
 * text: the least any chunker using this estimate must do.
 */
#include "text/chunker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void load_texts(rag_buf *out, const char *path)
{
    rag_buf raw = RAG_BUF_INIT;
    const char *p;
    if (rag_read_file(&raw, path, 0, NULL) < 0) {
        fprintf(stderr, "bench_chunker: cannot read %s\n", path);
        exit(1);
    }
    for (p = raw.data; p; p = strchr(p, '\n')) {
        const char *t = strstr(p, "\"text\": \"");
        const char *e;
        if (!t)
            break;
        t += 9;
        for (e = t; *e && *e != '"'; e++)
            if (*e == '\\' && e[1])
                e++;
        rag_buf_append(out, t, (size_t)(e - t));
        rag_buf_puts(out, "\n\n");
        p = e;
    }
    rag_buf_fini(&raw);
}

static void run(const char *name, const char *text, size_t n)
{
    rag_doc doc;
    rag_page_span page = {1, 0, n};
    rag_chunk_opts o = rag_chunk_default_opts();
    rag_chunks *cs = NULL;
    double best_split = 1e30, best_est = 1e30;
    int est = 0;

    memset(&doc, 0, sizeof doc);
    doc.path = (char *)name;
    doc.text = (char *)text;
    doc.text_bytes = n;
    doc.pages = &page;
    doc.n_pages = 1;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = rag_now_ms();
        est = rag_chunk_estimate_tokens(text, n);
        double t1 = rag_now_ms();
        if (rag_chunker_split(&cs, &doc, &o, NULL) != RAG_OK) {
            fprintf(stderr, "bench_chunker: split failed\n");
            exit(1);
        }
        double t2 = rag_now_ms();
        if (t1 - t0 < best_est)
            best_est = t1 - t0;
        if (t2 - t1 < best_split)
            best_split = t2 - t1;
        if (rep < 2)
            rag_chunks_destroy(cs);
    }
    printf("%-22s %6.1f MB  %7zu chunks  split %7.1f ms (%6.1f MB/s)  "
           "estimate-only %6.1f ms  ratio %.2f  (%d tokens est.)\n",
           name, n / 1e6, cs->n, best_split, n / 1e3 / best_split, best_est,
           best_split / best_est, est);
    rag_chunks_destroy(cs);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../shared/ir/cranfield/corpus.jsonl";
    size_t mb = argc > 2 ? (size_t)atoi(argv[2]) : 10;
    size_t want = mb << 20;
    rag_buf src = RAG_BUF_INIT, big = RAG_BUF_INIT, flat = RAG_BUF_INIT;
    uint64_t x = 88172645463325252ULL;

    load_texts(&src, path);
    if (src.len == 0) {
        fprintf(stderr, "bench_chunker: no text in %s\n", path);
        return 1;
    }
    while (big.len < want)
        rag_buf_append(&big, src.data, src.len < want - big.len ? src.len : want - big.len);
    while (flat.len < want) {
        int n = 1;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        n += (int)(x % 10);
        for (int i = 0; i < n; i++)
            rag_buf_putc(&flat, (char)('a' + (x >> (8 + 5 * i)) % 26));
        rag_buf_putc(&flat, ' ');
    }
    run("corpus text", big.data, big.len);
    run("no punctuation", flat.data, flat.len);
    rag_buf_fini(&src);
    rag_buf_fini(&big);
    rag_buf_fini(&flat);
    return 0;
}
