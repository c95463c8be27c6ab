/* fuzz_sentence_choice.c - libFuzzer target for what an extractive answer
 * reads from outside input: the sentence splitter and classifier over
 * document text, and the question analysis (compound parts, topic-less
 * words, comparison sides and parts, attributes), and the acronyms of a
 * text with the long forms it defines for them.
 *
 * Input layout: byte 0 even = the rest is document text, odd = a question.
 * Checks: every sentence lies inside the text, in order; every kind is a
 * known one; near-duplicate is symmetric for a sentence and itself; the
 * answer-type tests (date, number, version) run on every sentence and the
 * title block of the text ends inside it; the
 * question's parts are 1..RAG_QPARTS_MAX, every term belongs to some part,
 * part texts and report lists are NUL-terminated within their arrays. Any
 * broken invariant aborts.
 */
#include "generate/generate.h"
#include "text/analyzer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_sentence_choice: invariant broken: %s\n", what);
        abort();
    }
}

typedef struct {
    const char *text;
    size_t n, last_end;
} walk_ctx;

static int on_sentence(void *ctx, size_t s, size_t e)
{
    walk_ctx *w = ctx;
    rag_sentence_kind k;
    check(s <= e && e <= w->n, "sentence inside the text");
    check(s >= w->last_end, "sentences in order");
    w->last_end = e;
    k = rag_sentence_classify(w->text + s, e - s);
    check(strcmp(rag_sentence_kind_name(k), "?") != 0, "known kind");
    check(rag_sentence_near_duplicate(w->text + s, e - s, w->text + s, e - s),
          "a sentence repeats itself");
    (void)rag_sentence_is_list_item(w->text + s, e - s);
    (void)rag_sentence_introduces_list(w->text + s, e - s);
    for (int t = RAG_ATYPE_NONE; t <= RAG_ATYPE_SIZE; t++)
        (void)rag_sentence_holds_type(w->text + s, e - s, (rag_atype)t, "2011, 1.7");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rag_analyzer *an;
    char *text;

    if (size < 1)
        return 0;
    if (!an && rag_analyzer_create(&an, NULL) < 0)
        return 0;
    text = rag_strndup((const char *)data + 1, size - 1);
    if (!text)
        return 0;
    if (data[0] % 2 == 0) {
        walk_ctx w = {text, strlen(text), 0};
        check(rag_sentences(text, w.n, 0, on_sentence, &w) == 0, "splitter succeeds");
        w.last_end = 0;
        check(rag_sentences(text, w.n, 64, on_sentence, &w) == 0, "splitter with a cap");
        check(rag_title_block_end(text, w.n) <= w.n, "title block inside the text");
        {   /* the text's capitalised words and the long forms it gives them */
            char a[3][RAG_ACRONYM_MAX + 1], form[96];
            const char *texts[1] = {text};
            size_t n_a = rag_acronyms_in(text, a, 3);
            check(n_a <= 3, "at most 3 acronyms");
            for (size_t i = 0; i < n_a; i++) {
                size_t n = strlen(a[i]);
                check(n >= 2 && n <= RAG_ACRONYM_MAX, "acronym length");
                if (rag_acronym_form(texts, 1, a[i], form, sizeof form))
                    check(form[0] && strlen(form) < sizeof form, "a long form");
            }
        }
    } else {
        rag_qterms q;
        if (rag_qterms_analyze(&q, an, text, data[0] & 2, NULL) == RAG_OK) {
            check(q.n_parts >= 1 && q.n_parts <= RAG_QPARTS_MAX, "parts in range");
            check(q.n <= 64, "at most 64 terms");
            for (size_t i = 0; i < q.n; i++)
                check(q.items[i].parts != 0 && q.items[i].parts < (1u << q.n_parts),
                      "every term in some part");
            for (size_t p = 0; p < RAG_QPARTS_MAX; p++)
                check(memchr(q.part_text[p], '\0', sizeof q.part_text[p]) != NULL,
                      "part text terminated");
            check(memchr(q.ignored, '\0', sizeof q.ignored) && memchr(q.split, '\0',
                                                                       sizeof q.split),
                  "lists terminated");
            check(memchr(q.numbers, '\0', sizeof q.numbers) && memchr(q.version, '\0',
                                                                        sizeof q.version),
                  "numbers and version terminated");
            check(rag_atype_name(q.atype)[0] || q.atype == RAG_ATYPE_NONE, "known type");
            rag_qterms_fini(&q);
        }
    }
    rag_free(text);
    return 0;
}
