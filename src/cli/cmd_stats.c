/* cmd_stats.c - docrag stats [--json]: what the index holds, and the
 * usage and cost of each back-end, from docrag_stats on a read-only engine
 * that loads no models (DOCRAG_SCOPE_INDEX). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the statistics as JSON"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "stats",
    "docrag stats [options]",
    "What the index holds (documents, pages, chunks, vectors, the embedding\n"
    "model and cache) and each back-end's usage and cost this month.",
    opts,
    "docrag stats --db docs.db --json",
    1,
};

static void print_usage(const json_t *usage)
{
    const char *name;
    json_t *b;
    json_object_foreach(json_object_get(usage, "backends"), name, b) {
        json_t *m = json_object_get(b, "month");
        double budget = cli_num(b, "budget_usd");
        printf("usage       %s: %lld requests, %lld errors, %lld retries, %lld "
               "fallbacks, p95 %.0f ms, $%.4f this month", name, cli_int(b, "requests"),
               cli_int(b, "error_count"), cli_int(b, "retries"), cli_int(b, "fallbacks"),
               cli_num(json_object_get(b, "latency_ms"), "p95"), cli_num(m, "cost_usd"));
        if (budget > 0)
            printf(" of $%.2f%s", budget,
                   json_is_false(json_object_get(b, "allowed")) ? " (spent)" : "");
        printf("\n");
    }
}

static void print_text(const json_t *s)
{
    const json_t *kinds = json_object_get(s, "kinds");
    const char *kind, *model = cli_str(s, "embed_model");
    long long lookups = cli_int(s, "embed_cache_lookups"), hits = cli_int(s, "embed_cache_hits");
    json_t *n;
    int i = 0;

    printf("database    %s (%.1f MB, schema %lld)\n", cli_str(s, "db"),
           (double)cli_int(s, "db_bytes") / 1048576.0, cli_int(s, "schema_version"));
    printf("documents   %lld", cli_int(s, "documents"));
    json_object_foreach((json_t *)kinds, kind, n)
        printf("%s%s %lld", i++ ? ", " : " (", kind, (long long)json_integer_value(n));
    printf("%s\n", i ? ")" : "");
    printf("pages       %lld\n", cli_int(s, "pages"));
    printf("chunks      %lld (%.1f MB of text)\n", cli_int(s, "chunks"),
           (double)cli_int(s, "text_bytes") / 1048576.0);
    printf("vectors     %lld", cli_int(s, "vectors"));
    if (model[0])
        printf(", model %s (%lld-d)", model, cli_int(s, "embed_dim"));
    printf("\n");
    printf("embed cache %lld entries", cli_int(s, "embed_cache_entries"));
    if (lookups)
        printf(", hit rate %.1f%% (%lld of %lld lookups)",
               100.0 * (double)hits / (double)lookups, hits, lookups);
    printf("\n");
    print_usage(json_object_get(s, "usage"));
}

int cmd_stats(int argc, char **argv)
{
    return cli_report(argc, argv, &help, docrag_stats, print_text);
}
