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

static rag_index *ix;
static char *dir;

static int setup(void **state)
{
    rag_config *cfg = NULL;
    rag_config_source src = {0};
    rag_indexer_opts io;
    rag_indexer_report rep;
    const char *paths[2];
    char *a, *b, *db;
    (void)state;
    dir = ts_tmpdir("extractive");
    a = rag_asprintf("%s/spec-new.md", dir);
    b = rag_asprintf("%s/spec-old.md", dir);
    db = rag_asprintf("%s/t.db", dir);
    ts_write_file(a, DOC_NEW, strlen(DOC_NEW));
    ts_write_file(b, DOC_OLD, strlen(DOC_OLD));
    src.yaml_text = "profile: local\n";
    src.yaml_len = strlen(src.yaml_text);
    assert_int_equal(rag_config_load(&cfg, &src, NULL), RAG_OK);
    io = rag_indexer_opts_from_config(cfg);
    assert_int_equal(rag_index_open(&ix, db, 0, NULL), RAG_OK);
    paths[0] = a;
    paths[1] = b;
    assert_int_equal(rag_indexer_run(ix, paths, 2, &io, NULL, &rep, NULL), RAG_OK);
    assert_int_equal(rep.n_added, 2);
    rag_config_destroy(cfg);
    rag_free(a);
    rag_free(b);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extractive__dotted_name_list_no_junk_no_repeats),
        cmocka_unit_test(test_extractive__a_paragraph_two_versions_hold_is_quoted_once),
        cmocka_unit_test(test_extractive__absent_attribute_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
