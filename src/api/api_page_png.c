/* api_page_png.c - docrag_page_png: a PDF page as an image with a chunk's
 * text highlighted (the cited page viewer).
 *
 * The page row says which bytes of the document's text the page holds and
 * the chunk row which bytes the chunk holds; their overlap is what to
 * highlight. Only when there is one is the PDF extracted again (the
 * indexer's options from the engine's configuration, through
 * rag_extract_pdf_geom, which records the character behind every byte it
 * writes), and the chunk's stored text is compared with the re-extracted
 * bytes at its offsets first: the file or the ingest options may have
 * changed since indexing, and then the boxes would land on other words,
 * so that is an error (DOCRAG_EFORMAT) rather than a wrong highlight.
 * The render itself (src/raster) needs no text.
 */
#include "api_int.h"
#include "render.h"

#include "ingest/ingest.h"
#include "raster/raster.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SCALE 1.5

void docrag_page_image_opts_init(docrag_page_image_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* Messages from src/ingest and src/raster start with the file's path,
 * which is the server's business: say "document N" instead. */
static int unpath(rag_err *err, int rc, const char *path, int64_t doc_id)
{
    size_t n = strlen(path);
    if (err && !strncmp(err->msg, path, n) && err->msg[n] == ':') {
        char rest[sizeof err->msg];
        snprintf(rest, sizeof rest, "%s", err->msg + n + 1);
        snprintf(err->msg, sizeof err->msg, "document %lld:%s", (long long)doc_id, rest);
    }
    return rc;
}

/* The boxes (page space) over document bytes [lo, hi) of page pi, after
 * checking that the extraction still gives the chunk's stored text at its
 * offsets and the page's stored span. */
static int chunk_boxes(docrag_session *s, const api_page_info *pi, int64_t doc_id, int page,
                       int64_t lo, int64_t hi, const rag_chunk_row *row, rag_rect **boxes,
                       size_t *n_boxes, rag_err *err)
{
    rag_indexer_opts io = rag_indexer_opts_from_config(s->e->cfg);
    rag_doc *doc = NULL;
    rag_page_geom *g = NULL;
    size_t n_text = strlen(row->text);
    int rc;

    rc = rag_extract_pdf_geom(&doc, &g, pi->path, page, &io.extract, err);
    if (rc < 0)
        return unpath(err, rc, pi->path, doc_id);
    if (row->byte_start < 0 || (size_t)row->byte_end > doc->text_bytes ||
        (int64_t)n_text != row->byte_end - row->byte_start ||
        memcmp(doc->text + row->byte_start, row->text, n_text) != 0 ||
        (int64_t)g->byte_start != pi->byte_start || (int64_t)g->byte_end != pi->byte_end)
        rc = rag_fail(err, RAG_EFORMAT,
                      "document %lld no longer gives the text that was indexed (the file "
                      "or the ingest options changed): re-index it to highlight chunk %lld",
                      (long long)doc_id, (long long)row->chunk_id);
    else
        rc = rag_page_geom_rects(g, (size_t)lo, (size_t)hi, boxes, n_boxes, err);
    rag_page_geom_destroy(g);
    rag_doc_destroy(doc);
    return rc;
}

static json_t *info_json(int64_t doc_id, int page, double scale, const rag_raster_page *rp,
                         int64_t chunk_id)
{
    json_t *boxes = json_array(), *o;
    for (size_t i = 0; boxes && i < rp->n_boxes; i++)
        json_array_append_new(boxes, json_pack("{s:i,s:i,s:i,s:i}", "x", rp->boxes[i].x, "y",
                                               rp->boxes[i].y, "w", rp->boxes[i].w, "h",
                                               rp->boxes[i].h));
    o = json_pack("{s:I,s:i,s:f,s:i,s:i,s:o}", "document_id", (json_int_t)doc_id, "page",
                  page, "scale", scale, "width", rp->width, "height", rp->height, "boxes",
                  boxes);
    if (o && chunk_id)
        json_object_set_new(o, "chunk_id", rag_render_id(chunk_id));
    return o;
}

int docrag_page_png(docrag_session *s, int64_t doc_id, int page,
                    const docrag_page_image_opts *opts, unsigned char **png, size_t *n_png,
                    char **info, docrag_error *derr)
{
    docrag_page_image_opts def;
    rag_err err = {0};
    api_page_info pi;
    rag_chunk_row row;
    rag_rect *boxes = NULL;
    rag_raster_box *hl = NULL;
    size_t n_boxes = 0;
    rag_raster_opts ro;
    rag_raster_page rp;
    double scale;
    int rc;

    *png = NULL;
    *n_png = 0;
    if (info)
        *info = NULL;
    memset(&row, 0, sizeof row);
    memset(&rp, 0, sizeof rp);
    if (!opts) {
        docrag_page_image_opts_init(&def);
        opts = &def;
    }
    scale = opts->scale == 0 ? DEFAULT_SCALE : opts->scale;
    if (!isfinite(scale) || scale < RAG_RASTER_MIN_SCALE || scale > RAG_RASTER_MAX_SCALE) {
        rag_fail(&err, RAG_EINVAL, "scale must be a number from %g to %g",
                 RAG_RASTER_MIN_SCALE, RAG_RASTER_MAX_SCALE);
        return api_err(derr, &err);
    }
    if (opts->highlight_chunk < 0) {
        rag_fail(&err, RAG_EINVAL, "chunk id %lld is not valid",
                 (long long)opts->highlight_chunk);
        return api_err(derr, &err);
    }
    rc = api_page_row(s->ix, doc_id, page, &pi, &err);
    if (rc < 0)
        return api_err(derr, &err);
    if (strcmp(pi.kind, "pdf") != 0) {
        rc = rag_fail(&err, RAG_EINVAL,
                      "document %lld is %s, not a PDF: its pages have no image (the page "
                      "text with highlights is docrag_page_highlight)",
                      (long long)doc_id, pi.kind[0] ? pi.kind : "of an unknown kind");
        goto done;
    }
    if (opts->file) {   /* a copy of the same bytes: checked like the original */
        char *copy = rag_strdup(opts->file);
        if (!copy) {
            rc = rag_fail(&err, RAG_ENOMEM, "out of memory");
            goto done;
        }
        rag_free(pi.path);
        pi.path = copy;
    }
    if (access(pi.path, F_OK) != 0) {
        rc = rag_fail(&err, RAG_ENOTFOUND,
                      "the original file of document %lld is no longer available",
                      (long long)doc_id);
        goto done;
    }
    if (opts->highlight_chunk) {
        int64_t lo, hi;
        rc = api_highlight_chunk(s->ix, doc_id, opts->highlight_chunk, &row, &err);
        if (rc < 0)
            goto done;
        lo = row.byte_start > pi.byte_start ? row.byte_start : pi.byte_start;
        hi = row.byte_end < pi.byte_end ? row.byte_end : pi.byte_end;
        if (hi > lo) {   /* else the chunk is on other pages: no box here */
            rc = chunk_boxes(s, &pi, doc_id, page, lo, hi, &row, &boxes, &n_boxes, &err);
            if (rc < 0)
                goto done;
        }
    }
    if (n_boxes) {
        hl = rag_calloc(n_boxes, sizeof *hl);
        if (!hl) {
            rc = rag_fail(&err, RAG_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n_boxes; i++)
            hl[i] = (rag_raster_box){boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1};
    }
    memset(&ro, 0, sizeof ro);
    ro.scale = scale;
    ro.highlights = hl;
    ro.n_highlights = n_boxes;
    rc = rag_raster_pdf_page(&rp, pi.path, page, &ro, &err);
    if (rc < 0) {
        unpath(&err, rc, pi.path, doc_id);
        goto done;
    }
    if (info) {
        rc = api_take_json(info_json(doc_id, page, scale, &rp, opts->highlight_chunk), info,
                           &err);
        if (rc < 0)
            goto done;
    }
    /* docrag_free is free(): hand out libc memory, not rag_malloc's */
    *png = malloc(rp.n_png ? rp.n_png : 1);
    if (!*png) {
        if (info) {
            docrag_free(*info);
            *info = NULL;
        }
        rc = rag_fail(&err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(*png, rp.png, rp.n_png);
    *n_png = rp.n_png;
done:
    rag_raster_page_fini(&rp);
    rag_free(hl);
    rag_free(boxes);
    rag_chunk_row_fini(&row);
    api_page_info_fini(&pi);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}
