/* cmd_index.c - docrag index [--json] [--keep-vanished] [--no-embed] PATH...
 *
 * After the files, chunks without a vector are embedded by chains.embed
 * (src/embed/embed_index.h) unless --no-embed; no embedder configured
 * (chains.embed: none) says nothing, an embedder that cannot be built
 * prints one warning and indexing still succeeds (BM25 only).
 *
 * Exit status: 0 all files indexed or unchanged; 3 some files failed
 * (each named on stderr, the rest indexed); 4 files indexed but the
 * embedding pass stopped (vectors of finished batches kept; re-run to
 * resume); 1 the database failed.
 */
#include "cli.h"
#include "embed/embed_index.h"
#include "obs/obs.h"
#include "retrieve/graph.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INDEX_USAGE "docrag index [--db F] [--json] [--keep-vanished] [--no-embed] PATH..."

typedef struct {
    int tty;
    int quiet;
} progress;

static void on_file(void *ctx, const char *path, const char *action, size_t n_done,
                    size_t n_total)
{
    progress *p = ctx;
    const char *base = strrchr(path, '/');
    char name[CLI_NAME_BYTES];
    base = base ? base + 1 : path;
    if (p->quiet)
        return;
    if (p->tty) {
        int width = 30, fill = n_total ? (int)(width * n_done / n_total) : width;
        fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-9s %-40.40s", fill,
                "##############################", width - fill, "", n_done, n_total,
                action, cli_name(name, base));
        if (n_done == n_total)
            fputc('\n', stderr);
    } else {
        rag_log(RAG_LOG_DEBUG, "%s: %s", action, path);
    }
}

static void on_error(void *ctx, const char *path, const rag_err *err)
{
    progress *p = ctx;
    char name[CLI_NAME_BYTES];
    if (p->tty)
        fputc('\n', stderr);
    /* messages are terminal-safe already (rag_fail); the path may not be */
    cli_name(name, path);
    if (err->msg[0] && strstr(err->msg, name))
        fprintf(stderr, "docrag: skipped: %s\n", err->msg);
    else
        fprintf(stderr, "docrag: skipped: %s: %s\n", name,
                err->msg[0] ? err->msg : rag_status_name(err->code));
}

/* ---- the embedding pass (after the files) ------------------------------ */

typedef struct {
    int ran;                 /* an embedder was built and the pass ran */
    int failed;
    rag_embed_report rep;
} embed_outcome;

static void on_embed_progress(void *ctx, size_t n_done, size_t n_total)
{
    progress *p = ctx;
    if (p->quiet)
        return;
    if (p->tty) {
        int width = 30, fill = n_total ? (int)(width * n_done / n_total) : width;
        fprintf(stderr, "\r[%.*s%*s] %zu/%zu embedded", fill,
                "##############################", width - fill, "", n_done, n_total);
        if (n_done == n_total)
            fputc('\n', stderr);
    } else {
        rag_log(RAG_LOG_DEBUG, "embedded %zu/%zu chunks", n_done, n_total);
    }
}

/* Build chains.embed and give every chunk a vector. Prints its own
 * warning or error; never changes the files' outcome. */
