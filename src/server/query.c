/* query.c - URL query strings as forms encode them
 * (application/x-www-form-urlencoded, WHATWG URL §5.1):
 *
 *   query = [ pair *( "&" pair ) ]     empty pairs are skipped
 *   pair  = key [ "=" value ]          split at the first '='
 *   '+' is a space, %XX one octet; the decoded bytes must be UTF-8 w/o NUL
 *
 * A key may appear once. Readers that take the first or the last of a
 * repeated key disagree about `?k=5&k=500` (parameter pollution), so a
 * repeat is an error rather than a choice; multi-valued parameters are
 * written `?ids=1,2,3`.
 *
 * One allocation holds the handle, the parameter table and the decoded text.
 */
#include "http_parse_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    DEFAULT_MAX_QUERY_BYTES = 8192,
    DEFAULT_MAX_PARAMS = 64,
    DEFAULT_MAX_KEY_BYTES = 64,
    DEFAULT_MAX_VALUE_BYTES = 4096,
};

struct qparam {
    const char *key;   /* NUL-terminated, in text */
    const char *value; /* NUL-terminated, in text; "" when bare */
    size_t n_key;
    int bare;          /* no '=' at all: `?stream` */
};

struct rag_query {
    size_t n_params;
    struct qparam *params;
    char *text;
};

/* Decode one key or value raw[0..n) at byte offset `off` of the query into
 * dst; NUL-terminates. `what` and `key` are for messages. */
static int decode_part(char *dst, size_t *n_dst, const char *raw, size_t n, size_t off,
                       size_t max_bytes, const char *what, const char *key, rag_err *err)
{
    size_t bad_at;
    char q[64];

    if (rag_hp_pct_decode(dst, n_dst, raw, n, RAG_HP_PLUS_SPACE, &bad_at) < 0) {
        size_t show = n - bad_at < 3 ? n - bad_at : 3;
        rag_hp_quote(q, sizeof q, raw + bad_at, show);
        return rag_fail(err, RAG_EFORMAT, "query: invalid percent escape '%s' at byte %zu",
                        q, off + bad_at);
    }
    dst[*n_dst] = '\0';
    if (key)
        rag_hp_quote(q, sizeof q, key, strlen(key));
    else
        rag_hp_quote(q, sizeof q, dst, *n_dst);
    if (*n_dst > max_bytes)
        return rag_fail(err, RAG_ELIMIT, "query: parameter '%s' %s is longer than %zu bytes",
                        q, what, max_bytes);
    if (memchr(dst, '\0', *n_dst))
        return rag_fail(err, RAG_EFORMAT,
                        "query: parameter '%s' %s contains a NUL byte (%%00)", q, what);
    if (!rag_utf8_valid(dst, *n_dst))
        return rag_fail(err, RAG_EFORMAT,
                        "query: parameter '%s' %s is not valid UTF-8 after decoding", q, what);
    return RAG_OK;
}

static int parse_into(rag_query *qr, const char *s, size_t n_s, const rag_query_limits *lim,
                      rag_err *err)
{
    char *t = qr->text;
    size_t i = 0, n_params = 0;

    while (i <= n_s) {
        size_t end = i, eq;
        struct qparam *p;
        size_t n_key, n_val;
        int rc;

        while (end < n_s && s[end] != '&')
            end++;
        if (end == i) { /* empty pair */
            i = end + 1;
            continue;
        }
        for (eq = i; eq < end && s[eq] != '='; eq++)
            ;
        p = &qr->params[n_params];
        p->key = t;
        rc = decode_part(t, &n_key, s + i, eq - i, i, lim->max_key_bytes, "name", NULL, err);
        if (rc < 0)
            return rc;
        if (n_key == 0)
            return rag_fail(err, RAG_EFORMAT,
                            "query: parameter %zu (at byte %zu) has an empty name",
                            n_params + 1, i);
        p->n_key = n_key;
        t += n_key + 1;
        p->value = t;
        p->bare = eq == end;
        if (p->bare) {
            *t++ = '\0';
        } else {
            rc = decode_part(t, &n_val, s + eq + 1, end - eq - 1, eq + 1, lim->max_value_bytes,
                             "value", p->key, err);
            if (rc < 0)
                return rc;
            t += n_val + 1;
        }
        for (size_t k = 0; k < n_params; k++) {
            if (qr->params[k].n_key == n_key &&
                memcmp(qr->params[k].key, p->key, n_key) == 0) {
                char q[64];
                rag_hp_quote(q, sizeof q, p->key, n_key);
                return rag_fail(err, RAG_EFORMAT, "query: parameter '%s' repeated", q);
            }
        }
        n_params++;
        i = end + 1;
    }
    qr->n_params = n_params;
    return RAG_OK;
}

