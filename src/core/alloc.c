/* alloc.c - allocation behind hooks, so tests can fail allocation N. */
#include "core.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rag_alloc_hooks hooks = {malloc, realloc, free};

void rag_alloc_set_hooks(const rag_alloc_hooks *h)
{
    if (h)
        hooks = *h;
    else
        hooks = (rag_alloc_hooks){malloc, realloc, free};
}

void rag_alloc_tune_process(void)
{
#ifdef __GLIBC__
    /* A fixed mmap threshold keeps big buffers out of the heaps, so they go
     * back to the system when freed (whole-process RSS, bench/hybrid.sh).
     * Setting it also freezes glibc's trim threshold at 128 KB: every query
     * that freed a few hundred KB at the top of a thread's heap gave them
     * back (madvise) and faulted them in again on the next one, a third of
     * the throughput of a search-serving thread (bench/serve.sh). 4 MB of
     * free top per heap is kept. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
#endif
}

void *rag_malloc(size_t n_bytes)
{
    return hooks.malloc_fn(n_bytes ? n_bytes : 1);
}

void *rag_calloc(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (rag_size_mul(n, size, &total) < 0)
        return NULL;
    p = rag_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *rag_realloc(void *p, size_t n_bytes)
{
    return hooks.realloc_fn(p, n_bytes ? n_bytes : 1);
}

void rag_free(void *p)
{
    if (p)
        hooks.free_fn(p);
}

char *rag_strndup(const char *s, size_t n_bytes)
{
    char *d = rag_malloc(n_bytes + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n_bytes);
    d[n_bytes] = '\0';
    return d;
}

char *rag_strdup(const char *s)
{
    return s ? rag_strndup(s, strlen(s)) : NULL;
}

char *rag_asprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    s = rag_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
