/* cmd_stats.c - docrag stats [--json]: what the index holds, and the
 * usage and cost of each back-end (table `usage`, src/obs). */
#include "cli.h"
#include "obs/obs.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int cmd_stats(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_index *ix = NULL;
    rag_index_stats s;
    rag_usage *usage = NULL;
    rag_buf ubuf = RAG_BUF_INIT;
    json_t *uj = NULL;
    rag_err err = {0};
    int json = 0, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else
            return cli_usage("docrag stats [--db F] [--json]");
    }
    if (cli_load_config(&cfg, &common))
        return 1;
    if (cli_open_index(&ix, cfg, 1))
        goto done;
    if (rag_index_stats_get(ix, &s, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    /* usage: read only, from the same database */
    if (rag_usage_open(&usage, rag_index_db(ix), cfg, &err) == RAG_OK &&
        rag_usage_json(usage, &ubuf, &err) == RAG_OK)
        uj = json_loads(ubuf.data, 0, NULL);
    if (json) {
        json_t *kinds = json_object();
        json_t *o;
        for (int i = 0; kinds && i < s.n_kinds; i++)
            json_object_set_new(kinds, s.kinds[i].kind, json_integer(s.kinds[i].n));
        o = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s?}", "db",
                      cfg->db_path, "schema_version", s.schema_version, "documents",
                      (json_int_t)s.n_documents, "chunks", (json_int_t)s.n_chunks,
                      "pages", (json_int_t)s.n_pages, "text_bytes",
                      (json_int_t)s.n_text_bytes, "vectors", (json_int_t)s.n_vectors,
                      "embed_cache_entries", (json_int_t)s.n_cache_entries, "db_bytes",
                      (json_int_t)s.db_bytes, "kinds", kinds, "embed_model",
                      s.embed_model[0] ? s.embed_model : NULL);
        if (o) {
            json_object_set_new(o, "embed_dim", json_integer(s.embed_dim));
            json_object_set_new(o, "embed_cache_lookups", json_integer(s.n_cache_lookups));
            json_object_set_new(o, "embed_cache_hits", json_integer(s.n_cache_hits));
            json_object_set_new(o, "embed_cache_hit_rate",
                                json_real(s.n_cache_lookups ? (double)s.n_cache_hits /
                                                                  (double)s.n_cache_lookups
                                                            : 0.0));
            json_object_set_new(o, "usage", uj ? json_incref(uj) : json_object());
        }
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        }
    } else {
        printf("database    %s (%.1f MB, schema %d)\n", cfg->db_path,
               (double)s.db_bytes / 1048576.0, s.schema_version);
        printf("documents   %lld", (long long)s.n_documents);
        for (int i = 0; i < s.n_kinds; i++)
            printf("%s%s %lld", i ? ", " : " (", s.kinds[i].kind, (long long)s.kinds[i].n);
        printf("%s\n", s.n_kinds ? ")" : "");
        printf("pages       %lld\n", (long long)s.n_pages);
        printf("chunks      %lld (%.1f MB of text)\n", (long long)s.n_chunks,
               (double)s.n_text_bytes / 1048576.0);
        printf("vectors     %lld", (long long)s.n_vectors);
        if (s.embed_model[0])
            printf(", model %s (%lld-d)", s.embed_model, (long long)s.embed_dim);
        printf("\n");
        printf("embed cache %lld entries", (long long)s.n_cache_entries);
        if (s.n_cache_lookups)
            printf(", hit rate %.1f%% (%lld of %lld lookups)",
                   100.0 * (double)s.n_cache_hits / (double)s.n_cache_lookups,
                   (long long)s.n_cache_hits, (long long)s.n_cache_lookups);
        printf("\n");
        {
            const char *name;
            json_t *b;
            json_object_foreach(json_object_get(uj, "backends"), name, b) {
                json_t *m = json_object_get(b, "month");
                double budget = json_number_value(json_object_get(b, "budget_usd"));
                printf("usage       %s: %lld requests, %lld errors, %lld retries, %lld "
                       "fallbacks, p95 %.0f ms, $%.4f this month", name,
                       (long long)json_integer_value(json_object_get(b, "requests")),
                       (long long)json_integer_value(json_object_get(b, "error_count")),
                       (long long)json_integer_value(json_object_get(b, "retries")),
                       (long long)json_integer_value(json_object_get(b, "fallbacks")),
                       json_number_value(json_object_get(json_object_get(b, "latency_ms"),
                                                         "p95")),
                       json_number_value(json_object_get(m, "cost_usd")));
                if (budget > 0)
                    printf(" of $%.2f%s", budget,
                           json_is_false(json_object_get(b, "allowed")) ? " (spent)" : "");
                printf("\n");
            }
        }
    }
    rc = 0;
done:
    json_decref(uj);
    rag_buf_fini(&ubuf);
    rag_usage_close(usage);
    rag_index_close(ix);
    rag_config_destroy(cfg);
    return rc;
}
