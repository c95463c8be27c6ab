/* test_ingest_pdf.c - PDF extraction over the real corpus and bad input. */
#include "test_support.h"

#include "ingest/ingest.h"

#include <dirent.h>
#include <pthread.h>
#include <mupdf/fitz.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void quiet(void *user, const char *msg)
{
    (void)user;
    (void)msg;
}

/* Page count straight from MuPDF, as the independent reference. */
static int mupdf_page_count(const char *path)
{
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    fz_document *doc = NULL;
    int n = -1;

    assert_non_null(ctx);
    fz_set_warning_callback(ctx, quiet, NULL);
    fz_set_error_callback(ctx, quiet, NULL);
    fz_var(doc);
    fz_try(ctx) {
        fz_register_document_handlers(ctx);
        doc = fz_open_document(ctx, path);
        n = fz_count_pages(ctx, doc);
    }
    fz_always(ctx) {
        fz_drop_document(ctx, doc);
    }
    fz_catch(ctx) {
        n = -1;
    }
    fz_drop_context(ctx);
    return n;
}

/* Invariants every extracted document must satisfy. */
static void check_doc_shape(const rag_doc *d)
{
    assert_non_null(d->text);
    assert_int_equal(strlen(d->text), d->text_bytes);
    assert_true(rag_utf8_valid(d->text, d->text_bytes));
    assert_true(d->n_pages >= 1);
    assert_int_equal(d->pages[0].byte_start, 0);
    for (size_t i = 0; i < d->n_pages; i++) {
        assert_int_equal(d->pages[i].page, (int)i + 1);
        assert_true(d->pages[i].byte_start <= d->pages[i].byte_end);
        if (i + 1 < d->n_pages)
            assert_int_equal(d->pages[i].byte_end, d->pages[i + 1].byte_start);
    }
    assert_int_equal(d->pages[d->n_pages - 1].byte_end, d->text_bytes);
    for (size_t i = 0; i < d->n_sections; i++) {
        assert_true(d->sections[i].byte_start < d->text_bytes);
        assert_non_null(d->sections[i].path);
        assert_true(d->sections[i].path[0] != '\0');
        if (i > 0)
            assert_true(d->sections[i].byte_start > d->sections[i - 1].byte_start);
    }
    assert_null(strstr(d->text, "\n\n\n"));
    assert_non_null(d->title);
}

/* Ligature code points U+FB00..U+FB06 are EF AC 80..86 in UTF-8. */
static int has_ligature(const char *s, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++)
        if ((unsigned char)s[i] == 0xEF && (unsigned char)s[i + 1] == 0xAC &&
            (unsigned char)s[i + 2] <= 0x86)
            return 1;
    return 0;
}

static void test_pdf__every_corpus_pdf_matches_mupdf_page_count(void **state)
{
    char *dir = ts_shared_path("corpus");
    struct dirent *e;
    DIR *d;
    int n_pdfs = 0;

    (void)state;
    if (!dir)
        skip();
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        rag_err err = {0};
        rag_doc *doc = NULL;
        char *path;
        int rc, expect;

        if (n < 5 || strcmp(e->d_name + n - 4, ".pdf") != 0)
            continue;
        path = rag_asprintf("%s/%s", dir, e->d_name);
        rc = rag_extract_file(&doc, path, NULL, &err);
        if (rc != RAG_OK)
            fail_msg("%s: %s", path, err.msg);
        expect = mupdf_page_count(path);
        assert_true(expect > 0);
        assert_int_equal(doc->n_pages, (size_t)expect);
        assert_int_equal(doc->kind, RAG_DOC_PDF);
        check_doc_shape(doc);
        /* Every corpus PDF has a text layer: ~≥ 40 bytes per page. */
        assert_true(doc->text_bytes > 40 * doc->n_pages);
        assert_false(has_ligature(doc->text, doc->text_bytes));
        rag_doc_destroy(doc);
        rag_free(path);
        n_pdfs++;
    }
    closedir(d);
    assert_int_equal(n_pdfs, 19);
    rag_free(dir);
}

static rag_doc *load_shared(const char *rel, const rag_extract_opts *opts)
{
    char *path = ts_shared_path(rel);
    rag_err err = {0};
    rag_doc *doc = NULL;

    if (!path)
        return NULL;
    if (rag_extract_file(&doc, path, opts, &err) != RAG_OK)
        fail_msg("%s: %s", path, err.msg);
    rag_free(path);
    return doc;
}

static const char *section_at(const rag_doc *d, size_t pos)
{
    const char *path = NULL;
    for (size_t i = 0; i < d->n_sections && d->sections[i].byte_start <= pos; i++)
        path = d->sections[i].path;
    return path;
}

