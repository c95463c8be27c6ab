/* test_core.c - buffers, arenas, UTF-8, hashing, errors. */
#include "test_support.h"

#include <string.h>

static void test_buf__respects_cap(void **state)
{
    rag_buf b = RAG_BUF_INIT;
    (void)state;
    b.max_len = 8;
    assert_int_equal(rag_buf_puts(&b, "12345678"), RAG_OK);
    assert_int_equal(rag_buf_putc(&b, '9'), RAG_ELIMIT);
    assert_string_equal(b.data, "12345678");
    rag_buf_fini(&b);
}

static void test_buf__printf_appends(void **state)
{
    rag_buf b = RAG_BUF_INIT;
    (void)state;
    assert_int_equal(rag_buf_printf(&b, "%d-%s", 42, "x"), RAG_OK);
    assert_int_equal(rag_buf_printf(&b, "|%05.1f", 3.14159), RAG_OK);
    assert_string_equal(b.data, "42-x|003.1");
    assert_int_equal(b.len, strlen("42-x|003.1"));
    rag_buf_fini(&b);
}

static void test_arena__big_and_small_allocations_are_aligned(void **state)
{
    rag_arena *a = rag_arena_create(1024);
    (void)state;
    assert_non_null(a);
    for (int i = 0; i < 100; i++) {
        char *p = rag_arena_alloc(a, (size_t)(i * 37 % 3000) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xAB, (size_t)(i * 37 % 3000) + 1);
    }
    rag_arena_destroy(a);
}

static void test_utf8__rejects_overlong_and_surrogates(void **state)
{
    (void)state;
    assert_true(rag_utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14));
    assert_false(rag_utf8_valid("\xC0\xAF", 2));          /* overlong '/' */
    assert_false(rag_utf8_valid("\xED\xA0\x80", 3));      /* surrogate */
    assert_false(rag_utf8_valid("\xF4\x90\x80\x80", 4));  /* > U+10FFFF */
    assert_false(rag_utf8_valid("\xE2\x82", 2));          /* truncated */
}

static void test_utf8__sanitize_replaces_each_bad_byte(void **state)
{
    rag_buf b = RAG_BUF_INIT;
    size_t n_bad = 0;
    (void)state;
    assert_int_equal(rag_utf8_sanitize(&b, "a\xFF" "b\xC3", 4, &n_bad), RAG_OK);
    assert_int_equal(n_bad, 2);
    assert_string_equal(b.data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    rag_buf_fini(&b);
}

static void test_utf8__floor_never_cuts_a_sequence(void **state)
{
    const char *s = "a\xC3\xA9\xE2\x82\xAC";  /* a é € */
    (void)state;
    assert_int_equal(rag_utf8_floor(s, 1), 1);
    assert_int_equal(rag_utf8_floor(s, 2), 1);
    assert_int_equal(rag_utf8_floor(s, 3), 3);
    assert_int_equal(rag_utf8_floor(s, 4), 3);
    assert_int_equal(rag_utf8_floor(s, 5), 3);
    assert_int_equal(rag_utf8_floor(s, 6), 6);
}

static void test_sha256__matches_known_vector(void **state)
{
    char hex[65];
    (void)state;
    rag_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_err__prefix_keeps_code_and_message(void **state)
{
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_fail(&err, RAG_EFORMAT, "bad byte at %d", 7), RAG_EFORMAT);
    assert_int_equal(rag_err_prefix(&err, "%s", "doc.pdf"), RAG_EFORMAT);
    assert_string_equal(err.msg, "doc.pdf: bad byte at 7");
}

static void test_alloc__fault_injection_fails_buf_growth(void **state)
{
    rag_buf b = RAG_BUF_INIT;
    (void)state;
    ts_fail_alloc_after(0);
    assert_int_equal(rag_buf_puts(&b, "x"), RAG_ENOMEM);
    ts_fail_alloc_after(-1);
    assert_null(b.data);
}

/* r24: a file name can carry terminal escape sequences; what reaches a
 * terminal (messages, names printed as text) shows them instead of
 * running them. */
static void test_visible__escapes_what_a_terminal_would_act_on(void **state)
{
    char out[128];
    rag_err err = {0};
    (void)state;
    rag_visible(out, sizeof out, "name\x1b[2J\x1b]0;TITLE\x07x.txt");
    assert_string_equal(out, "name\\x1b[2J\\x1b]0;TITLE\\x07x.txt");
    /* C1 CSI (U+009B), DEL, tab/newline, a lone invalid byte */
    rag_visible(out, sizeof out, "a\xc2\x9b" "2Jb\x7f\t\n\xff" "c");
    assert_string_equal(out, "a\\u009b2Jb\\x7f\\t\\n\\xffc");
    /* ordinary UTF-8 is untouched */
    assert_false(rag_needs_visible("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.pdf"));
    rag_visible(out, sizeof out, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.pdf");
    assert_string_equal(out, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.pdf");
    /* cut at a whole character or escape, always NUL-terminated */
    assert_int_equal(rag_visible(out, 6, "ab\x1b" "cd"), 2);
    assert_string_equal(out, "ab");
    /* messages are made safe where they are made */
    rag_fail(&err, RAG_EIO, "%s: cannot read", "/d/evil\x1b[31m.txt");
    assert_string_equal(err.msg, "/d/evil\\x1b[31m.txt: cannot read");
    rag_err_prefix(&err, "%s", "/db\x07");
    assert_null(strchr(err.msg, '\x07'));
    assert_null(strchr(err.msg, '\x1b'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf__respects_cap),
        cmocka_unit_test(test_buf__printf_appends),
        cmocka_unit_test(test_arena__big_and_small_allocations_are_aligned),
        cmocka_unit_test(test_utf8__rejects_overlong_and_surrogates),
        cmocka_unit_test(test_utf8__sanitize_replaces_each_bad_byte),
        cmocka_unit_test(test_utf8__floor_never_cuts_a_sequence),
        cmocka_unit_test(test_sha256__matches_known_vector),
        cmocka_unit_test(test_err__prefix_keeps_code_and_message),
        cmocka_unit_test(test_alloc__fault_injection_fails_buf_growth),
        cmocka_unit_test(test_visible__escapes_what_a_terminal_would_act_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
