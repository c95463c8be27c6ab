/* test_ingest_text.c - Markdown, HTML and plain text extraction, cleaning,
 * type detection and bad input. */
#include "test_support.h"

#include "ingest/ingest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static rag_doc *mem(rag_doc_kind kind, const char *name, const char *s)
{
    rag_doc *d = NULL;
    rag_err err = {0};
    if (rag_extract_mem(&d, name, kind, s, strlen(s), NULL, &err) != RAG_OK)
        fail_msg("%s: %s", name, err.msg);
    assert_true(rag_utf8_valid(d->text, d->text_bytes));
    assert_int_equal(strlen(d->text), d->text_bytes);
    assert_int_equal(d->n_pages, 1);
    assert_int_equal(d->pages[0].byte_start, 0);
    assert_int_equal(d->pages[0].byte_end, d->text_bytes);
    return d;
}

/* Section path in force at the first occurrence of `needle`. */
static const char *section_of(const rag_doc *d, const char *needle)
{
    const char *hit = strstr(d->text, needle);
    const char *path = NULL;
    size_t pos;
    assert_non_null(hit);
    pos = (size_t)(hit - d->text);
    for (size_t i = 0; i < d->n_sections && d->sections[i].byte_start <= pos; i++)
        path = d->sections[i].path;
    return path;
}

static void test_markdown__headings_become_section_paths(void **state)
{
    rag_doc *d = mem(RAG_DOC_MARKDOWN, "guide.md",
                     "# Guide\n\nIntro text.\n\n## Install\n\nRun make.\n\n"
                     "### On Debian\n\nUse apt.\n\n## Usage\n\nCall it.\n");
    (void)state;
    assert_string_equal(d->title, "Guide");
    assert_string_equal(section_of(d, "Intro text."), "Guide");
    assert_string_equal(section_of(d, "Run make."), "Guide > Install");
    assert_string_equal(section_of(d, "Use apt."), "Guide > Install > On Debian");
    assert_string_equal(section_of(d, "Call it."), "Guide > Usage");
    /* Headings stay in the text and start their section. */
    assert_string_equal(section_of(d, "On Debian"), "Guide > Install > On Debian");
    assert_non_null(strstr(d->text, "Intro text.\n\nInstall\n\nRun make."));
    rag_doc_destroy(d);
}

