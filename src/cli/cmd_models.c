/* cmd_models.c - docrag models pull|list.
 *
 *   docrag models pull ID [--dir D] [--revision R]
 *   docrag models list [--dir D]
 *
 * D is the models root: --dir, else $DOCRAG_MODELS, else
 * ~/.cache/docrag/models. A pulled model lives in D/ID (ID = "org/name").
 * The Hub is $HF_ENDPOINT or https://huggingface.co; $HF_TOKEN is sent as a
 * bearer token when set. Both go through docrag_models_*; `pull` reads its
 * limits from the config (models.pull_timeout_s, models.pull_idle_s,
 * models.pull_max_retry_after_s; --config / --set as for every command).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
    "docrag models pull ID [--dir D] [--revision R] [--set models.pull_timeout_s=S] | "
    "docrag models list [--dir D]";

static void human(char *out, size_t n, double bytes)
{
    static const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4) {
        bytes /= 1000;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

typedef struct {
    double last_ms;
    int tty;
} progress_state;

static void on_progress(void *ctx, const char *file, int64_t done, int64_t total)
{
    progress_state *p = ctx;
    char a[32], b[32];
    double now = cli_now_ms();
    if (!p->tty || now - p->last_ms < 100)
        return;
    p->last_ms = now;
    human(a, sizeof a, (double)done);
    if (total > 0)
        human(b, sizeof b, (double)total);
    fprintf(stderr, "\r  %-28s %10s / %-10s", file, a, total > 0 ? b : "?");
    fflush(stderr);
}

static int pull(const char *id, docrag_models_opts *o)
{
    progress_state ps = {0, isatty(2)};
    docrag_error err;
    char *out = NULL, size[32];
    json_t *r;
    int rc;

    o->on_progress = on_progress;
    o->ctx = &ps;
    rc = docrag_models_pull(id, o, &out, &err);
    if (ps.tty && ps.last_ms > 0)
        fprintf(stderr, "\r%60s\r", "");
    if (rc < 0)
        return cli_error(&err);
    r = cli_json(out);
    docrag_free(out);
    if (!r)
        return 1;
    human(size, sizeof size, (double)cli_int(r, "bytes"));
    printf("pulled %s into %s: %lld files (%lld downloaded, %lld optional missing), %s "
           "transferred\n", id, cli_str(r, "dir"), cli_int(r, "files"),
           cli_int(r, "downloaded"), cli_int(r, "missing_optional"), size);
    json_decref(r);
    return 0;
}

static int list(const docrag_models_opts *o)
{
    docrag_error err;
    char *out = NULL;
    json_t *r, *models, *m;
    size_t i;

    if (docrag_models_list(o, &out, &err) < 0)
        return cli_error(&err);
    r = cli_json(out);
    docrag_free(out);
    if (!r)
        return 1;
    models = json_object_get(r, "models");
    if (json_array_size(models) == 0)
        printf("no models under %s\n", cli_str(r, "root"));
    else
        printf("%-44s %-28s %10s\n", "MODEL", "ARCHITECTURE", "SIZE");
    json_array_foreach(models, i, m) {
        char size[32];
        human(size, sizeof size, (double)cli_int(m, "bytes"));
        printf("%-44s %-28s %10s%s\n", cli_str(m, "id"), cli_str(m, "architecture"), size,
               json_is_true(json_object_get(m, "complete")) ? "" : "  (incomplete)");
    }
    json_decref(r);
    return 0;
}

int cmd_models(int argc, char **argv)
{
    docrag_models_opts o;
    cli_common common;
    docrag_engine *cfg = NULL;
    const char *id = NULL, *sub;
    int rc;
    docrag_models_opts_init(&o);
    o.revision = "main";
    if (cli_common_parse(&common, &argc, argv))
        return 2;
    if (argc < 2)
        return cli_usage(USAGE);
    sub = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            o.dir = argv[++i];
        else if (!strcmp(argv[i], "--revision") && i + 1 < argc)
            o.revision = argv[++i];
        else if (!strcmp(argv[i], "-q"))
            docrag_log_set_level(DOCRAG_LOG_ERROR);
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            return cli_usage(USAGE);
    }
    if (!strcmp(sub, "pull")) {
        if (!id)
            return cli_usage(USAGE);
        /* the pull's limits come from the configuration (--config, --set) */
        common.engine.scope = DOCRAG_SCOPE_CONFIG;
        if (cli_open(&cfg, NULL, &common))
            return 1;
        o.config = cfg;
        rc = pull(id, &o);
        cli_close(cfg, NULL);
        return rc;
    }
    if (!strcmp(sub, "list")) {
        if (id)
            return cli_usage(USAGE);
        return list(&o);
    }
    return cli_usage(USAGE);
}
