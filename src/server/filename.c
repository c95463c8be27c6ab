/* filename.c - turn a client's file name into one safe to store.
 *
 * Only the last component survives: both '/' and '\' count as separators,
 * because browsers on Windows (and scripts) send "C:\Users\x\report.pdf".
 * What remains must be something a directory listing, a log line and a
 * JSON field can hold without surprises: valid UTF-8, no control
 * characters, no bidirectional overrides that make "fdp.exe" read as
 * "exe.pdf", and not a name the file system gives a meaning ("." and "..").
 */
#include "http_parse_int.h"

#include <string.h>

static int is_unsafe_cp(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int rag_safe_filename(char *out, size_t n_out, const char *name, rag_err *err)
{
    const char *base;
    char q[64];
    size_t n, i;

    if (n_out)
        out[0] = '\0';
    if (!name)
        return rag_fail(err, RAG_EINVAL, "filename: none given");
    base = name;
    for (const char *p = name; *p; p++) {
        if (*p == '/' || *p == '\\')
            base = p + 1;
    }
    n = strlen(base);
    rag_hp_quote(q, sizeof q, name, strlen(name));
    if (n == 0)
        return rag_fail(err, RAG_EFORMAT,
                        name[0] ? "filename '%s' has no name after its last '/' or '\\'"
                                : "filename '%s' is empty",
                        q);
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return rag_fail(err, RAG_EFORMAT, "filename '%s' ends in '%s', not a file name", q,
                        base);
    if (n > RAG_FILENAME_MAX)
        return rag_fail(err, RAG_ELIMIT, "filename '%s' is longer than %d bytes", q,
                        RAG_FILENAME_MAX);
    for (i = 0; i < n;) {
        uint32_t cp;
        size_t k = rag_utf8_decode((const unsigned char *)base + i, n - i, &cp);
        if (k == 0)
            return rag_fail(err, RAG_EFORMAT,
                            "filename '%s' is not valid UTF-8 (at byte %zu of its last "
                            "component)",
                            q, i);
        if (is_unsafe_cp(cp))
            return rag_fail(err, RAG_EFORMAT, "filename '%s' has control character U+%04X",
                            q, (unsigned)cp);
        i += k;
    }
    if (n + 1 > n_out)
        return rag_fail(err, RAG_ELIMIT, "filename '%s' does not fit in %zu bytes", q, n_out);
    memcpy(out, base, n + 1);
    return RAG_OK;
}
