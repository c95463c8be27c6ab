/* bench_ingest.c - PDF extraction speed: docrag vs a bare MuPDF loop.
 *
 * Usage: bench_ingest [FOLDER] [ROUNDS]   (default ../shared/corpus, 3)
 *
 * For every PDF in FOLDER, two contenders run over the same files:
 *   raw     fz_new_stext_page_from_page per page and a walk over every char
 *           (summing code points so the walk is not optimised away) - the
 *           floor any MuPDF-based extractor pays;
 *   docrag  rag_extract_file with default options (cleaning, header and
 *           footer stripping, outline or font-size sections).
 * Each contender runs ROUNDS times; the best round counts. Prints pages,
 * seconds, pages/s, the ratio docrag/raw, and peak RSS (getrusage).
 */
#include "ingest/ingest.h"

#include <dirent.h>
#include <mupdf/fitz.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void quiet(void *user, const char *msg)
{
    (void)user;
    (void)msg;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One raw pass over a file; returns pages read, adds to *checksum. */
static int raw_file(const char *path, unsigned long *checksum)
{
    fz_context *ctx = fz_new_context(NULL, NULL, (size_t)32 << 20);
    fz_document *doc = NULL;
    int n_pages = 0;

    if (!ctx)
        return -1;
    fz_set_warning_callback(ctx, quiet, NULL);
    fz_set_error_callback(ctx, quiet, NULL);
    fz_var(doc);
    fz_var(n_pages);
    fz_try(ctx) {
        int n;
        fz_register_document_handlers(ctx);
        doc = fz_open_document(ctx, path);
        n = fz_count_pages(ctx, doc);
        for (int p = 0; p < n; p++) {
            fz_stext_options opts = {FZ_STEXT_MEDIABOX_CLIP, 0};
            fz_stext_page *st = fz_new_stext_page_from_page_number(ctx, doc, p, &opts);
            for (fz_stext_block *b = st->first_block; b; b = b->next) {
                if (b->type != FZ_STEXT_BLOCK_TEXT)
                    continue;
                for (fz_stext_line *l = b->u.t.first_line; l; l = l->next)
                    for (fz_stext_char *c = l->first_char; c; c = c->next)
                        *checksum += (unsigned long)c->c;
            }
            fz_drop_stext_page(ctx, st);
            n_pages++;
        }
    }
    fz_always(ctx) {
        fz_drop_document(ctx, doc);
    }
    fz_catch(ctx) {
        n_pages = -1;
    }
    fz_drop_context(ctx);
    return n_pages;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/corpus";
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    char *files[512];
    size_t n_files = 0, text_bytes = 0;
    double best_raw = 1e30, best_ours = 1e30;
    long pages_raw = 0, pages_ours = 0, rss_after_raw = 0;
    unsigned long checksum = 0;
    struct dirent *e;
    DIR *d;

    rag_log_set_level(RAG_LOG_ERROR);
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_ingest: cannot open %s\n", dir);
        return 1;
    }
    while ((e = readdir(d)) && n_files < 512) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".pdf") == 0)
            files[n_files++] = rag_asprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n_files == 0) {
        fprintf(stderr, "bench_ingest: no PDFs in %s\n", dir);
        return 1;
    }
    qsort(files, n_files, sizeof files[0], cmp_str);
    if (rounds < 1)
        rounds = 1;

    /* Rounds alternate raw and docrag so both see the same machine load. */
    for (int r = 0; r < rounds; r++) {
        double t0 = rag_now_ms(), dt;
        pages_raw = 0;
        for (size_t i = 0; i < n_files; i++) {
            int n = raw_file(files[i], &checksum);
            if (n < 0)
                fprintf(stderr, "raw: %s failed\n", files[i]);
            else
                pages_raw += n;
        }
        dt = (rag_now_ms() - t0) / 1e3;
        if (dt < best_raw)
            best_raw = dt;
        if (r == 0)
            rss_after_raw = peak_rss_kb();

        t0 = rag_now_ms();
        pages_ours = 0;
        text_bytes = 0;
        for (size_t i = 0; i < n_files; i++) {
            rag_doc *doc = NULL;
            rag_err err;
            if (rag_extract_file(&doc, files[i], NULL, &err) != RAG_OK) {
                fprintf(stderr, "docrag: %s\n", err.msg);
                continue;
            }
            pages_ours += (long)doc->n_pages;
            text_bytes += doc->text_bytes;
            rag_doc_destroy(doc);
        }
        dt = (rag_now_ms() - t0) / 1e3;
        if (dt < best_ours)
            best_ours = dt;
    }

    printf("corpus: %s, %zu PDFs, best of %d rounds\n", dir, n_files, rounds);
    printf("%-8s %7s %9s %9s\n", "", "pages", "seconds", "pages/s");
    printf("%-8s %7ld %9.3f %9.0f\n", "raw", pages_raw, best_raw, pages_raw / best_raw);
    printf("%-8s %7ld %9.3f %9.0f\n", "docrag", pages_ours, best_ours,
           pages_ours / best_ours);
    printf("ratio docrag/raw time: %.2fx (target <= 2x)\n", best_ours / best_raw);
    printf("docrag text: %zu bytes; peak RSS: %.1f MB after one raw round, %.1f MB overall\n",
           text_bytes, rss_after_raw / 1024.0, peak_rss_kb() / 1024.0);
    printf("(checksum %lu)\n", checksum);
    for (size_t i = 0; i < n_files; i++)
        rag_free(files[i]);
    return 0;
}
