/* test_raster.c - PDF pages to PNG (src/raster): the image size is the
 * page box times the scale, highlights tint exactly the pixels reported,
 * and bad requests fail with the documented codes. The PNG is decoded
 * back with MuPDF's own image loader. */
#include "test_support.h"

#include "raster/raster.h"

#include <mupdf/fitz.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tiny_pdf(void)
{
    char *p = ts_src_path("tests/data/ingest/tiny.pdf");
    assert_non_null(p);
    return p;
}

/* Decode a PNG into RGB rows: *w x *h x 3 bytes (caller frees). */
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

static void render(rag_raster_page *out, const char *path, int page, double scale,
                   const rag_raster_box *hl, size_t n_hl)
{
    rag_raster_opts o;
    rag_err err;
    memset(&o, 0, sizeof o);
    o.scale = scale;
    o.highlights = hl;
    o.n_highlights = n_hl;
    if (rag_raster_pdf_page(out, path, page, &o, &err) != RAG_OK)
        fail_msg("%s", err.msg);
}

/* tiny.pdf is US Letter (612 x 792 pt). */
static void test_raster__size_is_page_box_times_scale(void **state)
{
    char *path = tiny_pdf();
    static const double scales[] = {0.25, 1.0, 1.5, 2.0};
    (void)state;
    for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
        rag_raster_page rp;
        int w, h;
        unsigned char *rgb;
        render(&rp, path, 1, scales[i], NULL, 0);
        assert_int_equal(rp.width, (int)ceil(612 * scales[i]));
        assert_int_equal(rp.height, (int)ceil(792 * scales[i]));
        assert_true(rp.n_png > 8 && !memcmp(rp.png, "\x89PNG\r\n\x1a\n", 8));
        assert_int_equal(rp.n_boxes, 0);
        rgb = decode_png(rp.png, rp.n_png, &w, &h);
        assert_int_equal(w, rp.width);
        assert_int_equal(h, rp.height);
        free(rgb);
        rag_raster_page_fini(&rp);
    }
    rag_free(path);
}

/* A highlight tints every pixel of its reported box (white paper turns
 * yellow) and nothing else; a box partly off the page is clipped, one
 * wholly off it is dropped. */
static void test_raster__highlight_tints_exactly_its_box(void **state)
{
    char *path = tiny_pdf();
    rag_raster_box hl[3] = {
        {100.2, 200.7, 300.1, 220.0},   /* blank paper in the middle */
        {-50, 700, 40, 760},            /* partly off the left edge */
        {700, 10, 800, 20},             /* off the page */
    };
    rag_raster_page a, b;
    unsigned char *pa, *pb;
    int w, h, w2, h2;
    size_t n_diff_in = 0, n_in = 0, n_diff_out = 0;
    (void)state;

    render(&a, path, 1, 2.0, NULL, 0);
    render(&b, path, 1, 2.0, hl, 3);
    assert_int_equal(b.n_boxes, 2);
    /* snapped outwards to whole pixels */
    assert_int_equal(b.boxes[0].x, 200);
    assert_int_equal(b.boxes[0].y, 401);
    assert_int_equal(b.boxes[0].w, 601 - 200);
    assert_int_equal(b.boxes[0].h, 440 - 401);
    assert_int_equal(b.boxes[1].x, 0);
    assert_int_equal(b.boxes[1].w, 80);
    pa = decode_png(a.png, a.n_png, &w, &h);
    pb = decode_png(b.png, b.n_png, &w2, &h2);
    assert_int_equal(w, w2);
    assert_int_equal(h, h2);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = ((size_t)y * (size_t)w + (size_t)x) * 3;
            int in = 0, diff = memcmp(pa + i, pb + i, 3) != 0;
            for (size_t k = 0; k < b.n_boxes; k++)
                in |= x >= b.boxes[k].x && x < b.boxes[k].x + b.boxes[k].w &&
                      y >= b.boxes[k].y && y < b.boxes[k].y + b.boxes[k].h;
            if (in) {
                n_in++;
                n_diff_in += diff;
                if (pa[i] == 255 && pa[i + 1] == 255 && pa[i + 2] == 255) {
                    /* white paper multiplied by the highlight colour */
                    assert_int_equal(pb[i], 255);
                    assert_true(pb[i + 2] < 128);
                }
            } else {
                n_diff_out += diff;
            }
        }
    assert_int_equal(n_diff_in, n_in);   /* the boxes lie on blank paper */
    assert_int_equal(n_diff_out, 0);
    free(pa);
    free(pb);
    rag_raster_page_fini(&a);
    rag_raster_page_fini(&b);
    rag_free(path);
}

static void test_raster__bad_requests(void **state)
{
    char *path = tiny_pdf();
    char *dir = ts_tmpdir("raster");
    char *junk = rag_asprintf("%s/junk.pdf", dir);
    rag_raster_page rp;
    rag_raster_opts o;
    rag_err err;
    (void)state;

    memset(&o, 0, sizeof o);
    o.scale = 1;
    assert_int_equal(rag_raster_pdf_page(&rp, path, 3, &o, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no page 3"));
    assert_int_equal(rag_raster_pdf_page(&rp, path, 0, &o, &err), RAG_ENOTFOUND);
    assert_int_equal(rag_raster_pdf_page(&rp, "/nonexistent/a.pdf", 1, &o, &err),
                     RAG_ENOTFOUND);
    ts_write_file(junk, "not a pdf at all", 16);
    assert_int_equal(rag_raster_pdf_page(&rp, junk, 1, &o, &err), RAG_EFORMAT);
    o.scale = 0.1;
    assert_int_equal(rag_raster_pdf_page(&rp, path, 1, &o, &err), RAG_EINVAL);
    o.scale = 4.5;
    assert_int_equal(rag_raster_pdf_page(&rp, path, 1, &o, &err), RAG_EINVAL);
    o.scale = NAN;
    assert_int_equal(rag_raster_pdf_page(&rp, path, 1, &o, &err), RAG_EINVAL);
    /* the pixel cap is checked before anything is drawn */
    o.scale = 2;
    o.max_side = 1000;
    assert_int_equal(rag_raster_pdf_page(&rp, path, 1, &o, &err), RAG_ELIMIT);
    assert_non_null(strstr(err.msg, "1224x1584"));
    assert_null(rp.png);
    o.max_side = 0;
    o.scale = 4;   /* 2448 x 3168: under the default 4096 cap */
    assert_int_equal(rag_raster_pdf_page(&rp, path, 1, &o, &err), RAG_OK);
    rag_raster_page_fini(&rp);
    remove(junk);
    remove(dir);
    rag_free(junk);
    rag_free(dir);
    rag_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raster__size_is_page_box_times_scale),
        cmocka_unit_test(test_raster__highlight_tints_exactly_its_box),
        cmocka_unit_test(test_raster__bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
