/* cmd_models.c - docrag models pull|list.
 *
 *   docrag models pull ID [--dir D] [--revision R]
 *   docrag models list [--dir D]
 *
 * D is the models root: --dir, else $DOCRAG_MODELS, else
 * ~/.cache/docrag/models. A pulled model lives in D/ID (ID = "org/name").
 * The Hub is $HF_ENDPOINT or https://huggingface.co; $HF_TOKEN is sent as a
 * bearer token when set. `pull` reads its limits from the config
 * (models.pull_timeout_s, models.pull_idle_s, models.pull_max_retry_after_s;
 * --config / --set as for every command).
 */
#include "cli.h"
#include "net/net.h"

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "docrag models pull ID [--dir D] [--revision R] [--set models.pull_timeout_s=S] | "
    "docrag models list [--dir D]";

static char *models_root(const char *dir)
{
    const char *env = getenv("DOCRAG_MODELS"), *home = getenv("HOME");
    if (dir)
        return rag_strdup(dir);
    if (env && *env)
        return rag_strdup(env);
    return rag_asprintf("%s/.cache/docrag/models", home && *home ? home : ".");
}

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

static void on_progress(const char *file, int64_t done, int64_t total, void *ud)
{
    progress_state *p = ud;
    char a[32], b[32];
    double now = rag_now_ms();
    if (!p->tty || now - p->last_ms < 100)
        return;
    p->last_ms = now;
    human(a, sizeof a, (double)done);
    if (total > 0)
        human(b, sizeof b, (double)total);
    fprintf(stderr, "\r  %-28s %10s / %-10s", file, a, total > 0 ? b : "?");
    fflush(stderr);
}

static int pull(const char *id, const char *dir, const char *revision,
                const rag_config *cfg)
{
    rag_hub_opts o = rag_hub_default_opts();
    rag_hub_result res;
    rag_err err = {0};
    progress_state ps = {0, isatty(2)};
    char *root = models_root(dir), *dest;
    char size[32];
    int rc;

    if (!root)
        return 1;
    dest = rag_asprintf("%s/%s", root, id);
    o.revision = revision;
    o.deadline_ms = (double)cfg->models_pull_timeout_s * 1000.0; /* 0 = none */
    o.idle_timeout_ms = (long)cfg->models_pull_idle_s * 1000;
    o.max_retry_after_ms = (double)cfg->models_pull_max_retry_after_s * 1000.0;
    o.progress = on_progress;
    o.userdata = &ps;
    rc = rag_hub_pull(id, dest, &o, &res, &err);
    if (ps.tty && ps.last_ms > 0)
        fprintf(stderr, "\r%60s\r", "");
    if (rc < 0) {
        rag_free(dest);
        rag_free(root);
        return cli_error(&err);
    }
    human(size, sizeof size, (double)res.bytes);
    printf("pulled %s into %s: %d files (%d downloaded, %d optional missing), %s "
           "transferred\n", id, dest, res.n_files, res.n_downloaded,
           res.n_missing_optional, size);
    rag_free(dest);
    rag_free(root);
    return 0;
}

/* ---- list ------------------------------------------------------------- */

static double tree_bytes;
static int tree_parts;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    size_t n = strlen(path);
    (void)f;
    if (flag == FTW_F) {
        tree_bytes += (double)st->st_size;
        if (n > 5 && !strcmp(path + n - 5, ".part"))
            tree_parts++;
    }
    return 0;
}

typedef struct {
    char *id;
    char arch[96];
    double bytes;
    int complete;
} model_row;

