/* ndjson.c - incremental newline-delimited JSON splitter.
 *
 * Byte layout: value "\n" value "\n" ... ; a "\r" before "\n" is dropped and
 * blank lines are skipped. Lines split across feeds are buffered (capped).
 * This file only frames lines; the caller parses each one.
 */
#include "net.h"

#include <string.h>

struct rag_ndjson {
    rag_buf line;
    size_t max_line_bytes;
    int stopped;
    rag_ndjson_fn fn;
    void *userdata;
};

int rag_ndjson_create(rag_ndjson **out, size_t max_line_bytes,
                      rag_ndjson_fn fn, void *userdata)
{
    rag_ndjson *p = rag_calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return RAG_ENOMEM;
    p->max_line_bytes = max_line_bytes ? max_line_bytes : (1u << 20);
    p->line.max_len = p->max_line_bytes;
    p->fn = fn;
    p->userdata = userdata;
    *out = p;
    return RAG_OK;
}

void rag_ndjson_destroy(rag_ndjson *p)
{
    if (!p)
        return;
    rag_buf_fini(&p->line);
    rag_free(p);
}

static int emit(rag_ndjson *p, const char *s, size_t n)
{
    if (n && s[n - 1] == '\r')
        n--;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    if (n == 0)
        return RAG_OK;
    if (p->fn(s, n, p->userdata)) {
        p->stopped = 1;
        return RAG_EBACKEND;
    }
    return RAG_OK;
}

int rag_ndjson_feed(rag_ndjson *p, const char *data, size_t n_bytes)
{
    size_t i = 0;
    int rc;

    if (p->stopped)
        return RAG_EBACKEND;
    while (i < n_bytes) {
        const char *nl = memchr(data + i, '\n', n_bytes - i);
        size_t j = nl ? (size_t)(nl - data) : n_bytes;
        if (!nl)
            return rag_buf_append(&p->line, data + i, j - i);
        if (p->line.len) {
            if ((rc = rag_buf_append(&p->line, data + i, j - i)) < 0)
                return rc;
            rc = emit(p, p->line.data, p->line.len);
            rag_buf_clear(&p->line);
        } else {
            if (j - i > p->max_line_bytes)
                return RAG_ELIMIT;
            rc = emit(p, data + i, j - i);
        }
        if (rc < 0)
            return rc;
        i = j + 1;
    }
    return RAG_OK;
}

int rag_ndjson_finish(rag_ndjson *p)
{
    int rc = RAG_OK;
    if (p->stopped)
        return RAG_EBACKEND;
    if (p->line.len)
        rc = emit(p, p->line.data, p->line.len);
    rag_buf_clear(&p->line);
    return rc;
}
