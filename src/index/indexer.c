/* indexer.c - incremental indexing: walk, hash, extract, chunk, store.
 *
 * The walk collects the file list first, so progress can show n of N.
 * Every file is its own transaction: a crash (even kill -9) between two
 * files leaves every file either at its old or at its new state. A file
 * that fails to extract keeps its last indexed version. Each transaction
 * adds one BM25 postings segment; past 16 segments the run ends with a
 * merge (rag_index_optimize).
 */
#include "index.h"

#include "config/config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char **paths;
    size_t n, cap;
    const rag_indexer_events *events;
    size_t n_failed;
} file_list;

static int collect(void *ctx, const char *path)
{
    file_list *fl = ctx;
    char *p;
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 64;
        char **np = rag_realloc(fl->paths, cap * sizeof *np);
        if (!np)
            return RAG_ENOMEM;
        fl->paths = np;
        fl->cap = cap;
    }
    p = realpath(path, NULL);
    if (!p)
        p = strdup(path);
    if (!p)
        return RAG_ENOMEM;
    fl->paths[fl->n] = rag_strdup(p);
    free(p);
    if (!fl->paths[fl->n])
        return RAG_ENOMEM;
    fl->n++;
    return RAG_OK;
}

static void walk_error(void *ctx, const char *path, const rag_err *err)
{
    file_list *fl = ctx;
    fl->n_failed++;
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

static int remove_vanished(rag_index *ix, const file_list *fl, char **roots,
                           size_t n_roots, rag_indexer_report *rep, rag_err *err)
{
    sqlite3_stmt *st;
    char **gone = NULL;
    size_t n_gone = 0, cap = 0;
    int rc = RAG_OK;

    if (sqlite3_prepare_v2(rag_index_db(ix), "SELECT path FROM documents", -1, &st,
                           NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: %s", rag_index_path(ix),
                        sqlite3_errmsg(rag_index_db(ix)));
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *key = p;
        struct stat sb;
        int in_roots = 0;
        if (!p)
            continue;
        for (size_t i = 0; i < n_roots && !in_roots; i++)
            in_roots = under_root(p, roots[i]);
        if (!in_roots ||
            (fl->n > 0 && bsearch(&key, fl->paths, fl->n, sizeof *fl->paths, cmp_str)))
            continue;
        if (lstat(p, &sb) == 0)
            continue; /* still there, just not indexable now: keep it */
        if (n_gone == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **ng = rag_realloc(gone, nc * sizeof *ng);
            if (!ng) {
                rc = RAG_ENOMEM;
                break;
            }
            gone = ng;
            cap = nc;
        }
        if (!(gone[n_gone] = rag_strdup(p))) {
            rc = RAG_ENOMEM;
            break;
        }
        n_gone++;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n_gone; i++) {
        if (rc == RAG_OK) {
            int r = rag_index_remove_doc(ix, gone[i], err);
            if (r < 0)
                rc = r;
            else if (r > 0)
                rep->n_removed++;
        }
        rag_free(gone[i]);
    }
    rag_free(gone);
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
    int found, rc;

    *action = "failed";
    if (stat(path, &sb) != 0 || rag_sha256_file(path, sha, &ferr) < 0) {
        if (!ferr.msg[0])
            rag_fail(&ferr, RAG_EIO, "%s: cannot read", path);
        goto file_failed;
    }
    found = rag_index_doc_sha(ix, path, old_sha, err);
    if (found < 0)
        return found;
    if (found && strcmp(old_sha, sha) == 0) {
        rep->n_unchanged++;
        *action = "unchanged";
        return RAG_OK;
    }
    if (rag_extract_file(&doc, path, &opts->extract, &ferr) < 0)
        goto file_failed;
    if (rag_chunker_split(&chunks, doc, &opts->chunk, &ferr) < 0) {
        rag_err_prefix(&ferr, "%s", path);
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
    char **roots = NULL;
    double t0 = rag_now_ms();
    int rc = RAG_OK;

    memset(rep, 0, sizeof *rep);
    fl.events = ev;
    rc = rag_walk(paths, n_paths, collect, walk_error, &fl);
    if (rc < 0) {
        rag_fail(err, rc, "out of memory listing files");
        goto done;
    }
    /* Sort, then drop duplicates (the same file reached twice, e.g. via a
     * symlink). An empty walk leaves fl.paths NULL, which qsort and bsearch
     * must not be given, even with a count of 0. */
    if (fl.n > 1) {
        size_t w = 1;
        qsort(fl.paths, fl.n, sizeof *fl.paths, cmp_str);
        for (size_t r = 1; r < fl.n; r++) {
            if (strcmp(fl.paths[r], fl.paths[w - 1]) == 0)
                rag_free(fl.paths[r]);
            else
                fl.paths[w++] = fl.paths[r];
        }
        fl.n = w;
    }
    rep->n_seen = fl.n;
    rep->n_failed = fl.n_failed;
    for (size_t i = 0; i < fl.n; i++) {
        const char *action;
        rc = index_one(ix, fl.paths[i], opts, ev, rep, &action, err);
        if (rc < 0)
            goto done;
        if (ev && ev->on_file)
            ev->on_file(ev->ctx, fl.paths[i], action, i + 1, fl.n);
    }
    if (opts->remove_vanished) {
        roots = rag_calloc(n_paths ? n_paths : 1, sizeof *roots);
        if (!roots) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n_paths; i++) {
            char *p = realpath(paths[i], NULL);
            roots[i] = rag_strdup(p ? p : paths[i]);
            free(p);
            if (!roots[i]) {
                rc = rag_fail(err, RAG_ENOMEM, "out of memory");
                goto done;
            }
        }
        rc = remove_vanished(ix, &fl, roots, n_paths, rep, err);
    }
    /* Each file wrote a postings segment; merge once they pile up so a
     * query reads one or a few blobs per term. */
    if (rc == RAG_OK && rag_index_segments(ix) > 16)
        rc = rag_index_optimize(ix, err);
done:
    for (size_t i = 0; roots && i < n_paths; i++)
        rag_free(roots[i]);
    rag_free(roots);
    for (size_t i = 0; i < fl.n; i++)
        rag_free(fl.paths[i]);
    rag_free(fl.paths);
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
    o.chunk = rag_chunk_default_opts();
    o.chunk.target_tokens = cfg->chunk_target_tokens;
    o.chunk.max_tokens = cfg->chunk_max_tokens;
    o.chunk.overlap_tokens = cfg->chunk_overlap_tokens;
    o.remove_vanished = 1;
    return o;
}
