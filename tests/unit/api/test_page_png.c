/* test_page_png.c - the cited page viewer through the public API:
 * docrag_page_png (a PDF page as PNG with a chunk's characters
 * highlighted) and docrag_page_highlight (a page's text with the chunk's
 * offsets), on a temporary index of the riscv-card sample and a Markdown
 * note. PNGs are decoded with MuPDF; box positions are checked against
 * MuPDF's own text search on the page (a check only: the library never
 * searches text). */
#include "test_support.h"

#include "docrag.h"

#include <jansson.h>
#include <math.h>
#include <mupdf/fitz.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *dir, *db, *pdf, *md, *base;
    docrag_engine *e;
    docrag_session *s;
    int64_t pdf_id, md_id, base_id;
} fixture;

typedef struct {
    int64_t id;
    int page_start, page_end;
    int64_t byte_start, byte_end;
    char *text;
} chunk;

static void copy_file(const char *from, const char *to)
{
    rag_buf b = RAG_BUF_INIT;
    assert_int_equal(rag_read_file(&b, from, 0, NULL), RAG_OK);
    ts_write_file(to, b.data, b.len);
    rag_buf_fini(&b);
}

static int64_t doc_id_of(fixture *f, const char *name)
{
    docrag_error err;
    char *out = NULL;
    json_t *o, *d;
    size_t i;
    int64_t id = 0;
    assert_int_equal(docrag_documents(f->s, &out, &err), 0);
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    json_array_foreach(json_object_get(o, "documents"), i, d)
        if (!strcmp(json_string_value(json_object_get(d, "name")), name))
            id = json_integer_value(json_object_get(d, "id"));
    json_decref(o);
    assert_true(id > 0);
    return id;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    docrag_engine_opts o;
    docrag_error err;
    char *src_pdf = ts_src_path("data/samples/riscv-card.pdf");
    char *src_md = ts_src_path("data/samples/docrag-notes.md");
    char *src_base = ts_src_path("data/samples/riscv-base-instructions.pdf");
    const char *paths[3];
    char *report = NULL;

    f->dir = ts_tmpdir("pagepng");
    f->db = rag_asprintf("%s/t.db", f->dir);
    f->pdf = rag_asprintf("%s/riscv-card.pdf", f->dir);
    f->md = rag_asprintf("%s/docrag-notes.md", f->dir);
    f->base = rag_asprintf("%s/riscv-base-instructions.pdf", f->dir);
    copy_file(src_pdf, f->pdf);
    copy_file(src_md, f->md);
    copy_file(src_base, f->base);
    rag_free(src_pdf);
    rag_free(src_md);
    rag_free(src_base);
    docrag_engine_opts_init(&o);
    o.db_path = f->db;
    o.quiet = 1;
    if (docrag_engine_open(&f->e, &o, &err) != 0 || docrag_session_open(&f->s, f->e, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    paths[0] = f->pdf;
    paths[1] = f->md;
    paths[2] = f->base;
    if (docrag_index(f->s, paths, 3, NULL, &report, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    docrag_free(report);
    f->pdf_id = doc_id_of(f, "riscv-card.pdf");
    f->md_id = doc_id_of(f, "docrag-notes.md");
    f->base_id = doc_id_of(f, "riscv-base-instructions.pdf");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    docrag_session_close(f->s);
    docrag_engine_close(f->e);
    remove(f->pdf);
    remove(f->md);
    remove(f->base);
    rag_free(f->db);
    rag_free(f->pdf);
    rag_free(f->md);
    rag_free(f->base);
    rag_free(f->dir);
    free(f);
    return 0;
}

/* Every chunk of a document, in text order (caller frees with
 * free_chunks). */
static chunk *chunks_of(fixture *f, int64_t doc_id, size_t *n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    chunk *c = NULL;
    size_t cap = 0;

    *n = 0;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT id, page_start, page_end, byte_start, byte_end,"
                                        " text FROM chunks WHERE doc_id = ?1 ORDER BY byte_start",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, doc_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            c = realloc(c, cap * sizeof *c);
        }
        c[*n].id = sqlite3_column_int64(st, 0);
        c[*n].page_start = sqlite3_column_int(st, 1);
        c[*n].page_end = sqlite3_column_int(st, 2);
        c[*n].byte_start = sqlite3_column_int64(st, 3);
        c[*n].byte_end = sqlite3_column_int64(st, 4);
        c[*n].text = strdup((const char *)sqlite3_column_text(st, 5));
        (*n)++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(*n > 0);
    return c;
}

static void free_chunks(chunk *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].text);
    free(c);
}

typedef struct {
    unsigned char *png;
    size_t n_png;
    json_t *info;
    int width, height;
    unsigned char *rgb;   /* decoded, width x height x 3 */
} image;

static void quiet(void *user, const char *msg)
{
    (void)user;
    (void)msg;
}

static unsigned char *decode_png(const unsigned char *png, size_t n, int *w, int *h)
{
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    fz_buffer *buf = NULL;
    fz_image *img = NULL;
    fz_pixmap *pix = NULL;
    unsigned char *rgb = NULL;

    assert_non_null(ctx);
    fz_var(buf);
    fz_var(img);
    fz_var(pix);
    fz_try(ctx) {
        buf = fz_new_buffer_from_copied_data(ctx, png, n);
        img = fz_new_image_from_buffer(ctx, buf);
        pix = fz_get_pixmap_from_image(ctx, img, NULL, NULL, NULL, NULL);
        *w = fz_pixmap_width(ctx, pix);
        *h = fz_pixmap_height(ctx, pix);
        if (fz_pixmap_components(ctx, pix) != 3)
            fz_throw(ctx, FZ_ERROR_GENERIC, "not RGB");
        rgb = malloc((size_t)*w * (size_t)*h * 3);
        for (int y = 0; y < *h; y++)
            memcpy(rgb + (size_t)y * (size_t)*w * 3,
                   fz_pixmap_samples(ctx, pix) + (size_t)y * (size_t)fz_pixmap_stride(ctx, pix),
                   (size_t)*w * 3);
    }
    fz_always(ctx) {
        fz_drop_pixmap(ctx, pix);
        fz_drop_image(ctx, img);
        fz_drop_buffer(ctx, buf);
    }
    fz_catch(ctx) {
        fail_msg("the PNG does not decode: %s", fz_caught_message(ctx));
    }
    fz_drop_context(ctx);
    return rgb;
}

static void render_doc(fixture *f, image *im, int64_t doc, int page, int64_t chunk_id,
                       double scale, int decode)
{
    docrag_page_image_opts o;
    docrag_error err;
    char *info = NULL;
    int w, h;

    memset(im, 0, sizeof *im);
    docrag_page_image_opts_init(&o);
    o.scale = scale;
    o.highlight_chunk = chunk_id;
    if (docrag_page_png(f->s, doc, page, &o, &im->png, &im->n_png, &info, &err) != 0)
        fail_msg("page %d chunk %lld: %s", page, (long long)chunk_id, err.msg);
    assert_true(im->n_png > 8 && !memcmp(im->png, "\x89PNG\r\n\x1a\n", 8));
    im->info = json_loads(info, 0, NULL);
    docrag_free(info);
    assert_non_null(im->info);
    im->width = (int)json_integer_value(json_object_get(im->info, "width"));
    im->height = (int)json_integer_value(json_object_get(im->info, "height"));
    if (!decode)
        return;
    im->rgb = decode_png(im->png, im->n_png, &w, &h);
    assert_int_equal(w, im->width);
    assert_int_equal(h, im->height);
}

static void render(fixture *f, image *im, int64_t doc, int page, int64_t chunk_id, double scale)
{
    render_doc(f, im, doc, page, chunk_id, scale, 1);
}

static void image_fini(image *im)
{
    docrag_free(im->png);
    json_decref(im->info);
    free(im->rgb);
}

static json_t *boxes_of(const image *im)
{
    return json_object_get(im->info, "boxes");
}

static void box_at(const image *im, size_t i, int *x, int *y, int *w, int *h)
{
    json_t *b = json_array_get(boxes_of(im), i);
    *x = (int)json_integer_value(json_object_get(b, "x"));
    *y = (int)json_integer_value(json_object_get(b, "y"));
    *w = (int)json_integer_value(json_object_get(b, "w"));
    *h = (int)json_integer_value(json_object_get(b, "h"));
}

/* MuPDF's page box, for the expected image size and the pixel origin. */
static fz_irect page_pixels(const char *path, int page_no, double scale)
{
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    fz_document *doc = NULL;
    fz_page *page = NULL;
    fz_irect r = {0, 0, 0, 0};
    fz_var(doc);
    fz_var(page);
    fz_var(r);   /* set in fz_try, read after it (-Wclobbered under TSan) */
    fz_set_warning_callback(ctx, quiet, NULL);
    fz_try(ctx) {
        fz_register_document_handlers(ctx);
        doc = fz_open_document(ctx, path);
        page = fz_load_page(ctx, doc, page_no - 1);
        r = fz_round_rect(fz_transform_rect(fz_bound_page(ctx, page),
                                            fz_scale((float)scale, (float)scale)));
    }
    fz_always(ctx) {
        fz_drop_page(ctx, page);
        fz_drop_document(ctx, doc);
    }
    fz_catch(ctx) {
        fail_msg("MuPDF cannot open %s", path);
    }
    fz_drop_context(ctx);
    return r;
}

/* Hits of needle on the page by MuPDF's own search, as pixel boxes of an
 * image at scale: the quads of the first hit into *first (their union),
 * the number of hits returned. */
static int search_first_hit(const char *path, int page_no, const char *needle, double scale,
                            fz_irect origin, fz_rect *first)
{
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    fz_document *doc = NULL;
    fz_page *page = NULL;
    fz_stext_page *st = NULL;
    fz_quad quads[64];
    int marks[64], n = 0, n_hits = 0;

    fz_var(doc);
    fz_var(page);
    fz_var(st);
    fz_set_warning_callback(ctx, quiet, NULL);
    fz_try(ctx) {
        fz_stext_options so = {.flags = FZ_STEXT_MEDIABOX_CLIP};
        fz_register_document_handlers(ctx);
        doc = fz_open_document(ctx, path);
        page = fz_load_page(ctx, doc, page_no - 1);
        st = fz_new_stext_page_from_page(ctx, page, &so);
        n = fz_search_stext_page(ctx, st, needle, marks, quads, 64);
    }
    fz_always(ctx) {
        fz_drop_stext_page(ctx, st);
        fz_drop_page(ctx, page);
        fz_drop_document(ctx, doc);
    }
    fz_catch(ctx) {
        fail_msg("MuPDF cannot search %s", path);
    }
    fz_drop_context(ctx);
    *first = fz_empty_rect;
    for (int i = 0; i < n; i++) {
        if (marks[i])
            n_hits++;
        if (n_hits == 1) {
            fz_rect r = fz_transform_rect(fz_rect_from_quad(quads[i]),
                                          fz_scale((float)scale, (float)scale));
            r.x0 -= (float)origin.x0;
            r.x1 -= (float)origin.x0;
            r.y0 -= (float)origin.y0;
            r.y1 -= (float)origin.y0;
            *first = fz_union_rect(*first, r);
        }
    }
    return n_hits;
}

/* A chunk that lies on one page, and on that page only. */
static const chunk *one_page_chunk(const chunk *c, size_t n, int page)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].page_start == page && c[i].page_end == page && strlen(c[i].text) > 80)
            return &c[i];
    return NULL;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_page_png__size_is_page_box_times_scale(void **state)
{
    fixture *f = *state;
    static const double scales[] = {0, 0.5, 1, 2};   /* 0: the default 1.5 */
    (void)state;
    for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
        double sc = scales[i] ? scales[i] : 1.5;
        fz_irect want = page_pixels(f->pdf, 2, sc);
        image im;
        render(f, &im, f->pdf_id, 2, 0, scales[i]);
        assert_int_equal(im.width, want.x1 - want.x0);
        assert_int_equal(im.height, want.y1 - want.y0);
        assert_true(fabs(json_real_value(json_object_get(im.info, "scale")) - sc) < 1e-9);
        assert_int_equal(json_array_size(boxes_of(&im)), 0);
        image_fini(&im);
    }
}

