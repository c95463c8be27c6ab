/* test_extractive.c - the extractive answer end to end over a small index:
 * a dotted field name answered through its parts, a list quoted with the
 * sentence that introduces it, URLs and references never quoted, a
 * paragraph repeated by another version quoted once, per-sentence entries
 * and the gate's report. */
#include "test_support.h"

#include "generate/generate.h"
#include "config/config.h"

#include <string.h>

static const char DOC_NEW[] =
    "# Trap vectors\n\n"
    "The mtvec register holds the trap vector configuration, with a BASE field and a "
    "MODE field.\n\n"
    "The MODE field of mtvec selects one of these encodings:\n\n"
    "- Direct: all exceptions set pc to BASE.\n"
    "- Vectored: asynchronous interrupts set pc to BASE plus four times the cause.\n\n"
    "See https://example.org/mtvec for the history of the mtvec MODE field.\n\n"
    "[12] A. Waterman and K. Asanovic. The mtvec MODE field. In Proceedings of the "
    "Workshop on Traps, 2019.\n";

static const char DOC_OLD[] =
    "# Trap vectors (draft)\n\n"
    "The mtvec register holds the trap vector configuration, with a BASE field and a "
    "MODE field.\n\n"
    "Older drafts had no vectored interrupts at all, and software polled the cause.\n";

/* a title page, then a table under a header line with its caption */
static const char DOC_GUIDE[] =
    "Vector Unit Tuning Guide\n\n"
    "Ada Lovelace\nCharles Babbage\n\n"
    "Analytical Engine Society\nhttp://example.org/engine/guide.html\n\n"
    "March 4, 2024\n\n"
    "This guide explains how the vector unit of the engine is tuned for long vectors and "
    "what each of its settings does in practice.\n\n"
    "The lanes setting of the engine chooses how many elements one vector holds.\n\n"
    "Value Name Description\n"
    "0 Short Vectors of up to 8 elements\n"
    "1 Long Vectors of up to 64 elements\n"
    "2 Huge Vectors of up to 512 elements\n"
    "3 Reserved For future use\n\n"
    "Table 2: Encoding of the lanes setting.\n\n"
    "Software reads the lanes setting before it sizes its buffers.\n\n"
    "Span of a vector\n\n"
    "\xE2\x80\xA2 span(lanes, width) = (LANES / width) \xC3\x97 16\n"
    "\xE2\x80\xA2 0 \xE2\x89\xA4 span \xE2\x89\xA4 4096\n";

/* a sentence a page break cuts; a part of a question only topic-less
 * words make ("its draft") */
static const char DOC_NOTES[] =
    "Zorblex Change Notes\n\n"
    "Regression analysis and testing are employed to provide\n\n"
    "assurance that a change has not created problems elsewhere in the zorblex "
    "product.\n\n"
    "The zorblex handbook was issued on June 1, 2024, for the second zorblex release.\n\n"
    "Its draft appeared on May 2, 2023.\n";

static rag_index *ix;
static char *dir;

