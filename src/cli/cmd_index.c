/* cmd_index.c - docrag index [--json] [--keep-vanished] [--no-embed] PATH...
 *
 * One docrag_index: the files (unchanged ones skipped), then the chunks
 * without a vector are embedded by chains.embed unless --no-embed (no
 * embedder configured says nothing; one that cannot be built is one
 * warning and indexing still succeeds, BM25 only), then the chunk graph
 * when graph boosting is on. Progress is a bar on a TTY; each file that
 * fails is one "docrag: skipped:" line.
 *
 * Exit status: 0 all files indexed or unchanged; 3 some files failed
 * (each named on stderr, the rest indexed); 4 files indexed but the
 * embedding pass stopped (vectors of finished batches kept; re-run to
 * resume); 1 the database failed.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_JSON, OPT_KEEP_VANISHED, OPT_NO_EMBED };

static const cli_opt opts[] = {
    {"--json", NULL, NULL, "print the report as JSON, no progress bar"},
    {"--keep-vanished", NULL, NULL, "keep stored documents whose file is gone\n"
                                    "(default: they are removed)"},
    {"--no-embed", NULL, NULL, "skip the embedding pass (default: chains.embed runs)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "index",
    "docrag index [options] PATH...",
    "Index files and folders (PDF, Markdown, HTML, text) incrementally: unchanged\n"
    "files are skipped, then chunks without a vector are embedded. Exit status:\n"
    "0 indexed, 3 some files failed (named on stderr), 4 the embedding pass\n"
    "stopped (re-run to resume), 1 the database failed, 2 usage.",
    opts,
    "docrag index --db docs.db ~/specs manual.pdf",
    1,
};

typedef struct {
    int tty;
    int quiet;        /* --json: no progress */
    int verbose;      /* -v: one line per file when stderr is not a TTY */
    int bar_open;     /* a progress bar line is on stderr without its '\n' */
} progress;

static void end_bar(progress *p)
{
    if (p->bar_open)
        fputc('\n', stderr);
    p->bar_open = 0;
}

static void bar(progress *p, size_t n_done, size_t n_total, const char *what,
                const char *name)
{
    int width = 30, fill = n_total ? (int)(width * n_done / n_total) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu ", fill, "##############################",
            width - fill, "", n_done, n_total);
    if (name)
        fprintf(stderr, "%-9s %-40.40s", what, name);
    else
        fputs(what, stderr);
    p->bar_open = 1;
    if (n_done == n_total)
        end_bar(p);
}

static void on_progress(void *ctx, const char *stage, const char *path, const char *action,
                        size_t n_done, size_t n_total)
{
    progress *p = ctx;
    if (p->quiet)
        return;
    if (!strcmp(stage, "file")) {
        char nb[CLI_NAME_BYTES];
        if (p->tty)
            bar(p, n_done, n_total, action, cli_name(nb, cli_base_name(path)));
        else if (p->verbose)
            fprintf(stderr, "docrag: debug: %s: %s\n", action, cli_name(nb, path));
    } else if (!strcmp(stage, "embed")) {
        if (p->tty)
            bar(p, n_done, n_total, "embedded", NULL);
        else if (p->verbose)
            fprintf(stderr, "docrag: debug: embedded %zu/%zu chunks\n", n_done, n_total);
    }
}

static void on_error(void *ctx, const char *path, const char *message)
{
    char nb[CLI_NAME_BYTES];
    end_bar(ctx);
    /* messages are escaped where they are made (rag_fail); the path here */
    if (strstr(message, path))
        fprintf(stderr, "docrag: skipped: %s\n", message);
    else
        fprintf(stderr, "docrag: skipped: %s: %s\n", cli_name(nb, path), message);
}

/* The library's log lines, after ending an open progress bar. */
static void on_log(void *ctx, int level, const char *msg)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    end_bar(ctx);
    fprintf(stderr, "docrag: %s: %s\n", names[level >= 0 && level <= 3 ? level : 3], msg);
}

static void print_text(const json_t *r)
{
    const json_t *emb = json_object_get(r, "embed");
    printf("indexed %lld files in %.2f s: %lld added, %lld updated, %lld unchanged, "
           "%lld removed, %lld failed; %lld chunks from %lld pages -> %s\n",
           cli_int(r, "files"), cli_num(r, "seconds"), cli_int(r, "added"),
           cli_int(r, "updated"), cli_int(r, "unchanged"), cli_int(r, "removed"),
           cli_int(r, "failed"), cli_int(r, "chunks"), cli_int(r, "pages"), cli_str(r, "db"));
    if (json_is_object(emb) && !json_is_true(json_object_get(emb, "failed"))) {
        long long embedded = cli_int(emb, "embedded"), cached = cli_int(emb, "cached");
        printf("vectors: %lld chunks, model %s (%lld-d), %.2f s: %lld embedded, %lld from "
               "cache", cli_int(emb, "chunks"), cli_str(emb, "model"), cli_int(emb, "dim"),
               cli_num(emb, "seconds"), embedded, cached);
        if (embedded + cached)
            printf(" (hit rate %.1f%%)", 100.0 * (double)cached / (double)(embedded + cached));
        printf(", %lld kept\n", cli_int(emb, "kept"));
    }
}

int cmd_index(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_index_opts io;
    docrag_error err;
    progress prog = {isatty(2), 0, 0, 0};
    const char **paths;
    char *out = NULL;
    json_t *r = NULL;
    cli_args ar;
    int json = 0, n_paths = 0, opt, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    docrag_index_opts_init(&io);
    paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths)
        return 1;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == OPT_JSON)
            json = 1;
        else if (opt == OPT_KEEP_VANISHED)
            io.keep_vanished = 1;
        else if (opt == OPT_NO_EMBED)
            io.no_embed = 1;
        else if (opt == CLI_ARGS_POS)
            paths[n_paths++] = ar.value;
        else {
            free(paths);
            return cli_args_exit(opt);
        }
    }
    if (n_paths == 0) {
        free(paths);
        return cli_bad(&help, "no PATH given");
    }
    prog.quiet = json || common.engine.quiet;
    prog.verbose = common.engine.verbose;
    if (prog.tty)
        docrag_log_set(on_log, &prog);
    io.on_progress = on_progress;
    io.on_error = on_error;
    io.ctx = &prog;
    if (cli_open(&e, &s, &common))
        goto done;
    if (docrag_index(s, paths, (size_t)n_paths, &io, &out, &err) < 0) {
        end_bar(&prog);
        cli_error(&err);
        goto done;
    }
    end_bar(&prog);
    if (!(r = cli_json(out)))
        goto done;
    if (json) {
        if (cli_print_json(out))
            goto done;
        out = NULL;
    } else {
        print_text(r);
        if (fflush(stdout) != 0)
            goto done;
    }
    rc = cli_int(r, "failed") ? 3
         : json_is_true(json_object_get(json_object_get(r, "embed"), "failed")) ? 4 : 0;
done:
    json_decref(r);
    docrag_free(out);
    cli_close(e, s);
    docrag_log_set(NULL, NULL);
    free(paths);
    return rc;
}