/* With a highlight the pixels inside the reported boxes change (the paper
 * under them turns yellow) and not one pixel outside them does. */
static void test_page_png__highlight_changes_only_its_boxes(void **state)
{
    fixture *f = *state;
    size_t n;
    chunk *cs = chunks_of(f, f->pdf_id, &n);
    const chunk *c = one_page_chunk(cs, n, 2);
    image plain, lit;
    size_t n_in = 0, n_in_diff = 0, n_out_diff = 0;
    unsigned char *mask;

    assert_non_null(c);
    render(f, &plain, f->pdf_id, 2, 0, 1.5);
    render(f, &lit, f->pdf_id, 2, c->id, 1.5);
    assert_int_equal(strtoll(json_string_value(json_object_get(lit.info, "chunk_id")), NULL, 10),
                     c->id);
    assert_int_equal(plain.width, lit.width);
    assert_int_equal(plain.height, lit.height);
    assert_true(json_array_size(boxes_of(&lit)) >= 1);
    for (size_t k = 0; k < json_array_size(boxes_of(&lit)); k++) {
        int x, y, w, h;
        box_at(&lit, k, &x, &y, &w, &h);
        assert_true(x >= 0 && y >= 0 && w > 0 && h > 0);
        assert_true(x + w <= lit.width && y + h <= lit.height);
    }
    mask = calloc((size_t)lit.width * (size_t)lit.height, 1);
    for (size_t k = 0; k < json_array_size(boxes_of(&lit)); k++) {
        int bx, by, bw, bh;
        box_at(&lit, k, &bx, &by, &bw, &bh);
        for (int y = by; y < by + bh; y++)
            memset(mask + (size_t)y * (size_t)lit.width + (size_t)bx, 1, (size_t)bw);
    }
    for (int y = 0; y < lit.height; y++)
        for (int x = 0; x < lit.width; x++) {
            size_t p = (size_t)y * (size_t)lit.width + (size_t)x, i = p * 3;
            int in = mask[p], diff = memcmp(plain.rgb + i, lit.rgb + i, 3) != 0;
            if (in) {
                n_in++;
                n_in_diff += diff;
            } else {
                n_out_diff += diff;
            }
        }
    free(mask);
    assert_int_equal(n_out_diff, 0);
    /* text stays dark under the multiply; the paper around it changes */
    assert_true(n_in_diff * 2 > n_in);
    image_fini(&plain);
    image_fini(&lit);
    free_chunks(cs, n);
}