static void embed_pass(rag_index *ix, const rag_config *cfg, progress *prog,
                       embed_outcome *out)
{
    rag_embedder *e = NULL;
    rag_usage *usage = NULL;
    rag_embed_index_opts opts = rag_embed_index_opts_from_config(cfg);
    rag_err err = {0};

    memset(out, 0, sizeof *out);
    if (cfg->n_chain_embed == 0 || !strcmp(cfg->chain_embed[0], "none"))
        return;   /* no embedder: quiet, and no work at all */
    if (rag_usage_open(&usage, rag_index_db(ix), cfg, &err) < 0) {
        rag_log(RAG_LOG_DEBUG, "usage not recorded: %s", err.msg);
        usage = NULL;
    }
    if (rag_embedder_chain_create(&e, cfg, usage, NULL, &err) < 0) {
        fprintf(stderr, "docrag: warning: chunks not embedded: %s; dense and hybrid search "
                "will fall back to BM25\n", err.msg);
        goto done;
    }
    if (!e)
        goto done;
    opts.progress = on_embed_progress;
    opts.ctx = prog;
    out->ran = 1;
    if (rag_embed_index(ix, e, &opts, &out->rep, &err) < 0) {
        if (prog->tty && !prog->quiet)
            fputc('\n', stderr);
        fprintf(stderr, "docrag: embedding stopped (finished batches kept; run again to "
                "resume): %s\n", err.msg);
        out->failed = 1;
    }
done:
    rag_embedder_destroy(e);
    rag_usage_close(usage);
}

static json_t *embed_json(const embed_outcome *o)
{
    const rag_embed_report *r = &o->rep;
    size_t looked = r->n_cached + r->n_embedded;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:b,s:s?}", "model", r->model,
                     "dim", (json_int_t)r->dim, "chunks", (json_int_t)r->n_chunks,
                     "embedded", (json_int_t)r->n_embedded, "cached",
                     (json_int_t)r->n_cached, "kept", (json_int_t)r->n_present, "removed",
                     (json_int_t)r->n_removed, "cache_hit_rate",
                     looked ? (double)r->n_cached / (double)looked : 0.0, "seconds",
                     r->seconds, "failed", o->failed, "previous_model",
                     r->prev_model[0] ? r->prev_model : NULL);
}

static void embed_print(const embed_outcome *o)
{
    const rag_embed_report *r = &o->rep;
    size_t looked = r->n_cached + r->n_embedded;
    printf("vectors: %zu chunks, model %s (%zu-d), %.2f s: %zu embedded, %zu from cache",
           r->n_chunks, r->model, r->dim, r->seconds, r->n_embedded, r->n_cached);
    if (looked)
        printf(" (hit rate %.1f%%)", 100.0 * (double)r->n_cached / (double)looked);
    printf(", %zu kept\n", r->n_present);
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
    int json = 0, keep = 0, no_embed = 0, n_paths = 0, rc;
    embed_outcome emb = {0};

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
        else if (!strcmp(argv[i], "--no-embed"))
            no_embed = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            rag_free(paths);
            return cli_usage(INDEX_USAGE);
        } else
            paths[n_paths++] = argv[i];
    }
    if (n_paths == 0) {
        rag_free(paths);
        return cli_usage(INDEX_USAGE);
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
    /* vectors for the chunks (src/embed/embed_index.h) */
    if (rc >= 0 && !no_embed)
        embed_pass(ix, cfg, &prog, &emb);
    /* ---- chunk graph (src/retrieve/graph.h, docs/graph.md), only when graph
     * boosting is on (search.graph_boost > 0): rebuilt when the index changed
     * (skipped by its stamp otherwise); on failure it is dropped, so search
     * runs without graph boost rather than on a stale graph. */
    if (rc >= 0 && cfg->search_graph_boost > 0) {
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
        if (o && emb.ran)
            json_object_set_new(o, "embed", embed_json(&emb));
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fputc('\n', stdout);
            json_decref(o);
        }
        rc = rep.n_failed ? 3 : emb.failed ? 4 : 0;
    } else {
        printf("indexed %zu files in %.2f s: %zu added, %zu updated, %zu unchanged, "
               "%zu removed, %zu failed; %zu chunks from %zu pages -> %s\n",
               rep.n_seen, rep.seconds, rep.n_added, rep.n_updated, rep.n_unchanged,
               rep.n_removed, rep.n_failed, rep.n_chunks, rep.n_pages, cfg->db_path);
        if (emb.ran && !emb.failed)
            embed_print(&emb);
        rc = rep.n_failed ? 3 : emb.failed ? 4 : 0;
    }
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(paths);
    return rc;
}
