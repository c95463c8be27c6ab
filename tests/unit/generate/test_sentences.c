/* test_sentences.c - the sentence splitter on technical prose. */
#include "test_support.h"

#include "generate/generate.h"

#include <stdio.h>

#include <string.h>

typedef struct {
    char out[16][256];
    int n;
    const char *text;
} collect_ctx;

static int collect(void *ctx, size_t s, size_t e)
{
    collect_ctx *c = ctx;
    if (c->n < 16)
        snprintf(c->out[c->n++], 256, "%.*s", (int)(e - s), c->text + s);
    return 0;
}

static int split(collect_ctx *c, const char *text, size_t max_bytes)
{
    memset(c, 0, sizeof *c);
    c->text = text;
    assert_int_equal(rag_sentences(text, strlen(text), max_bytes, collect, c), 0);
    return c->n;
}

static void test_sentences__split_at_sentence_ends(void **state)
{
    collect_ctx c;
    (void)state;
    assert_int_equal(split(&c, "First one. Second one! Third? Yes.", 0), 4);
    assert_string_equal(c.out[0], "First one.");
    assert_string_equal(c.out[1], "Second one!");
    assert_string_equal(c.out[3], "Yes.");
}

static void test_sentences__keep_versions_hex_and_abbreviations(void **state)
{
    collect_ctx c;
    (void)state;
    assert_int_equal(split(&c, "See Fig. 3 and version v1.0 of the spec, e.g. the "
                               "0x7FF mask. Then stop.", 0), 2);
    assert_string_equal(c.out[0], "See Fig. 3 and version v1.0 of the spec, e.g. the "
                                  "0x7FF mask.");
}

static void test_sentences__blank_lines_and_bullets_break(void **state)
{
    collect_ctx c;
    (void)state;
    assert_int_equal(split(&c, "Heading\n\nbody text here\n- item one\n- item two", 0), 4);
    assert_string_equal(c.out[0], "Heading");
    assert_string_equal(c.out[2], "- item one");
}

static void test_sentences__long_sentences_are_cut_at_words(void **state)
{
    collect_ctx c;
    char text[2000];
    (void)state;
    memset(text, 0, sizeof text);
    for (int i = 0; i < 150; i++)
        strcat(text, "word ");
    assert_true(split(&c, text, 100) >= 7);
    for (int i = 0; i < c.n; i++) {
        assert_true(strlen(c.out[i]) <= 100);
        assert_true(c.out[i][0] == 'w');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentences__split_at_sentence_ends),
        cmocka_unit_test(test_sentences__keep_versions_hex_and_abbreviations),
        cmocka_unit_test(test_sentences__blank_lines_and_bullets_break),
        cmocka_unit_test(test_sentences__long_sentences_are_cut_at_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