/* The first box lies over the chunk's first words where MuPDF's own
 * search finds them, for every one-page chunk whose opening words occur
 * once on its page. */
static void test_page_png__first_box_is_over_the_first_words(void **state)
{
    fixture *f = *state;
    size_t n, n_checked = 0;
    chunk *cs = chunks_of(f, f->pdf_id, &n);
    const double scale = 2.0;

    for (size_t i = 0; i < n && n_checked < 6; i++) {
        const chunk *c = &cs[i];
        char needle[64];
        size_t o = 0, words = 0;
        fz_rect hit;
        fz_irect origin;
        image im;
        int x, y, w, h;

        if (c->page_start != c->page_end)
            continue;
        /* the first three words, if they are plain and on the first line */
        for (const char *p = c->text; *p && *p != '\n' && o + 1 < sizeof needle; p++) {
            if (*p == ' ' && ++words == 3)
                break;
            needle[o++] = *p;
        }
        needle[o] = '\0';
        if (words < 3 || o < 12)
            continue;
        origin = page_pixels(f->pdf, c->page_start, scale);
        if (search_first_hit(f->pdf, c->page_start, needle, scale, origin, &hit) != 1)
            continue;
        render(f, &im, f->pdf_id, c->page_start, c->id, scale);
        assert_true(json_array_size(boxes_of(&im)) >= 1);
        box_at(&im, 0, &x, &y, &w, &h);
        /* overlap, and the box starts where the words start */
        if (!(x < hit.x1 && x + w > hit.x0 && y < hit.y1 && y + h > hit.y0))
            fail_msg("chunk %lld '%s': first box %d,%d %dx%d misses the search hit "
                     "%.0f,%.0f-%.0f,%.0f", (long long)c->id, needle, x, y, w, h, hit.x0,
                     hit.y0, hit.x1, hit.y1);
        assert_true(fabs(x - hit.x0) <= 2.0);
        image_fini(&im);
        n_checked++;
    }
    assert_true(n_checked >= 3);
    free_chunks(cs, n);
}

