/* cmd_stats.c - docrag stats [--json]: what the index holds. */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int cmd_stats(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_index *ix = NULL;
    rag_index_stats s;
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
        printf("vectors     %lld%s%s\n", (long long)s.n_vectors,
               s.embed_model[0] ? ", model " : "", s.embed_model);
    }
    rc = 0;
done:
    rag_index_close(ix);
    rag_config_destroy(cfg);
    return rc;
}
