/* raster.h - a PDF page as a PNG image, with highlight boxes drawn over it
 * (the cited page viewer: GET /v1/documents/{id}/pages/{n}.png).
 *
 * MuPDF draws the page (fz_run_page into a draw device on an RGB pixmap)
 * and the highlights on top in a multiply-blended group, so text under a
 * highlight stays black and the paper turns yellow; the pixmap is encoded
 * with MuPDF's PNG writer. Highlights are given in page space (points,
 * as rag_page_geom boxes are) and come back in pixels, snapped outwards
 * to whole pixels, exactly the pixels drawn.
 *
 * Its own module rather than part of src/ingest: ingestion turns files
 * into text, this turns a page into pixels (MuPDF's draw device and image
 * writers, no text logic). It depends on src/core only; src/api joins it
 * with the text geometry of src/ingest.
 *
 * Thread safety: each call has its own MuPDF context, so calls on
 * different threads share nothing.
 */
#ifndef RAG_RASTER_H
#define RAG_RASTER_H

#include "core/core.h"

#include <stdint.h>

#define RAG_RASTER_MIN_SCALE 0.25
#define RAG_RASTER_MAX_SCALE 4.0
#define RAG_RASTER_MAX_SIDE 4096    /* default pixel cap per side */

/* A box in page space: points, as MuPDF bounds the page (y downwards). */
typedef struct {
    double x0, y0, x1, y1;
} rag_raster_box;

/* A box in pixels of the image: top-left x, y and size. */
typedef struct {
    int x, y, w, h;
} rag_raster_px;

typedef struct {
    double scale;            /* pixels per point, RAG_RASTER_MIN_SCALE..MAX */
    int max_side;            /* pixel cap on width and height; 0: RAG_RASTER_MAX_SIDE */
    const rag_raster_box *highlights;   /* borrowed for the call; may be NULL */
    size_t n_highlights;
} rag_raster_opts;

typedef struct {
    unsigned char *png;      /* owned: the PNG file */
    size_t n_png;
    int width, height;       /* pixels */
    rag_raster_px *boxes;    /* owned: the highlights as drawn, in pixels
                                (clipped to the image; empty ones left out) */
    size_t n_boxes;
} rag_raster_page;

/* Render 1-based page `page` of the PDF at path. out is filled on success
 * (release with rag_raster_page_fini; zeroed on error). Errors name the
 * file: missing -> RAG_ENOTFOUND, no such page -> RAG_ENOTFOUND, a scale
 * outside the bounds or not finite -> RAG_EINVAL, an image wider or
 * taller than the cap -> RAG_ELIMIT, not a readable PDF or one that needs
 * a password -> RAG_EFORMAT, out of memory -> RAG_ENOMEM. */
int rag_raster_pdf_page(rag_raster_page *out, const char *path, int page,
                        const rag_raster_opts *opts, rag_err *err);
void rag_raster_page_fini(rag_raster_page *p);

#endif