/* A chunk of page 3 asked for on page 4: no box, the same pixels as
 * without a highlight. */
static void test_page_png__chunk_elsewhere_draws_no_box(void **state)
{
    fixture *f = *state;
    size_t n;
    chunk *cs = chunks_of(f, f->pdf_id, &n);
    const chunk *c = one_page_chunk(cs, n, 3);
    image plain, lit;

    assert_non_null(c);
    render(f, &plain, f->pdf_id, 4, 0, 1.0);
    render(f, &lit, f->pdf_id, 4, c->id, 1.0);
    assert_int_equal(json_array_size(boxes_of(&lit)), 0);
    assert_memory_equal(plain.rgb, lit.rgb, (size_t)plain.width * (size_t)plain.height * 3);
    image_fini(&plain);
    image_fini(&lit);
    free_chunks(cs, n);
}

/* Every chunk of a document (with max_spanning, only that many of those
 * that span pages) is highlighted on every page it spans, and
 * docrag_page_highlight gives offsets whose text is the chunk's part on
 * that page. Returns the number of spanning chunks checked. */
static size_t every_chunk(fixture *f, int64_t doc_id, size_t max_spanning)
{
    size_t n, n_spanning = 0;
    chunk *cs = chunks_of(f, doc_id, &n);
    docrag_error err;

    for (size_t i = 0; i < n; i++) {
        const chunk *c = &cs[i];
        if (max_spanning && (c->page_end == c->page_start || n_spanning == max_spanning))
            continue;
        n_spanning += c->page_end > c->page_start;
        for (int p = c->page_start; p <= c->page_end; p++) {
            image im;
            char *out = NULL;
            json_t *o, *hl;
            const char *text;
            int64_t a, z;
            size_t n_part;
            render_doc(f, &im, doc_id, p, c->id, 0.5, 0);
            if (json_array_size(boxes_of(&im)) == 0)
                fail_msg("chunk %lld has no box on page %d", (long long)c->id, p);
            image_fini(&im);

            assert_int_equal(docrag_page_highlight(f->s, doc_id, p, c->id, &out, &err), 0);
            o = json_loads(out, 0, NULL);
            docrag_free(out);
            assert_string_equal(json_string_value(json_object_get(o, "kind")), "pdf");
            text = json_string_value(json_object_get(o, "text"));
            hl = json_object_get(o, "highlights");
            assert_int_equal(json_array_size(hl), 1);
            a = json_integer_value(json_object_get(json_array_get(hl, 0), "start"));
            z = json_integer_value(json_object_get(json_array_get(hl, 0), "end"));
            assert_true(0 <= a && a < z && z <= (int64_t)strlen(text));
            n_part = (size_t)(z - a);
            /* the first page holds the chunk's start, the last its end */
            if (p == c->page_start)
                assert_memory_equal(text + a, c->text, n_part);
            else if (p == c->page_end)
                assert_memory_equal(text + a, c->text + strlen(c->text) - n_part, n_part);
            json_decref(o);
        }
    }
    free_chunks(cs, n);
    return n_spanning;
}