static void test_pdf__phrase_lies_on_page_33_only_with_outline_section(void **state)
{
    const char *phrase = "four core instruction formats";
    rag_doc *d = load_shared("corpus/riscv-base-instructions.pdf", NULL);
    const rag_page_span *p33;
    const char *hit, *sec;
    int n_hits = 0;

    (void)state;
    if (!d)
        skip();
    assert_true(d->n_pages >= 33);
    p33 = &d->pages[32];
    assert_int_equal(p33->page, 33);
    for (hit = strstr(d->text, phrase); hit; hit = strstr(hit + 1, phrase)) {
        size_t pos = (size_t)(hit - d->text);
        assert_true(pos >= p33->byte_start);
        assert_true(pos + strlen(phrase) <= p33->byte_end);
        n_hits++;
        sec = section_at(d, pos);
        assert_non_null(sec);
        /* The outline entry on page 33 (mutool show ... outline). */
        assert_non_null(strstr(sec, "Base Instruction Formats"));
        assert_non_null(strstr(sec, "RV32I Base Integer Instruction Set"));
    }
    assert_int_equal(n_hits, 1);
    /* The running header "Volume I: RISC-V Unprivileged ISA V20191213" is on
     * nearly every page in the PDF, but gone from the text. */
    assert_null(strstr(d->text, "Volume I: RISC-V Unprivileged ISA V20191213\n"));
    rag_doc_destroy(d);
}

/* Lines of page text equal to `line`. */
static int count_lines(const char *s, size_t n, const char *line)
{
    size_t k = strlen(line);
    int count = 0;
    for (size_t i = 0; i + k <= n; i++) {
        if ((i == 0 || s[i - 1] == '\n') && memcmp(s + i, line, k) == 0 &&
            (i + k == n || s[i + k] == '\n'))
            count++;
    }
    return count;
}

static int count_page_footers(const rag_doc *d)
{
    int count = 0;
    for (size_t p = 0; p < d->n_pages; p++) {
        const char *s = d->text + d->pages[p].byte_start;
        size_t n = d->pages[p].byte_end - d->pages[p].byte_start;
        for (size_t i = 0; i + 6 < n; i++) {
            if ((i == 0 || s[i - 1] == '\n') && memcmp(s + i, "Page ", 5) == 0) {
                size_t j = i + 5;
                while (j < n && strchr("0123456789ivxlc", s[j]))
                    j++;
                if (j > i + 5 && (j == n || s[j] == '\n'))
                    count++;
            }
        }
    }
    return count;
}

static void test_pdf__fda_running_header_and_footer_are_dropped(void **state)
{
    const char *rel = "corpus/General-Principles-of-Software-Validation---Final-"
                      "Guidance-for-Industry-and-FDA-Staff.pdf";
    const char *header = "Guidance for Industry and FDA Staff";
    const char *body = "A specification is defined as";
    rag_extract_opts keep = rag_extract_default_opts();
    rag_doc *raw, *clean;
    int raw_h, clean_h;

    (void)state;
    keep.strip_headers = 0;
    raw = load_shared(rel, &keep);
    if (!raw)
        skip();
    clean = load_shared(rel, NULL);
    raw_h = count_lines(raw->text, raw->text_bytes, header);
    clean_h = count_lines(clean->text, clean->text_bytes, header);
    /* Without stripping, the header and "Page N" footer are on most pages. */
    assert_true(raw_h >= (int)raw->n_pages / 2);
    assert_true(count_page_footers(raw) >= (int)raw->n_pages / 2);
    /* With stripping they are gone from pages 2..n. */
    for (size_t p = 1; p < clean->n_pages; p++) {
        const rag_page_span *s = &clean->pages[p];
        assert_int_equal(count_lines(clean->text + s->byte_start,
                                     s->byte_end - s->byte_start, header), 0);
    }
    assert_true(clean_h <= 1);
    assert_int_equal(count_page_footers(clean), 0);
    /* The body stays: same sentence, and almost all the bytes. */
    assert_non_null(strstr(raw->text, body));
    assert_non_null(strstr(clean->text, body));
    assert_true(clean->text_bytes * 100 >= raw->text_bytes * 90);
    assert_int_equal(clean->n_pages, raw->n_pages);
    rag_doc_destroy(raw);
    rag_doc_destroy(clean);
}

