/* bench_page_png.c - what a cited page image costs, by part: the render
 * (MuPDF draw + PNG encode, src/raster), and for a highlight the
 * re-extraction with geometry (src/ingest) that finds the boxes.
 *
 *   bench_page_png FILE.pdf PAGE [SCALE] [ROUNDS]
 *
 * Prints the best and median of ROUNDS (default 5) for: the draw without
 * PNG (the pixmap only, by a scale-1 render minus nothing: see below),
 * rag_raster_pdf_page, rag_extract_file, rag_extract_pdf_geom. Machine
 * load matters: compare parts measured in the same run.
 */
#include "common.h"

#include "core/core.h"
#include "ingest/ingest.h"
#include "raster/raster.h"

#include <stdio.h>
#include <stdlib.h>

static void report(const char *what, double *ms, int n)
{
    bench_sort(ms, (size_t)n);
    printf("%-22s best %8.1f ms   median %8.1f ms\n", what, ms[0], ms[n / 2]);
}

int main(int argc, char **argv)
{
    const char *path;
    int page, rounds = 5;
    double scale = 1.5, *t_render, *t_extract, *t_geom;
    size_t n_png = 0, n_pages = 0;
    rag_err err;

    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE.pdf PAGE [SCALE] [ROUNDS]\n", argv[0]);
        return 2;
    }
    path = argv[1];
    page = atoi(argv[2]);
    if (argc > 3)
        scale = atof(argv[3]);
    if (argc > 4)
        rounds = atoi(argv[4]);
    if (rounds < 1)
        rounds = 1;
    t_render = calloc((size_t)rounds, sizeof *t_render);
    t_extract = calloc((size_t)rounds, sizeof *t_extract);
    t_geom = calloc((size_t)rounds, sizeof *t_geom);
    for (int r = 0; r < rounds; r++) {
        rag_raster_opts o = {.scale = scale};
        rag_raster_page rp;
        rag_doc *doc = NULL;
        rag_page_geom *g = NULL;
        double t0 = rag_now_ms();
        if (rag_raster_pdf_page(&rp, path, page, &o, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t_render[r] = rag_now_ms() - t0;
        n_png = rp.n_png;
        rag_raster_page_fini(&rp);
        t0 = rag_now_ms();
        if (rag_extract_file(&doc, path, NULL, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t_extract[r] = rag_now_ms() - t0;
        n_pages = doc->n_pages;
        rag_doc_destroy(doc);
        t0 = rag_now_ms();
        if (rag_extract_pdf_geom(&doc, &g, path, page, NULL, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t_geom[r] = rag_now_ms() - t0;
        rag_page_geom_destroy(g);
        rag_doc_destroy(doc);
    }
    printf("%s page %d of %zu, scale %g: PNG %zu bytes, %d rounds\n", path, page, n_pages,
           scale, n_png, rounds);
    report("render + PNG", t_render, rounds);
    report("rag_extract_file", t_extract, rounds);
    report("rag_extract_pdf_geom", t_geom, rounds);
    free(t_render);
    free(t_extract);
    free(t_geom);
    return 0;
}
