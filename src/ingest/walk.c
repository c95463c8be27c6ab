/* walk.c - recursive folder walk for indexing.
 *
 * Symlinks are followed (stat, not lstat), so a link to a folder outside
 * the tree is indexed; a set of visited (device, inode) pairs stops loops
 * and double visits. Entries are visited in byte order of their names, so
 * the order is stable across runs. Hidden entries (".x") are skipped inside
 * folders but honoured when given explicitly. Files are kept when
 * rag_detect_kind (extension + first bytes) says an extractor reads them;
 * a known extension over binary content is reported through on_error.
 */
#include "ingest/ingest_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_MAX_DEPTH 64

typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct {
    rag_walk_fn fn;
    rag_walk_error_fn on_error;
    void *ctx;
    dir_id *seen;            /* open-addressing set, n_seen * 2 <= cap */
    size_t n_seen, cap_seen;
} walker;

static void report(walker *w, const char *path, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(walker *w, const char *path, int code, const char *fmt, ...)
{
    rag_err err;
    char msg[200];
    va_list ap;

    if (!w->on_error)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rag_fail(&err, code, "%s: %s", path, msg);
    w->on_error(w->ctx, path, &err);
}

static size_t slot_of(const dir_id *id, size_t cap)
{
    uint64_t h = rag_hash64(id, sizeof *id);
    return (size_t)h & (cap - 1);
}

/* 1 if newly added, 0 if already there, negative on OOM. */
static int seen_add(walker *w, dev_t dev, ino_t ino)
{
    dir_id id;
    size_t i;

    memset(&id, 0, sizeof id);
    id.dev = dev;
    id.ino = ino;
    if ((w->n_seen + 1) * 2 > w->cap_seen) {
        size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
        dir_id *tab = rag_calloc(cap, sizeof *tab);
        if (!tab)
            return RAG_ENOMEM;
        for (size_t k = 0; k < w->cap_seen; k++) {
            if (w->seen[k].ino == 0 && w->seen[k].dev == 0)
                continue;
            i = slot_of(&w->seen[k], cap);
            while (tab[i].ino || tab[i].dev)
                i = (i + 1) & (cap - 1);
            tab[i] = w->seen[k];
        }
        rag_free(w->seen);
        w->seen = tab;
        w->cap_seen = cap;
    }
    i = slot_of(&id, w->cap_seen);
    while (w->seen[i].ino || w->seen[i].dev) {
        if (w->seen[i].ino == ino && w->seen[i].dev == dev)
            return 0;
        i = (i + 1) & (w->cap_seen - 1);
    }
    w->seen[i] = id;
    w->n_seen++;
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int visit(walker *w, const char *path, int depth, int explicit_arg);

static int visit_file(walker *w, const char *path, int explicit_arg)
{
    unsigned char head[1024];
    size_t n_head = 0;
    rag_doc_kind kind;
    FILE *f = fopen(path, "rb");

    if (!f) {
        report(w, path, RAG_EIO, "cannot open: %s", strerror(errno));
        return RAG_OK;
    }
    n_head = fread(head, 1, sizeof head, f);
    fclose(f);
    kind = rag_detect_kind(path, head, n_head);
    if (kind == RAG_DOC_UNKNOWN) {
        rag_doc_kind by_name = rag_detect_kind(path, NULL, 0);
        if (by_name != RAG_DOC_UNKNOWN && n_head > 0)
            report(w, path, RAG_EFORMAT, "binary data, not %s, skipped",
                   rag_doc_kind_name(by_name));
        else if (explicit_arg)
            report(w, path, RAG_EFORMAT, "not a supported document type");
        return RAG_OK;
    }
    return w->fn(w->ctx, path);
}

static int visit_dir(walker *w, const char *path, int depth)
{
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    struct dirent *e;
    DIR *d;
    int rc = RAG_OK;

    if (depth >= WALK_MAX_DEPTH) {
        report(w, path, RAG_ELIMIT, "folders nested over %d deep, skipped",
               WALK_MAX_DEPTH);
        return RAG_OK;
    }
    d = opendir(path);
    if (!d) {
        report(w, path, RAG_EIO, "cannot read folder: %s", strerror(errno));
        return RAG_OK;
    }
    while ((e = readdir(d))) {
        char *name;
        if (e->d_name[0] == '.')
            continue;
        if (n_names == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nn = rag_realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = RAG_ENOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        name = rag_strdup(e->d_name);
        if (!name) {
            rc = RAG_ENOMEM;
            break;
        }
        names[n_names++] = name;
    }
    closedir(d);
    if (rc == RAG_OK && n_names > 1)
        qsort(names, n_names, sizeof *names, cmp_names);
    for (size_t i = 0; i < n_names && rc == RAG_OK; i++) {
        size_t plen = strlen(path);
        char *child = rag_asprintf("%s%s%s", path,
                                   plen && path[plen - 1] == '/' ? "" : "/",
                                   names[i]);
        if (!child) {
            rc = RAG_ENOMEM;
            break;
        }
        rc = visit(w, child, depth + 1, 0);
        rag_free(child);
    }
    for (size_t i = 0; i < n_names; i++)
        rag_free(names[i]);
    rag_free(names);
    if (rc == RAG_ENOMEM)
        report(w, path, RAG_ENOMEM, "out of memory while walking");
    return rc;
}

static int visit(walker *w, const char *path, int depth, int explicit_arg)
{
    struct stat st;
    int added;

    if (stat(path, &st) != 0) {
        struct stat lst;
        if (errno == ELOOP || (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)))
            report(w, path, RAG_ENOTFOUND, "broken or looping symlink: %s",
                   strerror(errno));
        else
            report(w, path, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO, "%s",
                   strerror(errno));
        return RAG_OK;
    }
    if (S_ISREG(st.st_mode))
        return visit_file(w, path, explicit_arg);
    if (!S_ISDIR(st.st_mode)) {
        if (explicit_arg)
            report(w, path, RAG_EFORMAT, "not a regular file or folder");
        return RAG_OK;
    }
    added = seen_add(w, st.st_dev, st.st_ino);
    if (added < 0) {
        report(w, path, RAG_ENOMEM, "out of memory while walking");
        return added;
    }
    if (added == 0) {
        report(w, path, RAG_ELIMIT,
               "folder already visited (symlink loop or second link), skipped");
        return RAG_OK;
    }
    return visit_dir(w, path, depth);
}

int rag_walk(const char *const *paths, size_t n_paths, rag_walk_fn fn,
             rag_walk_error_fn on_error, void *ctx)
{
    walker w;
    int rc = RAG_OK;

    memset(&w, 0, sizeof w);
    w.fn = fn;
    w.on_error = on_error;
    w.ctx = ctx;
    for (size_t i = 0; i < n_paths && rc >= 0; i++)
        rc = visit(&w, paths[i], 0, 1);
    rag_free(w.seen);
    return rc < 0 ? rc : RAG_OK;
}
