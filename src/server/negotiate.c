/* negotiate.c - which part and which form of a representation the client
 * asked for: the Range header (RFC 9110 §14.1-14.2) and gzip in
 * Accept-Encoding (§12.5.3).
 *
 *   Range           = range-unit "=" range-set       ("bytes" only)
 *   range-set       = 1#( first "-" [ last ] / "-" suffix )
 *   Accept-Encoding = #( coding *( OWS ";" OWS param ) )   q = 0 .. 1.000
 *
 * Only a single byte range is served. Several ranges would need a
 * multipart/byteranges answer; RFC 9110 lets a server send the whole
 * representation instead, so that is reported as "unsupported" (200), unless
 * none of them is satisfiable (416).
 */
#include "http_parse_int.h"

#include <string.h>

static void skip_ows(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* Digits at *p, saturating at UINT64_MAX; 0 if there are none. */
static int digits(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
        s++;
    }
    if (s == *p)
        return 0;
    *p = s;
    *v = x;
    return 1;
}

int rag_range_parse(rag_range *out, const char *header, uint64_t size, rag_err *err)
{
    const char *p = header, *unit;
    size_t n_specs = 0, n_sat = 0;
    uint64_t sat_first = 0, sat_last = 0;
    int empty_ok = 0; /* a suffix range of an empty representation */

    out->kind = RAG_RANGE_NONE;
    out->first = out->last = 0;
    if (!header)
        return RAG_OK;
    skip_ows(&p);
    unit = p;
    while (rag_hp_is_tchar((unsigned char)*p))
        p++;
    if (p == unit || *p != '=')
        return rag_fail(err, RAG_EFORMAT, "range: expected 'bytes=' at byte %zu",
                        (size_t)(p - header));
    if (!rag_hp_ieq(unit, (size_t)(p - unit), "bytes")) {
        out->kind = RAG_RANGE_UNSUPPORTED;
        return RAG_OK;
    }
    p++;
    for (;;) {
        uint64_t a, b;
        skip_ows(&p);
        if (*p == ',') { /* empty list element */
            p++;
            continue;
        }
        if (!*p)
            break;
        if (*p == '-') {
            p++;
            if (!digits(&p, &a))
                return rag_fail(err, RAG_EFORMAT, "range: no suffix length at byte %zu",
                                (size_t)(p - header));
            if (a > 0 && size == 0) {
                empty_ok = 1;
            } else if (a > 0) {
                if (!n_sat++) {
                    sat_first = a >= size ? 0 : size - a;
                    sat_last = size - 1;
                }
            }
        } else {
            if (!digits(&p, &a) || *p != '-')
                return rag_fail(err, RAG_EFORMAT,
                                "range: expected first-last or -suffix at byte %zu",
                                (size_t)(p - header));
            p++;
            if (!digits(&p, &b))
                b = UINT64_MAX;
            else if (b < a)
                return rag_fail(err, RAG_EFORMAT,
                                "range: last byte %llu is before first byte %llu",
                                (unsigned long long)b, (unsigned long long)a);
            if (a < size && !n_sat++) {
                sat_first = a;
                sat_last = b < size ? b : size - 1;
            }
        }
        n_specs++;
        skip_ows(&p);
        if (*p && *p != ',') {
            char q[64];
            rag_hp_quote(q, sizeof q, p, strnlen(p, 8));
            return rag_fail(err, RAG_EFORMAT, "range: unexpected '%s' at byte %zu", q,
                            (size_t)(p - header));
        }
    }
    if (n_specs == 0)
        return rag_fail(err, RAG_EFORMAT, "range: 'bytes=' lists no range");
    if (n_sat == 0)
        out->kind = empty_ok ? RAG_RANGE_NONE : RAG_RANGE_UNSATISFIABLE;
    else if (n_specs > 1)
        out->kind = RAG_RANGE_UNSUPPORTED;
    else {
        out->kind = RAG_RANGE_SINGLE;
        out->first = sat_first;
        out->last = sat_last;
    }
    return RAG_OK;
}

/* RFC 9110 §12.4.2 qvalue in thousandths, or -1. */
static int qvalue(rag_span v)
{
    int q = 0, scale = 100;
    size_t i;
    if (v.n == 0 || (v.s[0] != '0' && v.s[0] != '1'))
        return -1;
    if (v.n > 1 && (v.s[1] != '.' || v.n > 5))
        return -1;
    for (i = 2; i < v.n; i++, scale /= 10) {
        if (v.s[i] < '0' || v.s[i] > '9')
            return -1;
        q += (v.s[i] - '0') * scale;
    }
    if (v.s[0] == '1')
        return q == 0 ? 1000 : -1;
    return q;
}

/* q of one element (coding;params), or -1 if it is malformed. */
static int element_q(const char *s, size_t n, rag_span *coding)
{
    rag_hp_params it;
    rag_hp_param prm;
    int q = 1000, rc;

    if (rag_hp_params_start(&it, coding, s, n, NULL) < 0)
        return -1;
    while ((rc = rag_hp_params_next(&it, &prm, NULL)) == 1) {
        if (rag_hp_ieq(prm.name.s, prm.name.n, "q")) {
            q = prm.quoted ? -1 : qvalue(prm.value);
            if (q < 0)
                return -1;
        }
    }
    return rc < 0 ? -1 : q;
}

int rag_accepts_gzip(const char *accept_encoding)
{
    const char *p = accept_encoding;
    int gzip_q = -1, star_q = -1;

    if (!p)
        return 0;
    while (*p) {
        const char *e = p;
        int in_quote = 0, q;
        rag_span coding;

        /* the element ends at a ',' outside a quoted string */
        while (*e && (in_quote || *e != ',')) {
            if (*e == '\\' && in_quote && e[1])
                e++;
            else if (*e == '"')
                in_quote = !in_quote;
            e++;
        }
        q = element_q(p, (size_t)(e - p), &coding);
        if (q >= 0) {
            if (rag_hp_ieq(coding.s, coding.n, "gzip") ||
                rag_hp_ieq(coding.s, coding.n, "x-gzip"))
                gzip_q = gzip_q < 0 || q < gzip_q ? q : gzip_q;
            else if (coding.n == 1 && coding.s[0] == '*')
                star_q = star_q < 0 || q < star_q ? q : star_q;
        }
        p = *e ? e + 1 : e;
    }
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}
