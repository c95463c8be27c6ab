/* cmd_index.c - docrag index [--json] [--keep-vanished] PATH...
 *
 * Exit status: 0 all files indexed or unchanged; 3 some files failed
 * (each named on stderr, the rest indexed); 1 the database failed.
 */
#include "cli.h"
#include "retrieve/graph.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int tty;
    int quiet;
} progress;

static void on_file(void *ctx, const char *path, const char *action, size_t n_done,
                    size_t n_total)
{
    progress *p = ctx;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (p->quiet)
        return;
    if (p->tty) {
        int width = 30, fill = n_total ? (int)(width * n_done / n_total) : width;
        fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-9s %-40.40s", fill,
                "##############################", width - fill, "", n_done, n_total,
                action, base);
        if (n_done == n_total)
            fputc('\n', stderr);
    } else {
        rag_log(RAG_LOG_DEBUG, "%s: %s", action, path);
    }
}

static void on_error(void *ctx, const char *path, const rag_err *err)
{
    progress *p = ctx;
    if (p->tty)
        fputc('\n', stderr);
    if (err->msg[0] && strstr(err->msg, path))
        fprintf(stderr, "docrag: skipped: %s\n", err->msg);
    else
        fprintf(stderr, "docrag: skipped: %s: %s\n", path,
                err->msg[0] ? err->msg : rag_status_name(err->code));
}

int cmd_index(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_index *ix = NULL;
    rag_indexer_report rep;
    rag_err err = {0};
    progress prog = {isatty(2), 0};
    const char **paths;
    int json = 0, keep = 0, n_paths = 0, rc;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    paths = rag_calloc((size_t)argc + 1, sizeof *paths);
    if (!paths)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--keep-vanished"))
            keep = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            rag_free(paths);
            return cli_usage("docrag index [--db F] [--json] [--keep-vanished] PATH...");
        } else
            paths[n_paths++] = argv[i];
    }
    if (n_paths == 0) {
        rag_free(paths);
        return cli_usage("docrag index [--db F] [--json] [--keep-vanished] PATH...");
    }
    if (cli_load_config(&cfg, &common)) {
        rag_free(paths);
        return 1;
    }
    if (cli_open_index(&ix, cfg, 0)) {
        rag_config_destroy(cfg);
        rag_free(paths);
        return 1;
    }
    {
        rag_indexer_opts opts = rag_indexer_opts_from_config(cfg);
        rag_indexer_events ev = {on_file, on_error, &prog};
        opts.remove_vanished = !keep;
        prog.quiet = json;
        rc = rag_indexer_run(ix, paths, (size_t)n_paths, &opts, &ev, &rep, &err);
    }
    /* ---- chunk graph (src/retrieve/graph.h, docs/graph.md): rebuilt when the
     * index changed (skipped by its stamp otherwise); on failure it is dropped,
     * so search runs without graph boost rather than on a stale graph. */
    if (rc >= 0) {
        rag_graph_report g_rep;
        rag_err g_err = {0};
        if (rag_graph_build(ix, NULL, &g_rep, &g_err) < 0) {
            fprintf(stderr, "docrag: warning: chunk graph not built: %s\n", g_err.msg);
            rag_graph_drop(ix, NULL);
        } else if (!g_rep.skipped) {
            rag_log(RAG_LOG_INFO, "graph: %lld chunks, %lld edges in %.2f s",
                    (long long)g_rep.n_nodes, (long long)g_rep.n_edges, g_rep.seconds);
        }
    }
    if (rc < 0) {
        cli_error(&err);
        rc = 1;
    } else if (json) {
        json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
                              "db", cfg->db_path, "files", (json_int_t)rep.n_seen,
                              "added", (json_int_t)rep.n_added,
                              "updated", (json_int_t)rep.n_updated,
                              "unchanged", (json_int_t)rep.n_unchanged,
                              "removed", (json_int_t)rep.n_removed,
                              "failed", (json_int_t)rep.n_failed,
                              "chunks", (json_int_t)rep.n_chunks,
                              "pages", (json_int_t)rep.n_pages, "seconds", rep.seconds);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fputc('\n', stdout);
            json_decref(o);
        }
        rc = rep.n_failed ? 3 : 0;
    } else {
        printf("indexed %zu files in %.2f s: %zu added, %zu updated, %zu unchanged, "
               "%zu removed, %zu failed; %zu chunks from %zu pages -> %s\n",
               rep.n_seen, rep.seconds, rep.n_added, rep.n_updated, rep.n_unchanged,
               rep.n_removed, rep.n_failed, rep.n_chunks, rep.n_pages, cfg->db_path);
        rc = rep.n_failed ? 3 : 0;
    }
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(paths);
    return rc;
}
