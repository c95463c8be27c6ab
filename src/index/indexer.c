/* indexer.c - incremental indexing: walk, hash, extract, chunk, store.
 *
 * The walk collects the file list first, so progress can show n of N.
 * Every file is its own transaction: a crash (even kill -9) between two
 * files leaves every file either at its old or at its new state. A file
 * that fails to extract keeps its last indexed version. Each transaction
 * adds one BM25 postings segment; past 16 segments the run ends with a
 * merge (rag_index_optimize).
 *
 * Removal needs evidence, as rsync's --delete does: a stored document the
 * walk did not find is removed only when its path is really gone (lstat
 * says ENOENT or ENOTDIR and the nearest existing folder above it can be
 * read) or no longer names a regular file of its own (it became a folder,
 * a symlink, a special file, or is reached through a symlink now: its
 * content, if any, is indexed under its own canonical path). Anything that
 * prevents the check -- a folder the walk could not read, EACCES, EIO, a
 * root that is missing (an unmounted disk) -- keeps the document and counts
 * as failed.
 */
#include "index.h"
#include "store_sqlite.h"

#include "config/config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char **items;
    size_t n, cap;
} str_list;

typedef struct {
    str_list files;          /* canonical paths of the files found */
    str_list unread;         /* canonical paths the walk could not read */
    const rag_indexer_events *events;
    size_t n_failed;
    int oom;
} file_list;

/* Append s (taken: freed on failure). */
static int list_take(str_list *l, char *s)
{
    if (!s)
        return RAG_ENOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **ni = rag_realloc(l->items, cap * sizeof *ni);
        if (!ni) {
            rag_free(s);
            return RAG_ENOMEM;
        }
        l->items = ni;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return RAG_OK;
}

static void list_fini(str_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        rag_free(l->items[i]);
    rag_free(l->items);
    memset(l, 0, sizeof *l);
}

/* realpath(path); when path itself cannot be resolved (gone, unreadable),
 * its parent's real path + "/" + its last component, so it still compares
 * with the canonical paths stored in the index. NULL only on OOM. */
static char *canonical(const char *path)
{
    char *rp = realpath(path, NULL), *out, *parent, *slash;
    size_t n = strlen(path);

    if (rp) {
        out = rag_strdup(rp);
        free(rp);
        return out;
    }
    while (n > 1 && path[n - 1] == '/')
        n--;
    parent = rag_strndup(path, n);
    if (!parent)
        return NULL;
    slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        rp = realpath(slash == parent ? "/" : parent, NULL);
        out = rp ? rag_asprintf("%s/%s", strcmp(rp, "/") ? rp : "", slash + 1)
                 : rag_strdup(path);
    } else {
        rp = realpath(".", NULL);
        out = rp ? rag_asprintf("%s/%s", strcmp(rp, "/") ? rp : "", parent)
                 : rag_strdup(path);
    }
    free(rp);
    rag_free(parent);
    return out;
}

static int collect(void *ctx, const char *path)
{
    file_list *fl = ctx;
    return list_take(&fl->files, canonical(path));
}

/* What the walk could not read (a folder, an entry it could not stat, a
 * folder past the depth limit) is remembered: documents under it were not
 * checked and must not be taken for deleted. */
