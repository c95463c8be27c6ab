/* buf.c - growable, NUL-terminated byte buffer with an optional cap. */
#include "core.h"

#include <stdio.h>
#include <string.h>

int rag_buf_reserve(rag_buf *b, size_t extra_bytes)
{
    size_t need, cap;
    char *p;

    if (rag_size_add(b->len, extra_bytes, &need) < 0 ||
        rag_size_add(need, 1, &need) < 0)
        return RAG_ELIMIT;
    if (b->max_len && need - 1 > b->max_len)
        return RAG_ELIMIT;
    if (need <= b->cap)
        return RAG_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = rag_realloc(b->data, cap);
    if (!p)
        return RAG_ENOMEM;
    b->data = p;
    b->cap = cap;
    return RAG_OK;
}

int rag_buf_append(rag_buf *b, const void *data, size_t n_bytes)
{
    int rc = rag_buf_reserve(b, n_bytes);
    if (rc < 0)
        return rc;
    if (n_bytes)
        memcpy(b->data + b->len, data, n_bytes);
    b->len += n_bytes;
    b->data[b->len] = '\0';
    return RAG_OK;
}

int rag_buf_puts(rag_buf *b, const char *s)
{
    return rag_buf_append(b, s, strlen(s));
}

int rag_buf_putc(rag_buf *b, char c)
{
    return rag_buf_append(b, &c, 1);
}

int rag_buf_printf(rag_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RAG_EINVAL;
    rc = rag_buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RAG_OK;
}

void rag_buf_clear(rag_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *rag_buf_take(rag_buf *b)
{
    char *d = b->data;
    if (!d)
        d = rag_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void rag_buf_fini(rag_buf *b)
{
    rag_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
