/* cmd_search.c - docrag search [-k N] [--mode bm25|dense|hybrid] [--doc GLOB]
 * [--pages A-B] [--no-rerank] [--prefer-newest] [--json] QUERY
 *
 * One docrag_search on a read-only engine opened for the one mode that
 * runs (single_mode: a bm25 search loads no model). --json prints the
 * API's JSON as it comes; the text form is built from it and ends with a
 * line naming the mode that ran, the fusion, the reranker and the time. A
 * fallback notice goes to stderr. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "docrag search [--db F] [-k N] [--mode bm25|dense|hybrid] [--doc GLOB] [--pages A-B]\n"
    "                     [--no-rerank] [--json] QUERY";

static void print_text(const json_t *o)
{
    const json_t *results = json_object_get(o, "results"), *h;
    const char *fusion = cli_str(o, "fusion"), *reranked_by = cli_str(o, "reranked_by");
    size_t i;

    if (json_array_size(results) == 0)
        printf("no results\n");
    json_array_foreach(results, i, h) {
        const char *text = cli_str(h, "text"), *section = cli_str(h, "section");
        long long p0 = cli_int(h, "page_start"), p1 = cli_int(h, "page_end");
        size_t n_text = strlen(text), n = n_text > 240 ? cli_utf8_floor(text, 240) : n_text;
        char nb[CLI_NAME_BYTES], sb[CLI_NAME_BYTES];
        /* names as a terminal may show them: no escape sequence gets through */
        printf("%2lld. %.3f  %s  p.%lld", cli_int(h, "rank"), cli_num(h, "score"),
               cli_doc_label(nb, h), p0);
        if (p1 != p0)
            printf("-%lld", p1);
        if (section[0])
            printf("  %s", cli_name(sb, section));
        printf("\n    ");
        for (size_t j = 0; j < n; j++)
            putchar(text[j] == '\n' ? ' ' : text[j]);
        printf("%s\n", n < n_text ? "..." : "");
    }
    printf("\n[mode %s", cli_str(o, "mode"));
    if (fusion[0])
        printf(", %s fusion", fusion);
    if (reranked_by[0])
        printf(", reranked by %s", reranked_by);
    printf("; %.1f ms]\n", cli_num(json_object_get(o, "timings_ms"), "total"));
}

int cmd_search(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_search_opts so;
    docrag_error err;
    char *query = NULL, *out = NULL, mode_set[64];
    const char *mode = NULL;
    json_t *o = NULL;
    int json = 0, k = -1, first = argc, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    docrag_search_opts_init(&so);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--prefer-newest")) {
            if (cli_common_set(&common, "search.prefer_newest=true"))
                return 2;
            continue;
        }
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--no-rerank"))
            so.rerank = 0;
        else if (!strcmp(argv[i], "--doc") && i + 1 < argc)
            so.doc = argv[++i];
        else if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
            if (docrag_parse_pages(argv[++i], &so.page_min, &so.page_max) != DOCRAG_OK) {
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
    if (mode && !cli_mode_known(mode)) {
        fprintf(stderr, "docrag: unknown search mode '%s' (bm25, dense, hybrid)\n", mode);
        return 2;
    }
    /* the mode as a setting: the engine loads that mode's stages only */
    snprintf(mode_set, sizeof mode_set, "search.mode=%s", mode ? mode : "");
    if (mode && cli_common_set(&common, mode_set))
        return 2;
    common.engine.read_only = 1;
    common.engine.single_mode = 1;
    so.k = k > 0 ? k : 0;
    if (!(query = cli_join_args(argc, argv, first))) {
        fprintf(stderr, "docrag: out of memory\n");
        return 1;
    }
    if (cli_open(&e, &s, &common))
        goto done;
    if (docrag_search(s, query, &so, &out, &err) < 0) {
        rc = cli_error(&err) + (err.code == DOCRAG_EINVAL);   /* a bad option: 2 */
        goto done;
    }
    if (!(o = cli_json(out)))
        goto done;
    if (cli_str(o, "notice")[0])
        fprintf(stderr, "docrag: notice: %s\n", cli_str(o, "notice"));
    if (json) {
        rc = cli_print_json(out);
        out = NULL;
    } else {
        print_text(o);
        rc = fflush(stdout) != 0;
    }
done:
    json_decref(o);
    docrag_free(out);
    cli_close(e, s);
    free(query);
    return rc;
}