static void walk_error(void *ctx, const char *path, const rag_err *err)
{
    file_list *fl = ctx;
    fl->n_failed++;
    if ((err->code == RAG_EIO || err->code == RAG_ELIMIT) &&
        list_take(&fl->unread, canonical(path)) < 0)
        fl->oom = 1;
    if (fl->events && fl->events->on_error)
        fl->events->on_error(fl->events->ctx, path, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void report_error(const rag_indexer_events *ev, const char *path,
                         const rag_err *err)
{
    if (ev && ev->on_error)
        ev->on_error(ev->ctx, path, err);
}

/* 1 if path lies under root (a folder) or is root. */
static int under_root(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (strncmp(path, root, n) != 0)
        return 0;
    return path[n] == '\0' || path[n] == '/' || (n > 0 && root[n - 1] == '/');
}

/* 1 if path is one of the listed paths or lies under one. */
static int under_any(const char *path, const str_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (under_root(path, l->items[i]))
            return 1;
    return 0;
}

typedef enum { PATH_PRESENT, PATH_GONE, PATH_UNCHECKED } path_state;

/* Is the stored document path p (canonical when stored) still a document
 * of its own? PATH_UNCHECKED leaves the reason in errno. */
static path_state probe(const char *p)
{
    struct stat sb;
    char *up, *cut, *rp;
    path_state st;
    int e;

    if (lstat(p, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            return PATH_GONE;   /* now a folder, a symlink or a special file */
        rp = realpath(p, NULL);
        if (!rp)
            return PATH_UNCHECKED;
        st = strcmp(rp, p) == 0 ? PATH_PRESENT : PATH_GONE; /* via a symlink now */
        free(rp);
        return st;
    }
    if (errno != ENOENT && errno != ENOTDIR)
        return PATH_UNCHECKED;   /* EACCES, EIO, ESTALE, ENOTCONN, ... */
    /* Really gone, if the nearest existing folder above it can be read. */
    up = rag_strdup(p);
    if (!up) {
        errno = ENOMEM;
        return PATH_UNCHECKED;
    }
    st = PATH_UNCHECKED;
    while ((cut = strrchr(up, '/')) != NULL) {
        DIR *d;
        if (cut == up)
            cut[1] = '\0';   /* "/" */
        else
            *cut = '\0';
        if (lstat(up, &sb) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                if (cut == up)
                    break;
                continue;
            }
            break;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (cut == up)
                break;
            continue;   /* a file where a folder was: look above it */
        }
        d = opendir(up);
        if (d) {
            closedir(d);
            st = PATH_GONE;
        }
        break;
    }
    e = errno;
    rag_free(up);
    errno = e;
    return st;
}

static void report_kept(const rag_indexer_events *ev, const char *path,
                        const char *why)
{
    rag_err e;
    rag_fail(&e, RAG_EIO, "%s: kept in the index: %s", path, why);
    if (ev && ev->on_error)
        ev->on_error(ev->ctx, path, &e);
}

static int remove_vanished(rag_index *ix, const file_list *fl, const str_list *roots,
                           const rag_indexer_events *ev, rag_indexer_report *rep,
                           rag_err *err)
{
    sqlite3_stmt *st;
    str_list gone = {0};
    int rc = RAG_OK, step;

    if (sqlite3_prepare_v2(rag_index_db(ix), "SELECT path FROM documents", -1, &st,
                           NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: %s", rag_index_path(ix),
                        sqlite3_errmsg(rag_index_db(ix)));
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *key = p;
        char why[160];
        if (!p || !under_any(p, roots) ||
            (fl->files.n > 0 && bsearch(&key, fl->files.items, fl->files.n,
                                        sizeof *fl->files.items, cmp_str)))
            continue;
        if (under_any(p, &fl->unread)) {
            rep->n_failed++;
            report_kept(ev, p, "not checked, as its folder could not be read");
            continue;
        }
        switch (probe(p)) {
        case PATH_PRESENT:
            continue;   /* still there, just not indexable now: keep it */
        case PATH_UNCHECKED:
            snprintf(why, sizeof why, "cannot check whether it still exists: %s",
                     strerror(errno));
            rep->n_failed++;
            report_kept(ev, p, why);
            continue;
        case PATH_GONE:
            break;
        }
        if ((rc = list_take(&gone, rag_strdup(p))) < 0)
            break;
    }
    if (rc == RAG_OK && step != SQLITE_DONE)
        rc = rag_fail(err, RAG_EIO, "%s: %s", rag_index_path(ix),
                      sqlite3_errmsg(rag_index_db(ix)));
    sqlite3_finalize(st);
    for (size_t i = 0; i < gone.n && rc == RAG_OK; i++) {
        int r = rag_index_remove_doc(ix, gone.items[i], err);
        if (r < 0)
            rc = r;
        else if (r > 0)
            rep->n_removed++;
    }
    list_fini(&gone);
    if (rc == RAG_ENOMEM)
        return rag_fail(err, rc, "out of memory removing vanished files");
    return rc;
}

/* Index one file if changed. Returns <0 only for database errors; a
 * file-level failure is reported and counted. */
static int index_one(rag_index *ix, const char *path, const rag_indexer_opts *opts,
                     const rag_indexer_events *ev, rag_indexer_report *rep,
                     const char **action, rag_err *err)
{
    char sha[65], old_sha[65];
    rag_err ferr = {0};
    rag_doc *doc = NULL;
    rag_chunks *chunks = NULL;
    struct stat sb;
    double t0;
    int found, rc, meta_rev = 0;

    *action = "failed";
    if (stat(path, &sb) != 0 || rag_sha256_file(path, sha, &ferr) < 0) {
        if (!ferr.msg[0])
            rag_fail(&ferr, RAG_EIO, "%s: cannot read", path);
        goto file_failed;
    }
    found = rag_index_doc_state(ix, path, old_sha, &meta_rev, err);
    if (found < 0)
        return found;
    /* an unchanged file whose title/version an older revision read (or an
     * index upgraded from schema 1) is read again, as a changed one */
    if (found && strcmp(old_sha, sha) == 0 && meta_rev >= RAG_DOC_META_REV) {
        rep->n_unchanged++;
        *action = "unchanged";
        return RAG_OK;
    }
    t0 = rag_now_ms();
    if (rag_extract_file(&doc, path, &opts->extract, &ferr) < 0)
        goto file_failed;
    if (rag_chunker_split(&chunks, doc, &opts->chunk, &ferr) < 0) {
        rag_err_prefix(&ferr, "%s", path);
        goto file_failed;
    }
    /* The budget covers extraction (checked as it goes) and chunking. */
    if (opts->extract.max_seconds > 0 &&
        rag_now_ms() - t0 > opts->extract.max_seconds * 1000.0) {
        rag_fail(&ferr, RAG_ELIMIT, "%s: not extracted and chunked within %g s, the "
                 "per-file time limit (ingest.max_file_seconds)", path,
                 opts->extract.max_seconds);
        goto file_failed;
    }
    {
        rag_doc_meta meta = {path, sha, (int64_t)sb.st_mtime, (int64_t)sb.st_size};
        rc = rag_index_put_doc(ix, &meta, doc, chunks, err);
    }
    if (rc < 0) {
        rag_chunks_destroy(chunks);
        rag_doc_destroy(doc);
        return rc;
    }
    rep->n_chunks += chunks->n;
    rep->n_pages += doc->n_pages;
    if (found) {
        rep->n_updated++;
        *action = "updated";
    } else {
        rep->n_added++;
        *action = "added";
    }
    rag_chunks_destroy(chunks);
    rag_doc_destroy(doc);
    return RAG_OK;

file_failed:
    rag_chunks_destroy(chunks);
    rag_doc_destroy(doc);
    rep->n_failed++;
    if (ferr.code == RAG_ENOMEM)
        return rag_fail(err, RAG_ENOMEM, "%s", ferr.msg);
    report_error(ev, path, &ferr);
    return RAG_OK;
}

int rag_indexer_run(rag_index *ix, const char *const *paths, size_t n_paths,
                    const rag_indexer_opts *opts, const rag_indexer_events *ev,
                    rag_indexer_report *rep, rag_err *err)
{
    file_list fl = {0};
    str_list roots = {0};
    double t0 = rag_now_ms();
    int rc = RAG_OK;

    memset(rep, 0, sizeof *rep);
    fl.events = ev;
    rc = rag_walk(paths, n_paths, collect, walk_error, &fl);
    if (rc < 0 || fl.oom) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory listing files");
        goto done;
    }
    /* Sort, then drop duplicates (the same file reached twice, e.g. via a
     * symlink). An empty walk leaves the list NULL, which qsort and bsearch
     * must not be given, even with a count of 0. */
    if (fl.files.n > 1) {
        char **f = fl.files.items;
        size_t w = 1;
        qsort(f, fl.files.n, sizeof *f, cmp_str);
        for (size_t r = 1; r < fl.files.n; r++) {
            if (strcmp(f[r], f[w - 1]) == 0)
                rag_free(f[r]);
            else
                f[w++] = f[r];
        }
        fl.files.n = w;
    }
    rep->n_seen = fl.files.n;
    rep->n_failed = fl.n_failed;
    for (size_t i = 0; i < fl.files.n; i++) {
        const char *action;
        rc = index_one(ix, fl.files.items[i], opts, ev, rep, &action, err);
        if (rc < 0)
            goto done;
        if (ev && ev->on_file)
            ev->on_file(ev->ctx, fl.files.items[i], action, i + 1, fl.files.n);
    }
    if (opts->remove_vanished) {
        for (size_t i = 0; i < n_paths && rc == RAG_OK; i++) {
            struct stat sb;
            char *root = canonical(paths[i]);
            /* A root that is not there (an unmounted disk, a typo) is
             * reported by the walk; it removes nothing. */
            if (root && stat(paths[i], &sb) != 0 &&
                (rc = list_take(&fl.unread, rag_strdup(root))) < 0) {
                rag_free(root);
                break;
            }
            rc = list_take(&roots, root);
        }
        if (rc < 0) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            goto done;
        }
        rc = remove_vanished(ix, &fl, &roots, ev, rep, err);
    }
    /* Each file wrote a postings segment; merge once they pile up so a
     * query reads one or a few blobs per term. */
    if (rc == RAG_OK && rag_index_segments(ix) > 16)
        rc = rag_index_optimize(ix, err);
done:
    list_fini(&roots);
    list_fini(&fl.files);
    list_fini(&fl.unread);
    rep->seconds = (rag_now_ms() - t0) / 1e3;
    return rc;
}

rag_indexer_opts rag_indexer_opts_from_config(const rag_config *cfg)
{
    rag_indexer_opts o;
    memset(&o, 0, sizeof o);
    o.extract = rag_extract_default_opts();
    o.extract.max_file_bytes = (size_t)cfg->ingest_max_file_mb << 20;
    o.extract.max_text_bytes = (size_t)cfg->ingest_max_text_mb << 20;
    /* Markdown, HTML and text files are read whole and become about as much
     * text as they hold: ingest.max_text_mb caps them too (rag_extract_file
     * also applies max_file_bytes when that is lower). */
    o.extract.max_text_file_bytes = (size_t)cfg->ingest_max_text_mb << 20;
    o.extract.strip_headers = cfg->ingest_strip_headers;
    o.extract.max_seconds = cfg->ingest_max_file_seconds;
    o.chunk = rag_chunk_default_opts();
    o.chunk.target_tokens = cfg->chunk_target_tokens;
    o.chunk.max_tokens = cfg->chunk_max_tokens;
    o.chunk.overlap_tokens = cfg->chunk_overlap_tokens;
    o.remove_vanished = 1;
    return o;
}