static void test_page_png__every_chunk_on_every_page_it_spans(void **state)
{
    fixture *f = *state;
    every_chunk(f, f->pdf_id, 0);
    /* chunks of the RISC-V spec run on over page breaks (each highlight
     * extracts its 238 pages again: three are enough) */
    assert_int_equal(every_chunk(f, f->base_id, 3), 3);
}

static void test_page_highlight__markdown_passage_offsets(void **state)
{
    fixture *f = *state;
    size_t n;
    chunk *cs = chunks_of(f, f->md_id, &n);
    docrag_error err;
    char *out = NULL;
    json_t *o, *hl;
    const char *text;

    assert_int_equal(docrag_page_highlight(f->s, f->md_id, 1, cs[0].id, &out, &err), 0);
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "markdown");
    text = json_string_value(json_object_get(o, "text"));
    hl = json_object_get(o, "highlights");
    assert_int_equal(json_array_size(hl), 1);
    {
        int64_t a = json_integer_value(json_object_get(json_array_get(hl, 0), "start"));
        int64_t z = json_integer_value(json_object_get(json_array_get(hl, 0), "end"));
        assert_int_equal(z - a, (int64_t)strlen(cs[0].text));
        assert_memory_equal(text + a, cs[0].text, (size_t)(z - a));
    }
    json_decref(o);
    /* no chunk: no highlight, same text as docrag_page */
    assert_int_equal(docrag_page_highlight(f->s, f->md_id, 1, 0, &out, &err), 0);
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    assert_int_equal(json_array_size(json_object_get(o, "highlights")), 0);
    json_decref(o);
    assert_int_equal(docrag_page_highlight(f->s, f->md_id, 1, cs[0].id + 1, &out, &err),
                     DOCRAG_ENOTFOUND);
    free_chunks(cs, n);
}

