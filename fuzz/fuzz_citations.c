/* fuzz_citations.c - libFuzzer target for the LLM-answer citation path.
 *
 * Input layout: byte 0 = number of chunks given (0..15); the rest is the
 * model's reply (NUL bytes end it). Checks: every kept citation points at a
 * given chunk, numbers are 1..k in order, every dropped number is outside
 * 1..n_given, the rewritten answer never grows by more than the citations
 * it renumbers, coverage is in [0, 1]. Any broken invariant aborts.
 */
#include "generate/generate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_citations: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_hits h;
    rag_answer a;
    rag_cite_groups g;
    size_t n_given;
    char *text;
    double cov = -1;

    if (size < 1)
        return 0;
    n_given = data[0] % 16;
    text = rag_strndup((const char *)data + 1, size - 1);
    if (!text)
        return 0;
    memset(&h, 0, sizeof h);
    h.items = rag_calloc(n_given ? n_given : 1, sizeof *h.items);
    h.n = n_given;
    for (size_t i = 0; i < n_given; i++) {
        h.items[i].row.chunk_id = (int64_t)i + 1;
        h.items[i].row.doc = rag_strdup("d");
        h.items[i].row.title = rag_strdup("t");
        h.items[i].row.section = rag_strdup("s");
        h.items[i].row.text = rag_strdup("x");
    }
    if (rag_citations_parse(&g, text, NULL) == RAG_OK) {
        for (size_t i = 0; i < g.n; i++)
            check(g.items[i].start < g.items[i].end && g.items[i].end <= strlen(text),
                  "group inside the text");
        rag_cite_groups_fini(&g);
    }
    memset(&a, 0, sizeof a);
    if (rag_citations_resolve(&a, text, &h, n_given, &cov, NULL) == RAG_OK) {
        check(cov >= 0 && cov <= 1, "coverage in [0,1]");
        check(a.answer != NULL, "answer set");
        for (size_t i = 0; i < a.n_citations; i++) {
            check(a.citations[i].n == (int)i + 1, "renumbered 1..k");
            check(a.citations[i].n_given >= 1 && (size_t)a.citations[i].n_given <= n_given,
                  "kept citation was given");
            check(a.citations[i].chunk_id == a.citations[i].n_given, "right chunk");
        }
        for (size_t i = 0; i < a.n_dropped; i++)
            check(a.dropped_citations[i] < 1 || (size_t)a.dropped_citations[i] > n_given,
                  "dropped citation was not given");
        (void)rag_answer_says_not_found(a.answer);
    }
    rag_answer_fini(&a);
    rag_hits_fini(&h);
    rag_free(text);
    return 0;
}
