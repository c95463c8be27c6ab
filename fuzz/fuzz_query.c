/* fuzz_query.c - query strings, and the header parsers that take one short
 * string (Accept-Encoding, API keys, constant-time compare), on arbitrary
 * bytes up to the first NUL.
 *
 * Checked: a parsed query re-encoded (every byte but unreserved ones as %XX)
 * parses back to the same parameters; lookups find every key; typed
 * helpers stay in range; a key returned by rag_auth_key lies inside its
 * header and is visible ASCII; rag_ct_equal agrees with memcmp. */
#include "server/http_parse.h"

#include <stdlib.h>
#include <string.h>

static void encode(rag_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rag_buf_putc(b, (char)c);
        } else {
            rag_buf_putc(b, '%');
            rag_buf_putc(b, hex[c >> 4]);
            rag_buf_putc(b, hex[c & 15]);
        }
    }
}

static void check_query(const char *s)
{
    rag_query *q = NULL, *q2 = NULL;
    rag_buf b = RAG_BUF_INIT;
    rag_query_limits roomy = {.max_query_bytes = 1 << 20};
    int rc = rag_query_parse(&q, s, NULL, NULL);

    if ((rc == RAG_OK) != (q != NULL))
        abort();
    if (rc != RAG_OK) {
        if (rc != RAG_EFORMAT && rc != RAG_ELIMIT)
            abort();
        return;
    }
    for (size_t i = 0; i < rag_query_count(q); i++) {
        const char *k, *v;
        long x;
        int t;
        rag_query_at(q, i, &k, &v);
        if (!k[0] || rag_query_get(q, k) != v)
            abort();
        if (i)
            rag_buf_putc(&b, '&');
        encode(&b, k);
        rag_buf_putc(&b, '=');
        encode(&b, v);
        rc = rag_query_int(q, k, -100, 100, 7, &x, NULL);
        if (rc == RAG_OK && (x < -100 || x > 100 || x != strtol(v, NULL, 10)))
            abort();
        if (rc != RAG_OK && rc != RAG_EFORMAT && rc != RAG_ELIMIT)
            abort();
        rc = rag_query_bool(q, k, 2, &t, NULL);
        if (rc == RAG_OK && t != 0 && t != 1)
            abort();
    }
    /* the same parameters come back from their re-encoding */
    rc = rag_query_parse(&q2, b.data ? b.data : "", &roomy, NULL);
    if (rc != RAG_OK || rag_query_count(q2) != rag_query_count(q))
        abort();
    for (size_t i = 0; i < rag_query_count(q); i++) {
        const char *k, *v, *k2, *v2;
        rag_query_at(q, i, &k, &v);
        rag_query_at(q2, i, &k2, &v2);
        if (strcmp(k, k2) != 0 || strcmp(v, v2) != 0)
            abort();
    }
    rag_query_destroy(q2);
    rag_query_destroy(q);
    rag_buf_fini(&b);
}

static void check_key(const char *x, const char *auth, const char *src)
{
    rag_span k;
    int rc = rag_auth_key(&k, x, auth, NULL);
    if (rc == RAG_OK) {
        if (!k.s || k.n == 0 || k.s < src || k.s + k.n > src + strlen(src))
            abort();
        for (size_t i = 0; i < k.n; i++) {
            if ((unsigned char)k.s[i] < 0x21 || (unsigned char)k.s[i] > 0x7e)
                abort();
        }
    } else if (k.s || (rc != RAG_EFORMAT && rc != RAG_ELIMIT && rc != RAG_ENOTFOUND)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    size_t n, half;
    int r;

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    n = strlen(s);

    check_query(s);
    r = rag_accepts_gzip(s);
    if (r != 0 && r != 1)
        abort();
    check_key(s, NULL, s);
    check_key(NULL, s, s);
    if (rag_ct_equal(s, n, s, n) != 1)
        abort();
    half = n / 2;
    r = half == n - half && memcmp(s, s + half, half) == 0;
    if (rag_ct_equal(s, half, s + half, n - half) != r)
        abort();
    if (n && rag_ct_equal(s, n, s, n - 1) != 0)
        abort();
    free(s);
    return 0;
}
