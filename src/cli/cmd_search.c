/* cmd_search.c - docrag search [-k N] [--mode bm25|dense|hybrid] [--doc GLOB]
 * [--pages A-B] [--no-rerank] [--prefer-newest] [--json] QUERY... (options anywhere; "-": stdin)
 *
 * One docrag_search on a read-only engine opened for the one mode that
 * runs (single_mode: a bm25 search loads no model). --json prints the
 * API's JSON as it comes; the text form is built from it and ends with a
 * line naming the mode that ran, the fusion, the reranker and the time. A
 * fallback notice goes to stderr. */
#include "cli_query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { OPT_JSON = CLI_Q_N };

static const cli_opt opts[] = {
    CLI_QUERY_OPTS("results, 1..1000 (default: search.k, 10)"),
    {"--json", NULL, NULL, "print the result as JSON (docs/server.md, the JSON contract)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "search",
    "docrag search [options] QUERY...   (QUERY '-': read it from stdin)",
    "Rank the index's chunks for QUERY and print the best ones: rank, score,\n"
    "document, pages, section and a snippet around the query's words. Options\n"
    "may come before or after QUERY; '--' ends them (search -- -mcause).",
    opts,
    "docrag search -k 5 --doc 'riscv-*' \"trap vector base address\"\n"
    "echo mcause | docrag search --json -",
    1,
};

/* Where a snippet of text starts: about 80 bytes before the first word of
 * query found in it (case-insensitive, words of 2+ letters or digits), at a
 * word start; 0 when none is found or the match is near the start. */
static size_t snippet_start(const char *text, size_t n_text, const char *query)
{
    size_t best = n_text;
    const char *q = query;
    while (*q) {
        size_t n = 0;
        while (*q && !isalnum((unsigned char)*q))
            q++;
        while (isalnum((unsigned char)q[n]))
            n++;
        for (size_t i = 0; n >= 2 && i + n <= n_text && i < best; i++) {
            if ((i == 0 || !isalnum((unsigned char)text[i - 1])) && !strncasecmp(text + i, q, n)) {
                best = i;
                break;
            }
        }
        q += n;
    }
    if (best == n_text || best <= 80)
        return 0;
    best -= 80;
    for (size_t lim = best > 20 ? best - 20 : 0; best > lim && text[best - 1] != ' ' &&
                                                 text[best - 1] != '\n';)
        best--;
    return cli_utf8_floor(text, best);
}

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
        size_t n_all = strlen(text), from = snippet_start(text, n_all, cli_str(o, "query"));
        size_t n_text = n_all - from, n;
        text += from;   /* the snippet is centred on the first match */
        n = n_text > 240 ? cli_utf8_floor(text, 240) : n_text;
        char nb[CLI_NAME_BYTES], sb[CLI_NAME_BYTES];
        /* names as a terminal may show them: no escape sequence gets through */
        printf("%2lld. %.3f  %s  p.%lld", cli_int(h, "rank"), cli_num(h, "score"),
               cli_doc_label(nb, h), p0);
        if (p1 != p0)
            printf("-%lld", p1);
        if (section[0])
            printf("  %s", cli_name(sb, section));
        printf("\n    %s", from ? "..." : "");
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
    cli_query q;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_search_opts so;
    docrag_error err;
    cli_args ar;
    char *query = NULL, *out = NULL;
    json_t *o = NULL;
    int json = 0, n_pos = 0, opt, rc;

    docrag_search_opts_init(&so);
    if (cli_query_init(&q, &help, &so, &argc, argv))
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt >= 0 && opt < CLI_Q_N) {
            if ((rc = cli_query_opt(&q, &ar, opt)))
                return rc;
        } else if (opt == OPT_JSON) {
            json = 1;
        } else if (opt == CLI_ARGS_POS) {
            argv[n_pos++] = (char *)ar.value;   /* positionals, compacted in place */
        } else {
            return cli_args_exit(opt);
        }
    }
    if ((rc = cli_query_text(&q, argv, n_pos, &query)))
        return rc;
    rc = 1;
    q.common.engine.read_only = 1;
    q.common.engine.single_mode = 1;
    if (cli_query_open(&q, &e, &s))
        goto done;
    if (docrag_search(s, query, &so, &out, &err) < 0) {
        rc = cli_error(&err) + (err.code == DOCRAG_EINVAL);   /* a bad option: 2 */
        goto done;
    }
    if (!(o = cli_json(out)))
        goto done;
    if (cli_str(o, "notice")[0] && !q.common.engine.quiet)   /* -q: errors only */
        fprintf(stderr, "docrag: notice: %s\n", cli_str(o, "notice"));
    if (q.common.engine.verbose)
        fprintf(stderr, "docrag: debug: search: mode %s, %zu results, %.1f ms\n",
                cli_str(o, "mode"), json_array_size(json_object_get(o, "results")),
                cli_num(json_object_get(o, "timings_ms"), "total"));
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
