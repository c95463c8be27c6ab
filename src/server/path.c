/* path.c - URI paths split into decoded segments for routing.
 *
 *   path    = 1*( "/" segment ) [ "/" ]  |  "/"
 *   segment = 1*( pchar / pct-encoded )   (RFC 3986 §3.3; '+' is literal)
 *
 * Checks run on the decoded segment, so "%2e%2e" is refused like "..", and a
 * '/' that only appears after decoding (%2F) is refused too: a router and a
 * file lookup must never disagree about how many segments a path has.
 * One allocation holds the handle, the segment table and the decoded text.
 */
#include "http_parse_int.h"

#include <string.h>

enum {
    DEFAULT_MAX_PATH_BYTES = 1024,
    DEFAULT_MAX_SEGMENTS = 16,
};

static int check_segment(const char *seg, size_t n, size_t seg_no, rag_err *err)
{
    char q[64];
    if (memchr(seg, '/', n))
        return rag_fail(err, RAG_EFORMAT, "path: segment %zu has an encoded '/' (%%2F)",
                        seg_no);
    if (memchr(seg, '\0', n))
        return rag_fail(err, RAG_EFORMAT, "path: segment %zu contains a NUL byte (%%00)",
                        seg_no);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)seg[i];
        if (c < 0x20 || c == 0x7f)
            return rag_fail(err, RAG_EFORMAT, "path: segment %zu has control character 0x%02x",
                            seg_no, c);
    }
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
        return rag_fail(err, RAG_EFORMAT, "path: segment %zu is '%.*s'", seg_no, (int)n, seg);
    if (!rag_utf8_valid(seg, n)) {
        rag_hp_quote(q, sizeof q, seg, n);
        return rag_fail(err, RAG_EFORMAT,
                        "path: segment %zu '%s' is not valid UTF-8 after decoding", seg_no, q);
    }
    return RAG_OK;
}

int rag_path_split(rag_path **out, const char *path, const rag_path_limits *limits,
                   rag_err *err)
{
    rag_path_limits lim = limits ? *limits : (rag_path_limits){0};
    size_t n, n_segs = 0, bytes, i;
    rag_path *p;
    char *t;

    *out = NULL;
    if (!lim.max_path_bytes)
        lim.max_path_bytes = DEFAULT_MAX_PATH_BYTES;
    if (!lim.max_segments)
        lim.max_segments = DEFAULT_MAX_SEGMENTS;
    if (!path)
        return rag_fail(err, RAG_EINVAL, "path: none given");
    /* one byte past the limit tells "too long" without reading further */
    n = strnlen(path, lim.max_path_bytes < PTRDIFF_MAX ? lim.max_path_bytes + 1
                                                       : (size_t)PTRDIFF_MAX);
    if (n > lim.max_path_bytes)
        return rag_fail(err, RAG_ELIMIT, "path: longer than %zu bytes", lim.max_path_bytes);
    if (path[0] != '/')
        return rag_fail(err, RAG_EFORMAT, "path: does not start with '/'");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f)
            return rag_fail(err, RAG_EFORMAT, "path: control character 0x%02x at byte %zu", c,
                            i);
        if (c == '?' || c == '#')
            return rag_fail(err, RAG_EFORMAT,
                            "path: '%c' at byte %zu (pass the path without query or fragment)",
                            c, i);
        if (c == '/' && i + 1 < n) {
            if (path[i + 1] == '/')
                return rag_fail(err, RAG_EFORMAT, "path: empty segment at byte %zu ('//')",
                                i + 1);
            n_segs++;
        }
    }
    if (n_segs > lim.max_segments)
        return rag_fail(err, RAG_ELIMIT, "path: more than %zu segments", lim.max_segments);

    /* decoded text never outgrows the raw one; each segment gets a NUL */
    if (rag_size_mul(n_segs, sizeof(char *) + 1, &bytes) < 0 ||
        rag_size_add(bytes, sizeof *p + n, &bytes) < 0)
        return rag_fail(err, RAG_ELIMIT, "path: too large");
    p = rag_malloc(bytes);
    if (!p)
        return rag_fail(err, RAG_ENOMEM, "path: out of memory");
    p->segs = (char **)(p + 1);
    p->n_segs = n_segs;
    p->trailing_slash = n > 1 && path[n - 1] == '/';
    t = (char *)(p->segs + n_segs);

    i = 1;
    for (size_t s = 0; s < n_segs; s++) {
        size_t end = i, n_dec, bad_at;
        int rc;
        while (end < n && path[end] != '/')
            end++;
        if (rag_hp_pct_decode(t, &n_dec, path + i, end - i, 0, &bad_at) < 0) {
            char q[64];
            size_t show = end - i - bad_at < 3 ? end - i - bad_at : 3;
            rag_hp_quote(q, sizeof q, path + i + bad_at, show);
            rag_free(p);
            return rag_fail(err, RAG_EFORMAT, "path: invalid percent escape '%s' at byte %zu",
                            q, i + bad_at);
        }
        rc = check_segment(t, n_dec, s + 1, err);
        if (rc < 0) {
            rag_free(p);
            return rc;
        }
        t[n_dec] = '\0';
        p->segs[s] = t;
        t += n_dec + 1;
        i = end + 1;
    }
    *out = p;
    return RAG_OK;
}

