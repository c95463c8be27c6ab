/* test_support.c - see test_support.h. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *env_path(const char *var, const char *fallback, const char *rel)
{
    const char *base = getenv(var);
    if (!base || !*base)
        base = fallback;
    return rag_asprintf("%s/%s", base, rel);
}

char *ts_shared_path(const char *rel)
{
    char *p = env_path("DOCRAG_SHARED", "../shared", rel);
    if (p && access(p, R_OK) != 0) {
        fprintf(stderr, "shared data missing: %s (set DOCRAG_SHARED)\n", p);
        rag_free(p);
        return NULL;
    }
    return p;
}

char *ts_src_path(const char *rel)
{
    return env_path("DOCRAG_SRC", ".", rel);
}

char *ts_tmpdir(const char *tag)
{
    char *p = env_path("DOCRAG_TESTS_TMP", "/tmp", "");
    char *dir = rag_asprintf("%s%s-%ld-XXXXXX", p, tag, (long)getpid());
    rag_free(p);
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

void ts_write_file(const char *path, const void *data, size_t n_bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n_bytes, f), n_bytes);
    assert_int_equal(fclose(f), 0);
}

static long fail_after = -1;
static long n_allocs;

static void *fi_malloc(size_t n)
{
    if (fail_after >= 0 && n_allocs++ >= fail_after)
        return NULL;
    return malloc(n);
}

static void *fi_realloc(void *p, size_t n)
{
    if (fail_after >= 0 && n_allocs++ >= fail_after)
        return NULL;
    return realloc(p, n);
}

void ts_fail_alloc_after(long n)
{
    static const rag_alloc_hooks hooks = {fi_malloc, fi_realloc, free};
    n_allocs = 0;
    fail_after = n;
    rag_alloc_set_hooks(n >= 0 ? &hooks : NULL);
}

long ts_alloc_count(void)
{
    return n_allocs;
}

void ts_put_doc(rag_index *ix, const char *path, const rag_chunk *chunks, size_t n,
                int n_pages)
{
    rag_page_span pg[64];
    rag_chunks cs = {(rag_chunk *)(uintptr_t)chunks, n, NULL};
    rag_doc_meta m = {path, "x", 0, 0};
    rag_doc d;
    rag_err err = {0};

    assert_true(n_pages >= 1 && n_pages <= 64);
    memset(&d, 0, sizeof d);
    d.path = (char *)(uintptr_t)path;
    d.title = "Manual";
    d.kind = RAG_DOC_TEXT;
    d.text = "";
    for (int i = 0; i < n_pages; i++)
        pg[i] = (rag_page_span){i + 1, 0, 0};
    d.pages = pg;
    d.n_pages = (size_t)n_pages;
    if (rag_index_put_doc(ix, &m, &d, &cs, &err) != RAG_OK)
        fail_msg("put %s: %s", path, err.msg);
}