static void test_pdf__headings_from_font_sizes_without_outline(void **state)
{
    /* 2505.24363 has no outline; its section titles are larger and bold. */
    rag_doc *d = load_shared("corpus/2505.24363.pdf", NULL);
    int found_intro = 0, found_sub = 0;

    (void)state;
    if (!d)
        skip();
    for (size_t i = 0; i < d->n_sections; i++) {
        if (strstr(d->sections[i].path, "Introduction"))
            found_intro = 1;
        if (strstr(d->sections[i].path, " > "))
            found_sub = 1;
    }
    assert_true(found_intro);
    assert_true(found_sub);
    rag_doc_destroy(d);
}

static char *fixture(const char *name)
{
    return ts_src_path(name);
}

static void test_pdf__tiny_fixture_pages_footer_and_hyphenation(void **state)
{
    char *path = fixture("tests/data/ingest/tiny.pdf");
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    assert_int_equal(rag_extract_file(&d, path, NULL, &err), RAG_OK);
    check_doc_shape(d);
    assert_int_equal(d->n_pages, 2);
    assert_non_null(strstr(d->text, "pineapple"));
    assert_true((size_t)(strstr(d->text, "pineapple") - d->text) < d->pages[0].byte_end);
    assert_true((size_t)(strstr(d->text, "hyphenated word") - d->text) >=
                d->pages[1].byte_start);
    assert_null(strstr(d->text, "Tiny Fixture Page"));
    rag_doc_destroy(d);
    rag_free(path);
}

static void test_pdf__outline_entry_marks_its_heading_not_page_start(void **state)
{
    char *path = fixture("tests/data/ingest/outline.pdf");
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    assert_int_equal(rag_extract_file(&d, path, NULL, &err), RAG_OK);
    check_doc_shape(d);
    assert_string_equal(d->title, "Outline Test");
    assert_int_equal(d->n_pages, 2);
    assert_int_equal(d->n_sections, 2);
    /* Page 2 opens with text that still belongs to chapter one; chapter
     * two starts at its heading further down the page. */
    assert_string_equal(section_at(d, (size_t)(strstr(d->text, "Top of page two") - d->text)),
                        "Chapter One");
    assert_string_equal(section_at(d, (size_t)(strstr(d->text, "More text") - d->text)),
                        "Chapter Two (bis)");
    assert_true(d->sections[1].byte_start > d->pages[1].byte_start);
    assert_int_equal(strncmp(d->text + d->sections[1].byte_start, "Chapter Two", 11), 0);
    rag_doc_destroy(d);
    rag_free(path);
}

static void test_pdf__encrypted_fails_naming_file(void **state)
{
    char *path = fixture("tests/data/ingest/encrypted.pdf");
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    assert_int_equal(rag_extract_file(&d, path, NULL, &err), RAG_EFORMAT);
    assert_null(d);
    assert_non_null(strstr(err.msg, "encrypted.pdf"));
    assert_non_null(strstr(err.msg, "encrypted"));
    rag_free(path);
}

static void test_pdf__truncated_half_fails_naming_file(void **state)
{
    char *src = ts_shared_path("corpus/GMLP_Guiding_Principles.pdf");
    char *dir = ts_tmpdir("trunc");
    char *path = rag_asprintf("%s/half.pdf", dir);
    rag_buf data = RAG_BUF_INIT;
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    if (!src)
        skip();
    assert_int_equal(rag_read_file(&data, src, 0, NULL), RAG_OK);
    ts_write_file(path, data.data, data.len / 2);
    assert_int_equal(rag_extract_file(&d, path, NULL, &err), RAG_EFORMAT);
    assert_null(d);
    assert_non_null(strstr(err.msg, "half.pdf"));
    /* The message says what is missing in words; no format escape (a
     * doubled or quadrupled percent sign) leaks into it. */
    assert_non_null(strstr(err.msg, "truncated or damaged PDF: no end-of-file marker"));
    assert_null(strchr(err.msg, '%'));
    /* Same bytes from memory. */
    assert_int_equal(rag_extract_mem(&d, "mem-half.pdf", RAG_DOC_PDF, data.data,
                                     data.len / 2, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "mem-half.pdf"));
    /* Garbage after a PDF header fails cleanly too. */
    assert_int_equal(rag_extract_mem(&d, "junk.pdf", RAG_DOC_PDF,
                                     "%PDF-1.4\nnonsense\n%%EOF\n", 24, NULL, &err),
                     RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "junk.pdf"));
    rag_buf_fini(&data);
    rag_free(path);
    rag_free(dir);
    rag_free(src);
}

static void test_pdf__size_cap_gives_elimit(void **state)
{
    char *path = fixture("tests/data/ingest/tiny.pdf");
    rag_extract_opts o = rag_extract_default_opts();
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    o.max_file_bytes = 100;
    assert_int_equal(rag_extract_file(&d, path, &o, &err), RAG_ELIMIT);
    assert_non_null(strstr(err.msg, "tiny.pdf"));
    o = rag_extract_default_opts();
    o.max_text_bytes = 50;
    assert_int_equal(rag_extract_file(&d, path, &o, &err), RAG_ELIMIT);
    assert_non_null(strstr(err.msg, "tiny.pdf"));
    assert_null(d);
    rag_free(path);
}