void rag_path_destroy(rag_path *p)
{
    rag_free(p);
}

/* One pass over the pattern; writes captures only when `write`. */
static int match(const rag_path *p, const char *pattern, rag_span *caps, size_t n_caps,
                 int write)
{
    const char *s = pattern;
    size_t seg = 0, n_cap = 0;
    int trailing = 0;

    if (!pattern || pattern[0] != '/')
        return 0;
    s++;
    while (*s) {
        const char *end = strchr(s, '/');
        size_t n_pat = end ? (size_t)(end - s) : strlen(s);
        const char *v;
        size_t n_v;

        if (seg >= p->n_segs)
            return 0;
        v = p->segs[seg];
        n_v = strlen(v);
        if (n_pat >= 2 && s[0] == '{' && memchr(s, '}', n_pat)) {
            const char *close = memchr(s, '}', n_pat);
            const char *suffix = close + 1;
            size_t n_suffix = (size_t)(s + n_pat - suffix);
            if (n_v <= n_suffix || memcmp(v + n_v - n_suffix, suffix, n_suffix) != 0)
                return 0;
            if (n_cap >= n_caps)
                return 0;
            if (write) {
                caps[n_cap].s = v;
                caps[n_cap].n = n_v - n_suffix;
            }
            n_cap++;
        } else if (n_pat != n_v || memcmp(s, v, n_v) != 0) {
            return 0;
        }
        seg++;
        if (!end)
            break;
        s = end + 1;
        if (!*s)
            trailing = 1;
    }
    return seg == p->n_segs && trailing == p->trailing_slash;
}

int rag_path_match(const rag_path *p, const char *pattern, rag_span *caps, size_t n_caps)
{
    if (!p || !match(p, pattern, caps, n_caps, 0))
        return 0;
    return match(p, pattern, caps, n_caps, 1);
}

int rag_parse_id(rag_span s, int64_t *out, rag_err *err)
{
    char q[64];
    int64_t x = 0;

    rag_hp_quote(q, sizeof q, s.s ? s.s : "", s.s ? s.n : 0);
    if (!s.s || s.n == 0)
        return rag_fail(err, RAG_EFORMAT, "id is empty");
    for (size_t i = 0; i < s.n; i++) {
        if (s.s[i] < '0' || s.s[i] > '9')
            return rag_fail(err, RAG_EFORMAT, "id '%s' is not a positive decimal number", q);
    }
    if (s.s[0] == '0')
        return rag_fail(err, RAG_EFORMAT,
                        s.n == 1 ? "id '%s' is not a positive decimal number"
                                 : "id '%s' has a leading zero",
                        q);
    for (size_t i = 0; i < s.n; i++) {
        int d = s.s[i] - '0';
        if (x > (INT64_MAX - d) / 10)
            return rag_fail(err, RAG_ELIMIT, "id '%s' is larger than %lld", q,
                            (long long)INT64_MAX);
        x = x * 10 + d;
    }
    *out = x;
    return RAG_OK;
}
