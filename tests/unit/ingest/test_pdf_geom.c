/* test_pdf_geom.c - highlight geometry of PDF pages (rag_extract_pdf_geom):
 * the character behind every byte of the extracted text, checked against
 * MuPDF's own structured text of the page as an independent reference,
 * on real corpus PDFs (running headers stripped, de-hyphenated words,
 * ligatures). */
#include "test_support.h"

#include "ingest/ingest.h"

#include <mupdf/fitz.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(void *user, const char *msg)
{
    (void)user;
    (void)msg;
}

/* The page's characters as MuPDF gives them (text blocks, lines, chars in
 * order: the order the extractor reads them), with their boxes. */
typedef struct {
    uint32_t *cp;
    fz_rect *box;
    size_t n;
    fz_rect bounds;
} ref_chars;

static void ref_load(ref_chars *r, const char *path, int page_no)
{
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    fz_document *doc = NULL;
    fz_page *page = NULL;
    fz_stext_page *st = NULL;
    size_t cap = 0;

    memset(r, 0, sizeof *r);
    assert_non_null(ctx);
    fz_set_warning_callback(ctx, quiet, NULL);
    fz_set_error_callback(ctx, quiet, NULL);
    fz_var(doc);
    fz_var(page);
    fz_var(st);
    fz_try(ctx) {
        fz_stext_options so = {.flags = FZ_STEXT_MEDIABOX_CLIP};
        fz_register_document_handlers(ctx);
        doc = fz_open_document(ctx, path);
        page = fz_load_page(ctx, doc, page_no - 1);
        r->bounds = fz_bound_page(ctx, page);
        st = fz_new_stext_page_from_page(ctx, page, &so);
        for (fz_stext_block *b = st->first_block; b; b = b->next) {
            if (b->type != FZ_STEXT_BLOCK_TEXT)
                continue;
            for (fz_stext_line *ln = b->u.t.first_line; ln; ln = ln->next)
                for (fz_stext_char *ch = ln->first_char; ch; ch = ch->next) {
                    if (r->n == cap) {
                        cap = cap ? cap * 2 : 1024;
                        r->cp = realloc(r->cp, cap * sizeof *r->cp);
                        r->box = realloc(r->box, cap * sizeof *r->box);
                    }
                    r->cp[r->n] = (uint32_t)ch->c;
                    r->box[r->n] = fz_rect_from_quad(ch->quad);
                    r->n++;
                }
        }
    }
    fz_always(ctx) {
        fz_drop_stext_page(ctx, st);
        fz_drop_page(ctx, page);
        fz_drop_document(ctx, doc);
    }
    fz_catch(ctx) {
        fail_msg("MuPDF cannot read %s page %d", path, page_no);
    }
    fz_drop_context(ctx);
}

static void ref_free(ref_chars *r)
{
    free(r->cp);
    free(r->box);
}

