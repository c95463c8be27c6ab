/* fuzz_ndjson.c - the NDJSON splitter (and jansson on each line, as the
 * client does) on arbitrary bytes; chunking must not change the lines. */
#include "net/net.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int collect(const char *line, size_t n, void *ud)
{
    rag_buf *b = ud;
    json_t *j = json_loadb(line, n, JSON_DECODE_ANY, NULL);
    if (j)
        json_decref(j);
    rag_buf_printf(b, "%zu:", n);
    rag_buf_append(b, line, n);
    rag_buf_putc(b, '\n');
    return 0;
}

static int run(const uint8_t *data, size_t size, size_t cut, rag_buf *out)
{
    rag_ndjson *p;
    int rc;
    if (rag_ndjson_create(&p, 256, collect, out) < 0)
        return -100;
    rc = rag_ndjson_feed(p, (const char *)data, cut);
    if (rc == 0)
        rc = rag_ndjson_feed(p, (const char *)data + cut, size - cut);
    if (rc == 0)
        rc = rag_ndjson_finish(p);
    rag_ndjson_destroy(p);
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
    if (ra == 0 && rb == 0 &&
        (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)))
        abort();
    rag_buf_fini(&a);
    rag_buf_fini(&b);
    return 0;
}
