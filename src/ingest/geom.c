/* geom.c - from a byte range of the extracted text to boxes on a PDF page
 * (rag_page_geom, filled by pdf.c while it extracts).
 *
 * Every text byte of the page knows the MuPDF character it came from
 * (origin[]), or that it is a separator. The characters behind a range are
 * walked in text order; consecutive ones of one text line make one box,
 * the union of their boxes, so the space between two words of a line is
 * covered and a new line starts a new box (a table row or a numbered
 * heading that MuPDF split on one baseline is one line of the text, and
 * one box). No text is compared or
 * searched: a highlight lands on the characters that produced the text.
 */
#include "ingest/ingest.h"

#include <string.h>

void rag_page_geom_destroy(rag_page_geom *g)
{
    if (!g)
        return;
    rag_free(g->char_boxes);
    rag_free(g->char_line);
    rag_free(g->origin);
    rag_free(g);
}

static int push(rag_rect **out, size_t *n, size_t *cap, rag_rect r)
{
    if (r.x1 <= r.x0 || r.y1 <= r.y0)
        return RAG_OK;   /* an empty box (a zero-width mark) draws nothing */
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        rag_rect *p = rag_realloc(*out, c * sizeof *p);
        if (!p)
            return RAG_ENOMEM;
        *out = p;
        *cap = c;
    }
    (*out)[(*n)++] = r;
    return RAG_OK;
}

int rag_page_geom_rects(const rag_page_geom *g, size_t byte_start, size_t byte_end,
                        rag_rect **out, size_t *n_out, rag_err *err)
{
    size_t lo = byte_start, hi = byte_end, n = 0, cap = 0;
    uint32_t last = RAG_GEOM_NONE, line = 0;
    rag_rect cur = {0, 0, 0, 0};
    rag_rect *boxes = NULL;
    int open = 0;

    *out = NULL;
    *n_out = 0;
    if (lo < g->byte_start)
        lo = g->byte_start;
    if (lo < g->origin_base)
        lo = g->origin_base;
    if (hi > g->byte_end)
        hi = g->byte_end;
    if (hi > g->origin_base + g->n_origin)
        hi = g->origin_base + g->n_origin;
    for (size_t i = lo; i < hi; i++) {
        uint32_t c = g->origin[i - g->origin_base];
        rag_rect r;
        if (c == RAG_GEOM_NONE || c == last || c >= g->n_chars)
            continue;   /* a separator, or the next byte of the same character */
        last = c;
        r = g->char_boxes[c];
        if (open && g->char_line[c] == line) {
            if (r.x0 < cur.x0) cur.x0 = r.x0;
            if (r.y0 < cur.y0) cur.y0 = r.y0;
            if (r.x1 > cur.x1) cur.x1 = r.x1;
            if (r.y1 > cur.y1) cur.y1 = r.y1;
            continue;
        }
        if (open && push(&boxes, &n, &cap, cur) < 0)
            goto oom;
        cur = r;
        line = g->char_line[c];
        open = 1;
    }
    if (open && push(&boxes, &n, &cap, cur) < 0)
        goto oom;
    if (n == 0) {
        rag_free(boxes);
        boxes = NULL;
    }
    *out = boxes;
    *n_out = n;
    return RAG_OK;
oom:
    rag_free(boxes);
    return rag_fail(err, RAG_ENOMEM, "out of memory");
}
