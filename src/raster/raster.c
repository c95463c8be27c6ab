/* raster.c - render a PDF page to PNG with MuPDF and draw highlight boxes
 * over it (see raster.h).
 *
 * The image is the page's bounds times the scale, rounded out to whole
 * pixels (fz_round_rect, as fz_new_pixmap_from_page does), on white. The
 * size is checked against the cap before any pixel is allocated. The
 * highlights are snapped outwards to whole device pixels first and drawn
 * as those pixel rectangles, in one path (overlaps are filled once) inside
 * a multiply group: what is reported is exactly what was drawn.
 */
#include "raster/raster.h"

#include <mupdf/fitz.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Highlight colour (multiplied over the page): a light yellow. */
static const float HL_RGB[3] = {1.0f, 0.86f, 0.25f};

static void on_fz_message(void *user, const char *msg)
{
    rag_log(RAG_LOG_DEBUG, "mupdf: %s: %s", (const char *)user, msg);
}

void rag_raster_page_fini(rag_raster_page *p)
{
    if (!p)
        return;
    rag_free(p->png);
    rag_free(p->boxes);
    memset(p, 0, sizeof *p);
}

typedef struct {
    fz_context *ctx;
    const char *path;
    int rc;
    rag_err err;
} rstate;

static int r_fail(rstate *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int r_fail(rstate *s, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    if (s->rc < 0)
        return s->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->rc = code;
    rag_fail(&s->err, code, "%s: %s", s->path, msg);
    return code;
}

/* The highlight boxes in image pixels, clipped; empty ones dropped. */
static int pixel_boxes(rstate *s, rag_raster_page *out, const rag_raster_opts *o,
                       fz_matrix ctm, fz_irect bbox)
{
    if (o->n_highlights == 0)
        return RAG_OK;
    out->boxes = rag_calloc(o->n_highlights, sizeof *out->boxes);
    if (!out->boxes)
        return r_fail(s, RAG_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->n_highlights; i++) {
        const rag_raster_box *h = &o->highlights[i];
        fz_rect r = fz_transform_rect(fz_make_rect((float)h->x0, (float)h->y0,
                                                   (float)h->x1, (float)h->y1), ctm);
        double x0 = floor(r.x0) - bbox.x0, y0 = floor(r.y0) - bbox.y0;
        double x1 = ceil(r.x1) - bbox.x0, y1 = ceil(r.y1) - bbox.y0;
        if (!(x0 == x0 && y0 == y0 && x1 == x1 && y1 == y1))
            continue;   /* NaN */
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > out->width) x1 = out->width;
        if (y1 > out->height) y1 = out->height;
        if (x1 <= x0 || y1 <= y0)
            continue;
        out->boxes[out->n_boxes++] = (rag_raster_px){(int)x0, (int)y0, (int)(x1 - x0),
                                                     (int)(y1 - y0)};
    }
    return RAG_OK;
}

/* Load, size-check, draw and encode one page. Called inside fz_try: our
 * own failures set s->rc and return. */
static void draw_page(rstate *s, fz_document *doc, int page_no, const rag_raster_opts *o,
                      int max_side, rag_raster_page *out, fz_page **page, fz_pixmap **pix,
                      fz_device **dev, fz_path **path, fz_buffer **png)
{
    fz_context *ctx = s->ctx;
    fz_matrix ctm = fz_scale((float)o->scale, (float)o->scale);
    fz_rect bounds;
    fz_irect bbox;
    int n_pages = fz_count_pages(ctx, doc);
    unsigned char *data;
    size_t n;

    if (page_no > n_pages) {
        r_fail(s, RAG_ENOTFOUND, "no page %d (the PDF has %d)", page_no, n_pages);
        return;
    }
    *page = fz_load_page(ctx, doc, page_no - 1);
    bounds = fz_bound_page(ctx, *page);
    bbox = fz_round_rect(fz_transform_rect(bounds, ctm));
    out->width = bbox.x1 - bbox.x0;
    out->height = bbox.y1 - bbox.y0;
    if (out->width <= 0 || out->height <= 0) {
        r_fail(s, RAG_EFORMAT, "page %d has an empty box", page_no);
        return;
    }
    if (out->width > max_side || out->height > max_side) {
        r_fail(s, RAG_ELIMIT,
               "page %d at scale %.3g is %dx%d pixels, over the %dx%d limit", page_no,
               o->scale, out->width, out->height, max_side, max_side);
        return;
    }
    if (pixel_boxes(s, out, o, ctm, bbox) < 0)
        return;

    *pix = fz_new_pixmap_with_bbox(ctx, fz_device_rgb(ctx), bbox, NULL, 0);
    fz_clear_pixmap_with_value(ctx, *pix, 0xFF);
    *dev = fz_new_draw_device(ctx, fz_identity, *pix);
    fz_run_page(ctx, *page, *dev, ctm, NULL);
    if (out->n_boxes > 0) {
        *path = fz_new_path(ctx);
        for (size_t i = 0; i < out->n_boxes; i++) {
            const rag_raster_px *b = &out->boxes[i];
            float x0 = (float)(bbox.x0 + b->x), y0 = (float)(bbox.y0 + b->y);
            fz_rectto(ctx, *path, x0, y0, x0 + (float)b->w, y0 + (float)b->h);
        }
        fz_begin_group(ctx, *dev, fz_rect_from_irect(bbox), NULL, 0, 0, FZ_BLEND_MULTIPLY,
                       1.0f);
        fz_fill_path(ctx, *dev, *path, 0, fz_identity, fz_device_rgb(ctx), HL_RGB, 1.0f,
                     fz_default_color_params);
        fz_end_group(ctx, *dev);
    }
    fz_close_device(ctx, *dev);
    *png = fz_new_buffer_from_pixmap_as_png(ctx, *pix, fz_default_color_params);
    n = fz_buffer_storage(ctx, *png, &data);
    out->png = rag_malloc(n ? n : 1);
    if (!out->png) {
        r_fail(s, RAG_ENOMEM, "out of memory");
        return;
    }
    memcpy(out->png, data, n);
    out->n_png = n;
}

