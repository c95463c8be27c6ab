/* cmd_models.c - docrag models pull|list.
 *
 *   docrag models pull ID [--dir D] [--revision R]
 *   docrag models list [--dir D]
 *
 * D is the models root: --dir, else $DOCRAG_MODELS, else ./models, the
 * folder the default profile reads its local model from. A pulled model lives in D/ID (ID = "org/name").
 * The Hub is $HF_ENDPOINT or https://huggingface.co; $HF_TOKEN is sent as a
 * bearer token when set. Both go through docrag_models_*; `pull` reads its
 * limits from the config (models.pull_timeout_s, models.pull_idle_s,
 * models.pull_max_retry_after_s; --config / --set as for every command).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_DIR, OPT_REVISION };

static const cli_opt opts[] = {
    {"--dir", NULL, "D", "the models root (default: $DOCRAG_MODELS, else ./models,\n"
                         "where the default profile looks for its model)"},
    {"--revision", NULL, "R", "pull: the branch, tag or commit (default: main)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "models",
    "docrag models pull ID [options]\n"
    "       docrag models list [options]",
    "pull: download the Hugging Face model ID (\"org/name\") into D/ID, resuming\n"
    "partial files and checking sizes and hashes ($HF_ENDPOINT, $HF_TOKEN; limits\n"
    "models.pull_timeout_s, models.pull_idle_s). list: the model folders under D.",
    opts,
    "docrag models pull sentence-transformers/all-MiniLM-L6-v2\n"
    "docrag models list --dir models",
    1,
};

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
    const char *id = NULL, *sub = NULL;
    char nb[CLI_NAME_BYTES];
    cli_args ar;
    int rc, opt;
    docrag_models_opts_init(&o);
    o.revision = "main";
    if (cli_common_parse(&common, &argc, argv))
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == OPT_DIR)
            o.dir = ar.value;
        else if (opt == OPT_REVISION)
            o.revision = ar.value;
        else if (opt == CLI_ARGS_POS && !sub)
            sub = ar.value;
        else if (opt == CLI_ARGS_POS && !id)
            id = ar.value;
        else if (opt == CLI_ARGS_POS)
            return cli_bad(&help, "unexpected argument '%s'", cli_name(nb, ar.value));
        else
            return cli_args_exit(opt);
    }
    if (!sub)
        return cli_bad(&help, "no subcommand given (pull or list)");
    if (!strcmp(sub, "pull")) {
        if (!id)
            return cli_bad(&help, "pull: no model ID given (org/name)");
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
            return cli_bad(&help, "list: unexpected argument '%s'", cli_name(nb, id));
        return list(&o);
    }
    return cli_bad(&help, "unknown subcommand '%s' (pull or list)", cli_name(nb, sub));
}