/* Every allocation failure inside MuPDF or ours ends in an error, never a
 * crash or a leak (ASan checks the leaks). */
static void test_pdf__allocation_failures_are_clean(void **state)
{
    char *path = fixture("tests/data/ingest/tiny.pdf");
    rag_buf data = RAG_BUF_INIT;
    long n;
    int ok = 0;

    (void)state;
    assert_int_equal(rag_read_file(&data, path, 0, NULL), RAG_OK);
    for (n = 0; n < 100000 && !ok; n += (n < 2000 ? 1 : 7)) {
        rag_doc *d = NULL;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_extract_mem(&d, "tiny.pdf", RAG_DOC_PDF, data.data, data.len,
                             NULL, &err);
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK) {
            ok = 1;
            check_doc_shape(d);
        } else {
            assert_true(rc == RAG_ENOMEM || rc == RAG_EFORMAT);
            assert_null(d);
            assert_non_null(strstr(err.msg, "tiny.pdf"));
        }
        rag_doc_destroy(d);
    }
    assert_true(ok);
    rag_buf_fini(&data);
    rag_free(path);
}

typedef struct {
    const char *path;
    rag_doc *doc;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int i = 0; i < 3; i++) {
        rag_doc_destroy(j->doc);
        j->doc = NULL;
        j->rc = rag_extract_file(&j->doc, j->path, NULL, NULL);
        if (j->rc != RAG_OK)
            break;
    }
    return NULL;
}

/* Two threads extracting at once get exactly the serial result. */
static void test_pdf__parallel_extractions_match_serial(void **state)
{
    char *a = ts_shared_path("corpus/GMLP_Guiding_Principles.pdf");
    char *b = ts_shared_path("corpus/AIML-SaMD-Action-Plan.pdf");
    job jobs[2] = {{a, NULL, 0}, {b, NULL, 0}};
    pthread_t th[2];
    rag_doc *ref;

    (void)state;
    if (!a || !b)
        skip();
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jobs[i].rc, RAG_OK);
        assert_int_equal(rag_extract_file(&ref, jobs[i].path, NULL, NULL), RAG_OK);
        assert_int_equal(ref->text_bytes, jobs[i].doc->text_bytes);
        assert_memory_equal(ref->text, jobs[i].doc->text, ref->text_bytes);
        assert_int_equal(ref->n_sections, jobs[i].doc->n_sections);
        rag_doc_destroy(ref);
        rag_doc_destroy(jobs[i].doc);
    }
    rag_free(a);
    rag_free(b);
}

/* ingest.max_file_seconds for PDFs: checked between pages. */
static void test_pdf__time_budget_fails_naming_the_key(void **state)
{
    char *src = ts_shared_path("corpus/riscv-privileged.pdf");
    rag_extract_opts o = rag_extract_default_opts();
    rag_doc *d = NULL;
    rag_err err = {0};

    (void)state;
    if (!src)
        skip();
    o.max_seconds = 0.001;
    assert_int_equal(rag_extract_file(&d, src, &o, &err), RAG_ELIMIT);
    assert_null(d);
    assert_non_null(strstr(err.msg, "riscv-privileged.pdf"));
    assert_non_null(strstr(err.msg, "ingest.max_file_seconds"));
    rag_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf__every_corpus_pdf_matches_mupdf_page_count),
        cmocka_unit_test(test_pdf__phrase_lies_on_page_33_only_with_outline_section),
        cmocka_unit_test(test_pdf__fda_running_header_and_footer_are_dropped),
        cmocka_unit_test(test_pdf__headings_from_font_sizes_without_outline),
        cmocka_unit_test(test_pdf__tiny_fixture_pages_footer_and_hyphenation),
        cmocka_unit_test(test_pdf__outline_entry_marks_its_heading_not_page_start),
        cmocka_unit_test(test_pdf__encrypted_fails_naming_file),
        cmocka_unit_test(test_pdf__truncated_half_fails_naming_file),
        cmocka_unit_test(test_pdf__time_budget_fails_naming_the_key),
        cmocka_unit_test(test_pdf__size_cap_gives_elimit),
        cmocka_unit_test(test_pdf__allocation_failures_are_clean),
        cmocka_unit_test(test_pdf__parallel_extractions_match_serial),
    };
    rag_log_set_level(RAG_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