int rag_query_parse(rag_query **out, const char *query, const rag_query_limits *limits,
                    rag_err *err)
{
    rag_query_limits lim = limits ? *limits : (rag_query_limits){0};
    const char *s = query ? query : "";
    size_t n_s, n_params = 0, bytes, sum;
    rag_query *qr;
    int rc;

    *out = NULL;
    if (!lim.max_query_bytes)
        lim.max_query_bytes = DEFAULT_MAX_QUERY_BYTES;
    if (!lim.max_params)
        lim.max_params = DEFAULT_MAX_PARAMS;
    if (!lim.max_key_bytes)
        lim.max_key_bytes = DEFAULT_MAX_KEY_BYTES;
    if (!lim.max_value_bytes)
        lim.max_value_bytes = DEFAULT_MAX_VALUE_BYTES;

    /* one byte past the limit tells "too long" without reading further */
    n_s = strnlen(s, lim.max_query_bytes < PTRDIFF_MAX ? lim.max_query_bytes + 1
                                                       : (size_t)PTRDIFF_MAX);
    if (n_s > lim.max_query_bytes)
        return rag_fail(err, RAG_ELIMIT, "query: longer than %zu bytes", lim.max_query_bytes);
    for (size_t i = 0; i < n_s; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return rag_fail(err, RAG_EFORMAT, "query: control character 0x%02x at byte %zu", c,
                            i);
        if (c != '&' && (i == 0 || s[i - 1] == '&'))
            n_params++;
    }
    if (n_params > lim.max_params)
        return rag_fail(err, RAG_ELIMIT, "query: more than %zu parameters", lim.max_params);

    /* decoded text never outgrows the raw one; each key and value gets a NUL */
    if (rag_size_mul(n_params, 2 + sizeof(struct qparam), &bytes) < 0 ||
        rag_size_add(bytes, n_s, &sum) < 0 ||
        rag_size_add(sum, sizeof *qr + 1, &bytes) < 0)
        return rag_fail(err, RAG_ELIMIT, "query: too large");
    qr = rag_malloc(bytes);
    if (!qr)
        return rag_fail(err, RAG_ENOMEM, "query: out of memory");
    qr->params = (struct qparam *)(qr + 1);
    qr->text = (char *)(qr->params + n_params);
    qr->n_params = 0;
    rc = parse_into(qr, s, n_s, &lim, err);
    if (rc < 0) {
        rag_free(qr);
        return rc;
    }
    *out = qr;
    return RAG_OK;
}

void rag_query_destroy(rag_query *q)
{
    rag_free(q);
}

static const struct qparam *find(const rag_query *q, const char *key)
{
    if (!q)
        return NULL;
    for (size_t i = 0; i < q->n_params; i++) {
        if (strcmp(q->params[i].key, key) == 0)
            return &q->params[i];
    }
    return NULL;
}

const char *rag_query_get(const rag_query *q, const char *key)
{
    const struct qparam *p = find(q, key);
    return p ? p->value : NULL;
}

size_t rag_query_count(const rag_query *q)
{
    return q ? q->n_params : 0;
}

void rag_query_at(const rag_query *q, size_t i, const char **key, const char **value)
{
    *key = q->params[i].key;
    *value = q->params[i].value;
}

int rag_query_check_known(const rag_query *q, const char *const *known, rag_err *err)
{
    for (size_t i = 0; q && i < q->n_params; i++) {
        const char *const *k;
        char qk[64], list[160];
        size_t o = 0;

        for (k = known; *k && strcmp(*k, q->params[i].key) != 0; k++)
            ;
        if (*k)
            continue;
        list[0] = '\0';
        for (k = known; *k && o + strlen(*k) + 3 < sizeof list; k++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *k);
        rag_hp_quote(qk, sizeof qk, q->params[i].key, q->params[i].n_key);
        return rag_fail(err, RAG_EFORMAT, "query: unknown parameter '%s' (known: %s)", qk,
                        known[0] ? list : "none");
    }
    return RAG_OK;
}

int rag_query_int(const rag_query *q, const char *key, long min, long max, long def,
                  long *out, rag_err *err)
{
    const struct qparam *p = find(q, key);
    const char *v;
    char qk[64], qv[64];
    char *end;
    size_t i = 0;
    long x;

    if (!p) {
        *out = def;
        return RAG_OK;
    }
    v = p->value;
    rag_hp_quote(qk, sizeof qk, key, strlen(key));
    rag_hp_quote(qv, sizeof qv, v, strlen(v));
    if (v[0] == '-')
        i = 1;
    if (v[i] < '0' || v[i] > '9')
        goto not_int;
    for (; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9')
            goto not_int;
    }
    errno = 0;
    x = strtol(v, &end, 10);
    if (*end != '\0')
        goto not_int;
    if (errno == ERANGE || x < min || x > max)
        return rag_fail(err, RAG_ELIMIT, "query: parameter '%s' = %s is out of range %ld..%ld",
                        qk, qv, min, max);
    *out = x;
    return RAG_OK;
not_int:
    return rag_fail(err, RAG_EFORMAT,
                    "query: parameter '%s' must be an integer in %ld..%ld, got '%s'", qk, min,
                    max, qv);
}

int rag_query_bool(const rag_query *q, const char *key, int def, int *out, rag_err *err)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const struct qparam *p = find(q, key);
    char qk[64], qv[64];
    size_t n;

    if (!p) {
        *out = def;
        return RAG_OK;
    }
    if (p->bare) {
        *out = 1;
        return RAG_OK;
    }
    n = strlen(p->value);
    for (size_t i = 0; i < 4; i++) {
        if (rag_hp_ieq(p->value, n, yes[i])) {
            *out = 1;
            return RAG_OK;
        }
        if (rag_hp_ieq(p->value, n, no[i])) {
            *out = 0;
            return RAG_OK;
        }
    }
    rag_hp_quote(qk, sizeof qk, key, strlen(key));
    rag_hp_quote(qv, sizeof qv, p->value, n);
    return rag_fail(err, RAG_EFORMAT, "query: parameter '%s' must be true or false, got '%s'",
                    qk, qv);
}