static void test_page_png__bad_requests(void **state)
{
    fixture *f = *state;
    size_t n_pdf, n_md;
    chunk *pc = chunks_of(f, f->pdf_id, &n_pdf);
    chunk *mc = chunks_of(f, f->md_id, &n_md);
    docrag_page_image_opts o;
    docrag_error err;
    unsigned char *png = (unsigned char *)1;
    size_t n_png = 1;
    char *info = (char *)1, *out = NULL;

    docrag_page_image_opts_init(&o);
    /* not a PDF */
    assert_int_equal(docrag_page_png(f->s, f->md_id, 1, &o, &png, &n_png, &info, &err),
                     DOCRAG_EINVAL);
    assert_null(png);
    assert_int_equal(n_png, 0);
    assert_null(info);
    assert_non_null(strstr(err.msg, "not a PDF"));
    /* a chunk of another document */
    o.highlight_chunk = mc[0].id;
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, 1, &o, &png, &n_png, NULL, &err),
                     DOCRAG_EINVAL);
    assert_non_null(strstr(err.msg, "belongs to document"));
    assert_int_equal(docrag_page_highlight(f->s, f->pdf_id, 1, mc[0].id, &out, &err),
                     DOCRAG_EINVAL);
    /* no such chunk, page, document */
    o.highlight_chunk = pc[0].id ^ 0x5555;
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, 1, &o, &png, &n_png, NULL, &err),
                     DOCRAG_ENOTFOUND);
    o.highlight_chunk = 0;
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, 99, &o, &png, &n_png, NULL, &err),
                     DOCRAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no page 99"));
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, 0, &o, &png, &n_png, NULL, &err),
                     DOCRAG_ENOTFOUND);
    assert_int_equal(docrag_page_png(f->s, f->pdf_id + 100, 1, &o, &png, &n_png, NULL, &err),
                     DOCRAG_ENOTFOUND);
    /* scales out of bounds */
    {
        static const double bad[] = {0.1, 4.01, -1, 1e300};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            o.scale = bad[i];
            assert_int_equal(docrag_page_png(f->s, f->pdf_id, 1, &o, &png, &n_png, NULL, &err),
                             DOCRAG_EINVAL);
        }
        o.scale = NAN;
        assert_int_equal(docrag_page_png(f->s, f->pdf_id, 1, &o, &png, &n_png, NULL, &err),
                         DOCRAG_EINVAL);
        assert_non_null(strstr(err.msg, "scale"));
    }
    /* no message names the server's path */
    assert_null(strstr(err.msg, f->dir));
    free_chunks(pc, n_pdf);
    free_chunks(mc, n_md);
}

/* The file changed after indexing: a highlight would land on other words,
 * so it is refused (DOCRAG_EFORMAT, "re-index"); a plain render still
 * works. A file that is gone is DOCRAG_ENOTFOUND. Runs last: it spoils
 * the fixture's PDF. */
static void test_page_png__changed_or_missing_file(void **state)
{
    fixture *f = *state;
    size_t n;
    chunk *cs = chunks_of(f, f->pdf_id, &n);
    char *other = ts_src_path("tests/data/ingest/tiny.pdf");
    docrag_page_image_opts o;
    docrag_error err;
    unsigned char *png = NULL;
    size_t n_png = 0;

    copy_file(other, f->pdf);
    docrag_page_image_opts_init(&o);
    o.highlight_chunk = cs[0].id;
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, cs[0].page_start, &o, &png, &n_png, NULL,
                                     &err),
                     DOCRAG_EFORMAT);
    assert_non_null(strstr(err.msg, "re-index"));
    assert_null(strstr(err.msg, f->dir));
    o.highlight_chunk = 0;
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, 1, &o, &png, &n_png, NULL, &err), 0);
    docrag_free(png);
    remove(f->pdf);
    assert_int_equal(docrag_page_png(f->s, f->pdf_id, 1, &o, &png, &n_png, NULL, &err),
                     DOCRAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no longer available"));
    rag_free(other);
    free_chunks(cs, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_png__size_is_page_box_times_scale),
        cmocka_unit_test(test_page_png__highlight_changes_only_its_boxes),
        cmocka_unit_test(test_page_png__first_box_is_over_the_first_words),
        cmocka_unit_test(test_page_png__chunk_elsewhere_draws_no_box),
        cmocka_unit_test(test_page_png__every_chunk_on_every_page_it_spans),
        cmocka_unit_test(test_page_highlight__markdown_passage_offsets),
        cmocka_unit_test(test_page_png__bad_requests),
        cmocka_unit_test(test_page_png__changed_or_missing_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
