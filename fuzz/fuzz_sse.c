/* fuzz_sse.c - the SSE parser on arbitrary bytes. The first byte picks a
 * split point so chunk boundaries are fuzzed too; the events produced must
 * not depend on how the input was chunked. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

static int collect(const char *event, const char *data, size_t n, const char *id,
                   void *ud)
{
    rag_buf *b = ud;
    rag_buf_printf(b, "%s|%zu|%s|", event, n, id ? id : "");
    rag_buf_append(b, data, n);
    rag_buf_putc(b, '\n');
    return 0;
}

static int run(const uint8_t *data, size_t size, size_t cut, rag_buf *out)
{
    rag_sse *p;
    int rc;
    if (rag_sse_create(&p, 256, collect, out) < 0)
        return -100;
    rc = rag_sse_feed(p, (const char *)data, cut);
    if (rc == 0)
        rc = rag_sse_feed(p, (const char *)data + cut, size - cut);
    if (rc == 0)
        rag_sse_finish(p);
    rag_sse_destroy(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_buf a = RAG_BUF_INIT, b = RAG_BUF_INIT;
    size_t cut;
    int ra, rb;
    if (size == 0)
        return 0;
    cut = data[0] % size;
    data++;
    size--;
    if (cut > size)
        cut = size;
    ra = run(data, size, 0, &a);
    rb = run(data, size, cut, &b);
    /* with no error, chunking must not change the events */
    if (ra == 0 && rb == 0 &&
        (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)))
        abort();
    rag_buf_fini(&a);
    rag_buf_fini(&b);
    return 0;
}