static int is_ligature_of(uint32_t lig, uint32_t cp)
{
    static const char *const letters[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
    if (lig < 0xFB00 || lig > 0xFB06 || cp > 0x7F)
        return 0;
    return strchr(letters[lig - 0xFB00], (int)cp) != NULL;
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\n';
}

typedef struct {
    size_t n_visible;      /* visible code points on the page */
    size_t n_joins;        /* de-hyphenated joins seen (word across two lines) */
    size_t join_at;        /* text offset of the first joined word's start */
    size_t join_end;
    size_t n_join_boxes;   /* boxes over that word */
    size_t n_band_chars;   /* visible characters in the top/bottom 8% */
    size_t n_band_used;    /* ... that some text byte came from */
} geom_stats;

/* Every visible code point of the page text has a character and it is the
 * one that produced it (same code point, a ligature's letter, or U+FFFD
 * for an invalid one); whitespace has none; boxes equal MuPDF's. */
static void check_page(const char *path, int page_no, const rag_extract_opts *o,
                       geom_stats *gs)
{
    rag_doc *doc = NULL, *plain = NULL;
    rag_page_geom *g = NULL;
    rag_err err;
    ref_chars ref;
    uint32_t prev_c = RAG_GEOM_NONE;
    size_t word_start = 0;

    memset(gs, 0, sizeof *gs);
    if (rag_extract_pdf_geom(&doc, &g, path, page_no, o, &err) != RAG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(rag_extract_file(&plain, path, o, &err), RAG_OK);
    /* the same text, byte for byte, as the indexer's extraction */
    assert_int_equal(doc->text_bytes, plain->text_bytes);
    assert_memory_equal(doc->text, plain->text, doc->text_bytes);
    assert_int_equal(g->byte_start, plain->pages[page_no - 1].byte_start);
    assert_int_equal(g->byte_end, plain->pages[page_no - 1].byte_end);
    rag_doc_destroy(plain);

    ref_load(&ref, path, page_no);
    assert_int_equal(g->n_chars, ref.n);
    assert_true(g->bounds.x0 == ref.bounds.x0 && g->bounds.y1 == ref.bounds.y1);
    for (size_t i = 0; i < g->n_chars; i++)
        assert_true(g->char_boxes[i].x0 == ref.box[i].x0 &&
                    g->char_boxes[i].y0 == ref.box[i].y0 &&
                    g->char_boxes[i].x1 == ref.box[i].x1 &&
                    g->char_boxes[i].y1 == ref.box[i].y1);
    for (size_t i = g->byte_start; i < g->byte_end;) {
        uint32_t cp, c;
        size_t k = rag_utf8_decode((const unsigned char *)doc->text + i, g->byte_end - i, &cp);
        assert_true(k > 0);
        c = i >= g->origin_base && i < g->origin_base + g->n_origin
                ? g->origin[i - g->origin_base]
                : RAG_GEOM_NONE;
        for (size_t j = 1; j < k; j++)   /* every byte of a code point: one char */
            assert_int_equal(g->origin[i + j - g->origin_base], c);
        if (is_space(cp)) {
            assert_int_equal(c, RAG_GEOM_NONE);
            prev_c = RAG_GEOM_NONE;
            word_start = i + 1;
        } else {
            uint32_t rc;
            if (c == RAG_GEOM_NONE || c >= ref.n)
                fail_msg("%s p%d: text byte %zu ('%.*s') has no character", path, page_no,
                         i, (int)k, doc->text + i);
            rc = ref.cp[c];
            if (!(rc == cp || is_ligature_of(rc, cp) || cp == 0xFFFD))
                fail_msg("%s p%d: text byte %zu is U+%04X but came from U+%04X", path,
                         page_no, i, cp, rc);
            gs->n_visible++;
            /* two visible bytes in a row from two lines: a joined word */
            if (prev_c != RAG_GEOM_NONE && g->char_line[prev_c] != g->char_line[c]) {
                if (gs->n_joins++ == 0) {
                    size_t e = i;
                    while (e < g->byte_end && !is_space((unsigned char)doc->text[e]))
                        e++;
                    gs->join_at = word_start;
                    gs->join_end = e;
                }
            }
            prev_c = c;
        }
        i += k;
    }
    if (gs->n_joins) {
        rag_rect *boxes = NULL;
        assert_int_equal(rag_page_geom_rects(g, gs->join_at, gs->join_end, &boxes,
                                             &gs->n_join_boxes, &err), RAG_OK);
        rag_free(boxes);
    }
    {
        /* running headers and footers: MuPDF has them, the text does not */
        float h = ref.bounds.y1 - ref.bounds.y0;
        unsigned char *used = calloc(ref.n + 1, 1);
        for (size_t i = 0; i < g->n_origin; i++)
            if (g->origin[i] < ref.n)
                used[g->origin[i]] = 1;
        for (size_t i = 0; i < ref.n; i++) {
            if (ref.cp[i] == ' ' || ref.box[i].y1 <= ref.box[i].y0)
                continue;
            if (ref.box[i].y1 < ref.bounds.y0 + 0.08f * h ||
                ref.box[i].y0 > ref.bounds.y1 - 0.08f * h) {
                gs->n_band_chars++;
                gs->n_band_used += used[i];
            }
        }
        free(used);
    }
    ref_free(&ref);
    rag_page_geom_destroy(g);
    rag_doc_destroy(doc);
}

static char *fixture(const char *rel)
{
    char *p = ts_src_path(rel);
    assert_non_null(p);
    return p;
}

/* On real PDFs: text identical to rag_extract_file's, every visible byte
 * traced to the MuPDF character that made it, running headers/footers
 * (present in MuPDF's text) traced from nothing, a de-hyphenated word
 * highlighted as two boxes on its two lines. */
static void test_pdf_geom__every_byte_knows_its_character(void **state)
{
    static const struct {
        const char *file;
        int page;
        int stripped;   /* has a running header or footer that is dropped */
        int joins;      /* has a word joined across a line break */
    } cases[] = {
        {"corpus/riscv-card.pdf", 1, 1, 0},
        {"corpus/riscv-card.pdf", 2, 1, 0},
        {"corpus/General-Principles-of-Software-Validation---Final-Guidance-for-Industry-"
         "and-FDA-Staff.pdf", 7, 1, 0},
        {"corpus/EECS-2011-62.pdf", 12, 1, 1},
        {"corpus/2107.04175.pdf", 3, 0, 0},
    };
    rag_extract_opts o = rag_extract_default_opts();
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = ts_shared_path(cases[i].file);
        geom_stats gs;
        if (!path)
            fail_msg("shared corpus missing");
        check_page(path, cases[i].page, &o, &gs);
        assert_true(gs.n_visible > 200);
        if (cases[i].stripped) {
            assert_true(gs.n_band_chars > 10);
            assert_int_equal(gs.n_band_used, 0);
        }
        if (cases[i].joins) {
            assert_true(gs.n_joins >= 1);
            assert_int_equal(gs.n_join_boxes, 2);
        }
        rag_free(path);
    }
}

/* The geometry follows the options: without header stripping the FDA
 * running header and footer are text, and their characters are used. */
static void test_pdf_geom__follows_strip_headers_option(void **state)
{
    char *path = ts_shared_path("corpus/General-Principles-of-Software-Validation---"
                                "Final-Guidance-for-Industry-and-FDA-Staff.pdf");
    rag_extract_opts o = rag_extract_default_opts();
    geom_stats gs;
    (void)state;
    if (!path)
        fail_msg("shared corpus missing");
    o.strip_headers = 0;
    check_page(path, 7, &o, &gs);
    assert_true(gs.n_band_used > 10);
    rag_free(path);
}

/* tiny.pdf page 2: "hyphen-" / "ated word" is the text "hyphenated": its
 * highlight is two boxes, the first ending before the dropped hyphen;
 * the footer "Tiny Fixture Page 2" is not text and gets no box. */
static void test_pdf_geom__hyphenated_word_gets_one_box_per_line(void **state)
{
    char *path = fixture("tests/data/ingest/tiny.pdf");
    rag_doc *doc = NULL;
    rag_page_geom *g = NULL;
    rag_rect *boxes = NULL;
    size_t n_boxes = 0, at, n_word = strlen("hyphenated");
    const char *hit;
    ref_chars ref;
    rag_err err;
    float hyphen_x0 = 0, ated_x0 = 1e9f;
    (void)state;

    assert_int_equal(rag_extract_pdf_geom(&doc, &g, path, 2, NULL, &err), RAG_OK);
    hit = strstr(doc->text + g->byte_start, "hyphenated");
    assert_non_null(hit);
    assert_null(strstr(doc->text, "Tiny Fixture"));
    at = (size_t)(hit - doc->text);
    assert_int_equal(rag_page_geom_rects(g, at, at + n_word, &boxes, &n_boxes, &err), RAG_OK);
    assert_int_equal(n_boxes, 2);
    ref_load(&ref, path, 2);
    for (size_t i = 0; i < ref.n; i++) {
        if (ref.cp[i] == '-')
            hyphen_x0 = ref.box[i].x0;
        if (ref.cp[i] == 'a' && i + 3 < ref.n && ref.cp[i + 1] == 't' &&
            ref.cp[i + 2] == 'e' && ref.cp[i + 3] == 'd' && ref.box[i].x0 < ated_x0)
            ated_x0 = ref.box[i].x0;
    }
    assert_true(hyphen_x0 > 0);
    assert_true(boxes[0].x1 <= hyphen_x0 + 0.01f);    /* "hyphen", not the '-' */
    assert_true(boxes[0].y1 <= boxes[1].y0 + 1.0f);   /* the next line, below */
    assert_true(fabsf(boxes[1].x0 - ated_x0) < 0.01f); /* "ated" from its 'a' */
    /* one box per line for the whole page, each inside the page */
    rag_free(boxes);
    assert_int_equal(rag_page_geom_rects(g, g->byte_start, g->byte_end, &boxes, &n_boxes,
                                         &err), RAG_OK);
    assert_int_equal(n_boxes, 3);   /* the heading and two body lines */
    for (size_t i = 0; i < n_boxes; i++)
        assert_true(boxes[i].x0 >= g->bounds.x0 && boxes[i].x1 <= g->bounds.x1 &&
                    boxes[i].y0 >= g->bounds.y0 && boxes[i].y1 <= g->bounds.y1);
    rag_free(boxes);
    /* bytes of page 1 draw nothing on page 2 */
    assert_int_equal(rag_page_geom_rects(g, 0, g->byte_start, &boxes, &n_boxes, &err), RAG_OK);
    assert_int_equal(n_boxes, 0);
    assert_null(boxes);
    ref_free(&ref);
    rag_page_geom_destroy(g);
    rag_doc_destroy(doc);
    rag_free(path);
}

/* "2.2" and "Base Instruction Formats" are two MuPDF lines on one
 * baseline (merged per MuPDF line they drew as two boxes with a gap), one
 * line of the text ("2.2 Base Instruction Formats"): one box from the "2"
 * to the "s". */
static void test_pdf_geom__one_baseline_is_one_box(void **state)
{
    char *path = ts_shared_path("corpus/riscv-base-instructions.pdf");
    const char *title = "2.2 Base Instruction Formats";
    rag_doc *doc = NULL;
    rag_page_geom *g = NULL;
    rag_rect *boxes = NULL;
    size_t n_boxes = 0, at;
    const char *hit;
    rag_err err;
    (void)state;

    if (!path)
        fail_msg("shared corpus missing");
    assert_int_equal(rag_extract_pdf_geom(&doc, &g, path, 33, NULL, &err), RAG_OK);
    hit = strstr(doc->text + g->byte_start, title);
    assert_non_null(hit);
    at = (size_t)(hit - doc->text);
    assert_true(at < g->byte_end);
    assert_int_equal(rag_page_geom_rects(g, at, at + strlen(title), &boxes, &n_boxes, &err),
                     RAG_OK);
    assert_int_equal(n_boxes, 1);
    {
        rag_rect first = g->char_boxes[g->origin[at - g->origin_base]];
        rag_rect last = g->char_boxes[g->origin[at + strlen(title) - 1 - g->origin_base]];
        assert_true(boxes[0].x0 == first.x0 && boxes[0].x1 == last.x1);
    }
    rag_free(boxes);
    rag_page_geom_destroy(g);
    rag_doc_destroy(doc);
    rag_free(path);
}

static void test_pdf_geom__bad_requests(void **state)
{
    char *tiny = fixture("tests/data/ingest/tiny.pdf");
    char *dir = ts_tmpdir("geom");
    char *md = rag_asprintf("%s/notes.md", dir);
    rag_doc *doc = (rag_doc *)1;
    rag_page_geom *g = (rag_page_geom *)1;
    rag_err err;
    static const char notes[] = "# Notes\n\nSome text.\n";
    (void)state;

    ts_write_file(md, notes, strlen(notes));
    assert_int_equal(rag_extract_pdf_geom(&doc, &g, md, 1, NULL, &err), RAG_EINVAL);
    assert_null(doc);
    assert_null(g);
    assert_non_null(strstr(err.msg, "not a PDF"));
    assert_int_equal(rag_extract_pdf_geom(&doc, &g, tiny, 3, NULL, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no page 3"));
    assert_int_equal(rag_extract_pdf_geom(&doc, &g, tiny, 0, NULL, &err), RAG_ENOTFOUND);
    assert_int_equal(rag_extract_pdf_geom(&doc, &g, "/nonexistent/x.pdf", 1, NULL, &err),
                     RAG_ENOTFOUND);
    remove(md);
    remove(dir);
    rag_free(md);
    rag_free(dir);
    rag_free(tiny);
}

/* Every allocation failure in our code ends in RAG_ENOMEM with nothing
 * leaked (ASan) and nothing half-built returned. */
static void test_pdf_geom__allocation_failures_are_clean(void **state)
{
    char *path = fixture("tests/data/ingest/tiny.pdf");
    int ok = 0;
    (void)state;
    for (long n = 0; n < 100000 && !ok; n++) {
        rag_doc *doc = NULL;
        rag_page_geom *g = NULL;
        rag_rect *boxes = NULL;
        size_t n_boxes = 0;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_extract_pdf_geom(&doc, &g, path, 2, NULL, &err);
        if (rc == RAG_OK)
            rc = rag_page_geom_rects(g, g->byte_start, g->byte_end, &boxes, &n_boxes, &err);
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK) {
            ok = 1;
            assert_int_equal(n_boxes, 3);
        } else {
            assert_true(rc == RAG_ENOMEM || rc == RAG_EFORMAT);
        }
        rag_free(boxes);
        rag_page_geom_destroy(g);
        rag_doc_destroy(doc);
    }
    assert_true(ok);
    rag_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf_geom__every_byte_knows_its_character),
        cmocka_unit_test(test_pdf_geom__follows_strip_headers_option),
        cmocka_unit_test(test_pdf_geom__hyphenated_word_gets_one_box_per_line),
        cmocka_unit_test(test_pdf_geom__one_baseline_is_one_box),
        cmocka_unit_test(test_pdf_geom__bad_requests),
        cmocka_unit_test(test_pdf_geom__allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