static void test_markdown__code_blocks_and_tables_are_kept(void **state)
{
    rag_doc *d = mem(RAG_DOC_MARKDOWN, "code.md",
                     "Text   with    spaces.\n\n"
                     "```c\nint main(void)\n{\n    return  0;\n}\n```\n\n"
                     "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                     "* item one\n* item &amp; two\n");
    (void)state;
    assert_non_null(strstr(d->text, "Text with spaces."));
    assert_non_null(strstr(d->text, "int main(void)\n{\n    return  0;\n}"));
    assert_non_null(strstr(d->text, "a | b\n1 | 2"));
    assert_non_null(strstr(d->text, "item one\nitem & two"));
    assert_null(strstr(d->text, "```"));
    rag_doc_destroy(d);
}

static void test_html__drops_script_style_nav_and_maps_headings(void **state)
{
    rag_doc *d = mem(RAG_DOC_HTML, "page.html",
                     "<!DOCTYPE html><html><head><title>My  Page</title>"
                     "<style>body{color:red}</style>"
                     "<script>var secret = 1;</script></head><body>"
                     "<nav><a href='/'>Home</a> menu-link</nav>"
                     "<h1>Top</h1><p>First &amp; <b>bold</b>\nline.</p>"
                     "<h2>Sub</h2><p>Caf\xC3\xA9 text.</p>"
                     "<table><tr><th>k</th><th>v</th></tr><tr><td>x</td><td>1</td></tr></table>"
                     "<pre>  keep   this\n    indented</pre>"
                     "<h2>Other</h2><ul><li>one</li><li>two</li></ul>"
                     "<noscript>enable js</noscript></body></html>");
    (void)state;
    assert_string_equal(d->title, "My Page");
    assert_null(strstr(d->text, "secret"));
    assert_null(strstr(d->text, "color"));
    assert_null(strstr(d->text, "menu-link"));
    assert_null(strstr(d->text, "enable js"));
    assert_non_null(strstr(d->text, "First & bold line."));
    assert_non_null(strstr(d->text, "Caf\xC3\xA9 text."));
    assert_non_null(strstr(d->text, "k | v\nx | 1"));
    assert_non_null(strstr(d->text, "  keep   this\n    indented"));
    assert_non_null(strstr(d->text, "one\ntwo"));
    assert_string_equal(section_of(d, "First"), "Top");
    assert_string_equal(section_of(d, "Caf"), "Top > Sub");
    assert_string_equal(section_of(d, "one"), "Top > Other");
    rag_doc_destroy(d);
}

static void test_html__latin1_charset_is_converted(void **state)
{
    rag_doc *d = mem(RAG_DOC_HTML, "latin.html",
                     "<html><head><meta charset=\"iso-8859-1\"></head>"
                     "<body><p>na\xEFve caf\xE9</p></body></html>");
    (void)state;
    assert_non_null(strstr(d->text, "na\xC3\xAFve caf\xC3\xA9"));
    assert_int_equal(d->n_replaced, 0);
    rag_doc_destroy(d);
}

static void test_text__ligatures_spaces_and_hyphens_are_cleaned(void **state)
{
    rag_doc *d = mem(RAG_DOC_TEXT, "a.txt",
                     "  The \xEF\xAC\x81rst e\xEF\xAC\x83" "cient \xEF\xAC\x82ow.\n"
                     "Non\xC2\xA0" "breaking\tand   runs.\n"
                     "An exam-\nple of 16-\nentry and RISC-\nV here.\n"
                     "Soft\xC2\xAD\nhyphen and zero\xE2\x80\x8Bwidth.\n\n\n\n"
                     "Second paragraph.   \n"
                     "Contents........... 12\n");
    (void)state;
    assert_string_equal(d->text,
                        "The first efficient flow.\n"
                        "Non breaking and runs.\n"
                        "An example of 16-entry and RISC-V here.\n"
                        "Softhyphen and zerowidth.\n\n"
                        "Second paragraph.\n"
                        "Contents... 12");
    assert_string_equal(d->title, "a.txt");
    rag_doc_destroy(d);
}

static void test_text__invalid_utf8_is_repaired_and_counted(void **state)
{
    rag_doc *t = mem(RAG_DOC_TEXT, "bad.txt", "ok \xFF\xFE then \xC3 end");
    rag_doc *m = mem(RAG_DOC_MARKDOWN, "bad.md", "# T\xFF\n\nbody \xC0\xAF x\n");
    rag_doc *h = mem(RAG_DOC_HTML, "bad.html", "<p>a\xFF" "b</p>");
    (void)state;
    assert_int_equal(t->n_replaced, 3);
    assert_string_equal(t->text, "ok \xEF\xBF\xBD\xEF\xBF\xBD then \xEF\xBF\xBD end");
    assert_int_equal(m->n_replaced, 3);
    assert_non_null(strstr(m->text, "body \xEF\xBF\xBD\xEF\xBF\xBD x"));
    assert_int_equal(h->n_replaced, 1);
    assert_non_null(strstr(h->text, "a\xEF\xBF\xBD" "b"));
    rag_doc_destroy(t);
    rag_doc_destroy(m);
    rag_doc_destroy(h);
}

static void test_detect__magic_bytes_win_over_extension(void **state)
{
    (void)state;
    assert_int_equal(rag_detect_kind("x.txt", (const unsigned char *)"%PDF-1.7", 8),
                     RAG_DOC_PDF);
    assert_int_equal(rag_detect_kind("x.md", (const unsigned char *)"\x89PNG\r\n\x1a\n", 8),
                     RAG_DOC_UNKNOWN);
    assert_int_equal(rag_detect_kind("x.md", (const unsigned char *)"ab\0cd", 5),
                     RAG_DOC_UNKNOWN);
    assert_int_equal(rag_detect_kind("x.MD", (const unsigned char *)"# hi", 4),
                     RAG_DOC_MARKDOWN);
    assert_int_equal(rag_detect_kind("x.htm", (const unsigned char *)"<p>", 3),
                     RAG_DOC_HTML);
    assert_int_equal(rag_detect_kind("noext", (const unsigned char *)"<!DOCTYPE html>", 15),
                     RAG_DOC_HTML);
    assert_int_equal(rag_detect_kind("notes.txt", (const unsigned char *)"hi", 2),
                     RAG_DOC_TEXT);
    assert_int_equal(rag_detect_kind("a.c", (const unsigned char *)"int x;", 6),
                     RAG_DOC_UNKNOWN);
    /* A Markdown file that merely mentions %PDF- later is still Markdown. */
    assert_int_equal(rag_detect_kind("pdf.md", (const unsigned char *)"# The %PDF- header", 18),
                     RAG_DOC_MARKDOWN);
    assert_int_equal(rag_detect_kind("x.pdf", NULL, 0), RAG_DOC_PDF);
}

static char *write_tmp(const char *dir, const char *name, const void *data, size_t n)
{
    char *path = rag_asprintf("%s/%s", dir, name);
    ts_write_file(path, data, n);
    return path;
}

static void test_file__bad_input_gives_clear_errors(void **state)
{
    char *dir = ts_tmpdir("badin");
    char *empty = write_tmp(dir, "empty.md", "", 0);
    char *png = write_tmp(dir, "image.md", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    char *nul = write_tmp(dir, "nul.txt", "text\0with nul", 13);
    char *big = write_tmp(dir, "big.txt", "0123456789abcdef0123456789abcdef", 32);
    char *missing = rag_asprintf("%s/missing.txt", dir);
    rag_extract_opts o = rag_extract_default_opts();
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    assert_int_equal(rag_extract_file(&d, empty, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "empty.md"));
    assert_non_null(strstr(err.msg, "empty file"));
    assert_int_equal(rag_extract_file(&d, png, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "image.md"));
    assert_non_null(strstr(err.msg, "binary"));
    assert_int_equal(rag_extract_file(&d, nul, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "nul.txt"));
    assert_int_equal(rag_extract_file(&d, missing, NULL, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing.txt"));
    assert_int_equal(rag_extract_file(&d, dir, NULL, &err), RAG_EINVAL);
    /* Size caps: the text-format cap and the general one. */
    o.max_text_file_bytes = 16;
    assert_int_equal(rag_extract_file(&d, big, &o, &err), RAG_ELIMIT);
    assert_non_null(strstr(err.msg, "big.txt"));
    o = rag_extract_default_opts();
    o.max_file_bytes = 16;
    assert_int_equal(rag_extract_file(&d, big, &o, &err), RAG_ELIMIT);
    o = rag_extract_default_opts();
    o.max_text_bytes = 10;
    assert_int_equal(rag_extract_file(&d, big, &o, &err), RAG_ELIMIT);
    assert_non_null(strstr(err.msg, "big.txt"));
    assert_null(d);
    /* The default cap for text formats is 64 MiB. */
    assert_int_equal(rag_extract_default_opts().max_text_file_bytes, (size_t)64 << 20);
    /* Binary data through the memory API is refused too. */
    assert_int_equal(rag_extract_mem(&d, "m.md", RAG_DOC_MARKDOWN, "a\0b", 3, NULL, &err),
                     RAG_EFORMAT);
    assert_int_equal(rag_extract_mem(&d, "e.md", RAG_DOC_MARKDOWN, "", 0, NULL, &err),
                     RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "empty file"));
    assert_int_equal(rag_extract_file(&d, big, NULL, &err), RAG_OK);
    assert_string_equal(d->text, "0123456789abcdef0123456789abcdef");
    assert_int_equal(d->kind, RAG_DOC_TEXT);
    rag_doc_destroy(d);
    unlink(empty);
    unlink(png);
    unlink(nul);
    unlink(big);
    rmdir(dir);
    rag_free(empty);
    rag_free(png);
    rag_free(nul);
    rag_free(big);
    rag_free(missing);
    rag_free(dir);
}

/* Fail allocation N for every N: an error or a document, never a leak. */
static void fault_loop(rag_doc_kind kind, const char *name, const char *src)
{
    int ok = 0;
    for (long n = 0; n < 5000 && !ok; n++) {
        rag_doc *d = NULL;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_extract_mem(&d, name, kind, src, strlen(src), NULL, &err);
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK) {
            ok = 1;
            assert_non_null(d->text);
        } else {
            assert_int_equal(rc, RAG_ENOMEM);
            assert_null(d);
            assert_non_null(strstr(err.msg, name));
        }
        rag_doc_destroy(d);
    }
    assert_true(ok);
}

static void test_extract__allocation_failures_are_clean(void **state)
{
    (void)state;
    fault_loop(RAG_DOC_MARKDOWN, "f.md",
               "# A\n\ntext \xFF\n\n## B\n\n```\ncode\n```\n\n| x | y |\n|-|-|\n| 1 | 2 |\n");
    fault_loop(RAG_DOC_HTML, "f.html",
               "<title>T</title><h1>A</h1><p>x &amp; y</p><h2>B</h2><pre>c</pre>");
    fault_loop(RAG_DOC_TEXT, "f.txt", "a\xEF\xAC\x81 b-\nc\n\nd \xFF");
}

static void test_markdown__big_input_builds_in_linear_time(void **state)
{
    /* 4 MB of Markdown: quadratic string building would take minutes. */
    rag_buf src = RAG_BUF_INIT;
    rag_doc *d = NULL;
    double t0;
    (void)state;
    for (int i = 0; i < 20000; i++)
        assert_int_equal(rag_buf_printf(&src, "## Section %d\n\nSome text with a "
                                        "ligature \xEF\xAC\x81 and words, line %d.\n"
                                        "Second line of the para-\ngraph here.\n\n"
                                        "    code line %d\n\n", i, i, i), RAG_OK);
    t0 = rag_now_ms();
    assert_int_equal(rag_extract_mem(&d, "big.md", RAG_DOC_MARKDOWN, src.data,
                                     src.len, NULL, NULL), RAG_OK);
    assert_true(rag_now_ms() - t0 < 5000);
    assert_int_equal(d->n_sections, 20000);
    assert_non_null(strstr(d->text, "paragraph here"));
    rag_doc_destroy(d);
    rag_buf_fini(&src);
}

/* r05: libxml2 stops at 256 open elements and dropped everything after,
 * exit 0. The text after (and inside) the deep part is kept; script and nav
 * content in the flattened part stays dropped. */
static void test_html__deep_nesting_keeps_all_text(void **state)
{
    static const int depths[] = {300, 100000};
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        rag_buf src = RAG_BUF_INIT;
        rag_doc *d;
        int n = depths[k];
        assert_int_equal(rag_buf_puts(&src, "<html><body><p>top mcause paragraph</p>"), 0);
        for (int i = 0; i < n; i++)
            assert_int_equal(rag_buf_puts(&src, "<div>"), 0);
        assert_int_equal(rag_buf_puts(&src, "deep text zebrafish<script>var secret=1;"
                                      "</script><nav>menu</nav><p>deep paragraph</p>"), 0);
        for (int i = 0; i < n; i++)
            assert_int_equal(rag_buf_puts(&src, "</div>"), 0);
        assert_int_equal(rag_buf_puts(&src, "<p>after the deep part quokka</p>"
                                      "</body></html>"), 0);
        d = mem(RAG_DOC_HTML, "deep.html", src.data);
        assert_non_null(strstr(d->text, "top mcause paragraph"));
        assert_non_null(strstr(d->text, "deep text zebrafish"));
        assert_non_null(strstr(d->text, "deep paragraph"));
        assert_non_null(strstr(d->text, "after the deep part quokka"));
        assert_null(strstr(d->text, "secret"));
        assert_null(strstr(d->text, "menu"));
        rag_doc_destroy(d);
        rag_buf_fini(&src);
    }
}

/* Unmatched end tags under deep nesting made libxml2 scan its whole element
 * stack per tag once the depth limit is lifted: bounded by flattening. */
static void test_html__deep_unmatched_end_tags_stay_linear(void **state)
{
    rag_buf src = RAG_BUF_INIT;
    rag_doc *d;
    double t0;
    (void)state;
    for (int i = 0; i < 200000; i++)
        assert_int_equal(rag_buf_puts(&src, "<i>"), 0);
    assert_int_equal(rag_buf_puts(&src, "deep"), 0);
    for (int i = 0; i < 200000; i++)
        assert_int_equal(rag_buf_puts(&src, "</x>"), 0);
    assert_int_equal(rag_buf_puts(&src, "<p>after quokka</p>"), 0);
    t0 = rag_now_ms();
    d = mem(RAG_DOC_HTML, "ix.html", src.data);
    /* quadratic: minutes; linear: well under a second (generous for ASan
     * and a loaded machine) */
    assert_true(rag_now_ms() - t0 < 20000);
    assert_non_null(strstr(d->text, "after quokka"));
    rag_doc_destroy(d);
    rag_buf_fini(&src);
}

/* A text node over libxml2's 10 MB limit stopped the parse the same way. */
static void test_html__text_node_over_10_mb_is_kept(void **state)
{
    rag_buf src = RAG_BUF_INIT;
    rag_extract_opts o = rag_extract_default_opts();
    rag_doc *d = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_buf_puts(&src, "<html><body><p>"), 0);
    while (src.len < (size_t)10500000)
        assert_int_equal(rag_buf_puts(&src, "word word word word word word word word "), 0);
    assert_int_equal(rag_buf_puts(&src, "</p><p>after quokka</p></body></html>"), 0);
    o.max_text_bytes = 0;
    assert_int_equal(rag_extract_mem(&d, "big.html", RAG_DOC_HTML, src.data, src.len, &o,
                                     &err), RAG_OK);
    assert_non_null(strstr(d->text + d->text_bytes - 100, "after quokka"));
    rag_doc_destroy(d);
    rag_buf_fini(&src);
}