int rag_raster_pdf_page(rag_raster_page *out, const char *path, int page_no,
                        const rag_raster_opts *o, rag_err *err)
{
    rstate s;
    fz_stream *stm = NULL;
    fz_document *doc = NULL;
    fz_page *page = NULL;
    fz_pixmap *pix = NULL;
    fz_device *dev = NULL;
    fz_path *fpath = NULL;
    fz_buffer *png = NULL;
    struct stat sb;
    int max_side = o->max_side > 0 ? o->max_side : RAG_RASTER_MAX_SIDE;

    memset(out, 0, sizeof *out);
    memset(&s, 0, sizeof s);
    s.path = path;
    if (!(o->scale >= RAG_RASTER_MIN_SCALE && o->scale <= RAG_RASTER_MAX_SCALE))
        return rag_fail(err, RAG_EINVAL, "scale %g is outside %g..%g", o->scale,
                        RAG_RASTER_MIN_SCALE, RAG_RASTER_MAX_SCALE);
    if (page_no < 1)
        return rag_fail(err, RAG_ENOTFOUND, "%s: no page %d", path, page_no);
    if (stat(path, &sb) != 0)
        return rag_fail(err, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO, "%s: %s", path,
                        strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return rag_fail(err, RAG_EFORMAT, "%s: not a regular file", path);

    s.ctx = fz_new_context(NULL, NULL, (size_t)32 << 20);
    if (!s.ctx)
        return rag_fail(err, RAG_ENOMEM, "%s: cannot create a MuPDF context", path);
    fz_set_warning_callback(s.ctx, on_fz_message, (void *)path);
    fz_set_error_callback(s.ctx, on_fz_message, (void *)path);
    fz_var(stm);
    fz_var(doc);
    fz_var(page);
    fz_var(pix);
    fz_var(dev);
    fz_var(fpath);
    fz_var(png);
    fz_try(s.ctx) {
        fz_register_document_handlers(s.ctx);
        /* as src/ingest opens it: by content, whatever the file's name */
        stm = fz_open_file(s.ctx, path);
        doc = fz_open_document_with_stream(s.ctx, "application/pdf", stm);
        if (fz_needs_password(s.ctx, doc) && !fz_authenticate_password(s.ctx, doc, ""))
            r_fail(&s, RAG_EFORMAT, "encrypted PDF needs a password");
        else
            draw_page(&s, doc, page_no, o, max_side, out, &page, &pix, &dev, &fpath, &png);
    }
    fz_always(s.ctx) {
        fz_drop_device(s.ctx, dev);
        fz_drop_path(s.ctx, fpath);
        fz_drop_buffer(s.ctx, png);
        fz_drop_pixmap(s.ctx, pix);
        fz_drop_page(s.ctx, page);
        fz_drop_document(s.ctx, doc);
        fz_drop_stream(s.ctx, stm);
    }
    fz_catch(s.ctx) {
        r_fail(&s, fz_caught(s.ctx) == FZ_ERROR_MEMORY ? RAG_ENOMEM : RAG_EFORMAT,
               "cannot render page %d: %s", page_no, fz_caught_message(s.ctx));
    }
    fz_drop_context(s.ctx);
    if (s.rc < 0) {
        rag_raster_page_fini(out);
        if (err)
            *err = s.err;
        return s.rc;
    }
    return RAG_OK;
}
