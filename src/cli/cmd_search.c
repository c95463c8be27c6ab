/* cmd_search.c - docrag search [-k N] [--mode bm25|dense|hybrid] [--doc GLOB]
 * [--pages A-B] [--no-rerank] [--json] QUERY
 *
 * Runs the retrieval pipeline (retrieve.h) in the chosen mode; the text
 * output ends with a line naming the mode that ran, the fusion, the
 * reranker and the time. */
#include "cli.h"
#include "api/render.h"
#include "retrieve/retrieve.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "docrag search [--db F] [-k N] [--mode bm25|dense|hybrid] [--doc GLOB] [--pages A-B]\n"
    "                     [--no-rerank] [--json] QUERY";

/* "A-B", "A-" or "A" (one page) -> [min, max], 0 = unbounded. */
static int parse_pages(const char *s, int *lo, int *hi)
{
    char *end;
    long a = strtol(s, &end, 10), b;
    if (end == s || a < 1 || a > 1000000)
        return -1;
    if (!*end) {
        *lo = *hi = (int)a;
        return 0;
    }
    if (*end != '-')
        return -1;
    s = end + 1;
    if (!*s) {
        *lo = (int)a;
        *hi = 0;
        return 0;
    }
    b = strtol(s, &end, 10);
    if (end == s || *end || b < a || b > 1000000)
        return -1;
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

static void print_text(const rag_hits *hits, double total_ms)
{
    if (hits->n == 0)
        printf("no results\n");
    for (size_t i = 0; i < hits->n; i++) {
        const rag_hit *h = &hits->items[i];
        const char *base = strrchr(h->row.doc, '/');
        size_t n = strlen(h->row.text);
        char name[CLI_NAME_BYTES];
        printf("%2d. %.3f  %s  p.%d", h->rank, h->score,
               cli_name(name, base ? base + 1 : h->row.doc), h->row.page_start);
        if (h->row.page_end != h->row.page_start)
            printf("-%d", h->row.page_end);
        if (h->row.section[0])
            printf("  %s", cli_name(name, h->row.section));
        n = n > 240 ? rag_utf8_floor(h->row.text, 240) : n;
        printf("\n    ");
        for (size_t j = 0; j < n; j++)
            putchar(h->row.text[j] == '\n' ? ' ' : h->row.text[j]);
        printf("%s\n", n < strlen(h->row.text) ? "..." : "");
    }
    printf("\n[mode %s", rag_search_mode_name(hits->mode_used));
    if (rag_render_fusion_name(hits))
        printf(", %s fusion", rag_render_fusion_name(hits));
    if (hits->reranked)
        printf(", reranked by %s", hits->rerank_backend);
    printf("; %.1f ms]\n", total_ms);
}

int cmd_search(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_index *ix = NULL;
    rag_retriever *retriever = NULL;
    rag_hits hits;
    rag_search_opts opts;
    rag_err err = {0};
    char *query = NULL;
    const char *mode = NULL;
    int json = 0, k = -1, first = argc, rc = 1;
    double t0 = rag_now_ms();

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    memset(&opts, 0, sizeof opts);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--no-rerank"))
            opts.no_rerank = 1;
        else if (!strcmp(argv[i], "--doc") && i + 1 < argc)
            opts.doc_glob = argv[++i];
        else if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
            if (parse_pages(argv[++i], &opts.page_min, &opts.page_max) < 0) {
                fprintf(stderr, "docrag: --pages '%s': expected A-B, A- or A "
                        "(1-based pages, A <= B)\n", argv[i]);
                return 2;
            }
        }
        else if ((!strcmp(argv[i], "-k") || !strcmp(argv[i], "--k")) && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage(usage);
        else {
            first = i;
            break;
        }
    }
    if (first >= argc || (k != -1 && (k < 1 || k > 10000)))
        return cli_usage(usage);
    if (cli_load_config(&cfg, &common))
        return 1;
    opts.k = k > 0 ? (size_t)k : (size_t)cfg->search_k;
    if (cli_search_mode(mode ? mode : cfg->search_mode, &opts.mode)) {
        rag_config_destroy(cfg);
        return 2;
    }
    query = cli_join_args(argc, argv, first);
    if (!query || cli_open_index(&ix, cfg, 1))
        goto done;
    if (rag_retriever_open(&retriever, ix, cfg, opts.mode, NULL, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    opts.retriever = retriever;
    if (rag_search(&hits, ix, query, &opts, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    if (hits.notice[0])
        fprintf(stderr, "docrag: notice: %s\n", hits.notice);
    if (json) {
        json_t *o = rag_render_hits(query, &hits, rag_now_ms() - t0);
        char *text = o ? rag_render_dump(o) : NULL;
        json_decref(o);
        if (!text) {
            fprintf(stderr, "docrag: out of memory\n");
            rag_hits_fini(&hits);
            goto done;
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_text(&hits, rag_now_ms() - t0);
    }
    rag_hits_fini(&hits);
    rc = 0;
done:
    rag_retriever_destroy(retriever);
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(query);
    return rc;
}