/* r09: one tag with 100k attributes took 18.5 s in libxml2's pairwise
 * duplicate check; attributes past 256 are cut first. */
static void test_html__many_attributes_stay_linear(void **state)
{
    rag_buf src = RAG_BUF_INIT;
    rag_doc *d;
    double t0;
    (void)state;
    assert_int_equal(rag_buf_puts(&src, "<p"), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(rag_buf_printf(&src, " a%d=\"v>\"", i), 0);
    assert_int_equal(rag_buf_puts(&src, ">text quokka</p><p class=\"x\" id=y>second</p>"), 0);
    t0 = rag_now_ms();
    d = mem(RAG_DOC_HTML, "attrs.html", src.data);
    assert_true(rag_now_ms() - t0 < 10000);
    /* quoted values with '>' inside are skipped whole: no attribute text
     * leaks into the document */
    assert_string_equal(d->text, "text quokka\n\nsecond");
    rag_doc_destroy(d);
    rag_buf_fini(&src);
}

/* ingest.max_file_seconds: an extraction over its time budget fails with
 * RAG_ELIMIT naming the file and the key, in each text format. */
static void test_extract__time_budget_fails_naming_the_key(void **state)
{
    static const struct { rag_doc_kind kind; const char *name, *unit; } cases[] = {
        {RAG_DOC_HTML, "slow.html", "<p>some words in a paragraph</p>\n"},
        {RAG_DOC_MARKDOWN, "slow.md", "# H\n\nsome words in a paragraph\n\n"},
        {RAG_DOC_TEXT, "slow.txt", "some words in a paragraph of plain text\n"},
    };
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        rag_extract_opts o = rag_extract_default_opts();
        rag_buf src = RAG_BUF_INIT;
        rag_doc *d = NULL;
        rag_err err = {0};
        while (src.len < ((size_t)16 << 20))
            assert_int_equal(rag_buf_puts(&src, cases[k].unit), 0);
        o.max_seconds = 0.001;
        o.max_text_file_bytes = 0;
        o.max_text_bytes = 0;
        assert_int_equal(rag_extract_mem(&d, cases[k].name, cases[k].kind, src.data, src.len,
                                         &o, &err), RAG_ELIMIT);
        assert_null(d);
        assert_non_null(strstr(err.msg, cases[k].name));
        assert_non_null(strstr(err.msg, "ingest.max_file_seconds"));
        rag_buf_fini(&src);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown__headings_become_section_paths),
        cmocka_unit_test(test_markdown__code_blocks_and_tables_are_kept),
        cmocka_unit_test(test_html__drops_script_style_nav_and_maps_headings),
        cmocka_unit_test(test_html__latin1_charset_is_converted),
        cmocka_unit_test(test_text__ligatures_spaces_and_hyphens_are_cleaned),
        cmocka_unit_test(test_text__invalid_utf8_is_repaired_and_counted),
        cmocka_unit_test(test_detect__magic_bytes_win_over_extension),
        cmocka_unit_test(test_file__bad_input_gives_clear_errors),
        cmocka_unit_test(test_extract__allocation_failures_are_clean),
        cmocka_unit_test(test_markdown__big_input_builds_in_linear_time),
        cmocka_unit_test(test_html__deep_nesting_keeps_all_text),
        cmocka_unit_test(test_html__deep_unmatched_end_tags_stay_linear),
        cmocka_unit_test(test_html__text_node_over_10_mb_is_kept),
        cmocka_unit_test(test_html__many_attributes_stay_linear),
        cmocka_unit_test(test_extract__time_budget_fails_naming_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