static void describe(model_row *m, const char *path)
{
    char *cfg = rag_asprintf("%s/config.json", path);
    char *weights = rag_asprintf("%s/model.safetensors", path);
    json_t *j = cfg ? json_load_file(cfg, 0, NULL) : NULL;
    json_t *a;
    snprintf(m->arch, sizeof m->arch, "?");
    if (j && json_is_string(a = json_array_get(json_object_get(j, "architectures"), 0)))
        snprintf(m->arch, sizeof m->arch, "%s", json_string_value(a));
    else if (j && json_is_string(a = json_object_get(j, "model_type")))
        snprintf(m->arch, sizeof m->arch, "%s", json_string_value(a));
    if (j)
        json_decref(j);
    tree_bytes = 0;
    tree_parts = 0;
    nftw(path, add_size, 16, FTW_PHYS);
    m->bytes = tree_bytes;
    m->complete = tree_parts == 0 && weights && access(weights, R_OK) == 0;
    rag_free(cfg);
    rag_free(weights);
}

static int has_config(const char *path)
{
    char *cfg = rag_asprintf("%s/config.json", path);
    int ok = cfg && access(cfg, R_OK) == 0;
    rag_free(cfg);
    return ok;
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const model_row *)a)->id, ((const model_row *)b)->id);
}

/* Model folders at depth 1 (root/name) or 2 (root/org/name). */
static void scan(const char *root, const char *rel, int depth, model_row **rows,
                 size_t *n, size_t *cap)
{
    char *dir = rel ? rag_asprintf("%s/%s", root, rel) : rag_strdup(root);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *sub, *sub_rel;
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        sub = rag_asprintf("%s/%s", dir, e->d_name);
        sub_rel = rel ? rag_asprintf("%s/%s", rel, e->d_name) : rag_strdup(e->d_name);
        if (sub && sub_rel && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (has_config(sub)) {
                if (*n == *cap) {
                    size_t nc = *cap ? *cap * 2 : 16;
                    model_row *r = rag_realloc(*rows, nc * sizeof *r);
                    if (r) {
                        *rows = r;
                        *cap = nc;
                    }
                }
                if (*n < *cap) {
                    model_row *m = &(*rows)[(*n)++];
                    m->id = sub_rel;
                    sub_rel = NULL;
                    describe(m, sub);
                }
            } else if (depth < 2) {
                scan(root, sub_rel, depth + 1, rows, n, cap);
            }
        }
        rag_free(sub);
        rag_free(sub_rel);
    }
    if (d)
        closedir(d);
    rag_free(dir);
}

static int list(const char *dir)
{
    char *root = models_root(dir);
    model_row *rows = NULL;
    size_t n = 0, cap = 0;
    if (!root)
        return 1;
    scan(root, NULL, 1, &rows, &n, &cap);
    if (n == 0) {
        printf("no models under %s\n", root);
    } else {
        qsort(rows, n, sizeof *rows, cmp_rows);
        printf("%-44s %-28s %10s\n", "MODEL", "ARCHITECTURE", "SIZE");
        for (size_t i = 0; i < n; i++) {
            char size[32];
            human(size, sizeof size, rows[i].bytes);
            printf("%-44s %-28s %10s%s\n", rows[i].id, rows[i].arch, size,
                   rows[i].complete ? "" : "  (incomplete)");
            rag_free(rows[i].id);
        }
    }
    rag_free(rows);
    rag_free(root);
    return 0;
}

int cmd_models(int argc, char **argv)
{
    const char *dir = NULL, *revision = "main", *id = NULL, *sub;
    cli_common common;
    rag_config *cfg = NULL;
    int rc;
    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    if (argc < 2)
        return cli_usage(USAGE);
    sub = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--revision") && i + 1 < argc)
            revision = argv[++i];
        else if (!strcmp(argv[i], "-q"))
            rag_log_set_level(RAG_LOG_ERROR);
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            return cli_usage(USAGE);
    }
    if (!strcmp(sub, "pull")) {
        if (!id)
            return cli_usage(USAGE);
        if (cli_load_config(&cfg, &common) != 0)
            return 1;
        rc = pull(id, dir, revision, cfg);
        rag_config_destroy(cfg);
        return rc;
    }
    if (!strcmp(sub, "list")) {
        if (id)
            return cli_usage(USAGE);
        return list(dir);
    }
    return cli_usage(USAGE);
}
