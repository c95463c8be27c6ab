/* file.c - whole-file reads with a size cap, and the monotonic clock. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int rag_read_file(rag_buf *b, const char *path, size_t max_bytes, rag_err *err)
{
    struct stat st;
    FILE *f;
    size_t got;
    int rc;

    f = fopen(path, "rb");
    if (!f)
        return rag_fail(err, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO,
                        "%s: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        if (max_bytes && (uint64_t)st.st_size > max_bytes) {
            fclose(f);
            return rag_fail(err, RAG_ELIMIT,
                            "%s: file is %lld bytes, over the %zu-byte limit",
                            path, (long long)st.st_size, max_bytes);
        }
        rc = rag_buf_reserve(b, (size_t)st.st_size);
        if (rc < 0) {
            fclose(f);
            return rag_fail(err, rc, "%s: out of memory reading", path);
        }
    }
    for (;;) {
        rc = rag_buf_reserve(b, 1 << 16);
        if (rc < 0) {
            fclose(f);
            return rag_fail(err, rc, "%s: out of memory reading", path);
        }
        got = fread(b->data + b->len, 1, b->cap - b->len - 1, f);
        b->len += got;
        b->data[b->len] = '\0';
        if (max_bytes && b->len > max_bytes) {
            fclose(f);
            return rag_fail(err, RAG_ELIMIT, "%s: over the %zu-byte limit",
                            path, max_bytes);
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fclose(f);
        return rag_fail(err, RAG_EIO, "%s: read error", path);
    }
    fclose(f);
    return RAG_OK;
}

double rag_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
