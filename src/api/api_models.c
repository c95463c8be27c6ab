/* api_models.c - model folders behind docrag.h: pull one from the Hub
 * (src/net/download.c) and list what a models root holds.
 *
 * The root is opts->dir, else $DOCRAG_MODELS, else ./models (as the profiles);
 * model "org/name" lives in ROOT/org/name. A folder is a model when it
 * holds config.json (found at depth 1 or 2); it is complete when
 * model.safetensors is readable and no ".part" download is left in it.
 */
#include "api_int.h"

#include "net/net.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void docrag_models_opts_init(docrag_models_opts *o)
{
    memset(o, 0, sizeof *o);
}

static char *models_root(const char *dir)
{
    const char *env = getenv("DOCRAG_MODELS");
    if (dir)
        return rag_strdup(dir);
    if (env && *env)
        return rag_strdup(env);
    /* the folder the default profile's local model is read from
     * (config_table.c: ${DOCRAG_MODELS:-models}/...): what is pulled is
     * what the engine then finds */
    return rag_strdup("models");
}

static void on_progress(const char *file, int64_t done, int64_t total, void *ud)
{
    const docrag_models_opts *o = ud;
    o->on_progress(o->ctx, file, done, total);
}

int docrag_models_pull(const char *id, const docrag_models_opts *o, char **out,
                       docrag_error *derr)
{
    rag_hub_opts ho = rag_hub_default_opts();
    rag_hub_result res;
    rag_err err = {0};
    docrag_models_opts none;
    char *root, *dest = NULL;
    int rc;

    *out = NULL;
    if (!o) {
        docrag_models_opts_init(&none);
        o = &none;
    }
    if (!id || !id[0])
        return api_err(derr, &(rag_err){RAG_EINVAL, "the model id is missing"});
    root = models_root(o->dir);
    if (root)
        dest = rag_asprintf("%s/%s", root, id);
    if (!dest) {
        rag_free(root);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    ho.revision = o->revision ? o->revision : "main";
    {
        /* one deadline for the whole pull, a bounded idle gap and a cap on a
         * honoured Retry-After (issue 13, defects 4 and 24) */
        rag_config *own = NULL;
        const rag_config *cfg = o->config ? o->config->cfg : NULL;
        if (!cfg && rag_config_load(&own, NULL, &err) == RAG_OK)
            cfg = own;
        if (cfg) {
            ho.deadline_ms = (double)cfg->models_pull_timeout_s * 1000.0; /* 0 = none */
            ho.idle_timeout_ms = (long)cfg->models_pull_idle_s * 1000;
            ho.max_retry_after_ms = (double)cfg->models_pull_max_retry_after_s * 1000.0;
        }
        rag_config_destroy(own);
        memset(&err, 0, sizeof err);
    }
    if (o->on_progress) {
        ho.progress = on_progress;
        ho.userdata = (void *)o;
    }
    rc = rag_hub_pull(id, dest, &ho, &res, &err);
    if (rc == RAG_OK)
        rc = api_take_json(json_pack("{s:s,s:s,s:i,s:i,s:i,s:I}", "id", id, "dir", dest,
                                     "files", res.n_files, "downloaded", res.n_downloaded,
                                     "missing_optional", res.n_missing_optional, "bytes",
                                     (json_int_t)res.bytes),
                           out, &err);
    rag_free(dest);
    rag_free(root);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

/* ---- list ------------------------------------------------------------- */

/* Bytes of the regular files under path (symlinks not followed) and how
 * many of them are partial downloads. */
static void tree_size(const char *path, int depth, double *bytes, int *n_parts)
{
    DIR *d = opendir(path);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d))) {
        struct stat st;
        char *sub;
        size_t n = strlen(de->d_name);
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (!(sub = rag_asprintf("%s/%s", path, de->d_name)))
            continue;
        if (lstat(sub, &st) == 0) {
            if (S_ISREG(st.st_mode)) {
                *bytes += (double)st.st_size;
                if (n > 5 && !strcmp(de->d_name + n - 5, ".part"))
                    (*n_parts)++;
            } else if (S_ISDIR(st.st_mode) && depth < 16) {
                tree_size(sub, depth + 1, bytes, n_parts);
            }
        }
        rag_free(sub);
    }
    closedir(d);
}

static int file_readable(const char *dir, const char *name)
{
    char *p = rag_asprintf("%s/%s", dir, name);
    int ok = p && access(p, R_OK) == 0;
    rag_free(p);
    return ok;
}

/* {"id","architecture","bytes","complete"} for the model folder at path. */
static json_t *describe(const char *id, const char *path)
{
    char *cfg = rag_asprintf("%s/config.json", path);
    json_t *j = cfg ? json_load_file(cfg, 0, NULL) : NULL, *a;
    const char *arch = "?";
    double bytes = 0;
    int n_parts = 0;
    json_t *o;

    if (j && json_is_string(a = json_array_get(json_object_get(j, "architectures"), 0)))
        arch = json_string_value(a);
    else if (j && json_is_string(a = json_object_get(j, "model_type")))
        arch = json_string_value(a);
    tree_size(path, 0, &bytes, &n_parts);
    o = json_pack("{s:s,s:s,s:I,s:b}", "id", id, "architecture", arch, "bytes",
                  (json_int_t)bytes, "complete",
                  n_parts == 0 && file_readable(path, "model.safetensors"));
    json_decref(j);
    rag_free(cfg);
    return o;
}

/* Model folders at depth 1 (root/name) or 2 (root/org/name). */
static void scan(const char *root, const char *rel, int depth, json_t *models)
{
    char *dir = rel ? rag_asprintf("%s/%s", root, rel) : rag_strdup(root);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *sub, *sub_rel;
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        sub = rag_asprintf("%s/%s", dir, de->d_name);
        sub_rel = rel ? rag_asprintf("%s/%s", rel, de->d_name) : rag_strdup(de->d_name);
        if (sub && sub_rel && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (file_readable(sub, "config.json"))
                json_array_append_new(models, describe(sub_rel, sub));
            else if (depth < 2)
                scan(root, sub_rel, depth + 1, models);
        }
        rag_free(sub);
        rag_free(sub_rel);
    }
    if (d)
        closedir(d);
    rag_free(dir);
}

static int cmp_id(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    return strcmp(x ? x : "", y ? y : "");
}

int docrag_models_list(const docrag_models_opts *o, char **out, docrag_error *derr)
{
    json_t *models = json_array(), *sorted = json_array(), **v = NULL;
    rag_err err = {0};
    char *root = models_root(o ? o->dir : NULL);
    size_t n, i;
    json_t *m;

    *out = NULL;
    if (!root || !models || !sorted) {
        json_decref(models);
        json_decref(sorted);
        rag_free(root);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    scan(root, NULL, 1, models);
    n = json_array_size(models);
    if (n && !(v = rag_calloc(n, sizeof *v))) {
        json_decref(models);
        json_decref(sorted);
        rag_free(root);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    json_array_foreach(models, i, m)
        v[i] = m;
    if (n)
        qsort(v, n, sizeof *v, cmp_id);
    for (i = 0; i < n; i++)
        json_array_append(sorted, v[i]);
    rag_free(v);
    json_decref(models);
    if (api_take_json(json_pack("{s:s,s:o}", "root", root, "models", sorted), out, &err) < 0) {
        rag_free(root);
        return api_err(derr, &err);
    }
    rag_free(root);
    return DOCRAG_OK;
}
