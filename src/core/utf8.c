/* utf8.c - strict UTF-8 decoding (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF) and repair of invalid input. */
#include "core.h"

#include <stdio.h>
#include <string.h>

size_t rag_utf8_decode(const unsigned char *s, size_t n_bytes, uint32_t *cp)
{
    uint32_t c;
    size_t n, i;

    if (n_bytes == 0)
        return 0;
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n_bytes < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

size_t rag_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int rag_utf8_valid(const char *s, size_t n_bytes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    uint32_t cp;

    while (i < n_bytes) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = rag_utf8_decode(p + i, n_bytes - i, &cp);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

int rag_utf8_sanitize(rag_buf *b, const char *s, size_t n_bytes,
                      size_t *n_replaced)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0, bad = 0, k;
    uint32_t cp;
    int rc;

    while (i < n_bytes) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = rag_utf8_decode(p + i, n_bytes - i, &cp);
        if (k) {
            i += k;
            continue;
        }
        rc = rag_buf_append(b, s + run, i - run);
        if (rc == RAG_OK)
            rc = rag_buf_append(b, "\xEF\xBF\xBD", 3);
        if (rc < 0)
            return rc;
        bad++;
        run = ++i;
    }
    if (n_replaced)
        *n_replaced = bad;
    return rag_buf_append(b, s + run, n_bytes - run);
}

size_t rag_utf8_floor(const char *s, size_t n_bytes)
{
    size_t i = n_bytes;
    /* Step back over continuation bytes to the lead byte, then keep the
     * sequence only if it is complete. */
    while (i > 0 && n_bytes - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)s[i - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n_bytes - (i - 1) < need)
            return i - 1;
    }
    return n_bytes;
}

/* Bytes of s[0..n) needing an escape: 0 if none, else the escape's length
 * (written to esc when non-NULL) and *n_in the bytes it stands for. */
static size_t escape_at(const unsigned char *s, size_t n, char esc[8], size_t *n_in)
{
    uint32_t cp;
    size_t k;
    char tmp[8];

    if (!esc)
        esc = tmp;
    *n_in = 1;
    if (s[0] < 0x20 || s[0] == 0x7F) {
        if (s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
            esc[0] = '\\';
            esc[1] = s[0] == '\t' ? 't' : s[0] == '\n' ? 'n' : 'r';
            esc[2] = '\0';
            return 2;
        }
        return (size_t)snprintf(esc, 8, "\\x%02x", s[0]);
    }
    if (s[0] < 0x80)
        return 0;
    k = rag_utf8_decode(s, n, &cp);
    if (k == 0)
        return (size_t)snprintf(esc, 8, "\\x%02x", s[0]);
    *n_in = k;
    if (cp >= 0x80 && cp <= 0x9F)
        return (size_t)snprintf(esc, 8, "\\u%04x", (unsigned)cp);
    return 0;
}

int rag_needs_visible(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t k;
        if (p[i] >= 0x20 && p[i] < 0x7F) {
            i++;
            continue;
        }
        if (escape_at(p + i, n - i, NULL, &k))
            return 1;
        i += k;
    }
    return 0;
}

size_t rag_visible(char *out, size_t n_out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, o = 0;

    while (i < n) {
        char esc[8];
        size_t k, e = p[i] >= 0x20 && p[i] < 0x7F ? 0 : escape_at(p + i, n - i, esc, &k);
        const char *src = e ? esc : s + i;
        size_t len = e ? e : (p[i] < 0x80 ? 1 : k);
        if (o + len + 1 > n_out)
            break;
        memcpy(out + o, src, len);
        o += len;
        i += e ? k : len;
    }
    out[o] = '\0';
    return o;
}