static int setup(void **state)
{
    rag_config *cfg = NULL;
    rag_config_source src = {0};
    rag_indexer_opts io;
    rag_indexer_report rep;
    const char *paths[4];
    char *a, *b, *c, *d, *db;
    (void)state;
    dir = ts_tmpdir("extractive");
    a = rag_asprintf("%s/spec-new.md", dir);
    b = rag_asprintf("%s/spec-old.md", dir);
    c = rag_asprintf("%s/guide.txt", dir);
    d = rag_asprintf("%s/notes.txt", dir);
    ts_write_file(d, DOC_NOTES, strlen(DOC_NOTES));
    db = rag_asprintf("%s/t.db", dir);
    ts_write_file(c, DOC_GUIDE, strlen(DOC_GUIDE));
    ts_write_file(a, DOC_NEW, strlen(DOC_NEW));
    ts_write_file(b, DOC_OLD, strlen(DOC_OLD));
    src.yaml_text = "profile: local\n";
    src.yaml_len = strlen(src.yaml_text);
    assert_int_equal(rag_config_load(&cfg, &src, NULL), RAG_OK);
    io = rag_indexer_opts_from_config(cfg);
    assert_int_equal(rag_index_open(&ix, db, 0, NULL), RAG_OK);
    paths[0] = a;
    paths[1] = b;
    paths[2] = c;
    paths[3] = d;
    assert_int_equal(rag_indexer_run(ix, paths, 4, &io, NULL, &rep, NULL), RAG_OK);
    assert_int_equal(rep.n_added, 4);
    rag_config_destroy(cfg);
    rag_free(a);
    rag_free(b);
    rag_free(c);
    rag_free(d);
    rag_free(db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rag_index_close(ix);
    rag_free(dir);
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_extractive__dotted_name_list_no_junk_no_repeats(void **state)
{
    rag_ask_opts o = rag_ask_default_opts();
    rag_ask_timings t;
    rag_answer a;
    rag_err err = {0};
    (void)state;
    o.extractive.max_sentences = 6;
    assert_int_equal(rag_ask(&a, &t, ix, "What encodings does the mtvec.MODE field select?", &o, &err), RAG_OK);
    assert_false(a.refused);
    assert_true(t.gate.relevant);
    assert_non_null(strstr(t.gate.split, "mtvec.MODE"));
    /* the list comes with the sentence that introduces it, one item a line */
    assert_non_null(strstr(a.answer, "encodings:\nDirect: all exceptions set pc to BASE.\n"
                                     "Vectored:"));
    /* never a URL or a reference entry */
    assert_null(strstr(a.answer, "https://"));
    assert_null(strstr(a.answer, "Proceedings"));
    /* the paragraph both versions hold is quoted once */
    assert_true(count(a.answer, "holds the trap vector configuration") <= 1);
    /* one entry per quoted sentence, each in the answer with its [n] */
    assert_true(a.n_sentences >= 1);
    for (size_t i = 0; i < a.n_sentences; i++) {
        char cited[16];
        assert_non_null(strstr(a.answer, a.sentences[i].text));
        assert_true(a.sentences[i].n >= 1 && (size_t)a.sentences[i].n <= a.n_citations);
        assert_true(a.sentences[i].page >= 1);
        snprintf(cited, sizeof cited, "[%d]", a.sentences[i].n);
        assert_non_null(strstr(a.answer, cited));
    }
    assert_true(a.confidence > 0.5 && a.confidence <= 1.0);
    rag_answer_fini(&a);
}

static void test_extractive__a_paragraph_two_versions_hold_is_quoted_once(void **state)
{
    rag_ask_opts o = rag_ask_default_opts();
    rag_ask_timings t;
    rag_answer a;
    rag_err err = {0};
    (void)state;
    o.extractive.max_sentences = 6;
    assert_int_equal(rag_ask(&a, &t, ix, "Which trap vector configuration does the mtvec "
                                         "register hold?", &o, &err), RAG_OK);
    assert_false(a.refused);
    assert_int_equal(count(a.answer, "holds the trap vector configuration"), 1);
    /* the other copy's document is named when the answer does not cite it */
    if (a.n_citations == 1)
        assert_non_null(strstr(a.answer, "The same text is also in spec-"));
    rag_answer_fini(&a);
}

static void test_extractive__absent_attribute_is_refused(void **state)
{
    rag_ask_opts o = rag_ask_default_opts();
    rag_ask_timings t;
    rag_answer a;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_ask(&a, &t, ix, "What is the price of the mtvec register?", &o, &err),
                     RAG_OK);
    assert_true(a.refused);
    assert_false(t.gate.relevant);
    assert_true(t.gate.reason[0] != '\0');
    assert_non_null(strstr(t.gate.missing, "price"));
    assert_int_equal(a.n_sentences, 0);
    assert_true(a.confidence < 0.2);
    rag_answer_fini(&a);
}

static void ask_ok(rag_answer *a, const char *question)
{
    rag_ask_opts o = rag_ask_default_opts();
    rag_ask_timings t;
    rag_err err = {0};
    assert_int_equal(rag_ask(a, &t, ix, question, &o, &err), RAG_OK);
    if (a->refused)
        fail_msg("%s: refused (%s)", question, t.gate.reason);
}

static void test_extractive__title_page_answers_who_and_when(void **state)
{
    rag_answer a;
    (void)state;
    ask_ok(&a, "Who wrote the Vector Unit Tuning Guide?");
    assert_non_null(strstr(a.answer, "Title page: "));
    assert_non_null(strstr(a.answer, "Ada Lovelace; Charles Babbage"));
    assert_null(strstr(a.answer, "http://"));
    rag_answer_fini(&a);
    /* a date question keeps the date lines, not the names */
    ask_ok(&a, "When was the Vector Unit Tuning Guide issued?");
    assert_non_null(strstr(a.answer, "Title page: "));
    assert_non_null(strstr(a.answer, "March 4, 2024"));
    assert_null(strstr(a.answer, "Lovelace"));
    rag_answer_fini(&a);
    /* no answer type: the title block is not quoted */
    ask_ok(&a, "How is the vector unit of the engine tuned for long vectors?");
    assert_null(strstr(a.answer, "Title page: "));
    assert_non_null(strstr(a.answer, "This guide explains how the vector unit"));
    rag_answer_fini(&a);
}

static void test_extractive__table_quoted_with_header_and_caption(void **state)
{
    rag_answer a;
    (void)state;
    ask_ok(&a, "Which encodings does the lanes setting have?");
    /* header, every row (the caption names the subject), the caption */
    assert_non_null(strstr(a.answer, "Value Name Description: 0 Short Vectors of up to 8 "
                                     "elements; 1 Long"));
    assert_non_null(strstr(a.answer, "3 Reserved For future use (Table 2: Encoding of the "
                                     "lanes setting)."));
    /* quoted once, cited like a sentence */
    assert_int_equal(count(a.answer, "1 Long Vectors"), 1);
    assert_true(a.n_sentences >= 1);
    rag_answer_fini(&a);
}

static void test_extractive__a_slide_formula_is_quoted(void **state)
{
    rag_answer a;
    rag_sentence_kind k;
    const char *f = "\xE2\x80\xA2 span(lanes, width) = (LANES / width) \xC3\x97 16";
    (void)state;
    /* the line alone is no prose: the formula rule quotes it */
    k = rag_sentence_classify(f, strlen(f));
    assert_true(k == RAG_SENT_TABLE || k == RAG_SENT_FRAGMENT);
    ask_ok(&a, "How is the span computed from lanes and width?");
    assert_non_null(strstr(a.answer, "span(lanes, width) = (LANES / width)"));
    /* a bound is no formula */
    assert_null(strstr(a.answer, "4096"));
    rag_answer_fini(&a);
}

static void test_extractive__a_sentence_a_page_break_cuts_is_one(void **state)
{
    rag_answer a;
    (void)state;
    ask_ok(&a, "What is regression testing used for in the zorblex product?");
    /* the part before the break reads like a heading (no end), the part
     * after starts in lower case: quoted whole, as one sentence */
    assert_non_null(strstr(a.answer, "Regression analysis and testing are employed to provide "
                                     "assurance that a change has not created problems"));
    rag_answer_fini(&a);
}

static void test_extractive__a_part_of_topicless_words_is_answered(void **state)
{
    rag_answer a;
    (void)state;
    /* "when was its draft": no topic word ("draft" asks, it names
     * nothing), a date asked: the sentence with "draft" and a date */
    ask_ok(&a, "When was the zorblex handbook issued, and when was its draft?");
    assert_non_null(strstr(a.answer, "June 1, 2024"));
    assert_non_null(strstr(a.answer, "Its draft appeared on May 2, 2023."));
    assert_null(strstr(a.answer, "Not found in the documents"));
    rag_answer_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extractive__dotted_name_list_no_junk_no_repeats),
        cmocka_unit_test(test_extractive__a_paragraph_two_versions_hold_is_quoted_once),
        cmocka_unit_test(test_extractive__absent_attribute_is_refused),
        cmocka_unit_test(test_extractive__title_page_answers_who_and_when),
        cmocka_unit_test(test_extractive__table_quoted_with_header_and_caption),
        cmocka_unit_test(test_extractive__a_slide_formula_is_quoted),
        cmocka_unit_test(test_extractive__a_sentence_a_page_break_cuts_is_one),
        cmocka_unit_test(test_extractive__a_part_of_topicless_words_is_answered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
